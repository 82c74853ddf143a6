"""A real local Dagster (webserver, and optionally the daemon) for one beambell home.

Used by tests and benchmark scripts::

    from beambell_assets.devtools import running_dagster

    with running_dagster(tmp_path / "home") as dagster:
        data = dagster.graphql("{ assetNodes { assetKey { path } } }")
        print(dagster.url)  # http://127.0.0.1:<free port>

On entry it points ``BEAMBELL_HOME`` at ``home`` and ``DAGSTER_HOME`` at ``<home>/dagster_home``
(with the repo's ``dagster.yaml`` copied in, as ``./dev.sh`` does), starts one code server for the
repo's ``workspace.yaml`` location (``dagster api grpc``), then ``dagster-webserver`` and
``dagster-daemon run`` on a workspace file that points both at it, as ``dagster dev`` does: given the
repo's ``workspace.yaml`` directly, the webserver and the daemon each start a code server of their own
and the definitions load twice (~8 s of CPU each on a 2-core AMD EPYC). Each process runs from this
interpreter's virtualenv in its own session (so its own process group) with stdout and stderr in a
log file. It waits until the webserver answers, the code location is loaded without error and (with
the daemon) the sensor and run-queue daemons heartbeat. A failure to start raises
:class:`DagsterStartError` with the tail of the logs.

On exit it sends SIGTERM to every process group it started and to every process descended from them (code
servers and run workers are started by Dagster without a new session, so they are in those groups;
anything that left them is still found through ``/proc``), waits, then SIGKILLs whatever is left.
Nothing outlives the ``with`` block.

The child environment is this process's environment without any ``BEAMBELL_*`` / ``DAGSTER_*``
variable (a developer's exported warehouse URL or webserver port must not leak into a test), plus
``env``; ``home`` always wins for ``BEAMBELL_HOME``, and ``env["DAGSTER_HOME"]`` overrides the default
Dagster home.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from beambell_assets.settings import child_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE_YAML = REPO_ROOT / "workspace.yaml"
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
HOST = "127.0.0.1"
# The daemons beambell relies on: sensors (landing files -> runs) and the run queue (QueuedRunCoordinator).
REQUIRED_DAEMONS = ("SENSOR", "QUEUED_RUN_COORDINATOR")

T = TypeVar("T")

WORKSPACE_QUERY = """
query BeambellWorkspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

DAEMON_HEALTH_QUERY = """
query BeambellDaemonHealth {
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy lastHeartbeatTime }
    }
  }
}
"""


class DagsterStartError(RuntimeError):
    """The local Dagster did not come up (a process died, the code location failed, or a timeout)."""


