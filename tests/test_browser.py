"""The chat in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), at 1280 px
and at 390 px (a phone).

Two servers: the real report with the real model (what a resident sees: ask, read the status,
the highlighted paragraph, switch citations, the outline, the targets table, 👎, /metrics), and
a hostile report (markup and template syntax in its title, headings and sentences) behind a
fake pipeline whose every answer is *partial*, to see that status shown and that no text from a
report or a user ever runs. Every page also checks that it asked nothing of any other host.
Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FAKE_RULES, ROOT, FakeEmbedder, start_server

from rag.config import Settings
from rag.index import build_index
from rag.pipeline import Pipeline
from rag.types import Answer
from web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
ANSWER_WAIT_MS = 30_000
# the highlighted quote as shown (a phone shows a long paragraph cut around it, and keeps the
# whole paragraph folded away)
SHOWN_MARK = "mark.hl >> visible=true"

if not Path(CHROMIUM).exists():  # never a skip: .ci/run installs it (apt-get install chromium)
    raise RuntimeError("Debian's chromium is missing (/usr/bin/chromium); see .ci/run")


# --- servers ---------------------------------------------------------------------------------


def _serve(app: Any) -> Iterator[str]:
    server, thread, url = start_server(app)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


# one client (this test) makes far more chat calls a minute than RAG_CHAT_RATE_LIMIT allows a
# resident; the limit itself is tested in test_web.py
UNLIMITED = {"chat_rate_limit": 100_000}


@pytest.fixture(scope="module")
def real_site(real_pipeline: Pipeline) -> Iterator[str]:
    settings = real_pipeline.settings.model_copy(update=UNLIMITED)
    yield from _serve(create_app(settings, pipeline=real_pipeline))


HOSTILE_REPORT = """\
政府工作报告<img src=x onerror="window.__xss=1">

过去五年,全市新增城镇就业26.2万人<img src=x onerror="window.__xss=2">,森林覆盖率达到60%。\
<script>window.__xss=3</script>民生保障扎实有力。

今后五年工作的主要考虑

一、建设${window.__xss=4}区域中心城市<svg onload="window.__xss=5">

建设交通枢纽{{constructor.constructor('window.__xss=6')()}}。力争新建高速公路210公里、\
铁路170公里<a href="javascript:window.__xss=7">点我</a>。

二、推进乡村振兴`${window.__xss=8}`

