"""The ``rag`` command line, run in-process with a fake embedder (the real model is
exercised by the tests marked ``model``)."""

import json

import pytest
from conftest import ANSWER_KEYS, CITATION_KEYS, FakeEmbedder

from rag import cli
from rag.config import Settings


@pytest.fixture
def run(monkeypatch, tiny_settings, capsys):
    import rag.embedding

    monkeypatch.setattr(rag.embedding, "load_embedder", lambda s: FakeEmbedder())
    monkeypatch.setattr(cli, "get_settings", lambda: tiny_settings)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_index_then_search_json(run, tiny_settings):
    code, out, _ = run("index")
    assert code == 0 and "chunks" in out
    assert (tiny_settings.index_dir / "manifest.json").exists()
    code, out, _ = run("search", "新增城镇就业多少人", "--top-k", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["question"] == "新增城镇就业多少人"
    assert 1 <= len(data["hits"]) <= 3
    hit = data["hits"][0]
    assert set(hit) == {"rank", "chunk_id", "doc_id", "section", "start", "end", "text", "score"}
    assert hit["rank"] == 1 and isinstance(hit["section"], list)
    assert data["latency_ms"] > 0


def test_search_builds_a_missing_index_and_prints_a_table(run, tiny_settings):
    code, out, _ = run("search", "森林覆盖率")
    assert code == 0
    assert "[1] score=" in out and "›" in out


@pytest.mark.parametrize("question", ["", "   \t"])
def test_empty_question_exits_2(run, question):
    code, _, err = run("search", question)
    assert code == 2 and "empty" in err


def test_huge_question_is_rejected_with_a_message(run):
    code, _, err = run("search", "乐" * 100_000)
    assert code == 2 and "limit is 500" in err


def test_bad_top_k_is_a_usage_error(run):
    with pytest.raises(SystemExit) as exc:
        run("search", "森林", "--top-k", "0")
    assert exc.value.code == 2


def test_missing_seeds_is_a_clear_error(run, tiny_settings, monkeypatch, tmp_path):
    bad = tiny_settings.model_copy(update={"seeds_dir": tmp_path / "nowhere"})
    monkeypatch.setattr(cli, "get_settings", lambda: bad)
    code, _, err = run("search", "森林")
    assert code == 1 and "seeds directory not found" in err


def test_corrupted_index_is_rebuilt(run, tiny_settings, caplog):
    run("index")
    (tiny_settings.index_dir / "index.faiss").write_bytes(b"garbage")
    code, out, _ = run("search", "森林覆盖率", "--json")
    assert code == 0 and json.loads(out)["hits"]
    assert "checksum" in caplog.text and "rebuilding" in caplog.text


def test_ask_json_has_the_answer_shape(run):
    code, out, _ = run("ask", "森林覆盖率提高到多少", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == ANSWER_KEYS
    for c in data["citations"]:
        assert set(c) == CITATION_KEYS


def test_eval_writes_results_and_report(run, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps(
            {
                "id": "a",
                "question": "森林覆盖率",
                "lang": "zh",
                "type": "number",
                "answer_keywords": ["60%"],
                "evidence": ["森林覆盖率达到60%"],
                "section": "s",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = run("eval", "--questions", str(qfile), "--output", str(tmp_path / "out"))
    assert code == 0 and "hit@5 1.000" in out and "all keywords" in out
    for name in ("results.jsonl", "summary.json", "report.md", "report.html"):
        assert (tmp_path / "out" / name).exists()


def test_eval_reports_malformed_question_file(run, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a"}\n', encoding="utf-8")
    code, _, err = run("eval", "--questions", str(qfile), "--output", str(tmp_path / "o"))
    assert code == 2 and "line 1: missing field 'question'" in err


def test_settings_are_validated():
    with pytest.raises(ValueError, match="chunk_min"):
        Settings(chunk_size=50, chunk_min=60)
