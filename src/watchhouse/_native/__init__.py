"""Optional compiled kernels (Cython): the web detector's lexers, part decoding and alert-line
writer, the syslog head reader, the JSON-lines flattening loops, the access-log field checks.

Why optional: the Python modules (:mod:`watchhouse.detectors.web.tokenize_sql`,
:mod:`~watchhouse.detectors.web.tokenize_html`, the decoding loop of
:mod:`watchhouse.detectors.web.matching`, the numpy head scan of
:mod:`watchhouse.ingest.syslog_heads`, the flattening and conversion of
:mod:`watchhouse.ingest.jsonl_shapes` and :mod:`~watchhouse.ingest.jsonl_convert`, the numpy
field checks of :mod:`watchhouse.ingest.access_log_columnar`, the line writer of
:mod:`watchhouse.detectors.web.findings`) are the
reference and run everywhere; the compiled twins only make them cheaper (a cold request spends tens
of microseconds lexing in Python). The build compiles them when it can (``setup.py``); when it
could not, or when ``WATCHHOUSE_PURE_PYTHON`` is set to anything but ``0``/empty, :data:`weblex`,
:data:`syslog`, :data:`jsonl`, :data:`accesslog`, :data:`weblines` and :data:`webdecode` are None
and callers run the reference. The twins give the same results, held to it by
``tests/detectors/web/test_native_kernels.py``, ``tests/ingest/test_native_syslog.py``,
``tests/ingest/test_native_jsonl.py``, ``tests/ingest/test_native_accesslog.py``,
``tests/detectors/web/test_native_weblines.py`` and ``tests/detectors/web/test_native_webdecode.py``
(ADR 0012).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

#: set (to anything but "" or "0") to run the pure-Python reference even where the kernels are built
PURE_PYTHON_ENV = "WATCHHOUSE_PURE_PYTHON"

_log = logging.getLogger(__name__)


def pure_python_forced() -> bool:
    """Whether the environment asks for the pure-Python reference."""
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def source_sha256(source: Path) -> str:
    """The hash a kernel was built from: its ``.pyx``, then the shared ``.pxd`` declarations beside it
    in name order (what ``setup.py`` records), so that editing a shared inline function makes the
    kernels that inline it stale too."""
    digest = hashlib.sha256(source.read_bytes())
    for shared in sorted(source.parent.glob("*.pxd")):
        digest.update(shared.read_bytes())
    return digest.hexdigest()


def _load(name: str) -> ModuleType | None:
    """The compiled kernel ``name``, or None: not built, switched off, or built from other source."""
    if pure_python_forced():
        return None
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ImportError:
        _log.debug("compiled kernel %s is not built; the pure-Python reference runs", name)
        return None
    source = Path(__file__).with_name(f"{name}.pyx")
    if source.is_file() and source_sha256(source) != getattr(module, "SOURCE_SHA256", ""):
        # a checkout changed the kernel's source since it was compiled: its twin may differ now
        _log.warning("compiled kernel %s is stale (rebuild: pip install --no-deps -e .); pure Python runs", name)
        return None
    return module


#: the compiled lexer twins (:mod:`._weblex`), or None where the pure-Python reference runs
weblex: ModuleType | None = _load("_weblex")
#: the compiled syslog head reader (:mod:`._syslog`), or None where the numpy reference runs
syslog: ModuleType | None = _load("_syslog")
#: the compiled JSON-lines loops (:mod:`._jsonl`), or None where their Python references run
jsonl: ModuleType | None = _load("_jsonl")
#: the compiled access-log field checks (:mod:`._accesslog`), or None where the numpy reference runs
accesslog: ModuleType | None = _load("_accesslog")
#: the compiled web alert-line writer (:mod:`._weblines`), or None where the Python method runs
weblines: ModuleType | None = _load("_weblines")
#: the compiled decoding of a batch of web request parts (:mod:`._webdecode`), or None where the
#: Python loop runs
webdecode: ModuleType | None = _load("_webdecode")