提升现代农业水平。确保粮食产量稳定在100万吨以上<iframe srcdoc="<script>parent.__xss=9</script>">\
</iframe>。
"""
HOSTILE_META = {
    "title": "报告<img src=x onerror=window.__xss=10>",
    "city": "某市${window.__xss=11}",
    "source_note": "<b onmouseover=window.__xss=12>说明</b>{{this}}",
}
HOSTILE_QUESTION = "交通枢纽${window.__xss=13}<img src=x onerror=window.__xss=14>要建多少公里？"
PARTIAL_LEAD = "报告提到了{}，但没有给出具体的完成时间"


REFUSE_WORD = "地铁"


class ScriptedPipeline(Pipeline):
    """A fake answer layer over the real retrieval and quotes: a question about REFUSE_WORD is
    refused (the report says nothing of it), every other answer with quotes is partial (the
    report speaks of the subject but not of the detail asked), its lead saying so."""

    def answer(self, question: str, **kwargs: Any) -> Answer:
        a = super().answer(question, **kwargs)
        if REFUSE_WORD in question:
            return replace(
                a,
                status="refused",
                reason="not_in_report",
                refused=True,
                direct_answer="",
                citations=(),
            )
        if not a.citations:
            return a
        lead = PARTIAL_LEAD.format(a.direct_answer or "这件事")
        return replace(
            a, status="partial", reason="detail_missing", refused=False, direct_answer=lead
        )


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    seeds = tmp_path_factory.mktemp("hostile-seeds")
    (seeds / "hostile.txt").write_text(HOSTILE_REPORT, encoding="utf-8")
    (seeds / "hostile.meta.json").write_text(
        json.dumps(HOSTILE_META, ensure_ascii=False), encoding="utf-8"
    )
    settings = Settings(
        seeds_dir=seeds,
        data_dir=tmp_path_factory.mktemp("hostile"),
        chunk_size=60,
        chunk_min=10,
        **UNLIMITED,
    )
    emb = FakeEmbedder()
    index = build_index(settings, emb)
    pipe = ScriptedPipeline(settings, embedder=emb, index=index, rules=FAKE_RULES).load()
    yield from _serve(create_app(settings, pipeline=pipe))


REPORTS = ROOT / "tests" / "data" / "reports"
QINGHE_TITLE = "青禾县2024年政府工作报告"
# the other report's title carries markup: the selector and the citations show it as text
CHENGCHUAN_TITLE = '2023年澄川市政府工作报告<img src=x onerror="window.__xss=20">'


@pytest.fixture(scope="module")
def two_reports_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two fictional reports (tests/data/reports) behind a fake-embedder pipeline."""
    seeds = tmp_path_factory.mktemp("two-seeds")
    for name, title in (("qinghe-county-2024", None), ("chengchuan-2023", CHENGCHUAN_TITLE)):
        shutil.copy(REPORTS / f"{name}.txt", seeds / f"{name}.txt")
        meta = json.loads((REPORTS / f"{name}.meta.json").read_text(encoding="utf-8"))
        meta["title"] = title or meta["title"]
        (seeds / f"{name}.meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    settings = Settings(seeds_dir=seeds, data_dir=tmp_path_factory.mktemp("two"), **UNLIMITED)
    emb = FakeEmbedder()
    pipe = Pipeline(settings, embedder=emb, index=build_index(settings, emb), rules=FAKE_RULES)
    yield from _serve(create_app(settings, pipeline=pipe.load()))


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


class Visit:
    """One page at one width, recording every request it makes and every dialog."""

    def __init__(self, browser: Any, url: str, width: str) -> None:
        w, h = WIDTHS[width]
        self.url, self.width = url, width
        self.page = browser.new_page(viewport={"width": w, "height": h}, locale="zh-CN")
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(url, wait_until="load")
        self.page.locator("#question textarea").wait_for(timeout=60_000)
        # the outline and the table arrive with the page's load event
        self.page.locator("#site-head .site-doc").wait_for()

    def turns(self) -> int:
        return int(self.page.locator("#conversation .turn").count())

    def ask(self, question: str, *, by: str = "enter") -> Any:
        n = self.turns()
        box = self.page.locator("#question textarea")
        box.fill(question)
        if by == "enter":
            box.press("Enter")
        else:
            self.page.locator("#ask").click()
        self.page.wait_for_function(
            "n => document.querySelectorAll('#conversation .turn').length > n",
            arg=n,
            timeout=ANSWER_WAIT_MS,
        )
        self.settled()
        return self.page.locator("#conversation .turn").last

    def settled(self) -> None:
        """Wait until Gradio shows no event in progress (its status trackers are hidden)."""
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=status-tracker]')]"
            ".every(s => s.classList.contains('hide'))"
        )

    def shown_source(self) -> Any:
        return self.page.locator("#source .src:not([hidden])")

    def shot(self, name: str, *, full_page: bool = False) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(300)  # let colour transitions (a pressed [n]) finish
        path = ARTIFACTS / f"chat-{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=full_page)

    def close(self) -> None:
        outside = [
            u for u in self.requests if not u.startswith((self.url, "data:", "blob:", "about:"))
        ]
        self.page.close()
        assert outside == [], f"the page asked other hosts: {outside[:5]}"


@pytest.fixture(params=list(WIDTHS), scope="module")
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def resident(browser: Any, real_site: str, width: str) -> Iterator[Visit]:
    v = Visit(browser, real_site, width)
    yield v
    v.close()


@pytest.fixture
def attacker(browser: Any, fake_site: str, width: str) -> Iterator[Visit]:
    v = Visit(browser, fake_site, width)
    yield v
    v.close()


def quote_of(turn: Any, k: int) -> str:
    return str(turn.locator(".quote-text").nth(k).inner_text()).strip().strip("“”")


# --- a resident, the real report and model ----------------------------------------------------


