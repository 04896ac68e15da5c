import pytest
from conftest import SEEDS
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document, sentence_key, split_sentences
from rag.ingest import load_documents, parse_document


@pytest.fixture(scope="module")
def report():
    return load_documents(SEEDS)[0]


def _rebuild(doc, chunks):
    """Put the chunks back at their offsets; what is left between them must be
    paragraph breaks or headings."""
    out, pos = [], 0
    headings = {doc.text[p.start : p.end] for p in doc.paragraphs if p.is_heading}
    for c in chunks:
        gap = doc.text[pos : c.start]
        assert all(part in headings for part in gap.split("\n\n") if part), gap
        out.append(gap)
        out.append(c.text)
        pos = c.end
    out.append(doc.text[pos:])
    return "".join(out)


def test_chunks_rebuild_the_cleaned_text(report):
    chunks = chunk_document(report, size=120, min_size=40)
    assert "".join(_rebuild(report, chunks)) == report.text
    for c in chunks:
        assert report.text[c.start : c.end] == c.text
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_every_body_character_is_in_a_chunk(report):
    chunks = chunk_document(report)
    covered = sum(c.end - c.start for c in chunks)
    body = sum(p.end - p.start for p in report.paragraphs if not p.is_heading)
    assert covered == body


def test_chunks_are_sentence_aligned_and_short(report):
    chunks = chunk_document(report, size=120, min_size=40)
    for c in chunks:
        assert c.text[-1] in "。！？；!?;”:：" or len(c.text) > 120, c.text
    lengths = sorted(len(c.text) for c in chunks)
    assert lengths[len(lengths) // 2] <= 120


def test_chunks_carry_their_section(report):
    chunks = chunk_document(report)
    c = next(c for c in chunks if "新建高速公路210公里" in c.text)
    assert c.section[-1] == "建设区域综合交通枢纽"
    assert c.chunk_id.startswith(report.doc_id + ":")
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_a_repeated_sentence_stays_in_one_chunk(report):
    chunks = chunk_document(report)
    holding = [c for c in chunks if "货足价稳" in c.text]
    assert len(holding) == 1
    assert holding[0].text.count("货足价稳") == 3


def test_split_sentences_keeps_closing_quotes():
    text = "确保“米袋子”“菜篮子”货足价稳。他说：“好。”然后；最后"
    spans = split_sentences(text)
    parts = [text[s:e] for s, e in spans]
    assert "".join(parts) == text
    assert parts[1] == "他说：“好。”"
    assert parts[-1] == "最后"


def test_overlong_sentence_is_cut_at_clauses():
    sentence = ",".join(["推进某项重点工作建设"] * 40) + "。"
    doc = parse_document(sentence, doc_id="d", source="d.txt")
    chunks = chunk_document(doc, size=60, min_size=10)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == doc.text
    assert max(len(c.text) for c in chunks) <= 121


@pytest.mark.parametrize("size,min_size", [(0, 0), (10, 10), (10, -1)])
def test_bad_chunker_settings_are_named(report, size, min_size):
    with pytest.raises(ValueError, match="size"):
        chunk_document(report, size=size, min_size=min_size)


def test_sentence_key_ignores_whitespace():
    assert sentence_key("货足 价稳。\n") == sentence_key("货足价稳。")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.integers(5, 200))
def test_offsets_rebuild_any_unicode_text(raw, size):
    doc = parse_document(raw, doc_id="h", source="h.txt")
    chunks = chunk_document(doc, size=size, min_size=size // 3)
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text and c.text
    assert _rebuild(doc, chunks) == doc.text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["甲乙丙。", "丁戊；", "“己庚？”", "辛,壬", "\n\n", "**", "一、标题\n"]),
        max_size=40,
    )
)
def test_offsets_rebuild_report_like_text(parts):
    doc = parse_document("".join(parts), doc_id="h", source="h.txt")
    chunks = chunk_document(doc, size=12, min_size=3)
    assert _rebuild(doc, chunks) == doc.text
