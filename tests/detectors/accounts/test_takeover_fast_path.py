"""The takeover detector's one-pass judging (``AccountHistory.observe`` and the hashed travel test)
against plain Python references that follow the rules as the module docstrings state them.

Why references and not fixed cases: the fast path dedups logins into combinations, sorts hashes
and merges them into the history; a slip there (a first login taken from the wrong row, a seen
time not the latest, a travel predecessor from another account) shows up only on some mixes of
repeats, nulls and batch cuts, which hypothesis generates.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.history import AccountHistory, Unvouched
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.takeover import (
    LOGIN_ACTIONS,
    SENSITIVE_ACTIONS,
    AccountTakeoverDetector,
    _any_of,
)
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

from .auth_rows import success

KINDS = ("device", "country", "asn")
USERS = ("p-alice", "p-bob", "p-carol")
Login = tuple[str, str | None, str | None, str | None]

logins_strategy = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.sampled_from([None, "d-laptop", "d-phone", "d-thief"]),
        st.sampled_from([None, "DE", "FR", "BR"]),
        st.sampled_from([None, "3320", "26599"]),
    ),
    max_size=40,
)


def frame(rows: list[Login], t0: int) -> pl.DataFrame:
    return pl.DataFrame(
        [(*row, t0 + i) for i, row in enumerate(rows)],
        schema={"user": pl.String, "device": pl.String, "country": pl.String, "asn": pl.String, "ts": pl.Int64},
        orient="row",
    )


@settings(max_examples=80, deadline=None)
@given(logins_strategy, st.lists(st.integers(1, 12), min_size=1, max_size=6), st.integers(0, 40))
def test_observe_answers_like_a_per_login_reference(rows: list[Login], cuts: list[int], horizon: int) -> None:
    """Per login: known account (in the history, or an earlier login of the batch) and new value
    (set, and neither in the history nor earlier in the batch); expiry forgets by last-seen time.
    The batches are judged one after another, with an expiry between the first two."""
    check_observe(rows, cuts, horizon, None)


@settings(max_examples=80, deadline=None)
@given(logins_strategy, st.lists(st.integers(1, 12), min_size=1, max_size=6), st.integers(0, 40))
@example(  # a chain: the second is withheld only once the first is (Brazil is new to it then)
    [
        ("p-alice", "d-laptop", "DE", None),
        ("p-alice", None, "BR", "26599"),
        ("p-alice", None, "BR", "3320"),
        ("p-alice", None, "BR", "3320"),  # the next batch: Brazil and AS3320 are new again
    ],
    [3],
    0,
)
def test_unvouched_logins_are_judged_but_not_learned(rows: list[Login], cuts: list[int], horizon: int) -> None:
    """As above, and a combination whose first login of a batch is of an account already known
    (before the batch or by an earlier login of it), without a device, from a new country and a
    new network is not recorded (none of its logins), and all its logins are judged as its first:
    the next batch judges that place as new again."""
    check_observe(rows, cuts, horizon, UNVOUCHED)


UNVOUCHED = Unvouched("device", ("country", "asn"))


def check_observe(rows: list[Login], cuts: list[int], horizon: int, unvouched: Unvouched | None) -> None:
    history, seen_values, seen_users = AccountHistory(), {}, {}  # (user, kind, value) / user -> last ts
    start, call = 0, 0
    for size in [*cuts, len(rows)]:
        part = rows[start : start + size]
        if not part:
            break
        batch = frame(part, start)
        observed = history.observe(batch, hash_keys(batch["user"]), KINDS, unvouched=unvouched)
        history.keep_countries(observed.countries)
        in_batch_users: set[str] = set()
        in_batch_values: set[tuple[str, str, str]] = set()  # used by a login that is recorded
        withheld: dict[Login, dict[str, bool]] = {}  # combination -> its first login's flags
        opened: set[Login] = set()
        for i, row in enumerate(part):
            user, *values = row
            known = user in seen_users or user in in_batch_users
            assert observed.known[i] == known, (call, i)
            in_batch_users.add(user)
            flags = {
                kind: value is not None
                and (user, kind, value) not in seen_values
                and (user, kind, value) not in in_batch_values
                for kind, value in zip(KINDS, values, strict=True)
            }
            if row in withheld:  # a withheld combination's logins are all judged as its first
                flags = withheld[row]
            elif (
                unvouched is not None
                and row not in opened
                and known
                and row[1] is None
                and flags["country"]
                and flags["asn"]
            ):
                withheld[row] = flags
            opened.add(row)
            for kind in KINDS:
                assert observed.new[kind][i] == flags[kind], (call, i, kind)
            if row not in withheld:
                in_batch_values.update((user, kind, v) for kind, v in zip(KINDS, values, strict=True) if v is not None)
        for i, (user, *values) in enumerate(part):
            ts = start + i
            if (user, *values) in withheld:  # judged, never recorded
                continue
            for kind, value in zip(KINDS, values, strict=True):
                if value is not None:
                    seen_values[(user, kind, value)] = ts
            if any(v is not None for v in values):
                seen_users[user] = ts
        if call == 0:
            history.expire(horizon)
            seen_values = {k: t for k, t in seen_values.items() if t >= horizon}
            seen_users = {u: t for u, t in seen_users.items() if t >= horizon}
            restored = AccountHistory()  # and the state survives a checkpoint at this point
            restored.load_json(json.loads(json.dumps(history.to_json())))
            history = restored
        start, call = start + size, call + 1
    assert len(history) == len(seen_values)
    for user in USERS:
        expected = sorted({v for (u, k, v) in seen_values if u == user and k == "country"})
        assert history.countries(user) == expected, user


def login(t: int, user: str, ip: str, device: str, country: str | None, action: str = "login") -> dict[str, Any]:
    return success(t, user, ip, device, country, ASNS[country], action)


#: each country's network (ASN): a new country is then always a new network too
ASNS: dict[str | None, int | None] = {"DE": 3320, "FR": 5410, "BR": 26599, None: None}
GRID = 600  # seconds between events: a hop is either well inside the travel limit or outside it

events_strategy = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.sampled_from(["d-laptop", "d-phone", "d-thief"]),
        st.sampled_from([None, "DE", "FR", "BR"]),
        st.sampled_from(["79.192.0.5", "177.32.0.9"]),
        st.sampled_from(["login", "login", "login", "email_change"]),
        st.integers(1, 4),
    ),
    max_size=45,
)


def reference(events: list[tuple[str, str, str | None, str, str, int]], window: int, travel: int) -> set[str]:
    """The two signals, straight from the module docstring, over events in time order."""
    found: set[str] = set()
    devices: dict[str, set[str]] = {}
    countries: dict[str, set[str]] = {}
    networks: dict[str, set[int]] = {}
    last_place: dict[str, tuple[int, str]] = {}
    t = 0
    timeline = []
    for user, device, country, ip, action, gap in events:
        t += gap * GRID
        timeline.append((t, user, device, country, ip, action))
    for t, user, device, country, ip, action in timeline:
        if action != "login":
            continue
        asn = ASNS[country]
        known = user in devices
        new_device = device not in devices.get(user, set())
        new_place = country is not None and country not in countries.get(user, set())
        new_asn = asn is not None and asn not in networks.get(user, set())
        if known and new_device and (new_place or new_asn):
            changes = [
                e
                for e in timeline
                if e[1] == user and e[5] != "login" and t <= e[0] <= t + window and (e[4] == ip or e[2] == device)
            ]
            if changes:
                found.add(f"takeover:{user}:{t}")
        if country is not None:
            if user in last_place and last_place[user][1] != country and t - last_place[user][0] < travel:
                found.add(f"travel:{user}:{t}")
            last_place[user] = (t, country)
        devices.setdefault(user, set()).add(device)
        if country is not None and asn is not None:
            countries.setdefault(user, set()).add(country)
            networks.setdefault(user, set()).add(asn)
    return found


@settings(max_examples=80, deadline=None)
@given(events_strategy, st.integers(1, 8), st.sampled_from([GRID, 3 * GRID, 3600]))
def test_detector_matches_the_reference_across_batches(
    events: list[tuple[str, str, str | None, str, str, int]], size: int, window: int
) -> None:
    """Takeovers and impossible travel, batch after batch with windows released in between.

    Windows up to the travel limit: logins are released a window late, so a remembered login must
    stay in the travel table a window longer than the travel limit (a shorter horizon once lost
    hops whose two logins were released by different batches)."""
    travel = 3600
    rows, t = [], 0
    for user, device, country, ip, action, gap in events:
        t += gap * GRID
        rows.append(login(t, user, ip, device, country, action))
    batches = [make_batch(Dataset.AUTH, rows[i : i + size], first_line=i + 1) for i in range(0, len(rows), size)]
    detector = AccountTakeoverDetector(window_seconds=window, travel_seconds=travel)
    got = {label(f) for f in run_detector(detector, batches)}
    assert got == reference(events, window, travel)


def label(finding: Finding) -> str:
    """``signal:account:seconds`` of a finding: the judged login's time after BASE_TIME."""
    travel = finding.details["signal"] == "impossible_travel"
    # a hop's last_seen may be a change made after its second login (see test_travel_changes)
    at = datetime.fromisoformat(finding.details["second_login_at"]) if travel else finding.first_seen
    return f"{'travel' if travel else 'takeover'}:{finding.subject.value}:{int((at - BASE_TIME).total_seconds())}"


