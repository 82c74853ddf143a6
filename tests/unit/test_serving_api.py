"""The prediction service in-process (Starlette's TestClient runs the real app and its lifespan).

The champion is a real skops model in a real SQLite warehouse's registry, trained on the sample
scrape; nothing is mocked. Over-the-wire behaviour (uvicorn, a swap under load) is in
``tests/integration/test_serving_http.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from beambell_assets.devtools.prediction_service import register_sample_champion as register_champion
from beambell_assets.devtools.prediction_service import sample_pages
from beambell_assets.ingest.features import FEATURE_COLUMNS, build_page_features
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.task import load_task
from beambell_assets.serving.api import LabelConfigError, create_app, parse_label_config
from beambell_assets.serving.features_online import online_features, raw_frame
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import DEFAULT_TASK, Settings, load_settings
from beambell_assets.storage.warehouse import Warehouse

TOKEN = "unit-test-token-0123456789"
TASK = load_task(DEFAULT_TASK)
LABEL_CONFIG = """<View>
  <Text name="page" value="$body"/>
  <Choices name="category" toName="page" choice="single">
    <Choice value="Travel"/><Choice value="News"/><Choice value="Sports"/><Choice value="Nonsense"/>
  </Choices>
</View>"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("BEAMBELL_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("BEAMBELL_TASK", raising=False)
    settings = load_settings(tmp_path / "home").ensure_dirs()
    register_champion(settings, "v1")
    return settings


@pytest.fixture
def client(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home, token=TOKEN, reload_interval_s=0.2)) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


# --------------------------------------------------------------------------- features


def test_online_features_equal_the_batch_path_value_for_value() -> None:
    pages = [p for p, _ in sample_pages(2, 80, seed=3)]
    assert any(p.get("html") for p in pages) and any(not p.get("html") for p in pages)
    pages.append({"url": "not a url", "text": "Plain text with £12.50 and 3 March 2025 in it."})
    ref = build_page_features(raw_frame(pages))
    got = online_features(pages, TASK)
    assert list(got.columns) == list(FEATURE_COLUMNS)
    for col in FEATURE_COLUMNS:
        want = ref[col].astype(object).where(ref[col].notna(), None).tolist()
        have = got[col].astype(object).where(got[col].notna(), None).tolist()
        assert have == want, col
    applier = FastLFApplier(list(TASK.lfs), n_jobs=1)
    np.testing.assert_array_equal(applier.apply(got)[0], applier.apply(ref)[0])


def test_online_features_take_text_from_html_only_when_text_is_short() -> None:
    html = (
        "<html><head><title>T</title></head><body><article><p>"
        + "word " * 40
        + "</p></article></body></html>"
    )
    both = online_features(
        [{"url": "https://a.example/x", "text": "given text that is long enough", "html": html}], TASK
    )
    only_html = online_features([{"url": "https://a.example/x", "html": html}], TASK)
    assert both["text"].iat[0] == "given text that is long enough"
    assert only_html["text"].iat[0].startswith("word word")
    assert both["title"].iat[0] == "T" and both["has_html"].iat[0] == 1


# --------------------------------------------------------------------------- label config


def test_parse_label_config_finds_choices_target_and_text_variable() -> None:
    target = parse_label_config(LABEL_CONFIG, TASK.label_names)
    assert (target.from_name, target.to_name, target.text_key) == ("category", "page", "body")
    assert target.choices == ("Travel", "News", "Sports")  # "Nonsense" is not a task label


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("<View><Text", "not valid XML"),
        ('<View><Text name="t" value="$text"/></View>', "no <Choices>"),
        ('<View><Choices name="c" toName="t"><Choice value="Foo"/></Choices></View>', "none of the"),
    ],
)
def test_parse_label_config_rejects_configs_it_cannot_serve(config: str, message: str) -> None:
    with pytest.raises(LabelConfigError, match=message):
        parse_label_config(config, TASK.label_names)


# --------------------------------------------------------------------------- auth


def test_token_is_required_at_start(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAMBELL_API_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="BEAMBELL_API_TOKEN"):
        create_app(home)
    monkeypatch.setenv("BEAMBELL_API_TOKEN", "from-the-env")
    assert create_app(home) is not None


