"""The org-type task: loads like any task, its LFs vote as written, both appliers agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
from snorkel.labeling import PandasLFApplier

from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import load_task
from beambell_assets.labeling.tasks.org_type import (
    COMPANY,
    EDUCATION,
    GOVERNMENT,
    INDIVIDUAL,
    LABELS,
    NEWS,
    NONPROFIT,
    TASK,
)
from beambell_assets.organisations.records import ORG_FEATURE_COLUMNS


def _org(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {c: "" for c in ORG_FEATURE_COLUMNS}
    base.update(page_id="o", url="https://x.example/", n_domains=1, n_pages=1, text_only=0, platform_tenant=0)
    base.update(fields)
    return base


ORGS = pd.DataFrame(
    [
        _org(name="Courier Media Group", schema_types="newsmediaorganization", domain_categories="news"),
        _org(name="Lisbon Transport Agency", suffixes="gov.pt", domain_categories="law_and_government"),
        _org(name="University of Galway", suffixes="ac.uk", schema_types="collegeoruniversity"),
        _org(
            name="Northfield Foundation", text="Northfield Foundation is a registered charity. Donate today."
        ),
        _org(name="Jane Doe", suffixes="github.io", platform_tenant=1, schema_types="person"),
        _org(name="Basket Retail Ltd", schema_types="onlinestore", domain_categories="e_commerce"),
        _org(name="", text=""),
    ]
)
EXPECTED = [NEWS, GOVERNMENT, EDUCATION, NONPROFIT, INDIVIDUAL, COMPANY, None]


def test_task_loads_by_module_path() -> None:
    task = load_task("beambell_assets.labeling.tasks.org_type")
    assert task.name == "org_type" and task.label_names == LABELS and task.text_field == "text"
    assert len(task.lfs) >= 20


def test_lfs_vote_the_expected_type() -> None:
    L, _ = FastLFApplier(list(TASK.lfs), n_jobs=1).apply(ORGS)
    for row, expected in zip(L, EXPECTED, strict=True):
        votes = row[row != -1]
        if expected is None:
            assert votes.size == 0
        else:
            counts = np.bincount(votes, minlength=len(LABELS))
            assert counts.argmax() == expected, (LABELS[expected], counts)


def test_fast_applier_equals_snorkel() -> None:
    fast, _ = FastLFApplier(list(TASK.lfs), n_jobs=1).apply(ORGS)
    slow = PandasLFApplier(list(TASK.lfs)).apply(ORGS, progress_bar=False, fault_tolerant=True)
    np.testing.assert_array_equal(fast, slow)
