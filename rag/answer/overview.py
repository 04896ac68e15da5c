"""The overview strategy: a section's own points, each with its key clauses; or, when
no section is named, the best sentences on the topic."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..chunking import clause_text, split_clauses, split_sentences
from ..structure import DEFAULT_OPENING_LABEL
from .evidence import coverage, sentence_kind
from .figures import figures
from .leads import items_lead
from .outline import Point
from .spans import is_list

if TYPE_CHECKING:
    pass

from .evidence import Candidate
from .strategy import (
    MIN_SUPPORT_CHARS,
    Evidence,
    Outcome,
    Quote,
    candidate_at,
    fits,
    shown,
    wanted_kind,
)


def _key_clauses(
    ev: Evidence, doc_id: str, start: int, end: int, limit: int
) -> list[tuple[str, Quote]]:
    """Up to ``limit`` clauses of the text ``[start, end)`` that carry its content: those
    stating a figure first (closest to the question first, shown in document order), else
    the clause closest to the question; each with the sentence to cite."""
    doc = ev.index.documents[doc_id]
    scored: list[tuple[float, int, str, Quote]] = []
    for s, e in split_sentences(doc.text[start:end], start):
        c = candidate_at(ev, doc_id, s, e)
        if c is None:
            continue
        for cs, ce in split_clauses(c.text, c.start):
            t = clause_text(doc.text[cs:ce])
            if len(t) < 4:
                continue
            # what a point says: its figures first, then its enumerations, then the rest
            bonus = 1.0 if any(f.kind not in ("date", "period") for f in figures(t)) else 0.0
            bonus = bonus or (0.5 if is_list(t) else 0.0)
            cos = ev.ctx.clause_cos(doc_id, cs, ev.query_vector)
            scored.append((cos + bonus, cs, t, ev.quote(c)))
    top = sorted(scored, key=lambda x: -x[0])[:limit]
    return [(t, q) for _, _, t, q in sorted(top, key=lambda x: x[1])]


def _point_items(ev: Evidence, node: Point, doc_id: str) -> list[tuple[str, list[Quote]]]:
    """The points under ``node``, each as "label（key clauses）" with the sentences to cite;
    a leaf's points are the clauses of its sentences that state figures (or its sentences)."""
    doc = ev.index.documents[doc_id]
    out: list[tuple[str, list[Quote]]] = []
    if not node.children:
        return _sentence_points(ev, doc_id, node.end, node.body_end)
    first = node.children[0]
    intro = _key_clauses(ev, doc_id, node.end, first.start, 1) if first.start > node.end else []
    for t, q in intro:  # what the point says before its first sub-point (not a lead-in)
        if not doc.text[q[1] : q[2]].rstrip().endswith((":", "：")):
            out.append((t, [q]))
    for p in node.children[: ev.rules.max_items]:
        keys = _key_clauses(ev, doc_id, p.end, p.body_end, 2)
        label = p.label.strip()
        said = [t for t, _ in keys if t != label]
        text = f"{label}（{'；'.join(said)}）" if said else label
        out.append((text, [q for _, q in keys] or [(doc_id, p.start, p.end, ())]))
    return out


def _sentence_points(
    ev: Evidence, doc_id: str, start: int, end: int, *, to_full_stop: bool = False
) -> list[tuple[str, list[Quote]]]:
    """The sentences of ``[start, end)`` as points, each shown by its clauses that state
    figures, with the sentence to cite; ``to_full_stop``: up to the first that closes with
    。 (points that run on with ；)."""
    doc = ev.index.documents[doc_id]
    out: list[tuple[str, list[Quote]]] = []
    for s, e in split_sentences(doc.text[start:end], start):
        c = candidate_at(ev, doc_id, s, e)
        if c is not None and len(c.text.strip()) >= 6:
            out += [(t, [ev.quote(c)]) for t in shown(ev, c)]
        if to_full_stop and doc.text[s:e].rstrip().endswith(("。", "！", "？")):
            break
    return out[: ev.rules.max_items]


def _node_kind(ev: Evidence, node: Point, doc_id: str) -> str:
    """Whether a point reports results or plans (the kind of most of its first sentences)."""
    doc = ev.index.documents[doc_id]
    para = next((p for p in doc.paragraphs if p.start <= node.body_start < p.end), None)
    section = para.section if para else ()
    spans = split_sentences(doc.text[node.body_start : node.body_end], node.body_start)[:4]
    kinds: list[str] = [sentence_kind(doc.text[s:e], section) for s, e in spans]
    return max(("achievement", "target"), key=kinds.count)


