"""stateful_lfs: the labeling functions learned from the gold labels so far (``labeling/stateful.py``).

Re-materialized whenever gold arrives (the Label Studio gold job runs it after the sync); each
state is versioned by its content and kept, and ``lf_votes`` applies the current one.
"""

from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from beambell_assets.assets.metadata import md_table
from beambell_assets.feedback.gold import gold_for_task
from beambell_assets.labeling.stateful import (
    STATEFUL_LF_NAMES,
    StatefulLFState,
    fit_state,
    load_current_state,
    save_state,
)
from beambell_assets.resources import ArtifactStoreResource, TaskResource, WarehouseResource
from beambell_assets.training.splits import gold_roles

ASSET = "stateful_lfs"


@asset(
    name=ASSET,
    group_name="labeling",
    kinds={"json"},
    deps=[AssetKey("gold_labels"), AssetKey("label_studio_gold"), AssetKey("page_features")],
)
def stateful_lfs(
    context: AssetExecutionContext,
    task: TaskResource,
    warehouse: WarehouseResource,
    artifacts: ArtifactStoreResource,
) -> MaterializeResult:
    """Keyword lists and a naive-Bayes model mined from the training-side gold pages, versioned JSON.

    Only gold with the *train* role (``training/splits.py::GoldPolicy``) is learned from, so the
    evaluation gold stays unseen by everything that trains.
    """
    current, wh, store = task.get(), warehouse.get(), artifacts.get()
    gold = gold_for_task(wh, current)
    roles = gold_roles(gold)
    train = gold[roles.reindex(gold["page_id"].astype(str)).to_numpy() == "train"]
    index = {name: i for i, name in enumerate(current.label_names)}
    labels = dict(zip(train["page_id"].astype(str), train["label"].map(index), strict=True))
    texts: dict[str, str] = {}
    if labels:
        for key in store.frame_keys("page_features"):
            frame = store.read_frame("page_features", key, columns=["page_id", current.text_field])
            hit = frame[frame["page_id"].astype(str).isin(labels.keys())]
            texts.update(
                zip(hit["page_id"].astype(str), hit[current.text_field].fillna("").astype(str), strict=True)
            )
    page_ids = [p for p in labels if p in texts and pd.notna(labels[p])]
    previous = load_current_state(store, ASSET, current)
    state = fit_state(
        [texts[p] for p in page_ids],
        [int(labels[p]) for p in page_ids],
        task=current.name,
        label_names=current.label_names,
        text_fields=(current.text_field,),
    )
    save_state(store, ASSET, state)
    return MaterializeResult(metadata=_metadata(state, previous, len(gold), len(train), len(page_ids)))


def _metadata(
    state: StatefulLFState, previous: StatefulLFState, n_gold: int, n_train_role: int, n_used: int
) -> dict[str, Any]:
    md: dict[str, Any] = {
        "version": state.version,
        "previous_version": previous.version if previous.fitted else "none",
        "changed": state.version != previous.version,
        "lfs": ", ".join(STATEFUL_LF_NAMES),
        "gold_labels": n_gold,
        "gold_train_role": n_train_role,
        "gold_pages_learned_from": n_used,
        "fitted": state.fitted,
        "nb_vocabulary": len(state.nb_vocab),
    }
    if state.keywords:
        rows = [
            {
                "class": state.label_names[int(c)],
                "gold_pages": state.gold_by_class.get(state.label_names[int(c)], 0),
                "n_terms": len(terms),
                "terms": ", ".join(terms[:12]),
            }
            for c, terms in sorted(state.keywords.items(), key=lambda kv: int(kv[0]))
        ]
        md["mined_keywords"] = md_table(pd.DataFrame(rows))
    return md
