"""The citizens' chat (Gradio), mounted at ``/`` on the API's FastAPI app.

Thin: every answer comes from the same :class:`~web.service.AnswerService` as the API (so it is
counted in ``/metrics`` and can take 👍/👎); the HTML is built by :mod:`web.views`, which
escapes all report and user text. Gradio's client API lists one endpoint, ``/ask``
(``question`` → the answer); the page's other events are private.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from rag.config import Settings
from rag.conversation import Turn
from rag.retrieval import InvalidQuestion
from rag.schemas import ServedAnswerOut

from . import views
from .service import AnswerService, ServiceError

log = logging.getLogger("rag.web")

ASSETS = Path(__file__).with_name("assets")
EXAMPLES = [
    line.strip()
    for line in (ASSETS / "examples.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
MAX_TURNS = 20  # kept per browser session (older ones drop off the page)
HISTORY_TURNS = 3  # earlier turns a follow-up question is resolved against
THEME = gr.themes.Default(
    primary_hue="red",
    font=[
        gr.themes.LocalFont("Source Sans Pro"),
        "PingFang SC",
        "Microsoft YaHei",
        "Noto Sans CJK SC",
        "WenQuanYi Zen Hei",
        "sans-serif",
    ],
)
# the conversation's clicks: [n] shows its paragraph in the source panel (no round trip: every
# paragraph of the conversation is already there, hidden); 👍/👎 go to the server
CONVERSATION_JS = (ASSETS / "conversation.js").read_text(encoding="utf-8")
NOT_READY = "索引正在加载，请稍后再试。"
FAILED = "抱歉，出现了内部错误，请稍后再试。"

ServiceGetter = Callable[[], AnswerService | None]


@dataclass
class ChatState:
    """One browser session: its answers (in order) and the ratings given."""

    turns: list[ServedAnswerOut] = field(default_factory=list)
    ratings: dict[str, str] = field(default_factory=dict)
    notice: str = ""

    def history(self) -> list[Turn]:
        return [Turn(t.question, t.answer) for t in self.turns[-HISTORY_TURNS:]]


def _conversation(state: ChatState) -> str:
    notice = f'<p class="notice" role="alert">{views.esc(state.notice)}</p>' if state.notice else ""
    return views.conversation(state.turns, state.ratings) + notice


def _paragraph_views(
    i: int, t: ServedAnswerOut
) -> list[tuple[str, str, int, list[views.Span], str, str | None]]:
    """(key, doc_id, offset, spans, heading, kind) of each paragraph an answer can open: its
    citations' paragraphs or, for a refusal, the related passages'."""
    if t.status == "refused":
        return [
            (
                f"{i}-h{h.rank}",
                h.doc_id,
                h.start,
                [views.Span(h.start, h.end, "", True)],
                "相关段落（不是答案）",
                None,
            )
            for h in t.hits[: views.RELATED]
        ]
    return [
        (
            f"{i}-c{c.n}",
            c.doc_id,
            c.start,
            [
                views.Span(o.start, o.end, f"[{o.n}]", o.n == c.n)
                for o in t.citations
                if o.doc_id == c.doc_id
            ],
            f"引用 [{c.n}] 所在段落",
            c.kind,
        )
        for c in t.citations
    ]


def _sources(service: AnswerService | None, turns: list[ServedAnswerOut]) -> str:
    """A paragraph view for everything the conversation can open (hidden; [n] shows one in
    the browser); the newest answer's first one is shown."""
    out: list[str] = []
    shown = False
    for i, t in enumerate(turns):
        for k, (key, doc_id, offset, spans, heading, kind) in enumerate(_paragraph_views(i, t)):
            if service is None:
                break
            try:
                doc = service.document(doc_id)
                para = service.paragraph_at(doc_id, offset)
            except ServiceError:  # the report changed since this answer
                continue
            first = i == len(turns) - 1 and k == 0
            shown = shown or first
            out.append(views.source(key, doc, para, spans, heading=heading, kind=kind, shown=first))
    return views.source_empty(hidden=shown) + "".join(out)