@pytest.mark.model
def test_ask_shows_the_status_the_quotes_and_the_paragraph(resident: Visit) -> None:
    resident.shot("welcome")
    turn = resident.ask("过去五年新增城镇就业多少人？")
    assert turn.locator(".badge").inner_text() == "已回答"
    assert turn.locator(".direct").inner_text().strip()
    quotes = turn.locator(".quote")
    assert quotes.count() >= 1
    tag = quotes.first.locator(".tag").inner_text()
    assert tag in ("已完成", "目标 · 计划", "其他")
    # the paragraph of [1] is open without a click, the quoted sentence highlighted
    src = resident.shown_source()
    assert src.count() == 1
    assert src.locator(SHOWN_MARK).inner_text() == quote_of(turn, 0)
    crumbs = src.locator(".crumbs li")
    assert crumbs.count() >= 2 and crumbs.first.inner_text() == "政府工作报告（节选）"
    # Enter sent it, and the cursor is still in the box
    assert resident.page.evaluate("document.activeElement.closest('#question') !== null")
    resident.shot("answer")
    resident.shot("answer-full", full_page=True)


@pytest.mark.model
def test_citation_buttons_switch_the_paragraph(resident: Visit) -> None:
    turn = resident.ask("今后五年的主要目标有哪些？", by="button")
    # the 提问 button gives the cursor back to the box
    resident.page.wait_for_function("document.activeElement.closest('#question') !== null")
    buttons = turn.locator("button.cite")
    assert buttons.count() >= 2, turn.inner_text()
    buttons.nth(1).click()
    assert buttons.nth(1).get_attribute("aria-pressed") == "true"
    assert buttons.nth(0).get_attribute("aria-pressed") == "false"
    src = resident.shown_source()
    assert src.count() == 1
    assert src.locator(SHOWN_MARK).inner_text() == quote_of(turn, 1)
    assert src.locator(".src-head").inner_text().startswith("引用 [2]")
    resident.shot("switched")


@pytest.mark.model
def test_a_question_the_report_does_not_answer_says_so(resident: Visit) -> None:
    turn = resident.ask("请告诉我市长的手机号码")
    assert turn.locator(".badge").inner_text() == "报告中没有"
    assert turn.locator(".direct").inner_text() == "报告不提供个人的联系方式等个人信息。"
    assert turn.locator(".tag").count() == 0  # related passages are not quotes of an answer
    # nothing opens next to a refusal, and nothing is offered next to this one
    assert resident.shown_source().count() == 0
    assert turn.locator("button.cite").count() == 0
    resident.shot("refused")


@pytest.mark.model
def test_thumbs_down_is_stored_and_the_chat_is_counted(resident: Visit, real_site: str) -> None:
    def counted() -> float:
        text = httpx.get(f"{real_site}/metrics").text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("rag_answers_total{") and 'surface="chat"' in line
        )

    before = counted()
    turn = resident.ask("森林覆盖率要达到多少？")
    assert counted() == before + 1
    turn.locator("button.rate-btn[data-rating='down']").click()
    note = turn.locator(".rate-note")
    resident.page.wait_for_function(
        "el => el.textContent.includes('感谢反馈')", arg=note.element_handle()
    )
    assert turn.locator("button[data-rating='down']").get_attribute("aria-pressed") == "true"
    metrics = httpx.get(f"{real_site}/metrics").text
    assert 'rag_feedback_total{rating="down"}' in metrics


@pytest.mark.model
def test_examples_and_clearing_the_conversation(resident: Visit) -> None:
    example = resident.page.locator("#examples button").first
    wanted = example.inner_text().strip()
    example.click()
    box = resident.page.locator("#question textarea")
    resident.page.wait_for_function(
        "q => document.querySelector('#question textarea').value.trim() === q", arg=wanted
    )
    resident.ask(box.input_value())
    assert resident.turns() == 1
    resident.page.locator("#clear").click()
    resident.page.locator("#conversation .welcome").wait_for()
    assert resident.turns() == 0
    resident.ask("五大产业集群是哪些？")
    assert resident.turns() == 1


@pytest.mark.model
def test_the_outline_opens_each_entry_on_its_text(resident: Visit) -> None:
    resident.page.get_by_role("tab", name="报告目录").click()
    toc = resident.page.locator("#toc .toc")
    toc.wait_for()
    heading = toc.locator("details.toc-d1 > summary").filter(has_text=re.compile(r"^一、"))
    heading.click()
    leaf = heading.locator("xpath=..").locator(":scope > details.toc-leaf").nth(1)
    label = leaf.locator("summary").inner_text().rstrip("…")
    text = leaf.locator(".toc-text")
    assert not text.is_visible()
    leaf.locator("summary").click()
    assert text.is_visible()
    assert text.inner_text().lstrip("—").startswith(label)
    resident.shot("outline")


