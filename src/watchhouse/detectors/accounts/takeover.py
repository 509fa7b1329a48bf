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

import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows
from watchhouse.detectors.accounts.reporting import US, anchor, at, evidence, iso, span

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
#: what the account was seen with: kind (device, country, asn) and value, last seen at
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "user": pl.String(),
    "kind": pl.String(),
    "value": pl.String(),
    "seen": pl.Int64(),
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
        self._history = pl.DataFrame(schema=HISTORY_SCHEMA)
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
            "history": self._history.sort("user", "kind", "value").to_dict(as_series=False),
            "last": self._last.sort("user").to_dict(as_series=False),
        }

    def restore(self, state: JSONState) -> None:
        self._reset()
        if state:
            self._clock.load_json(state["clock"])
            self._held.load_json(state["held"])
            self._history = pl.DataFrame(state["history"], schema=HISTORY_SCHEMA)
            self._last = pl.DataFrame(state["last"], schema=LAST_SCHEMA)

    @property
    def history_rows(self) -> int:
        return self._history.height

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, released: pl.DataFrame, watermark: int | None) -> list[Finding]:
        if released.height == 0:
            return []
        released = released.sort("ts", "seq")
        logins = released.filter(pl.col("action").is_in(list(LOGIN_ACTIONS)))
        findings: list[Finding] = []
        if logins.height:
            flagged = self._flag(logins)
            findings += self._changes_after(flagged.filter("suspicious"), released)
            findings += self._travel(flagged)
            self._remember(logins, watermark)
        findings.sort(key=lambda f: (f.first_seen, f.key))
        return findings

    def _flag(self, logins: pl.DataFrame) -> pl.DataFrame:
        """Mark each login: is its device/country/ASN new for the account, and was the account known?"""
        known_users = self._history["user"].unique().implode()
        out = logins.with_columns(
            *(pl.struct("user", kind).is_first_distinct().alias(f"first_{kind}") for kind in _KINDS),
            known=pl.col("user").is_in(known_users) | ~pl.col("user").is_first_distinct(),
        )
        for kind in _KINDS:
            seen = self._history.filter(pl.col("kind") == kind).select("user", pl.col("value").alias(kind), seen=True)
            out = (
                out.join(seen, on=["user", kind], how="left")
                .with_columns(
                    (pl.col(kind).is_not_null() & pl.col("seen").is_null() & pl.col(f"first_{kind}")).alias(
                        f"new_{kind}"
                    )
                )
                .drop("seen")
            )
        return out.sort("ts", "seq").with_columns(
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
        known = self._history.filter(pl.col("user") == user)
        places = sorted(known.filter(pl.col("kind") == "country")["value"].to_list())
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
        refs = pl.DataFrame(
            {
                "ts": [prev, ts],
                "seq": [0, 1],
                "path": [hop["prev_path"], hop["path"]],
                "line": [hop["prev_line"], hop["line"]],
                "offset": [hop["prev_offset"], hop["offset"]],
            },
            schema={"ts": pl.Int64, "seq": pl.Int64, "path": pl.String, "line": pl.Int64, "offset": pl.Int64},
        ).filter(pl.col("path").is_not_null())
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
            key=f"user.name:{user}:travel:{iso(ts)}:{anchor(refs.tail(1))}",
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
            evidence=evidence(refs),
            details=details,
            tags=("impossible-travel",),
        )

    def _remember(self, logins: pl.DataFrame, watermark: int | None) -> None:
        """Add what these logins used to the accounts' history and forget what is too old."""
        seen = pl.concat(
            [
                logins.select("user", pl.lit(kind).alias("kind"), pl.col(kind).alias("value"), seen=pl.col("ts"))
                for kind in _KINDS
            ]
        ).filter(pl.col("value").is_not_null())
        seen = seen.group_by("user", "kind", "value").agg(pl.col("seen").max())
        history = pl.concat([self._history, seen.cast(HISTORY_SCHEMA)])  # type: ignore[arg-type]
        history = history.group_by("user", "kind", "value").agg(pl.col("seen").max())
        last = (
            logins.filter(pl.col("country").is_not_null())
            .select("user", prev_ts="ts", prev_country="country", prev_ip="ip")
            .cast(LAST_SCHEMA)  # type: ignore[arg-type]
        )
        last = (
            pl.concat([self._last, last])
            .sort("prev_ts", maintain_order=True)
            .unique(subset="user", keep="last", maintain_order=False)
        )
        if watermark is not None:
            horizon = watermark - round(self.history_days * 86400 * US)
            history = history.filter(pl.col("seen") >= horizon)
            last = last.filter(pl.col("prev_ts") >= watermark - round(self.travel_seconds * US))
        # unsorted: order never matters to judging; checkpoint() sorts for a stable state text
        self._history = history.select(list(HISTORY_SCHEMA))
        self._last = last.select(list(LAST_SCHEMA))
