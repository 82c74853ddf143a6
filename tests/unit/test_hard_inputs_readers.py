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
