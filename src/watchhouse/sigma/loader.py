"""Loading Sigma rule files and folders, collecting every problem with its file and line.

pySigma already collects per-rule errors, but it stops at YAML syntax errors and often knows the
file without the line. A rule pack with hundreds of files needs the whole list at once, each with
``file:line``, so this loader parses YAML itself (libyaml when available) and locates errors that
lack a line at the top-level key they concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Which top-level key an error without a line most likely concerns, by pySigma error class.
_ERROR_KEYS: dict[str, str] = {
    "SigmaTitleError": "title",
    "SigmaIdentifierError": "id",
    "SigmaLevelError": "level",
    "SigmaStatusError": "status",
    "SigmaLogsourceError": "logsource",
    "SigmaDetectionError": "detection",
    "SigmaConditionError": "detection",
    "SigmaModifierError": "detection",
    "SigmaValueError": "detection",
    "SigmaRegularExpressionError": "detection",
    "SigmaTypeError": "detection",
    "SigmaDateError": "date",
    "SigmaModifiedError": "modified",
    "SigmaDescriptionError": "description",
    "SigmaReferencesError": "references",
    "SigmaFieldsError": "fields",
    "SigmaFalsePositivesError": "falsepositives",
    "SigmaTagError": "tags",
    "SigmaAuthorError": "author",
    "SigmaRelatedError": "related",
    "SigmaCorrelationRuleError": "correlation",
    "SigmaCorrelationTypeError": "correlation",
    "SigmaTimespanError": "correlation",
}


@dataclass(frozen=True, order=True)
class RuleProblem:
    """One reason a rule file (or a rule in it) could not be loaded."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedRules:
    """Rules that parsed, the problems of those that did not, and the files read."""

    rules: tuple[SigmaRule, ...]
    correlations: tuple[SigmaCorrelationRule, ...]
    problems: tuple[RuleProblem, ...]
    files: tuple[Path, ...]


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under the given files and folders (``*.yml`` and ``*.yaml``), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        else:
            found.append(path)
    return sorted(set(found))


def _key_line(text: str, key: str) -> int | None:
    """1-based line of top-level ``key`` in the first YAML document that has it."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if isinstance(node, yaml.MappingNode):
                for k, _ in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == key:
                        return int(k.start_mark.line) + 1
    except yaml.YAMLError:
        return None
    return None


def _problem(path: Path, text: str, error: SigmaError) -> RuleProblem:
    source = error.source
    line = source.line if source is not None else None
    if line is None:
        key = _ERROR_KEYS.get(type(error).__name__)
        line = _key_line(text, key) if key else None
        if line is None:
            line = 1
    message = error.args[0] if error.args else type(error).__name__
    return RuleProblem(str(path), line, f"{type(error).__name__}: {message}")


def load_file(path: Path) -> tuple[SigmaCollection | None, list[RuleProblem]]:
    """One file's rules plus every problem in it; ``None`` when it could not be read at all."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleProblem(str(path), None, f"cannot read: {exc}")]
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else None
        detail = getattr(exc, "problem", None) or str(exc)
        return None, [RuleProblem(str(path), line, f"YAML syntax error: {detail}")]
    if not any(isinstance(d, dict) for d in documents):
        return None, [RuleProblem(str(path), 1, "no Sigma rule in file (empty or not a mapping)")]
    bad = [i for i, d in enumerate(documents) if d is not None and not isinstance(d, dict)]
    problems = [RuleProblem(str(path), 1, f"YAML document {i + 1} is not a mapping") for i in bad]
    documents = [d for d in documents if isinstance(d, dict)]
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(path), resolve_references=False
        )
    except SigmaError as exc:
        return None, [*problems, _problem(path, text, exc)]
    problems.extend(_problem(path, text, e) for e in collection.errors)
    for rule in collection:
        problems.extend(_problem(path, text, e) for e in getattr(rule, "errors", ()))
    return collection, problems


def load_rules(paths: Sequence[str | Path]) -> LoadedRules:
    """Load every rule under ``paths``; never stops at the first broken file."""
    files = rule_files(paths)
    problems: list[RuleProblem] = []
    collections: list[SigmaCollection] = []
    for path in files:
        collection, found = load_file(path)
        problems.extend(found)
        if collection is not None:
            collections.append(collection)
    merged = SigmaCollection.merge(collections, resolve_references=False)
    try:
        merged.resolve_rule_references()
    except SigmaError as exc:
        src = exc.source
        problems.append(RuleProblem(str(src.path) if src else "<rules>", src.line if src else None, str(exc.args[0])))
    rules: list[SigmaRule] = []
    correlations: list[SigmaCorrelationRule] = []
    for rule in merged:
        if getattr(rule, "errors", None):
            continue
        if isinstance(rule, SigmaRule):
            rules.append(rule)
        elif isinstance(rule, SigmaCorrelationRule):
            correlations.append(rule)
    return LoadedRules(tuple(rules), tuple(correlations), tuple(sorted(problems)), tuple(files))
