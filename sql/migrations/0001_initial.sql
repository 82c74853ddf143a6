-- beambell warehouse, version 1. Portable DDL: runs unchanged on SQLite and PostgreSQL.
-- Every partitioned table is keyed by partition_key so a partition is replaced atomically
-- (DELETE + INSERT in one transaction): re-running a partition never duplicates rows.

CREATE TABLE pages (
    partition_key     TEXT NOT NULL,
    page_id           TEXT NOT NULL,
    url               TEXT NOT NULL,
    title             TEXT,
    text              TEXT,
    text_len          INTEGER,
    content_hash      TEXT NOT NULL,
    scraped_at        TEXT,
    source_file       TEXT,
    source_row        INTEGER,
    ingested_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, page_id)
);
CREATE INDEX ix_pages_content_hash ON pages (content_hash);
CREATE INDEX ix_pages_url ON pages (url);

-- Rows that did not pass the landing contract, with why. accepted + quarantined = rows read.
CREATE TABLE quarantine (
    partition_key TEXT NOT NULL,
    source_file   TEXT NOT NULL,
    source_row    INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    detail        TEXT,
    url           TEXT,
    raw           TEXT,
    quarantined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, source_file, source_row)
);
CREATE INDEX ix_quarantine_reason ON quarantine (reason);

-- Per-partition LF statistics (coverage, errors): LF health over time.
CREATE TABLE lf_stats (
    partition_key TEXT NOT NULL,
    task          TEXT NOT NULL,
    lf_name       TEXT NOT NULL,
    n_rows        INTEGER NOT NULL,
    n_votes       INTEGER NOT NULL,
    coverage      DOUBLE PRECISION NOT NULL,
    n_errors      INTEGER NOT NULL,
    computed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, task, lf_name)
);

-- Hand labels (gold). One current label per page and labeler source.
CREATE TABLE gold_labels (
    page_id    TEXT NOT NULL,
    task       TEXT NOT NULL,
    url        TEXT NOT NULL,
    label      TEXT NOT NULL,
    labeler    TEXT,
    labeled_at TEXT,
    source     TEXT NOT NULL,
    loaded_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (page_id, task)
);

-- Every trained classifier, with where it is stored and how it scored.
CREATE TABLE model_registry (
    version         TEXT PRIMARY KEY,
    task            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    artifact_path   TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    status          TEXT NOT NULL,   -- candidate | champion | retired | rejected
    n_train         INTEGER NOT NULL,
    training_window TEXT,
    lf_fingerprint  TEXT,
    metrics_json    TEXT NOT NULL,
    run_id          TEXT
);
CREATE INDEX ix_model_registry_task_status ON model_registry (task, status);

-- Promotions and rollbacks: who/what/why, with the metrics at the time.
CREATE TABLE model_events (
    event_id      TEXT PRIMARY KEY,
    task          TEXT NOT NULL,
    version       TEXT NOT NULL,
    previous      TEXT,
    action        TEXT NOT NULL,     -- promote | reject | rollback
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    metrics_json  TEXT,
    at            TIMESTAMP NOT NULL
);

CREATE TABLE predictions (
    partition_key TEXT NOT NULL,
    page_id       TEXT NOT NULL,
    task          TEXT NOT NULL,
    url           TEXT NOT NULL,
    label         TEXT NOT NULL,
    probability   DOUBLE PRECISION NOT NULL,
    model_version TEXT NOT NULL,
    predicted_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, page_id, task)
);
CREATE INDEX ix_predictions_model ON predictions (model_version);
