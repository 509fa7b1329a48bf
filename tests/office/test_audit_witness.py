"""Tree heads published outside the database, automatic checkpoints, and signing-key rotation.

The attacks here rewrite *both* audit tables — entries and head row, and with the signing key
also the checkpoints — so that the database on its own verifies; each test first shows that,
then that the witness file (or a copy of the heads kept elsewhere) catches it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from typer.testing import CliRunner

from watchhouse.cli import audit_cmd
from watchhouse.office.audit.keyring import Keyring
from watchhouse.office.audit.log import AuditLog
from watchhouse.office.audit.signing import Signer, TreeHead, key_id, load_or_create_private_key, public_pem
from watchhouse.office.audit.verify import Failure, Report
from watchhouse.office.audit.witness import read_witness
from watchhouse.office.errors import IntegrityError
from watchhouse.office.services import OfficeLocation, open_office
from watchhouse.storage.engine import open_engine

from .audit_helpers import (
    database_only,
    fill,
    make_witnessed_log,
    rechain_without,
    resign_checkpoints,
    sql,
    ticking_clock,
    truncate_to,
)


@pytest.fixture
def witnessed(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, AuditLog]]:
    """35 entries with a checkpoint every 10: heads of sizes 10, 20 and 30 witnessed, 5 unsigned."""
    engine, log = make_witnessed_log(db_url, tmp_path, every=10)
    fill(log, 35)
    yield engine, log
    engine.dispose()


def failures(report: Report) -> list[tuple[Failure, int | None]]:
    return [(p.failure, p.seq) for p in report.problems]


def witnessed_sizes(home: Path) -> list[int]:
    heads = read_witness(home / "audit-witness.jsonl").heads
    assert heads is not None
    return [h.head.tree_size for h in heads]


def test_checkpoints_are_automatic_and_every_one_is_witnessed(
    witnessed: tuple[Engine, AuditLog], tmp_path: Path
) -> None:
    _, log = witnessed
    assert [c.head.tree_size for c in log.checkpoints()] == [10, 20, 30]
    assert witnessed_sizes(tmp_path) == [10, 20, 30]
    report = log.verify()
    assert report.ok and report.warnings == [] and report.witnessed == 3
    assert [h.to_dict() for h in log.heads(since=10)] == [
        json.loads(line) for line in (tmp_path / "audit-witness.jsonl").read_text().splitlines()[1:]
    ]


def test_rechained_log_passes_the_database_alone_but_contradicts_the_witness(
    witnessed: tuple[Engine, AuditLog], tmp_path: Path
) -> None:
    engine, log = witnessed
    stolen = Signer(load_or_create_private_key(tmp_path / "audit-signing.key"))
    rechain_without(engine, 25)  # entry 25 erased, 26..35 renumbered, re-hashed, head moved back
    resign_checkpoints(engine, stolen, keep_below=25)  # checkpoint 30 replaced by one over the forged 34
    assert database_only(engine, tmp_path).verify().ok  # the gap this feature closes

    report = log.verify()
    assert not report.ok
    diverged = [p for p in report.problems if p.failure is Failure.WITNESS_DIVERGED]
    assert len(diverged) == 1 and "head of size 30" in diverged[0].where
    assert diverged[0].seq == 21  # after the last head that still matches (20), at or before 30
    assert "rewritten after entry 20 and at or before entry 30" in diverged[0].message
    assert [w.failure for w in report.warnings] == [Failure.UNWITNESSED]  # the forged checkpoint over 34
    with pytest.raises(IntegrityError, match="witness-diverged"):
        log.checkpoint()  # a checkpoint would bless the forgery


def test_truncated_tail_with_the_head_moved_back_is_detected(
    witnessed: tuple[Engine, AuditLog], tmp_path: Path
) -> None:
    engine, log = witnessed
    truncate_to(engine, 25)
    sql(engine, "DELETE FROM audit_checkpoints WHERE tree_size > 25")
    assert database_only(engine, tmp_path).verify().ok

    report = log.verify()
    assert failures(report) == [(Failure.WITNESS_TRUNCATED, 26)]
    assert "entries 26..30 were removed" in report.problems[0].message


def test_heads_kept_elsewhere_catch_a_rewrite_when_the_witness_file_went_too(
    witnessed: tuple[Engine, AuditLog], tmp_path: Path
) -> None:
    engine, log = witnessed
    kept = tmp_path / "worm" / "heads.jsonl"
    kept.parent.mkdir()
    kept.write_text("".join(h.to_line() + "\n" for h in log.heads()))
    rechain_without(engine, 12)
    resign_checkpoints(engine, Signer(load_or_create_private_key(tmp_path / "audit-signing.key")), keep_below=12)
    (tmp_path / "audit-witness.jsonl").unlink()

    alone = log.verify()
    assert alone.ok and [w.failure for w in alone.warnings] == [Failure.WITNESS_MISSING]
    report = log.verify(heads=[read_witness(kept)])
    assert failures(report)[0] == (Failure.WITNESS_DIVERGED, 11)
    assert "head of size 20" in report.problems[0].where


def test_missing_witness_file_is_a_warning_not_a_failure(db_url: str, tmp_path: Path) -> None:
    engine, log = make_witnessed_log(db_url, tmp_path)
    fill(log, 4)
    log.checkpoint()
    (tmp_path / "audit-witness.jsonl").unlink()
    report = log.verify()
    engine.dispose()
    assert report.ok and report.problems == []
    assert [w.failure for w in report.warnings] == [Failure.WITNESS_MISSING]
    assert "no witness file" in report.warnings[0].message


def test_a_damaged_witness_line_is_reported(witnessed: tuple[Engine, AuditLog], tmp_path: Path) -> None:
    _, log = witnessed
    with (tmp_path / "audit-witness.jsonl").open("a") as handle:
        handle.write('{"tree_size": 40, "format": "something else"}\n')
    assert [(p.failure, p.message[:7]) for p in log.verify().problems] == [(Failure.WITNESS_UNREADABLE, "line 4:")]


def test_checkpoint_waits_for_the_commit_and_skips_rolled_back_entries(db_url: str, tmp_path: Path) -> None:
    engine, log = make_witnessed_log(db_url, tmp_path, every=5)
    with pytest.raises(RuntimeError), log.transaction() as conn:
        for i in range(7):
            log.append("analyst-1", "read", "case", f"c-{i}", conn=conn)
        raise RuntimeError("the feature failed after auditing")
    assert log.count() == 0 and log.checkpoints() == [] and not (tmp_path / "audit-witness.jsonl").exists()
    with log.transaction() as conn:
        for i in range(7):
            log.append("analyst-1", "read", "case", f"c-{i}", conn=conn)
    assert [c.head.tree_size for c in log.checkpoints()] == [7] and witnessed_sizes(tmp_path) == [7]
    engine.dispose()


def test_automatic_checkpoint_refuses_a_tampered_tail(
    witnessed: tuple[Engine, AuditLog], caplog: pytest.LogCaptureFixture
) -> None:
    engine, log = witnessed
    sql(engine, "UPDATE audit_entries SET actor = 'nobody' WHERE seq = 33")
    with caplog.at_level(logging.WARNING, logger="watchhouse.office.audit.log"):
        fill(log, 5, start=35)
    assert [c.head.tree_size for c in log.checkpoints()] == [10, 20, 30]
    assert "automatic audit checkpoint not taken" in caplog.text and "entry 33" in caplog.text


def test_rotation_keeps_old_checkpoints_valid_and_names_the_signers(db_url: str, tmp_path: Path) -> None:
    engine, log = make_witnessed_log(db_url, tmp_path, every=10)
    fill(log, 12)
    old = Signer(load_or_create_private_key(tmp_path / "audit-signing.key"))
    entry, first_new = log.rotate_key("local:admin")
    fill(log, 10, start=12)
    new = Signer(load_or_create_private_key(tmp_path / "audit-signing.key"))

    assert new.key_id != old.key_id and entry.seq == 13 and entry.action == "rotate-key"
    assert (entry.details["old_key_id"], entry.details["new_key_id"]) == (old.key_id, new.key_id)
    signed = [(c.head.tree_size, c.head.key_id) for c in log.checkpoints()]
    assert signed == [(10, old.key_id), (13, old.key_id), (13, new.key_id), (23, new.key_id)]
    assert first_new.head == log.checkpoints()[2].head
    report = log.verify()
    assert report.ok, report.problems
    assert set(report.signed_by.values()) == {old.key_id, new.key_id}
    ring = json.loads((tmp_path / "audit-keyring.json").read_text())
    assert [(k["key_id"], k["retired_after"]) for k in ring["keys"]] == [(old.key_id, 13), (new.key_id, None)]
    assert not (tmp_path / "audit-signing.key.next").exists()

    only_new = log.verify(Keyring.of(new.public_key))  # an auditor who was never given the old key
    unknown = [p for p in only_new.problems if p.failure is Failure.SIGNATURE]
    assert all("unknown key id" in p.message for p in unknown)
    assert {p.checkpoint for p in unknown if p.checkpoint} == {1, 2}  # and their copies in the witness:
    assert sorted(p.where.split(": ")[1] for p in unknown if p.checkpoint is None)[0].startswith("head of size 10")
    assert any(p.failure is Failure.ROTATION for p in only_new.problems)

    # the retired key put back to work over a bigger tree is refused, though its signature is valid
    resign_checkpoints(engine, old, keep_below=24)
    fill(log, 1, start=22)
    stale = [p for p in log.verify().problems if p.failure is Failure.SIGNATURE]
    assert len(stale) == 1 and "retired" in stale[0].message
    engine.dispose()


def test_a_checkpoint_under_a_forged_key_id_fails(witnessed: tuple[Engine, AuditLog]) -> None:
    engine, log = witnessed
    stranger = Signer(Ed25519PrivateKey.generate())
    resign_checkpoints(engine, stranger, keep_below=31)
    forged = [p for p in log.verify().problems if p.failure is Failure.SIGNATURE]
    assert len(forged) == 1 and "unknown key id" in forged[0].message
    # a head claiming a known key id but signed by another key is caught by the signature itself
    cp = log.checkpoints()[-1]
    claimed = TreeHead(cp.head.tree_size, cp.head.root_hash, cp.head.at, next(iter(log.keyring())).key_id)
    sql(
        engine,
        "UPDATE audit_checkpoints SET key_id = :k, signature = :s WHERE id = :i",
        k=claimed.key_id,
        s=stranger.sign(claimed),
        i=cp.id,
    )
    assert "signature does not verify" in str(log.verify().problems[0])
    engine.dispose()


def test_rotation_entry_not_signed_by_the_outgoing_key_fails(db_url: str, tmp_path: Path) -> None:
    engine, log = make_witnessed_log(db_url, tmp_path)
    fill(log, 3)
    entry, _ = log.rotate_key("local:admin")
    intruder = Ed25519PrivateKey.generate().public_key()
    ring = json.loads((tmp_path / "audit-keyring.json").read_text())
    ring["keys"][0] = {"key_id": key_id(intruder), "public_key": public_pem(intruder), "retired_after": 4}
    (tmp_path / "audit-keyring.json").write_text(json.dumps(ring))
    report = log.verify()
    assert (Failure.ROTATION, entry.seq) in failures(report)
    engine.dispose()


# -- the command line ---------------------------------------------------------------------------

runner = CliRunner(env={"COLUMNS": "200", "WATCHHOUSE_ACTOR": "tester", "WATCHHOUSE_DB_URL": None})


def test_cli_heads_verify_and_rotate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    office = open_office(
        OfficeLocation(f"sqlite:///{home / 'office.db'}", home / "audit-signing.key", home / "evidence"),
        ticking_clock(),
    )
    fill(office.audit, 130)  # the office's own default: a checkpoint at 128
    office.close()
    at = ["--home", str(home)]

    exported = runner.invoke(audit_cmd.app, ["heads", *at])
    assert exported.exit_code == 0 and [json.loads(x)["tree_size"] for x in exported.output.splitlines()] == [128]
    assert runner.invoke(audit_cmd.app, ["heads", "--since", "128", *at]).output == ""
    kept = tmp_path / "heads.jsonl"
    kept.write_text(exported.output)

    old_pem, new_pem = tmp_path / "old.pem", tmp_path / "new.pem"
    old_pem.write_text(runner.invoke(audit_cmd.app, ["public-key", *at]).output)
    rotated = runner.invoke(audit_cmd.app, ["rotate-key", *at])
    assert rotated.exit_code == 0, rotated.output
    assert "rotated the audit signing key at entry 131" in rotated.output
    new_pem.write_text(runner.invoke(audit_cmd.app, ["public-key", *at]).output)
    assert new_pem.read_text() != old_pem.read_text()
    both = runner.invoke(audit_cmd.app, ["verify", "--public-key", str(old_pem), "--public-key", str(new_pem), *at])
    assert both.exit_code == 0, both.output
    only_new = runner.invoke(audit_cmd.app, ["verify", "--public-key", str(new_pem), *at])
    assert isinstance(only_new.exception, IntegrityError) and "unknown key id" in only_new.output
    verified = runner.invoke(audit_cmd.app, ["verify", "--heads", str(kept), *at])
    assert verified.exit_code == 0, verified.output
    assert "130 entries" not in verified.output and "131 entries, 3 signed checkpoint(s)" in verified.output
    assert verified.output.count("signed 1 checkpoint(s)") == 1 and "signed 2 checkpoint(s)" in verified.output

    engine = open_engine(f"sqlite:///{home / 'office.db'}")
    truncate_to(engine, 100)
    sql(engine, "DELETE FROM audit_checkpoints")
    engine.dispose()
    (home / "audit-witness.jsonl").unlink()
    failed = runner.invoke(audit_cmd.app, ["verify", "--heads", str(kept), *at])
    assert isinstance(failed.exception, IntegrityError)  # exit status 5 through `watchhouse`
    assert "warning:" in failed.output and "witness-missing" in failed.output
    assert "witness-truncated" in failed.output and "entries 101..128 were removed" in failed.output


def test_the_keyring_remembers_a_rotation_that_a_truncation_removed(db_url: str, tmp_path: Path) -> None:
    engine, log = make_witnessed_log(db_url, tmp_path, every=10)
    fill(log, 8)
    entry, _ = log.rotate_key("local:admin")
    fill(log, 2, start=8)
    truncate_to(engine, entry.seq - 1)  # the rotation and everything after it, witness and checkpoints too
    sql(engine, "DELETE FROM audit_checkpoints")
    (tmp_path / "audit-witness.jsonl").unlink()
    report = log.verify()
    assert failures(report) == [(Failure.WITNESS_TRUNCATED, entry.seq)]
    assert "retired at entry 9, but the log holds only 8 entries" in report.problems[0].message
    engine.dispose()


def test_a_restarted_process_extends_the_newest_signed_checkpoint_without_a_full_verify(
    witnessed: tuple[Engine, AuditLog], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, restarted = make_witnessed_log(db_url, tmp_path, every=10)

    def no_full_verify(*args: object, **kwargs: object) -> Report:
        raise AssertionError("the first automatic checkpoint of a restarted process re-verified the whole log")

    monkeypatch.setattr(restarted, "_verify", no_full_verify)
    fill(restarted, 5, start=35)
    assert [c.head.tree_size for c in restarted.checkpoints()] == [10, 20, 30, 40]
    monkeypatch.undo()
    assert restarted.verify().ok


def test_a_restarted_process_does_not_build_on_a_checkpoint_with_a_bad_signature(
    witnessed: tuple[Engine, AuditLog], db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine, _ = witnessed
    sql(engine, "UPDATE audit_entries SET actor = 'nobody' WHERE seq = 25")  # inside the signed prefix
    sql(engine, "UPDATE audit_checkpoints SET signature = :sig WHERE tree_size = 30", sig="00" * 64)
    _, restarted = make_witnessed_log(db_url, tmp_path, every=10)
    with caplog.at_level(logging.WARNING, logger="watchhouse.office.audit.log"):
        fill(restarted, 5, start=35)
    # no trusted tip: the full checkpoint runs, finds the edit and refuses to sign over it
    assert [c.head.tree_size for c in restarted.checkpoints()] == [10, 20, 30]
    assert "automatic audit checkpoint not taken" in caplog.text
