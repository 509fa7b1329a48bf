"""The compiled web alert-line writer (``watchhouse._native._weblines``) against its reference,
``WebFindingRows._alert_lines_reference``: the same bytes on every row, and the same refusals.

``test_finding_rows.py`` holds whichever writer runs to ``Alert.to_json``; here both run on the
same rows, including evidence references, texts and values the detector never produces itself
(every branch of the reference has its twin).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.detectors.web.test_attack_output_paths import POLICY_ROWS
from tests.detectors.web.test_attack_patterns import ALL_POSITIVES, NEAR_MISSES

from watchhouse.core.alerts import alert_ids_of
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import EventRef
from watchhouse.detectors.web import findings
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.findings import WebFindingRows
from watchhouse.testing.factories import make_batch

kernel = pytest.importorskip("watchhouse._native._weblines", reason="compiled kernels not built (Python writes)")

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CRS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "crs-tests"


@pytest.fixture(autouse=True)
def _compiled_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``alert_lines`` runs the twin here, even where ``WATCHHOUSE_PURE_PYTHON`` is set."""
    monkeypatch.setattr(findings, "native_weblines", kernel)


def _fresh_memories(rows: WebFindingRows) -> None:
    """Forget what the rows wrote before: each writer starts from the same state."""
    rows._shown.clear()
    rows._agents_shown.clear()
    rows._stamps.clear()


def _both(rows: WebFindingRows, indices: list[int] | None = None, version: str = "2") -> tuple[bytes, bytes]:
    chosen = list(range(len(rows))) if indices is None else indices
    ids = [alert_ids_of(rows.detector, [rows.keys[i]])[0] for i in chosen]
    _fresh_memories(rows)
    reference = rows._alert_lines_reference(chosen, ids, version)
    _fresh_memories(rows)
    return reference, rows.alert_lines(chosen, ids, version)


def _rows(batch: EventBatch, **options: Any) -> WebFindingRows:
    rows = WebAttackDetector(**options).detect_rows(batch)
    assert isinstance(rows, WebFindingRows)
    return rows


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_the_same_lines_on_the_samples(level: int) -> None:
    batch = EventBatch.concat(
        [*[s.batch for s in ALL_POSITIVES + NEAR_MISSES], make_batch(Dataset.HTTP, POLICY_ROWS, path="policy.log")]
    )
    rows = _rows(batch, paranoia_level=level)
    reference, compiled = _both(rows)
    assert compiled == reference and compiled.count(b"\n") == len(rows) >= 20
    # a subset, in another order, with repeats (post-processing keeps what it keeps)
    picked = [len(rows) - 1, 0, 3, 3, 1]
    reference, compiled = _both(rows, picked)
    assert compiled == reference and compiled.count(b"\n") == 5
    assert _both(rows, [])[1] == b""


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=16)
_PAYLOADS = st.sampled_from(
    ["1' OR '1'='1", "<script>alert(1)</script>", "../../etc/passwd", ";cat /etc/passwd", "${jndi:ldap://x/a}"]
)


@st.composite
def _requests(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        payload = draw(_PAYLOADS) + draw(_ANY_TEXT)
        where = draw(st.sampled_from(["query", "agent", "header", "body"]))
        row: dict[str, Any] = {
            "@timestamp": T0 + timedelta(microseconds=draw(st.integers(0, 3))),
            "source.ip": draw(st.sampled_from(["203.0.113.7", "2001:db8::1", "", None])),
            "http.request.method": draw(st.sampled_from(["GET", "POST", "", None, 'GE"T'])),
            "http.response.status_code": draw(st.sampled_from([200, 403, None, 0])),
            "url.original": "/" + draw(_ANY_TEXT) + "?q=" + (payload if where == "query" else "1"),
            "user_agent.original": payload if where == "agent" else draw(st.one_of(st.none(), _ANY_TEXT)),
            "log.offset": draw(st.one_of(st.none(), st.integers(0, 2**62))),
            "log.file.path": draw(st.sampled_from(["gen/access.log", 'a "q" \\ \x01\u2028ü.log'])),
        }
        if where == "header":
            row["http.request.headers"] = json.dumps({"X-Forwarded-For": payload})
        if where == "body":
            row["http.request.body.content"] = "comment=" + payload
        rows.append(row)
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_requests(), excerpt_chars=st.sampled_from([8, 24, 200]), version=st.sampled_from(["2", 'v"\n']))
@example(  # every byte orjson escapes, in the URL, the agent and the path
    rows=[
        {
            "@timestamp": T0,
            "source.ip": "203.0.113.7",
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "url.original": "/?q=' OR 1=1--" + "".join(map(chr, range(32))) + '"\\\x7f',
            "user_agent.original": "sqlmap/1.0 " + "".join(map(chr, range(32))) + '"\\',
            "log.offset": 12,
            "log.file.path": "".join(map(chr, range(1, 32))) + '"\\.log',
        }
    ],
    excerpt_chars=200,
    version="2",
)
def test_the_same_lines_on_generated_requests(rows: list[dict[str, Any]], excerpt_chars: int, version: str) -> None:
    batch = make_batch(Dataset.HTTP, rows, path="gen/access.log", first_line=7)
    found = WebAttackDetector(paranoia_level=4, excerpt_chars=excerpt_chars).detect_rows(batch)
    if isinstance(found, WebFindingRows):
        reference, compiled = _both(found, version=version)
        assert compiled == reference
        for line in compiled.splitlines():
            orjson.loads(line)  # each is a JSON object on its own