def _node_for(ev: Evidence) -> tuple[Point, str] | None:
    """The outline point an overview question names: among the points holding the best
    sentences, one whose label covers most of the topic (IDF-weighted; at least
    ``rules.node_label_min``), of the time asked about (results or plans); a point with points
    under it is preferred to one of them that names the topic only a little better. When no
    point holding the best sentences is named, any point whose label names the topic (a
    section heading names what its short intro does not: 七、…平安乐山)."""
    seen: set[int] = set()
    nodes: list[tuple[Point, str]] = []
    for c in ev.wide[:6]:
        root = ev.ctx.outlines.get(c.doc_id)
        if root is not None:
            nodes += [(n, c.doc_id) for n in root.path_to(c.start)[1:]]
    found = _best_named(ev, nodes, seen) or _introduced(ev)
    if found is None and not ev.analysis.english:
        docs = {c.doc_id for c in ev.wide}
        everywhere = [(n, d) for d in docs if (root := ev.ctx.outlines.get(d)) for n in root.walk()]
        found = _best_named(ev, everywhere, seen)
    return found


_POSITION = re.compile(
    r"(第[一二三四五六七八九十\d]{1,2}|最后一?|最末一?)(?:个)?(?:部分|章|大部分|板块)"
)
_NUMERAL = {ch: i for i, ch in enumerate("一二三四五六七八九十", start=1)}


def _numeral(text: str) -> int:
    """一 → 1, 十二 → 12, 3 → 3 (0 when it is none)."""
    if text.isdigit():
        return int(text)
    if len(text) == 2 and text[0] == "十":
        return 10 + _NUMERAL.get(text[1], 0)
    if len(text) == 2 and text[1] == "十":
        return 10 * _NUMERAL.get(text[0], 0)
    return _NUMERAL.get(text, 0) if len(text) == 1 else 0


_PART_NUMBER = re.compile(
    r"^(?:第([一二三四五六七八九十\d]{1,2})部分|([一二三四五六七八九十]{1,2})、)"
)


def _node_by_position(ev: Evidence) -> tuple[Point, str] | None:
    """The part a question names by its place in the report ("最后一部分", "第三部分"): the
    top-level heading numbered so (一、 / 第三部分), else the one at that place in order (the
    opening before the first heading, which the report does not title, not counted)."""
    m = _POSITION.search(ev.analysis.text)
    doc_id = ev.best.doc_id
    root = ev.ctx.outlines.get(doc_id) if m else None
    if m is None or root is None:
        return None
    parts = [n for n in root.children if n.is_heading and n.label != DEFAULT_OPENING_LABEL]
    numbered = {}
    for n in parts:
        label = _PART_NUMBER.match(n.label.strip())
        if label:
            numbered[_numeral(label.group(1) or label.group(2))] = n
    word = m.group(1)
    if word.startswith("最"):
        node = parts[-1] if parts else None
    else:
        k = _numeral(word[1:])
        node = numbered.get(k) or (parts[k - 1] if not numbered and 1 <= k <= len(parts) else None)
    return (node, doc_id) if node is not None else None


def named_part(ev: Evidence) -> Outcome | None:
    """A question about a part named by its place ("报告最后一部分讲了哪几方面"): its points."""
    found = _node_by_position(ev)
    if found is None:
        return None
    items = _point_items(ev, *found)
    return _items_answer(ev, items, extra_quotes=False) if len(items) >= 2 else None


def _introduced(ev: Evidence) -> tuple[Point, str] | None:
    """The section whose introduction holds the best sentence (the text between its heading
    and its first point: "文化旅游是…。我们将突出文旅主干,…" speaks for the section under
    it), of the time asked about: a question its introduction answers asks what it says."""
    c = ev.best
    root = ev.ctx.outlines.get(c.doc_id)
    if root is None or not _about(ev, c):
        return None
    want = wanted_kind(ev)
    for node in reversed(root.path_to(c.start)[1:]):
        if not node.is_heading:  # a paragraph's first sentences are what it says
            continue
        if len(node.children) >= 2 and node.end <= c.start < node.children[0].start:
            if not want or fits(_node_kind(ev, node, c.doc_id), want):
                return node, c.doc_id
            return None
    return None


def _about(ev: Evidence, c: Candidate) -> bool:
    """Whether ``c`` speaks for what is asked: it names it in the report's words, or the
    model puts it very close (``about_min``). A general sentence close to any plan
    ("今后五年…的主要目标是:") does not stand for a subject the report words otherwise (看病)."""
    return ev.names_topic(c.text) or c.cos >= ev.about_min


def _best_named(
    ev: Evidence, nodes: list[tuple[Point, str]], seen: set[int]
) -> tuple[Point, str] | None:
    a = ev.analysis
    want = wanted_kind(ev)
    best: tuple[float, int, Point, str] | None = None
    for node, doc_id in nodes:
        if id(node) in seen:
            continue
        seen.add(id(node))
        if a.english:
            cov = ev.ctx.sentence_cos(doc_id, node.start, ev.query_vector) - 0.3
        else:
            cov = coverage(node.label, a.topic_groups, ev.ctx.idf)
        if cov < ev.rules.node_label_min:
            continue
        if want and not fits(_node_kind(ev, node, doc_id), want):
            continue
        body = ev.index.documents[doc_id].text[node.end : node.body_end]
        if len(node.children) < 2 and len(split_sentences(body)) < 2:
            continue
        score = cov + (ev.rules.node_parent_bonus if node.children else 0.0)
        if best is None or score > best[0] or score == best[0] and node.depth > best[1]:
            best = (score, node.depth, node, doc_id)
    return (best[2], best[3]) if best else None


