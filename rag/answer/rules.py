"""The tuned numbers of the answer layer, in one frozen object, each with where it was fit.

Every threshold was chosen on the dev half (``rag.evaluate.split_of``) of the blind sets in
``eval/blind/`` and of ``eval/questions.jsonl`` by ``bench/calibrate.py`` (cross-validated
inside dev; the held-out folds' figures are printed there and quoted in the README). The test
halves were not used to choose any of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    # a question is refused (the report does not speak of it) when its best sentence scores
    # below this: cosine + keyword bonus for Chinese, the cosine alone for English (whose
    # keyword words come from a dictionary)
    refuse_below: float
    refuse_below_en: float
    # score = cosine + keyword_weight × IDF-weighted share of the topic words in the sentence
    keyword_weight: float
    # sentences within this much of the best one are evidence too
    evidence_margin: float
    # an answer span sits in a clause that names the asked topic in the report's words, or
    # that the model puts at least this close to the question (cosine; English separately)
    about_min: float
    about_min_en: float
    # an open or yes/no question whose best sentence does not name its topic in the report's
    # words needs that sentence at least this close (cosine) to be answered
    weak_min: float
    weak_min_en: float
    # passages whose sentences are candidates (lists and overviews gather from more)
    # an overview names an outline point when the point's label covers this much of its topic
    node_label_min: float
    # a point with points under it wins over a sub-point naming the topic this much better
    node_parent_bonus: float
    # an overview that names no point gathers the sentences this close to the best
    gather_margin: float
    # a word of the question the report uses at most this many times (a name: 澄川大剧院) is
    # the question's anchor: a sentence that answers it names it (0: no anchors), when it is
    # not a common word (counted at most this often in jieba's general dictionary)
    anchor_max_uses: int
    anchor_max_frequency: int
    pool_hits: int
    pool_hits_wide: int
    max_quotes: int
    max_items: int
    fit_on: str


RULES = Rules(
    refuse_below=0.80,
    refuse_below_en=0.60,
    keyword_weight=0.10,
    evidence_margin=0.04,
    about_min=0.94,
    about_min_en=0.78,
    weak_min=0.86,
    weak_min_en=0.72,
    node_label_min=0.5,
    node_parent_bonus=0.35,
    gather_margin=0.03,
    anchor_max_uses=2,
    anchor_max_frequency=100,
    pool_hits=5,
    pool_hits_wide=10,
    max_quotes=3,
    max_items=8,
    fit_on="dev halves of eval/blind/set_a, set_b, conversations_b and eval/questions.jsonl, "
    "bench/calibrate.py, 2026-12-01",
)
