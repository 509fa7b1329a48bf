"""Checking the whole audit log, and saying exactly where it fails.

What a clean result proves, given the public key: every entry's fields hash to its stored hash;
each entry links to its predecessor with no gap in sequence numbers; every checkpoint is signed by
that key, covers entries still present, and its root equals the Merkle root of the stored entry
hashes at its size; each checkpoint's tree is a prefix of the next (an RFC 9162 consistency proof
is built and checked); and the head row agrees with the last entry.

Every problem names the entry it most likely concerns (``Problem.seq``; the earliest one is
where the tampering is): a re-hashed entry is blamed, not its intact successor; a head that
disagrees points at the first deleted, first forged, or rewritten last entry.

Limits, by construction: entries after the last checkpoint are covered by the chain and the
``audit_head`` row only. Any single change to ``audit_entries`` — edit, re-hash, delete, swap,
truncation of the tail, a forged appended entry — is detected (see the 1,000-tampering test),
but someone who rewrites *both* tables consistently (drops the unsigned tail and moves the head
back, or re-chains every later entry) is caught only by a checkpoint that covers the entries, or
by a tree head kept outside the database. Hence: checkpoint often, and hand the signed tree
heads to someone who does not administer the database. Both now exist (ADR 0010): the office
checkpoints automatically every few hundred entries, and every signed head also goes to a
witness file outside the database (``audit-witness.jsonl``; ``watchhouse audit heads`` exports
them, ``verify --heads FILE`` checks against a copy kept elsewhere). A re-chained or truncated
log then contradicts a witnessed head, and the first such head is named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from watchhouse.office.audit import merkle
from watchhouse.office.audit.entries import GENESIS, AuditEntry
from watchhouse.office.audit.keyring import Keyring
from watchhouse.office.audit.report import Checkpoint, Failure, Problem, Report
from watchhouse.office.audit.rotation import is_rotation, rotation_problem
from watchhouse.office.audit.witness import Witness
from watchhouse.office.audit.witness_check import check_witness, head_signature_problem

__all__ = ["Checkpoint", "Failure", "Problem", "Report", "verify_log"]


def _leaf_of(entry: AuditEntry, computed: str) -> bytes:
    try:
        raw = bytes.fromhex(entry.entry_hash)
    except ValueError:
        raw = b""
    return merkle.leaf_hash(raw if len(raw) == 32 else bytes.fromhex(computed))


def verify_log(
    entries: Iterable[AuditEntry],
    checkpoints: list[Checkpoint],
    head: tuple[int, str],
    public_key: Ed25519PublicKey | Keyring,
    witnesses: Sequence[Witness] = (),
) -> Report:
    """Check everything in one pass; ``public_key`` is one trusted key or the office's keyring."""
    keyring = public_key if isinstance(public_key, Keyring) else Keyring.of(public_key)
    report = Report(checkpoints=len(checkpoints))
    leaves: list[bytes] = []
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    wanted = {c.head.tree_size for c in checkpoints}
    wanted.update(h.head.tree_size for w in witnesses for h in w.heads or ())
    rotations: list[AuditEntry] = []
    frontier = merkle.Frontier()
    expected_seq, prev_hash, prev_seq, prev_intact = 1, GENESIS, 0, True
    for entry in entries:
        where = f"entry {entry.seq}"
        gap = entry.seq != expected_seq
        if gap:
            missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
            report.problems.append(
                Problem(Failure.GAP, where, f"entries {missing} are missing (deleted?)", seq=expected_seq)
            )
        try:
            computed = entry.computed_hash()
        except ValueError:  # e.g. details edited to hold a float: the log never writes such an entry
            computed = ""
        intact = computed == entry.entry_hash
        shown = computed[:16] or "no canonical form"
        if not intact:
            report.problems.append(
                Problem(
                    Failure.CONTENT,
                    where,
                    f"fields do not hash to the stored hash (edited or moved): {shown} != {entry.entry_hash[:16]}",
                    seq=entry.seq,
                )
            )
        if entry.prev_hash != prev_hash:
            if intact and prev_intact and not gap and prev_seq > 0:
                report.problems.append(_rehashed(entry, prev_hash, prev_seq))
            report.problems.append(
                Problem(
                    Failure.CHAIN,
                    where,
                    f"prev_hash {entry.prev_hash[:16]} does not match the preceding stored entry's hash "
                    f"{prev_hash[:16]}",
                    seq=entry.seq,
                )
            )
        if is_rotation(entry):
            rotations.append(entry)
        leaf = _leaf_of(entry, computed)
        leaves.append(leaf)
        frontier.append(leaf)
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
        prev_hash, expected_seq, prev_seq, prev_intact = entry.entry_hash, entry.seq + 1, entry.seq, intact
    report.entries = len(leaves)
    _check_rotations(report, rotations, keyring)
    _check_checkpoints(report, checkpoints, roots, leaves, keyring)
    head_problem = _head_mismatch(head, prev_seq, prev_hash)
    if head_problem is not None:
        report.problems.append(head_problem)
    for witness in witnesses:  # last: a divergence defers to any sharper pinpoint found above
        check_witness(report, witness, roots, len(leaves), keyring, checkpoints)
    return report


