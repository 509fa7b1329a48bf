"""Signed tree heads kept outside the database, and checking the log against them (ADR 0010).

Checkpoints live in ``audit_checkpoints``, so someone who can write the database can delete
them along with the entries they cover and re-chain what is left. Every checkpoint is therefore
also appended, as one JSON line, to a witness file in the office home (``audit-witness.jsonl``),
and ``watchhouse audit heads`` exports the same lines for a store the database administrator
cannot reach. A witnessed head is consistent with the current log exactly when the Merkle root
of the log's first ``tree_size`` entries equals the witnessed root — what an RFC 9162
consistency proof from that size to the current size demonstrates. The verifier has every leaf,
so it computes those roots in its single pass instead of building one proof per head.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchhouse.office.audit.signing import TREE_HEAD_FORMAT, TreeHead


@dataclass(frozen=True)
class SignedHead:
    head: TreeHead
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TREE_HEAD_FORMAT,
            "tree_size": self.head.tree_size,
            "root_hash": self.head.root_hash,
            "at": self.head.at,
            "key_id": self.head.key_id,
            "signature": self.signature,
        }

    def to_line(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignedHead:
        if data.get("format") != TREE_HEAD_FORMAT:
            raise ValueError(f"not a {TREE_HEAD_FORMAT} line")
        size, root, sig = data["tree_size"], str(data["root_hash"]), str(data["signature"])
        if type(size) is not int or size < 0 or len(root) != 64:
            raise ValueError("tree_size must be a non-negative integer and root_hash 64 hex digits")
        bytes.fromhex(root + sig)
        return cls(TreeHead(size, root, str(data["at"]), str(data["key_id"])), sig)


@dataclass(frozen=True)
class Witness:
    """Heads read from one place outside the database.

    ``heads`` is ``None`` when the file does not exist. ``complete`` marks the office's own
    witness, which should hold every checkpoint; a ``--heads`` file an operator kept may hold
    only some.
    """

    source: str
    heads: tuple[SignedHead, ...] | None
    unreadable: tuple[str, ...] = ()
    """``line N: why`` for each line that is not a signed tree head (a damaged witness)."""
    complete: bool = False


def publish(path: Path, head: SignedHead) -> None:
    """Append one head as one ``write`` under an exclusive lock, and make it durable.

    The lock keeps lines whole when a server and a CLI checkpoint at the same moment; heads may
    still land out of order, so readers sort by tree size.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (head.to_line() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_witness(path: Path, *, complete: bool = False) -> Witness:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Witness(str(path), None, complete=complete)
    except (OSError, UnicodeDecodeError) as exc:
        return Witness(str(path), (), (f"unreadable: {exc}",), complete)
    heads: list[SignedHead] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            heads.append(SignedHead.from_dict(data))
        except (ValueError, KeyError, TypeError) as exc:
            bad.append(f"line {number}: {exc}")
    return Witness(str(path), tuple(heads), tuple(bad), complete)