FIRST_COLUMN = "\"#figures .virtual-row [data-col='0']\""


def figure_column(page: Any, i: int) -> list[str]:
    """Column ``i`` of the rows the (virtual) table has rendered, top first."""
    cells = page.locator(f"#figures .virtual-row [data-col='{i}']")
    return [str(t).strip() for t in cells.all_inner_texts()]


@pytest.mark.model
def test_the_targets_table_sorts_filters_and_opens_the_sentence(resident: Visit) -> None:
    page = resident.page
    page.get_by_role("tab", name="目标一览").click()
    page.locator("#figures .virtual-row [data-col='0']").first.wait_for()
    kinds = figure_column(page, 0)
    assert len(kinds) >= 8 and set(kinds) <= {"已完成", "目标 · 计划", "其他"}
    assert kinds[0] == "已完成"  # document order: the review of the past five years comes first
    # sort by 类型, descending: the targets come first
    page.locator("#figures th[data-heading='0']").hover()  # the ⋮ menu shows on hover
    page.locator("#figures th[data-heading='0'] .cell-menu-button").click()
    page.get_by_role("menu").get_by_text("降序排序").click()
    page.wait_for_function(
        f"() => document.querySelector({FIRST_COLUMN})?.innerText.trim() === '目标 · 计划'"
    )
    ranked = figure_column(page, 0)
    assert ranked == sorted(ranked, reverse=True)
    # the 类型 filter leaves only achievements
    page.locator("#figure-kind").get_by_text("已完成").click()
    only_achievements = (
        f"() => {{ const c = [...document.querySelectorAll({FIRST_COLUMN})];"
        " return c.length > 0 && c.every(td => td.innerText.trim() === '已完成'); }"
    )
    page.wait_for_function(only_achievements)
    # the search box narrows the rows
    page.locator("#figures input.search-input").fill("万")
    page.wait_for_timeout(400)
    sentences = figure_column(page, 2)
    assert sentences and all("万" in s for s in sentences)
    # a row opens its sentence in its paragraph
    page.locator("#figures .virtual-row [data-col='2']").first.click()
    src = page.locator("#figure-source .src")
    src.wait_for()
    assert src.locator(SHOWN_MARK).inner_text() == sentences[0]
    assert src.locator(".crumbs li").count() >= 2
    resident.shot("targets")


# --- a hostile report, a partial answer ---------------------------------------------------------


def test_a_partial_answer_is_shown_as_partial(attacker: Visit) -> None:
    assert not attacker.page.locator("#report").is_visible()  # one report: no selector
    turn = attacker.ask("新增城镇就业多少人？")
    assert turn.locator(".badge").inner_text() == "报告只提到部分"
    assert "reply status-partial" in (turn.locator(".reply").get_attribute("class") or "")
    direct = turn.locator(".direct").inner_text()
    assert direct.startswith("报告提到了") and "没有给出" in direct
    assert turn.locator(".quote").count() >= 1
    attacker.shot("partial")


def test_a_refusal_offers_the_nearest_passages_and_opens_none(attacker: Visit) -> None:
    turn = attacker.ask(f"{REFUSE_WORD}什么时候通车？")
    assert turn.locator(".badge").inner_text() == "报告中没有"
    assert turn.locator(".direct").inner_text() == "报告中没有找到关于这个问题的内容。"
    assert attacker.shown_source().count() == 0
    assert "不是答案" in turn.locator(".related-lead").inner_text()
    related = turn.locator("button.cite")
    assert related.count() >= 1 and turn.locator(".tag").count() == 0
    related.first.click()
    shown = attacker.shown_source()
    assert shown.locator(".src-head").inner_text().startswith("相关段落（不是答案）")
    assert shown.locator("mark.rel >> visible=true").count() == 1
    assert shown.locator("mark.hl").count() == 0  # an answer's highlight is for quotes only
    attacker.shot("refused-related")


SCRIPTED = (
    "[onerror], [onload], [onmouseover], iframe, script, img[src='x'], a[href^='javascript:']"
)


