"""The request-policy mask is a necessary condition of every policy hit.

The detector runs the Python policy checks only on rows :meth:`RequestPolicy.mask` selects, so a
check that can fire on a row outside the mask silently loses that row. Full-request logs carry a
header record on every row; the mask judges those headers by running the real checks on a reduced
request and remembers the verdict. The property is checked on the OWASP CRS regression requests
(where ``../shared/corpora`` is present), on every annotated policy case, and on generated requests
built from the header names, values and URL tricks the checks look at.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import policy as policy_module
from watchhouse.detectors.web.evaluation import load_crs
from watchhouse.detectors.web.policy import RequestPolicy
from watchhouse.testing.factories import make_batch

from .test_policy import CASES

CRS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "crs-tests"
LEVELS = (1, 2, 3, 4)


def _missed(rows: list[dict[str, Any]], level: int) -> list[tuple[list[str], dict[str, Any]]]:
    """``(rules, row)`` for each row with a policy hit that the mask leaves out."""
    policy = RequestPolicy(level)
    frame = make_batch(Dataset.HTTP, rows).to_polars()
    mask = policy.mask(frame).to_list()
    out = []
    for row, selected in zip(frame.iter_rows(named=True), mask, strict=True):
        found = policy.hits(row)
        if found and not selected:
            out.append(([hit.rule.id for hit in found], row))
    return out


@pytest.mark.parametrize("level", LEVELS)
def test_every_annotated_policy_case_is_selected(level: int) -> None:
    rows = [row for _, positive, near in CASES for row in (positive, near)]
    assert _missed(rows, level) == []


@pytest.mark.parametrize("level", LEVELS)
def test_every_crs_request_with_a_policy_hit_is_selected(level: int) -> None:
    if not CRS.is_dir():
        pytest.skip(f"{CRS} is absent (no ../shared checkout)")
    rows = [case.row for case in load_crs(CRS)]
    assert _missed(rows, level) == []


def test_ordinary_browser_requests_skip_the_python_checks() -> None:
    # the point of the mask: a site's ordinary traffic, header record and all, costs no per-row Python
    browser = {
        "Host": "shop.example",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Encoding": "gzip, deflate, br, zstd",
        "Accept-Language": "en-GB,en;q=0.5",
        "Connection": "keep-alive",
        "Cookie": "cart=9f2c; theme=dark",
        "Referer": "https://shop.example/",
    }
    rows = [{"http.request.method": "GET", "url.original": f"/products/{i}?page={i % 7}&sort=price"} for i in range(50)]
    form = {**browser, "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "23"}
    rows.append({"http.request.method": "POST", "url.original": "/cart", "http.request.body.content": "item=42&qty=1"})
    for i, row in enumerate(rows):
        headers = form if row["http.request.method"] == "POST" else {**browser, "Cookie": f"cart={i:04x}"}
        row["http.request.headers"] = json.dumps(headers)
        row["http.version"] = "1.1"
    frame = make_batch(Dataset.HTTP, rows).to_polars()
    assert not RequestPolicy(2).mask(frame).any()
    # ...while the same requests with one header out of its grammar are selected
    rows[3]["http.request.headers"] = json.dumps({**browser, "Connection": "keep-alive, close"})
    assert RequestPolicy(2).mask(make_batch(Dataset.HTTP, rows).to_polars()).arg_true().to_list() == [3]


def test_the_screen_verdict_is_remembered_per_reduced_header_set() -> None:
    policy = RequestPolicy(2)
    base = {"Host": "shop.example", "User-Agent": "Mozilla/5.0", "Accept": "*/*", "Content-Length": "3"}
    rows = [
        {
            "http.request.method": "POST",
            "url.original": "/api",
            "http.request.body.content": "a=1",
            "http.request.headers": json.dumps({**base, "Cookie": f"id={i}", "Content-Length": str(i + 1)}),
        }
        for i in range(20)
    ]
    assert not policy.mask(make_batch(Dataset.HTTP, rows).to_polars()).any()
    # cookies and body lengths differ on every row, yet they reduce to one header set
    assert len(policy._screened) == 1


class _Recording(dict[str, Sequence[str]]):
    """Headers that remember every name a check looks up by key."""

    asked: ClassVar[set[str]] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Sequence[str]:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def test_the_screen_keeps_every_header_a_check_reads_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that starts reading another header must be seen by the screen, or the mask misses it."""
    parse = policy_module._parse_headers
    monkeypatch.setattr(policy_module, "_parse_headers", lambda text: _Recording(parse(text)))
    rows = [row for _, positive, near in CASES for row in (positive, near)]
    for level in LEVELS:
        policy = RequestPolicy(level)
        for row in make_batch(Dataset.HTTP, rows).to_polars().iter_rows(named=True):
            policy.hits(row)
    # Referer is read only beside a session id in the URL or body, which the column symptoms catch
    assert _Recording.asked - {"referer"} <= policy_module._READ_BY_NAME
    assert {"content-type", "host", "range", "accept"} <= _Recording.asked  # the recording works


