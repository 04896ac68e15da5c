"""The citizens' chat (Gradio), mounted at ``/`` on the API's FastAPI app.

Thin: every answer comes from the same :class:`~web.service.AnswerService` as the API (so it is
counted in ``/metrics`` and can take 👍/👎); the HTML is built by :mod:`web.views`, which
escapes all report and user text. Gradio's client API lists one endpoint, ``/ask``
(``question`` → the conversation, the paragraphs, the emptied box and the answer JSON); the
page's other events are private.
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
from rag.retrieval import InvalidQuestion, UnknownDocument
from rag.schemas import ServedAnswerOut
from rag.types import DocFilter

from . import views
from .service import AnswerService, ServiceError

log = logging.getLogger("rag.web")

ASSETS = Path(__file__).with_name("assets")
EXAMPLES = [
    line.strip()
    for line in (ASSETS / "examples.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
# [n] shows its paragraph in the source panel in the browser (every paragraph the conversation
# can open is already there, hidden); 👍/👎 go to the server
CONVERSATION_JS = (ASSETS / "conversation.js").read_text(encoding="utf-8")
FOCUS_BOX_JS = "() => document.querySelector('#question textarea')?.focus()"
SHOW_FIGURE_JS = (
    "() => document.getElementById('figure-source')?.scrollIntoView({block: 'nearest'})"
)
MAX_TURNS = 20  # kept per browser session (older ones drop off the page)
HISTORY_TURNS = 3  # earlier turns a follow-up question is resolved against
NOT_READY = "索引正在加载，请稍后再试。"
FAILED = "抱歉，出现了内部错误，请稍后再试。"
REPORT_GONE = "所选的报告已不在库中，请刷新页面或重新选择报告。"
THEME = gr.themes.Default(
    primary_hue="red",
    # Gradio's own bundled font for Latin text, then the system's Chinese fonts (no web fonts)
    font=[
        gr.themes.LocalFont("Source Sans Pro"),
        "PingFang SC",
        "Microsoft YaHei",
        "Noto Sans CJK SC",
        "WenQuanYi Zen Hei",
        "sans-serif",
    ],
)

ServiceGetter = Callable[[], AnswerService | None]


@dataclass
class ChatState:
    """One browser session: its answers (in order), the ratings given, a notice to show, and
    the report its questions are limited to (a doc_id; empty: 全部报告)."""

    turns: list[ServedAnswerOut] = field(default_factory=list)
    ratings: dict[str, str] = field(default_factory=dict)
    notice: str = ""
    report: str = views.ALL_REPORTS

    def where(self) -> DocFilter | None:
        return DocFilter.of(doc=self.report) if self.report else None

    def history(self) -> list[Turn]:
        return [Turn(t.question, t.answer) for t in self.turns[-HISTORY_TURNS:]]

    def conversation(self) -> str:
        notice = (
            f'<p class="notice" role="alert">{views.esc(self.notice)}</p>' if self.notice else ""
        )
        return views.conversation(self.turns, self.ratings) + notice


class Chat:
    """The page's event handlers, each a thin call into the service plus :mod:`web.views`."""

    def __init__(self, get_service: ServiceGetter) -> None:
        self.get_service = get_service

    def ask(self, question: str, state: ChatState) -> tuple[Any, ...]:
        """Ask the report a question; returns the conversation, the cited paragraphs, the
        emptied question box and the answer JSON (the same shape as POST /api/answer)."""
        state = state if isinstance(state, ChatState) else ChatState()
        question = (question or "").strip()
        service = self.get_service()
        if not question:
            return state.conversation(), gr.skip(), "", state, None
        state.notice = ""
        answer: dict[str, Any] | None = None
        if service is None:
            state.notice = NOT_READY
        else:
            try:
                s = service.ask(
                    question, history=state.history(), where=state.where(), surface="chat"
                )
                out = ServedAnswerOut.served(s.id, s.answer)
                state.turns = [*state.turns, out][-MAX_TURNS:]
                answer = out.model_dump(mode="json")
            except InvalidQuestion as exc:
                state.notice = f"无法回答：{exc}"
            except UnknownDocument:  # removed since the page was loaded
                state.notice = REPORT_GONE
            except Exception:  # never show a stack trace to a citizen
                log.exception("chat answer failed")
                state.notice = FAILED
        box = question if state.notice else ""  # a failed question stays in the box
        return state.conversation(), self.sources(state.turns), box, state, answer

    def sources(self, turns: list[ServedAnswerOut]) -> str:
        """A paragraph view for everything the conversation can open, hidden; the newest
        answer's first quote is shown (a refusal's passages only when asked for, so they are
        never taken for an answer)."""
        service = self.get_service()
        out: list[str] = []
        shown = False
        for i, t in enumerate(turns):
            for k, o in enumerate(views.openings(i, t)):
                try:
                    doc = service.document(o.doc_id) if service else None
                    para = service.paragraph_at(o.doc_id, o.offset) if service else None
                except ServiceError:  # the report changed since this answer
                    continue
                if doc is None or para is None:
                    continue
                first = i == len(turns) - 1 and k == 0 and t.status != "refused"
                shown = shown or first
                out.append(views.source(o, doc, para, shown=first))
        refused = bool(turns) and turns[-1].status == "refused"
        hint = views.SOURCE_HINT_REFUSED if refused else views.SOURCE_HINT
        return views.source_empty(hidden=shown, hint=hint) + "".join(out)

    def rate(self, state: ChatState, evt: gr.EventData) -> tuple[str, ChatState]:
        """👍/👎 from the conversation: ``{"turn": i, "rating": "up" | "down"}``."""
        data = evt._data if isinstance(evt._data, dict) else {}
        turn, rating = data.get("turn"), data.get("rating")
        service = self.get_service()
        if (
            service is None
            or not isinstance(turn, int)
            or not 0 <= turn < len(state.turns)
            or rating not in ("up", "down")
        ):
            return state.conversation(), state
        t = state.turns[turn]
        try:
            service.record_feedback(rating, answer_id=t.id, question=t.question)
            state.ratings[t.id] = rating
            state.notice = ""
        except ServiceError as exc:
            state.notice = f"反馈未保存：{exc}"
        return state.conversation(), state

    def clear(self, state: ChatState) -> tuple[Any, ...]:
        """A new conversation, over the report chosen in the selector."""
        report = state.report if isinstance(state, ChatState) else views.ALL_REPORTS
        state = ChatState(report=report)
        return state.conversation(), views.source_empty(), "", state, None

    def choose(self, report: str | None, state: ChatState) -> ChatState:
        """The report selector: the next questions are limited to ``report`` (a doc_id)."""
        state = state if isinstance(state, ChatState) else ChatState()
        state.report = report or views.ALL_REPORTS
        return state

    def load(self, kind: str) -> tuple[Any, ...]:
        """The page's header, 报告目录, 目标一览 and the report selector (shown when there
        is more than one report), from the index being served."""
        service = self.get_service()
        docs = service.documents() if service else []
        toc = "".join(views.outline(d, service.outline(d.doc_id)) for d in docs if service)
        selector = gr.update(
            choices=views.report_choices(docs), value=views.ALL_REPORTS, visible=len(docs) > 1
        )
        return views.header(docs), toc, self.figure_table(kind), "", selector

    def figure_table(self, kind: str) -> Any:
        service = self.get_service()
        wanted = views.FIGURE_KINDS.get(kind)
        figs = service.figures() if service else []
        return views.figure_table([f for f in figs if wanted is None or f.kind == wanted])

    def open_figure(self, evt: gr.SelectData) -> str:
        """A row of 目标一览 opens its sentence in its paragraph."""
        service = self.get_service()
        row = evt.row_value if isinstance(evt.row_value, list) else []
        if service is None or len(row) < len(views.FIGURE_HEADERS):
            return ""
        for f in service.figures():
            if views.figure_rows([f])[0] == row:
                doc, para = service.document(f.doc_id), service.paragraph_at(f.doc_id, f.start)
                return views.source(views.figure_opening(f), doc, para, shown=True)
        return ""


