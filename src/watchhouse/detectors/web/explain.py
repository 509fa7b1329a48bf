"""Turn rule hits into words an analyst can check, without leaking what must stay private.

An explanation says where the payload was (parameter or header), which rules fired, what the
value looked like after decoding and how it was decoded. Values of credential-like parameters
(password, token, session, card ...) are replaced by ``[redacted]`` everywhere, unless that very
value carried the attack: then it is the evidence, not a secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from watchhouse.detectors.web.matching import Hit, Part, display_name
from watchhouse.detectors.web.rules import AttackClass, Target

REDACTED = "[redacted]"
SENSITIVE_NAME = re.compile(
    r"pass(?:wd|word|phrase)?|pwd|token|secret|api[_-]?key|apikey|session|sessid|auth|card|cc_?num|cvv|cvc|ssn|"
    r"cookie|credential|private[_-]?key|otp|pin\b",
    re.IGNORECASE,
)
_URL_PARAM = re.compile(r"([?&;])([^=&#]{1,100})=([^&#]*)")
#: a literal piece of every spelling ``SENSITIVE_NAME`` matches: a lower-cased ASCII URL holding none
#: cannot hold a sensitive name, and a case-sensitive search for literals is ten times cheaper
_SENSITIVE_PIECES = re.compile(
    "pass|pwd|token|secret|api|sess|auth|card|cc|cvv|cvc|ssn|cookie|credential|private|otp|pin"
)


def is_sensitive(name: str | None) -> bool:
    return bool(name) and bool(SENSITIVE_NAME.search(name or ""))


def excerpt(text: str, start: int, end: int, limit: int) -> str:
    """At most ``limit`` characters of ``text`` around the match, with … where cut."""
    if len(text) <= limit:
        return text
    lead = min(start, max(0, (limit - (end - start)) // 3))
    begin = max(0, start - lead)
    piece = text[begin : begin + limit]
    return ("…" if begin > 0 else "") + piece + ("…" if begin + limit < len(text) else "")


def steps_text(steps: tuple[str, ...]) -> str:
    """('url_decode', 'url_decode', 'lowercase') -> 'url_decode×2, lowercase'."""
    out: list[str] = []
    for step in steps:
        if out and out[-1].split("×")[0] == step:
            base, _, count = out[-1].partition("×")
            out[-1] = f"{base}×{int(count or 1) + 1}"
        else:
            out.append(step)
    return ", ".join(out)


def redact_url(url: str, attacked: AbstractSet[str], limit: int) -> str:
    """The raw URL with credential-like parameter values hidden, cut to ``limit`` characters."""

    if not _may_be_sensitive(url):  # no name can be sensitive: nothing to hide (most URLs)
        return excerpt(url, 0, 0, limit)

    def one(m: re.Match[str]) -> str:
        name = m.group(2)
        if is_sensitive(name) and name not in attacked:
            return f"{m.group(1)}{name}={REDACTED}"
        return m.group(0)

    return excerpt(_URL_PARAM.sub(one, url), 0, 0, limit)


def _may_be_sensitive(url: str) -> bool:
    """``SENSITIVE_NAME.search(url)``, answered without the regex for most URLs.

    Only ASCII text is screened by substrings: case-insensitive matching also folds a few non-ASCII
    letters (the Kelvin sign, the long s) onto ASCII ones, which ``str.lower`` does not.
    """
    if url.isascii() and not _SENSITIVE_PIECES.search(url.lower()):
        return False
    return SENSITIVE_NAME.search(url) is not None


def location(part: Part) -> str:
    return _location(part, display_name(part.name))


def _location(part: Part, name: str | None) -> str:
    """:func:`location` of ``part`` whose display name is ``name`` (``describe`` has it already)."""
    if part.is_name:
        name = f"{name} (parameter name)"
    if part.target is Target.QUERY:
        return f"query parameter '{name}'" if name else "the query string"
    if part.target is Target.BODY:
        return f"body field '{name}'" if name else "the request body"
    if part.target is Target.HEADERS:
        return f"header '{name}'" if name else "the request headers"
    return {Target.PATH: "the URL path", Target.USER_AGENT: "the User-Agent", Target.REFERRER: "the Referer"}[
        part.target
    ]


def describe(hits: Sequence[Hit], limit: int) -> tuple[str, list[dict[str, Any]]]:
    """One sentence per inspected location that fired, and the JSON-ready hit records.

    What is the same for every hit of one location (its target, parameter name, the decoded
    value's excerpt around the first hit) is worked out once per location: a request explained
    for the first time pays for this, and most hits share their location with another.
    """
    sentences: list[str] = []
    records: list[dict[str, Any]] = []
    by_part: dict[Part, list[Hit]] = {}
    for hit in hits:
        by_part.setdefault(hit.part, []).append(hit)
    for part, part_hits in by_part.items():
        first = part_hits[0]
        shown = excerpt(first.decoded.text, first.start, first.end, limit)
        rules = ", ".join([f"{h.rule.id} ({h.rule.title})" for h in part_hits])
        steps = _steps_shown(first.decoded.steps)
        parameter = display_name(part.name)
        sentences.append(f'{_location(part, parameter)} matched {rules}; decoded value: "{shown}" (decoding: {steps})')
        target = _VALUE[part.target]
        for h in part_hits:
            text = h.decoded.text
            records.append(
                {
                    "rule": h.rule.id,
                    "class": _VALUE[h.rule.attack_class],
                    "target": target,
                    "parameter": parameter,
                    "matched": excerpt(text[h.start : h.end], 0, 0, 80),
                    "decoded_excerpt": shown if h is first else excerpt(text, h.start, h.end, limit),
                    "decoding_steps": list(h.decoded.steps),
                }
            )
    return "; ".join(sentences), records


def _steps_shown(steps: tuple[str, ...]) -> str:
    """``steps_text(steps) or "none"``, worked out once per distinct sequence of steps.

    Why remembered: few sequences occur (a handful of steps, applied in a fixed order), and every
    location explained spells one; the memory stops growing at :data:`STEPS_SHOWN_MAX` sequences.
    """
    shown = _STEPS_SHOWN.get(steps)
    if shown is None:
        shown = steps_text(steps) or "none"
        if len(_STEPS_SHOWN) < STEPS_SHOWN_MAX:
            _STEPS_SHOWN[steps] = shown
    return shown


_STEPS_SHOWN: dict[tuple[str, ...], str] = {}
STEPS_SHOWN_MAX = 1_024

#: the plain string of each target and attack class, looked up (an enum's ``value`` is a property)
_VALUE: dict[Target | AttackClass, str] = {member: member.value for member in (*Target, *AttackClass)}


def attacked_names(hits: Sequence[Hit]) -> set[str]:
    """Raw names of the query parameters whose values carried an attack: the URL shown keeps their
    values (they are the evidence, not a secret). Only the query's: a header or body field of the
    same name that was attacked says nothing about the URL's value, which stays redacted."""
    return {hit.part.name for hit in hits if hit.part.name and hit.part.target is Target.QUERY}
