-- beambell warehouse, version 5: the real-time path (issue #11). Portable DDL (SQLite, PostgreSQL).

-- Where a prediction came from. Batch rows: source 'batch' (NULL on rows written before v5), the
-- predictor 'champion'. Stream rows: partition_key 'stream', source 'stream', the predictor that
-- produced it (champion | online_model | label_model) and the LF votes that fired, as JSON.
ALTER TABLE predictions ADD COLUMN source TEXT;
ALTER TABLE predictions ADD COLUMN predictor TEXT;
ALTER TABLE predictions ADD COLUMN lf_votes TEXT;

-- One row per stream message the pipeline committed: the idempotence and accounting record
-- (every message is a prediction, a quarantined row or a feedback event, exactly once).
CREATE TABLE stream_messages (
    stream        TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    enqueued_ms   BIGINT NOT NULL,   -- Redis' own timestamp: when the producer added it
    seq           BIGINT NOT NULL,
    task          TEXT NOT NULL,
    kind          TEXT NOT NULL,     -- page | feedback
    outcome       TEXT NOT NULL,     -- predicted | quarantined | applied | unknown_page | unknown_label
    page_id       TEXT,
    committed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (stream, message_id)
);
CREATE INDEX ix_stream_messages_order ON stream_messages (task, kind, enqueued_ms, seq);
CREATE INDEX ix_stream_messages_page ON stream_messages (page_id);

-- Accepted stream pages, as the landing contract accepted them: what the roll-up writes into
-- ordinary batch partitions (rollup_key = the landing file they went into; NULL = not yet).
CREATE TABLE stream_pages (
    page_id       TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    title         TEXT,
    text          TEXT,
    html          TEXT,
    scraped_at    TEXT,
    content_hash  TEXT NOT NULL,
    label         TEXT,
    extra         TEXT,
    stream        TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    rollup_key    TEXT
);
CREATE INDEX ix_stream_pages_rollup ON stream_pages (rollup_key);
CREATE INDEX ix_stream_pages_hash ON stream_pages (content_hash);

-- The learned state's durable checkpoints (files under artifacts/stream/<task>/), written in the
-- same transaction as the predictions they cover.
CREATE TABLE stream_checkpoints (
    task             TEXT NOT NULL,
    version          BIGINT NOT NULL,
    last_message_id  TEXT,
    pages            BIGINT NOT NULL,
    path             TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    summary_json     TEXT,
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (task, version)
);
