"""The Sigma frame builder decodes each event kind with its own fields, and the NumPy value
tests (EventID equality, null, exists) equal their Polars expressions."""

from __future__ import annotations

import json

import orjson
import polars as pl
import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.sigma.compiler import LeafTable, NullLogic, RuleCompiler
from watchhouse.sigma.evaluate import LeafPlan, LeafTruth
from watchhouse.sigma.frames import ROW_COLUMN, records_frame, sigma_frame


def _winlog_batch(rows: list[tuple[str, int, str | None]]) -> EventBatch:
    return EventBatch.from_columns(
        Dataset.WINLOG,
        {
            "log.file.path": ["Security.evtx"] * len(rows),
            "winlog.channel": [r[0] for r in rows],
            "winlog.event_id": [r[1] for r in rows],
            "winlog.event_data": [r[2] for r in rows],
        },
    )


def test_sigma_frame_decodes_each_kind_with_its_own_fields_in_any_layout() -> None:
    """Rows of several kinds, compact and pretty JSON, null EventData: each row's fields are its
    own and ROW_COLUMN maps frame rows back to batch rows."""
    sysmon, security = "Microsoft-Windows-Sysmon/Operational", "Security"
    events = [
        (sysmon, 1, orjson.dumps({"Image": "C:\\Windows\\cmd.exe", "CommandLine": 'cmd /c "x"'}).decode()),
        (security, 4688, orjson.dumps({"NewProcessName": "C:\\p.exe", "Image": "ignored"}).decode()),
        (sysmon, 1, None),
        (sysmon, 11, orjson.dumps({"TargetFilename": "C:\\t\u00e9.txt"}).decode()),
    ]
    fields_for = {
        (sysmon.lower(), 1): {"Image", "CommandLine"},
        (security.lower(), 4688): {"NewProcessName"},
        (sysmon.lower(), 11): {"TargetFilename"},
    }
    wanted = {"Image", "CommandLine", "NewProcessName", "TargetFilename", "EventID"}
    expected = {
        0: {"Image": "C:\\Windows\\cmd.exe", "CommandLine": 'cmd /c "x"'},
        1: {"NewProcessName": "C:\\p.exe"},  # Image is not read for 4688 events
        2: {},
        3: {"TargetFilename": "C:\\t\u00e9.txt"},
    }
    for layout in ("compact", "pretty"):
        rows = events
        if layout == "pretty":
            rows = [(c, e, None if d is None else json.dumps(json.loads(d), indent=2)) for c, e, d in events]
        frame = sigma_frame(
            _winlog_batch(rows), wanted, frozenset(), lambda c, e: fields_for.get((c or "", e or 0), set())
        )
        for row in frame.iter_rows(named=True):
            batch_row = row[ROW_COLUMN]
            fields = {k: v for k, v in row.items() if k not in (ROW_COLUMN, "EventID") and v is not None}
            assert fields == expected[batch_row], (layout, batch_row)
            assert row["EventID"] == events[batch_row][1]


@pytest.mark.parametrize("null_logic", [NullLogic.SIGMA, NullLogic.SQL])
def test_value_tests_equal_their_expressions(null_logic: NullLogic) -> None:
    """EventID equalities, null and exists leaves answered in NumPy hold on exactly the rows their
    Polars expressions hold on (and, under SQL logic, are false exactly where those are)."""
    compiler = RuleCompiler(LeafTable(), frozenset({"EventID"}), null_logic=null_logic)
    nodes = [
        compiler.equals("EventID", 4688),
        compiler.equals("EventID", "1"),
        compiler._number("EventID", 4.5),
        compiler._exists("EventID", True),
        compiler._exists("Image", False),
    ]
    assert all(compiler.leaves.leaves[n.leaf].test is not None for n in nodes)
    records: list[dict[str, object]] = [
        {"EventID": "4688", "Image": "a"},
        {"EventID": "1", "Image": None},
        {"EventID": None, "Image": "b"},
        {"EventID": "4688"},
        {"EventID": "not a number", "Image": "c"},
    ]
    frame = records_frame(records, {"EventID", "Image"}, frozenset(), numeric={"EventID"})
    truth = LeafTruth(frame, LeafPlan(compiler.leaves.leaves), null_logic)
    for node in nodes:
        column = frame.select(compiler.leaves.leaves[node.leaf].expr).to_series()
        assert truth.matches(node).tolist() == column.fill_null(False).to_list()
        if null_logic is NullLogic.SQL:
            assert truth.pair(node)[1].tolist() == (~column).fill_null(False).to_list()


def test_an_equality_on_a_text_column_falls_back_to_its_expression() -> None:
    """A numeric test on a column that arrives as text (a log source without typed ids) is
    answered by its Polars expression rather than compared as numbers."""
    compiler = RuleCompiler(LeafTable(), frozenset({"EventID"}))
    node = compiler.equals("EventID", 7)
    frame = pl.DataFrame({"EventID": ["7", None], ROW_COLUMN: [0, 1]})
    with pytest.raises(pl.exceptions.PolarsError):  # as before: the expression itself refuses
        LeafTruth(frame, LeafPlan(compiler.leaves.leaves), NullLogic.SIGMA).matches(node)
