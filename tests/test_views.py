"""web/views.py: the chat's HTML from the response models, without a browser.

The status comes from ``status`` / ``reason`` and the tags from ``kind``, never from the answer
text; every piece of report or user text is escaped (checked with an HTML parser over
generated hostile text).
"""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.schemas import ServedAnswerOut
from rag.types import Answer, Chunk, Citation, Document, Hit, Paragraph
from web import views

QUOTE = "全市新增城镇就业26.2万人。"
DOC_TEXT = "民生保障扎实有力。" + QUOTE + "森林覆盖率达到60%。" * 20


def answer(
    status: str = "answered",
    *,
    reason: str | None = None,
    text: str = "",
    quote: str = QUOTE,
    question: str = "新增就业多少？",
    section: tuple[str, ...] = ("过去五年", "民生"),
    document: str = "",
) -> ServedAnswerOut:
    start = DOC_TEXT.find(quote) if quote in DOC_TEXT else 0
    cites = (
        ()
        if status == "refused"
        else (
            Citation(1, "d", section, start, start + len(quote), quote, "achievement", document),
            Citation(
                2,
                "d",
                section,
                len(DOC_TEXT) - 11,
                len(DOC_TEXT),
                DOC_TEXT[-11:],
                "target",
                document,
            ),
        )
    )
    hit = Hit(Chunk("d:0001", "d", section, 0, 40, DOC_TEXT[:40]), 0.5, "fused")
    a = Answer(
        question=question,
        answer=text or "报告原文如下",
        direct_answer="" if status == "refused" else "新增城镇就业26.2万人",
        refused=status == "refused",
        citations=cites,
        hits=(hit,),
        engine="fake",
        model="m",
        index_version="v",
        latency_ms=1.0,
        status=status,  # type: ignore[arg-type]
        reason=reason
        or {"answered": "evidence_found", "partial": "detail_missing"}.get(status, "not_in_report"),
    )
    return ServedAnswerOut.served("id1", a)


def test_each_status_in_words_from_the_status_field() -> None:
    shown = {s: views.conversation([answer(s)], {}) for s in ("answered", "partial", "refused")}
    assert 'class="badge badge-answered">已回答<' in shown["answered"]
    assert 'class="badge badge-partial">报告只提到部分<' in shown["partial"]
    assert 'class="badge badge-refused">报告中没有<' in shown["refused"]
    # the text of an answer does not decide: an answered answer that says 没有 is answered
    said = views.conversation([answer("answered", text="报告中没有找到")], {})
    assert "已回答" in said and "badge-refused" not in said


def test_quotes_carry_their_kind_and_a_button_that_opens_them() -> None:
    html = views.conversation([answer("partial")], {})
    assert html.count('class="cite"') == 2
    assert 'data-key="0-c1" aria-pressed="true"' in html
    assert 'data-key="0-c2" aria-pressed="false"' in html
    assert '<span class="tag tag-achievement">已完成</span>' in html
    assert '<span class="tag tag-target">目标 · 计划</span>' in html


def test_a_refusal_explains_itself_by_reason_and_offers_passages_not_quotes() -> None:
    for reason, words in views.REFUSAL_ZH.items():
        html = views.conversation([answer("refused", reason=reason)], {})
        assert words in html and "tag-" not in html
        # nearest passages only when the report was searched and is silent
        assert ('data-key="0-h1"' in html) == (reason == "not_in_report")
        assert bool(views.openings(0, answer("refused", reason=reason))) == (
            reason == "not_in_report"
        )


def test_ratings_show_on_their_answer() -> None:
    t = answer()
    html = views.conversation([t], {t.id: "down"})
    assert views.RATING_ZH["down"] in html
    assert 'data-rating="down" aria-pressed="true"' in html
    assert 'data-rating="up" aria-pressed="false"' in html


def doc() -> Document:
    return Document(
        "d", "报告", DOC_TEXT, "0", "d.txt", (Paragraph(0, len(DOC_TEXT), ("过去五年",)),)
    )


