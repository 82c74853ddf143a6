"""Per stream message: the landing contract's verdicts, and the batch path's exact LF votes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.demo.sample import write_sample_scrape
from beambell_assets.ingest.contract import ColumnMapping
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import make_task
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.streaming.messages import MAX_MESSAGE_BYTES, encode, file_payloads
from beambell_assets.streaming.prepare import PROCESSING_FAILED, PagePreparer
from beambell_assets.streaming.source import PAYLOAD_FIELD, StreamMessage


def as_messages(payloads: list) -> list[StreamMessage]:
    return [
        StreamMessage("s", f"{1000 + i}-0", p if isinstance(p, bytes) else encode(p)[PAYLOAD_FIELD], {})
        for i, p in enumerate(payloads)
    ]


def batch_votes(path: Path, mapping: ColumnMapping | None = None) -> pd.DataFrame:
    """What the batch path gives the same file: page_id -> the task's votes."""
    result = read_landing_file(path, "p", mapping=mapping)
    L, _ = FastLFApplier(TASK.lfs, n_jobs=1).apply(build_page_features(result.accepted))
    return pd.DataFrame(L, index=result.accepted["page_id"], columns=TASK.lf_names)


def stream_votes(prepared) -> pd.DataFrame:
    return pd.DataFrame(prepared.L_task, index=prepared.features["page_id"], columns=TASK.lf_names)


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The project's sample scrape: a JSON-lines, a CSV and a Parquet batch, bad rows included."""
    return write_sample_scrape(tmp_path_factory.mktemp("landing"), n_batches=3, pages_per_batch=120, seed=4)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "csv", "parquet"])
def test_sample_pages_get_the_batch_paths_verdicts_and_identical_votes(sample_files, index: int) -> None:
    path = sample_files[index]
    batch = read_landing_file(path, "p")
    prepared = PagePreparer(TASK).prepare("s", as_messages(list(file_payloads(path))))
    assert prepared.n_messages == batch.rows_read
    assert len(prepared.message_ids) == len(batch.accepted)
    assert sorted(q["reason"] for q in prepared.quarantine) == sorted(batch.quarantined["reason"])
    pd.testing.assert_frame_equal(stream_votes(prepared).sort_index(), batch_votes(path).sort_index())


@pytest.mark.shared_data
def test_dev_websites_get_identical_votes_in_the_stream_and_in_a_batch(dev_csv: Path) -> None:
    mapping = ColumnMapping.parse("url=website_url,text=cleaned_website_text,label=Category")
    prepared = PagePreparer(TASK, mapping).prepare("s", as_messages(list(file_payloads(dev_csv))))
    batch = batch_votes(dev_csv, mapping)
    assert len(prepared.message_ids) == len(batch) > 500
    pd.testing.assert_frame_equal(stream_votes(prepared).sort_index(), batch.sort_index())


def test_messages_that_are_not_json_objects_are_quarantined_with_the_contracts_reasons() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads raises RecursionError on this
    good = {"url": "https://example.org/a", "text": "A page about football and the league table this week."}
    msgs = [
        StreamMessage("s", "1-0", None, {"other": b"x"}),
        StreamMessage("s", "2-0", b'{"url": "https://x.org", "text": "caf\xe9"}', {}),
        StreamMessage("s", "3-0", b'{"url": "https://x.org", "te', {}),
        StreamMessage("s", "4-0", deep, {}),
        StreamMessage("s", "5-0", b"[1, 2]", {}),
        StreamMessage("s", "6-0", b"x" * (MAX_MESSAGE_BYTES + 1), {}),
        StreamMessage("s", "7-0", json.dumps(good).encode(), {}),
    ]
    prepared = PagePreparer(TASK).prepare("s", msgs)
    reasons = {q["source_file"].split("#")[1]: q["reason"] for q in prepared.quarantine}
    assert reasons == {
        "1-0": "malformed_line",
        "2-0": "bad_encoding",
        "3-0": "malformed_line",
        "4-0": "malformed_line",
        "5-0": "malformed_line",
    } | {"6-0": reasons.get("6-0")}
    assert reasons["6-0"] in ("text_too_large", "malformed_line")
    assert prepared.message_ids == ["7-0"] and prepared.n_messages == len(msgs)


def test_a_page_whose_processing_raises_is_quarantined_and_the_rest_go_on() -> None:
    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        if frame["text"].str.contains("POISON").any():
            raise RuntimeError("the task's prepare hook failed")
        return frame

    task = make_task("t", TASK.label_names, TASK.lfs, prepare=prepare)
    pages = [
        {"url": f"https://example.org/{i}", "text": f"page {i} about the football league and its games"}
        for i in range(5)
    ]
    pages[2]["text"] = "POISON " + pages[2]["text"]
    prepared = PagePreparer(task).prepare("s", as_messages(pages))
    assert [q["reason"] for q in prepared.quarantine] == [PROCESSING_FAILED]
    assert "prepare hook failed" in prepared.quarantine[0]["detail"]
    assert prepared.message_ids == ["1000-0", "1001-0", "1003-0", "1004-0"] and len(prepared.L_task) == 4