def test_travel_predecessor_is_the_same_accounts_last_login() -> None:
    """The remembered last login belongs to its own account: other accounts' logins (remembered,
    and in the batch) neither hide a hop nor make one for an account with no earlier login."""
    rows = [
        login(0, "p-alice", "79.192.0.5", "d-laptop", "DE"),
        login(60, "p-bob", "177.32.0.9", "d-phone", "BR"),
        login(1800, "p-bob", "177.32.0.9", "d-phone", "BR"),
        login(1850, "p-carol", "73.12.0.9", "d-tablet", "FR"),  # her first login: nothing to hop from
        login(1900, "p-alice", "73.12.0.4", "d-laptop", "FR"),
    ]
    detector = AccountTakeoverDetector(window_seconds=300, travel_seconds=3600)
    findings = run_detector(
        detector, [make_batch(Dataset.AUTH, rows[:2]), make_batch(Dataset.AUTH, rows[2:], first_line=3)]
    )
    (hop,) = findings
    assert hop.subject.value == "p-alice" and hop.details["from_country"] == "DE" and hop.details["to_country"] == "FR"
    assert np.isclose(hop.details["seconds_between"], 1900)


def test_travel_hop_survives_a_release_between_its_two_logins() -> None:
    """Logins are released a window after they happen. Here Alice's German login is released by
    the third batch and her French one, 3,000 s later, only by the fourth: the German login must
    still be remembered then (a travel table that forgot logins older than ``watermark - travel``
    dropped it at the third batch, whose watermark is 6,000 s, and the hop was never reported)."""
    rows = [
        login(0, "p-alice", "79.192.0.5", "d-laptop", "DE"),
        login(3000, "p-alice", "73.12.0.4", "d-laptop", "FR"),
        login(6000, "p-bob", "177.32.0.9", "d-phone", "BR"),
        login(7000, "p-bob", "177.32.0.9", "d-phone", "BR"),
    ]
    detector = AccountTakeoverDetector(window_seconds=3600, travel_seconds=3600, allowed_lateness_seconds=0)
    batches = [make_batch(Dataset.AUTH, [row], first_line=i + 1) for i, row in enumerate(rows)]
    (hop,) = run_detector(detector, batches)
    assert hop.subject.value == "p-alice" and hop.details["from_country"] == "DE" and hop.details["to_country"] == "FR"
    assert np.isclose(hop.details["seconds_between"], 3000)
    # both logins are cited, the remembered German one too: either may be the intruder's
    assert [(ref.line, ref.offset is None) for ref in hop.evidence] == [(1, True), (2, True)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["login", "password", "publickey", "email_change", "logout", None]), max_size=60))
def test_action_test_answers_like_a_set_lookup(actions: list[str | None]) -> None:
    """``_any_of`` tells plain logins by one comparison and looks up only the rest (or, in a
    stream that is mostly something else, all): the same answer as ``is_in`` either way."""
    series = pl.Series(actions, dtype=pl.String)
    for wanted in (LOGIN_ACTIONS | SENSITIVE_ACTIONS, SENSITIVE_ACTIONS):
        expected = [value in wanted for value in actions]
        assert _any_of(series, wanted).tolist() == expected
