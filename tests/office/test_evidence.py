"""Evidence on real databases: sealed on disk, custody append-only and audited, exports re-verified."""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.office.errors import IntegrityError, NotFoundError
from watchhouse.office.evidence.alert_lines import bundle_alert_lines
from watchhouse.office.evidence.models import Acquisition, CustodyEventKind
from watchhouse.office.evidence.seal_alert import seal_alert_evidence
from watchhouse.office.services import Office, OfficeLocation, open_office

from .audit_helpers import T0, ticking_clock

ACQ = Acquisition("capture.txt", "text/plain", "unit test", "manual", "pytest", {"note": "x"})
LINES = [b'203.0.113.9 - - "GET /?q=1 UNION SELECT" 200', b"benign line", "caf\u00e9 \u2014 third".encode(), b"fourth"]


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[Office]:
    made = open_office(OfficeLocation(db_url, tmp_path / "audit-signing.key", tmp_path / "evidence"), ticking_clock())
    yield made
    made.close()


def blob_path(office: Office, sha256: str) -> Path:
    return office.evidence._vault.path_of(sha256)


def test_sealing_stores_read_only_content_addressed_bytes(office: Office, tmp_path: Path) -> None:
    item, created = office.evidence.seal(b"evidence bytes", ACQ, "alice", "case 7")
    assert created and item.id == "ev-" + item.sha256[:24] and item.size == 14
    path = blob_path(office, item.sha256)
    assert path == tmp_path / "evidence" / "sha256" / item.sha256[:2] / item.sha256[2:4] / item.sha256
    assert path.read_bytes() == b"evidence bytes" and stat.S_IMODE(path.stat().st_mode) == 0o400
    again, created_again = office.evidence.seal(b"evidence bytes", ACQ, "bob")
    assert again == item and not created_again
    viewed, custody = office.evidence.view(item.id, "carol", "review")
    assert viewed == item and item.acquired_at == T0 + timedelta(seconds=0)
    assert [(e.event, e.actor) for e in custody] == [
        (CustodyEventKind.COLLECTED, "alice"),
        (CustodyEventKind.VIEWED, "carol"),
    ]
    audited = office.audit.for_object("evidence", item.id)
    assert [(e.action, e.actor) for e in audited] == [("create", "alice"), ("read", "carol")]
    assert [e.seq for e in audited] == [c.audit_seq for c in custody]
    assert office.audit.verify().ok


def test_searches_and_lookups_are_audited(office: Office) -> None:
    item, _ = office.evidence.seal(b"a", ACQ, "alice")
    assert office.evidence.search("dave", "weekly review") == [item]
    last = office.audit.tail(1)[0]
    assert (last.action, last.actor, last.details) == ("search", "dave", {"limit": 100, "results": 1})
    assert office.evidence.resolve(item.id[:8]) == item.id
    with pytest.raises(NotFoundError):
        office.evidence.resolve("ev-nothing")
    with pytest.raises(NotFoundError):
        office.evidence.view("ev-nothing", "dave")


def test_export_reverifies_and_writes_bytes_with_manifest(office: Office, tmp_path: Path) -> None:
    item, _ = office.evidence.seal(b"exhibit", ACQ, "alice")
    target = office.evidence.export(item.id, tmp_path / "out", "erin", "court order 12")
    assert target.read_bytes() == b"exhibit" and target.name == "capture.txt"
    manifest = json.loads((target.parent / "manifest.json").read_text())
    assert manifest["item"]["hashes"]["sha256"] == item.sha256
    assert [c["event"] for c in manifest["custody"]] == ["collected", "exported"]
    with pytest.raises(UsageError, match="already exists"):
        office.evidence.export(item.id, tmp_path / "out", "erin")


def test_export_of_altered_bytes_is_refused_and_audited(office: Office, tmp_path: Path) -> None:
    item, _ = office.evidence.seal(b"original", ACQ, "alice")
    path = blob_path(office, item.sha256)
    path.chmod(0o600)
    path.write_bytes(b"0riginal")
    with pytest.raises(IntegrityError, match="export refused: the sealed bytes changed"):
        office.evidence.export(item.id, tmp_path / "out", "erin")
    assert not (tmp_path / "out").exists()
    refused = office.audit.tail(1)[0]
    assert (refused.action, refused.object_id) == ("export-refused", item.id)
    _, custody = office.evidence.view(item.id, "erin")
    assert CustodyEventKind.EXPORTED not in {e.event for e in custody}
    assert [(r.item_id, r.ok) for r in office.evidence.verify("erin")] == [(item.id, False)]


