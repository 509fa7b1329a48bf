"""Web attack rules as data, and the compiled rule set the detector runs.

A rule is a frozen record (id, class, regex, targets, severity, confidence, crime) rather than
code, so a later rule pack (a CRS-grade set, or Hyperscan-compiled patterns) can be loaded from a
file and swapped in without touching the detector. The regexes are our own, written from public
knowledge of attack techniques; they run against *decoded* text (see :mod:`.decoding`) in the
view their language needs: SQL rules see comments removed, shell rules see quoting tricks undone.

Patterns are written in the subset shared by Python ``re`` and Rust ``regex`` (no look-around,
no back-references, no possessive quantifiers): the detector runs them in Polars, whose Rust
engine guarantees linear-time matching, so no input can make a rule backtrack catastrophically
(a later Hyperscan backend accepts the same subset). Python ``re`` compiles them too, for tools
and tests; ``tests/detectors/web`` checks both engines accept every rule and bounds match time on
20 KB hostile inputs.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode


class AttackClass(StrEnum):
    SQLI = "sqli"
    XSS = "xss"
    PATH_TRAVERSAL = "path_traversal"
    CMDI = "cmdi"
    SCANNER = "scanner"
    RFI = "rfi"
    CODE_INJECTION = "code_injection"  # PHP / Java / Node / Perl code evaluated by the server
    DESERIALIZATION = "deserialization"
    SSRF = "ssrf"
    JNDI = "jndi"  # Log4Shell-style lookups
    TEMPLATE = "template_injection"
    LDAP = "ldap_injection"
    PROTOCOL = "protocol"  # HTTP protocol violations, request smuggling / splitting signs
    VULN_PATH = "vulnerable_path"
    SESSION = "session_fixation"


#: Which Budapest offence an attempt of each class is filed under. SQLi, traversal and command
#: injection are attempts to get *into* a system (Art. 2); stored/reflected XSS alters data that
#: other users' browsers execute (Art. 4); scanning is reconnaissance for illegal access. A rule
#: whose technique is a denial of service (a range-header DoS, an endless loop, a fork bomb) says
#: so itself (``crime``): it hinders the system's functioning, Art. 5, whatever its class.
CLASS_CRIME: dict[AttackClass, CrimeCode] = {
    AttackClass.SQLI: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.XSS: CrimeCode.DATA_INTERFERENCE,
    AttackClass.PATH_TRAVERSAL: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.CMDI: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.SCANNER: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.RFI: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.CODE_INJECTION: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.DESERIALIZATION: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.SSRF: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.JNDI: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.TEMPLATE: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.LDAP: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.PROTOCOL: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.VULN_PATH: CrimeCode.ILLEGAL_ACCESS,
    AttackClass.SESSION: CrimeCode.ILLEGAL_ACCESS,
}

CLASS_TITLE: dict[AttackClass, str] = {
    AttackClass.SQLI: "SQL injection attempt",
    AttackClass.XSS: "Cross-site scripting attempt",
    AttackClass.PATH_TRAVERSAL: "Path traversal / file inclusion attempt",
    AttackClass.CMDI: "OS command injection attempt",
    AttackClass.SCANNER: "Vulnerability scanner activity",
    AttackClass.RFI: "Remote file inclusion attempt",
    AttackClass.CODE_INJECTION: "Server-side code injection attempt",
    AttackClass.DESERIALIZATION: "Unsafe deserialisation attempt",
    AttackClass.SSRF: "Server-side request forgery attempt",
    AttackClass.JNDI: "JNDI lookup injection (Log4Shell) attempt",
    AttackClass.TEMPLATE: "Template injection attempt",
    AttackClass.LDAP: "LDAP injection attempt",
    AttackClass.PROTOCOL: "HTTP protocol violation / smuggling attempt",
    AttackClass.VULN_PATH: "Probe of a known vulnerable path",
    AttackClass.SESSION: "Session fixation attempt",
}

#: Anomaly points per rule severity, on the scale CRS operators know (critical 5, error 4,
#: warning 3, notice 2): a request's score is the sum over the distinct rules that fired.
ANOMALY_POINTS: dict[Severity, int] = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.INFO: 0,
}
#: Paranoia levels as in CRS: 1 rules almost never fire on ordinary traffic; each higher level adds
#: broader rules that catch more obfuscated attacks at the price of more false positives.
PARANOIA_LEVELS = (1, 2, 3, 4)


class Target(StrEnum):
    """Which part of a request a rule inspects."""

    QUERY = "query"  # each query parameter value (and odd-looking names, and parameterless queries)
    PATH = "path"  # the decoded URL path
    BODY = "body"  # form fields of the request body, or the whole body when not a form
    HEADERS = "headers"  # each request header value
    USER_AGENT = "user_agent"
    REFERRER = "referrer"  # the whole referrer value


class View(StrEnum):
    """Which decoded form of a value a rule is matched against (see :mod:`.decoding`)."""

    BASE = "base"
    SQL = "sql"
    SHELL = "shell"
    #: base64-looking tokens decoded at each of the four alignments (see :func:`.decoding.base64_view`)
    BASE64 = "base64"


#: The usual places a payload is injected: request parameters, the path and form bodies.
PAYLOAD_TARGETS = frozenset({Target.QUERY, Target.PATH, Target.BODY})
#: Parameters plus headers: for high-precision rules that also catch header injection.
ANY_TARGET = frozenset(Target)

_ID = re.compile(r"^WH-[A-Z]{2,5}-\d{3}$")
# Constructs Rust's linear-time engine (and Hyperscan) lack, and names that clash when joined.
_NOT_PORTABLE = re.compile(r"\\[1-9]|\(\?P?[<=!]|[*+?}]\+")


@dataclass(frozen=True)
class Rule:
    """One attack signature. ``pattern`` is matched case-insensitively on decoded, lower-case text."""

    id: str
    attack_class: AttackClass
    title: str
    pattern: str
    targets: frozenset[Target] = PAYLOAD_TARGETS
    severity: Severity = Severity.HIGH
    confidence: float = 0.9
    view: View = View.BASE
    #: the lowest paranoia level at which the rule runs (1-4, as in CRS)
    paranoia: int = 1
    #: the offence where it is not its class's (:data:`CLASS_CRIME`): a denial of service
    crime: CrimeCode | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} must look like WH-SQLI-001")
        if self.paranoia not in PARANOIA_LEVELS:
            raise ValueError(f"rule {self.id}: paranoia level must be one of 1-4")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"rule {self.id}: confidence must lie in [0, 1]")
        if not self.targets:
            raise ValueError(f"rule {self.id}: no target")
        if _NOT_PORTABLE.search(self.pattern):
            raise ValueError(
                f"rule {self.id}: look-around, back-references, named groups and possessive quantifiers "
                "are not portable"
            )
        try:
            risk = repetition_risk(self.pattern)  # parses the pattern: a bad one is refused here
        except re.error as exc:
            raise ValueError(f"rule {self.id}: bad regex: {exc}") from exc
        if risk:
            raise ValueError(f"rule {self.id}: {risk}")

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """The pattern compiled by Python ``re``, on first use.

        Why not at construction: no scan reads it (Hyperscan or Polars match, and explanations cut
        out spans with the engine's own patterns), and compiling the built-in pack's patterns was
        two thirds of building it, paid by every process that scans. The pattern was parsed, and
        so checked, when the rule was made.
        """
        return re.compile(self.pattern, re.IGNORECASE | re.DOTALL)

    @property
    def crime_code(self) -> CrimeCode:
        return self.crime or CLASS_CRIME[self.attack_class]

    @property
    def anomaly(self) -> int:
        """Points this rule adds to a request's anomaly score (:data:`ANOMALY_POINTS`)."""
        return ANOMALY_POINTS[self.severity]

    @property
    def engine_pattern(self) -> str:
        """The pattern for the vectorised (Rust) engine; see :func:`ascii_pattern`."""
        return ascii_pattern(self.pattern)


@dataclass(frozen=True)
class PolicyRule:
    """A code check (request policy, :mod:`.policy`; tokenizer, :mod:`.token_checks`): scored and explained
    like a :class:`Rule`, but code, not a regex."""

    id: str
    attack_class: AttackClass
    title: str
    paranoia: int
    severity: Severity
    confidence: float = 0.8
    #: as :attr:`Rule.crime`
    crime: CrimeCode | None = None

    def __post_init__(self) -> None:
        if not _POLICY_ID.match(self.id):
            raise ValueError(f"policy rule id {self.id!r} must look like WH-POL-001")
        if self.paranoia not in PARANOIA_LEVELS:
            raise ValueError(f"policy rule {self.id}: paranoia level must be one of 1-4")

    @property
    def crime_code(self) -> CrimeCode:
        return self.crime or CLASS_CRIME[self.attack_class]

    @property
    def anomaly(self) -> int:
        return ANOMALY_POINTS[self.severity]


#: request-policy checks (:mod:`.policy`) and tokenizer checks (:mod:`.token_checks`)
_POLICY_ID = re.compile(r"^WH-(?:POL|SQLT|XSST)-\d{3}$")

#: most iterations a repeat nested in another repeat may multiply out to
NESTED_REPEAT_LIMIT = 1_000
_UNBOUNDED = 1 << 20


def repetition_risk(pattern: str) -> str | None:
    """Why ``pattern`` could backtrack for long in a backtracking engine, or None when it cannot.

    Hyperscan and Rust's engine are linear-time whatever the pattern, but Python ``re`` recovers
    the matched text for explanations, and a repeat inside a repeat (``(a+)+``, or ``(x{1,64}){3,}``)
    lets it try combinations without end on a hostile value. The check is structural, on the parsed
    pattern, so it holds on any machine and load: nested repeats must multiply out to at most
    :data:`NESTED_REPEAT_LIMIT` iterations.
    """
    parser = importlib.import_module("re._parser")
    constants = importlib.import_module("re._constants")
    repeats = (constants.MAX_REPEAT, constants.MIN_REPEAT)

    def walk(items: Any, outer: int) -> str | None:
        for op, arg in items:
            if op in repeats:
                _, high, body = arg
                count = _UNBOUNDED if high == constants.MAXREPEAT else int(high)
                if outer > 1 and count > 1 and outer * count > NESTED_REPEAT_LIMIT:
                    bound = "unbounded" if max(outer, count) >= _UNBOUNDED else f"{outer * count} iterations"
                    return f"a repeat inside a repeat ({bound}) can backtrack catastrophically; bound the outer one"
                found = walk(body, outer * count if count > 1 else outer)
            elif op == constants.SUBPATTERN:
                found = walk(arg[-1], outer)
            elif op == constants.BRANCH:
                found = next((f for f in (walk(branch, outer) for branch in arg[1]) if f), None)
            elif op in (constants.ASSERT, constants.ASSERT_NOT):
                found = walk(arg[1], outer)
            else:
                found = None
            if found:
                return found
        return None

    return walk(parser.parse(pattern, re.DOTALL), 1)


_ASCII_CLASSES = {"w": "0-9a-z_", "d": "0-9", "s": "\\t\\n\\x0B\\f\\r "}


def ascii_pattern(pattern: str) -> str:
    """Rewrite ``\\w``, ``\\d``, ``\\s`` and ``\\b`` as their ASCII forms.

    Rust's engine compiles Unicode classes into automata that blow its size limit once a few
    rules are joined; decoded text is already NFKC-folded and lower-cased, so ASCII lower-case
    classes lose nothing that matters and keep the combined automaton small.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _ASCII_CLASSES:
                body = _ASCII_CLASSES[nxt]
                out.append(body if in_class else f"[{body}]")
            elif nxt == "b" and not in_class:
                out.append("(?-u:\\b)")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
            out.append(c)
            # a ']' or '^]' right after '[' is literal
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                out.append("]")
                i += 1
        elif c == "]" and in_class:
            in_class = False
            out.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class RuleGroup:
    """Rules sharing a target and a view: one combined pattern rejects most values at once."""

    target: Target
    view: View
    rules: tuple[Rule, ...]

    @property
    def engine_pattern(self) -> str:
        return "|".join(f"(?:{r.engine_pattern})" for r in self.rules)


class RuleSet:
    """An ordered, id-unique collection of rules, indexed by target and view."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id}")
            seen.add(rule.id)
        self._groups: dict[Target, tuple[RuleGroup, ...]] = {}
        for target in Target:
            groups: list[RuleGroup] = []
            for view in View:
                members = tuple(r for r in self.rules if target in r.targets and r.view is view)
                if members:
                    groups.append(RuleGroup(target, view, members))
            self._groups[target] = tuple(groups)

    def groups(self, target: Target) -> tuple[RuleGroup, ...]:
        return self._groups[target]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def at_paranoia(self, level: int) -> RuleSet:
        """The rules that run at ``level`` (those whose own level is at most it)."""
        if level not in PARANOIA_LEVELS:
            raise ValueError(f"paranoia level must be one of 1-4, not {level}")
        return RuleSet(r for r in self.rules if r.paranoia <= level)

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def default_rules() -> RuleSet:
    """The built-in rule pack: every class module's rules, in a stable order."""
    from watchhouse.detectors.web import (
        rules_cmdi,
        rules_code,
        rules_php,
        rules_probes,
        rules_protocol,
        rules_scanner,
        rules_shell,
        rules_sqlfrag,
        rules_sqli,
        rules_ssrf,
        rules_traversal,
        rules_xss,
    )

    return RuleSet(
        (
            *rules_sqli.RULES,
            *rules_sqlfrag.RULES,
            *rules_xss.RULES,
            *rules_traversal.RULES,
            *rules_cmdi.RULES,
            *rules_shell.RULES,
            *rules_scanner.RULES,
            *rules_code.RULES,
            *rules_php.RULES,
            *rules_ssrf.RULES,
            *rules_protocol.RULES,
            *rules_probes.RULES,
        )
    )
