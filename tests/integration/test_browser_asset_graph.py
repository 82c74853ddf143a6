"""The Dagster UI shows beambell's whole asset graph, checked in a real browser.

A real ``dagster-webserver`` on the repo's ``workspace.yaml`` (fresh ``BEAMBELL_HOME``), headless
Debian chromium driven by Playwright on the global lineage page (``/asset-groups``): every asset of
the project's ``Definitions`` must be a node of the rendered graph, in its group. Nothing is
materialized first: the lineage graph is drawn from the definitions alone, and materializing the
graph would cost a minute without adding anything this test checks (``test_graph.py`` and the
README demo test do that).

Screenshot: ``test-artifacts/asset-graph.png`` (and ``asset-graph.txt``, the page's text, on failure).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from beambell_assets.devtools import running_dagster

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } groupName } }"
# Text the UI shows when loading fails, instead of the graph.
ERROR_TEXTS = ("Something went wrong", "PythonError", "Unexpected GraphQL error", "Error loading")

# Each node of the lineage graph is an SVG <foreignObject>. A group box has a fold icon
# (unfold_less when expanded, unfold_more when collapsed); an asset node has none, and shows its name
# as the ``data-tooltip`` of its title (full node) or as its only text (zoomed-out node).
READ_GRAPH_JS = """
() => {
  const groups = [], assets = [];
  for (const fo of document.querySelectorAll('svg foreignObject')) {
    const text = (fo.textContent || '').trim();
    if (!text) continue;
    const fold = fo.querySelector('[aria-label^="unfold"]');
    if (fold) {
      groups.push({name: text, expanded: fold.getAttribute('aria-label') === 'unfold_less'});
    } else {
      const title = fo.querySelector('[data-tooltip]');
      const r = fo.getBoundingClientRect();
      assets.push({name: title ? title.getAttribute('data-tooltip') : text, w: r.width, h: r.height});
    }
  }
  return {groups, assets};
}
"""
GRAPH_DRAWN_JS = f"() => {{ const g = ({READ_GRAPH_JS})(); return g.groups.length + g.assets.length > 0; }}"


def _chromium() -> Path:
    """Debian's chromium; missing is a test failure (not a skip): the UI must be checked everywhere."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} not found: the browser test needs Debian's chromium "
            "(`sudo apt-get install -y chromium`; `./dev.sh test` installs it when run as root). "
            "Playwright's own browser download is not used."
        )
    return CHROMIUM


def _definitions_assets(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, ...], str]:
    """Asset key path -> group, from the project's Definitions under the webserver's environment."""
    for name in list(os.environ):
        if name.startswith(("BEAMBELL_", "DAGSTER_")):  # running_dagster drops them for its children too
            monkeypatch.delenv(name)
    monkeypatch.setenv("BEAMBELL_HOME", str(home))
    from beambell_assets.definitions import build_definitions
    from beambell_assets.settings import load_settings

    graph = build_definitions(load_settings()).resolve_asset_graph()
    return {tuple(key.path): graph.get(key).group_name for key in graph.get_all_asset_keys()}


def test_ui_lineage_graph_shows_every_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    home = tmp_path / "home"
    expected = _definitions_assets(home, monkeypatch)
    assert len(expected) >= 8, f"suspiciously small asset graph: {sorted(expected)}"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "asset-graph.png"
    page_text_file = ARTIFACTS / "asset-graph.txt"
    for stale in (screenshot, page_text_file):
        stale.unlink(missing_ok=True)

    with running_dagster(home, daemon=False, log_dir=tmp_path / "logs", ready_timeout=90) as dagster:
        nodes = dagster.graphql(ASSET_NODES_QUERY)["assetNodes"]
        served = {tuple(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert served == expected, (
            f"the webserver serves a different asset graph than Definitions: "
            f"only served {sorted(set(served) - set(expected))}, "
            f"missing {sorted(set(expected) - set(served))}"
        )
        # The first-visit "Join the Dagster community" dialog would cover the graph.
        assert dagster.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True

        names = sorted(path[-1] for path in expected)
        groups = sorted(set(expected.values()))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            try:
                page.goto(f"{dagster.url}/asset-groups", wait_until="domcontentloaded")
                page.wait_for_function(GRAPH_DRAWN_JS, timeout=30_000)
                graph = page.evaluate(READ_GRAPH_JS)
                if len(groups) > 1 and not any(g["expanded"] for g in graph["groups"]):
                    # With several groups the global graph starts with every group collapsed;
                    # "Expand all groups" is the UI's own action for it (graph settings menu, ⌥E).
                    page.keyboard.press("Alt+KeyE")
                page.wait_for_function(
                    f"() => ({READ_GRAPH_JS})().assets.length >= {len(names)}", timeout=30_000
                )
                page.wait_for_timeout(500)  # let the fit-to-screen zoom settle for the screenshot
                graph = page.evaluate(READ_GRAPH_JS)
                body = page.inner_text("body")
                page.screenshot(path=str(screenshot), full_page=True)

                shown = sorted(a["name"] for a in graph["assets"])
                # The UI shortens long names in the middle ("label_stud…_export"): match those by
                # their two ends, each node to exactly one asset.
                unmatched = list(names)
                for label in shown:
                    hit = next((n for n in unmatched if _shows(label, n)), None)
                    assert hit is not None, f"UI node {label!r} is no asset of the graph {names}"
                    unmatched.remove(hit)
                assert not unmatched, f"assets missing from the UI: {unmatched} (shown: {shown})"
                assert all(a["w"] > 20 and a["h"] > 10 for a in graph["assets"]), graph["assets"]
                assert sorted(g["name"] for g in graph["groups"]) == (groups if len(groups) > 1 else [])
                assert all(g["expanded"] for g in graph["groups"]), graph["groups"]
                assert "Global asset lineage" in body
                errors = [t for t in ERROR_TEXTS if t in body]
                assert not errors, f"the page shows {errors}"
            except BaseException:
                page_text_file.write_text(
                    f"url: {page.url}\n\n{_safe_text(page)}\n\n{dagster.log_tail()}", encoding="utf-8"
                )
                if not screenshot.exists():
                    with contextlib.suppress(Exception):  # keep the original failure
                        page.screenshot(path=str(screenshot), full_page=True)
                raise
            finally:
                browser.close()
    assert screenshot.stat().st_size > 10_000


def _safe_text(page: object) -> str:
    try:
        return page.inner_text("body")  # type: ignore[attr-defined]
    except Exception as exc:  # the page may be gone
        return f"(no page text: {exc})"


def _shows(label: str, name: str) -> bool:
    """Whether a node label is the asset name, or the UI's middle-ellipsised form of it."""
    if "…" not in label:
        return label == name
    head, tail = label.split("…", 1)
    return len(name) > len(label) - 1 and name.startswith(head) and name.endswith(tail)
