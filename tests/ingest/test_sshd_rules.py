"""The sshd rules' shortcuts must not change a single result.

``classify`` tries only the rules a message's head allows (``Rule.starts``) and settles most lines
with a rule's capture-cheap ``fast`` pattern. These tests hold both against the plain definition:
every rule tried in order with its own pattern, first match wins, groups from that pattern.
"""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchhouse.ingest.sshd import _REPEATED, PREFIX, RULES, Connections, classify

# Tokens that sit where the rules' lazy and greedy groups have to decide where to stop.
_TRICKY = ["from", "port", "user", "invalid", "illegal", "ssh2", "[preauth]", "22", "::ffff:10.0.0.1", "ruser=", ""]
_ADDRESSES = ["203.0.113.9", "2001:db8::7", "::ffff:192.0.2.1", "host.example", "1.2.3.4:", "-"]
# printable ASCII plus a few characters where Python's and Rust's regexes could disagree (non-ASCII
# letters and spaces); generating from the full Unicode range is slow and adds nothing here
_ALPHABET = st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\u00e9\u00a0\u2003\u017f\t")
_WORDS = st.one_of(
    st.sampled_from(_TRICKY + _ADDRESSES),
    st.text(alphabet="abcdefgh0123456789:.-_[]()=\u00e9 \t", max_size=8),
)


# heads that classify rewrites first (and near misses of them), so chunks mix rewritten and plain lines
_REWRITTEN_HEADS = [
    "error: Failed password for ",
    "fatal: Invalid user ",
    "[ID 800047 auth.info] Accepted password for ",
    "message repeated 2 times: [ Failed password for ",
    "message repeat",
    "error:",
]


def _reference(messages: list[str]) -> pl.DataFrame:
    """The plain definition: each rule's own pattern, in order; the first that matches names the groups."""
    frame = pl.DataFrame(
        {"_row": list(range(len(messages))), "_text": messages}, schema={"_row": pl.Int64, "_text": pl.String}
    )
    # the syslog "message repeated" and "error: " style rewrites come first, as in classify
    frame = frame.with_columns(pl.col("_text").str.replace(_REPEATED, "$1").str.replace(PREFIX, ""))
    first = pl.lit(None, pl.Int32)
    for index in reversed(range(len(RULES))):
        first = pl.when(pl.col("_text").str.contains(RULES[index].pattern)).then(index).otherwise(first)
    frame = frame.with_columns(_rule=first)
    rows: list[dict[str, object]] = []
    for (index,), part in frame.drop_nulls("_rule").partition_by("_rule", as_dict=True).items():
        rule = RULES[int(str(index))]
        groups = part.select("_row", pl.col("_text").str.extract_groups(rule.pattern).alias("_g")).unnest("_g")
        for row in groups.iter_rows(named=True):
            rows.append({"_row": row.pop("_row"), "rule": rule.reason, "action": rule.action, **_plain(row, rule.user)})
    return pl.DataFrame(rows).sort("_row") if rows else pl.DataFrame()


def _plain(groups: dict[str, str | None], fixed_user: str | None) -> dict[str, object]:
    user = groups.get("user", fixed_user)
    if "ruser" in groups:
        user = (user or None) or (groups["ruser"] or None)
    return {"user": user, "ip": groups.get("ip"), "method": groups.get("method"), "invalid": groups.get("invalid")}


def _classified(messages: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"_row": list(range(len(messages))), "message": messages}, schema={"_row": pl.Int64, "message": pl.String}
    )
    return classify(frame)


def _check(messages: list[str]) -> None:
    expected = _reference(messages)
    got = _classified(messages)
    assert got.get_column("_row").to_list() == (expected.get_column("_row").to_list() if expected.height else [])
    for want, row in zip(expected.iter_rows(named=True), got.iter_rows(named=True), strict=True):
        ip = want["ip"]
        mapped = re.fullmatch(r"::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)", ip) if isinstance(ip, str) else None
        ip = mapped.group(1) if mapped else ip
        assert row["source.ip"] == (ip or None), (messages[want["_row"]], row, want)
        assert row["user.name"] == want["user"], (messages[want["_row"]], row, want)
        if want["action"] == "{method}":
            action = "invalid_user" if want["invalid"] else want["method"]
        else:
            action = want["action"]
        assert row["event.action"] == action, (messages[want["_row"]], row, want)
        assert row["event.reason"] == want["rule"].replace("{method}", want["method"] or ""), messages[want["_row"]]


