"""Throughput of web.attack_patterns on synthetic but realistic HTTP traffic (not collected by pytest).

Benign rows mimic a content site: pages, assets, API calls, searches with ``%20``/``+``,
tracking parameters, encoded redirect URLs and common browser/bot agents. A small share of rows
carry attacks, so the per-row path is exercised at the rate it would see in production.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import pyarrow as pa

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.testing.factories import BASE_TIME

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "curl/8.5.0",
)
WORDS = (
    "shoes",
    "red dress",
    "drop shipping",
    "select a union rep",
    "order by price",
    "o'brien",
    "script writing",
    "best laptop 2024",
    "cats",
    "how to cook rice",
    "union square hotels",
    "sleep apnea",
    "java tutorial",
    "c++ templates",
    "50% off",
    "rock & roll",
    "price <100",
    "tom's diner",
    "email me@example.com",
)
PAGES = ("/", "/about", "/blog/2024/05/hello-world", "/products/1234", "/category/shoes", "/cart", "/account/orders")
ASSETS = ("/static/app.3f2a1c.js", "/static/css/site.css", "/img/logo.png", "/favicon.ico", "/fonts/inter.woff2")
APIS = ("/api/v1/items?page=2&limit=50", "/api/v1/users/42", "/api/v2/search?q=shoes&sort=-created", "/graphql")
ATTACKS = (
    "/search?q=1'+union+select+null,user(),version()--",
    "/item.php?id=1%20AND%201=1",
    "/page?file=../../../../etc/passwd",
    "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
    "/ping?host=127.0.0.1;cat%20/etc/passwd",
    "/login?user=admin'--",
)


def benign_url(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(ASSETS) + (f"?v={rng.randrange(10**6)}" if rng.random() < 0.5 else "")
    if kind < 0.55:
        return rng.choice(PAGES) + (
            f"?utm_source=newsletter&utm_medium=email&utm_campaign=spring_{rng.randrange(99)}"
            if rng.random() < 0.3
            else ""
        )
    if kind < 0.75:
        words = rng.choice(WORDS)
        encoded = quote_plus(words) if rng.random() < 0.5 else quote(words)
        return f"/search?q={encoded}&page={rng.randrange(1, 9)}"
    if kind < 0.9:
        return rng.choice(APIS)
    target = quote("https://shop.example.com/checkout?step=2&ref=abc", safe="")
    return f"/redirect?to={target}&sig={rng.getrandbits(64):x}"


def traffic(rows: int, *, attack_rate: float = 0.01, seed: int = 7) -> EventBatch:
    """An http batch of ``rows`` requests, ``attack_rate`` of them attacks (deterministic)."""
    rng = random.Random(seed)
    cols: dict[str, list[Any]] = {
        "@timestamp": [],
        "log.file.path": [],
        "log.file.line": [],
        "source.ip": [],
        "http.request.method": [],
        "url.original": [],
        "http.response.status_code": [],
        "http.response.body.bytes": [],
        "http.request.referrer": [],
        "user_agent.original": [],
    }
    for i in range(rows):
        attack = rng.random() < attack_rate
        cols["@timestamp"].append(BASE_TIME + timedelta(milliseconds=i))
        cols["log.file.path"].append("bench/access.log")
        cols["log.file.line"].append(i + 1)
        cols["source.ip"].append(f"198.51.{rng.randrange(256)}.{rng.randrange(256)}")
        cols["http.request.method"].append("GET" if rng.random() < 0.9 else "POST")
        cols["url.original"].append(rng.choice(ATTACKS) if attack else benign_url(rng))
        cols["http.response.status_code"].append(rng.choice((200, 200, 200, 304, 404, 302)))
        cols["http.response.body.bytes"].append(rng.randrange(100, 100_000))
        cols["http.request.referrer"].append("https://www.example.com/" if rng.random() < 0.6 else "-")
        cols["user_agent.original"].append(rng.choice(AGENTS))
    arrays = {name: pa.array(values) for name, values in cols.items()}
    return EventBatch.from_columns(Dataset.HTTP, arrays)


def main() -> None:
    """``POLARS_MAX_THREADS=1 .venv/bin/python bench/web_detector_micro.py [rows]``"""
    import sys
    import time

    from watchhouse.detectors.web.attack_patterns import WebAttackDetector
    from watchhouse.detectors.web.prefilter import candidate_mask

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    batch = traffic(rows)
    detector = WebAttackDetector()
    frame = batch.to_polars()  # conversion is the reader's cost, not detect()'s
    candidates = int(candidate_mask(frame).sum())
    # CPU time of this process: on a shared machine wall time measures the neighbours too
    start = time.process_time()
    findings = detector.detect(batch)
    elapsed = time.process_time() - start
    print(f"rows={rows} candidates={candidates} ({candidates / rows:.1%}) findings={len(findings)}")
    print(f"detect: {elapsed:.3f} CPU s -> {rows / elapsed:,.0f} rows/CPU-s")


if __name__ == "__main__":
    main()
