"""The cold path's shortcuts in judging a request: one pass over the hits, tags and decoding steps
worked out once per combination, specialised token-check rules made once per description.

Each shortcut is held to the plain computation it replaces, on the labelled attack samples.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.detectors.web.test_attack_patterns import ALL_POSITIVES, NEAR_MISSES

from watchhouse.core.events import EventBatch
from watchhouse.detectors.web import explain, token_checks
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.decoding import decode
from watchhouse.detectors.web.fingerprints import judge_sql, judge_xss
from watchhouse.detectors.web.matching import Hit
from watchhouse.detectors.web.rules import Target
from watchhouse.detectors.web.token_checks import TOKEN_RULES, TokenChecks

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns" / "token_checks.jsonl"
TOKEN_VALUES = [json.loads(line)["value"] for line in SAMPLES.read_text().splitlines() if line.strip()]


def _judged(paranoia: int) -> list[tuple[tuple[Hit, ...], Any]]:
    """Every (hits, verdict) the detector judges on the labelled samples at ``paranoia``."""
    detector = WebAttackDetector(paranoia_level=paranoia)
    seen: list[tuple[tuple[Hit, ...], Any]] = []
    judge = detector._judge

    def recording(hits: tuple[Hit, ...], url: str | None) -> Any:
        verdict = judge(hits, url)
        seen.append((hits, verdict))
        return verdict

    detector._judge = recording  # type: ignore[method-assign]
    detector.detect(EventBatch.concat([s.batch for s in ALL_POSITIVES + NEAR_MISSES]))
    return seen


@pytest.mark.parametrize("paranoia", [1, 2, 4])
def test_verdicts_equal_the_plain_computation(paranoia: int) -> None:
    judged = _judged(paranoia)
    assert sum(verdict is not None for _, verdict in judged) >= 100  # not a vacuous pass
    for hits, verdict in judged:
        if verdict is None:
            continue
        rules = [h.rule for h in hits]
        # max() keeps the first of equals: the first rule with the highest (severity, confidence)
        lead = max(rules, key=lambda r: (r.severity, r.confidence))
        fired = {r.id: r for r in rules}
        classes = tuple(dict.fromkeys(r.attack_class.value for r in rules))
        assert verdict.lead is lead
        assert verdict.severity == max(r.severity for r in rules)
        assert verdict.confidence == max(r.confidence for r in rules)
        assert verdict.score == sum(r.anomaly for r in fired.values())
        assert verdict.rule_ids == tuple(fired)
        assert verdict.classes == classes and all(type(c) is str for c in classes)
        assert verdict.tags == tuple(f"attack:{c}" for c in classes)


def test_a_verdict_with_several_classes_names_each_once_in_order() -> None:
    judged = [(hits, v) for hits, v in _judged(4) if v is not None and len(v.classes) > 1]
    assert judged, "the samples hold requests that several classes of rules fire on"
    for hits, verdict in judged:
        assert list(verdict.classes) == list(dict.fromkeys(str(h.rule.attack_class.value) for h in hits))


def test_decoding_steps_are_shown_as_steps_text_says() -> None:
    for steps in [(), ("lowercase",), ("url_decode", "url_decode", "lowercase"), ("base64", "lowercase")]:
        for _ in range(2):  # the first call works it out, the second reads it back
            assert explain._steps_shown(steps) == (explain.steps_text(steps) or "none")
    assert explain._steps_shown(()) == "none"
    assert explain._steps_shown(("url_decode", "url_decode", "html_entities")) == "url_decode×2, html_entities"


def test_decoding_steps_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "_STEPS_SHOWN", {})
    monkeypatch.setattr(explain, "STEPS_SHOWN_MAX", 3)
    for count in range(1, 10):
        steps = ("url_decode",) * count
        assert explain._steps_shown(steps) == ("url_decode" if count == 1 else f"url_decode×{count}")
    assert len(explain._STEPS_SHOWN) == 3


def _expected(checks: TokenChecks, text: str) -> list[str]:
    """The titles ``check`` gives ``text``, worked out with ``dataclasses.replace`` as before."""
    rules = {rule.id: rule for rule in TOKEN_RULES if rule.paranoia <= checks.paranoia}
    titles = []
    sql = judge_sql(text)
    if sql is not None:
        titles.append(replace(rules["WH-SQLT-001"], title=f"{rules['WH-SQLT-001'].title}: {sql.describe()}").title)
    xss = judge_xss(text, markup=checks._markup)
    if xss is not None and token_checks._BY_CHECK[xss.check] in rules:
        rule = rules[token_checks._BY_CHECK[xss.check]]
        titles.append(f"{rule.title}: {xss.describe()}")
    return titles


@pytest.mark.parametrize("paranoia", [1, 2])
def test_specialised_rules_equal_a_fresh_replace(paranoia: int) -> None:
    checks = TokenChecks(paranoia)
    hits = 0
    for _ in range(2):  # made the first time, read back the second
        for value in TOKEN_VALUES:
            decoded = decode(value)
            found = checks.check(Target.QUERY, decoded)
            assert [rule.title for rule, *_ in found] == _expected(checks, decoded.text)
            for rule, text, start, end in found:
                base = next(r for r in TOKEN_RULES if r.id == rule.id)
                assert rule == replace(base, title=rule.title)
                assert (text, start, end) == (decoded, 0, len(decoded.text))
            hits += len(found)
    assert hits >= 10


def test_specialised_rules_are_shared_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    value = decode("x' oR 2>1#")
    checks = TokenChecks(2)
    first = checks.check(Target.QUERY, value)
    again = checks.check(Target.QUERY, value)
    assert first and first[0][0] is again[0][0]  # frozen: one rule serves every hit of its title
    monkeypatch.setattr(token_checks, "SPECIALISED_MAX", 0)
    full = TokenChecks(2)
    made = full.check(Target.QUERY, value)
    assert made == first and not full._specialised
