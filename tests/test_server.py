"""The API over a real uvicorn on loopback (real HTTP, real SSE framing)."""

import httpx


def test_answer_over_http(live_server):
    r = httpx.post(
        f"{live_server}/api/answer", json={"question": "五大产业集群是哪些？"}, timeout=30
    )
    assert r.status_code == 200
    body = r.json()
    assert body["citations"] and body["answer"]


def test_stream_over_http(live_server):
    events = []
    with httpx.stream(
        "POST",
        f"{live_server}/api/answer/stream",
        json={"question": "森林覆盖率目标是多少？"},
        timeout=30,
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    assert events[-1] == "done" and "delta" in events


def test_bad_input_over_http(live_server):
    assert httpx.post(f"{live_server}/api/answer", json={"question": ""}).status_code == 422
    big = {"question": "乐" * 30_000}
    assert httpx.post(f"{live_server}/api/answer", json=big).status_code == 413


def test_health_and_metrics_over_http(live_server):
    assert httpx.get(f"{live_server}/healthz").status_code == 200
    assert httpx.get(f"{live_server}/readyz").json()["ready"] is True
    assert "rag_answers_total" in httpx.get(f"{live_server}/metrics").text
