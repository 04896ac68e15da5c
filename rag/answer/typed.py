"""Strategies for questions answered by one span (a figure, a date, a rank, a name, a
place) and for yes/no and open questions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..chunking import clause_text, split_clauses
from .cues import cue
from .evidence import Candidate, sentence_kind
from .leads import figure_lead_en, partial_lead, yes_no_lead
from .spans import FINDERS, clause_of, is_change, piece_of, related
from .tagging import pos_tags

if TYPE_CHECKING:
    pass

from .constraints import unmet_constraint
from .lists import category_head, is_place_kind
from .overview import point_labelled
from .strategy import (
    MIN_SUPPORT_CHARS,
    Evidence,
    Outcome,
    clause_with,
    leading,
    restates,
    unrelated,
)


def typed_span(ev: Evidence) -> Outcome | None:
    """A span of the asked type in a sentence about the topic that meets the constraints;
    else a partial answer naming what the report gives instead. Among several spans, the one
    whose clause is closest to the question in the model's space wins."""
    a = ev.analysis
    finder = FINDERS[a.answer_type]
    found: list[tuple[float, Candidate, str]] = []
    proper_found: list[tuple[float, Candidate, str]] = []
    change_found: list[tuple[float, Candidate, str]] = []
    unmet_at: tuple[Candidate, str, str] | None = None
    # where: the place must sit in the clause naming the topic ("…美食园区…,建设…博物馆" does
    # not say where the museum goes); which one: in the sentence ("以峨眉山基地为重点,
    # 大力发展…食品饮料产业")
    head = category_head(ev) if a.answer_type == "named" else None
    # a place has a proper name: "哪个县" is not answered by 经济强县
    proper_only = head is not None and is_place_kind(head)
    subject = subject_head(ev)
    who = a.answer_type == "named" and bool(_ASKS_WHO.search(a.ask))
    # the sentences close to the best; when one of them fails only a constraint (another
    # year, a target where a result was asked), the others of the wider pool are read too
    first, wider = ev.close(), ev.close(margin=ev.rules.evidence_margin * 2, limit=12)
    for c in first + [c for c in wider if c not in first]:
        if found or (c not in first and not unmet_at):
            break
        for sp in finder(c.text, a):
            if sp.kind in ("name", "items", "place", "term") and restates(
                a, sp.text, 0.7, whole=True
            ):
                continue  # the question's own words are not its answer
            bare = sp.text.strip("“”《》")
            if sp.figure is not None and sp.text in a.text:
                continue  # the figure the question itself states is not its answer
            if sp.figure is not None and any(sp.text in t for t in ev.taken):
                continue  # given already, for an earlier question of the same question
            if head and not (bare.endswith(head) or c.text.startswith(head, sp.end)):
                continue  # "哪个县" is not answered by a 镇 (“心连心”服务中心 names one)
            if proper_only and sp.kind == "term":
                continue
            if who and not names_someone(bare):
                continue  # "副市长是谁" is not answered by a title the city won
            cs, ce = clause_of(c.text, sp)
            clause = clause_text(c.text[cs:ce])
            cos = ev.ctx.clause_cos(c.doc_id, c.start + cs, ev.query_vector)
            # the clause is about what is asked: it names it in the report's words, or the
            # model puts it close to the question (a resident's own words)
            # (when the part that asks names nothing itself, "…农村的路还修不？大概修多长",
            # its topic was said before it: the sentence is the scope)
            # (an English question's words, rendered by a dictionary, seldom fall in the
            # clause of its figure: 蝉联五届全国双拥模范城 names no rendering of "model city")
            wide = a.answer_type == "named" or (a.english and a.wants_figure)
            scope = c.text if wide or not ev.visible(a.focus) else clause
            # (a name of the asked kind, …纲要 for 哪个规划纲要, needs the sentence to name
            # the topic at all)
            # (a place names most of the topic; English topic words come from a dictionary)
            strict = a.answer_type == "place" and not a.english
            after = ""
            if a.answer_type == "date":
                # a date of an enumeration is about its own item: the work named there, the
                # step said right after it (…二期6月底前竣工、…产业园9月底前开工)
                ps, pe = piece_of(c.text, sp)
                after = c.text[sp.end : pe]
                if (ps, pe) != (cs, ce) and not a.english:
                    scope, strict = c.text[ps:pe], True
            if not ev.names_topic(scope, strict=strict) and cos < ev.about_min:
                continue
            if a.answer_type == "place" and subject and subject not in clause:
                continue  # where the museum goes is said next to the museum
            unmet = unmet_constraint(ev, c, (cs, ce), after=after)
            if unmet:
                unmet_at = unmet_at or (c, clause, unmet)
                continue
            found.append((cos + c.score, c, clause))
            if sp.kind == "name":
                proper_found.append(found[-1])
            if a.change and sp.figure is not None and is_change(c.text, sp):
                change_found.append(found[-1])
    if a.answer_type == "named" and proper_found:
        found = proper_found  # a proper name (夹江基地) over a description (…供应基地)
    if change_found:
        found = change_found  # 多了多少张病床: 新增床位500张, not 床位总数达到1300张
    if found:
        _, c, clause = max(found, key=lambda x: x[0])
        clauses = [clause] + _companions(ev, c, clause, [x for x in found if x[1] is c])
        return Outcome("answered", _figure_lead(ev, c, "；".join(clauses)), (ev.quote(c),))
    if unmet_at:
        c, clause, unmet = unmet_at
        return Outcome(
            "partial", partial_lead(a, clause, unmet), (ev.quote(c),), "detail_missing", unmet
        )
    c = ev.best
    if unrelated(ev, c):  # a partial answer speaks of the subject: this sentence does not
        return Outcome("refused", "", (), "not_in_report")
    # what the sentence gives instead, said from the clause that names the subject (the
    # sentence on 收入 also gives 民生支出's 65%)
    instead = related(c.text, a.answer_type)
    named = [sp for sp in instead if ev.names_topic(clause_with(c, sp))]
    clause = clause_with(c, (named or instead)[0]) if instead else ev.best_clause(c)
    return Outcome("partial", partial_lead(a, clause, None), (ev.quote(c),), "detail_missing")