# Real sshd messages (OpenSSH 6-9, Solaris/PAM variants) and near misses of each fast pattern.
MESSAGES = [
    "Failed password for root from 203.0.113.5 port 4242 ssh2",
    "Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2",
    "Failed password for invalid user from 203.0.113.5 port 4242 ssh2",
    "Failed password for invalid user user from 203.0.113.5 port 4242 ssh2",
    "Failed password for invalid from 203.0.113.5 port 4242 ssh2",
    "Failed password for a from 10.0.0.1 port 1 ssh2 from 203.0.113.5 port 4242 ssh2",
    "Failed publickey for bob from 2001:db8::7 port 22 ssh2: RSA SHA256:abc",
    "Failed none for  from 192.0.2.1 port 1 ssh2",
    "Accepted publickey for deploy from 198.51.100.2 port 5050 ssh2: RSA SHA256:abc from 1.1.1.1",
    "Accepted password for élodie from 198.51.100.2 port 5050 ssh2",
    "Invalid user oracle from 203.0.113.6 port 1111",
    "Invalid user from from 203.0.113.6 port 1111 [preauth]",
    "Illegal user a b from 203.0.113.6",
    "Connection closed by invalid user dev 203.0.113.8 port 3333 [preauth]",
    "Connection closed by authenticating user root 203.0.113.8 port 3333 [preauth]",
    "Disconnected from authenticating user u port 203.0.113.8 port 3333 [preauth]",
    "Disconnecting invalid user x 203.0.113.8 port 3333",
    "Connection closed by 203.0.113.8 port 3333 [preauth]",
    "Connection reset by 2001:db8::1 port 3333",
    "Disconnected from 203.0.113.8",
    "Connection from 203.0.113.8 port 3333 on 10.0.0.1 port 22",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=guest rhost=203.0.113.7",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=  user=root",
    "pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)",
    "PAM: Authentication failure for illegal user x from 192.0.2.3",
    "Received disconnect from 203.0.113.9 port 22:11: Bye Bye [preauth]",
    "Received disconnect from 2001:db8::9 port 22:11: Bye Bye [preauth]",
    "Received disconnect from 203.0.113.9 port 22:11: disconnected by user",
    "Disconnecting: Too many authentication failures for root [preauth]",
    "Disconnecting: Too many authentication failures [preauth]",
    "error: maximum authentication attempts exceeded for root from 203.0.113.9 port 1 ssh2",
    "message repeated 3 times: [ Failed password for root from 203.0.113.5 port 4242 ssh2]",
    "kex_exchange_identification: Connection closed by remote host",
    "no matching cipher found: client aes128-cbc [preauth]",
    "Server listening on 0.0.0.0 port 22.",
    "",
]


def test_classify_equals_every_rule_tried_in_order() -> None:
    _check(MESSAGES)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    heads=st.lists(
        st.sampled_from(
            [s for rule in RULES for s in rule.starts] + ["Failed password for invalid user ", *_REWRITTEN_HEADS]
        ),
        min_size=1,
        max_size=6,
    ),
    tails=st.lists(st.lists(_WORDS, max_size=9), min_size=6, max_size=6),
)
def test_classify_equals_the_plain_definition_on_generated_messages(heads: list[str], tails: list[list[str]]) -> None:
    messages = [head + " ".join(tail) for head, tail in zip(heads, tails, strict=False)]
    _check(messages)


@pytest.mark.parametrize(("index", "pattern"), [(i, p) for i, rule in enumerate(RULES) for p in rule.fast])
def test_fast_patterns_are_subsets_capturing_the_same(index: int, pattern: str) -> None:
    rule = RULES[index]
    assert "(?P<ip>" in pattern  # the match marker classify relies on

    @settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(
        st.lists(
            # whole matches, and matches of a head with anything after it (where a missing "$" shows)
            st.from_regex(pattern, fullmatch=True, alphabet=_ALPHABET) | st.from_regex(pattern, alphabet=_ALPHABET),
            min_size=1,
            max_size=20,
        )
    )
    def check(messages: list[str]) -> None:
        frame = pl.DataFrame({"m": messages}, schema={"m": pl.String})
        fast = frame.select(pl.col("m").str.extract_groups(pattern)).unnest("m")
        taken = fast.get_column("ip").is_not_null()
        assert frame.filter(taken).get_column("m").str.contains(rule.pattern).all()
        full = frame.select(pl.col("m").str.extract_groups(rule.pattern)).unnest("m").filter(taken)
        shared = [c for c in full.columns if c in fast.columns]
        assert fast.filter(taken).select(shared).equals(full.select(shared))
        # a group the fast pattern lacks (the optional "invalid user ") must be absent in the rule's too
        assert all(full.get_column(c).null_count() == full.height for c in full.columns if c not in shared)

    check()


@pytest.mark.parametrize("index", range(len(RULES)))
def test_every_message_a_rule_matches_begins_with_one_of_its_starts(index: int) -> None:
    rule = RULES[index]

    @settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(st.from_regex(rule.pattern, alphabet=_ALPHABET))
    def check(message: str) -> None:
        if not pl.Series([message]).str.contains(rule.pattern).item():
            return  # Python's and Rust's regex dialects differ at the edges (\s, case folding)
        folded = rule.pattern.startswith("(?i)")
        text = message.casefold() if folded else message
        assert any(text.startswith(s.casefold() if folded else s) for s in rule.starts), message

    check()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=60),
    st.integers(1, 8),
)
def test_memory_compaction_keeps_the_latest_row_per_key(pairs: list[tuple[int, int]], capacity: int) -> None:
    memory = Connections(capacity=capacity)
    frame = pl.DataFrame(
        {"_conn": [c for c, _ in pairs], "_ts": list(range(len(pairs))), "_user": [u for _, u in pairs]},
        schema={"_conn": pl.UInt64, "_ts": pl.Int64, "_user": pl.UInt64},
    )
    for by in (None, ["_conn", "_user"]):
        kept = memory._keep(frame, by)
        if frame.height <= 2 * capacity:
            assert kept.equals(frame)
            continue
        expected = frame.unique(by or ["_conn"], keep="last", maintain_order=True).tail(capacity)
        assert kept.equals(expected)
