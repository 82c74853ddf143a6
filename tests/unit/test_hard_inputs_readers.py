"""Hostile landing files (issue #12): one bad row never costs the rows around it."""

from __future__ import annotations

import json
from pathlib import Path

from beambell_assets.ingest.contract import Limits
from beambell_assets.ingest.readers import ingest_records, read_landing_file

TEXT = "An ordinary page about trains, timetables, platforms and tickets to the coast."


def _good(i: int) -> dict[str, str]:
    return {"url": f"https://example.com/page-{i}", "text": f"{TEXT} Number {i}."}


def _reasons(result) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return dict(zip(result.quarantined["source_row"], result.quarantined["reason"], strict=True))


def test_a_deeply_nested_line_is_one_malformed_row_and_the_rest_is_read(tmp_path: Path) -> None:
    deep = '{"url": "https://example.com/deep", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    lines = [json.dumps(_good(1)), deep, json.dumps(_good(2)), json.dumps(_good(3))]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = read_landing_file(path, "p")
    assert result.rows_read == 4
    assert sorted(result.accepted["source_row"]) == [1, 3, 4]
    assert _reasons(result) == {2: "malformed_line"}


def test_nesting_the_json_parser_accepts_is_still_bounded(tmp_path: Path) -> None:
    """Nested just under Python's recursion limit: parses, but later steps must not recurse on it."""
    medium = {"url": "https://example.com/medium", "text": TEXT, "x": json.loads("[" * 500 + "]" * 500)}
    path = tmp_path / "medium.jsonl"
    path.write_text(json.dumps(_good(1)) + "\n" + json.dumps(medium) + "\n" + json.dumps(_good(2)) + "\n")
    result = read_landing_file(path, "p")
    assert sorted(result.accepted["source_row"]) == [1, 3]
    assert _reasons(result) == {2: "malformed_line"}
    assert "nested" in result.quarantined["detail"].iat[0]


def test_a_deep_json_array_element_does_not_lose_the_array(tmp_path: Path) -> None:
    deep = json.loads("[" * 500 + "]" * 500)
    path = tmp_path / "array.json"
    rows = [_good(1), {"url": "https://example.com/d", "text": TEXT, "x": deep}, _good(2)]
    path.write_text(json.dumps(rows))
    result = read_landing_file(path, "p")
    assert result.rows_read == 3 and len(result.accepted) == 2
    assert _reasons(result) == {2: "malformed_line"}


def test_ingest_records_bounds_nesting_too() -> None:
    deep = {"url": "https://example.com/d", "text": TEXT, "x": json.loads("[" * 500 + "]" * 500)}
    result = ingest_records(
        [_good(1), deep, _good(2)], [10, 11, 12], source_file="stream", partition_key="s", limits=Limits()
    )
    assert result.rows_read == 3
    assert sorted(result.accepted["source_row"]) == [10, 12]
    assert _reasons(result) == {11: "malformed_line"}


def test_links_out_of_the_landing_folder_are_never_read(tmp_path: Path) -> None:
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    landing.mkdir()
    outside.mkdir()
    (outside / "secret.jsonl").write_text(json.dumps(_good(1)) + "\n")
    (landing / "inside.jsonl").write_text(json.dumps(_good(2)) + "\n")
    (landing / "out.jsonl").symlink_to(outside / "secret.jsonl")
    (landing / "in.jsonl").symlink_to(landing / "inside.jsonl")
    out = read_landing_file(landing / "out.jsonl", "p", root=landing)
    assert out.rows_read == 1 and out.accepted.empty
    assert list(out.quarantined["reason"]) == ["unsafe_path"]
    assert "example.com" not in str(out.quarantined.iloc[0].to_dict())
    assert len(read_landing_file(landing / "in.jsonl", "p", root=landing).accepted) == 1  # inside: fine
    # without a root, the file's own folder is the boundary
    assert list(read_landing_file(landing / "out.jsonl", "p").quarantined["reason"]) == ["unsafe_path"]


def test_demo_data_that_is_a_link_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    import pytest

    from beambell_assets.cli import _land_user_data
    from beambell_assets.settings import Settings

    settings = Settings(home=tmp_path / "home", warehouse_url="sqlite://", task_spec="x").ensure_dirs()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "data.jsonl").write_text(json.dumps(_good(1)) + "\n")
    (tmp_path / "mine").mkdir()
    link = tmp_path / "mine" / "data.jsonl"
    link.symlink_to(tmp_path / "elsewhere" / "data.jsonl")
    with pytest.raises(SystemExit, match="symbolic link"):
        _land_user_data(settings, link, "")
    assert not any(settings.landing_dir.iterdir())
    landed = _land_user_data(settings, tmp_path / "elsewhere" / "data.jsonl", "")
    assert landed[0].read_text() == (tmp_path / "elsewhere" / "data.jsonl").read_text()