_ASKS_WHO = cue("asks_who")
_BODY_NAME = cue("body_name")
_WORK_DONE = cue("figure_added")


def names_someone(name: str) -> bool:
    """Whether ``name`` names a person (jieba tags a personal name) or a body (a name ending
    in 局, 委员会, 研究院…): what a who-question is answered by."""
    tags = pos_tags(name)
    work = tags[0][1].startswith("v") or _WORK_DONE.match(name)
    if _BODY_NAME.search(name) and len(tags) > 1 and not work:
        return True  # (新建学校 is a work done, not a body)
    return any(flag in ("nr", "nrfg", "nrt", "nt") for _, flag in tags)


def subject_head(ev: Evidence) -> str | None:
    """What the part that asks is about, as the report names it: its last topic word (the
    head of a Chinese noun phrase comes last: 特色美食主题博物馆 → 博物馆), the longest of
    those starting there."""
    a = ev.analysis
    if a.english:
        return None
    placed = [(a.ask.find(w), len(w), w) for w in ev.visible(a.focus) if w in a.ask]
    return max(placed)[2] if placed else None


def _companions(
    ev: Evidence, c: Candidate, chosen: str, same: list[tuple[float, Candidate, str]]
) -> list[str]:
    """Other answer clauses of the same sentence that name a topic word the chosen one does
    not ("地方性法规5部" and "政府规章2部" for "出台了多少地方性法规和政府规章"), in order."""
    focus = ev.visible(ev.analysis.focus)
    covered = {w for w in focus if w in chosen}
    out = []
    for _, _, clause in sorted(same, key=lambda x: c.text.find(x[2])):
        new = {w for w in focus if w in clause} - covered
        if clause != chosen and clause not in out and new:
            out.append(clause)
            covered |= new
    return out


def _figure_lead(ev: Evidence, c: Candidate, clause: str) -> str:
    if ev.analysis.english:
        return figure_lead_en(clause, sentence_kind(c.text, c.section))
    if ev.analysis.yes_no:  # said as the clause shown says it (将于…建成: not yet)
        return yes_no_lead(ev.analysis, clause, sentence_kind(clause, c.section))
    return clause


def status_answer(ev: Evidence) -> Outcome | None:
    """A yes/no or done-or-planned question: the best sentence, said as done or planned (and
    "不是" when the question states a figure the report does not)."""
    c = leading(ev)
    if unrelated(ev, c):
        return Outcome("refused", "", (), "not_in_report")
    clause = ev.best_clause(c)
    kind = sentence_kind(clause, c.section)
    lead = yes_no_lead(ev.analysis, clause, kind)
    quotes = [ev.quote(c)]
    for other, text in _status_companions(ev, c, clause):
        if ev.analysis.english:
            lead += f"; also: “{text}”"
        elif sentence_kind(text, other.section) == "target" and kind != "target":
            # what is asked is still a plan, though a step before it is done (封顶, 投产 asked)
            if ev.analysis.constraints.status == "done" and not lead.startswith(("还没有", "不是")):
                lead = f"还没有，{lead}"
            lead += f"；目标/计划：{text}"
        else:
            lead += f"；{text}"
        if ev.quote(other) not in quotes:
            quotes.append(ev.quote(other))
    return Outcome("answered", lead, tuple(quotes))


_PROGRESS = cue("status_progress")


def _status_companions(ev: Evidence, c: Candidate, chosen: str) -> list[tuple[Candidate, str]]:
    """What else a done-or-planned answer needs: the clause right after the chosen one when
    it says how far the work has got ("已通过省级审核，正在报国家审批"); and the clause of
    another close sentence that names what is asked where the chosen one does not (封顶 is
    said, 投产 asked: "…四季度通线投产")."""
    out: list[tuple[Candidate, str]] = []
    clauses = [clause_text(c.text[s:e]) for s, e in split_clauses(c.text)]
    if chosen in clauses:
        i = clauses.index(chosen)
        if i + 1 < len(clauses) and _PROGRESS.search(clauses[i + 1]):
            out.append((c, clauses[i + 1]))
    focus = ev.naming_words
    said = " ".join([chosen, *(t for _, t in out)])
    missing = [w for w in focus if w not in said]
    if not missing:
        return out
    for other in ev.close(limit=6):
        if other is c or other.text == c.text:
            continue
        text = ev.best_clause(other, lambda t: any(w in t for w in missing))
        if any(w in text for w in missing) and text not in said:
            out.append((other, text))
            break
    return out


def description(ev: Evidence) -> Outcome | None:
    """An open question: the best sentence, shown whole when short, else its best clause."""
    c = leading(ev)
    if unrelated(ev, c):
        return Outcome("refused", "", (), "not_in_report")
    if len(c.text) < MIN_SUPPORT_CHARS and restates(ev.analysis, c.text):
        # a topic line restating the question ("筑牢生态本底。" for 生态本底怎么筑牢): what
        # the part it opens says
        under = point_labelled(ev, c)
        if under is not None:
            return under
    text = c.text.strip().rstrip("。；;")
    direct = text if len(text) <= 60 else ev.best_clause(c)
    if ev.analysis.english:
        direct = f"The report says ({sentence_kind(c.text, c.section)}): “{direct}”"
    return Outcome("answered", direct, (ev.quote(c),))
