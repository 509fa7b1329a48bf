"""Inclusion and consistency proofs as values an outside party can check on their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from watchhouse.office.audit import merkle


@dataclass(frozen=True)
class InclusionProof:
    """Entry ``seq`` (leaf ``seq - 1``) is in the tree of ``tree_size`` entries with ``root``."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    root: bytes

    def verify(self) -> bool:
        return merkle.verify_inclusion(self.leaf_hash, self.seq - 1, self.tree_size, self.path, self.root)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
            "root_hash": self.root.hex(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``first`` entries is a prefix of the tree of ``second`` entries."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: tuple[bytes, ...]

    def verify(self) -> bool:
        return merkle.verify_consistency(self.first, self.second, self.first_root, self.second_root, self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "first_root_hash": self.first_root.hex(),
            "second_root_hash": self.second_root.hex(),
            "path": [p.hex() for p in self.path],
        }


def build_inclusion(leaves: Sequence[bytes], seq: int, tree_size: int) -> InclusionProof:
    return InclusionProof(
        seq=seq,
        tree_size=tree_size,
        leaf_hash=leaves[seq - 1],
        path=tuple(merkle.inclusion_proof(leaves, seq - 1, tree_size)),
        root=merkle.root_from_leaf_hashes(leaves[:tree_size]),
    )


def build_consistency(leaves: Sequence[bytes], first: int, second: int) -> ConsistencyProof:
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=merkle.root_from_leaf_hashes(leaves[:first]),
        second_root=merkle.root_from_leaf_hashes(leaves[:second]),
        path=tuple(merkle.consistency_proof(leaves, first, second)),
    )