def test_auth_bearer_basic_and_failures(client: TestClient) -> None:
    body = {"pages": [{"url": "https://x.example/", "text": "hotel booking flights"}]}
    assert client.post("/v1/predict", json=body).status_code == 200
    basic = base64.b64encode(f"labelstudio:{TOKEN}".encode()).decode()
    assert (
        client.post("/v1/predict", json=body, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    )
    for header in ("", "Bearer wrong", f"Token {TOKEN}", "Basic !!notbase64", f"Bearer {TOKEN}x"):
        resp = client.post("/v1/predict", json=body, headers={"Authorization": header})
        assert resp.status_code == 401, header
        assert "token" in resp.json()["detail"]
        assert "Bearer" in resp.headers["www-authenticate"]
    # health stays open for probes; everything else is guarded
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200
    for method, path in (
        ("post", "/setup"),
        ("post", "/predict"),
        ("post", "/webhook"),
        ("get", "/v1/stats"),
    ):
        assert getattr(client, method)(path, headers={"Authorization": ""}).status_code == 401, path


# --------------------------------------------------------------------------- endpoints


def test_health_and_model_info(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health == {"status": "UP", "model_class": "beambell", "task": "web_content", "model_version": "v1"}
    info = client.get("/v1/model").json()
    assert info["model_version"] == "v1" and info["labels"] == list(TASK.label_names)


def test_batch_predict_returns_labels_probabilities_and_fired_votes(client: TestClient) -> None:
    pages = sample_pages(1, 40, seed=7)[:12]
    body = {"pages": [{**p, "id": i} for i, (p, _) in enumerate(pages)], "top_k": 2}
    resp = client.post("/v1/predict", json=body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["model_version"] == "v1" and out["lf_fingerprint"] == TASK.fingerprint()
    preds = out["predictions"]
    assert [p["id"] for p in preds] == list(range(12))
    correct = sum(p["label"] == label for p, (_, label) in zip(preds, pages, strict=True))
    assert correct >= 9  # trained on the same generator: a sanity check, not a quality claim
    feats = online_features([p for p, _ in pages], TASK)
    L, _ = FastLFApplier(list(TASK.lfs), n_jobs=1).apply(feats)
    for i, p in enumerate(preds):
        assert len(p["top"]) == 2 and p["top"][0]["label"] == p["label"]
        assert p["top"][0]["probability"] >= p["top"][1]["probability"]
        fired = {(TASK.lf_names[j], TASK.label_names[L[i, j]]) for j in np.flatnonzero(L[i] >= 0)}
        assert {(v["lf"], v["label"]) for v in p["votes"]} == fired
        assert p["n_votes"] == len(fired)
    no_votes = client.post("/v1/predict", json={**body, "include_votes": False}).json()["predictions"]
    assert "votes" not in no_votes[0]
    assert [p["label"] for p in no_votes] == [p["label"] for p in preds]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "pages: Field required"),
        ({"pages": []}, "pages: List should have at least 1 item"),
        ({"pages": [{"text": "no url here"}]}, "pages.0.url: Field required"),
        ({"pages": [{"url": "https://a.example/"}]}, "a page needs non-empty `text` or `html`"),
        ({"pages": [{"url": "https://a.example/", "text": 5}]}, "pages.0.text"),
        ({"pages": [{"url": "https://a.example/", "text": "x"}], "top_k": 0}, "top_k"),
        ({"pages": [{"url": "https://a.example/", "text": "x"}], "surprise": 1}, "surprise"),
        ({"pages": "not a list"}, "pages: Input should be a valid list"),
    ],
)
def test_malformed_batch_bodies_get_422_with_a_message(client: TestClient, body: Any, fragment: str) -> None:
    resp = client.post("/v1/predict", json=body)
    assert resp.status_code == 422
    out = resp.json()
    assert out["error"] == "invalid request body"
    assert fragment in out["message"], out["message"]


def test_not_json_and_oversized_batches_get_422(client: TestClient) -> None:
    resp = client.post("/v1/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422 and "JSON" in resp.json()["message"]
    big = {"pages": [{"url": f"https://a.example/{i}", "text": "x"} for i in range(1001)]}
    resp = client.post("/v1/predict", json=big)
    assert resp.status_code == 422 and "at most 1000" in resp.json()["message"]


def test_label_studio_setup_predict_and_webhook(client: TestClient) -> None:
    setup = client.post("/setup", json={"project": "3.1700000000", "schema": LABEL_CONFIG})
    assert setup.status_code == 200 and setup.json() == {"model_version": "v1"}
    bad = client.post("/setup", json={"project": "3.1", "schema": "<View><Text"})
    assert bad.status_code == 422 and "XML" in bad.json()["detail"]

    tasks = [
        {
            "id": 1,
            "data": {
                "body": "cheap flights hotel booking travel guide beach resort",
                "url": "https://t.example",
            },
        },
        {"id": 2, "data": {"body": ""}},  # nothing to read: an empty prediction keeps the order
        {"id": 3, "data": {"body": "football match score league goal championship team season"}},
    ]
    resp = client.post("/predict", json={"tasks": tasks, "label_config": LABEL_CONFIG, "project": "3.17"})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert len(results) == 3
    assert results[1] == {"model_version": "v1", "score": 0.0, "result": []}
    for r in (results[0], results[2]):
        (item,) = r["result"]
        assert (item["from_name"], item["to_name"], item["type"]) == ("category", "page", "choices")
        assert item["value"]["choices"][0] in ("Travel", "News", "Sports")  # only the project's choices
        assert 0 < r["score"] <= 1 and r["model_version"] == "v1"
    # without a label config: the task's labels and the default names
    plain = client.post("/predict", json={"tasks": [{"data": {"text": "hotel flights"}}]}).json()
    assert plain["results"][0]["result"][0]["from_name"] == "label"
    assert client.post("/predict", json={"tasks": "x"}).status_code == 422

    hook = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 3}})
    assert hook.status_code == 200 and hook.json()["action"] == "ANNOTATION_CREATED"
    assert client.post("/webhook", json={"project": 3}).status_code == 422
    stats = client.get("/v1/stats").json()
    assert stats["calls"]["setup"] == 2 and stats["calls"]["predict"] == 2  # valid bodies only
    assert stats["calls"]["webhook:ANNOTATION_CREATED"] == 1


