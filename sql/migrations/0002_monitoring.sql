-- beambell warehouse, version 2: drift monitoring. Portable DDL: runs unchanged on SQLite and PostgreSQL.

-- One drift verdict per landed partition and task; a re-run replaces its row (upsert by the key).
CREATE TABLE drift_reports (
    partition_key     TEXT NOT NULL,
    task              TEXT NOT NULL,
    reference_version TEXT,              -- champion whose training window is the reference (NULL: none yet)
    n_current         INTEGER NOT NULL,
    n_reference       INTEGER NOT NULL,
    share_drifted     DOUBLE PRECISION NOT NULL,
    n_drifted         INTEGER NOT NULL,
    severity          TEXT NOT NULL,     -- none | moderate | severe
    retrain_requested INTEGER NOT NULL,  -- 0 | 1
    report_path       TEXT,
    summary_json      TEXT NOT NULL,
    computed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, task),
    CHECK (severity IN ('none', 'moderate', 'severe')),
    CHECK (retrain_requested IN (0, 1))
);
CREATE INDEX ix_drift_reports_task_severity ON drift_reports (task, severity);

-- Why a retrain should happen, until a training run consumes the request.
-- request_id is deterministic per trigger (e.g. 'drift:<task>:<partition>') so re-runs never duplicate.
CREATE TABLE retrain_requests (
    request_id      TEXT PRIMARY KEY,
    task            TEXT NOT NULL,
    trig            TEXT NOT NULL,       -- drift | gold | manual
    partition_key   TEXT,
    detail          TEXT,
    requested_at    TIMESTAMP NOT NULL,
    consumed_run_id TEXT,                -- NULL while pending
    CHECK (trig IN ('drift', 'gold', 'manual'))
);
CREATE INDEX ix_retrain_requests_pending ON retrain_requests (task, consumed_run_id);
