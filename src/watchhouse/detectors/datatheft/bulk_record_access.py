"""``datatheft.bulk_record_access``: a staff member or API client reading far more user records than normal.

Insiders selling data, hijacked staff sessions and leaked service keys all end the same way: one
principal walks through thousands of users' records, or exports the user base in a few large
pulls. Each read is authorised on its own, so only the *volume* betrays it: far more distinct
records within an hour than an absolute bar, than this principal's own usual hours, and than
peers of the same role in the same hour. Supporting signs are reported, not required: records
fetched by consecutive numeric identifiers (enumeration), reads outside office hours, and an
address this principal was never seen using.

Benign look-alikes and why they stay quiet: a support agent working a busy queue reads dozens of
records an hour, within the bar and near their peers; a service reading one user per request is
steady around its own baseline; a search returning twenty matches counts twenty, not thousands.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.reporting import US, anchor, at, iso, plural, sample, span
from watchhouse.detectors.fraud.sessions import BurstSessions, base_rows
from watchhouse.detectors.fraud.wording import cited

_FIELDS = {
    "source.ip": "ip",
    "user.name": "key",
    "user.roles": "role",
    "event.action": "action",
    "event.outcome": "outcome",
    "user.target.name": "subject",
    "data.record.type": "rtype",
    "data.record.count": "count",
    "url.original": "url",
}
_HELD: dict[str, pl.DataType] = {
    "ip": pl.String(),
    "role": pl.String(),
    "action": pl.String(),
    "ok": pl.Boolean(),
    "subject": pl.String(),
    "rtype": pl.String(),
    "count": pl.Int64(),
    "num": pl.Int64(),
}
#: the last all-digit path segment of a URL: the record id when identifiers are numeric
_NUMERIC_ID = r"/(\d{1,18})(?:[/?#]|$)"
#: why a window under ``min_records`` was judged on the continuation bar
_TAIL = " (it continues the previous hour, which fired)"
_HEAD = " (it is the start of a walk that fired in the next hour)"
#: principals remembered for baselines and known addresses; the least recently active go first
MAX_PRINCIPALS = 50_000
MAX_ADDRESSES = 16


class BulkRecordAccessDetector(Detector):
    """Reports a principal reading far more distinct user records in an hour than is normal.

    Volume counts distinct (user, record type) pairs read, plus the record counts of reads that
    name no single user (exports, bulk queries, searches). Options:

    * ``window_seconds=3600`` — epoch-aligned windows; an hour holds one sitting of work.
    * ``min_records=300`` — the absolute bar. Support work is tens of records an hour.
    * ``baseline_factor=10.0`` — and at least this many times the principal's own norm (the
      median volume of its last ``history_windows=24`` active windows, once it has
      ``min_history=3``) and the median of peers with the same role in the same window (when at
      least ``min_peers=3`` are active). A median, because a scrape of an hour or two among a
      day's ordinary hours must not teach the detector that scraping is normal, while a service
      whose every hour is busy soon has a norm to match.
    * ``continuation_records=50`` — the bar next to a window that fired: a walk does not stop at
      the top of the hour, so neither its tail (the window after) nor its head (the window before,
      held back one window when it was over this bar and the norm but under ``min_records``)
      slips under the bar.
    * ``office_hours=(7, 19)`` — UTC hours; the share of reads outside them is reported.
    * ``allowed_lateness_seconds=60`` — out-of-order delivery tolerated.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="datatheft.bulk_record_access",
        version="1",
        family=DetectorFamily.DATATHEFT,
        datasets=frozenset({Dataset.DATA_ACCESS}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        summary="A staff member or API client reading far more users' records than its own and its peers' norm.",
    )

    def __init__(
        self,
        *,
        window_seconds: float = 3600,
        min_records: int = 300,
        baseline_factor: float = 10.0,
        min_history: int = 3,
        min_peers: int = 3,
        history_windows: int = 24,
        continuation_records: int = 50,
        office_hours: tuple[int, int] | list[int] = (7, 19),
        allowed_lateness_seconds: float = 60,
    ) -> None:
        if window_seconds <= 0 or allowed_lateness_seconds < 0 or min_records < 1:
            raise DetectorError("window_seconds and min_records must be positive, lateness not negative")
        if not 1 <= continuation_records <= min_records:
            raise DetectorError("continuation_records must lie between 1 and min_records")
        if baseline_factor < 1 or not 1 <= min_history <= history_windows or min_peers < 2:
            raise DetectorError("baseline_factor >= 1, 1 <= min_history <= history_windows, min_peers >= 2")
        start, end = (int(h) for h in office_hours)
        if not 0 <= start < end <= 24:
            raise DetectorError("office_hours must be two UTC hours, start before end")
        self.window_seconds = window_seconds
        self.min_records = min_records
        self.baseline_factor = baseline_factor
        self.min_history = min_history
        self.min_peers = min_peers
        self.history_windows = history_windows
        self.continuation_records = continuation_records
        self.office_hours = (start, end)
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self._windows = self._new_windows()
        #: principal -> {"volumes": last active windows' volumes, "last": last window, "ips": addresses,
        #: "fired": last window that fired}
        self._history: dict[str, dict[str, Any]] = {}
        #: principal -> a window over the continuation bar but under ``min_records``, kept until the
        #: next window is judged in case it turns out to be the head of a walk
        self._pending: dict[str, dict[str, Any]] = {}

    def _new_windows(self) -> BurstSessions:
        width = round(self.window_seconds * US)
        return BurstSessions(_HELD, gap=width, span=width, lateness=round(self.allowed_lateness_seconds * US))

    # -- protocol -----------------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        rows = base_rows(batch, _FIELDS).with_columns(
            ok=~pl.col("outcome").str.to_lowercase().eq_missing("failure"),
            num=pl.col("url").str.extract(_NUMERIC_ID, 1).cast(pl.Int64, strict=False),
        )
        return self._judge(self._windows.update(rows))

    def finalize(self) -> list[Finding]:
        return self._judge(self._windows.flush())

    def checkpoint(self) -> JSONState:
        return {"windows": self._windows.to_json(), "history": self._history, "pending": self._pending}

    def restore(self, state: JSONState) -> None:
        self._windows = self._new_windows()
        self._history = {}
        self._pending = {}
        if state:
            self._windows.load_json(state["windows"])
            self._history = {str(k): dict(v) for k, v in state["history"].items()}
            self._pending = {str(k): dict(v) for k, v in state["pending"].items()}

    @property
    def held_rows(self) -> int:
        return self._windows.held_rows

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, rows: pl.DataFrame) -> list[Finding]:
        """Windows in time order: each window's verdicts use the baselines of the windows before it."""
        if rows.height == 0:
            return []
        read = pl.col("ok")
        named = read & pl.col("subject").is_not_null()
        bulk = read & pl.col("subject").is_null()
        stats = (
            rows.group_by("seg", "key")
            .agg(
                pairs=pl.struct("subject", "rtype").filter(named).n_unique(),
                subjects=pl.col("subject").filter(named).n_unique(),
                bulk=pl.col("count").filter(bulk).fill_null(1).sum(),
                role=pl.col("role").drop_nulls().mode().sort().first(),
                requests=pl.len(),
                ips=pl.col("ip").drop_nulls().unique().sort(),
            )
            .with_columns(volume=pl.col("pairs") + pl.col("bulk"))
            .sort("seg", "key")
        )
        findings: list[Finding] = []
        for seg_stats in stats.partition_by("seg", maintain_order=True):
            findings.extend(self._judge_window(rows, seg_stats))
        return findings

    def _judge_window(self, rows: pl.DataFrame, stats: pl.DataFrame) -> list[Finding]:
        seg = int(stats["seg"][0])
        peers = stats.group_by("role").agg(peer_median=pl.col("volume").median(), peers=pl.len())
        stats = stats.join(peers, on="role", how="left", nulls_equal=True)
        findings: list[Finding] = []
        fired: list[str] = []
        waiting: dict[str, dict[str, Any]] = {}
        for row in stats.iter_rows(named=True):
            key, volume = str(row["key"]), int(row["volume"])
            past = self._history.get(key)
            volumes = sorted(past["volumes"]) if past else []
            own = float(volumes[len(volumes) // 2]) if len(volumes) >= self.min_history else None
            peer = float(row["peer_median"]) if int(row["peers"]) >= self.min_peers else None
            reference = max(own or 0.0, peer or 0.0, 1.0)
            continuing = past is not None and past.get("fired") == seg - 1
            bar = self.continuation_records if continuing else self.min_records
            elevated = volume >= self.baseline_factor * reference and volume >= self.continuation_records
            if not elevated:
                continue
            burst = rows.filter((pl.col("seg") == seg) & (pl.col("key") == key))
            if volume >= bar:
                head = self._pending.get(key)
                if head is not None and head["seg"] == seg - 1:
                    held = pl.DataFrame(head["rows"], schema=burst.schema)
                    findings.append(self._finding(held, head["stat"], head["own"], head["peer"], head["past"], _HEAD))
                note = _TAIL if continuing else ""
                findings.append(self._finding(burst, row, own, peer, past, note))
                fired.append(key)
            else:
                snapshot = None if past is None else {"ips": list(past["ips"])}
                waiting[key] = {"seg": seg, "stat": row, "own": own, "peer": peer, "past": snapshot}
                waiting[key]["rows"] = burst.to_dict(as_series=False)
        for key, volume, ips in stats.select("key", "volume", "ips").iter_rows():
            self._learn(str(key), seg, int(volume), ips)
        for key in fired:
            self._history[key]["fired"] = seg
        self._pending = waiting  # a head waits one judged window, no longer
        return findings

    def _learn(self, key: str, seg: int, volume: int, ips: list[str]) -> None:
        """Remember the window: its volume (the last few), the addresses used (the last few) and
        when the principal was last active; the least recently active are forgotten past
        :data:`MAX_PRINCIPALS`."""
        entry = self._history.setdefault(key, {"volumes": [], "last": seg, "ips": []})
        entry["volumes"] = [*entry["volumes"], volume][-self.history_windows :]
        entry["last"] = max(int(entry["last"]), seg)
        known: list[str] = entry["ips"]
        for ip in ips:
            if ip not in known:
                known.append(ip)
        del known[:-MAX_ADDRESSES]
        if len(self._history) > MAX_PRINCIPALS:
            oldest = sorted(self._history, key=lambda k: (int(self._history[k]["last"]), k))
            for stale in oldest[: len(self._history) - MAX_PRINCIPALS]:
                del self._history[stale]

    def _finding(
        self,
        rows: pl.DataFrame,
        stat: dict[str, Any],
        own: float | None,
        peer: float | None,
        past: dict[str, Any] | None,
        context: str,
    ) -> Finding:
        key, volume = str(stat["key"]), int(stat["volume"])
        bar = self.continuation_records if context else self.min_records
        first, last = int(rows["ts"].min()), int(rows["ts"].max())  # type: ignore[arg-type]
        minutes = max((last - first) / (60 * US), 1.0)
        ips = rows["ip"].drop_nulls().unique().sort().to_list()
        known = set(past["ips"]) if past else set()
        new_ips = [ip for ip in ips if ip not in known] if known else []
        hours = pl.from_epoch(rows["ts"], time_unit="us").dt.hour()
        start, end = self.office_hours
        off_share = float(((hours < start) | (hours >= end)).mean())  # type: ignore[arg-type]
        nums = rows.sort("ts", "seq")["num"].drop_nulls()
        steps = nums.diff().drop_nulls().abs()
        sequential = float((steps == 1).mean()) if steps.len() >= 10 else 0.0  # type: ignore[arg-type]
        exports = rows.filter(pl.col("subject").is_null() & (pl.col("count").fill_null(1) > 1))
        types = rows["rtype"].drop_nulls().unique().sort().to_list()
        # cite what made the volume: the bulk requests when they carry most of it, else the reads
        bulky = int(stat["bulk"]) >= int(stat["pairs"]) and exports.height > 0
        named = rows.filter(pl.col("subject").is_not_null())
        evidence, note = cited(exports if bulky or named.height == 0 else named)
        signs = []
        if sequential >= 0.5:
            signs.append(f"{sequential:.0%} of consecutive requests step through numeric ids one by one (enumeration)")
        if off_share >= 0.5:
            signs.append(f"{off_share:.0%} of it outside office hours ({start:02d}-{end:02d} UTC)")
        if new_ips:
            signs.append(f"from {plural(len(new_ips), 'address')} never seen for this principal ({sample(new_ips)})")
        if exports.height:
            signs.append(f"{plural(exports.height, 'bulk request')} returning {int(exports['count'].sum())} records")
        baseline = (f"its own median is {own:.0f} per window" if own is not None else "no baseline of its own yet") + (
            f", the median of its {stat['role']} peers this window {peer:.0f}" if peer is not None else ""
        )
        reference = max(own or 0.0, peer or 0.0, 1.0)
        title = f"Bulk record access by {key}: {volume} records ({int(stat['subjects'])} users) in {span(last - first)}"
        explanation = (
            f"{key} (role {stat['role'] or 'unknown'}) read {volume} user records - {int(stat['pairs'])} distinct "
            f"user/record-type pairs of {int(stat['subjects'])} users one by one, and {int(stat['bulk'])} through "
            f"bulk requests - in {plural(int(stat['requests']), 'request')} between {iso(first)} and "
            f"{iso(last)} ({volume / minutes:.1f} records a minute; record types {sample(types)}). The bar is "
            f"{bar}{context} and "
            f"{self.baseline_factor:g}x the norm: {baseline}. "
            + (("Signs: " + "; ".join(signs) + ". ") if signs else "")
            + "Suspend the principal's session or key, confirm with its owner or team lead whether the work "
            "was assigned, and preserve the access log: the records read may need a breach notification." + note
        )
        ok = bool(rows["ok"].any())
        ratio = volume / max(bar, self.baseline_factor * reference)
        confidence = min(0.99, 0.6 + 0.15 * math.log10(max(ratio, 1.0)) + 0.1 * len(signs))
        details: dict[str, Any] = {
            "principal": key,
            "role": stat["role"],
            "records": volume,
            "distinct_users": int(stat["subjects"]),
            "bulk_records": int(stat["bulk"]),
            "requests": int(stat["requests"]),
            "records_per_minute": round(volume / minutes, 2),
            "own_baseline": None if own is None else round(own, 2),
            "peer_median": None if peer is None else round(peer, 2),
            "off_hours_share": round(off_share, 4),
            "sequential_share": round(sequential, 4),
            "new_addresses": new_ips[:20],
            "addresses": ips[:20],
            "first_seen": iso(first),
            "last_seen": iso(last),
        }
        return Finding(
            detector=self.info.name,
            key=f"user.name:{key}:{anchor(rows)}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED if ok else Stage.ATTEMPTED,
            severity=Severity.CRITICAL if volume >= 10 * self.min_records else Severity.HIGH,
            confidence=round(confidence, 4),
            title=title,
            explanation=explanation,
            subject=Subject("user.name", key),
            first_seen=at(first),
            last_seen=at(last),
            evidence=evidence,
            details=details,
            tags=("bulk-record-access", "data-theft"),
        )