def test_text_from_the_report_or_the_user_never_runs(attacker: Visit) -> None:
    page = attacker.page
    turn = attacker.ask(HOSTILE_QUESTION)
    # the user's markup is shown as text, and so is the report's in quotes and paragraphs
    assert "<img src=x onerror=window.__xss=14>" in turn.locator(".ask").inner_text()
    for question in ("新增城镇就业多少人？", "粮食产量要稳定在多少？"):
        turn = attacker.ask(question)
        assert "<" in turn.locator(".quote-text").first.inner_text()
        for button in turn.locator("button.cite").all():
            button.click()
            assert "<" in attacker.shown_source().locator(SHOWN_MARK).inner_text()
    page.get_by_role("tab", name="报告目录").click()
    page.locator("#toc .toc").wait_for()
    page.evaluate("document.querySelectorAll('#toc details').forEach(d => { d.open = true; })")
    page.get_by_role("tab", name="目标一览").click()
    page.locator("#figures .virtual-row [data-col='2']").first.click()
    page.locator("#figure-source .src").wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert attacker.dialogs == []
    for where in ("#site-head", "#conversation", "#source", "#toc", "#figures", "#figure-source"):
        assert page.locator(where).locator(SCRIPTED).count() == 0, where
    shown = page.locator("#toc").inner_text() + page.locator("#figures").inner_text()
    assert '<img src=x onerror="window.__xss=2">' in shown
    assert "${window.__xss=4}" in shown
    assert "{{constructor.constructor('window.__xss=6')()}}" in page.locator("#toc").inner_text()
    attacker.shot("hostile", full_page=True)


# --- two reports: the report selector ------------------------------------------------------------


def test_the_report_selector_limits_the_question(
    browser: Any, two_reports_site: str, width: str
) -> None:
    v = Visit(browser, two_reports_site, width)
    page = v.page
    selector = page.locator("#report")
    selector.wait_for()
    # 全部报告 first: every report answers, each quote names its report
    assert selector.locator("input").input_value() == "全部报告"
    question = "地区生产总值增长多少？"
    turn = v.ask(question)
    names = {str(n).strip() for n in turn.locator(".quote-doc").all_inner_texts()}
    assert names and names <= {QINGHE_TITLE, CHENGCHUAN_TITLE}
    assert turn.locator(".quote-doc").count() == turn.locator(".quote").count()
    # the list: 全部报告, then each report by its title (its markup is text)
    selector.locator("input").click()
    options = page.get_by_role("option")
    options.nth(2).wait_for()
    listed = options.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert listed == ["全部报告", CHENGCHUAN_TITLE, QINGHE_TITLE]  # index order
    assert options.nth(1).inner_text().strip() == CHENGCHUAN_TITLE
    v.shot("report-selector")
    page.get_by_role("option", name=QINGHE_TITLE).click()
    v.settled()
    assert selector.locator("input").input_value() == QINGHE_TITLE
    turn = v.ask(question)
    assert turn.locator(".badge").inner_text() == "已回答"
    names = [str(n).strip() for n in turn.locator(".quote-doc").all_inner_texts()]
    assert names and set(names) == {QINGHE_TITLE}
    assert v.shown_source().locator(".crumbs li").first.inner_text() == QINGHE_TITLE
    # back to 全部报告: the other report answers again
    selector.locator("input").click()
    page.get_by_role("option", name="全部报告").click()
    v.settled()
    turn = v.ask("澄川市地区生产总值增长多少？")
    assert {str(n).strip() for n in turn.locator(".quote-doc").all_inner_texts()} == {
        CHENGCHUAN_TITLE
    }
    v.shot("two-reports")
    assert page.evaluate("window.__xss") is None and v.dialogs == []
    for where in ("#report", "#conversation", "#source", "#site-head"):
        assert page.locator(where).locator(SCRIPTED).count() == 0, where
    v.close()


# --- Gradio's own client API ------------------------------------------------------------------


def test_gradio_client_api_is_one_named_endpoint(fake_site: str) -> None:
    info = httpx.get(f"{fake_site}/gradio_api/info").json()
    assert list(info["named_endpoints"]) == ["/ask"] and info["unnamed_endpoints"] == {}
    params = info["named_endpoints"]["/ask"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["question"]
    from gradio_client import Client

    result = Client(fake_site, verbose=False).predict(question="森林覆盖率", api_name="/ask")
    answer = result[-1]
    assert answer["status"] == "partial" and answer["question"] == "森林覆盖率"
    assert answer["citations"] and "id" in answer