def build_chat(get_service: ServiceGetter, settings: Settings) -> gr.Blocks:
    def ask(question: str, state: ChatState) -> tuple[Any, ...]:
        """Ask the report a question; returns the conversation, the cited paragraphs, the
        emptied question box and the answer JSON (the same shape as POST /api/answer)."""
        state = state if isinstance(state, ChatState) else ChatState()
        question = (question or "").strip()
        service = get_service()
        if not question:
            return _conversation(state), gr.skip(), "", state, None
        state.notice = ""
        answer: dict[str, Any] | None = None
        if service is None:
            state.notice = NOT_READY
        else:
            try:
                s = service.ask(question, history=state.history(), surface="chat")
                out = ServedAnswerOut.served(s.id, s.answer)
                state.turns = [*state.turns, out][-MAX_TURNS:]
                answer = out.model_dump(mode="json")
            except InvalidQuestion as exc:
                state.notice = f"无法回答：{exc}"
            except Exception:  # never show a stack trace to a citizen
                log.exception("chat answer failed")
                state.notice = FAILED
        box = question if state.notice else ""
        return _conversation(state), _sources(service, state.turns), box, state, answer

    def rate(state: ChatState, evt: gr.EventData) -> tuple[str, ChatState]:
        data = evt._data if isinstance(evt._data, dict) else {}
        turn, rating = data.get("turn"), data.get("rating")
        service = get_service()
        if (
            service is None
            or not isinstance(turn, int)
            or not 0 <= turn < len(state.turns)
            or rating not in ("up", "down")
        ):
            return _conversation(state), state
        t = state.turns[turn]
        try:
            service.record_feedback(rating, answer_id=t.id, question=t.question)
            state.ratings[t.id] = rating
            state.notice = ""
        except ServiceError as exc:
            state.notice = f"反馈未保存：{exc}"
        return _conversation(state), state

    def clear() -> tuple[Any, ...]:
        state = ChatState()
        return _conversation(state), views.source_empty(), "", state, None

    def load(kind: str) -> tuple[Any, ...]:
        service = get_service()
        if service is None:
            return views.header([]), "", figure_table(kind), ""
        docs = service.documents()
        toc = "".join(views.outline(d, service.outline(d.doc_id)) for d in docs)
        return views.header(docs), toc, figure_table(kind), ""

    def figure_table(kind: str) -> Any:
        service = get_service()
        wanted = views.FIGURE_KINDS.get(kind)
        figs = service.figures() if service is not None else []
        return views.figure_table([f for f in figs if wanted is None or f.kind == wanted])

    def open_figure(evt: gr.SelectData) -> str:
        service = get_service()
        row = evt.row_value if isinstance(evt.row_value, list) else []
        if service is None or len(row) < 4:
            return ""
        for f in service.figures():
            if f.sentence == row[2] and views.where(f.section) == row[3]:
                doc = service.document(f.doc_id)
                para = service.paragraph_at(f.doc_id, f.start)
                span = views.Span(f.start, f.end, "", True)
                return views.source(
                    "figure", doc, para, [span], heading="原文段落", kind=f.kind, shown=True
                )
        return ""

    with gr.Blocks(title="报告问答") as demo:
        site_head = gr.HTML(views.header([]), elem_id="site-head", js_on_load=None)
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("问答", id="qa", elem_id="tab-qa"):
                with gr.Row(elem_id="qa-row", equal_height=False):
                    with gr.Column(scale=3, min_width=320, elem_id="qa-main"):
                        with gr.Row(elem_id="conv-bar", equal_height=True):
                            gr.HTML('<p class="conv-title">对话</p>', js_on_load=None)
                            reset = gr.Button(
                                "清空对话",
                                size="sm",
                                variant="secondary",
                                elem_id="clear",
                                scale=0,
                                min_width=0,
                            )
                        conv = gr.HTML(
                            views.conversation([], {}),
                            label="对话",
                            elem_id="conversation",
                            js_on_load=CONVERSATION_JS,
                        )
                        with gr.Row(elem_id="ask-row", equal_height=True):
                            box = gr.Textbox(
                                label="问题",
                                placeholder="例如：今后五年森林覆盖率要达到多少？",
                                show_label=False,
                                elem_id="question",
                                scale=6,
                                lines=1,
                                max_lines=4,
                                max_length=settings.max_question_chars,
                                autofocus=True,
                                submit_btn=False,
                            )
                            send = gr.Button(
                                "提问", variant="primary", elem_id="ask", scale=0, min_width=84
                            )
                        examples = gr.Examples(
                            EXAMPLES, inputs=box, label="试试这些问题", elem_id="examples"
                        )
                    with gr.Column(scale=2, min_width=300, elem_id="source-col"):
                        src = gr.HTML(
                            views.source_empty(), label="原文", elem_id="source", js_on_load=None
                        )
            with gr.Tab("报告目录", id="toc", elem_id="tab-toc"):
                toc = gr.HTML("", elem_id="toc", js_on_load=None)
            with gr.Tab("目标一览", id="figures", elem_id="tab-figures"):
                gr.HTML(
                    '<p class="fig-intro">报告里每一个带数字的句子，标明是<b>已完成</b>的成绩'
                    "还是<b>目标 · 计划</b>。点表头排序，用搜索框筛选，点一行查看原文。</p>",
                    js_on_load=None,
                )
                kind = gr.Radio(
                    list(views.FIGURE_KINDS), value="全部", label="类型", elem_id="figure-kind"
                )
                table = gr.Dataframe(
                    headers=views.FIGURE_HEADERS,
                    datatype="str",
                    type="array",
                    interactive=False,
                    wrap=True,
                    show_search="search",
                    column_widths=["12%", "14%", "44%", "20%", "10%"],
                    max_height=560,
                    elem_id="figures",
                )
                figure_src = gr.HTML("", elem_id="figure-source", js_on_load=None)
        state = gr.State(ChatState())
        answer_json = gr.JSON(visible=False, label="回答")

        gr.on(
            [box.submit, send.click],
            ask,
            [box, state],
            [conv, src, box, state, answer_json],
            api_name="ask",
            concurrency_limit=None,
        ).then(None, js="() => document.querySelector('#question textarea')?.focus()")
        conv.click(rate, [state], [conv, state], api_visibility="private")
        reset.click(clear, None, [conv, src, box, state, answer_json], api_visibility="private")
        demo.load(load, [kind], [site_head, toc, table, figure_src], api_visibility="private")
        kind.change(figure_table, [kind], [table], api_visibility="private")
        table.select(open_figure, None, [figure_src], api_visibility="private")
        del examples
    return demo


def mount_chat(app: FastAPI, demo: gr.Blocks) -> None:
    gr.mount_gradio_app(
        app,
        demo,
        path="/",
        theme=THEME,
        css_paths=[ASSETS / "chat.css"],
        head=f"<style>{(ASSETS / 'page.css').read_text(encoding='utf-8')}</style>",
        footer_links=[],
    )
