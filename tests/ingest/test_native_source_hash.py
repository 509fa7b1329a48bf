"""A compiled kernel is used only when it was built from the sources beside it: its ``.pyx`` and
the shared ``.pxd`` declarations it may inline (``_civil.pxd``). Editing either makes it stale."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import watchhouse._native as native
from watchhouse._native import source_sha256

NATIVE = Path(native.__file__).parent


def test_the_hash_covers_the_shared_declarations(tmp_path: Path) -> None:
    kernel = tmp_path / "_kernel.pyx"
    kernel.write_text("def f(): pass\n")
    alone = source_sha256(kernel)
    shared = tmp_path / "_shared.pxd"
    shared.write_text("cdef inline int one() noexcept nogil:\n    return 1\n")
    with_shared = source_sha256(kernel)
    assert with_shared != alone
    shared.write_text("cdef inline int one() noexcept nogil:\n    return 2\n")
    assert source_sha256(kernel) not in (alone, with_shared)  # an edit of the .pxd alone is seen
    edited = source_sha256(kernel)
    (tmp_path / "_other.pyx").write_text("# another kernel's source is not part of this one\n")
    assert source_sha256(kernel) == edited


KERNELS = sorted(source.stem for source in NATIVE.glob("*.pyx"))


def test_every_kernel_source_is_built_and_loaded() -> None:
    """A new ``.pyx`` must be in ``setup.py``'s list (or it is never compiled) and loaded by the
    package (or it is never used)."""
    assert KERNELS, "the kernel sources are part of the checkout"
    listed = (NATIVE.parents[2] / "setup.py").read_text()
    loader = (NATIVE / "__init__.py").read_text()
    for name in KERNELS:
        assert f'"watchhouse._native.{name}"' in listed, name
        assert f'_load("{name}")' in loader, name


@pytest.mark.parametrize("name", KERNELS)
def test_built_kernels_record_the_hash_the_loader_computes(name: str) -> None:
    """setup.py computes the recorded hash on its own (it cannot import the package it builds):
    a kernel built from this checkout must carry what the loader computes, or none would load."""
    module = pytest.importorskip(f"watchhouse._native.{name}", reason="compiled kernels not built")
    assert source_sha256(NATIVE / f"{name}.pyx") == module.SOURCE_SHA256
    assert list(NATIVE.glob("*.pxd")), "the shared declarations are part of the checkout"


def test_a_stale_build_is_refused(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("watchhouse._native._syslog", reason="compiled kernels not built")
    monkeypatch.delenv(native.PURE_PYTHON_ENV, raising=False)
    assert native._load("_syslog") is not None
    monkeypatch.setattr(native, "source_sha256", lambda _source: "0" * 64)  # as after editing _civil.pxd
    with caplog.at_level(logging.WARNING, logger="watchhouse._native"):
        assert native._load("_syslog") is None
    assert "stale" in caplog.text