def test_no_champion_means_503_until_one_is_promoted(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "empty").ensure_dirs()
    with TestClient(create_app(settings, token=TOKEN, reload_interval_s=0.1)) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        health = c.get("/health")
        assert health.status_code == 503 and "no champion" in health.json()["error"]
        assert (
            c.post("/v1/predict", json={"pages": [{"url": "https://a.example", "text": "x"}]}).status_code
            == 503
        )
        register_champion(settings, "v1")
        assert c.post("/v1/reload").json()["model_version"] == "v1"
        assert c.get("/health").json()["status"] == "UP"


def test_promotion_swaps_the_model_and_a_broken_one_is_refused(home: Settings) -> None:
    # The poll is pushed out of the test's reach so only the explicit /v1/reload swaps: with the
    # shared 0.2 s client the background poll could take v2 first and /v1/reload saw "no change".
    with TestClient(create_app(home, token=TOKEN, reload_interval_s=3600.0)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        _promote_v2_then_refuse_a_broken_v3(client, home)


def _promote_v2_then_refuse_a_broken_v3(client: TestClient, home: Settings) -> None:
    register_champion(home, "v2", C=0.5)
    out = client.post("/v1/reload").json()
    assert out == {"swapped": True, "model_version": "v2", "error": None}
    # a champion whose file was tampered with: refused, the old model keeps serving
    register_champion(home, "v3", promote=False)
    wh = Warehouse(home.warehouse_url)
    try:
        registry = ModelRegistry(wh, TASK.name)
        Path(registry.get("v3").artifact_path).write_bytes(b"not a model")
        registry.promote("v3", actor="test", reason="broken on purpose")
    finally:
        wh.dispose()
    out = client.post("/v1/reload").json()
    assert out["swapped"] is False and out["model_version"] == "v2"
    assert "could not load champion v3" in out["error"]
    assert client.get("/health").json()["model_version"] == "v2"
    swaps = client.get("/v1/stats").json()["swaps"]
    assert [s["version"] for s in swaps] == ["v1", "v2"]


def test_a_vote_for_a_label_the_task_lacks_is_left_out_of_the_served_votes(home: Settings) -> None:
    from snorkel.labeling import labeling_function

    from beambell_assets.labeling.task import make_task
    from beambell_assets.serving.state import ServiceState

    @labeling_function()
    def lf_label_99(x) -> int:  # the task has 16 labels; the served vote would name none of them
        return 99

    state = ServiceState(home, make_task(TASK.name, TASK.label_names, [*TASK.lfs, lf_label_99]), 1.0)
    assert state.refresh() and state.current is not None
    pages = [p for p, _ in sample_pages(1, 20, seed=7)[:5]]
    scored = state.score(state.current, pages, with_votes=True)
    L, _ = FastLFApplier(list(TASK.lfs), n_jobs=1).apply(online_features(pages, TASK))
    assert scored.L is not None and (scored.L[:, -1] == -1).all()
    np.testing.assert_array_equal(scored.L[:, :-1], L)


def test_a_prepare_hook_that_drops_a_page_is_refused_not_answered_for_the_wrong_page(home: Settings) -> None:
    from beambell_assets.labeling.task import TaskPrepareError, make_task
    from beambell_assets.serving.state import ServiceState

    task = make_task(
        TASK.name, TASK.label_names, TASK.lfs, prepare=lambda f: f[~f["text"].str.contains("DROPME")]
    )
    state = ServiceState(home, task, 1.0)
    assert state.refresh() and state.current is not None
    pages = [p for p, _ in sample_pages(1, 20, seed=7)[:3]]
    pages[0] = {"url": pages[0]["url"], "text": "DROPME: a long page about the football league. " * 20}
    with pytest.raises(TaskPrepareError, match="returned 2 rows for 3 pages"):
        state.score(state.current, pages, with_votes=False)
