"""web/service.py: the one answering service (fake embedder; the web layer is what is tested)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEEDS, FakeEmbedder
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.index import build_index
from rag.pipeline import Pipeline
from web.metrics import Metrics
from web.service import AnswerCache, AnswerService, BadFeedback, NotFound, NotReady


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    settings = Settings(seeds_dir=SEEDS, data_dir=tmp_path_factory.mktemp("service"))
    emb = FakeEmbedder()
    return Pipeline(settings, embedder=emb, index=build_index(settings, emb)).load()


@pytest.fixture
def service(pipeline: Pipeline, tmp_path: Path) -> AnswerService:
    settings = pipeline.settings.model_copy(update={"data_dir": tmp_path})
    return AnswerService(settings, metrics=Metrics(), pipeline=pipeline).load()


def answers_counted(service: AnswerService, surface: str) -> float:
    total = 0.0
    for metric in service.metrics.answers.collect():
        for s in metric.samples:
            if s.name == "rag_answers_total" and s.labels["surface"] == surface:
                total += s.value
    return total


def test_ask_counts_once_and_remembers_the_answer(service: AnswerService) -> None:
    served = service.ask("森林覆盖率目标是多少？", surface="chat")
    assert answers_counted(service, "chat") == 1 and answers_counted(service, "api") == 0
    assert service.answers.get(served.id) is served.answer
    service.ask("新增城镇就业多少人？", surface="api")
    assert answers_counted(service, "chat") == 1 and answers_counted(service, "api") == 1


def test_feedback_by_id_brings_the_answer_along(service: AnswerService) -> None:
    served = service.ask("森林覆盖率目标是多少？", surface="api")
    item_id = service.record_feedback("down", answer_id=served.id, comment="不对")
    item = next(i for i in service.feedback.items() if i.id == item_id)
    assert item.question == served.answer.question and item.answer == served.answer.answer
    assert [c["quote"] for c in item.citations] == [c.quote for c in served.answer.citations]


def test_feedback_by_question_and_its_errors(service: AnswerService) -> None:
    assert service.record_feedback("up", question="地铁呢？") > 0
    with pytest.raises(NotFound, match="unknown answer id"):
        service.record_feedback("up", answer_id="nope")
    with pytest.raises(BadFeedback, match="answer_id or question"):
        service.record_feedback("up", question="   ")
    # an unknown id with the question still stores the question
    assert service.record_feedback("down", answer_id="gone", question="地铁呢？") > 0


def test_documents_chunks_and_paragraphs(service: AnswerService) -> None:
    doc = service.documents()[0]
    with pytest.raises(NotFound):
        service.document("nope")
    with pytest.raises(NotFound):
        service.chunk("nope")
    p = service.paragraph_at(doc.doc_id, doc.paragraphs[3].start + 1)
    assert p == doc.paragraphs[3]
    with pytest.raises(NotFound):
        service.paragraph_at(doc.doc_id, len(doc.text) + 5)
    figs = service.figures(doc.doc_id)
    assert figs and all(doc.text[f.start : f.end] == f.sentence for f in figs)
    with pytest.raises(NotFound):
        service.figures("nope")


def test_nothing_is_served_before_load(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings.model_copy(update={"data_dir": tmp_path})
    idle = AnswerService(settings, metrics=Metrics())
    with pytest.raises(NotReady):
        idle.ask("森林", surface="api")
    with pytest.raises(NotReady):
        idle.documents()


def test_a_given_pipeline_is_left_to_its_owner(pipeline: Pipeline, tmp_path: Path) -> None:
    from rag.batching import BatchingEmbedder

    settings = pipeline.settings.model_copy(update={"data_dir": tmp_path})
    batcher = BatchingEmbedder(FakeEmbedder())
    given = Pipeline(settings, embedder=batcher, index=pipeline.index).load()
    service = AnswerService(settings, metrics=Metrics(), pipeline=given).load()
    service.close()
    assert batcher._thread.is_alive()  # not ours to stop
    with pytest.raises(NotReady):
        service.ask("森林", surface="api")
    batcher.close()


def test_the_lifespan_closes_the_query_batcher(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app loads the pipeline itself (query batching on), so shutting it down stops the
    batcher's thread (issue 11: the lifespan never closed it)."""
    import rag.embedding
    from web.app import create_app

    monkeypatch.setattr(rag.embedding, "load_embedder", lambda settings: FakeEmbedder())
    app = create_app(tiny_settings.model_copy(update={"query_batching": True}))
    with TestClient(app) as client:
        assert client.post("/api/answer", json={"question": "森林覆盖率"}).status_code == 200
        batcher = app.state.service.pipeline.embedder
        assert batcher._thread.is_alive()
    assert not batcher._thread.is_alive()
    assert app.state.service is None


def test_the_answer_cache_forgets_the_oldest() -> None:
    from dataclasses import replace

    from rag.types import Answer

    a = Answer("q", "a", "", False, (), (), "fake", "m", "v", 1.0)
    cache = AnswerCache(size=2)
    ids = [cache.put(replace(a, question=str(i))) for i in range(3)]
    assert cache.get(ids[0]) is None
    assert [cache.get(i).question for i in ids[1:]] == ["1", "2"]  # type: ignore[union-attr]


def test_a_document_added_while_serving_is_served(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rag add` in another process swaps in a new index version; the service serves it at the
    next request after REFRESH_SECONDS, for the API and the chat alike."""
    import rag.embedding
    import web.service
    from rag.collection import Collection
    from web.app import create_app

    monkeypatch.setattr(rag.embedding, "load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(web.service, "REFRESH_SECONDS", 0.0)
    report = Path(__file__).resolve().parent / "data" / "reports" / "qinghe-county-2024.txt"
    with TestClient(create_app(tiny_settings)) as client:
        before = {d["doc_id"] for d in client.get("/api/documents").json()}
        Collection(tiny_settings, FakeEmbedder()).add([report])
        after = {d["doc_id"] for d in client.get("/api/documents").json()}
        assert after == before | {"qinghe-county-2024"}
        figures = client.get("/api/documents/qinghe-county-2024/figures")
        assert figures.status_code == 200 and figures.json()


def test_load_clears_uploads_a_killed_server_left(pipeline: Pipeline, tmp_path: Path) -> None:
    import os

    import web.service

    settings = pipeline.settings.model_copy(update={"data_dir": tmp_path})
    service = AnswerService(settings, metrics=Metrics(), pipeline=pipeline)
    old, new = service.upload_dir / "upload-old", service.upload_dir / "upload-new"
    for d in (old, new):
        d.mkdir(parents=True)
        (d / "report.txt").write_text("x", encoding="utf-8")
    stale = web.service.STALE_UPLOAD_SECONDS + 60
    os.utime(old, (old.stat().st_atime - stale, old.stat().st_mtime - stale))
    service.load()
    assert not old.exists() and new.exists()  # an upload under way in another worker stays