def test_html_over_the_complexity_bounds_is_quarantined_before_extraction(tmp_path: Path) -> None:
    many = "<html><body>" + "<p>x</p>" * 120_000 + "</body></html>"  # ~1 MiB, 120k elements
    deep = "<html><body>" + "<div>level " * 300 + "</body></html>"  # lxml silently cuts at 256
    large = "<html><body>" + "<div><p>Trains, timetables and tickets.</p></div>" * 20_000 + "</body></html>"
    rows = [
        _good(1),
        {"url": "https://example.com/many", "html": many},
        {"url": "https://example.com/deep", "html": deep},
        {"url": "https://example.com/large", "html": large},
        _good(2),
    ]
    path = tmp_path / "html.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = read_landing_file(path, "p")
    assert result.rows_read == 5
    assert _reasons(result) == {2: "html_too_complex", 3: "html_too_complex"}
    details = list(result.quarantined["detail"])
    assert "elements" in details[0] and "deep" in details[1]
    # 40k elements: read, its text taken from the visible text (linear) rather than trafilatura
    large_row = result.accepted[result.accepted["source_row"] == 4]
    assert "Trains, timetables and tickets." in large_row["text"].iat[0]


def test_extraction_bounds_apply_to_ingest_records_and_custom_limits() -> None:
    page = {"url": "https://example.com/h", "html": "<html><body>" + "<p>a b c</p>" * 50 + "</body></html>"}
    loose = ingest_records([page], [1], source_file="s", partition_key="s")
    tight_limits = Limits(max_html_elements=20)
    tight = ingest_records([page], [1], source_file="s", partition_key="s", limits=tight_limits)
    assert len(loose.accepted) == 1
    assert list(tight.quarantined["reason"]) == ["html_too_complex"]


def test_objects_and_lists_where_text_is_expected_are_a_wrong_type(tmp_path: Path) -> None:
    rows = [
        {"url": "https://example.com/1", "text": {"body": TEXT}},
        {"url": "https://example.com/2", "text": TEXT, "title": ["a", {"b": 1}]},
        {"url": "https://example.com/3", "text": TEXT, "title": {"t": "x"}},
        {"url": {"href": "https://example.com/4"}, "text": TEXT},
        {"url": "https://example.com/5", "text": True},
        {"url": "https://example.com/6", "text": [TEXT, "and a second paragraph"]},  # paragraphs: fine
        _good(7),
    ]
    path = tmp_path / "types.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = read_landing_file(path, "p")
    assert _reasons(result) == dict.fromkeys(range(1, 6), "wrong_type")
    assert sorted(result.accepted["source_row"]) == [6, 7]
    assert "{" not in " ".join(result.accepted["text"])  # no Python repr ever becomes text


def test_the_url_cap_is_the_services(tmp_path: Path) -> None:
    long_url = "https://example.com/" + "a" * (Limits().max_url_chars + 1)
    path = tmp_path / "urls.jsonl"
    path.write_text(json.dumps({"url": long_url, "text": TEXT}) + "\n" + json.dumps(_good(2)) + "\n")
    result = read_landing_file(path, "p")
    assert _reasons(result) == {1: "bad_url"} and "characters" in result.quarantined["detail"].iat[0]


def test_utf16_without_a_bom_is_read_as_utf16(tmp_path: Path) -> None:
    import csv
    import io

    rows = [{"url": f"https://example.com/é{i}", "text": f"{TEXT} Café n°{i}."} for i in range(3)]
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["url", "text"])
    writer.writeheader()
    writer.writerows(rows)
    for name, text in (("le.jsonl", jsonl), ("le.csv", buf.getvalue())):
        for codec in ("utf-16-le", "utf-16-be"):
            path = tmp_path / f"{codec}-{name}"
            path.write_bytes(text.encode(codec))
            result = read_landing_file(path, "p")
            assert result.rows_read == 3 and len(result.accepted) == 3, (path.name, result.reason_counts())
            assert "Café" in result.accepted["text"].iat[0]
