"""A record owner's name never survives in clear inside a record-access URL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import assume, given
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.core.identity import Pseudonymizer
from watchhouse.ingest import Quarantine, ReaderOptions, SourceReader
from watchhouse.ingest.url_identities import mask_owner_in_urls
from watchhouse.simulate.formats import record_json

PSEUDO = Pseudonymizer(b"k" * 32)


def _read(path: Path) -> pa.Table:
    reader = SourceReader(str(path), ReaderOptions(), Quarantine(None), PSEUDO)
    batches = [b for b in reader.batches() if b.dataset is Dataset.DATA_ACCESS]
    return pa.concat_tables([b.table for b in batches])


def test_the_owner_in_a_record_url_becomes_the_owners_pseudonym(tmp_path: Path) -> None:
    rows = [
        ("ann", "/admin/users/ann/payout"),
        ("ann", "/admin/channel/ann"),  # "ann" inside "channel" is not her name
        ("anna.b@example.com", "/admin/users/anna.b%40example.com/profile?tab=email"),
        ("bob", "/admin/search?user=bob&type=profile"),
        (None, "/internal/v2/users/export?type=profile"),
        ("cat", "/admin/users/catherine/profile"),  # another user's name that starts with hers
        ("100234", "/admin/users/100234/profile"),  # an account number: its order shows enumeration
    ]
    path = tmp_path / "record_access.jsonl"
    path.write_text(
        "".join(
            record_json(
                "2026-03-02T10:00:00.000Z", "10.0.0.5", "staff7", "support", "read", who, "profile", 1, "crm", url
            )
            + "\n"
            for who, url in rows
        )
    )
    table = _read(path)
    urls = table.column("url.original").to_pylist()
    owners = table.column("user.target.name").to_pylist()
    ann, email, bob = PSEUDO.pseudonym("ann"), PSEUDO.pseudonym("anna.b@example.com"), PSEUDO.pseudonym("bob")
    assert urls == [
        f"/admin/users/{ann}/payout",
        f"/admin/channel/{ann}",
        f"/admin/users/{email}/profile?tab=email",
        f"/admin/search?user={bob}&type=profile",
        "/internal/v2/users/export?type=profile",
        "/admin/users/catherine/profile",
        "/admin/users/100234/profile",
    ]
    assert owners[:4] == [ann, ann, email, bob] and owners[4] is None
    assert table.column("user.name").to_pylist() == [PSEUDO.pseudonym("staff7")] * len(rows)


@given(st.text(min_size=1, max_size=12), st.lists(st.text(max_size=8), max_size=4))
def test_the_owner_never_remains_as_a_whole_segment(owner: str, segments: list[str]) -> None:
    assume(not owner.isdecimal())
    url = "/" + "/".join([*segments, owner, *segments])
    masked = mask_owner_in_urls(pa.array([url]), pa.array([owner]), PSEUDO.pseudonym).to_pylist()[0]
    parts = masked.split("/")
    assert owner not in parts[1:] or "/" in owner or any(c in owner for c in "?&#;=:")
