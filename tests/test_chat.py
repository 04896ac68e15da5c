"""web/chat.py without a browser: the report selector's handlers over two fictional reports
(fake embedder); tests/test_browser.py drives the same page in Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FAKE_RULES, FakeEmbedder

from rag.config import Settings
from rag.index import build_index
from rag.pipeline import Pipeline
from web.chat import REPORT_GONE, Chat, ChatState
from web.metrics import Metrics
from web.service import AnswerService

REPORTS = Path(__file__).resolve().parent / "data" / "reports"
QUESTION = "地区生产总值增长多少？"


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Chat:
    seeds = tmp_path_factory.mktemp("seeds")
    for name in ("qinghe-county-2024", "chengchuan-2023"):
        for suffix in (".txt", ".meta.json"):
            shutil.copy(REPORTS / f"{name}{suffix}", seeds / f"{name}{suffix}")
    settings = Settings(seeds_dir=seeds, data_dir=tmp_path_factory.mktemp("data"))
    emb = FakeEmbedder()
    pipe = Pipeline(settings, embedder=emb, index=build_index(settings, emb), rules=FAKE_RULES)
    service = AnswerService(settings, metrics=Metrics(), pipeline=pipe.load()).load()
    return Chat(lambda: service)


def _cited(state: ChatState) -> set[str]:
    return {c.doc_id for c in state.turns[-1].citations}


def test_the_chosen_report_limits_the_questions(chat: Chat) -> None:
    state = chat.choose("qinghe-county-2024", ChatState())
    chat.ask(QUESTION, state)
    assert state.turns and _cited(state) == {"qinghe-county-2024"}
    assert {c.document for c in state.turns[-1].citations} == {"青禾县2024年政府工作报告"}
    state = chat.choose("", state)  # 全部报告
    chat.ask("澄川市" + QUESTION, state)
    assert _cited(state) == {"chengchuan-2023"}


def test_clearing_keeps_the_chosen_report(chat: Chat) -> None:
    state = chat.choose("chengchuan-2023", ChatState())
    chat.ask(QUESTION, state)
    *_, cleared, _ = chat.clear(state)
    assert cleared.turns == [] and cleared.report == "chengchuan-2023"


def test_a_report_removed_since_the_page_loaded_is_said_so(chat: Chat) -> None:
    state = chat.choose("gone-2022", ChatState())
    html, _, box, state, answer = chat.ask(QUESTION, state)
    assert state.notice == REPORT_GONE and REPORT_GONE in html
    assert answer is None and box == QUESTION and state.turns == []  # the question stays


def test_the_selector_lists_the_reports_and_shows_with_two(chat: Chat) -> None:
    *_, selector = chat.load("全部")
    assert selector["visible"] is True and selector["value"] == ""
    assert selector["choices"] == [
        ("全部报告", ""),
        ("2023年澄川市政府工作报告", "chengchuan-2023"),
        ("青禾县2024年政府工作报告", "qinghe-county-2024"),
    ]
