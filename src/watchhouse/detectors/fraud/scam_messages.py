"""``fraud.scam_messages``: direct messages that phish for credentials or con people out of money.

Two families, filed under the offence each is (Budapest Convention): credential phishing presents
a fake login page as the platform's, which is computer-related forgery (Art. 7) on the way to
fraud; advance-fee, fake-investment and fake-fee scams ask for money directly, which is
computer-related fraud (Art. 8). A message counts when its signs (see
:mod:`watchhouse.detectors.fraud.scam_signs`) add up: strongly on its own, or more weakly when the
sender sends near-identical copies (one template once tokens, numbers and link paths are blanked)
to many recipients - a campaign, which ordinary conversation is not.

Benign look-alikes and why they stay quiet: a newsletter reaches thousands with links but asks for
no credentials or payment; friends share links and talk about rent, banks and bitcoin, which
scores one weak sign at most. Scope: fraud only - the signs are lures for money and credentials,
never opinions or any other lawful content.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import polars as pl

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo, JSONState
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.accounts.reporting import US, anchor, at, iso, plural, sample, span
from watchhouse.detectors.fraud.scam_signs import PREFILTER, WELL_KNOWN, Signs, score, template
from watchhouse.detectors.fraud.sessions import BurstSessions, base_rows
from watchhouse.detectors.fraud.wording import cited

_FIELDS = {"user.name": "key", "user.target.name": "recipient", "source.ip": "ip", "message": "text"}
_HELD: dict[str, pl.DataType] = {
    "recipient": pl.String(),
    "ip": pl.String(),
    "template": pl.String(),
    "hosts": pl.String(),
    "phish_signs": pl.String(),
    "pay_signs": pl.String(),
    "family": pl.String(),
    "strong": pl.Boolean(),
}
_BURST = ["key", "seg", "burst"]
_SEP = "|"


class ScamMessageDetector(Detector):
    """Reports a sender whose messages carry credential-phishing or payment-scam signs.

    Options:

    * ``protected_domains`` — the platform's own domains (e.g. ``["example.com"]``), added to a
      built-in list of often-impersonated brands: links to look-alikes of them (typos, homoglyphs,
      the brand inside another domain) are the strongest phishing sign.
    * ``strong_score=5`` / ``weak_score=3`` — phishing: lure words (at least 2) plus link signs;
      a message at ``strong_score`` counts alone, one at ``weak_score`` only in a campaign.
    * ``payment_strong_score=4`` / ``payment_weak_score=2`` — the same for payment scams (at least
      one sign must ask for money: fees, irreversible channels, promised returns, advance fee).
    * ``campaign_recipients=5`` — distinct recipients of one template from one sender in a burst
      that make a campaign; a sender whose strong messages of a family reach that many is running
      a campaign too, and its weaker messages of that family count with it.
    * ``gap_seconds=3600``, ``span_seconds=21600`` — a sender's burst (see ``sessions``).
    * ``allowed_lateness_seconds=60``.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="fraud.scam_messages",
        version="1",
        family=DetectorFamily.FRAUD,
        datasets=frozenset({Dataset.MESSAGE}),
        default_severity=Severity.HIGH,
        crime_code=CrimeCode.COMPUTER_FRAUD,
        summary="Messages phishing for credentials (forgery) or asking for money with scam signs (fraud).",
    )

    def __init__(
        self,
        *,
        protected_domains: list[str] | tuple[str, ...] = (),
        strong_score: int = 5,
        weak_score: int = 3,
        payment_strong_score: int = 4,
        payment_weak_score: int = 2,
        campaign_recipients: int = 5,
        gap_seconds: float = 3600,
        span_seconds: float = 21600,
        allowed_lateness_seconds: float = 60,
    ) -> None:
        if not 2 <= weak_score <= strong_score or not 1 <= payment_weak_score <= payment_strong_score:
            raise DetectorError(
                "need 2 <= weak_score <= strong_score and 1 <= payment_weak_score <= payment_strong_score"
            )
        if campaign_recipients < 2 or gap_seconds <= 0 or span_seconds <= 0 or allowed_lateness_seconds < 0:
            raise DetectorError("campaign_recipients >= 2, windows positive, lateness not negative")
        self.protected = tuple(sorted({d.lower().strip(".") for d in (*WELL_KNOWN, *protected_domains) if d.strip()}))
        self.strong_score = strong_score
        self.weak_score = weak_score
        self.payment_strong_score = payment_strong_score
        self.payment_weak_score = payment_weak_score
        self.campaign_recipients = campaign_recipients
        self.gap_seconds = gap_seconds
        self.span_seconds = span_seconds
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self._sessions = self._new_sessions()
        self._score = lru_cache(maxsize=4096)(self._classify)

    def _new_sessions(self) -> BurstSessions:
        return BurstSessions(
            _HELD,
            gap=round(self.gap_seconds * US),
            span=round(self.span_seconds * US),
            lateness=round(self.allowed_lateness_seconds * US),
        )

    # -- protocol -----------------------------------------------------------------------------
    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        rows = base_rows(batch, _FIELDS)
        hit = rows["text"].str.to_lowercase().str.contains(PREFILTER).fill_null(False)
        picked = hit.arg_true()
        classes = [self._score(text) for text in rows["text"].gather(picked).to_list()]
        names = ("family", "strong", "template", "hosts", "phish_signs", "pay_signs")
        columns = list(zip(*classes, strict=True)) if classes else [()] * len(names)
        scored = pl.DataFrame(
            {"idx": picked.cast(pl.UInt32), **{n: list(c) for n, c in zip(names, columns, strict=True)}},
            schema={"idx": pl.UInt32, **{n: _HELD[n] for n in names}},
        )
        rows = (
            rows.with_row_index("idx")
            .join(scored, on="idx", how="left", maintain_order="left")
            .with_columns(pl.col("family").replace("", None))
            .drop("idx")
        )
        # only messages with a family are held; the others still advance the event clock
        rows = rows.with_columns(key=pl.when(pl.col("family").is_not_null()).then(pl.col("key")))
        return self._judge(self._sessions.update(rows))

    def finalize(self) -> list[Finding]:
        return self._judge(self._sessions.flush())

    def checkpoint(self) -> JSONState:
        return {"sessions": self._sessions.to_json()}

    def restore(self, state: JSONState) -> None:
        self._sessions = self._new_sessions()
        if state:
            self._sessions.load_json(state["sessions"])

    @property
    def held_rows(self) -> int:
        return self._sessions.held_rows

    # -- classifying --------------------------------------------------------------------------
    def _classify(self, text: str) -> tuple[str, bool, str, str, str, str]:
        """(family or "", strong?, template, hosts, phishing signs, payment signs) of one message."""
        signs: Signs = score(text, self.protected)
        phishing = signs.lure_score + signs.link_score if signs.lure_score >= 2 and signs.link_score >= 1 else 0
        payment = signs.payment_score if signs.payment_core else 0
        p_level = 2 if phishing >= self.strong_score else (1 if phishing >= self.weak_score else 0)
        m_level = 2 if payment >= self.payment_strong_score else (1 if payment >= self.payment_weak_score else 0)
        if not p_level and not m_level:
            return ("", False, "", "", "", "")
        family = "phishing" if p_level >= m_level else "payment"
        level = max(p_level, m_level)
        return (
            family,
            level == 2,
            template(text),
            _SEP.join(signs.hosts),
            _SEP.join(signs.phishing),
            _SEP.join(signs.payment),
        )

    # -- judging ------------------------------------------------------------------------------
    def _judge(self, rows: pl.DataFrame) -> list[Finding]:
        if rows.height == 0:
            return []
        reach = pl.col("recipient").n_unique().over([*_BURST, "template"])
        # a sender whose strong messages of a family already reach a campaign's worth of people
        # is running that campaign: its weaker messages of the same family are part of it
        strong_reach = pl.col("recipient").filter("strong").n_unique().over([*_BURST, "family"])
        counted = rows.with_columns(
            campaign=(reach >= self.campaign_recipients) | (strong_reach >= self.campaign_recipients)
        ).filter(pl.col("strong") | pl.col("campaign"))
        findings = [self._finding(group) for group in counted.partition_by([*_BURST, "family"], maintain_order=False)]
        return sorted(findings, key=lambda f: (f.first_seen, f.key))

    def _finding(self, rows: pl.DataFrame) -> Finding:
        sender, family = str(rows["key"][0]), str(rows["family"][0])
        phishing = family == "phishing"
        n = rows.height
        recipients = rows["recipient"].n_unique()
        first, last = int(rows["ts"].min()), int(rows["ts"].max())  # type: ignore[arg-type]
        column = "phish_signs" if phishing else "pay_signs"
        counts: dict[str, int] = {}
        for text in rows[column].to_list():
            for sign in filter(None, (text or "").split(_SEP)):
                counts[sign] = counts.get(sign, 0) + 1
        signs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        hosts = sorted({h for text in rows["hosts"].to_list() for h in (text or "").split(_SEP) if h})
        templates = rows.group_by("template").agg(pl.len(), pl.col("recipient").n_unique().alias("to"))
        biggest = templates.sort("len", "template", descending=[True, False]).row(0, named=True)
        in_campaign = int(rows["campaign"].sum())
        ips = rows["ip"].drop_nulls().unique().sort().to_list()
        evidence, note = cited(rows)
        what = "credential phishing" if phishing else "payment scam"
        sign_text = "; ".join(f"{name} ({count})" for name, count in signs[:8])
        reach = plural(recipients, "recipient")
        title = f"{what.capitalize()} messages from {sender}: {n} to {reach} in {span(last - first)}"
        explanation = (
            f"{sender} sent {n} direct messages with {what} signs to {recipients} distinct recipients between "
            f"{iso(first)} and {iso(last)}. Signs (messages showing each): {sign_text}. "
            + (f"Linked hosts: {sample(hosts, 8)}. " if hosts else "")
            + f"{in_campaign} of them belong to a campaign (one template, or strong signs, reaching "
            f"{self.campaign_recipients}+ recipients);"
            f" the largest template went to {biggest['to']} recipients {biggest['len']} times. "
            + (
                "Suspend the sender, take the linked pages down (registrar/host abuse contacts), warn the "
                "recipients and reset sessions of any who clicked."
                if phishing
                else "Suspend the sender, warn the recipients not to pay, and keep the payment details named "
                "(wallets, handles) for the report to the authorities."
            )
            + note
        )
        strong_share = float(rows["strong"].mean())  # type: ignore[arg-type]
        confidence = min(0.99, 0.6 + 0.25 * strong_share + 0.1 * min(in_campaign / max(n, 1), 1.0))
        details: dict[str, Any] = {
            "sender": sender,
            "family": family,
            "messages": n,
            "recipients": recipients,
            "signs": dict(signs),
            "hosts": hosts[:20],
            "campaign_messages": in_campaign,
            "largest_template_recipients": int(biggest["to"]),
            "strong_messages": int(rows["strong"].sum()),
            "addresses": ips[:20],
            "first_seen": iso(first),
            "last_seen": iso(last),
        }
        return Finding(
            detector=self.info.name,
            key=f"user.name:{sender}:{family}:{anchor(rows)}",
            crime_code=CrimeCode.COMPUTER_FORGERY if phishing else CrimeCode.COMPUTER_FRAUD,
            stage=Stage.ATTEMPTED,
            severity=Severity.HIGH if recipients >= self.campaign_recipients else Severity.MEDIUM,
            confidence=round(confidence, 4),
            title=title,
            explanation=explanation,
            subject=Subject("user.name", sender),
            first_seen=at(first),
            last_seen=at(last),
            evidence=evidence,
            details=details,
            tags=("phishing" if phishing else "payment-scam", "scam-messages"),
        )
