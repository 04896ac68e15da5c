"""The question's anchor (:meth:`rag.answer.strategy.Evidence.anchor`): a rare phrase of the
question that the report has — a name — limits the evidence to the sentences naming it, so
the neighbouring subject's figure or date is not passed off as the answer. A made-up report,
the deterministic fake embedder."""

import dataclasses

import pytest
from conftest import FAKE_RULES, fake_pipeline_over

from rag.answer.evidence import candidates
from rag.answer.strategy import Evidence

REPORT = """2024年鹭汀市政府工作报告

一、2023年工作回顾

城市建设提速。鹭汀大剧院于2023年5月开工建设。鹭汀大道改造工程于2023年12月建成通车。城区新增绿地面积12公顷。

民生持续改善。城镇新增就业3.1万人。居民人均可支配收入增长5.8%。
"""


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    # every retrieved sentence is evidence here: the fake embedder's cosines mean little
    rules = dataclasses.replace(FAKE_RULES, evidence_margin=1.0)
    return fake_pipeline_over(tmp_path_factory, "luting-2024", REPORT, rules)


def evidence(pipe, question: str) -> Evidence:
    st = pipe.explain(question)
    ctx, a = pipe.context, st.analysis
    cands = candidates(
        st.result.hits, ctx.index, st.result.query_vector, a.topic, ctx.idf,
        keyword_weight=pipe.rules.keyword_weight,
    )  # fmt: skip
    return Evidence(a, cands, cands, ctx, st.result.query_vector, pipe.rules)


def test_a_name_the_report_uses_once_is_the_anchor(pipe):
    assert evidence(pipe, "鹭汀大剧院什么时候建成？").anchor() == "鹭汀大剧院"


def test_common_words_and_stated_figures_are_not_anchors(pipe):
    # 就业, 增长 are rare in this short report but common words of the language
    assert evidence(pipe, "城镇新增就业多少人？").anchor() is None
    assert evidence(pipe, "收入增长了5.8%吗？").anchor() is None


def test_a_word_the_report_does_not_use_is_no_anchor(pipe):
    assert evidence(pipe, "鹭汀机场什么时候通航？").anchor() in (None, "鹭汀")


def test_the_anchored_evidence_names_the_anchor(pipe):
    ev = evidence(pipe, "鹭汀大剧院什么时候建成？")
    assert any("鹭汀大剧院" not in c.text for c in ev.cands)
    assert all("鹭汀大剧院" in c.text for c in ev.anchored().cands)


def test_the_date_of_the_neighbouring_subject_is_not_the_answer(pipe):
    """The report dates the theatre's start, not its completion; the road's completion
    date is not the answer."""
    a = pipe.answer("鹭汀大剧院什么时候建成？")
    assert "2023年12月" not in a.direct_answer
    assert a.status == "partial" and "鹭汀大剧院" in a.citations[0].quote
