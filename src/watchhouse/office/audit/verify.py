"""Checking the whole audit log, and saying exactly where it fails.

What a clean result proves, given the public key: every entry's fields hash to its stored hash;
each entry links to its predecessor with no gap in sequence numbers; every checkpoint is signed by
that key, covers entries still present, and its root equals the Merkle root of the stored entry
hashes at its size; each checkpoint's tree is a prefix of the next (an RFC 9162 consistency proof
is built and checked); and the head row agrees with the last entry. Entries appended after the
last checkpoint are protected against edits and reordering by the chain, but a deletion of that
unsigned tail can only be seen against a checkpoint or head held elsewhere — hence checkpoint often.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from watchhouse.office.audit import merkle
from watchhouse.office.audit.entries import GENESIS, AuditEntry
from watchhouse.office.audit.signing import TreeHead, key_id, signature_valid


class Failure(StrEnum):
    CONTENT = "content-changed"
    CHAIN = "chain-broken"
    GAP = "entries-missing"
    SIGNATURE = "bad-signature"
    ROOT = "root-mismatch"
    TRUNCATED = "log-truncated"
    CONSISTENCY = "inconsistent-checkpoints"
    HEAD = "head-mismatch"


@dataclass(frozen=True)
class Problem:
    failure: Failure
    where: str
    message: str
    seq: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.failure.value}: {self.message}"


@dataclass(frozen=True)
class Checkpoint:
    id: int
    head: TreeHead
    signature: str


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
    public_key: Ed25519PublicKey,
) -> Report:
    report = Report(checkpoints=len(checkpoints))
    leaves: list[bytes] = []
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    wanted = {c.head.tree_size for c in checkpoints}
    frontier = merkle.Frontier()
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        where = f"entry {entry.seq}"
        if entry.seq != expected_seq:
            missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
            report.problems.append(
                Problem(Failure.GAP, where, f"entries {missing} are missing (deleted?)", seq=expected_seq)
            )
        computed = entry.computed_hash()
        if computed != entry.entry_hash:
            report.problems.append(
                Problem(
                    Failure.CONTENT,
                    where,
                    f"fields do not hash to the stored hash (edited or moved): {computed[:16]} != "
                    f"{entry.entry_hash[:16]}",
                    seq=entry.seq,
                )
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(
                Problem(
                    Failure.CHAIN,
                    where,
                    f"prev_hash {entry.prev_hash[:16]} does not match the preceding stored entry's hash "
                    f"{prev_hash[:16]}",
                    seq=entry.seq,
                )
            )
        leaf = _leaf_of(entry, computed)
        leaves.append(leaf)
        frontier.append(leaf)
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
        prev_hash, expected_seq = entry.entry_hash, entry.seq + 1
    report.entries = len(leaves)
    _check_checkpoints(report, checkpoints, roots, leaves, public_key)
    head_seq, head_hash = head
    last_seq = expected_seq - 1
    if head_seq != last_seq or head_hash != prev_hash:
        report.problems.append(
            Problem(
                Failure.HEAD,
                "head",
                f"head records entry {head_seq} ({head_hash[:16]}) but the last stored entry is {last_seq} "
                f"({prev_hash[:16]}): entries were removed or added behind the log's back",
                seq=min(head_seq, last_seq) + 1,
            )
        )
    return report


def _check_checkpoints(
    report: Report,
    checkpoints: list[Checkpoint],
    roots: dict[int, bytes],
    leaves: list[bytes],
    public_key: Ed25519PublicKey,
) -> None:
    expected_key = key_id(public_key)
    previous: Checkpoint | None = None
    for cp in checkpoints:
        where, size = f"checkpoint {cp.id} (size {cp.head.tree_size})", cp.head.tree_size
        if cp.head.key_id != expected_key:
            report.problems.append(
                Problem(Failure.SIGNATURE, where, "signed by a different key than the one given", checkpoint=cp.id)
            )
        elif not signature_valid(public_key, cp.head, cp.signature):
            report.problems.append(
                Problem(Failure.SIGNATURE, where, "signature does not verify (tree head edited)", checkpoint=cp.id)
            )
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
            _check_pair(report, previous, cp, leaves)
        previous = cp


def _check_pair(report: Report, first: Checkpoint, second: Checkpoint, leaves: list[bytes]) -> None:
    where = f"checkpoints {first.id} -> {second.id}"
    a, b = first.head.tree_size, second.head.tree_size
    if b < a:
        report.problems.append(
            Problem(Failure.CONSISTENCY, where, f"tree shrank from {a} to {b} entries", checkpoint=second.id)
        )
        return
    if b > len(leaves):
        return  # already reported as truncation
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