def build_chat(get_service: ServiceGetter, settings: Settings) -> gr.Blocks:
    chat = Chat(get_service)
    with gr.Blocks(title="报告问答") as demo:
        site_head = gr.HTML(views.header([]), elem_id="site-head", js_on_load=None)
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("问答", id="qa", elem_id="tab-qa"), gr.Row(elem_id="qa-row"):
                with gr.Column(scale=3, min_width=320, elem_id="qa-main"):
                    with gr.Row(elem_id="conv-bar", equal_height=True):
                        gr.HTML('<p class="conv-title">对话</p>', js_on_load=None)
                        # choices and visibility come with the page's load event
                        report = gr.Dropdown(
                            choices=views.report_choices([]),
                            value=views.ALL_REPORTS,
                            label="报告",
                            show_label=False,
                            interactive=True,
                            visible=False,
                            container=False,
                            scale=1,
                            min_width=160,
                            elem_id="report",
                        )
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
                            show_label=False,
                            placeholder="输入问题，回车发送",
                            elem_id="question",
                            scale=6,
                            lines=1,
                            max_lines=4,
                            max_length=settings.max_question_chars,
                            autofocus=True,
                        )
                        send = gr.Button(
                            "提问", variant="primary", elem_id="ask", scale=0, min_width=84
                        )
                    gr.Examples(EXAMPLES, inputs=box, label="试试这些问题", elem_id="examples")
                with gr.Column(scale=2, min_width=300, elem_id="source-col"):
                    src = gr.HTML(
                        views.source_empty(), label="原文", elem_id="source", js_on_load=None
                    )
            with gr.Tab("报告目录", id="toc", elem_id="tab-toc"):
                toc = gr.HTML("", elem_id="toc", js_on_load=None)
            with gr.Tab("目标一览", id="figures", elem_id="tab-figures"):
                gr.HTML(views.FIGURES_INTRO, js_on_load=None)
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

        # the one public event of Gradio's client API: /ask(question)
        gr.on(
            [box.submit, send.click],
            chat.ask,
            [box, state],
            [conv, src, box, state, answer_json],
            api_name="ask",
            concurrency_limit=None,
        ).then(None, js=FOCUS_BOX_JS)
        private: dict[str, Any] = {"api_visibility": "private"}
        conv.click(chat.rate, [state], [conv, state], **private)
        reset.click(chat.clear, [state], [conv, src, box, state, answer_json], **private)
        # the chosen report is kept in the session's state, so /ask keeps its one parameter
        report.change(chat.choose, [report, state], [state], **private)
        demo.load(chat.load, [kind], [site_head, toc, table, figure_src, report], **private)
        kind.change(chat.figure_table, [kind], [table], **private)
        table.select(chat.open_figure, None, [figure_src], **private).then(None, js=SHOW_FIGURE_JS)
    return demo


def mount_chat(app: FastAPI, demo: gr.Blocks) -> None:
    page_css = (ASSETS / "page.css").read_text(encoding="utf-8")
    gr.mount_gradio_app(
        app,
        demo,
        path="/",
        theme=THEME,
        css_paths=[ASSETS / "chat.css"],
        head=f"<style>{page_css}</style>",  # our own rules, no link to any other host
        footer_links=[],
    )