def _check_rotations(report: Report, rotations: list[AuditEntry], keyring: Keyring) -> None:
    """Each rotation entry is signed by both keys, and each retirement the keyring records has its
    entry (the keyring lives outside the database: a truncated log that lost it shows)."""
    for rotation in rotations:
        why = rotation_problem(rotation, keyring)
        if why is not None:
            report.problems.append(Problem(Failure.ROTATION, f"entry {rotation.seq}", why, seq=rotation.seq))
    handed_over = {(r.seq, r.details.get("old_key_id")) for r in rotations}
    for known in keyring:
        at = known.retired_after
        if at is None or (at, known.key_id) in handed_over:
            continue
        failure, what = (
            (Failure.WITNESS_TRUNCATED, f"but the log holds only {report.entries} entries (truncated)")
            if at > report.entries
            else (Failure.ROTATION, f"but entry {at} is not that rotation")
        )
        report.problems.append(
            Problem(
                failure,
                "keyring",
                f"the keyring records key {known.key_id[:16]} retired at entry {at}, {what}",
                seq=min(at, report.entries + 1),
            )
        )


def _rehashed(entry: AuditEntry, prev_hash: str, prev_seq: int) -> Problem:
    """A broken link where both ends hash correctly: the predecessor was rewritten *and* re-hashed.

    The later entry still hashes to its stored hash, so its ``prev_hash`` is what was written
    when it was appended; the predecessor is the one whose hash changed since.
    """
    return Problem(
        Failure.CONTENT,
        f"entry {prev_seq}",
        f"entry {entry.seq} recorded its predecessor's hash as {entry.prev_hash[:16]}, but entry {prev_seq} "
        f"now hashes to {prev_hash[:16]}: entry {prev_seq} was rewritten and given a new hash",
        seq=prev_seq,
    )


def _head_mismatch(head: tuple[int, str], last_seq: int, last_hash: str) -> Problem | None:
    """The head row against the last stored entry: which entry the disagreement points at.

    Head ahead of the entries: the tail from ``last_seq + 1`` was deleted. Head behind: entries
    from ``head_seq + 1`` were added without going through the log. Same number, other hash: the
    last entry was rewritten (it has no successor whose ``prev_hash`` could tell).
    """
    head_seq, head_hash = head
    if head_seq == last_seq and head_hash == last_hash:
        return None
    if head_seq > last_seq:
        what, seq = f"entries {last_seq + 1}..{head_seq} were removed behind the log's back", last_seq + 1
    elif head_seq < last_seq:
        what, seq = f"entries {head_seq + 1}..{last_seq} were added behind the log's back", head_seq + 1
    else:
        what, seq = f"entry {last_seq} was rewritten after it was appended", last_seq
    return Problem(
        Failure.HEAD,
        "head",
        f"head records entry {head_seq} ({head_hash[:16]}) but the last stored entry is {last_seq} "
        f"({last_hash[:16]}): {what}",
        seq=seq,
    )


def _check_checkpoints(
    report: Report,
    checkpoints: list[Checkpoint],
    roots: dict[int, bytes],
    leaves: list[bytes],
    keyring: Keyring,
) -> None:
    previous: Checkpoint | None = None
    for cp in checkpoints:
        where, size = f"checkpoint {cp.id} (size {cp.head.tree_size})", cp.head.tree_size
        report.signed_by[cp.id] = cp.head.key_id
        why = head_signature_problem(keyring, cp.head, cp.signature)
        if why is not None:
            report.problems.append(Problem(Failure.SIGNATURE, where, why, checkpoint=cp.id))
        if size > len(leaves):
            report.problems.append(
                Problem(
                    Failure.TRUNCATED,
                    where,
                    f"signed over {size} entries but only {len(leaves)} remain: entries {len(leaves) + 1}..{size} "
                    "were deleted",
                    seq=len(leaves) + 1,
                    checkpoint=cp.id,
                )
            )
        elif roots[size].hex() != cp.head.root_hash:
            report.problems.append(
                Problem(
                    Failure.ROOT,
                    where,
                    f"Merkle root of the first {size} stored entries is {roots[size].hex()[:16]}, "
                    f"signed root is {cp.head.root_hash[:16]}: entries at or before {size} were rewritten",
                    checkpoint=cp.id,
                )
            )
        if previous is not None:
            _check_pair(report, previous, cp, leaves, roots)
        previous = cp


def _check_pair(
    report: Report, first: Checkpoint, second: Checkpoint, leaves: list[bytes], roots: dict[int, bytes]
) -> None:
    """The signed trees of two consecutive checkpoints must be prefix and extension.

    When both signed roots equal the roots of the stored entries at their sizes this holds by
    construction (both are prefixes of the same leaves), so the O(n) proof is built only when a
    root disagrees — with a checkpoint every 128 entries, building one per pair made verification
    quadratic in the log's size.
    """
    where = f"checkpoints {first.id} -> {second.id}"
    a, b = first.head.tree_size, second.head.tree_size
    if b < a:
        report.problems.append(
            Problem(Failure.CONSISTENCY, where, f"tree shrank from {a} to {b} entries", checkpoint=second.id)
        )
        return
    if b > len(leaves):
        return  # already reported as truncation
    if roots[a].hex() == first.head.root_hash and roots[b].hex() == second.head.root_hash:
        return
    path = merkle.consistency_proof(leaves, a, b)
    if not merkle.verify_consistency(
        a, b, bytes.fromhex(first.head.root_hash), bytes.fromhex(second.head.root_hash), path
    ):
        report.problems.append(
            Problem(
                Failure.CONSISTENCY,
                where,
                f"no consistency proof links the signed tree of {a} entries to the signed tree of {b}",
                checkpoint=second.id,
            )
        )
