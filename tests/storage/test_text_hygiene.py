"""A hostile NUL in an alert's text must not stop a scan from storing it on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from watchhouse.core.alerts import Alert
from watchhouse.storage.alert_store import AlertStore
from watchhouse.storage.text_hygiene import NUL_MARK, _marked, storable, storable_text

from .test_alert_store import alert


def _hostile(n: int) -> Alert:
    base = alert(n)
    return replace(
        base,
        title="SQL injection: 1' union\x00select",
        explanation="matched after decoding %00: 'union\x00select'",
        subject=replace(base.subject, value="203.0.113.9\x00"),
        details={"findings": [{"matched": "\x00../etc/passwd", "rule\x00": 1}], "n": 2},
        tags=("attack.t1190", "nul\x00tag"),
    )


def test_alerts_with_nul_store_and_read_back_with_a_visible_mark_on_both_backends(db_url: str, tmp_path: Path) -> None:
    store = AlertStore.open(db_url)
    try:
        assert store.save([_hostile(1), alert(2)]) == 2
        back = store.get(alert(1).id)
        assert back is not None
        assert back.title == f"SQL injection: 1' union{NUL_MARK}select"
        assert back.explanation.endswith(f"'union{NUL_MARK}select'") and back.subject.value.endswith(NUL_MARK)
        assert back.details == {"findings": [{"matched": f"{NUL_MARK}../etc/passwd", f"rule{NUL_MARK}": 1}], "n": 2}
        assert back.tags == ("attack.t1190", f"nul{NUL_MARK}tag")
        assert store.get(alert(2).id) == alert(2)  # ordinary alerts are stored unchanged
    finally:
        store.close()


@given(st.recursive(st.text() | st.integers() | st.none(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_storable_removes_every_nul_and_changes_nothing_else(value: object) -> None:
    cleaned = storable(value)
    assert "\x00" not in repr(cleaned).replace("\\x00", "")
    assert "\x00" not in str(cleaned)
    if isinstance(value, str):
        assert cleaned == storable_text(value) and len(cleaned) == len(value)
        assert cleaned.replace(NUL_MARK, "\x00") == value.replace(NUL_MARK, "\x00")


_JSON_VALUES = st.recursive(
    st.text() | st.integers(-(2**63), 2**64 - 1) | st.none() | st.booleans(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_VALUES)
def test_the_first_look_gives_what_the_walk_gives(value: object) -> None:
    # the orjson look only decides whether to walk: stored as JSON, both give the same text
    assert orjson.dumps(storable(value)) == orjson.dumps(_marked(value))


def test_text_that_only_looks_like_an_escaped_nul_is_kept_and_real_nuls_are_marked_at_any_depth() -> None:
    spelt = {"payload": "a\\u0000b", "list": ["\\\\u0000"]}  # a backslash and "u0000": no NUL at all
    assert storable(spelt) == spelt
    assert storable({"k\x00": [("x", {"y": "\x00"})]}) == {f"k{NUL_MARK}": [["x", {"y": NUL_MARK}]]}
    assert storable({1: "a\x00"}) == {1: f"a{NUL_MARK}"}  # a key orjson refuses: walked
