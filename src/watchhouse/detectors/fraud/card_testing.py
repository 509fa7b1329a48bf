"""``fraud.card_testing``: stolen card numbers validated with many small, mostly declined payments.

Card testing (also "carding" or card enumeration) checks which numbers of a stolen or generated
batch still work before they are sold or used: a bot submits small authorisations card after card,
and most are declined (wrong CVC, expired, closed, invalid number). Its shape is what no shopper
does: many *distinct* cards behind one account or address within minutes, mostly declined. A
second shape spreads the attempts over many throw-away accounts and addresses but aims them at
one merchant, whose checkout then sees a burst of declines over many cards.

Benign look-alikes and why they stay quiet: a popular seller sees many distinct cards, but few
declines; a shopper whose card is declined retries the same card, or a second one; a family or
office shares an address with a few cards and ordinary decline rates.
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
from watchhouse.detectors.fraud.wording import cited, money

_FIELDS = {
    "source.ip": "ip",
    "user.name": "user",
    "user.target.name": "payee",
    "event.outcome": "outcome",
    "event.reason": "reason",
    "transaction.amount": "amount",
    "transaction.currency": "currency",
    "payment.method": "method",
    "payment.card.fingerprint": "fp",
    "payment.card.bin": "bin",
}
_HELD: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "user": pl.String(),
    "ip": pl.String(),
    "payee": pl.String(),
    "card": pl.String(),
    "bin": pl.String(),
    "declined": pl.Boolean(),
    "reason": pl.String(),
    "amount": pl.Float64(),
    "currency": pl.String(),
}
_BURST = ["key", "seg", "burst"]
_WHO = {"user.name": "account", "source.ip": "address", "user.target.name": "merchant"}


class CardTestingDetector(Detector):
    """Reports many distinct cards tried, mostly declined, from one account or address, or at one
    merchant from many sources, within a burst of activity.

    Options (event time, seconds; amounts in the payment's currency):

    * ``min_cards=5`` — distinct cards (keyed fingerprints; the BIN when no fingerprint) behind one
      account or address in a burst. A household shares two or three cards; five distinct cards
      in one sitting is a list being worked through.
    * ``min_attempts=8`` — authorisations in the burst.
    * ``min_decline_ratio=0.5`` — declined over all attempts. Ordinary checkouts decline a few per
      cent; most numbers on a stolen list no longer work.
    * ``gap_seconds=1800`` — a pause this long ends a burst; ``span_seconds=21600`` cuts a burst
      that never pauses (a busy shared address) so it is judged and its state stays bounded.
    * ``min_merchant_cards=20`` and ``merchant_window_seconds=900`` — the distributed shape: that
      many distinct cards declined at one merchant within a window, with the same decline ratio,
      and no single account or address behind half the attempts (else the source finding covers it).
    * ``small_amount=5.0`` — amounts at or under it are "test-sized"; reported, and they raise
      confidence, but not required (testers also use ordinary amounts).
    * ``allowed_lateness_seconds=60`` — out-of-order delivery tolerated.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="fraud.card_testing",
        version="1",
        family=DetectorFamily.FRAUD,
        datasets=frozenset({Dataset.TRANSACTION}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.COMPUTER_FRAUD,
        summary="Many distinct cards tried with mostly declined authorisations from one source or at one merchant.",
    )

    def __init__(
        self,
        *,
        min_cards: int = 5,
        min_attempts: int = 8,
        min_decline_ratio: float = 0.5,
        gap_seconds: float = 1800,
        span_seconds: float = 21600,
        min_merchant_cards: int = 20,
        merchant_window_seconds: float = 900,
        small_amount: float = 5.0,
        allowed_lateness_seconds: float = 60,
    ) -> None:
        if min_cards < 2 or min_attempts < min_cards or min_merchant_cards < 2:
            raise DetectorError("min_cards >= 2, min_attempts >= min_cards and min_merchant_cards >= 2")
        if not 0 <= min_decline_ratio <= 1 or small_amount < 0:
            raise DetectorError("min_decline_ratio must lie in [0, 1] and small_amount must not be negative")
        if min(gap_seconds, span_seconds, merchant_window_seconds) <= 0 or allowed_lateness_seconds < 0:
            raise DetectorError("windows must be positive and allowed_lateness_seconds not negative")
        self.min_cards = min_cards
        self.min_attempts = min_attempts
        self.min_decline_ratio = min_decline_ratio
        self.gap_seconds = gap_seconds
        self.span_seconds = span_seconds
        self.min_merchant_cards = min_merchant_cards
        self.merchant_window_seconds = merchant_window_seconds
        self.small_amount = small_amount
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self._sources, self._merchants = self._new_sessions()

    def _new_sessions(self) -> tuple[BurstSessions, BurstSessions]:
        late = round(self.allowed_lateness_seconds * US)
        window = round(self.merchant_window_seconds * US)
        return (
            BurstSessions(_HELD, gap=round(self.gap_seconds * US), span=round(self.span_seconds * US), lateness=late),
            BurstSessions(_HELD, gap=window, span=window, lateness=late),
        )

    # -- protocol -----------------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        rows = self._card_rows(batch)
        by_source = pl.concat(
            [
                rows.with_columns(kind=pl.lit("user.name"), key=pl.lit("user.name:") + pl.col("user")),
                rows.with_columns(kind=pl.lit("source.ip"), key=pl.lit("source.ip:") + pl.col("ip")),
            ]
        ).sort("order", maintain_order=True)
        by_merchant = rows.with_columns(kind=pl.lit("user.target.name"), key=pl.lit("payee:") + pl.col("payee"))
        return self._judge_sources(self._sources.update(by_source.drop("order"))) + self._judge_merchants(
            self._merchants.update(by_merchant.drop("order"))
        )

    def finalize(self) -> list[Finding]:
        return self._judge_sources(self._sources.flush()) + self._judge_merchants(self._merchants.flush())

    def checkpoint(self) -> JSONState:
        return {"sources": self._sources.to_json(), "merchants": self._merchants.to_json()}

    def restore(self, state: JSONState) -> None:
        self._sources, self._merchants = self._new_sessions()
        if state:
            self._sources.load_json(state["sources"])
            self._merchants.load_json(state["merchants"])

    @property
    def held_rows(self) -> int:
        return self._sources.held_rows + self._merchants.held_rows

    # -- rows ---------------------------------------------------------------------------------
    @staticmethod
    def _card_rows(batch: EventBatch) -> pl.DataFrame:
        """Card payments only (a wallet or bank transfer tests no card), with a card identity; a
        row keeps its input position (``order``) so both source copies stay in stream order."""
        frame = base_rows(batch, _FIELDS).with_row_index("order")
        card = pl.coalesce(pl.col("fp"), pl.lit("bin:") + pl.col("bin"))
        is_card = pl.col("method").str.to_lowercase().eq_missing("card") | card.is_not_null()
        # every row keeps its place in the clock (a non-card row still advances event time)
        return frame.with_columns(
            card=pl.when(is_card).then(card),
            declined=pl.col("outcome").str.to_lowercase().eq_missing("failure"),
            keep=is_card,
        ).with_columns(
            user=pl.when("keep").then(pl.col("user")),
            ip=pl.when("keep").then(pl.col("ip")),
            payee=pl.when("keep").then(pl.col("payee")),
        )

    # -- judging ------------------------------------------------------------------------------
    def _stats(self, rows: pl.DataFrame, source: pl.Expr) -> pl.DataFrame:
        return (
            rows.with_columns(src=source)
            .with_columns(src_n=pl.len().over([*_BURST, "src"]))
            .group_by(_BURST)
            .agg(
                attempts=pl.len(),
                cards=pl.col("card").n_unique(),
                declined_cards=pl.col("card").filter("declined").n_unique(),
                declines=pl.col("declined").sum(),
                top_share=pl.col("src_n").filter(pl.col("src").is_not_null()).max().fill_null(0) / pl.len(),
            )
            .with_columns(ratio=pl.col("declines") / pl.col("attempts"))
            .filter(pl.col("ratio") >= self.min_decline_ratio)
        )

    def _judge_sources(self, rows: pl.DataFrame) -> list[Finding]:
        if rows.height == 0:
            return []
        stats = self._stats(rows, pl.col("user")).filter(
            (pl.col("cards") >= self.min_cards) & (pl.col("attempts") >= self.min_attempts)
        )
        # an address finding is for the many-accounts shape; one account's own burst is reported
        # on the account (same rows, one alert instead of two)
        hits = stats.join(rows.select(*_BURST, "kind").unique(_BURST), on=_BURST).filter(
            (pl.col("kind") == "user.name") | (pl.col("top_share") < 0.5)
        )
        return self._findings(rows, hits, distributed=False)

    def _judge_merchants(self, rows: pl.DataFrame) -> list[Finding]:
        if rows.height == 0:
            return []
        stats = self._stats(rows, pl.coalesce(pl.col("user"), pl.col("ip")))
        hits = stats.filter((pl.col("declined_cards") >= self.min_merchant_cards) & (pl.col("top_share") < 0.5))
        return self._findings(rows, hits, distributed=True)

    def _findings(self, rows: pl.DataFrame, hits: pl.DataFrame, *, distributed: bool) -> list[Finding]:
        if hits.height == 0:
            return []
        chosen = rows.join(hits.select(_BURST), on=_BURST, how="semi")
        out = []
        for burst in chosen.partition_by(_BURST, maintain_order=False):
            out.append(self._finding(burst, distributed=distributed))
        return sorted(out, key=lambda f: (f.first_seen, f.key))

    def _finding(self, rows: pl.DataFrame, *, distributed: bool) -> Finding:
        """One card-testing finding from the rows of one burst."""
        kind = str(rows["kind"][0])
        value = str(rows["key"][0]).split(":", 1)[1]
        n = rows.height
        cards = rows["card"].drop_nulls().unique().sort().to_list()
        declined = int(rows["declined"].sum())
        ratio = declined / n
        ok = rows.filter(~pl.col("declined"))
        validated = ok["card"].drop_nulls().unique().sort().to_list()
        first, last = int(rows["ts"].min()), int(rows["ts"].max())  # type: ignore[arg-type]
        amounts = rows["amount"].drop_nulls()
        median = float(amounts.median()) if amounts.len() else None  # type: ignore[arg-type]
        currency = rows["currency"].drop_nulls().mode().sort().to_list()
        cur = str(currency[0]) if currency else None
        small_share = float((amounts <= self.small_amount).mean()) if amounts.len() else 0.0  # type: ignore[arg-type]
        reasons = rows.filter("declined")["reason"].fill_null("unspecified").value_counts(sort=True)
        reason_text = ", ".join(f"{r} x{c}" for r, c in reasons.head(5).iter_rows())
        bins = rows["bin"].drop_nulls().unique().sort().to_list()
        accounts = rows["user"].drop_nulls().unique().sort().to_list()
        ips = rows["ip"].drop_nulls().unique().sort().to_list()
        payees = rows["payee"].drop_nulls().unique().sort().to_list()
        evidence, note = cited(rows)
        completed = bool(validated)
        where = f"at merchant {value}" if distributed else f"from {_WHO[kind]} {value}"
        title = (
            f"Card testing {where}: {plural(len(cards), 'card')} tried in {n} attempts, "
            f"{ratio:.0%} declined, within {span(last - first)}"
        )
        spread = (
            f" The attempts came from {plural(len(accounts), 'account')} and {plural(len(ips), 'address')}"
            f" (none behind half of them): a distributed test against this checkout."
            if distributed
            else f" Merchants charged: {sample(payees)}."
        )
        explanation = (
            f"{n} card authorisations {where} between {iso(first)} and {iso(last)} used {len(cards)} distinct cards "
            f"({len(bins)} BINs: {sample(bins)}); {declined} were declined ({ratio:.0%}; {reason_text}). "
            f"Median amount {money(median, cur)}, {small_share:.0%} at or under {self.small_amount:g}.{spread} "
            + (
                f"{plural(len(validated), 'card')} passed: those numbers are now known to work - block the "
                "fingerprints, refund or void the charges and tell the issuers."
                if completed
                else "No authorisation passed: attempted only. Block the source, add friction (3-D Secure, "
                "CAPTCHA) at checkout and report the BINs to the issuers."
            )
            + note
        )
        strength = len(cards) / (self.min_merchant_cards if distributed else self.min_cards)
        confidence = 0.55 + 0.2 * math.log10(max(strength, 1.0)) + 0.2 * (ratio - 0.5) + 0.1 * small_share
        severity = Severity.CRITICAL if len(validated) >= 3 else Severity.HIGH
        details: dict[str, Any] = {
            "subject_kind": kind,
            "attempts": n,
            "distinct_cards": len(cards),
            "declined": declined,
            "decline_ratio": round(ratio, 4),
            "validated_cards": len(validated),
            "bins": bins[:20],
            "median_amount": median,
            "currency": cur,
            "small_amount_share": round(small_share, 4),
            "accounts": len(accounts),
            "addresses": len(ips),
            "merchants": payees[:20],
            "first_seen": iso(first),
            "last_seen": iso(last),
            "shape": "distributed-at-merchant" if distributed else "one-source",
        }
        return Finding(
            detector=self.info.name,
            key=f"{kind}:{value}:{anchor(rows)}",
            crime_code=self.info.crime_code,
            stage=Stage.COMPLETED if completed else Stage.ATTEMPTED,
            severity=severity,
            confidence=round(min(0.99, max(confidence, 0.5)), 4),
            title=title,
            explanation=explanation,
            subject=Subject(kind, value),
            first_seen=at(first),
            last_seen=at(last),
            evidence=evidence,
            details=details,
            tags=("card-testing",),
        )
