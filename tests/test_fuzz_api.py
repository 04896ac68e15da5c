"""Schemathesis fuzzing of the HTTP API, in process (ASGI), with the fake-embedder pipeline.

Every operation of ``/openapi.json`` gets schema-valid and schema-violating requests
(examples, coverage and fuzzing phases). Each response must not be a 5xx, must have a
documented status code and content type, must match its documented schema, and a
schema-violating request must be rejected (4xx). The two event streams (the answer stream
and ``/v1/chat/completions`` with ``"stream": true``) document no JSON schema for
``text/event-stream``, so :func:`event_stream_is_well_formed` checks their events instead.

The app is created at import time (schemathesis' lazy ``from_fixture`` loader does not work
with this pytest version); it is cheap without a pipeline, and the module fixture attaches
the service (fake-embedder pipeline, private feedback store) before any request is made.

``pytest -s tests/test_fuzz_api.py`` prints the number of generated cases per operation.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import FAKE_RULES, SEEDS, FakeEmbedder
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rag import schemas
from rag.config import Settings
from rag.feedback import FeedbackStore
from rag.index import build_index
from rag.pipeline import Pipeline
from web.app import create_app
from web.service import AnswerService

MAX_EXAMPLES = 150  # per operation and generation mode (fuzzing phase)
MIN_CASES = 1000

# never written to: the fixture below swaps in a private store before the first request
_PLACEHOLDER = Settings(seeds_dir=SEEDS, data_dir=Path(tempfile.gettempdir()) / "rag-fuzz-unused")
APP = create_app(_PLACEHOLDER)
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES},
        # read whole event streams (an answer is ~100 events; the default stops at 20)
        "max-stream-events": 100_000,
        # 413 (body over RAG_MAX_BODY_BYTES) is a rejection too
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 404, 405, 406, 413, 415, 422]
            }
        },
    }
)
# from the app object, not via from_asgi: that client would run the lifespan, which loads
# the real model and builds an index when no pipeline is attached yet
schema = schemathesis.openapi.from_dict(APP.openapi(), config=CONFIG)
schema.app = APP
OPERATIONS = sum(1 for _ in schema.get_all_operations())

CASES: Counter[str] = Counter()
_SSE_LINE = re.compile(r"\r\n|\r|\n")


@pytest.fixture(scope="module", autouse=True)
def _pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    settings_ = Settings(seeds_dir=SEEDS, data_dir=tmp_path_factory.mktemp("fuzz"))
    emb = FakeEmbedder()
    index = build_index(settings_, emb)
    pipe = Pipeline(settings_, embedder=emb, index=index, rules=FAKE_RULES).load()
    APP.state.settings = settings_
    APP.state.service = AnswerService(
        settings_,
        metrics=APP.state.metrics,
        pipeline=pipe,
        feedback=FeedbackStore(settings_.feedback_db),
    )
    yield
    APP.state.service = None


def _sse_events(text: str) -> list[tuple[str, str]]:
    """(event name, data) of each event of a text/event-stream body.

    Lines end only at CR, LF or CRLF (not at U+2028 and the like, which JSON built with
    ``ensure_ascii=False`` may carry raw), as the SSE specification says.
    """
    events: list[tuple[str, str]] = []
    name, data = "message", list[str]()
    for line in _SSE_LINE.split(text):
        if not line:  # a blank line ends an event
            if data:
                events.append((name, "\n".join(data)))
            name, data = "message", list[str]()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        events.append((name, "\n".join(data)))
    return events


def event_stream_is_well_formed(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """A 200 text/event-stream body holds the events the API documents, as valid JSON."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code != 200 or not content_type.startswith("text/event-stream"):
        return None
    assert not response.stream_cut_short, "the event stream was read only in part"
    events = _sse_events(response.content.decode("utf-8"))
    assert events, "empty event stream"
    if case.operation.path == "/api/answer/stream":
        names = [name for name, _ in events]
        assert names[-1] == "done" and names.count("done") == 1, names
        done = schemas.ServedAnswerOut.model_validate_json(events[-1][1])
        assert names.count("citation") == len(done.citations), names
        deltas = []
        for name, data in events[:-1]:
            if name == "citation":
                schemas.CitationOut.model_validate_json(data)
            else:
                assert name == "delta", (name, data)
                deltas.append(schemas.DeltaOut.model_validate_json(data).text)
        assert "".join(deltas) == done.answer
    else:  # OpenAI-style chunks, then [DONE]
        assert events[-1][1] == "[DONE]", events[-1]
        for _, data in events[:-1]:
            schemas.ChatCompletionChunkOut.model_validate_json(data)
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    event_stream_is_well_formed,
]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_operation(case: schemathesis.Case) -> None:
    CASES[case.operation.label] += 1
    case.call_and_validate(checks=CHECKS)


def test_fuzzing_ran_enough_cases(record_property: Any) -> None:
    """Runs after the fuzz tests above (file order): at least MIN_CASES cases in all."""
    if len(CASES) < OPERATIONS:
        pytest.skip("not every operation was fuzzed in this session (-k / deselection)")
    total = sum(CASES.values())
    record_property("fuzz_cases", total)
    print(f"\nschemathesis: {total} cases over {len(CASES)} operations")
    for label, n in sorted(CASES.items()):
        print(f"  {n:5d}  {label}")
    assert total >= MIN_CASES, dict(CASES)
