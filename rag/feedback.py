"""Durable feedback (👍/👎 on answers) in a SQLite file, written in transactions.

SQLite's journal makes each insert all-or-nothing: a process killed mid-write leaves the
previous rows intact. ``export_candidates`` turns 👎 items into candidate eval questions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Rating = Literal["up", "down"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    answer_id TEXT,
    question TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    answer TEXT,
    citations TEXT
)
"""


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    created_at: str
    answer_id: str | None
    question: str
    rating: Rating
    comment: str | None
    answer: str | None
    citations: list[dict[str, Any]]


_BUSY_SECONDS = 10.0


class FeedbackStore:
    """One SQLite file; every call opens its own connection (safe across threads and
    processes). The file is set up (WAL journal, table) once per store, on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False
        self._ready_lock = threading.Lock()

    def _setup(self) -> None:
        """WAL mode and the table, once. Switching the journal mode needs an exclusive lock
        and SQLite reports SQLITE_BUSY at once instead of waiting for it, so two processes
        creating the same file together must retry here (seen as 'database is locked')."""
        with self._ready_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + _BUSY_SECONDS
            while True:
                conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS)
                try:
                    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(_SCHEMA)
                    break
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err) or time.monotonic() > deadline:
                        raise
                finally:
                    conn.close()
                time.sleep(0.02)
            self._ready = True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._setup()
        conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    def add(
        self,
        *,
        question: str,
        rating: Rating,
        comment: str | None = None,
        answer_id: str | None = None,
        answer: str | None = None,
        citations: list[dict[str, Any]] | None = None,
    ) -> int:
        if rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', got {rating!r}")
        if not question.strip():
            raise ValueError("question is empty")
        with self._connect() as conn, conn:  # the inner `conn` is one transaction
            cur = conn.execute(
                "INSERT INTO feedback (created_at, answer_id, question, rating, comment, answer,"
                " citations) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    answer_id,
                    question,
                    rating,
                    comment,
                    answer,
                    json.dumps(citations or [], ensure_ascii=False),
                ),
            )
            return int(cur.lastrowid or 0)

    def items(self, rating: Rating | None = None) -> list[FeedbackItem]:
        with self._connect() as conn:
            sql = (
                "SELECT * FROM feedback" + (" WHERE rating = ?" if rating else "") + " ORDER BY id"
            )
            rows = conn.execute(sql, (rating,) if rating else ()).fetchall()
        return [
            FeedbackItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "[]"))
            for r in rows
        ]

    def export_candidates(self) -> list[dict[str, Any]]:
        """👎 items as candidate eval questions, marked ``needs_review``: a person fills in
        type, evidence and keywords (the parser rejects empty evidence until then)."""
        out: list[dict[str, Any]] = []
        for item in self.items("down"):
            ascii_share = sum(c.isascii() and c.isalpha() for c in item.question) / max(
                len(item.question), 1
            )
            out.append(
                {
                    "id": f"fb{item.id:04d}",
                    "question": item.question,
                    "lang": "en" if ascii_share > 0.5 else "zh",
                    "type": "fact",
                    "answer_keywords": [],
                    "evidence": [],
                    "section": "",
                    "needs_review": True,
                    "feedback": {
                        "comment": item.comment,
                        "answer": item.answer,
                        "cited": [c.get("quote", "") for c in item.citations],
                        "created_at": item.created_at,
                    },
                }
            )
        return out
