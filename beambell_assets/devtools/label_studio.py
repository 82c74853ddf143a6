"""A real Label Studio server for tests and local trials, in its own virtualenv.

``label-studio`` pins Django and friends that clash with this project's dependencies, so it lives in
a dedicated virtualenv (default ``~/.cache/beambell/venv-label-studio-1.23``, shared by every
checkout; created with ``python -m venv`` and ``uv pip install label-studio==1.23.*`` on first use,
pip where uv cannot be had; reused afterwards). The server runs offline on
a throw-away data directory with a known user and a known legacy API token, so the SDK can talk
to it at once::

    with running_label_studio(tmp_path) as ls:
        client = ls.client()          # label_studio_sdk.LabelStudio
        client.projects.create(title="x", label_config=...)

A fresh data directory needs Django's migrations (about a minute here). They run once per machine
into an empty template database next to the virtualenv (``label_studio.sqlite3``, no users); every
start copies it, so Label Studio finds nothing to migrate and only creates its user. ``/health``
answers when it is up.
The process group is terminated on exit, so no ``label-studio`` process outlives the block.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from beambell_assets.devtools.local_dagster import free_port
from beambell_assets.settings import child_environment, label_studio_venv_override, user_cache_dir

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

REPO_ROOT = Path(__file__).resolve().parents[2]
LABEL_STUDIO_REQUIREMENT = "label-studio==1.23.*"
#: Outside the checkout, like pip's cache: every clone on the machine reuses one install.
DEFAULT_VENV = user_cache_dir() / "venv-label-studio-1.23"


@dataclass(frozen=True)
class LabelStudioServer:
    """A running server: its URL, the admin's legacy API token and login."""

    url: str
    api_key: str
    username: str
    password: str
    data_dir: Path
    log_path: Path
    pid: int

    def client(self) -> LabelStudio:
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.api_key)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_label_studio_venv(venv: Path | None = None, requirement: str = LABEL_STUDIO_REQUIREMENT) -> Path:
    """The ``label-studio`` executable, installing it into ``venv`` first if needed (once)."""
    venv = label_studio_venv_override() or Path(venv or DEFAULT_VENV)
    exe = venv / ("Scripts/label-studio.exe" if os.name == "nt" else "bin/label-studio")
    stamp = venv / ".beambell-label-studio-installed"
    if exe.exists() and stamp.exists():
        return exe
    import fcntl

    venv.parent.mkdir(parents=True, exist_ok=True)
    # Test workers run concurrently: one installs, the others wait for it (then find the stamp).
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists() and stamp.exists():
            return exe
        if not _venv_python(venv).exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _install(venv, requirement)
        stamp.touch()
    return exe


def _install(venv: Path, requirement: str) -> None:
    """``requirement`` into ``venv``: with uv when it can be had (~12 s against pip's ~2.5 min on two
    cores; the same versions for this isolated server), else with pip.

    uv goes to PyPI, not to a pip configuration's index: where that fails (a private mirror, no
    route to PyPI), pip installs it as before. No bytecode is compiled up front in either case:
    Python compiles what the server imports, on first use.
    """
    python = str(_venv_python(venv))
    uv = _venv_python(venv).with_name("uv.exe" if os.name == "nt" else "uv")
    try:
        if not uv.exists():
            subprocess.run([python, "-m", "pip", "install", "-q", "uv"], check=True)
        subprocess.run([str(uv), "pip", "install", "-q", "--python", python, requirement], check=True)
        return
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"label-studio: installing with uv failed ({exc}); installing with pip", file=sys.stderr)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-compile", requirement], check=True)


