"""A site redesign silences an LF: the lf_health check on lf_votes names it, since which batch, by
how much — on the real graph, from the LF statistics the batches themselves wrote."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.defs.resources import build_resources
from beambell_assets.demo.sample import write_sample_batch, write_sample_scrape
from beambell_assets.ingest.html_text import PRICE_RE
from beambell_assets.settings import load_settings

pytestmark = pytest.mark.integration
LF = "struct_ecommerce_prices"  # fires on shop pages that show >= 10 prices


def _redesigned_batch(landing: Path, hour: int) -> str:
    """A batch from the same sites after a redesign that dropped every visible price."""
    path = write_sample_batch(
        landing, 100, seed=40 + hour, start=datetime(2027, 1, 1, hour, tzinfo=UTC), fmt="jsonl"
    )
    lines = []
    for raw in path.read_bytes().splitlines():
        try:  # the sample's deliberately broken lines stay as they are (they are quarantined)
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            lines.append(raw)
            continue
        for field in ("html", "text"):
            if isinstance(row.get(field), str):
                row[field] = PRICE_RE.sub("", row[field])
        lines.append(json.dumps(row).encode("utf-8"))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(b"\n".join(lines) + b"\n")
    tmp.replace(path)
    return path.name


def test_an_lf_silenced_by_a_redesign_is_named_with_since_when(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home").ensure_dirs()
    baseline = [
        p.name for p in write_sample_scrape(settings.landing_dir, n_batches=4, pages_per_batch=100, seed=5)
    ]
    redesigned = [_redesigned_batch(settings.landing_dir, h) for h in (1, 2)]
    ws = build_weak_supervision_assets()
    resources = build_resources(settings)
    checks = {}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(landing_partitions.name, [*baseline, *redesigned])
        for key in [*baseline, *redesigned]:
            result = materialize(
                [raw_pages, page_features, ws.lf_votes],
                partition_key=key,
                resources=resources,
                instance=instance,
            )
            assert result.success
            (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "lf_health"]
            checks[key] = evaluation

    for key in baseline:  # the LF is healthy while the sites show prices
        assert LF not in str(checks[key].metadata.get("alarms", "")), key
    first, second = (checks[k] for k in redesigned)
    assert not first.passed and not second.passed
    for evaluation in (first, second):
        table = str(evaluation.metadata["alarms"].value)
        row = next(line for line in table.splitlines() if LF in line)
        assert "silent" in row
        assert redesigned[0] in row  # since the first redesigned batch, also on the second
