-- beambell warehouse, version 4: human in the loop (issue #4). Portable DDL (SQLite, PostgreSQL).

-- Where a gold label came from in Label Studio, so a re-sync detects changed and deleted annotations.
-- NULL for CSV-sourced gold.
ALTER TABLE gold_labels ADD COLUMN ls_project_id INTEGER;
ALTER TABLE gold_labels ADD COLUMN ls_task_id INTEGER;
ALTER TABLE gold_labels ADD COLUMN ls_annotation_id INTEGER;
ALTER TABLE gold_labels ADD COLUMN ls_updated_at TEXT;
CREATE INDEX ix_gold_labels_source ON gold_labels (task, source);

-- The pages a human should label next, per landed partition and task (replaced by partition).
CREATE TABLE annotation_queue (
    partition_key      TEXT NOT NULL,
    task               TEXT NOT NULL,
    page_id            TEXT NOT NULL,
    url                TEXT NOT NULL,
    queue_rank         INTEGER NOT NULL,
    score              DOUBLE PRECISION NOT NULL,
    classifier_margin  DOUBLE PRECISION,
    classifier_entropy DOUBLE PRECISION,
    lm_entropy         DOUBLE PRECISION,
    lf_conflict        DOUBLE PRECISION,
    uncovered          INTEGER NOT NULL,
    predicted_label    TEXT,
    predicted_probability DOUBLE PRECISION,
    model_version      TEXT,
    reason             TEXT NOT NULL,
    queued_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, task, page_id),
    CHECK (uncovered IN (0, 1))
);
CREATE INDEX ix_annotation_queue_score ON annotation_queue (task, score);
