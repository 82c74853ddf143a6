"""Hostile requests against the real prediction service over HTTP (issue #12)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from beambell_assets.devtools.prediction_service import serving_sample_champion
from beambell_assets.ingest.contract import Limits

pytestmark = pytest.mark.integration

TOKEN = "hard-inputs-token-" + "y" * 16
TEXT = "Cheap flights and hotel deals for your next holiday by the sea, book today."
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_sample_champion(tmp_path_factory.mktemp("hard_http"), TOKEN, "hard inputs test") as base:
        yield base


def _client(url: str, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _ok_body() -> dict:
    return {"pages": [{"url": "https://travel.example/deals", "text": TEXT}]}


def test_lone_surrogates_get_422_and_the_connection_stays_healthy(url: str) -> None:
    bodies = {
        "/v1/predict": b'{"pages": [{"url": "https://a.example/", "text": "'
        + TEXT.encode()
        + b'", "id": "\\udc80"}]}',
        "/setup": b'{"project": "1", "hostname": "\\ud800x"}',
        "/webhook": b'{"action": "ANNOTATION_CREATED", "\\udfff": 1}',
        "/predict": b'{"tasks": [{"data": {"text": "\\udc80 ' + TEXT.encode() + b'"}}]}',
    }
    with _client(url) as c:  # one client: one keep-alive connection
        for path, raw in bodies.items():
            resp = c.post(path, content=raw, headers=JSON)
            assert resp.status_code == 422, (path, resp.text)
            assert "not valid Unicode" in resp.text
            after = c.post("/v1/predict", json=_ok_body())
            assert after.status_code == 200, (path, after.text)
        assert c.get("/v1/stats").status_code == 200
        # a valid surrogate pair (an emoji) is fine
        emoji = b'{"pages": [{"url": "https://a.example/", "text": "' + TEXT.encode() + b' \\ud83d\\ude00"}]}'
        assert c.post("/v1/predict", content=emoji, headers=JSON).status_code == 200


def test_pathological_html_is_refused_not_computed(url: str) -> None:
    heavy = "<html><body>" + "<div><p>Flights, hotels, beaches.</p><a href='/x'>deal</a></div>" * 60_000
    deep = "<html><body>" + "<div>level " * 300
    with _client(url) as c:
        for html in (heavy, deep):
            body = {"pages": [{"url": "https://travel.example/heavy", "html": html}]}
            resp = c.post("/v1/predict", json=body)
            assert resp.status_code == 422 and resp.json()["error"] == "html_too_complex", resp.text[:300]
            task = {"tasks": [{"data": {"url": "https://travel.example/heavy", "html": html}}]}
            assert c.post("/predict", json=task).status_code == 422
        assert c.post("/v1/predict", json=_ok_body()).status_code == 200


def test_docs_and_schema_need_the_token_and_anonymous_bodies_get_401(url: str) -> None:
    with _client(url, token=None) as anon:
        for path in ("/docs", "/openapi.json", "/redoc", "/no-such-path"):
            assert anon.get(path).status_code == 401, path
        assert anon.post("/v1/predict", content=b"{broken", headers=JSON).status_code == 401
        assert anon.post("/v1/predict", json={"pages": []}).status_code == 401
        assert anon.get("/health").status_code == 200
    with _client(url) as c:
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs").status_code == 200


def test_url_and_text_caps_are_those_of_ingest(url: str) -> None:
    limits = Limits()
    long_url = "https://a.example/" + "p" * limits.max_url_chars
    long_text = "word " * (limits.max_text_chars // 5 + 1)
    with _client(url) as c:
        body = {"pages": [{"url": long_url, "text": TEXT}]}
        assert c.post("/v1/predict", json=body).status_code == 422
        for data in ({"url": long_url, "text": TEXT}, {"url": "https://a.example/", "text": long_text}):
            resp = c.post("/predict", json={"tasks": [{"data": data}]})
            assert resp.status_code == 422, resp.text[:200]
        body = {"pages": [{"url": "https://a.example/", "text": long_text}]}
        assert c.post("/v1/predict", json=body).status_code == 422
