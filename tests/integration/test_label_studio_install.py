"""Label Studio's virtualenv is installed with uv, and with pip where uv fails (a private mirror uv
does not know, no route to PyPI): a real virtualenv, a real pip, a local wheel instead of Label
Studio."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from beambell_assets.devtools.label_studio import _install, _venv_python, ensure_label_studio_venv

pytestmark = pytest.mark.integration


def _wheel(folder: Path, name: str = "beambell_probe", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel with a console script named ``label-studio``."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": "def main():\n    print('probe')\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[console_scripts]\nlabel-studio = {name}:main\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def test_pip_installs_when_uv_fails(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    uv = _venv_python(venv).with_name("uv")
    uv.write_text("#!/bin/sh\necho 'uv: no route to the index' >&2\nexit 2\n")
    uv.chmod(0o755)

    _install(venv, str(_wheel(tmp_path)))

    assert "installing with pip" in capfd.readouterr().err
    out = subprocess.run([str(venv / "bin" / "label-studio")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "probe"


def test_uv_installs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAMBELL_LABEL_STUDIO_VENV", raising=False)
    venv = tmp_path / "venv"
    wheel = str(_wheel(tmp_path))
    exe = ensure_label_studio_venv(venv, requirement=wheel)
    assert exe == venv / "bin" / "label-studio" and exe.exists()
    assert (venv / "bin" / "uv").exists()  # pip fetched uv, uv installed the requirement
    uv_list = subprocess.run(
        [str(venv / "bin" / "uv"), "pip", "list", "--python", str(_venv_python(venv))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "beambell-probe" in uv_list