_INTEGER = st.one_of(st.none(), st.integers(0, 2**63 - 1), st.sampled_from([2**63, 2**64 - 1, 2**70, True]))


@settings(max_examples=120, deadline=None)
@given(references=st.lists(st.tuples(_ANY_TEXT, _INTEGER, _INTEGER), min_size=1, max_size=4))
def test_every_evidence_reference_is_spelt_as_the_reference_spells_it(references: list[tuple[Any, ...]]) -> None:
    """Line and offset each present or absent, integers past 64 bits, a bool: the reference writes
    ``b"%d"`` where both are present and orjson otherwise; the twin must write (or refuse) alike."""
    batch = make_batch(Dataset.HTTP, [{"@timestamp": T0, "url.original": "/?q=1' OR '1'='1"}] * len(references))
    rows = _rows(batch)
    rows._references = [EventRef(path, line, offset) for path, line, offset in references]
    chosen = list(range(len(rows)))
    ids = alert_ids_of(rows.detector, rows.keys)
    try:
        expected: bytes | type[Exception] = rows._alert_lines_reference(chosen, ids, "2")
    except (TypeError, orjson.JSONEncodeError) as exc:  # orjson refuses integers past 64 bits
        expected = type(exc)
    _fresh_memories(rows)
    if isinstance(expected, bytes):
        assert rows.alert_lines(chosen, ids, "2") == expected
    else:
        with pytest.raises(expected):
            rows.alert_lines(chosen, ids, "2")


def test_a_text_that_is_not_utf8_is_refused_as_the_reference_refuses_it() -> None:
    batch = make_batch(Dataset.HTTP, [{"@timestamp": T0, "url.original": "/?q=<script>alert(1)</script>"}])
    rows = _rows(batch)
    rows._references = [EventRef("\ud800.log", 1, 2)]
    ids = alert_ids_of(rows.detector, rows.keys)
    with pytest.raises(orjson.JSONEncodeError) as reference:
        rows._alert_lines_reference([0], ids, "2")
    with pytest.raises(orjson.JSONEncodeError) as compiled:
        rows.alert_lines([0], ids, "2")
    assert str(compiled.value) == str(reference.value)


def test_wrong_arguments_are_refused_not_read_past() -> None:
    """The twin indexes C arrays: every index and length is checked before it is read."""
    batch = make_batch(Dataset.HTTP, [{"@timestamp": T0, "url.original": "/?q=<script>alert(1)</script>"}])
    rows = _rows(batch)
    ids = alert_ids_of(rows.detector, rows.keys)
    with pytest.raises(ValueError, match="ids"):
        rows.alert_lines([0], [], "2")
    with pytest.raises(IndexError):
        rows.alert_lines([1], ids, "2")
    assert rows.alert_lines([-1], ids, "2") == rows._alert_lines_reference([-1], ids, "2")  # as a list reads it
    rows._references = []
    with pytest.raises(ValueError, match="column"):
        rows.alert_lines([0], ids, "2")


def test_the_same_lines_on_the_crs_suite(corpora: Path) -> None:
    from watchhouse.detectors.web.evaluation import load_crs

    batch = make_batch(Dataset.HTTP, [case.row for case in load_crs(corpora / "crs-tests")])
    for level in (1, 4):
        rows = _rows(batch, paranoia_level=level)
        reference, compiled = _both(rows)
        assert len(rows) > 2_000 and compiled == reference
