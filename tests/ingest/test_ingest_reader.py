from __future__ import annotations

import gzip
import io
import random
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.ingest.helpers import PSEUDO, read, read_bytes

from watchhouse.core.errors import InputError, UsageError
from watchhouse.core.events import Dataset
from watchhouse.ingest import Quarantine, ReaderOptions, SourceReader

LINE = b'192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"\n'


def test_gzip_by_magic_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "access.log"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(LINE * 1000))
    seen: list[int] = []
    quarantine = Quarantine(None)
    reader = SourceReader(str(path), ReaderOptions(batch_bytes=4096), quarantine, PSEUDO)
    assert reader.size_hint() == path.stat().st_size
    total = sum(b.num_rows for b in reader.batches(seen.append))
    assert total == 1000 and reader.fmt == "combined"
    assert sum(seen) == path.stat().st_size == reader.stats.bytes_read


def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(LINE * 50)[:-20])
    with pytest.raises(InputError, match=r"bad\.gz"):
        read(path, fmt="combined")


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(gzip.compress(LINE * 3))))
    out = read("-")
    assert out.reader.size_hint() is None
    assert out.frame(Dataset.HTTP)["log.file.path"].to_list() == ["<stdin>"] * 3


def test_user_mistakes(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        SourceReader(str(tmp_path / "missing.log"), ReaderOptions(), Quarantine(None), PSEUDO)
    with pytest.raises(InputError, match="directory"):
        SourceReader(str(tmp_path), ReaderOptions(), Quarantine(None), PSEUDO)
    with pytest.raises(UsageError, match="valid formats: combined, common"):
        ReaderOptions(fmt="logfmt")
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02 binary\n" * 10)
    with pytest.raises(UsageError, match="cannot detect"):
        read(tmp_path / "x.bin")


def test_quarantine_file_is_private_and_lazy(tmp_path: Path) -> None:
    target = tmp_path / "q.jsonl"
    read_ok = tmp_path / "ok.log"
    read_ok.write_bytes(LINE)
    read(read_ok, target)
    assert not target.exists()
    out = read_bytes(tmp_path, LINE + b"junk\n", fmt="combined")
    assert out.quarantine.path is not None
    assert stat.S_IMODE(out.quarantine.path.stat().st_mode) == 0o600
    assert out.quarantine.reasons["expected 10 fields, got 1"] == 1


def test_huge_lines(tmp_path: Path) -> None:
    long_url = b"/" + b"a" * 300_000
    huge = LINE.replace(b"GET / ", b"GET " + long_url + b" ")
    out = read_bytes(tmp_path, LINE + huge + b"x" * 3_000_000 + b"\n" + LINE, batch_bytes=65536, max_line_bytes=1 << 20)
    frame = out.frame(Dataset.HTTP)
    assert frame["log.file.line"].to_list() == [1, 2, 4]
    assert frame["url.original"][1] == long_url.decode()
    assert out.stats.quarantined == 1 and frame["log.offset"][2] == len(LINE) + len(huge) + 3_000_001


@pytest.mark.parametrize("fmt", ["combined", "common", "csv"])
def test_a_last_line_that_is_only_a_byte_order_mark_reads_as_blank(tmp_path: Path, fmt: str) -> None:
    # Arrow drops a leading mark, and a chunk left empty by that used to abort the whole read
    if fmt == "csv":
        data = b"@timestamp,url.original\n2026-10-10T13:55:36Z,/\n\xef\xbb\xbf"
    else:
        line = LINE if fmt == "combined" else LINE.removesuffix(b' "-" "ua"\n') + b"\n"
        data = line + b"\xef\xbb\xbf"
    out = read_bytes(tmp_path, data, fmt=fmt, year=2026, batch_bytes=len(data) - 3)  # the mark is a chunk alone
    assert out.stats.quarantined == 0
    assert out.frame(Dataset.HTTP)["log.file.line"].to_list() == [len(data.splitlines()) - 1]
    assert out.stats.blank == (2 if fmt == "csv" else 1)  # the csv header counts as consumed too


FORMATS = ("combined", "common", "jsonl", "syslog", "csv")


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(blob=st.binary(max_size=600), fmt=st.sampled_from(FORMATS))
def test_fuzz_never_raises(tmp_path: Path, blob: bytes, fmt: str) -> None:
    assume(not blob.startswith(b"\x1f\x8b"))  # gzip magic: a corrupt stream is an InputError by design
    prefix = b"@timestamp,url.original\n" if fmt == "csv" else b""
    read_bytes(tmp_path, prefix + blob, fmt=fmt, year=2026, batch_bytes=97)


def test_fuzz_seeded_blobs(tmp_path: Path) -> None:
    rng = random.Random(20260302)
    alphabet = b' "\\[]{}:,\r\n\t-0123456789abcZ/\xff\x00<>.'
    for i in range(300):
        blob = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        if i % 3 == 0:
            blob = LINE + blob + LINE
        fmt = FORMATS[i % len(FORMATS)]
        prefix = b"@timestamp,url.original\n" if fmt == "csv" else b""
        read_bytes(tmp_path, prefix + blob, fmt=fmt, year=2026, batch_bytes=rng.choice((50, 333, 8192)))
