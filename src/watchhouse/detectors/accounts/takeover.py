"""``accounts.takeover``: signs that someone else is now using an account.

Two signals after a *successful* login, both judged against the account's own history:

* a login from a device the account never used, from a country or network (ASN) it never used,
  followed within a window by a sensitive change (email, password, payout details, second
  factor) from that same login's address or device — the thief locking the owner out or
  redirecting money, the step that turns access into damage;
* impossible travel: two logins of one account from different countries closer in time than
  anyone could travel (``travel_seconds``); no coordinates are in the ``auth`` schema, so the
  country change stands in for distance. It needs no history beyond the last login, so it also
  catches an intruder who logs in before the owner ever did in the data; the account's sensitive
  changes from the first login to a window after the second are cited with it (CRITICAL then),
  since which of the two sessions is the thief's is for the analyst to tell.

Both need history, and history is what grows without bound, so it expires: an account's known
devices, countries and networks are forgotten ``history_days`` after they were last seen.
Rows are judged in event-time order once the watermark has passed them by ``window_seconds``,
so the change that follows a login is always present when the login is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.direct_columns import filtered
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows
from watchhouse.detectors.accounts.history import AccountHistory, Observed, Unvouched, _groups
from watchhouse.detectors.accounts.last_logins import LAST_SCHEMA, LastLogins
from watchhouse.detectors.accounts.reporting import US, anchor, at, evidence, iso, span
from watchhouse.detectors.accounts.sketches import U64

#: ``event.action`` values of account changes that hand the account or its money to someone else
SENSITIVE_ACTIONS: frozenset[str] = frozenset(
    {"email_change", "password_change", "payout_change", "mfa_disable", "phone_change", "recovery_change"}
)
LOGIN_ACTIONS: frozenset[str] = frozenset({"login", "password", "publickey", "keyboard-interactive"})

ROW_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "due": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "user": pl.String(),
    "ip": pl.String(),
    "device": pl.String(),
    "country": pl.String(),
    #: the AS number as read: hashed as a number (turning it into text cost more than the rest of
    #: reading the batch); findings write it as text
    "asn": pl.Int64(),
    "action": pl.String(),
}
_KINDS = ("device", "country", "asn")
#: logins judged as suspicious without a new device, and not learned: no device id, from a new
#: country and a new network (an intruder's successful guess would otherwise teach the account his
#: place; see :class:`.Unvouched`)
_UNVOUCHED = Unvouched("device", ("country", "asn"))
#: sensitive changes looked through in Python for a batch's hops; more are filtered by a query first
_FEW_CHANGES = 2_000
#: what a hop says of its predecessor when the account has no remembered login
_REMEMBERED = tuple(name for name in LAST_SCHEMA if name.startswith("prev_"))
#: the batch columns kept as they are, and their names in the held rows
_KEPT = (
    (PATH_FIELD, "path"),
    (LINE_FIELD, "line"),
    (OFFSET_FIELD, "offset"),
    ("user.name", "user"),
    ("source.ip", "ip"),
    ("device.id", "device"),
    ("source.geo.country_iso_code", "country"),
)


class AccountTakeoverDetector(Detector):
    """Reports a new-device, new-place login followed by a sensitive change, and impossible travel.

    Options (event time, seconds): ``window_seconds=3600`` (how soon after the login the change
    must follow), ``travel_seconds=3600`` (two countries within an hour of each other is not
    travel), ``history_days=90`` (how long a device or place stays known),
    ``allowed_lateness_seconds=60``.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="accounts.takeover",
        version="1",
        family=DetectorFamily.ACCOUNTS,
        datasets=frozenset({Dataset.AUTH}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="Login from a new device and place followed by a sensitive change, or impossible travel.",
    )

    def __init__(
        self,
        *,
        window_seconds: float = 3600,
        travel_seconds: float = 3600,
        history_days: float = 90,
        allowed_lateness_seconds: float = 60,
    ) -> None:
        if min(window_seconds, travel_seconds, history_days) <= 0 or allowed_lateness_seconds < 0:
            raise DetectorError("windows and history must be positive, lateness not negative")
        self.window_seconds = window_seconds
        self.travel_seconds = travel_seconds
        self.history_days = history_days
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self._reset()

    def _reset(self) -> None:
        self._clock = EventClock(round(self.allowed_lateness_seconds * US))
        self._held = HeldRows(ROW_SCHEMA)
        self._history = AccountHistory()
        self._last = LastLogins()
        #: sensitive changes released in the last ``window + travel`` (see :meth:`_keep_changes`)
        self._changes = pl.DataFrame(schema=ROW_SCHEMA)

    # -- Detector protocol --------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        events = batch.to_polars()
        # the row test is numpy and the frame is built from the columns kept themselves (no copy;
        # an auth batch has a dozen more, user agents among them), then filtered column by column:
        # a query (select, then filter) cost more in planning than the work on a small batch
        judged = _any_of(events["event.action"], LOGIN_ACTIONS | SENSITIVE_ACTIONS)
        judged &= _is(events["event.outcome"], "success")
        if events["user.name"].null_count():
            judged &= events["user.name"].is_not_null().to_numpy()
        ts = events[TIMESTAMP_FIELD].cast(pl.Int64)
        columns = [
            ts.alias("ts"),
            *(events[field].alias(name) for field, name in _KEPT),
            events["source.as.number"].cast(pl.Int64).alias("asn"),
            events["event.action"].alias("action"),
            (ts + round(self.window_seconds * US)).alias("due"),
        ]
        frame = filtered(pl.DataFrame(columns), judged)
        self._held.add(self._clock.admit(frame))
        watermarks = self._clock.watermarks
        return self._judge(self._held.release(watermarks), min(watermarks.values()) if watermarks else None)

    def finalize(self) -> list[Finding]:
        out = self._judge(self._held.release(None), None)
        self._reset()
        return out

    def checkpoint(self) -> JSONState:
        return {
            "clock": self._clock.to_json(),
            "held": self._held.to_json(),
            "history": self._history.to_json(),
            "last": self._last.to_json(),
            "changes": self._changes.to_dict(as_series=False),
        }

    def restore(self, state: JSONState) -> None:
        self._reset()
        if state:
            self._clock.load_json(state["clock"])
            self._held.load_json(_numeric_asn(state["held"]))
            self._history.load_json(state["history"])
            self._last = LastLogins.from_json(state["last"])
            if "changes" in state:  # not in checkpoints written before travel findings cited changes
                self._changes = pl.DataFrame(_numeric_asn(state["changes"]), schema=ROW_SCHEMA)

    @property
    def history_rows(self) -> int:
        return len(self._history)

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, released: pl.DataFrame, watermark: int | None) -> list[Finding]:
        if released.height == 0:
            return []
        released = _in_stream_order(released)
        sensitive = _any_of(released["action"], SENSITIVE_ACTIONS)
        has_changes = bool(sensitive.any())
        logins = filtered(released, ~sensitive) if has_changes else released
        released_changes = filtered(released, sensitive) if has_changes else None
        changes = pl.concat([self._changes, released_changes]) if released_changes is not None else self._changes
        findings: list[Finding] = []
        if logins.height:
            hashed = self._history.hashed(logins, _KINDS)
            users = hashed.users
            observed = self._history.observe(logins, users, _KINDS, hashed=hashed, unvouched=_UNVOUCHED)
            placed = Placed.of(users, observed, self._last)
            findings += self._changes_after(self._suspicious(logins, observed), released_changes, observed.countries)
            findings += self._travel(logins, users, observed, placed, changes)
            self._history.keep_countries(observed.countries)
            self._remember(logins, observed, placed, watermark)
        self._keep_changes(changes, watermark)
        findings.sort(key=lambda f: (f.first_seen, f.key))
        return findings

    @staticmethod
    def _suspicious(logins: pl.DataFrame, observed: Observed) -> pl.DataFrame | None:
        """The logins of known accounts from a new device and a new country or network (ASN), or
        without a device id from a new country *and* a new network.

        Why the second: many platforms log no device id at all, and an intruder replaying a
        stolen password through a script or the API presents none; with "new device" required,
        such a login followed by an email change was never a takeover however foreign its place.
        Without the device's evidence both place signals must be new, so a traveller on a known
        network (roaming on the home carrier) or in a known country is not enough.

        ``observed`` answers per login (see :meth:`.AccountHistory.observe`); only the few
        suspicious rows are copied out, with the flags their finding words (None: no such login)."""
        new = observed.new
        flags = observed.known & (
            (new["device"] & (new["country"] | new["asn"])) | _UNVOUCHED.matches(observed.present, new)
        )
        if not flags.any():
            return None
        mask = pl.Series(flags)
        return logins.filter(mask).with_columns(
            new_country=pl.Series(new["country"]).filter(mask),
            new_asn=pl.Series(new["asn"]).filter(mask),
            row=pl.Series(np.flatnonzero(flags), dtype=pl.Int64),
        )

    def _changes_after(
        self, suspicious: pl.DataFrame | None, released: pl.DataFrame | None, batch_countries: pl.DataFrame
    ) -> list[Finding]:
        """Sensitive changes within the window after each suspicious login, from its address or
        device. ``released``: the released chunk's changes (None: it had none); ``batch_countries``:
        the countries first used by the batch's logins (with their rows), which the history does
        not hold yet."""
        if suspicious is None or suspicious.height == 0:
            return []
        window = round(self.window_seconds * US)
        # the released chunk's changes and those still held (a change within the window may not be
        # due yet), picked column by column: most batches have a suspicious login (device-less
        # ones are judged again and again until vouched for), and one query over all rows
        # released and held cost more than the rest of judging
        parts = [] if released is None else [released]
        held = self._held.rows
        if held.height:
            pending = _any_of(held["action"], SENSITIVE_ACTIONS)
            if pending.any():
                parts.append(filtered(held, pending))
        if not parts:
            return []
        changes = pl.concat(parts) if len(parts) > 1 else parts[0]
        logins = suspicious.select(
            "user",
            login_ts="ts",
            login_seq="seq",
            login_ip="ip",
            login_device="device",
            login_country="country",
            login_asn="asn",
            login_path="path",
            login_line="line",
            login_offset="offset",
        )
        pairs = changes.join(logins, on="user", how="inner").filter(
            pl.col("ts").is_between(pl.col("login_ts"), pl.col("login_ts") + window)
            & ((pl.col("ip") == pl.col("login_ip")) | (pl.col("device") == pl.col("login_device"))).fill_null(False)
        )
        findings = []
        for (user, login_seq), group in pairs.sort("login_seq", "ts", "seq").group_by(
            "user", "login_seq", maintain_order=True
        ):
            login = suspicious.filter(pl.col("seq") == login_seq)
            findings.append(self._takeover_finding(str(user), login, group, batch_countries))
        return findings

    def _takeover_finding(
        self, user: str, login: pl.DataFrame, changes: pl.DataFrame, batch_countries: pl.DataFrame
    ) -> Finding:
        row = login.row(0, named=True)
        row["asn"] = None if row["asn"] is None else str(row["asn"])
        first, last = int(row["ts"]), int(changes["ts"].max())  # type: ignore[arg-type]
        actions = sorted(changes["action"].unique().to_list())
        # the countries known before this login: the history's, and those of the account's
        # earlier logins in the same batch (the history records them after the batch is judged)
        earlier = batch_countries.filter((pl.col("user") == user) & (pl.col("row") < row["row"]))
        places = sorted({*self._history.countries(user), *earlier["value"].to_list()})
        device = row["device"]
        details: dict[str, Any] = {
            "signal": "new_device_new_place_sensitive_change"
            if device is not None
            else "no_device_new_place_sensitive_change",
            "account": user,
            "login_at": iso(first),
            "source_ip": row["ip"],
            "device": row["device"],
            "country": row["country"],
            "asn": row["asn"],
            "new_country": bool(row["new_country"]),
            "new_asn": bool(row["new_asn"]),
            "known_countries": places[:20],
            "changes": actions,
            "change_count": changes.height,
            "last_change_at": iso(last),
            "window_seconds": self.window_seconds,
        }
        place = (
            "country and network"
            if row["new_country"] and row["new_asn"]
            else ("country" if row["new_country"] else "network")
        )
        how = (
            f"on device {device}, a device and {place} this account had not used before"
            if device is not None
            else f"without a device id, from a {place} this account had not used before"
        )
        explanation = (
            f"Account {user} logged in at {iso(first)} from {row['ip']} "
            f"(country {row['country'] or '?'}, AS{row['asn'] or '?'}) {how} "
            f"(known countries: {', '.join(places) or 'none'}). Within {span(last - first)} the same "
            f"{'address' if row['ip'] else 'device'} made {changes.height} sensitive change(s): {', '.join(actions)}. "
            "Treat the account as taken over: lock it, restore the owner's email and payout details, end all sessions."
        )
        rows = pl.concat([login.select(list(ROW_SCHEMA)), changes.select(list(ROW_SCHEMA))])
        return Finding(
            detector=self.info.name,
            key=f"user.name:{user}:takeover:{iso(first)}:{anchor(login)}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED,
            severity=Severity.CRITICAL,
            # without a device id the login's place is all the evidence there is
            confidence=(0.9 if row["new_country"] and row["new_asn"] else 0.8) - (0.1 if device is None else 0.0),
            title=(
                f"Account takeover: {user} - "
                f"{'new device' if device is not None else 'login without a device id'} "
                f"from a new {place}, then {', '.join(actions)}"
            ),
            explanation=explanation,
            subject=Subject("user.name", user),
            first_seen=at(first),
            last_seen=at(last),
            evidence=evidence(rows),
            details=details,
            tags=("account-takeover", *actions),
        )

    def _travel(
        self, logins: pl.DataFrame, users: U64, observed: Observed, placed: Placed, changes: pl.DataFrame
    ) -> list[Finding]:
        """Logins of one account from two countries closer in time than ``travel_seconds``, with
        the account's sensitive changes from the first login to a window after the second
        (``changes``: the ones released lately; those still held are looked up too).

        Each placed login is compared with the account's previous placed login: the one before
        it in the batch, or for its first one the last login remembered from earlier batches.
        Worked out on hashes with numpy; only the hops are turned back into rows."""
        last, movers = self._last, self._movers(observed, placed)
        if movers.size == 0:
            return []
        # only accounts seen in two countries (counting their last known login) can hop: most
        # accounts log in from home, and comparing every login with its predecessor costs more
        moving = np.flatnonzero(_among_few(users, movers) & observed.present["country"])
        by_user = np.argsort(users[moving], kind="stable")  # stream order kept within an account
        rows, accounts = moving[by_user], users[moving][by_user]
        follows = np.r_[False, accounts[1:] == accounts[:-1]]  # an earlier placed login in the batch
        before = np.r_[-1, rows[:-1]]
        ts, country = logins["ts"].to_numpy(), observed.hashes["country"]
        prev_ts, prev_country = ts[before], country[before]
        # an account's first placed login follows its remembered last one
        from_last, in_last = last.find(accounts)
        first = ~follows & in_last
        known = follows | first
        if first.any():
            prev_ts = np.where(first, last.ts[from_last], prev_ts)
            prev_country = np.where(first, last.countries[from_last], prev_country)
        limit = round(self.travel_seconds * US)
        hop = known & (country[rows] != prev_country) & (ts[rows] - prev_ts < limit)
        if not hop.any():
            return []
        picked = np.flatnonzero(hop)[np.argsort(rows[hop])]  # findings in stream order, as the logins came
        remembered_rows = np.where(in_last[picked], from_last[picked], -1)
        hops = self._hops(logins, rows[picked], np.where(follows[picked], before[picked], -1), remembered_rows)
        during = self._changes_of({str(h["user"]) for h in hops}, changes)
        window = round(self.window_seconds * US)
        findings = []
        for hop in hops:
            first, last = hop["prev_ts"], hop["ts"] + window
            between = [change for change in during.get(str(hop["user"]), []) if first <= change[0] <= last]
            findings.append(self._travel_finding(hop, between))
        return findings

    def _changes_of(self, accounts: set[str], changes: pl.DataFrame) -> dict[str, list[tuple[Any, ...]]]:
        """Per account of ``accounts``: its sensitive changes (ts, seq, path, line, offset, ip,
        action) among ``changes`` and the rows still held, in stream order. Hops are few, so
        this is looked up only when there are some. The held rows (a window of logins) are
        screened by the numpy action test and the candidates by a set, in Python: they are few,
        and each Polars query here cost more than that."""
        held = self._held.rows
        sensitive = _any_of(held["action"], SENSITIVE_ACTIONS) if held.height else None
        if sensitive is not None and sensitive.any():
            changes = pl.concat([changes, filtered(held, sensitive)])
        if changes.height > _FEW_CHANGES:  # a platform-wide password reset: filter before Python sees them
            changes = changes.filter(pl.col("user").is_in(sorted(accounts)))
        names = ("user", "ts", "seq", "path", "line", "offset", "ip", "action")
        out: dict[str, list[tuple[Any, ...]]] = {}
        for user, *rest in sorted(
            (row for row in zip(*(changes[name].to_list() for name in names), strict=True) if row[0] in accounts),
            key=lambda row: (row[1], row[2]),
        ):
            out.setdefault(str(user), []).append(tuple(rest))
        return out

    def _keep_changes(self, changes: pl.DataFrame, watermark: int | None) -> None:
        """Keep the sensitive changes a later hop may still cite: a login released now may hop
        from one up to ``travel_seconds`` before it, and logins are released a window late, so
        those newer than ``watermark - window - travel`` (the travel table's horizon)."""
        if watermark is None or changes.height == 0:
            self._changes = changes
            return
        horizon = watermark - round((self.window_seconds + self.travel_seconds) * US)
        ts = changes["ts"].to_numpy()
        self._changes = changes if bool((ts >= horizon).all()) else filtered(changes, ts >= horizon)

    def _movers(self, observed: Observed, placed: Placed) -> U64:
        """The accounts (sorted hashes) seen in two countries: among the batch's combinations, or
        one of those and their remembered last login."""
        if placed.accounts.size == 0:
            return placed.accounts
        countries = observed.hashes["country"][placed.rows]
        low, high = np.minimum.reduceat(countries, placed.starts), np.maximum.reduceat(countries, placed.starts)
        moving = low != high
        if placed.found.any():
            remembered = self._last.countries[placed.at]
            moving |= placed.found & ((low != remembered) | (high != remembered))
        movers: U64 = placed.accounts[moving]
        return movers

    def _hops(
        self, logins: pl.DataFrame, rows: npt.NDArray[np.intp], before: npt.NDArray[np.intp], last: npt.NDArray[np.intp]
    ) -> list[dict[str, Any]]:
        """The hop logins ``rows`` with what :meth:`_travel_finding` says of their predecessors:
        the batch row ``before`` (-1: none, the remembered login was the predecessor) and the
        account's remembered last login ``last`` (-1: none)."""
        # a handful of rows: read one by one (a gather and its conversion cost more), from the
        # columns picked by name (a select is a query, with its planning cost)
        shown = logins[["user", "ts", "country", "ip", "path", "line", "offset"]]
        now = [shown.row(int(i), named=True) for i in rows]
        prev = [shown.row(int(i), named=True) if i >= 0 else {} for i in before]
        kept = [self._last.row(int(i)) if i >= 0 else {} for i in last]
        hops = []
        for i, row in enumerate(now):
            remembered = kept[i] if last[i] >= 0 else dict.fromkeys(_REMEMBERED)
            if before[i] < 0:
                hops.append({**row, **remembered})
                continue
            earlier = prev[i]
            hops.append(
                {
                    **row,
                    "prev_ts": earlier["ts"],
                    "prev_country": earlier["country"],
                    # a predecessor without an address falls back to the remembered login's
                    "prev_ip": earlier["ip"] if earlier["ip"] is not None else remembered["prev_ip"],
                    "prev_path": earlier["path"],
                    "prev_line": earlier["line"],
                    "prev_offset": earlier["offset"],
                }
            )
        return hops

    def _travel_finding(self, hop: dict[str, Any], changes: list[tuple[Any, ...]]) -> Finding:
        user, ts, prev = str(hop["user"]), int(hop["ts"]), int(hop["prev_ts"])
        # the two logins and the changes in stream order (the earlier login has no reference only
        # when it was restored from a checkpoint written before they were kept); built directly,
        # a frame per hop cost more
        placed: list[tuple[int, int, int, EventRef]] = [(ts, 2, 0, EventRef(hop["path"], hop["line"], hop["offset"]))]
        if hop["prev_path"] is not None:
            placed.append((prev, 0, 0, EventRef(hop["prev_path"], hop["prev_line"], hop["prev_offset"])))
        placed += [(c_ts, 1, seq, EventRef(path, line, offset)) for c_ts, seq, path, line, offset, _, _ in changes]
        shown = [ref for *_, ref in sorted(placed, key=lambda item: item[:3])]
        actions = sorted({change[6] for change in changes})
        sources = sorted({str(change[5]) for change in changes if change[5] is not None})
        where = hop["line"] if hop["line"] is not None else f"@{hop['offset']}"
        gap = span(ts - prev)
        details = {
            "signal": "impossible_travel",
            "account": user,
            "from_country": hop["prev_country"],
            "to_country": hop["country"],
            "from_ip": hop["prev_ip"],
            "to_ip": hop["ip"],
            "first_login_at": iso(prev),
            "second_login_at": iso(ts),
            "seconds_between": (ts - prev) / US,
            "travel_seconds": self.travel_seconds,
            "changes": actions,
            "change_count": len(changes),
            "change_sources": sources[:20],
        }
        explanation = (
            f"Account {user} logged in from {hop['prev_ip']} ({hop['prev_country']}) at {iso(prev)} and from "
            f"{hop['ip']} ({hop['country']}) at {iso(ts)}, {gap} later - less than the {self.travel_seconds:g}s "
            "anyone needs to change country."
        )
        if changes:
            explanation += (
                f" From the first login to {span(round(self.window_seconds * US))} after the second, the account made "
                f"{len(changes)} sensitive change(s): {', '.join(actions)} (from {', '.join(sources) or 'unknown'}). "
                "Treat it as taken over: find which session made the changes, undo them, end that session."
            )
        else:
            explanation += " One of the two is probably not the owner (or a VPN): check the sessions and ask the owner."
        last = max(ts, *(change[0] for change in changes)) if changes else ts
        return Finding(
            detector=self.info.name,
            key=f"user.name:{user}:travel:{iso(ts)}:{hop['path']}:{where}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED,
            # a hop alone may be a VPN; a hop around a change of email or password is a takeover
            severity=Severity.CRITICAL if changes else Severity.HIGH,
            confidence=0.85 if changes else 0.7,
            title=f"Impossible travel: {user} logged in from {hop['prev_country']} then {hop['country']} {gap} apart"
            + (f", with {', '.join(actions)}" if changes else ""),
            explanation=explanation,
            subject=Subject("user.name", user),
            first_seen=at(prev),
            last_seen=at(last),
            evidence=tuple(shown),
            details=details,
            tags=("impossible-travel", *actions),
        )

    def _remember(self, logins: pl.DataFrame, observed: Observed, placed: Placed, watermark: int | None) -> None:
        """Keep each account's last placed login and forget what is too old (the history itself
        recorded ``logins`` when it judged them).

        The horizon is ``watermark - window - travel``: logins are released a window after they
        happen, so the oldest login still held may be judged against one up to ``travel_seconds``
        before it (a horizon of ``watermark - travel`` lost such hops when a batch boundary fell
        between the two logins' releases). A login older than the horizon is not merged: it would
        be dropped at once, and any earlier one it would have replaced is older still.

        Only the accounts in ``logins`` change, so only their last logins are merged (see
        :class:`.LastLogins`)."""
        # a login still held (newer than ``watermark - window``) may hop from one up to
        # ``travel_seconds`` older than itself: keep every login that could still be its predecessor
        horizon = None if watermark is None else watermark - round((self.window_seconds + self.travel_seconds) * US)
        rows = placed.rows
        if rows.size:
            ts = logins["ts"].to_numpy()
            # logins the expiry below would drop at once are not merged at all; rows are in
            # stream order, so an account's latest placed login is its largest row
            candidates = rows if horizon is None else np.where(ts[rows] >= horizon, rows, -1)
            latest = np.maximum.reduceat(candidates, placed.starts)
            kept = latest >= 0
            latest = latest[kept]
            self._last.merge(
                placed.accounts[kept],
                ts[latest],
                observed.hashes["country"][latest],
                logins,
                latest,
                found=(placed.at[kept], placed.found[kept]),
            )
        if watermark is not None and horizon is not None:
            self._history.expire(watermark - round(self.history_days * 86400 * US))
            self._last.expire(horizon)