#: Label Studio's SQLite database in its data directory (``DJANGO_DB=sqlite``).
DB_FILE = "label_studio.sqlite3"


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {
        **child_environment(),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
        "DJANGO_DB": "sqlite",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    return env


def ensure_migrated_template(exe: Path) -> Path:
    """An empty, fully migrated Label Studio database for this install, made once (under a lock)."""
    venv = exe.parent.parent
    template_dir = venv.parent / f"{venv.name}-migrated-db"
    template = template_dir / DB_FILE
    if template.exists():
        return template
    import fcntl

    with open(venv.parent / f".{template_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            return template
        work = template_dir.with_name(f"{template_dir.name}.tmp-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        python = _venv_python(venv)
        manage = subprocess.run(
            [str(python), "-c", "import label_studio, os; print(os.path.dirname(label_studio.__file__))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        out = subprocess.run(
            [str(python), os.path.join(manage, "manage.py"), "migrate", "--noinput"],
            env=_server_env(work),
            cwd=work,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0 or not (work / DB_FILE).exists():
            raise RuntimeError(
                f"label-studio migrations failed ({out.returncode}):\n"
                + out.stdout[-2000:]
                + out.stderr[-3000:]
            )
        template_dir.mkdir(parents=True, exist_ok=True)
        (work / DB_FILE).replace(template)
        shutil.rmtree(work, ignore_errors=True)
    return template


@contextmanager
def running_label_studio(
    base_dir: Path,
    *,
    port: int | None = None,
    timeout: float = 240,
    venv: Path | None = None,
) -> Iterator[LabelStudioServer]:
    """Start ``label-studio`` on ``127.0.0.1:<port>`` with its data under ``base_dir``; stop it after.

    The admin user (``admin@beambell.test``) and its legacy API token are created at start-up
    (``--user-token``), and legacy tokens are switched on for the organisation, so the token works
    with ``label_studio_sdk.LabelStudio(api_key=...)``.
    """
    exe = ensure_label_studio_venv(venv)
    base_dir = Path(base_dir)
    data_dir = base_dir / "label-studio-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ensure_migrated_template(exe), data_dir / DB_FILE)
    port = port or free_port()
    username, password = "admin@beambell.test", "beambell-" + secrets.token_hex(6)
    token = secrets.token_hex(20)
    env = {
        **_server_env(data_dir),
    }
    cmd = [
        str(exe),
        "start",
        "--no-browser",
        "--port",
        str(port),
        "--internal-host",
        "127.0.0.1",
        "--username",
        username,
        "--password",
        password,
        "--user-token",
        token,
    ]
    log_path = base_dir / "label-studio.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir, start_new_session=True
        )
    try:
        _wait_healthy(url, proc, timeout, log_path)
        server = LabelStudioServer(url, token, username, password, data_dir, log_path, proc.pid)
        _enable_legacy_tokens(server)
        yield server
    finally:
        _stop(proc)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"label-studio exited with {proc.returncode} before answering; log tail:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(
        f"label-studio did not answer {url}/health within {timeout:.0f}s; log tail:\n"
        + log_path.read_text(errors="replace")[-3000:]
    )


def _enable_legacy_tokens(server: LabelStudioServer) -> None:
    """New organisations may default to personal access tokens only; this token is a legacy one."""
    import httpx

    headers = {"Authorization": f"Token {server.api_key}"}
    r = httpx.get(f"{server.url}/api/current-user/whoami", headers=headers, timeout=10)
    if r.status_code == 200:
        return
    # Log in with the password (session + CSRF) and switch legacy tokens on for the organisation.
    with httpx.Client(base_url=server.url, timeout=10, follow_redirects=True) as web:
        web.get("/user/login/")
        csrf = web.cookies.get("csrftoken", "")
        web.post(
            "/user/login/",
            data={"email": server.username, "password": server.password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{server.url}/user/login/"},
        )
        csrf = web.cookies.get("csrftoken", csrf)
        resp = web.post(
            "/api/jwt/settings",
            json={"legacy_api_tokens_enabled": True, "api_tokens_enabled": True},
            headers={"X-CSRFToken": csrf, "Referer": server.url},
        )
        if resp.status_code >= 400:
            raise RuntimeError(f"could not enable legacy API tokens: {resp.status_code} {resp.text[:300]}")
    r = httpx.get(f"{server.url}/api/current-user/whoami", headers=headers, timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"the legacy API token is refused: {r.status_code} {r.text[:300]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def prepare() -> Path:
    """Install Label Studio and migrate its template database, if not done yet (idempotent)."""
    return ensure_migrated_template(ensure_label_studio_venv())


if __name__ == "__main__":
    # Run as a file with the checkout on sys.path (stdlib only, any Python >= 3.11): dev.sh runs it
    # in the background while it installs .venv, so a fresh machine's first test run does not wait
    # for Label Studio's install inside a test.
    print(f"label-studio ready: {prepare()}")