class GraphQLError(RuntimeError):
    """The webserver answered a GraphQL request with errors."""

    def __init__(self, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.5,
    what: str = "condition",
    *,
    ignore: tuple[type[BaseException], ...] = (OSError,),
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Exceptions listed in ``ignore`` (by default ``OSError``, which covers refused connections and
    ``urllib`` errors) count as "not yet"; any other exception propagates at once. After ``timeout``
    seconds raises ``TimeoutError`` naming ``what``, the last value and the last ignored exception.
    """
    deadline = time.monotonic() + timeout
    last_value: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last_value = predicate()
        except ignore as exc:
            last_exc = exc
        else:
            if last_value:
                return last_value
        if time.monotonic() >= deadline:
            detail = f"last value: {last_value!r}"
            if last_exc is not None:
                detail += f"; last error: {type(last_exc).__name__}: {last_exc}"
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} ({detail})")
        time.sleep(interval)


@dataclass
class LocalDagster:
    """A running local Dagster: where it listens, where its instance and logs are, and a GraphQL client."""

    url: str
    port: int
    home: Path
    dagster_home: Path
    log_paths: dict[str, Path]
    env: dict[str, str] = field(repr=False)
    processes: dict[str, subprocess.Popen[bytes]] = field(repr=False)

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float = 60.0
    ) -> dict:
        """POST ``query`` to ``/graphql`` and return its ``data``; raise ``GraphQLError`` on errors."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as exc:  # GraphQL validation errors come back as HTTP 400
            text = exc.read().decode("utf-8", "replace")
            try:
                errors = json.loads(text).get("errors")
            except ValueError:
                errors = None
            raise GraphQLError(f"HTTP {exc.code} from {self.url}/graphql: {text[:2000]}", errors) from exc
        if payload.get("errors"):
            raise GraphQLError(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}", payload["errors"])
        return payload["data"]

    def server_info(self, timeout: float = 10.0) -> dict:
        with urllib.request.urlopen(f"{self.url}/server_info", timeout=timeout) as response:
            return json.load(response)

    def log_tail(self, lines: int = 60) -> str:
        parts = []
        for name, path in self.log_paths.items():
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(no log)"
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- {name} ({path}), last {lines} lines -----\n{tail}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        """Raise ``DagsterStartError`` (with the logs) if the webserver or daemon has exited."""
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise DagsterStartError(f"exited early: {dead}\n{self.log_tail()}")

    def location_loaded(self) -> bool:
        """True once every code location in the workspace is loaded; raises on a load error."""
        ws = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]
        if ws["__typename"] != "Workspace":
            raise DagsterStartError(f"workspace error: {ws.get('message')}\n{ws.get('stack') or ''}")
        entries = ws["locationEntries"]
        if not entries:
            return False
        for entry in entries:
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                raise DagsterStartError(
                    f"code location {entry['name']!r} failed to load: {loaded['message']}\n"
                    + "".join(loaded.get("stack") or [])
                )
            if entry["loadStatus"] != "LOADED" or not loaded:
                return False
        return True

    def daemon_statuses(self) -> dict[str, dict]:
        data = self.graphql(DAEMON_HEALTH_QUERY)
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {s["daemonType"]: s for s in statuses}

    def daemons_healthy(self, required: Iterable[str] = REQUIRED_DAEMONS) -> bool:
        statuses = self.daemon_statuses()
        return all(statuses.get(name, {}).get("healthy") is True for name in required)


