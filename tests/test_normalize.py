"""Input as people type it, on a hand-made corpus (not the project's report)."""

import pytest

from rag.answer.normalize import Lexicon, normalize, pinyin_key, sound_key, to_simplified
from rag.keyword import KeywordTokenizer

CORPUS = [
    "全县新增城镇就业1.2万人,森林覆盖率提高到58%。",
    "市场主体总量增至8.6万户,高速公路通车里程达到120公里。",
    "“三公”经费较上年下降12%,生态环境持续改善。",
    "我市着力发展陆海联运。",
]


@pytest.fixture(scope="module")
def lexicon():
    tok = KeywordTokenizer()
    return Lexicon.build(CORPUS, lambda t: tok.words(t) + tok(t), english={"target"}), tok


def test_width_spacing_and_emoji():
    assert normalize("ＧＤＰ目标３２００亿？") == "GDP目标3200亿?"
    assert normalize("就业  多少 🙂") == "就业多少"
    assert normalize("森林\u200b覆盖率") == "森林覆盖率"
    assert normalize("new build 多少 km") == "new build 多少 km"  # spaces by Latin words stay


def test_traditional_to_simplified_with_regional_wording():
    assert to_simplified("樂山未來的經濟總量") == "乐山未来的经济总量"
    assert to_simplified("乡村振兴") == "乡村振兴"  # simplified text is left alone
    tok = KeywordTokenizer()
    vocabulary = "推进数字经济和信息基础设施建设,新增就业"
    known = vocabulary.__contains__
    assert to_simplified("數位轉型、資訊基礎建設", known, tok.words) == "数字转型、信息基础建设"
    # tw2sp would say 添加 for 新增; the report says 新增, so it stays
    assert to_simplified("新增就業多少人", known, tok.words) == "新增就业多少人"
    assert to_simplified("數位轉型") == "数位转型"  # without a vocabulary: characters only


def test_pinyin_keys():
    assert pinyin_key("覆盖率") == "fugailv"
    assert sound_key("高束") == sound_key("高速")  # sh/s merged
    assert sound_key("哪几") != sound_key("垃圾")  # l/n are kept apart


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("全县新增城镇就叶多少人", "全县新增城镇就业多少人"),  # 就/叶: no common word there
        ("森林复盖率要提高到多少", "森林覆盖率要提高到多少"),  # 复盖: a rare word
        ("高束公路通车多少公里", "高速公路通车多少公里"),  # sounds alike (sh/s)
        ("senlin覆盖率是多少", "森林覆盖率是多少"),  # a word typed in pinyin
    ],
)
def test_typos_are_bridged_to_the_corpus_words(lexicon, typed, fixed):
    lex, tok = lexicon
    text, reps = lex.bridge(typed, tok.words, tok.frequency)
    assert text == fixed and reps


@pytest.mark.parametrize(
    "correct",
    [
        "这几年就业情况怎么样",  # 这几 ~ 这脊: a common word is never replaced
        "乐山是不是森林覆盖率最高",  # 乐山是 is not 乐山市
        "大学城建在哪里",  # 建在 is a word; 减灾 would need context in the corpus
        "what is the target",  # English words stay English
        "我是种粮大户，想问问",  # 我/是 is far likelier than the corpus word 我市
        "农村的路还修不",  # 路/还 sounds like 陆海, but two characters would be wrong
    ],
)
def test_correct_questions_are_left_alone(lexicon, correct):
    lex, tok = lexicon
    text, reps = lex.bridge(correct, tok.words, tok.frequency)
    assert text == correct and reps == []


def test_context_is_measured_in_the_corpus(lexicon):
    lex, _ = lexicon
    text = "今年市场主体总量"
    i = text.index("主体")
    assert lex.context(text, i, i + 2) == len("市场主体总量")
    assert lex.context("不在里面", 0, 2) == 0


def test_a_typo_changes_one_character_of_a_word_more_common_than_its_parts():
    from rag.answer.normalize import JIEBA_TOTAL, _likely_typo

    counts = {"就": 270_000, "叶": 4_600, "就业": 5_800, "我": 330_000, "是": 800_000}
    counts |= {"我市": 280, "路": 27_000, "还": 157_000, "陆海": 44}
    f = counts.get
    assert _likely_typo("就叶", "就业", lambda w: f(w) or 0)  # 叶 for 业
    assert not _likely_typo("我是", "我市", lambda w: f(w) or 0)  # 我 + 是 is far likelier
    assert not _likely_typo("路还", "陆海", lambda w: f(w) or 0)  # two characters apart
    # the independence test, spelled out: P(就业) > P(就)·P(叶)
    assert f("就业") / JIEBA_TOTAL > (f("就") / JIEBA_TOTAL) * (f("叶") / JIEBA_TOTAL)


def test_the_jieba_total_is_the_pinned_dictionary_s():
    from rag.answer.normalize import JIEBA_TOTAL
    from rag.keyword import KeywordTokenizer

    tok = KeywordTokenizer()._tokenizer()
    tok.check_initialized()
    assert tok.total == JIEBA_TOTAL


def test_an_abbreviation_is_read_as_the_reports_word_for_it():
    tok = KeywordTokenizer()
    seg = lambda t: tok.words(t) + tok(t)  # noqa: E731
    lex = Lexicon.build(
        ["全县经济总量达到520亿元,居全省第五。", "生产总值增长6%,经济总量稳步扩大。"], seg
    )
    text, reps = lex.bridge("县里GDP目标是多少", tok.words, tok.frequency)
    # of its terms the corpus has (生产总值, 经济总量), the one it uses most
    assert text == "县里经济总量目标是多少"
    assert [(r.original, r.why) for r in reps] == [("GDP", "abbreviation")]
    bare = Lexicon.build(["全县新增就业1.2万人。"], seg)  # no word of the report for it
    assert bare.bridge("县里GDP目标是多少", tok.words, tok.frequency)[0] == "县里GDP目标是多少"


def test_names_spelt_in_pinyin_in_an_english_question():
    tok = KeywordTokenizer()
    lex = Lexicon.build(
        ["枫岭港区货物吞吐量达到3200万吨,青溪镇新建公园2个。"],
        lambda t: tok.words(t) + tok(t),
        english={"port", "park", "town", "cargo", "many"},
    )
    assert lex.pinyin_names("How much cargo did the Fengling port handle?") == ["枫岭"]
    assert lex.pinyin_names("How many parks in qingxi town?") == ["青溪"]
    # English words, short tokens and names the report does not have are left alone
    assert lex.pinyin_names("How many parks in the port town of Baiyun?") == []