def test_the_source_view_marks_the_quote_and_cuts_a_long_paragraph() -> None:
    t = answer()
    o = views.openings(0, t)[0]
    html = views.source(o, doc(), doc().paragraphs[0], shown=True)
    assert f'<mark class="hl">{QUOTE}</mark><sup class="hl-n">[1]</sup>' in html
    assert '<mark class="also">' in html  # the other quote of the answer, in the same paragraph
    assert 'class="src-text src-near">民生保障扎实有力。<mark' in html  # one sentence before
    assert "展开整段" in html and " hidden" not in html.split(">", 1)[0]
    crumbs = (
        '<nav class="crumbs" aria-label="所在章节"><ol><li>报告</li><li>过去五年</li></ol></nav>'
    )
    assert crumbs in html


def test_marked_keeps_the_text_and_skips_overlaps() -> None:
    text = "甲乙丙丁戊己"
    spans = [views.Span(1, 3, "[1]"), views.Span(2, 4, "[2]", "also"), views.Span(4, 5, "")]
    out = views.marked(text, 0, spans)
    assert (
        out
        == '甲<mark class="hl">乙丙</mark><sup class="hl-n">[1]</sup>丁<mark class="hl">戊</mark>己'
    )


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs |= {k for k, _ in attrs}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


OUR_TAGS = {
    "article",
    "p",
    "span",
    "section",
    "ol",
    "li",
    "button",
    "div",
    "svg",
    "path",
    "b",
    "nav",
    "mark",
    "sup",
    "details",
    "summary",
    "header",
    "h1",
    "h2",
}
OUR_ATTRS = {
    "class",
    "data-turn",
    "data-key",
    "data-act",
    "data-rating",
    "aria-label",
    "aria-pressed",
    "title",
    "type",
    "role",
    "hidden",
    "viewbox",
    "width",
    "height",
    "aria-hidden",
    "fill",
    "d",
    "style",
    "open",
}
PIECES = [*"<>\"'&=/ `${}()\n", "<img src=x onerror=alert(1)>", "<script>", "</p>", "${alert(1)}"]
PIECES += ["{{x}}", "报告", "onload=", "javascript:"]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(question=hostile, quote=hostile, section=hostile)
def test_no_text_becomes_markup(question: str, quote: str, section: str) -> None:
    t = answer("partial", question=question, quote=quote, section=(section,), document=quote)
    d = Document(
        "d",
        section,
        DOC_TEXT,
        "0",
        "d.txt",
        (Paragraph(0, len(DOC_TEXT), (section,)),),
        {"city": question, "source_note": quote},
    )
    pages = [
        views.conversation([t], {}),
        *(views.source(o, d, d.paragraphs[0], shown=True) for o in views.openings(0, t)),
        views.header([d]),
    ]
    for html in pages:
        parsed = Tags()
        parsed.feed(html)
        parsed.close()
        assert parsed.tags <= OUR_TAGS, parsed.tags - OUR_TAGS
        assert parsed.attrs <= OUR_ATTRS, parsed.attrs - OUR_ATTRS
    shown = Tags()
    shown.feed(views.conversation([t], {}))
    assert question in "".join(shown.text)


def test_quotes_name_their_report_when_the_citation_does() -> None:
    one = views.conversation([answer()], {})
    assert 'class="quote-doc"' not in one  # one report: citations carry no name
    several = views.conversation([answer(document="2024年澄川市政府工作报告")], {})
    assert several.count('<span class="quote-doc">2024年澄川市政府工作报告</span>') == 2


def test_the_report_selector_lists_reports_by_title_and_year() -> None:
    def doc(doc_id: str, title: str, year: str) -> Document:
        return Document(doc_id, title, "x", "0", f"{doc_id}.txt", metadata={"year": year})

    docs = [
        doc("a", "2023年澄川市政府工作报告", "2023"),
        doc("b", "政府工作报告", "2024"),
        doc("c", "政府工作报告", "2024"),
    ]
    assert views.report_choices(docs) == [
        ("全部报告", ""),
        ("2023年澄川市政府工作报告", "a"),
        ("政府工作报告（2024） · b", "b"),  # two reports would read the same: ids added
        ("政府工作报告（2024） · c", "c"),
    ]
    assert views.report_choices([]) == [("全部报告", "")]
