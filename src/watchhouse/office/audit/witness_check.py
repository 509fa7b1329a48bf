"""Checking the log against tree heads witnessed outside the database, and signatures by key id.

Heads are checked oldest first. The first head whose root the current log no longer reproduces
is named, together with the range it narrows the rewrite to: after the newest witnessed head
that still matches, at or before the diverging one; its ``seq`` is the start of that range,
unless the chain checks already pinpointed an entry inside it (then ``None``: the sharper answer
stands). Later diverging heads are counted, not listed: they add no information once the log has
been shown to fork.
"""

from __future__ import annotations

from watchhouse.office.audit.keyring import Keyring
from watchhouse.office.audit.report import Checkpoint, Failure, Problem, Report
from watchhouse.office.audit.signing import TreeHead, signature_valid
from watchhouse.office.audit.witness import Witness


def head_signature_problem(keyring: Keyring, head: TreeHead, signature: str) -> str | None:
    """Why this tree head's signature does not count, or ``None`` when a known, active key made it."""
    known = keyring.get(head.key_id)
    if known is None:
        return f"signed by key {head.key_id[:16]}, which is not in the keyring (unknown key id)"
    if known.retired_after is not None and head.tree_size > known.retired_after:
        return (
            f"signed by key {head.key_id[:16]} over {head.tree_size} entries, but that key was retired "
            f"when the log held {known.retired_after}"
        )
    if not signature_valid(known.public_key, head, signature):
        return "signature does not verify (tree head edited)"
    return None


def check_witness(
    report: Report,
    witness: Witness,
    roots: dict[int, bytes],
    size: int,
    keyring: Keyring,
    checkpoints: list[Checkpoint],
) -> None:
    """Every witnessed head must be signed by a known key and be a prefix of the current log."""
    if witness.heads is None:
        report.warnings.append(
            Problem(
                Failure.WITNESS_MISSING,
                witness.source,
                "no witness file: the signed tree heads exist only in the database, so a rewrite of both "
                "the entries and the checkpoints cannot be detected (was it deleted, or never configured?)",
            )
        )
        return
    for damage in witness.unreadable:
        report.problems.append(Problem(Failure.WITNESS_UNREADABLE, witness.source, damage))
    heads = sorted(witness.heads, key=lambda h: h.head.tree_size)
    report.witnessed += len(heads)
    good, diverged = 0, 0
    for signed in heads:
        n = signed.head.tree_size
        where = f"{witness.source}: head of size {n} ({signed.head.at})"
        why = head_signature_problem(keyring, signed.head, signed.signature)
        if why is not None:
            report.problems.append(Problem(Failure.SIGNATURE, where, why))
            continue
        if diverged:
            diverged += 1
        elif n > size:
            diverged = 1
            report.problems.append(
                Problem(
                    Failure.WITNESS_TRUNCATED,
                    where,
                    f"this head was published over {n} entries but the log now holds {size}: entries "
                    f"{size + 1}..{n} were removed (and the head row moved back)",
                    seq=size + 1,
                )
            )
        elif roots[n].hex() != signed.head.root_hash:
            diverged = 1
            pinned = any(p.seq is not None and good < p.seq <= n for p in report.problems)
            report.problems.append(
                Problem(
                    Failure.WITNESS_DIVERGED,
                    where,
                    f"the first {n} stored entries have Merkle root {roots[n].hex()[:16]}, the published head "
                    f"says {signed.head.root_hash[:16]}: the log was rewritten after entry {good} and at or "
                    f"before entry {n} (no consistency proof from {n} to {size} exists)",
                    seq=None if pinned else good + 1,
                )
            )
        else:
            good = n
    if diverged > 1:
        report.problems.append(
            Problem(Failure.WITNESS_DIVERGED, witness.source, f"{diverged - 1} later witnessed head(s) also disagree")
        )
    if witness.complete:
        _unwitnessed(report, witness, checkpoints)


def _unwitnessed(report: Report, witness: Witness, checkpoints: list[Checkpoint]) -> None:
    """Database checkpoints missing from the office's own witness (a failed write, or forged later)."""
    published = {(h.head.tree_size, h.head.root_hash) for h in witness.heads or ()}
    missing = [c for c in checkpoints if (c.head.tree_size, c.head.root_hash) not in published]
    if missing:
        ids = ", ".join(str(c.id) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        report.warnings.append(
            Problem(
                Failure.UNWITNESSED,
                witness.source,
                f"{len(missing)} checkpoint(s) in the database were never published to the witness ({ids}); "
                "only the database vouches for them",
                checkpoint=missing[0].id,
            )
        )
