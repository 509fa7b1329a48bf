"""RFC 9162 Merkle proofs against published vectors and a naive reference written from the RFC text."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.office.audit import merkle

# Certificate Transparency's published test data (RFC 6962/9162 hashing).
CT_INPUTS = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


# --- naive reference: a direct transcription of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 ---------------
def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return ref_leaf(d[0])
    k = ref_k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = ref_k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# --- tests -----------------------------------------------------------------------------------------
LEAVES = [merkle.leaf_hash(x) for x in CT_INPUTS]


def test_roots_match_published_vectors() -> None:
    for size in range(len(CT_INPUTS) + 1):
        assert merkle.root_from_leaf_hashes(LEAVES[:size]).hex() == CT_ROOTS[size]


def test_inclusion_proofs_match_published_vectors() -> None:
    root = bytes.fromhex(CT_ROOTS[8])
    for (index, size), expected in CT_INCLUSION.items():
        path = merkle.inclusion_proof(LEAVES, index, size)
        assert [p.hex() for p in path] == expected
        assert merkle.verify_inclusion(LEAVES[index], index, size, path, root)


data_lists = st.lists(st.binary(max_size=6), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(data_lists, st.data())
def test_inclusion_matches_reference_and_verifies(d: list[bytes], data: st.DataObject) -> None:
    size = data.draw(st.integers(1, len(d)))
    index = data.draw(st.integers(0, size - 1))
    leaves = [merkle.leaf_hash(x) for x in d]
    root = merkle.root_from_leaf_hashes(leaves[:size])
    assert root == ref_mth(d[:size])
    path = merkle.inclusion_proof(leaves, index, size)
    assert path == ref_path(index, d[:size])
    assert merkle.verify_inclusion(leaves[index], index, size, path, root)
    # Any other leaf, index or a changed path element must fail.
    assert not merkle.verify_inclusion(merkle.leaf_hash(d[index] + b"x"), index, size, path, root)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(leaves[index], other, size, path, root) or leaves[other] == leaves[index]
        bent = list(path)
        bent[data.draw(st.integers(0, len(bent) - 1))] = b"\xff" * 32
        assert not merkle.verify_inclusion(leaves[index], index, size, bent, root)
    assert not merkle.verify_inclusion(leaves[index], index, size, [*path, root], root)


@settings(max_examples=150, deadline=None)
@given(data_lists, st.data())
def test_consistency_matches_reference_and_verifies(d: list[bytes], data: st.DataObject) -> None:
    second = data.draw(st.integers(1, len(d)))
    first = data.draw(st.integers(1, second))
    leaves = [merkle.leaf_hash(x) for x in d]
    first_root = merkle.root_from_leaf_hashes(leaves[:first])
    second_root = merkle.root_from_leaf_hashes(leaves[:second])
    path = merkle.consistency_proof(leaves, first, second)
    assert path == (ref_proof(first, d[:second]) if first < second else [])
    assert merkle.verify_consistency(first, second, first_root, second_root, path)
    if first < second:
        # A rewritten history (different first tree) must not verify against the same proof.
        forged = merkle.root_from_leaf_hashes([merkle.leaf_hash(b"forged"), *leaves[1:first]])
        assert not merkle.verify_consistency(first, second, forged, second_root, path)
        bent = list(path)
        bent[data.draw(st.integers(0, len(bent) - 1))] = b"\x00" * 32
        assert not merkle.verify_consistency(first, second, first_root, second_root, bent)
        assert not merkle.verify_consistency(first, second, first_root, second_root, [])


def test_frontier_agrees_with_reference_at_every_size() -> None:
    frontier = merkle.Frontier()
    d = [bytes([i]) for i in range(40)]
    for i, x in enumerate(d):
        frontier.append(merkle.leaf_hash(x))
        assert frontier.root() == ref_mth(d[: i + 1])
