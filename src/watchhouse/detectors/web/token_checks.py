"""Tokenizer checks (``WH-SQLT-nnn``, ``WH-XSST-nnn``): the lexers' verdicts as scored, explained rule hits.

Why beside the signatures: a regex fires on spellings, these fire on grammar (:mod:`.fingerprints`),
so an obfuscated payload that no signature anticipated still shows the shape of a breakout. They
are code checks like the request policy (:mod:`.policy`), recorded as :class:`~.rules.PolicyRule`
so they carry an id, class, paranoia level and severity and score exactly like signature hits.

Cost: the checks run inside :class:`~.matching.Matcher` on the parts that passed the vectorised
symptom gate only, on the already decoded base view, and their results are cached per value with
the signature results; pure Python costs tens of microseconds per candidate part.
"""

from __future__ import annotations

from dataclasses import replace

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.decoding import Decoded
from watchhouse.detectors.web.fingerprints import judge_sql, judge_xss
from watchhouse.detectors.web.rules import AttackClass, PolicyRule, Target

_S, _X = AttackClass.SQLI, AttackClass.XSS

TOKEN_RULES: tuple[PolicyRule, ...] = (
    PolicyRule("WH-SQLT-001", _S, "SQL token sequence breaking out of its literal (fingerprint)", 1, Severity.HIGH),
    PolicyRule("WH-XSST-001", _X, "HTML tag with an event-handler attribute (lexed)", 1, Severity.HIGH),
    PolicyRule("WH-XSST-002", _X, "Script URL or script in a style, in a lexed attribute", 1, Severity.HIGH),
    PolicyRule("WH-XSST-003", _X, "Active element, or end of a raw-text element (lexed)", 1, Severity.HIGH),
    PolicyRule("WH-XSST-004", _X, "Script string closed by the value, then a call", 2, Severity.HIGH, 0.7),
    PolicyRule("WH-XSST-005", _X, "Injected HTML markup (attributes, document structure)", 2, Severity.MEDIUM, 0.6),
)
_BY_CHECK = {
    "event": "WH-XSST-001",
    "url": "WH-XSST-002",
    "element": "WH-XSST-003",
    "script": "WH-XSST-004",
    "markup": "WH-XSST-005",
}
#: parts the lexers read: values a client controls and an application may paste into SQL or HTML
TOKEN_TARGETS = frozenset(Target)

Found = tuple[PolicyRule, Decoded, int, int]


class TokenChecks:
    """The tokenizer checks enabled at a paranoia level."""

    def __init__(self, paranoia: int) -> None:
        self.paranoia = paranoia
        self.rules = {rule.id: rule for rule in TOKEN_RULES if rule.paranoia <= paranoia}
        self._markup = "WH-XSST-005" in self.rules or "WH-XSST-004" in self.rules
        self._specialised: dict[tuple[str, str], PolicyRule] = {}

    def check(self, target: Target, decoded: Decoded) -> list[Found]:
        """Hits on one decoded (base view) value; the rule title carries the fingerprint or tag.

        The title is specialised per hit so the explanation an analyst reads shows the token
        sequence that decided, not only the check's name.
        """
        if target not in TOKEN_TARGETS:
            return []
        text = decoded.text
        out: list[Found] = []
        sql_rule = self.rules.get("WH-SQLT-001")
        if sql_rule is not None:
            verdict = judge_sql(text)
            if verdict is not None:
                out.append((self._specialise(sql_rule, verdict.describe()), decoded, 0, len(text)))
        xss = judge_xss(text, markup=self._markup)
        if xss is not None:
            rule = self.rules.get(_BY_CHECK[xss.check])
            if rule is not None:
                out.append((self._specialise(rule, xss.describe()), decoded, 0, len(text)))
        return out

    def _specialise(self, rule: PolicyRule, description: str) -> PolicyRule:
        """``rule`` titled with what decided (a fingerprint, a tag), made once per distinct pair.

        Why remembered: ``dataclasses.replace`` re-runs the rule's construction checks (about two
        microseconds a hit), and the same few fingerprints and tags recur across payloads (``s&1c``,
        ``<img onerror=...>``). Rules are frozen, so hits may share one. Bounded: past
        ``SPECIALISED_MAX`` entries a new pair is made and not kept.
        """
        key = (rule.id, description)
        found = self._specialised.get(key)
        if found is None:
            found = replace(rule, title=f"{rule.title}: {description}")
            if len(self._specialised) < SPECIALISED_MAX:
                self._specialised[key] = found
        return found


#: distinct (rule, description) pairs a :class:`TokenChecks` keeps (a description is under ~200 characters)
SPECIALISED_MAX = 4_096
