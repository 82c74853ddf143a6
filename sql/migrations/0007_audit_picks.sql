-- beambell warehouse, version 7: the annotation queue's audit picks (issue #13, active learning).
-- Pages the queue picked uniformly at random. The queue's other picks are chosen because the models
-- are unsure there, so their gold labels are no sample of the corpus; the gold of audit picks is,
-- and it is the only queue gold the label model sets its class prior, weights and aggregator choice
-- on. Append-only: a page keeps its record when its partition's queue is replaced.
CREATE TABLE audit_picks (
    task           TEXT NOT NULL,
    page_id        TEXT NOT NULL,
    partition_key  TEXT NOT NULL,
    picked_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (task, page_id)
);
