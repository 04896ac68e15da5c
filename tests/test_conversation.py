"""Follow-up resolution on hand-made turns (rag.conversation)."""

import pytest

from rag.conversation import Turn, resolve_followup
from rag.keyword import KeywordTokenizer


@pytest.fixture(scope="module")
def words():
    return KeywordTokenizer().words


def test_a_new_topic_in_the_old_frame(words):
    out = resolve_followup("那教育呢？", [Turn("医疗方面有什么打算？")], words)
    assert out == "教育方面有什么打算？"


def test_another_time_keeps_the_subject(words):
    out = resolve_followup("那明年呢？", [Turn("去年新增就业多少人？")], words)
    assert out == "明年新增就业多少人？"


def test_an_english_follow_up_after_a_chinese_question_takes_its_frame(words):
    out = resolve_followup("What about garbage?", [Turn("污染防治有哪些举措？")], words)
    assert out == "garbage有哪些举措？"


def test_an_english_follow_up_after_an_english_question(words):
    previous = [Turn("What is the target for the unemployment rate?")]
    # the preposition goes; the new subject comes first, the old frame stays
    out = resolve_followup("And for air quality?", previous, words)
    assert out == "air quality: What is the target for the unemployment rate?"
    # one that asks on its own ("and which…") is not put in the old frame's place
    out = resolve_followup("And which parks?", [Turn("污染防治有哪些举措？")], words)
    assert out.startswith("which parks: ")


def test_a_long_question_is_its_own(words):
    q = "我想问一下今年全县新建了多少所学校和幼儿园？"
    assert resolve_followup(q, [Turn("医疗方面有什么打算？")], words) == q