@dataclass
class Placed:
    """The accounts (sorted hashes) with a placed login (one with a country) in a batch, the
    ``starts`` of their runs in ``rows``, and the runs: the last login (row) of each of their
    combinations; ``at`` and ``found`` say where each account is in the travel table.

    Why combinations and not logins: both the travel test (which accounts were seen in two
    countries?) and the travel table (each account's latest login) need only these, a third of
    the logins, and share one sort of them and one search of the table."""

    accounts: U64
    starts: npt.NDArray[np.intp]
    rows: npt.NDArray[np.intp]
    at: npt.NDArray[np.intp]
    found: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, users: U64, observed: Observed, last: LastLogins) -> Placed:
        rows = observed.last_rows[observed.present["country"][observed.last_rows]]
        order, starts = _groups(users[rows])
        rows = rows[order]
        accounts = users[rows[starts]]
        return cls(accounts, starts, rows, *last.find(accounts))


def _any_of(actions: pl.Series, wanted: frozenset[str]) -> npt.NDArray[np.bool_]:
    """Which ``actions`` are among ``wanted``. Why not one ``is_in``: nearly every event of a web
    platform's auth stream is a plain ``login``; one comparison tells those (a set lookup per
    event cost more than the rest of reading the batch), and only the others are looked up."""
    login = _is(actions, "login")
    others = np.flatnonzero(~login)
    if others.size > login.size // 2:  # another stream (sshd's password, publickey): look all up
        every: npt.NDArray[np.bool_] = actions.is_in(list(wanted)).fill_null(False).to_numpy()
        return every
    found = login.copy() if "login" in wanted else np.zeros(login.size, dtype=bool)
    if others.size:
        found[others] = actions.gather(others).is_in(list(wanted)).fill_null(False).to_numpy()
    return found


