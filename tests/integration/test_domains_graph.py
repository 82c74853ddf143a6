"""Pages, domains and organisations in one graph, materialized for real; org type end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, Definitions, materialize

from beambell_assets.defs.assets.domains import (
    DOMAINS_JOB,
    build_domain_and_org_definitions,
)
from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.defs.resources import build_resources
from beambell_assets.devtools.sample_home import Home
from beambell_assets.labeling.tasks.org_type import LABELS as ORG_LABELS
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _profiles(wh: Warehouse) -> pd.DataFrame:
    return wh.read("SELECT * FROM domain_profiles ORDER BY registered_domain").set_index("registered_domain")


def test_pages_domains_and_organisations(graph_home: Home, home_copy: Callable[[Home], Home]) -> None:
    # The shared sample graph, trained and scored (page assets); the domain assets are added here.
    home = home_copy(graph_home)
    settings, keys = home.settings, list(home.keys)
    page = build_weak_supervision_assets()
    dom = build_domain_and_org_definitions()
    org = dom.org.chain
    resources = build_resources(settings)
    domain_step = dom.per_batch

    # One graph: page, domain and organisation assets resolve together, with the expected edges.
    defs = Definitions(
        assets=[raw_pages, page_features, gold_labels, *page.all, *dom.assets],
        jobs=dom.jobs,
        resources=resources,
    )
    graph = defs.resolve_asset_graph()
    assert AssetKey("predictions") in graph.get(AssetKey("domain_profiles")).parent_keys
    assert AssetKey("domain_profiles") in graph.get(AssetKey("org_features")).parent_keys
    assert AssetKey("org_features") in graph.get(AssetKey("org_lf_votes")).parent_keys
    assert defs.resolve_job_def(DOMAINS_JOB).partitions_def == landing_partitions

    with home.instance() as instance:
        wh = Warehouse(settings.warehouse_url)
        assert ModelRegistry(wh, "web_content").champion() is not None  # the page task's, from the snapshot
        assert materialize(domain_step, partition_key=keys[0], resources=resources, instance=instance).success
        first = _profiles(wh)
        assert len(first) > 20 and first["category"].notna().all()
        assert wh.count("organisations") > 20

        # Landing the second batch changes only the rows of the domains it holds.
        assert materialize(domain_step, partition_key=keys[1], resources=resources, instance=instance).success
        second = _profiles(wh)
        in_batch2 = set(
            wh.read("SELECT registered_domain FROM domain_partials WHERE partition_key = :k", {"k": keys[1]})[
                "registered_domain"
            ]
        )
        untouched = sorted(set(first.index) - in_batch2)
        assert untouched, "the sample's second batch should leave some sites out"
        pd.testing.assert_frame_equal(second.loc[untouched], first.loc[untouched])
        assert (second.loc[sorted(in_batch2), "updated_partition"] == keys[1]).all()

        # A rerun is idempotent: same rows, same numbers.
        counts = {
            t: wh.count(t) for t in ("domain_partials", "domain_profiles", "org_evidence", "organisations")
        }
        assert materialize(domain_step, partition_key=keys[1], resources=resources, instance=instance).success
        assert {t: wh.count(t) for t in counts} == counts
        cols = ["n_pages", "category", "confidence", "evidence_json"]
        pd.testing.assert_frame_equal(_profiles(wh)[cols], second[cols])
        for key in keys[2:]:  # the remaining batches, so every partition has its organisations
            assert materialize(domain_step, partition_key=key, resources=resources, instance=instance).success

        # The org-type task, built by the same factory, trains, is promoted and scores organisations.
        assert materialize(org.train_graph, resources=resources, instance=instance).success
        assert ModelRegistry(wh, "org_type").champion() is not None
        for key in keys:
            assert materialize(
                [org.predictions], partition_key=key, resources=resources, instance=instance
            ).success
        preds = wh.read("SELECT * FROM predictions WHERE task = 'org_type'")
        assert len(preds) == sum(
            len(pd.read_parquet(Path(settings.artifacts_dir) / "org_features" / f"{k}.parquet")) for k in keys
        )
        assert set(preds["label"]) <= set(ORG_LABELS)

        # The org-type task has its own drift report and annotation queue, under its own keys.
        family = [dom.org.drift_report, dom.org.annotation.annotation_queue]
        assert materialize(family, partition_key=keys[-1], resources=resources, instance=instance).success
        champion = ModelRegistry(wh, "org_type").champion()
        drift = wh.read("SELECT task, partition_key, reference_version FROM drift_reports")
        assert drift.to_dict("records") == [
            {"task": "org_type", "partition_key": keys[-1], "reference_version": champion.version}
        ]
        queued = wh.read("SELECT page_id FROM annotation_queue WHERE task = 'org_type'")["page_id"]
        org_ids = pd.read_parquet(Path(settings.artifacts_dir) / "org_features" / f"{keys[-1]}.parquet")
        assert len(queued) > 0 and set(queued) <= set(org_ids["page_id"].astype(str))
        assert Path(settings.artifacts_dir, "org_annotation_queue", f"{keys[-1]}.parquet").exists()

        # Queryable in the warehouse: every organisation with its type, every site with its owner.
        profiles = wh.read("SELECT * FROM organisation_profiles")
        assert len(profiles) == wh.count("organisations") and profiles["org_type"].notna().all()
        directory = wh.read("SELECT * FROM site_directory")
        assert len(directory) == wh.count("domain_profiles") and directory["organisation"].notna().all()
        gov = directory[directory["registered_domain"].str.endswith((".gov", ".gov.uk", ".gov.au"))]
        assert (gov["category"] == "Law and Government").mean() >= 0.8
        named = wh.read("SELECT sources_json FROM organisations")["sources_json"].map(json.loads)
        assert named.map(lambda s: bool(set(s) - {"domain"})).mean() > 0.5  # most from page metadata
        wh.dispose()
