"""gold_labels: hand labels from CSV files -> the warehouse (Label Studio's: ``label_studio_gold``)."""

from pathlib import Path

import sqlalchemy as sa
from dagster import AssetExecutionContext, MaterializeResult, asset

from beambell_assets.defs.assets.metadata import counts_table, md_table
from beambell_assets.defs.resources import GoldFilesResource, TaskResource, WarehouseResource
from beambell_assets.feedback.gold import read_gold_csvs, store_rejected
from beambell_assets.storage.warehouse import utcnow


@asset(group_name="labeling", kinds={"csv", "sql"})
def gold_labels(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    task: TaskResource,
    gold_files: GoldFilesResource,
) -> MaterializeResult:
    """Hand labels from ``<home>/gold/*.csv`` (url,label[,labeler,labeled_at]) -> gold_labels table.

    Used for LF empirical accuracy, the label model's class balance and the classifier's
    evaluation; never as weak-training rows. Rows with an unknown label (or a bad url) are kept in
    ``rejected_gold_labels`` with the reason and counted in the metadata, never dropped silently.
    """
    current = task.get()
    load = read_gold_csvs(Path(gold_files.gold_dir), current)
    wh = warehouse.get()
    rows = load.accepted.assign(task=current.name, loaded_at=utcnow())
    with wh.engine.begin() as conn:
        # CSV-sourced gold is replaced as a whole: the files are the source of truth. A page a human
        # labeled in Label Studio keeps that label (one gold label per page): its CSV row is skipped.
        t = wh.table("gold_labels")
        conn.execute(t.delete().where((t.c.task == current.name) & t.c.source.like("csv:%")))
        other = {r[0] for r in conn.execute(sa.select(t.c.page_id).where(t.c.task == current.name))}
        shadowed = rows["page_id"].isin(other)
        wh.insert("gold_labels", rows[~shadowed].to_dict("records"), conn=conn)
        store_rejected(wh, conn, current.name, load.rejected)
    total = wh.scalar("SELECT COUNT(*) FROM gold_labels WHERE task = :t", {"t": current.name})
    metadata: dict[str, object] = {
        "dagster/row_count": int(total),
        "loaded_from_csv": int((~shadowed).sum()),
        "csv_rows_shadowed_by_label_studio": int(shadowed.sum()),
        "rejected_rows": len(load.rejected),
    }
    if len(load.accepted):
        metadata["gold_by_class"] = counts_table(load.accepted["label"], "label")
    if len(load.rejected):
        metadata["rejected"] = md_table(load.rejected.head(50))
        context.log.warning(f"{len(load.rejected)} gold rows rejected; see the 'rejected' metadata")
    return MaterializeResult(metadata=metadata)
