"""The answer text: the direct answer, then the report's sentences with their markers."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Hit
from .compose import Composition
from .leads import KIND_EN, KIND_ZH, refusal_lead


def render(comp: Composition, hits: Sequence[Hit]) -> str:
    a = comp.analysis
    if comp.status == "refused":
        lead = refusal_lead(a, comp.reason)
        if comp.reason in ("instruction", "personal_data"):
            return lead  # nothing of the report is offered for an instruction
        related = [f"- {' › '.join(h.chunk.section)}：{h.chunk.text}" for h in hits[:3]]
        return "\n".join([lead, "", "相关内容：", *related]) if related else lead
    labels = KIND_EN if a.english else KIND_ZH
    quotes = [
        f"“{c.quote}”[{c.n}]（{labels[c.kind]}{'，' + c.document if c.document else ''}）"
        for c in comp.citations
    ]
    if a.english:
        lead = (
            f"{comp.direct_answer} [1]"
            if comp.direct_answer
            else "The report says (quoted in Chinese):"
        )
        head = "Sources:" if comp.status == "answered" else "What the report does say:"
        return "\n".join([lead, "", head, *quotes])
    lead = comp.direct_answer.rstrip("。") + "。" if comp.direct_answer else "报告原文如下："
    head = "依据：" if comp.status == "answered" else "报告中相关的原文："
    return "\n".join([lead, "", head, *quotes])