def test_missing_bytes_fail_verification(office: Office) -> None:
    good, _ = office.evidence.seal(b"kept", ACQ, "alice")
    gone, _ = office.evidence.seal(b"lost", ACQ, "alice")
    blob_path(office, gone.sha256).unlink()
    results = {r.item_id: r for r in office.evidence.verify("auditor")}
    assert results[good.id].ok and not results[gone.id].ok and "missing" in results[gone.id].reason


def test_destroying_keeps_the_record_and_blocks_export(office: Office, tmp_path: Path) -> None:
    item, _ = office.evidence.seal(b"retention over", ACQ, "alice")
    with pytest.raises(UsageError):
        office.evidence.destroy(item.id, "alice", "")
    office.evidence.destroy(item.id, "alice", "retention period ended")
    assert not blob_path(office, item.sha256).exists()
    with pytest.raises(IntegrityError, match="destroyed"):
        office.evidence.export(item.id, tmp_path / "out", "erin")
    with pytest.raises(UsageError, match="destroyed"):
        office.evidence.seal(b"retention over", ACQ, "alice")
    _, custody = office.evidence.view(item.id, "erin")
    assert [e.event for e in custody][:2] == [CustodyEventKind.COLLECTED, CustodyEventKind.DESTROYED]


@pytest.mark.parametrize("table", ["custody_events", "evidence_items"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET actor = 'x'", "DELETE FROM {table}"])
def test_database_refuses_to_rewrite_custody(office: Office, table: str, statement: str) -> None:
    office.evidence.seal(b"a", ACQ, "alice")
    sql = statement.format(table=table).replace("actor", "acquired_by" if table == "evidence_items" else "actor")
    with pytest.raises(DBAPIError, match="append-only"), office.engine.begin() as conn:
        conn.execute(text(sql))


# --- sealing an alert's lines ------------------------------------------------------------------------
def write_log(path: Path, gz: bool) -> list[int]:
    """Writes LINES; returns each line's byte offset in the decompressed stream."""
    data = b"".join(line + b"\n" for line in LINES)
    if gz:
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    offsets, at = [], 0
    for line in LINES:
        offsets.append(at)
        at += len(line) + 1
    return offsets


def make_alert(refs: tuple[EventRef, ...]) -> Alert:
    return Alert.from_finding(
        Finding(
            detector="web.attack_patterns",
            key="k-seal",
            crime_code=CrimeCode.ILLEGAL_ACCESS,
            stage=Stage.ATTEMPTED,
            severity=Severity.HIGH,
            confidence=0.9,
            title="SQL injection",
            explanation="UNION SELECT",
            subject=Subject("source.ip", "203.0.113.9"),
            first_seen=T0,
            last_seen=T0,
            evidence=refs,
        ),
        "1",
    )


@pytest.mark.parametrize("gz", [False, True])
def test_seal_alert_lines_in_one_action(office: Office, tmp_path: Path, gz: bool) -> None:
    log = tmp_path / ("access.log.gz" if gz else "access.log")
    offsets = write_log(log, gz)
    alert = make_alert(
        (EventRef(str(log), 1, offsets[0]), EventRef(str(log), 3, offsets[2]), EventRef(str(log), None, offsets[3]))
    )
    office.alerts.save([alert])
    item, created = seal_alert_evidence(
        alert.id[:10],
        alerts=office.alerts,
        evidence=office.evidence,
        audit=office.audit,
        actor="alice",
        purpose="case 7",
    )
    assert created and item.method == "alert-source-lines" and item.details["lines"] == 3
    bundle = json.loads(blob_path(office, item.sha256).read_bytes())
    (source,) = bundle["sources"]
    assert source["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert [(x["line"], x["offset"], x["text"].encode()) for x in source["lines"]] == [
        (1, offsets[0], LINES[0]),
        (3, offsets[2], LINES[2]),
        (4, offsets[3], LINES[3]),
    ]
    assert bundle["alert"]["id"] == alert.id
    actions = [(e.action, e.object_type) for e in office.audit.tail(3)]
    assert actions == [("read", "alert"), ("create", "evidence")]


def test_seal_alert_refuses_when_the_source_changed(office: Office, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    offsets = write_log(log, gz=False)
    moved = make_alert((EventRef(str(log), 2, offsets[2]),))
    beyond = make_alert((EventRef(str(log), 9),))
    gone = make_alert((EventRef(str(tmp_path / "rotated.log"), 1),))
    for alert, message in ((moved, "file changed since the scan"), (beyond, "not in the file"), (gone, "not there")):
        with pytest.raises(InputError, match=message):
            bundle_alert_lines(alert)
    with pytest.raises(NotFoundError):
        seal_alert_evidence("wh-nope", alerts=office.alerts, evidence=office.evidence, audit=office.audit, actor="a")
