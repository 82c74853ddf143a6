"""stateful_lfs: the labeling functions learned from a task's gold labels so far (``labeling/stateful.py``).

Re-materialized whenever gold arrives (the Label Studio gold job runs it after the sync); each
state is versioned by its content and kept, and the task's ``lf_votes`` applies the current one.
Built per task by :func:`build_stateful_lfs_asset`.
"""

from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset

from beambell_assets.defs.assets.metadata import md_table
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.feedback.gold import gold_for_task, gold_label_indices, texts_of_pages, train_role_gold
from beambell_assets.labeling.stateful import (
    OUT_OF_FOLD_KEY,
    STATEFUL_LF_NAMES,
    StatefulLFState,
    fit_state_with_out_of_fold_votes,
    load_current_state,
    out_of_fold_frame,
    save_state,
)
from beambell_assets.training.splits import gold_roles


def _stateful_lfs(spec: WeakSupervisionSpec, context: AssetExecutionContext) -> MaterializeResult:
    task, wh, store = spec.parts(context)
    asset_name, features = spec.name("stateful_lfs"), spec.features_asset
    gold = gold_for_task(wh, task)
    train = train_role_gold(gold, gold_roles(gold))
    labels = gold_label_indices(train, task.label_names)
    frames = (
        store.read_frame(features, k, columns=["page_id", task.text_field])
        for k in store.frame_keys(features)
    )
    texts = texts_of_pages(frames, labels, task.text_field) if labels else {}
    page_ids = [p for p in labels if p in texts and pd.notna(labels[p])]
    previous = load_current_state(store, asset_name, task)
    gold_texts, gold_labels = [texts[p] for p in page_ids], [int(labels[p]) for p in page_ids]
    # the state, and what its LFs would vote on their own gold pages had they not learned from them:
    # the label model fits on these (``with_out_of_fold_votes``), written before the state
    state, oof = fit_state_with_out_of_fold_votes(
        gold_texts,
        gold_labels,
        task=task.name,
        label_names=task.label_names,
        text_fields=(task.text_field,),
    )
    store.write_frame(asset_name, OUT_OF_FOLD_KEY, out_of_fold_frame(page_ids, oof, state))
    save_state(store, asset_name, state)
    return MaterializeResult(metadata=_metadata(state, previous, len(gold), len(train), len(page_ids)))


def build_stateful_lfs_asset(spec: WeakSupervisionSpec | None = None) -> AssetsDefinition:
    """``<prefix>stateful_lfs`` for one task, learned from its training-side gold."""
    spec = spec or WeakSupervisionSpec()

    @asset(
        name=spec.name("stateful_lfs"),
        group_name=spec.group("labeling"),
        kinds={"json"},
        deps=[AssetKey("gold_labels"), AssetKey("label_studio_gold"), AssetKey(spec.features_asset)],
        required_resource_keys=spec.resource_keys,
    )
    def stateful_lfs(context: AssetExecutionContext) -> MaterializeResult:
        """Keyword lists and a naive-Bayes model mined from the training-side gold pages, versioned JSON.

        Only gold with the *train* role (``training/splits.py::GoldPolicy``) is learned from, so the
        evaluation gold stays unseen by everything that trains.
        """
        return _stateful_lfs(spec, context)

    return stateful_lfs


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
