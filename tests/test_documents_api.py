"""Adding and removing reports while serving, through the HTTP API (POST / DELETE
/api/documents), and the doc_id / city / year filters of /api/search, /api/answer and its
stream. Fake embedder (the real engine's add is timed by bench/add_while_serving.py); the
fictional reports of tests/data/reports, a .docx and a .pdf of them built at run time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import build_docx, build_pdf
from conftest import FAKE_RULES, TINY_REPORT, FakeEmbedder
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.index import build_index, load_index
from rag.ingest import layout_of, load_document
from rag.pipeline import Pipeline
from rag.readers import read_source
from rag.schemas import ChangeOut, DocumentListed
from web.app import create_app

REPORTS = Path(__file__).resolve().parent / "data" / "reports"
QINGHE = REPORTS / "qinghe-county-2024.txt"
CHENGCHUAN = REPORTS / "chengchuan-2023.txt"
SEED = "tiny-report"
QUESTION = "新增城镇就业多少人？"


def make_app(root: Path, embedder: Any = None, **overrides: Any) -> Any:
    seeds = root / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / f"{SEED}.txt").write_text(TINY_REPORT, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, data_dir=root / "data", **overrides)
    emb = embedder or FakeEmbedder()
    pipe = Pipeline(settings, embedder=emb, index=build_index(settings, emb), rules=FAKE_RULES)
    return create_app(settings, pipeline=pipe.load())


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path)) as c:
        yield c


def upload(client: TestClient, *files: Path | tuple[str, bytes], **fields: str) -> Any:
    parts = [("files", (f.name, f.read_bytes()) if isinstance(f, Path) else f) for f in files]
    return client.post("/api/documents", files=parts, data=fields)


def doc_ids(client: TestClient) -> list[str]:
    return [d["doc_id"] for d in client.get("/api/documents").json()]


def answer_of(client: TestClient, question: str = QUESTION, **scope: Any) -> dict[str, Any]:
    r = client.post("/api/answer", json={"question": question, **scope})
    assert r.status_code == 200, r.text
    body = r.json()
    for volatile in ("id", "latency_ms", "timings"):
        body.pop(volatile)
    return body


def served_version(client: TestClient) -> str:
    return str(client.get("/readyz").json()["index_version"])


# --- adding ------------------------------------------------------------------------------


def test_an_uploaded_report_is_served_at_once(client: TestClient) -> None:
    r = upload(client, QINGHE, city="青禾县", year="2024")
    assert r.status_code == 201, r.text
    change = r.json()
    (o,) = change["documents"]
    assert (o["file"], o["status"], o["doc_id"]) == (QINGHE.name, "added", "qinghe-county-2024")
    assert o["chars"] > 0 and o["chunks"] > 0 and change["seconds"] >= 0
    assert 0 < change["embedded"] < change["texts"]  # only the new document's texts
    # served from the response on: no wait for the periodic refresh (REFRESH_SECONDS)
    assert served_version(client) == change["index_version"]
    assert doc_ids(client) == [SEED, "qinghe-county-2024"]
    a = answer_of(client, "青禾县粮食总产量是多少？")
    assert a["index_version"] == change["index_version"]
    assert a["citations"] and {c["doc_id"] for c in a["citations"]} == {"qinghe-county-2024"}
    assert "41" in a["direct_answer"]
    # two documents now: every citation names its document
    assert {c["document"] for c in a["citations"]} == {"青禾县2024年政府工作报告"}


def test_a_docx_and_a_pdf_built_at_run_time(client: TestClient, tmp_path: Path) -> None:
    layout = layout_of(read_source(CHENGCHUAN))
    docx = build_docx(layout, tmp_path / "chengchuan-2023.docx", header="澄川市人民政府文件")
    r = upload(client, docx)
    assert r.status_code == 201, r.text
    doc_id = r.json()["documents"][0]["doc_id"]
    served = client.get(f"/api/documents/{doc_id}").json()
    assert served["text"] == load_document(CHENGCHUAN).text
    assert served["metadata"]["format"] == "docx" and served["metadata"]["year"] == "2023"
    # the same report as a PDF has the same text: a duplicate of the .docx, not added again
    pdf = build_pdf(layout, tmp_path / "chengchuan-2023.pdf", header="澄川市人民政府文件")
    r = upload(client, pdf)
    assert r.status_code == 200 and r.json()["documents"][0]["status"] == "duplicate"
    assert r.json()["documents"][0]["doc_id"] == doc_id


def test_several_files_are_one_change(client: TestClient) -> None:
    r = upload(client, QINGHE, REPORTS / "chengchuan-2024.md")
    assert r.status_code == 201
    change = r.json()
    assert [o["status"] for o in change["documents"]] == ["added", "added"]
    assert served_version(client) == change["index_version"]
    assert set(doc_ids(client)) == {SEED, "qinghe-county-2024", "chengchuan-2024"}


def test_a_duplicate_is_200_and_names_the_document_it_duplicates(
    client: TestClient, tmp_path: Path
) -> None:
    first = upload(client, QINGHE).json()
    again = upload(client, QINGHE)
    assert again.status_code == 200
    (o,) = again.json()["documents"]
    assert (o["status"], o["doc_id"]) == ("duplicate", "qinghe-county-2024")
    assert "sha256" in o["reason"] and again.json()["embedded"] == 0
    assert again.json()["index_version"] == first["index_version"]
    # the same text under another name and with other bytes
    text = QINGHE.read_text(encoding="utf-8") + "\n\n"
    r = upload(client, ("renamed.txt", text.encode("utf-8")))
    assert r.status_code == 200 and "same text" in r.json()["documents"][0]["reason"]
    # a new report beside a duplicate is added (201), the duplicate reported
    r = upload(client, QINGHE, CHENGCHUAN)
    assert r.status_code == 201
    assert [o["status"] for o in r.json()["documents"]] == ["duplicate", "added"]
    assert doc_ids(client) == [SEED, "qinghe-county-2024", "chengchuan-2023"]


def test_form_fields_become_the_metadata(client: TestClient) -> None:
    body = b"\xe6\x9f\x90\xe5\x8e\xbf\xe6\x8a\xa5\xe5\x91\x8a\n\n" + (
        "一、工作回顾\n\n全县粮食总产量41.8万吨。\n".encode()
    )
    r = upload(client, ("notes.txt", body), title="石砚县工作报告", city="石砚县", year="2023")
    assert r.status_code == 201, r.text
    doc = client.get("/api/documents/notes").json()
    assert (doc["title"], doc["metadata"]["city"], doc["metadata"]["year"]) == (
        "石砚县工作报告",
        "石砚县",
        "2023",
    )


def test_a_client_file_name_cannot_leave_the_upload_folder(client: TestClient) -> None:
    from web.uploads import safe_name

    assert safe_name("../../etc/evil.txt") == "evil.txt"
    assert safe_name("C:\\Users\\x\\报告\x00.docx") == "报告.docx"
    assert safe_name("..") == "upload" and safe_name(".bashrc") == "bashrc"
    r = upload(client, ("../../outside.txt", QINGHE.read_bytes()))
    assert r.status_code == 201 and r.json()["documents"][0]["file"] == "outside.txt"
    data_dir = client.app.state.settings.data_dir
    assert not (data_dir.parent / "outside.txt").exists()
    assert not (data_dir / "outside.txt").exists()
    assert list((data_dir / "uploads").iterdir()) == []  # the upload's folder is gone


# --- refused uploads: nothing half-added -----------------------------------------------


def _scan_pdf(path: Path) -> bytes:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(100, 100, 300, 500, fill=1)  # a picture of a page, no text
    c.showPage()
    c.save()
    return path.read_bytes()


def _state(client: TestClient) -> tuple[Any, ...]:
    data_dir = client.app.state.settings.data_dir
    return (
        doc_ids(client),
        served_version(client),
        answer_of(client),
        sorted(p.name for p in (data_dir / "documents").iterdir()),
        list((data_dir / "uploads").iterdir()),
    )


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    """A server with one uploaded report, and what it serves and keeps."""
    with TestClient(make_app(tmp_path_factory.mktemp("steady"))) as client:
        assert upload(client, QINGHE).status_code == 201
        yield client, _state(client)


@pytest.fixture
def served(steady: tuple[TestClient, Any]) -> Iterator[TestClient]:
    """The steady server; the test's refused uploads must leave everything as it was: the
    documents listed, the version and answers served, the files kept (and no upload left)."""
    client, before = steady
    yield client
    assert _state(client) == before
    assert before[3] == ["qinghe-county-2024.meta.json", "qinghe-county-2024.txt"]
    assert before[4] == []


@pytest.mark.parametrize(
    "name,says",
    [
        ("empty.txt", "empty.txt: the file is empty"),
        ("scan.pdf", "scan.pdf: the PDF has no text layer"),
        ("broken.docx", "broken.docx: not a readable Word .docx"),
        ("random.txt", "random.txt: not UTF-8 or GB18030 text (undecodable bytes)"),
    ],
)
def test_an_unreadable_file_is_422_naming_it_and_why(
    served: TestClient, tmp_path: Path, name: str, says: str
) -> None:
    data = {
        "empty.txt": b"",
        "scan.pdf": _scan_pdf(tmp_path / "scan.pdf"),
        "broken.docx": b"this is not a zip file",
        "random.txt": bytes(range(256)) * 4,
    }[name]
    r = upload(served, (name, data))
    assert r.status_code == 422
    assert r.json()["detail"].startswith(says) and "nothing was added" in r.json()["detail"]


def test_one_unreadable_file_refuses_the_whole_upload(served: TestClient) -> None:
    r = upload(served, CHENGCHUAN, ("empty.txt", b""))
    assert r.status_code == 422 and "empty.txt" in r.json()["detail"]


def test_an_unsupported_type_is_415_naming_the_accepted_ones(served: TestClient) -> None:
    r = upload(served, ("report.xlsx", b"PK\x03\x04"))
    assert r.status_code == 415
    assert r.json()["detail"].startswith(
        "report.xlsx: unsupported file type .xlsx; accepted: .txt, .md, .docx, .pdf"
    )
    # beside a good file, too: nothing of the upload is added
    assert upload(served, CHENGCHUAN, ("notes", b"text")).status_code == 415


def test_a_file_over_the_limit_is_413_and_nothing_is_kept(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, max_upload_bytes=30_000)) as client:
        before = (doc_ids(client), served_version(client))
        big = ("big.txt", QINGHE.read_bytes() * 2)  # 2 × 21 KB
        r = upload(client, big)
        assert r.status_code == 413
        assert r.json()["detail"].startswith("big.txt: over the limit of 30,000 bytes")
        assert "RAG_MAX_UPLOAD_BYTES" in r.json()["detail"]
        assert (doc_ids(client), served_version(client)) == before
        data_dir = client.app.state.settings.data_dir
        assert list((data_dir / "uploads").iterdir()) == []
        assert not (data_dir / "documents").exists()
        # under the limit it goes in (the JSON API's 16 KB body cap does not apply here)
        assert upload(client, QINGHE).status_code == 201


def test_reading_stops_at_the_limit() -> None:
    """The body is read as it arrives and no further than the limit (a unit test of
    web/uploads.py with a counting ASGI receive: TestClient hands the app a whole body)."""
    import asyncio

    from starlette.requests import Request

    from rag.readers import DocumentTooLarge
    from web.uploads import receive

    boundary = b"b0undary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; '
        b'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
    )
    chunks = [head] + [b"x" * 1000] * 100  # 100 KB of file, never ended
    sent = 0

    async def messages() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": chunks[sent - 1], "more_body": True}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/documents",
        "headers": [(b"content-type", b"multipart/form-data; boundary=" + boundary)],
    }

    async def run(root: Path) -> None:
        async with receive(Request(scope, messages), root, max_file_bytes=5000):
            raise AssertionError("the upload was accepted")

    import tempfile

    with tempfile.TemporaryDirectory() as root:
        with pytest.raises(DocumentTooLarge, match="big.txt: over the limit of 5,000 bytes"):
            asyncio.run(run(Path(root)))
        assert sent == 7  # the headers and 6 KB: the first chunk past 5,000 bytes
        assert list(Path(root).iterdir()) == []


@pytest.mark.parametrize(
    "kwargs,status,says",
    [
        ({"content": b"plain text", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        (
            {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data"}},
            400,
            "boundary",
        ),
        ({"files": [("title", (None, b"x"))]}, 422, "no file"),
        ({"files": [("file", ("a.txt", b"x"))]}, 422, "unknown form field"),
        ({"files": [("files", ("a.txt", b"x"))], "data": {"year": "24"}}, 422, "year"),
        ({"files": [("files", ("a.txt", b"x"))], "data": {"title": "t" * 201}}, 422, "title"),
        (
            {
                "files": [("files", ("a.txt", b"x")), ("files", ("b.txt", b"y"))],
                "data": {"title": "t"},
            },
            422,
            "one file",
        ),
    ],
)
def test_a_malformed_upload_is_refused(
    served: TestClient, kwargs: dict[str, Any], status: int, says: str
) -> None:
    r = served.post("/api/documents", **kwargs)
    assert r.status_code == status, r.text
    assert says in json.dumps(r.json(), ensure_ascii=False)


# --- removing ----------------------------------------------------------------------------


def test_delete_removes_an_added_report_at_once(client: TestClient) -> None:
    before = answer_of(client)
    added = upload(client, QINGHE).json()
    r = client.delete("/api/documents/qinghe-county-2024")
    assert r.status_code == 200
    change = r.json()
    assert change["removed"] == ["qinghe-county-2024"] and change["embedded"] == 0
    assert change["index_version"] not in (added["index_version"], before["index_version"])
    assert served_version(client) == change["index_version"]
    assert doc_ids(client) == [SEED]
    after = answer_of(client)
    assert {c["doc_id"] for c in after["citations"]} <= {SEED}
    assert [c["quote"] for c in after["citations"]] == [c["quote"] for c in before["citations"]]
    data_dir = client.app.state.settings.data_dir
    assert list((data_dir / "documents").iterdir()) == []
    assert client.delete("/api/documents/qinghe-county-2024").status_code == 404


def test_the_list_says_what_each_document_is_and_where_it_came_from(client: TestClient) -> None:
    upload(client, QINGHE)
    rows = {d["doc_id"]: d for d in client.get("/api/documents").json()}
    assert rows[SEED]["origin"] == "seed"
    added = rows["qinghe-county-2024"]
    assert added["origin"] == "added" and added["format"] == "txt"
    assert added["city"].startswith("青禾") and added["year"] == "2024"
    assert added["chunks"] > 0 and len(added["sha256"]) == 64 and added["added"]
    assert added["title"] and added["chars"] > 0


def test_a_seed_cannot_be_deleted_and_an_unknown_id_is_404(client: TestClient) -> None:
    r = client.delete(f"/api/documents/{SEED}")
    assert r.status_code == 409
    assert "is a seed document" in r.json()["detail"] and "RAG_SEEDS_DIR" in r.json()["detail"]
    r = client.delete("/api/documents/nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert doc_ids(client) == [SEED]
    assert load_index(client.app.state.settings.index_dir).documents.keys() == {SEED}


# --- filters -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The seed, 青禾县 2024 and 澄川市 2023 (read only)."""
    with TestClient(make_app(tmp_path_factory.mktemp("three"))) as client:
        assert upload(client, QINGHE, CHENGCHUAN).status_code == 201
        yield client