# --------------------------------------------------------------------------- process handling
def _proc_table() -> dict[int, tuple[int, int, str]] | None:
    """pid -> (ppid, pgid, state) from /proc, or None where there is no /proc (macOS)."""
    if not Path("/proc/self/stat").exists():
        return None
    table: dict[int, tuple[int, int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # the command name may contain spaces or ')'
        table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def _descendants(roots: Iterable[int]) -> set[int]:
    table = _proc_table() or {}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _pgid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pgids: set[int], pids: set[int]) -> set[int]:
    """Live (non-zombie) processes that are in one of ``pgids`` or among ``pids``."""
    table = _proc_table()
    if table is None:
        alive = set()
        for pgid in pgids:
            try:
                os.killpg(pgid, 0)
                alive.add(-pgid)
            except (ProcessLookupError, PermissionError):
                pass
        return alive
    return {
        pid for pid, (_ppid, pgid, state) in table.items() if state != "Z" and (pgid in pgids or pid in pids)
    }


def _signal_all(pgids: set[int], pids: set[int], sig: int) -> None:
    for pgid in pgids:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_processes(processes: Iterable[subprocess.Popen[bytes]], grace: float = 20.0) -> None:
    """SIGTERM the processes' groups and descendants, wait up to ``grace`` s, then SIGKILL the rest."""
    procs = list(processes)
    pgids = {p.pid for p in procs}  # start_new_session: each leader's pid is its group id
    extra = _descendants(pgids)  # children that may have left the group
    _signal_all(pgids, extra, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for p in procs:
            p.poll()  # reap our direct children so they do not linger as zombies
        if not _alive(pgids, extra):
            break
        time.sleep(0.1)
    else:
        _signal_all(pgids, extra | _descendants(pgids), signal.SIGKILL)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            p.kill()
            p.wait()


def _child_env(home: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    child = child_environment(drop_prefixes=("BEAMBELL_", "DAGSTER_"))
    child.update(env or {})
    child["BEAMBELL_HOME"] = str(home)
    child["DAGSTER_HOME"] = str(Path(child.get("DAGSTER_HOME") or home / "dagster_home").resolve())
    bin_dir = str(Path(sys.executable).parent)
    child["PATH"] = os.pathsep.join([bin_dir, child.get("PATH", "")])
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def _spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _code_server_command(bin_dir: Path, port: int) -> tuple[list[str], str]:
    """The ``dagster api grpc`` command serving the repo's one ``python_module`` code location on
    ``port``, and a workspace file (YAML text) that points at it under the same location name."""
    import yaml

    entries = (yaml.safe_load(WORKSPACE_YAML.read_text(encoding="utf-8")) or {}).get("load_from") or []
    if len(entries) != 1 or "python_module" not in entries[0]:
        raise ValueError(f"{WORKSPACE_YAML}: expected one python_module entry, got {entries!r}")
    spec = entries[0]["python_module"]
    module = spec if isinstance(spec, str) else spec["module_name"]
    attribute = None if isinstance(spec, str) else spec.get("attribute")
    name = (None if isinstance(spec, str) else spec.get("location_name")) or module
    argv = [str(bin_dir / "dagster"), "api", "grpc", "-m", module, *(("-a", attribute) if attribute else ())]
    argv += ["-d", str(REPO_ROOT), "-h", HOST, "-p", str(port), "--location-name", name]
    workspace = {"load_from": [{"grpc_server": {"host": HOST, "port": port, "location_name": name}}]}
    return argv, yaml.safe_dump(workspace, sort_keys=False)


def _port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


@contextmanager
def running_dagster(
    home: Path,
    *,
    port: int | None = None,
    daemon: bool = True,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[LocalDagster]:
    """Start a local Dagster webserver (and daemon) for ``home``; stop it and all its children on exit.

    ``log_dir`` defaults to ``<home>/local_dagster_logs`` (``webserver.log``, ``daemon.log``, appended).
    """
    if not WORKSPACE_YAML.exists():
        raise FileNotFoundError(f"{WORKSPACE_YAML} not found: running_dagster needs a beambell checkout")
    home = Path(home).expanduser().resolve()
    child_env = _child_env(home, env)
    dagster_home = Path(child_env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists() and DAGSTER_YAML.exists():
        shutil.copyfile(DAGSTER_YAML, config)
    log_dir = Path(log_dir or home / "local_dagster_logs").resolve()
    log_dir.mkdir(parents=True, exist_ok=True)

    port = port or free_port()
    bin_dir = Path(sys.executable).parent
    code_port = free_port()
    code_server, workspace_text = _code_server_command(bin_dir, code_port)
    workspace = log_dir / "workspace.yaml"
    workspace.write_text(workspace_text, encoding="utf-8")
    commands = {
        "code_server": code_server,
        "webserver": [
            str(bin_dir / "dagster-webserver"),
            *("-h", HOST, "-p", str(port), "-w", str(workspace)),
        ],
    }
    if daemon:
        commands["daemon"] = [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)]
    log_paths = {name: log_dir / f"{name}.log" for name in commands}

    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        processes["code_server"] = _spawn(commands["code_server"], child_env, log_paths["code_server"])
        dagster = LocalDagster(
            url=f"http://{HOST}:{port}",
            port=port,
            home=home,
            dagster_home=dagster_home,
            log_paths=log_paths,
            env=child_env,
            processes=processes,
        )
        deadline = time.monotonic() + ready_timeout

        def alive_and(check: Callable[[], Any]) -> Callable[[], Any]:
            def predicate() -> Any:
                dagster.check_alive()
                return check()

            return predicate

        try:
            # The definitions load before the server binds its port: open means loaded. The webserver
            # reads a grpc_server location once at start, so it must not start before.
            wait_for(
                alive_and(lambda: _port_open(code_port)),
                deadline - time.monotonic(),
                0.25,
                f"the code server on port {code_port}",
            )
            processes["webserver"] = _spawn(commands["webserver"], child_env, log_paths["webserver"])
            wait_for(alive_and(dagster.server_info), deadline - time.monotonic(), 0.25, "/server_info")
            if daemon:
                # Only now: the webserver has created the instance's storage. Two processes creating a
                # fresh SQLite instance at once race ("table alembic_version already exists").
                processes["daemon"] = _spawn(commands["daemon"], child_env, log_paths["daemon"])
            wait_for(
                alive_and(dagster.location_loaded),
                deadline - time.monotonic(),
                0.25,
                "the code location to load",
            )
            if daemon:
                wait_for(
                    alive_and(dagster.daemons_healthy),
                    deadline - time.monotonic(),
                    0.5,
                    f"daemon heartbeats ({', '.join(REQUIRED_DAEMONS)})",
                )
        except TimeoutError as exc:
            raise DagsterStartError(f"{exc}\n{dagster.log_tail()}") from exc
        yield dagster
    finally:
        stop_processes(processes.values())
