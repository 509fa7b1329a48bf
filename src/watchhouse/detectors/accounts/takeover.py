"""``accounts.takeover``: signs that someone else is now using an account.

Two signals after a *successful* login, both judged against the account's own history:

* a login from a device the account never used, from a country or network (ASN) it never used,
  followed within a window by a sensitive change (email, password, payout details, second
  factor) from that same login's address or device — the thief locking the owner out or
  redirecting money, the step that turns access into damage;
* impossible travel: two logins of one account from different countries closer in time than
  anyone could travel (``travel_seconds``); no coordinates are in the ``auth`` schema, so the
  country change stands in for distance.

Both need history, and history is what grows without bound, so it expires: an account's known
devices, countries and networks are forgotten ``history_days`` after they were last seen.
Rows are judged in event-time order once the watermark has passed them by ``window_seconds``,
so the change that follows a login is always present when the login is judged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows
from watchhouse.detectors.accounts.history import AccountHistory
from watchhouse.detectors.accounts.reporting import US, anchor, at, evidence, iso, span
from watchhouse.detectors.accounts.sketches import hash_keys

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
    "asn": pl.String(),
    "action": pl.String(),
}
#: the last login per account (for impossible travel)
LAST_SCHEMA: dict[str, pl.DataType] = {
    "user": pl.String(),
    "prev_ts": pl.Int64(),
    "prev_country": pl.String(),
    "prev_ip": pl.String(),
}
_KINDS = ("device", "country", "asn")


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
        self._last = pl.DataFrame(schema=LAST_SCHEMA)

    # -- Detector protocol --------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        frame = batch.to_polars()
        frame = frame.filter(
            (pl.col("event.outcome") == "success")
            & pl.col("user.name").is_not_null()
            & pl.col("event.action").is_in(list(LOGIN_ACTIONS | SENSITIVE_ACTIONS))
        ).select(
            pl.col(TIMESTAMP_FIELD).cast(pl.Int64).alias("ts"),
            pl.col(PATH_FIELD).alias("path"),
            pl.col(LINE_FIELD).alias("line"),
            pl.col(OFFSET_FIELD).alias("offset"),
            pl.col("user.name").alias("user"),
            pl.col("source.ip").alias("ip"),
            pl.col("device.id").alias("device"),
            pl.col("source.geo.country_iso_code").alias("country"),
            pl.col("source.as.number").cast(pl.String).alias("asn"),
            pl.col("event.action").alias("action"),
        )
        rows = self._clock.admit(frame).with_columns(due=pl.col("ts") + round(self.window_seconds * US))
        self._held.add(rows)
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
            "last": self._last.sort("user").to_dict(as_series=False),
        }

    def restore(self, state: JSONState) -> None:
        self._reset()
        if state:
            self._clock.load_json(state["clock"])
            self._held.load_json(state["held"])
            self._history.load_json(state["history"])
            self._last = pl.DataFrame(state["last"], schema=LAST_SCHEMA)

    @property
    def history_rows(self) -> int:
        return len(self._history)

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, released: pl.DataFrame, watermark: int | None) -> list[Finding]:
        if released.height == 0:
            return []
        released = released.sort("ts", "seq")
        logins = released.filter(pl.col("action").is_in(list(LOGIN_ACTIONS)))
        findings: list[Finding] = []
        if logins.height:
            users = hash_keys(logins["user"])
            flagged = self._flag(logins, users)
            findings += self._changes_after(flagged.filter("suspicious"), released)
            findings += self._travel(flagged)
            self._remember(logins, users, watermark)
        findings.sort(key=lambda f: (f.first_seen, f.key))
        return findings

    def _flag(self, logins: pl.DataFrame, users: npt.NDArray[np.uint64]) -> pl.DataFrame:
        """Mark each login: is its device/country/ASN new for the account, and was the account known?

        ``users`` are the accounts' hashes; the history answers by binary search (see
        :mod:`.history`), and "first time in this batch" comes from the same hashes."""
        known = self._history.known_users(users) | ~logins["user"].is_first_distinct().to_numpy()
        new: dict[str, pl.Series] = {}
        for kind in _KINDS:
            values = logins[kind]
            first = pl.struct(pl.Series("user", logins["user"]), values).is_first_distinct()
            fresh = ~self._history.seen_before(users, kind, values)
            new[f"new_{kind}"] = values.is_not_null() & pl.Series(fresh) & pl.select(first).to_series()
        out = logins.with_columns(known=pl.Series(known), **new)
        return out.with_columns(
            suspicious=pl.col("known") & pl.col("new_device") & (pl.col("new_country") | pl.col("new_asn"))
        )

    def _changes_after(self, suspicious: pl.DataFrame, released: pl.DataFrame) -> list[Finding]:
        """Sensitive changes within the window after each suspicious login, from its address or device."""
        if suspicious.height == 0:
            return []
        window = round(self.window_seconds * US)
        changes = pl.concat([released, self._held.rows]).filter(pl.col("action").is_in(list(SENSITIVE_ACTIONS)))
        if changes.height == 0:
            return []
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
            findings.append(self._takeover_finding(str(user), login, group))
        return findings

    def _takeover_finding(self, user: str, login: pl.DataFrame, changes: pl.DataFrame) -> Finding:
        row = login.row(0, named=True)
        first, last = int(row["ts"]), int(changes["ts"].max())  # type: ignore[arg-type]
        actions = sorted(changes["action"].unique().to_list())
        places = self._history.countries(user)
        details: dict[str, Any] = {
            "signal": "new_device_new_place_sensitive_change",
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
        explanation = (
            f"Account {user} logged in at {iso(first)} from {row['ip']} "
            f"(country {row['country'] or '?'}, AS{row['asn'] or '?'}) "
            f"on device {row['device'] or 'unknown'}, a device and {place} this account had not used before "
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
            confidence=0.9 if row["new_country"] and row["new_asn"] else 0.8,
            title=f"Account takeover: {user} - new device from a new {place}, then {', '.join(actions)}",
            explanation=explanation,
            subject=Subject("user.name", user),
            first_seen=at(first),
            last_seen=at(last),
            evidence=evidence(rows),
            details=details,
            tags=("account-takeover", *actions),
        )

    def _travel(self, logins: pl.DataFrame) -> list[Finding]:
        """Logins of one account from two countries closer in time than ``travel_seconds``."""
        limit = round(self.travel_seconds * US)
        placed = logins.filter(pl.col("country").is_not_null())
        if placed.height == 0:
            return []
        # only accounts seen in two countries (counting their last known login) can hop: most
        # accounts log in from home, and windowed shifts over every account cost the most here
        countries = pl.concat([placed.select("user", "country"), self._last.select("user", country="prev_country")])
        movers = countries.group_by("user").agg(pl.col("country").n_unique()).filter(pl.col("country") > 1)
        placed = placed.join(movers.select("user"), on="user", how="semi")
        if placed.height == 0:
            return []
        joined = placed.join(self._last, on="user", how="left").sort("ts", "seq")
        hops = joined.with_columns(
            prev_ts=pl.col("ts").shift(1).over("user").fill_null(pl.col("prev_ts")),
            prev_country=pl.col("country").shift(1).over("user").fill_null(pl.col("prev_country")),
            prev_ip=pl.col("ip").shift(1).over("user").fill_null(pl.col("prev_ip")),
            prev_path=pl.col("path").shift(1).over("user"),
            prev_line=pl.col("line").shift(1).over("user"),
            prev_offset=pl.col("offset").shift(1).over("user"),
        ).filter((pl.col("country") != pl.col("prev_country")) & (pl.col("ts") - pl.col("prev_ts") < limit))
        findings = []
        for hop in hops.iter_rows(named=True):
            findings.append(self._travel_finding(hop))
        return findings

    def _travel_finding(self, hop: dict[str, Any]) -> Finding:
        user, ts, prev = str(hop["user"]), int(hop["ts"]), int(hop["prev_ts"])
        # the two logins in stream order (the earlier one is cited only when it was in this batch:
        # one remembered from before carries no reference); built directly, a frame per hop cost more
        shown = [EventRef(hop["path"], hop["line"], hop["offset"])]
        if hop["prev_path"] is not None:
            shown.insert(0, EventRef(hop["prev_path"], hop["prev_line"], hop["prev_offset"]))
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
        }
        return Finding(
            detector=self.info.name,
            key=f"user.name:{user}:travel:{iso(ts)}:{hop['path']}:{where}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED,
            severity=Severity.HIGH,
            confidence=0.7,
            title=f"Impossible travel: {user} logged in from {hop['prev_country']} then {hop['country']} {gap} apart",
            explanation=(
                f"Account {user} logged in from {hop['prev_ip']} ({hop['prev_country']}) at {iso(prev)} and from "
                f"{hop['ip']} ({hop['country']}) at {iso(ts)}, {gap} later - less than the {self.travel_seconds:g}s "
                "anyone needs to change country. One of the two is probably not the owner (or a VPN): check the "
                "sessions and ask the owner."
            ),
            subject=Subject("user.name", user),
            first_seen=at(prev),
            last_seen=at(ts),
            evidence=tuple(shown),
            details=details,
            tags=("impossible-travel",),
        )

    def _remember(self, logins: pl.DataFrame, users: npt.NDArray[np.uint64], watermark: int | None) -> None:
        """Add what these logins used to the accounts' history and forget what is too old.

        Only the accounts in ``logins`` change, so only their last logins are merged; the rest
        of the (possibly large) table is kept as it is."""
        self._history.add(logins, users, _KINDS)
        last = (
            logins.filter(pl.col("country").is_not_null())
            .select("user", prev_ts="ts", prev_country="country", prev_ip="ip")
            .cast(LAST_SCHEMA)  # type: ignore[arg-type]
        )
        if last.height:
            touched = pl.col("user").is_in(last["user"].unique().implode())
            merged = (
                pl.concat([self._last.filter(touched), last])
                .sort("prev_ts", maintain_order=True)
                .unique(subset="user", keep="last", maintain_order=False)
            )
            self._last = pl.concat([self._last.filter(~touched), merged.select(list(LAST_SCHEMA))])
        if watermark is not None:
            self._history.expire(watermark - round(self.history_days * 86400 * US))
            travel = watermark - round(self.travel_seconds * US)
            if self._last.height and (self._last["prev_ts"] < travel).any():
                self._last = self._last.filter(pl.col("prev_ts") >= travel)