_NAMES = [
    "Host",
    "host",
    "User-Agent",
    "Accept",
    "Accept-Encoding",
    "Content-Type",
    "content-type",
    "Content-Length",
    "content-length",
    "Transfer-Encoding",
    "Connection",
    "Range",
    "Request-Range",
    "Cookie",
    "Cache-Control",
    "Content-Encoding",
    "Sec-Fetch-User",
    "X-Filename",
    "X-HTTP-Method-Override",
    "Proxy",
    "If",
    "Referer",
    "X-Forwarded-For",
]
_VALUES = [
    "",
    " ",
    "1",
    "12",
    "x1",
    "?1",
    "?2",
    "shop.example",
    "192.0.2.1",
    "a b",
    "chunked",
    "gzip",
    "gzip, deflate",
    "foobar",
    "bytes=0-1",
    "bytes=5-1",
    "1-2",
    "keep-alive",
    "keep-alive, close",
    "no-cache",
    "max-age=1,,",
    "text/html",
    "text/html;charset=cp1026",
    "application/json",
    "application/x-www-form-urlencoded; charset=utf-8",
    "multipart/form-data; boundary=----x",
    'text/plain; boundary="application/json"',
    "my/type",
    "$Version=1; a=b",
    "a=b\r\nX: y",
    "shell.php5...",
    "Mozilla/5.0",
    "\u00b2",  # a digit to str.isdigit, not to a server reading a length
]
_URLS = [
    "/",
    "/a?b=1",
    "/a?b=1&b=2",
    "/x.bak",
    "/x.b%61k",
    "/index.php%7e",
    "/?sid=1",
    '/?{"sid":1}',
    "/?_method=PUT",
    "/?q=%5Cu0061",
    "/?q=%1G",
    "/?q=%2541",
    "/?q=%c0%af",
    "/?q=%uff0f",
    "/?q=%03",
    "/?q=a%00",
    "/?" + "n" * 101 + "=1",
    "/?foo[1]=bar",
]
_BODIES = [None, "", "a=1", "q=%5Cu0061", "x=%1G", "_method=PUT", "PHPSESSID=1", '{"a":1}']


@st.composite
def _requests(draw: st.DrawFn) -> dict[str, Any]:
    headers = draw(st.dictionaries(st.sampled_from(_NAMES), st.sampled_from(_VALUES), max_size=6))
    row: dict[str, Any] = {
        "http.request.method": draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "TRACE", "FOO", "get"])),
        "url.original": draw(st.sampled_from(_URLS)),
        "http.request.body.content": draw(st.sampled_from(_BODIES)),
        "http.version": draw(st.sampled_from([None, "1.1", "HTTP/1.0", "2", "4.0"])),
    }
    if draw(st.booleans()):
        row["http.request.headers"] = json.dumps(headers)
    if draw(st.booleans()):
        row["http.request.referrer"] = draw(st.sampled_from(["https://elsewhere.example/", "https://shop.example/"]))
    return row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_requests(), min_size=1, max_size=8), level=st.sampled_from(LEVELS))
def test_generated_requests_with_a_policy_hit_are_selected(rows: list[dict[str, Any]], level: int) -> None:
    assert _missed(rows, level) == []


def test_the_mask_of_an_access_log_looks_at_no_headers() -> None:
    frame = make_batch(
        Dataset.HTTP,
        [{"http.request.method": "GET", "url.original": u} for u in ("/", "/x.sql", "/?a=1", "/?PHPSESSID=1")],
    ).to_polars()
    assert frame["http.request.headers"].null_count() == frame.height
    assert RequestPolicy(2).mask(frame).to_list() == [False, True, False, True]
    assert isinstance(RequestPolicy(2).mask(frame), pl.Series)