def _is(values: pl.Series, wanted: str) -> npt.NDArray[np.bool_]:
    """Which ``values`` equal ``wanted`` (a null does not). Why the null test: filling nulls is
    a query of its own (about 0.1 ms, more than the comparison), and these columns rarely hold any."""
    equal = values == wanted
    if equal.null_count():
        equal = equal.fill_null(False)
    same: npt.NDArray[np.bool_] = equal.to_numpy()
    return same


def _among_few(values: U64, few: U64) -> npt.NDArray[np.bool_]:
    """Which of ``values`` occur in ``few`` (sorted; usually a few dozen accounts, against a
    batch's logins). Why not a binary search per value: numpy's, over unsorted values, cost more
    than sorting them. A table indexed by the low 16 bits picks the candidates (all true matches,
    and about ``len(few) / 65536`` of the rest); only they are searched."""
    table = np.zeros(1 << 16, dtype=bool)
    table[(few & np.uint64(0xFFFF)).astype(np.intp)] = True
    candidates = np.flatnonzero(table[(values & np.uint64(0xFFFF)).astype(np.intp)])
    exact = few[np.minimum(np.searchsorted(few, values[candidates]), few.size - 1)] == values[candidates]
    out = np.zeros(values.size, dtype=bool)
    out[candidates[exact]] = True
    return out


def _in_stream_order(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` sorted by event time, then stream order. Held rows are released in the order
    they were read (``seq`` ascending), which is usually event-time order already: then the
    copy a sort makes of every column is spared."""
    ts = rows["ts"].to_numpy()
    if ts.size < 2 or (bool((ts[1:] >= ts[:-1]).all()) and rows["seq"].is_sorted()):
        return rows
    return rows.sort("ts", "seq")


def _numeric_asn(held: JSONState) -> JSONState:
    """Held rows saved before AS numbers were kept as numbers held them as text: read them back
    as numbers (the text was always a number's)."""
    asn = held.get("asn") if held else None
    if not asn or not any(isinstance(value, str) for value in asn):
        return held
    return {**held, "asn": [None if value is None else int(value) for value in asn]}