def test_content_already_held_by_another_page_is_a_duplicate_but_a_resend_is_not() -> None:
    text = "A long enough text about hiking trails, mountain huts and alpine lakes in summer."
    pages = [{"url": "https://a.example/x", "text": text}, {"url": "https://b.example/y", "text": text + " "}]
    from beambell_assets.ingest.contract import content_hash_for, normalize_url, page_id_for

    owner = page_id_for(normalize_url("https://a.example/x"))
    owners = {content_hash_for(text): {owner}}
    prepared = PagePreparer(TASK).prepare("s", as_messages(pages[1:]), owners_of=lambda h: owners)
    assert [q["reason"] for q in prepared.quarantine] == ["duplicate"] and owner in prepared.quarantine[0][
        "detail"
    ]
    resend = PagePreparer(TASK).prepare("s", as_messages(pages[:1]), owners_of=lambda h: owners)
    assert resend.message_ids == ["1000-0"] and not resend.quarantine


def test_committed_messages_are_skipped() -> None:
    pages = [
        {"url": f"https://example.org/{i}", "text": f"page {i} about travel, hotels and flights to Rome"}
        for i in range(3)
    ]
    prepared = PagePreparer(TASK).prepare("s", as_messages(pages), committed={"1001-0"})
    assert prepared.already_committed == ["1001-0"] and prepared.message_ids == ["1000-0", "1002-0"]
    assert np.asarray(prepared.L_task).shape == (2, len(TASK.lfs))


def test_a_vote_for_a_label_the_task_lacks_is_an_abstain_and_a_fault_and_the_learner_goes_on() -> None:
    from snorkel.labeling import labeling_function

    from beambell_assets.streaming.learner import StreamLearner

    @labeling_function()
    def lf_label_99(x) -> int:  # the task has 16 labels
        return 99 if "the" in str(x.text).lower().split() else -1

    task = make_task("t", TASK.label_names, [*TASK.lfs, lf_label_99])
    pages = [
        {"url": f"https://example.org/{i}", "text": f"page {i} about the football league and its games"}
        for i in range(4)
    ] + [{"url": "https://example.org/x", "text": "hotels, flights and beaches for a summer holiday"}]
    prepared = PagePreparer(task).prepare("s", as_messages(pages))
    assert prepared.L_task.shape == (5, len(task.lfs)) and prepared.L_task.max() < task.cardinality
    assert (prepared.L_task[:, -1] == -1).all() and prepared.lf_faults == {"lf_label_99": 4}
    without = PagePreparer(TASK).prepare("s", as_messages(pages))
    np.testing.assert_array_equal(prepared.L_task[:, :-1], without.L_task)
    learner = StreamLearner(task)
    preds = learner.process_pages(prepared.message_ids, prepared.features, prepared.L_task, None)
    assert len(preds) == 5 and learner.counters["pages_applied"] == 5


def test_a_page_the_prepare_hook_drops_is_quarantined_not_lost() -> None:
    task = make_task("t", TASK.label_names, TASK.lfs, prepare=lambda f: f[~f["text"].str.contains("DROPME")])
    pages = [
        {"url": f"https://example.org/{i}", "text": f"page {i} about the football league and its games"}
        for i in range(4)
    ]
    pages[1]["text"] = "DROPME " + pages[1]["text"]
    prepared = PagePreparer(task).prepare("s", as_messages(pages))
    assert prepared.message_ids == ["1000-0", "1002-0", "1003-0"] and len(prepared.L_task) == 3
    assert [q["reason"] for q in prepared.quarantine] == [PROCESSING_FAILED]
    assert "returned 0 rows for 1 pages" in prepared.quarantine[0]["detail"]
    assert prepared.n_messages == len(pages)


def test_file_payloads_read_csvs_as_the_batch_reader_does(tmp_path: Path) -> None:
    """A 300 KB field (over the csv module's default limit), gzip and UTF-16 reach the stream."""
    import gzip

    big = "word " * 60_000
    text = f'url,text\nhttps://a.example/x,"{big}"\nhttps://b.example/y,a small page about trains\n'
    plain = tmp_path / "pages.csv"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "pages.csv.gz"
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    wide = tmp_path / "wide.csv"
    wide.write_text(text, encoding="utf-16")
    for path in (plain, packed, wide):
        payloads = list(file_payloads(path))
        assert [p["url"] for p in payloads] == ["https://a.example/x", "https://b.example/y"], path.name
        assert payloads[0]["text"] == big


def test_stream_send_refuses_what_it_cannot_read_or_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from beambell_assets.cli import main

    monkeypatch.setenv("BEAMBELL_HOME", str(tmp_path / "home"))  # main sets it too; restored after
    monkeypatch.setenv("BEAMBELL_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    home = ["--home", str(tmp_path / "home")]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    for name, why in [("missing.csv", "FileNotFoundError"), ("broken.parquet", "ArrowInvalid")]:
        assert main([*home, "stream", "send", str(tmp_path / name)]) == 2
        assert f"{name}: {why}" in capsys.readouterr().err
    assert main([*home, "stream", "send", "--pages", "3"]) == 2
    err = capsys.readouterr().err
    assert "redis://127.0.0.1:1/0 is not reachable" in err and "sent 0 of 3 messages" in err
    with pytest.raises(SystemExit):
        main([*home, "stream", "send", "--pages", "-5"])
    assert "must be above 0" in capsys.readouterr().err
