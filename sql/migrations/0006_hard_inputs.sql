-- beambell warehouse, version 6: hard inputs (issue #12). Portable DDL (SQLite, PostgreSQL).

-- Every ingest of a landing file: its size, mtime and content hash when it was read, so a file
-- that changes after it was read (a writer that paused mid-file) is detected and re-ingested as
-- a new version of its batch. One row per (partition, version); the newest is what was read last.
CREATE TABLE landing_files (
    partition_key TEXT NOT NULL,
    version       INTEGER NOT NULL,
    size_bytes    BIGINT NOT NULL,
    mtime_ns      BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    rows_read     INTEGER NOT NULL,
    ingested_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, version)
);

-- Gold labels that could not be used (a label outside the task's label space, a url that is not
-- one): kept with the reason instead of vanishing. Replaced per (task, source) on each load.
CREATE TABLE rejected_gold_labels (
    task        TEXT NOT NULL,
    source      TEXT NOT NULL,
    source_row  INTEGER NOT NULL,
    url         TEXT,
    label       TEXT,
    reason      TEXT NOT NULL,
    rejected_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task, source, source_row)
);
CREATE INDEX ix_rejected_gold_labels_task ON rejected_gold_labels (task);
