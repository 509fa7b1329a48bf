"""Fuzz the office's JSON API from its OpenAPI spec with Schemathesis, longer than the test suite does.

The same harness as ``tests/web/test_schemathesis.py`` (in-process ASGI, logged in as an admin,
an office seeded with alerts from a scan), with a bigger example budget per operation, printing
the answers per operation and status class and every failure (a 5xx, or an answer that breaks
its documented schema) with the call that reproduces it. Exits 1 when anything failed.

    .venv/bin/python bench/api_fuzz.py --examples 200
    .venv/bin/python bench/api_fuzz.py --examples 50 --only /api/v1/alerts
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _harness() -> ModuleType:
    """The test module, loaded as part of the ``tests.web`` package so its relative imports work."""
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        "tests.web.test_schemathesis", ROOT / "tests/web/test_schemathesis.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="generated calls per operation")
    parser.add_argument("--only", default="", help="fuzz only operations whose path contains this")
    args = parser.parse_args()
    harness = _harness()
    from watchhouse.web.app import create_app  # noqa: F401 - fail early on an app that does not import

    with tempfile.TemporaryDirectory(prefix="wh-fuzz-") as folder:
        tmp = Path(folder)
        office = harness.make_office(f"sqlite:///{tmp / 'office.db'}", tmp, harness.Clock())
        try:
            fuzzed = harness.Fuzzed(office, tmp)
            started = time.process_time()
            ran, failures = harness.fuzz(fuzzed, args.examples, args.only)
            cpu = time.process_time() - started
        finally:
            office.close()
    for key in sorted(ran):
        print(f"{ran[key]:>6}  {key}")
    print(f"\n{sum(ran.values())} calls, {len(failures)} failing operation(s), {cpu:.1f} s CPU")
    for failure in failures:
        print(f"\n--- {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
