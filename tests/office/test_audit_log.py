"""The audit log on real databases: appends chain, checkpoints sign, and tampering is pinpointed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from watchhouse.core.errors import UsageError
from watchhouse.office.audit.entries import GENESIS, AuditEntry
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.verify import Failure, Report
from watchhouse.office.errors import IntegrityError, NotFoundError

from .audit_helpers import fill, make_log, sql


@pytest.fixture
def built(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, AuditLog]]:
    engine, log = make_log(db_url, tmp_path / "audit-signing.key")
    yield engine, log
    engine.dispose()


def failures(report: Report) -> set[tuple[Failure, int | None]]:
    return {(p.failure, p.seq) for p in report.problems}


def test_entries_chain_and_verify(built: tuple[Engine, AuditLog]) -> None:
    _, log = built
    first = log.append("alice", "read", "case", "c-1", "review", {"fields": ["status"]})
    second = log.append("bob", "login-failed", "session")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.entry_hash
    assert first.computed_hash() == first.entry_hash
    assert log.get(1) == first and log.tail(1) == [second]
    assert log.for_object("case", "c-1") == [first]
    report = log.verify()
    assert report.ok and report.entries == 2


def test_bad_calls_are_user_errors(built: tuple[Engine, AuditLog]) -> None:
    _, log = built
    with pytest.raises(UsageError):
        log.append("", "read", "case")
    with pytest.raises(NotFoundError):
        log.get(99)
    with pytest.raises(UsageError):
        log.prove_inclusion(1)


def test_checkpoints_sign_and_prove(built: tuple[Engine, AuditLog]) -> None:
    _, log = built
    fill(log, 5)
    one = log.checkpoint()
    fill(log, 6, start=5)
    two = log.checkpoint()
    assert (one.head.tree_size, two.head.tree_size) == (5, 11)
    proof = log.prove_consistency(5, 11)
    assert proof.verify()
    assert (proof.first_root.hex(), proof.second_root.hex()) == (one.head.root_hash, two.head.root_hash)
    inclusion = log.prove_inclusion(3, 5)
    assert inclusion.verify() and inclusion.root.hex() == one.head.root_hash
    assert log.verify().ok
    stranger = Ed25519PrivateKey.generate().public_key()
    assert {p.failure for p in log.verify(stranger).problems} == {Failure.SIGNATURE}


def test_edited_field_is_pinpointed(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 6)
    sql(engine, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 4")
    assert failures(log.verify()) == {(Failure.CONTENT, 4)}
    with pytest.raises(IntegrityError, match="entry 4"):
        log.checkpoint()


def test_edited_details_that_are_not_json_are_reported_not_crashed(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 3)
    sql(engine, "UPDATE audit_entries SET details = '{broken' WHERE seq = 2")
    assert failures(log.verify()) == {(Failure.CONTENT, 2)}


def test_deleted_entry_is_pinpointed(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 6)
    log.checkpoint()
    sql(engine, "DELETE FROM audit_entries WHERE seq = 3")
    report = log.verify()
    found = failures(report)
    assert (Failure.GAP, 3) in found and (Failure.CHAIN, 4) in found
    assert any(p.failure in (Failure.TRUNCATED, Failure.ROOT) for p in report.problems)
    assert "entries 3 are missing" in str(next(p for p in report.problems if p.failure is Failure.GAP))


def test_swapped_sequence_numbers_are_pinpointed(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 6)
    sql(engine, "UPDATE audit_entries SET seq = -1 WHERE seq = 2")
    sql(engine, "UPDATE audit_entries SET seq = 2 WHERE seq = 5")
    sql(engine, "UPDATE audit_entries SET seq = 5 WHERE seq = -1")
    found = failures(log.verify())
    assert {(Failure.CONTENT, 2), (Failure.CONTENT, 5), (Failure.CHAIN, 2), (Failure.CHAIN, 5)} <= found
    assert {seq for _, seq in found} == {2, 3, 5, 6}  # 3 and 6 no longer follow what precedes them


def test_truncated_tail_after_checkpoint_is_pinpointed(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 10)
    log.checkpoint()
    sql(engine, "DELETE FROM audit_entries WHERE seq > 7")
    sql(engine, "UPDATE audit_head SET seq = 7, entry_hash = (SELECT entry_hash FROM audit_entries WHERE seq = 7)")
    report = log.verify()
    assert failures(report) == {(Failure.TRUNCATED, 8)}
    assert "entries 8..10 were deleted" in str(report.problems[0])


def test_tail_deleted_after_last_checkpoint_shows_against_the_head(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 5)
    sql(engine, "DELETE FROM audit_entries WHERE seq = 5")
    assert failures(log.verify()) == {(Failure.HEAD, 5)}


def test_consistent_rewrite_is_caught_by_the_signed_checkpoint(built: tuple[Engine, AuditLog]) -> None:
    """An attacker who recomputes every hash after an edit still cannot match the signed root."""
    engine, log = built
    fill(log, 6)
    log.checkpoint()
    entries = [log.get(s) for s in range(1, 7)]
    prev = entries[1].entry_hash
    with engine.begin() as conn:
        for old in entries[2:]:
            forged = AuditEntry(
                **{**old.__dict__, "prev_hash": prev, "actor": old.actor if old.seq != 3 else "mallory"}
            )
            digest = forged.computed_hash()
            conn.execute(
                text("UPDATE audit_entries SET actor = :a, prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"a": forged.actor, "p": prev, "h": digest, "s": old.seq},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET entry_hash = :h"), {"h": prev})
    report = log.verify()
    assert [p.failure for p in report.problems] == [Failure.ROOT]
    assert report.problems[0].checkpoint == 1


def test_edited_checkpoint_fails_its_signature(built: tuple[Engine, AuditLog]) -> None:
    engine, log = built
    fill(log, 4)
    log.checkpoint()
    fill(log, 2, start=4)
    log.checkpoint()
    sql(engine, "UPDATE audit_checkpoints SET tree_size = 3 WHERE id = 1")
    report = log.verify()
    assert {(p.failure, p.checkpoint) for p in report.problems} >= {(Failure.SIGNATURE, 1)}


def test_concurrent_appends_never_fork_the_chain(built: tuple[Engine, AuditLog]) -> None:
    _, log = built
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(15):
                log.append(f"w{worker}", "change", "case", f"c-{worker}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = log.verify()
    assert report.ok and report.entries == 60


def test_a_restarted_process_warms_its_signing_tip_from_the_newest_checkpoint(
    built: tuple[Engine, AuditLog], tmp_path: Path
) -> None:
    engine, log = built
    fill(log, 7)
    signed = log.checkpoint()
    restarted = AuditLog(engine, log._signer, log._clock)  # a new server process over the same database
    assert restarted._state.tip is None
    restarted.warm_up()
    tip = restarted._state.tip
    assert tip is not None and tip.size == 7 and tip.root().hex() == signed.head.root_hash
    fill(restarted, 3, start=7)
    assert restarted.checkpoint().head.tree_size == 10 and restarted.verify().ok
    empty_engine, empty = make_log(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "other.key")
    empty.warm_up()  # nothing signed yet: nothing to seed, and no error
    assert empty._state.tip is None
    empty_engine.dispose()