@pytest.mark.parametrize(
    "scope,docs",
    [
        ({"doc_id": "chengchuan-2023"}, {"chengchuan-2023"}),
        ({"doc_id": ["chengchuan-2023", SEED]}, {"chengchuan-2023", SEED}),
        ({"city": "青禾"}, {"qinghe-county-2024"}),
        ({"year": 2023}, {"chengchuan-2023"}),
        ({"year": "2024", "city": "澄川市"}, set()),
    ],
)
def test_filters_limit_search_answer_stream_and_openai(
    three: TestClient, scope: dict[str, Any], docs: set[str]
) -> None:
    question = "地区生产总值增长多少？"
    hits = three.post("/api/search", json={"question": question, "top_k": 10, **scope}).json()
    found = {h["doc_id"] for h in hits["hits"]}
    assert found <= docs and bool(found) == bool(docs)
    a = answer_of(three, question, **scope)
    assert {c["doc_id"] for c in a["citations"]} <= docs
    assert {h["doc_id"] for h in a["hits"]} <= docs and bool(a["hits"]) == bool(docs)
    if not docs:
        assert a["status"] == "refused"
    with three.stream("POST", "/api/answer/stream", json={"question": question, **scope}) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    done = json.loads(text.replace("\r\n", "\n").split("event: done\ndata: ")[1].split("\n")[0])
    assert {c["doc_id"] for c in done["citations"]} <= docs
    assert {h["doc_id"] for h in done["hits"]} <= docs and bool(done["hits"]) == bool(docs)
    messages = [{"role": "user", "content": question}]
    oa = three.post("/v1/chat/completions", json={"messages": messages, **scope}).json()
    assert {c["doc_id"] for c in oa["citations"]} <= docs and bool(oa["citations"]) == bool(
        a["citations"]
    )