def overview(ev: Evidence, *, gather: bool = True) -> Outcome | None:
    """A question about a theme or section: the section's own points, in order, each with
    its key clauses, cited; when no section is named, the best sentences on the topic (of
    the time asked about), in document order (unless ``gather`` is off)."""
    found = _node_for(ev)
    if found is not None:
        node, doc_id = found
        items = _point_items(ev, node, doc_id)
        if len(items) < 2:
            return None
    elif gather:
        items = _gathered(ev)
        if not items:
            return None
    else:
        return None
    # a section's points are complete; gathered sentences may not be
    return _items_answer(ev, items, extra_quotes=found is None)


def _items_answer(
    ev: Evidence, items: list[tuple[str, list[Quote]]], *, extra_quotes: bool
) -> Outcome:
    """The answer listing ``items`` ("共N项：…"), each once (the report repeats itself at
    times), with their sentences cited."""
    texts = list(dict.fromkeys(t for t, _ in items))
    quotes = tuple(dict.fromkeys(q for _, qs in items for q in qs))[: ev.rules.max_items]
    return Outcome("answered", items_lead(ev.analysis, texts), quotes, extra_quotes=extra_quotes)


def _gathered(ev: Evidence) -> list[tuple[str, list[Quote]]]:
    """The sentences within ``rules.gather_margin`` of the best, of the time asked about,
    each shown by its clauses that state figures (or its best clause), in document order."""
    want = wanted_kind(ev)
    picked = [
        c
        for c in ev.close(margin=ev.rules.gather_margin, limit=12)
        if len(c.text) >= MIN_SUPPORT_CHARS
        and not c.text.rstrip().endswith((":", "："))  # a lead-in announces, says nothing
        and (not want or fits(sentence_kind(c.text, c.section), want))
    ][: ev.rules.max_items]
    picked.sort(key=lambda c: (c.doc_id, c.start))
    out: list[tuple[str, list[Quote]]] = []
    for c in picked:
        out.append(("；".join(shown(ev, c)[:3]), [ev.quote(c)]))
    return out


def point_labelled(ev: Evidence, c: Candidate) -> Outcome | None:
    """The points of the outline point that the sentence ``c`` labels ("筑牢生态本底。" opens
    a paragraph of its own points), when it labels one that says more: a question whose best
    sentence is a topic line asks what the part under it says."""
    root = ev.ctx.outlines.get(c.doc_id)
    if root is None:
        return None
    node = next((n for n in root.path_to(c.start)[1:] if n.start == c.start), None)
    if node is None:
        return None
    items = _point_items(ev, node, c.doc_id)
    return _items_answer(ev, items, extra_quotes=False) if len(items) >= 2 else None


def lead_in(ev: Evidence) -> Outcome | None:
    """A question whose best sentence announces what follows ("…的主要目标是:") asks for
    what follows: the points of the section it opens."""
    if ev.best.text.rstrip().endswith((":", "：")):
        return point_labelled(ev, ev.best) or overview(ev, gather=False)
    # a lead-in that runs on into its first point ("…的主要预期目标是：地区生产总值增长6.5%
    # 左右；…"), among the close sentences, announcing what is asked in the report's words
    want = wanted_kind(ev)
    for c in ev.close():
        head, colon, _ = c.text.partition("：")
        if not colon or len(head) < 4:
            continue
        if want and not fits(sentence_kind(head, c.section), want):
            continue  # this year's ten projects are not last year's
        if ev.names_topic(head, strict=True):
            return point_labelled(ev, c) or _run_on(ev, c)
    return None


def _run_on(ev: Evidence, c: Candidate) -> Outcome | None:
    """The points a lead-in sentence announces in its own paragraph: its sentences from it
    to the first that closes with 。 (the points run on with ；), each shown by its clauses
    that state figures."""
    doc = ev.index.documents[c.doc_id]
    para = next((p for p in doc.paragraphs if p.start <= c.start < p.end), None)
    if para is None:
        return None
    items = _sentence_points(ev, c.doc_id, c.start, para.end, to_full_stop=True)
    return _items_answer(ev, items, extra_quotes=False) if len(items) >= 2 else None


def section_points(ev: Evidence) -> Outcome | None:
    """The points of the outline section a list question names ("主要目标里有哪些…")."""
    return overview(ev, gather=False)
