"""Build one-rule engines from YAML text and run them over plain records."""

from __future__ import annotations

import textwrap

from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from watchhouse.sigma.compiler import NullLogic
from watchhouse.sigma.engine import SigmaEngine


def rule(detection: str, logsource: str = "product: test") -> SigmaRule:
    text = "title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n    " + logsource + "\ndetection:\n"
    text += textwrap.indent(textwrap.dedent(detection).strip(), "    ") + "\n"
    (parsed,) = SigmaCollection.from_yaml(text)
    assert isinstance(parsed, SigmaRule)
    return parsed


def matching_rows(
    detection: str, records: list[dict[str, object]], null_logic: NullLogic = NullLogic.SIGMA, **kw: object
) -> list[int]:
    engine = SigmaEngine([rule(detection)], null_logic=null_logic, **kw)  # type: ignore[arg-type]
    return engine.match_records(records).get(0, [])