def test_without_a_filter_all_reports_answer_and_citations_name_theirs(
    three: TestClient,
) -> None:
    hits = three.post("/api/search", json={"question": "地区生产总值增长", "top_k": 30}).json()[
        "hits"
    ]
    assert len({h["doc_id"] for h in hits}) >= 2
    a = answer_of(three, "澄川市地区生产总值增长多少？")
    names = {"chengchuan-2023": "2023年澄川市政府工作报告"}
    assert a["citations"] and all(names[c["doc_id"]] == c["document"] for c in a["citations"])


def test_with_one_document_citations_need_no_name(client: TestClient) -> None:
    a = answer_of(client)
    assert a["citations"] and {c["document"] for c in a["citations"]} == {""}


@pytest.mark.parametrize("route", ["/api/search", "/api/answer", "/api/answer/stream"])
@pytest.mark.parametrize(
    "scope,says",
    [
        (
            {"doc_id": "nope"},
            f"no document nope in the index; known: chengchuan-2023, qinghe-county-2024, {SEED}",
        ),
        ({"year": "24"}, "year"),
        ({"year": 1850}, "year"),
        ({"year": True}, "year"),
        ({"city": ""}, "city"),
    ],
)
def test_bad_filters_are_422(
    three: TestClient, route: str, scope: dict[str, Any], says: str
) -> None:
    r = three.post(route, json={"question": "地区生产总值", **scope})
    assert r.status_code == 422
    assert says in json.dumps(r.json(), ensure_ascii=False)


