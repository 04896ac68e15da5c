"""rag/overview.py: the table of contents and the figure sentences of an indexed report."""

from __future__ import annotations

from conftest import FakeEmbedder

from rag.answer import sentence_kind
from rag.config import Settings
from rag.index import build_index
from rag.overview import LABEL_CHARS, figure_sentences, opening, outline
from rag.types import OutlineNode


def walk(nodes: tuple[OutlineNode, ...]) -> list[OutlineNode]:
    return [m for n in nodes for m in (n, *walk(n.children))]


def test_outline_follows_the_report_structure(tiny_settings: Settings) -> None:
    index = build_index(tiny_settings, FakeEmbedder())
    doc = next(iter(index.documents.values()))
    toc = outline(doc)
    assert [n.label for n in toc] == [doc.paragraphs[1].section[0], "今后五年工作的主要考虑"]
    plans = toc[1]
    assert plans.is_heading and plans.children
    headings = [n.label for n in plans.children if n.is_heading]
    assert headings == ["一、建设区域中心城市", "二、推进乡村振兴"]
    first = next(n for n in plans.children if n.label.startswith("一、"))
    # the topic-sentence sections are the paragraphs themselves, in order
    assert [c.label for c in first.children] == ["进阶升位彰显城市雄心", "建设区域综合交通枢纽"]
    assert all(not c.children and not c.is_heading for c in first.children)


def test_outline_offsets_open_the_right_text(tiny_settings: Settings) -> None:
    doc = next(iter(build_index(tiny_settings, FakeEmbedder()).documents.values()))
    nodes = walk(outline(doc))
    leaves = [n for n in nodes if not n.children]
    assert leaves
    body = [p for p in doc.paragraphs if not p.is_heading]
    assert sorted((n.start, n.end) for n in leaves) == [(p.start, p.end) for p in body]
    for n in leaves:  # named by the section it is alone in, or by its own opening words
        text = doc.text[n.start : n.end].lstrip("—")
        named = n.label == n.section[-1]
        assert named or text.startswith(n.label.removesuffix("…")), (n.label, text[:30])
    for n in nodes:  # a heading's span covers everything under it
        for c in n.children:
            assert n.start <= c.start and c.end <= n.end


def test_opening_is_the_first_sentence_cut_to_a_label() -> None:
    assert opening("民生保障扎实有力。坚持每年新办一批民生实事。") == "民生保障扎实有力"
    long = "五年来,我们坚持建设人民满意的服务型政府,自身建设取得新成效。"
    assert opening(long) == long[:LABEL_CHARS] + "…"
    assert opening("——经济实力明显增强。主要经济指标") == "经济实力明显增强"


def test_figure_sentences_are_exact_tagged_and_listed_once(tiny_settings: Settings) -> None:
    index = build_index(tiny_settings, FakeEmbedder())
    doc = next(iter(index.documents.values()))
    figs = figure_sentences(index)
    assert figs == sorted(figs, key=lambda f: f.start)
    for f in figs:
        assert doc.text[f.start : f.end] == f.sentence
        assert f.figures and all(fig in f.sentence for fig in f.figures)
        assert f.kind == sentence_kind(f.sentence, f.section)
    texts = [f.sentence for f in figs]
    assert any("26.2万人" in t for t in texts) and any("210公里" in t for t in texts)
    assert len(set(texts)) == len(texts)
    kinds = {f.kind for f in figs}
    assert "achievement" in kinds and "target" in kinds
    assert figure_sentences(index, "nope") == []
