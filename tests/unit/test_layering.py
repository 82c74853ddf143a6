"""The layering: domain packages never import the Dagster layer (``defs/``, ``definitions.py``).

Checked on the source (every ``import``, also those inside functions), so a lazy import cannot
hide a dependency the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "beambell_assets"
DAGSTER_LAYER = ("beambell_assets.defs", "beambell_assets.definitions")
DOMAIN = [
    "beam",
    "demo",
    "domains",
    "feedback",
    "ingest",
    "labeling",
    "monitoring",
    "organisations",
    "serving",
    "storage",
    "streaming",
    "training",
    "settings.py",
]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _files(part: str) -> list[Path]:
    target = PACKAGE / part
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("part", DOMAIN)
def test_domain_package_never_imports_the_dagster_layer(part: str) -> None:
    files = _files(part)
    assert files, f"no Python files under {part}"
    wrong = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in files
        for name in _imports(path)
        if name.startswith(DAGSTER_LAYER)
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from beambell_assets.defs.resources import TaskResource\n")
    assert any(n.startswith(DAGSTER_LAYER) for n in _imports(module))


#: The modules that may read the environment: everything else gets its configuration from them.
READS_ENVIRONMENT = {"settings.py", "cli.py"}


def _environment_uses(path: Path) -> list[str]:
    """``os.environ`` / ``os.getenv`` / ``os.putenv`` anywhere in the module (attribute access, so
    ``from os import environ`` is caught as an import instead)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    uses = [
        f"line {node.lineno}: os.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"environ", "getenv", "putenv", "environb"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]
    uses += [
        f"line {node.lineno}: from os import {a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for a in node.names
        if a.name in {"environ", "getenv", "putenv", "environb"}
    ]
    return uses


def test_only_settings_and_cli_read_the_environment() -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)} {use}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in READS_ENVIRONMENT
        for use in _environment_uses(path)
    }
    assert not wrong, sorted(wrong)


def test_the_environment_check_sees_a_read(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom os import getenv\nX = os.environ.get('A')\n")
    assert [u.split(": ")[1] for u in _environment_uses(module)] == ["os.environ", "from os import getenv"]