# --- the guards: API keys, the event loop, one writer -------------------------------------


def test_uploads_and_deletes_need_an_api_key_when_keys_are_set(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, api_keys="k1")) as client:
        files = [("files", (QINGHE.name, QINGHE.read_bytes()))]
        assert client.post("/api/documents", files=files).status_code == 401
        assert client.delete(f"/api/documents/{SEED}").status_code == 401
        key = {"X-API-Key": "k1"}
        assert [d["doc_id"] for d in client.get("/api/documents", headers=key).json()] == [SEED]
        r = client.post("/api/documents", files=files, headers=key)
        assert r.status_code == 201
        assert client.delete("/api/documents/qinghe-county-2024").status_code == 401
        assert client.delete("/api/documents/qinghe-county-2024", headers=key).status_code == 200


class BlockingEmbedder(FakeEmbedder):
    """Embeds passages only once ``go`` is set (``entered`` says an add is embedding)."""

    def __init__(self) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.blocking = False

    def embed_passages(self, texts, *, show_progress=False):  # type: ignore[no-untyped-def]
        if self.blocking:
            self.entered.set()
            assert self.go.wait(timeout=60)
        return super().embed_passages(texts)


def test_an_add_embeds_in_a_worker_thread_and_adds_are_serialized(tmp_path: Path) -> None:
    emb = BlockingEmbedder()
    with TestClient(make_app(tmp_path, embedder=emb)) as client:
        client.get("/api/documents")
        emb.blocking = True
        results: dict[str, int] = {}

        def add(path: Path) -> None:
            results[path.name] = upload(client, path).status_code

        first = threading.Thread(target=add, args=(QINGHE,), daemon=True)
        first.start()
        assert emb.entered.wait(timeout=60)
        # the event loop still serves while the add embeds
        probe: list[int] = []
        t = threading.Thread(
            target=lambda: probe.append(client.get("/healthz").status_code), daemon=True
        )
        t.start()
        t.join(timeout=10)
        ok = probe == [200]
        second = threading.Thread(target=add, args=(CHENGCHUAN,), daemon=True)
        second.start()
        emb.go.set()
        first.join(timeout=60)
        second.join(timeout=60)
        assert ok, "GET /healthz waited for the add's embedding"
        assert results == {QINGHE.name: 201, CHENGCHUAN.name: 201}
        assert set(doc_ids(client)) == {SEED, "qinghe-county-2024", "chengchuan-2023"}


def test_the_cli_prints_the_shape_the_api_returns(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import rag.embedding
    from rag import cli

    settings = Settings(seeds_dir=tmp_path / "seeds", data_dir=tmp_path / "data")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / f"{SEED}.txt").write_text(TINY_REPORT, encoding="utf-8")
    monkeypatch.setattr(rag.embedding, "load_embedder", lambda s: FakeEmbedder())
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main(["add", str(QINGHE), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == set(ChangeOut.model_fields)
    assert printed["documents"][0]["doc_id"] == "qinghe-county-2024"
    assert cli.main(["documents", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [set(d) for d in listed] == [set(DocumentListed.model_fields)] * 2
    assert [d["origin"] for d in listed] == ["seed", "added"]
