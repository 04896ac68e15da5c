"""The citizens' chat (Gradio), mounted at ``/`` on the API's FastAPI app.

Thin: it calls the same pipeline as the API. Report and user text are always shown as
plain text (no Markdown, no HTML), so nothing from either can run in the browser.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr
from fastapi import FastAPI, HTTPException

from rag.conversation import Turn
from rag.retrieval import InvalidQuestion
from rag.serialize import citation_json

log = logging.getLogger("rag.web")

EXAMPLES = [
    "过去五年新增城镇就业多少人？",
    "五大产业集群是哪些？",
    "我家孩子上幼儿园难，政府有什么打算？",
    "今后五年森林覆盖率要达到多少？",
    "What is the target for total economic output?",
]
KIND_ZH = {"achievement": "已完成", "target": "目标/计划", "other": "其他"}
CSS = """
#sources-list label { white-space: normal; }
@media (max-width: 640px) { #ask-row { flex-direction: column; } }
"""


def _citation_label(c: dict[str, Any]) -> str:
    return f"[{c['n']}] {' › '.join(c['section'])}（{KIND_ZH.get(c['kind'], c['kind'])}）"


def build_chat(app: FastAPI) -> gr.Blocks:
    settings = app.state.settings

    def respond(
        question: str, messages: list[dict[str, Any]], turns: list[dict[str, Any]]
    ) -> tuple[Any, ...]:
        question = (question or "").strip()
        messages = list(messages or [])
        turns = list(turns or [])
        pipe = app.state.pipeline
        cits: list[dict[str, Any]] = []
        if not question:
            return messages, "", turns, gr.update(choices=[], value=None), [], cits
        # the Chatbot renders messages as (sanitized) HTML: escape, so text stays text
        messages.append({"role": "user", "content": html.escape(question)})
        if pipe is None:
            reply = "索引正在加载，请稍后再试。"
        else:
            try:
                history = [Turn(t["question"], t["answer"]) for t in turns[-3:]]
                a = pipe.answer(question, history=history)
                answer_id = app.state.answers.put(a)
                cits = [citation_json(c) for c in a.citations]
                turns.append({"question": a.question, "answer": a.answer, "id": answer_id})
                reply = a.answer
            except InvalidQuestion as exc:
                reply = f"无法回答：{exc}"
            except Exception:  # never show a stack trace to a citizen
                log.exception("chat answer failed")
                reply = "抱歉，出现了内部错误，请稍后再试。"
        messages.append({"role": "assistant", "content": html.escape(reply)})
        choices = [_citation_label(c) for c in cits]
        return (messages, "", turns, gr.update(choices=choices, value=None), [], cits)

    def show_citation(
        label: str | None, cits: list[dict[str, Any]]
    ) -> list[tuple[str, str | None]]:
        pipe = app.state.pipeline
        if not label or pipe is None:
            return []
        c = next((c for c in cits if _citation_label(c) == label), None)
        doc = pipe.index.documents.get(c["doc_id"]) if c else None
        if c is None or doc is None:
            return []
        para = next((p for p in doc.paragraphs if p.start <= c["start"] < p.end), None)
        start, end = (para.start, para.end) if para else (c["start"], c["end"])
        return [
            (doc.text[start : c["start"]], None),
            (doc.text[c["start"] : c["end"]], "引用"),
            (doc.text[c["end"] : end], None),
        ]

    def on_like(turns: list[dict[str, Any]], data: gr.LikeData) -> str:
        from .app import record_feedback

        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn_i = int(index) // 2
        if not 0 <= turn_i < len(turns):
            return ""
        turn = turns[turn_i]
        rating = "up" if data.liked else "down"
        try:
            record_feedback(app, rating, answer_id=turn.get("id"), question=turn["question"])
        except HTTPException as exc:
            return f"反馈未保存：{exc.detail}"
        return "感谢反馈！" if rating == "up" else "感谢反馈，我们会改进。"

    with gr.Blocks(title="报告问答") as demo:
        gr.Markdown(
            "## 报告问答 · 乐山市政府工作报告（节选）\n"
            "用日常的话提问。回答只引用报告原文，每句都注明出处；报告没写的，会直接告诉您。"
        )
        chatbot = gr.Chatbot(
            label="对话",
            elem_id="chat",
            height=420,
            render_markdown=False,
            sanitize_html=True,
            allow_tags=False,
            buttons=["copy"],
        )
        with gr.Row(elem_id="ask-row"):
            box = gr.Textbox(
                placeholder="例如：今后五年森林覆盖率要达到多少？",
                show_label=False,
                elem_id="question",
                scale=5,
                max_length=settings.max_question_chars,
            )
            send = gr.Button("提问", variant="primary", elem_id="ask", scale=1)
        gr.Examples(EXAMPLES, inputs=box, label="示例问题")
        feedback_note = gr.Markdown(elem_id="feedback-note")
        with gr.Accordion("出处（点选一条引用，查看原文段落）", open=True):
            sources = gr.Radio(label="引用", choices=[], elem_id="sources-list")
            paragraph = gr.HighlightedText(
                label="原文段落（引用句高亮）",
                elem_id="paragraph",
                combine_adjacent=False,
                show_legend=False,
            )
        turns = gr.State([])
        cits = gr.State([])

        outputs = [chatbot, box, turns, sources, paragraph, cits]
        send.click(respond, [box, chatbot, turns], outputs)
        box.submit(respond, [box, chatbot, turns], outputs)
        sources.change(show_citation, [sources, cits], paragraph)
        chatbot.like(on_like, [turns], feedback_note)
    return demo


def mount_chat(app: FastAPI, demo: gr.Blocks) -> None:
    gr.mount_gradio_app(app, demo, path="/", css=CSS, footer_links=[])
