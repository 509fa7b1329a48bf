"""Benign web traffic for access.log: pages, static assets, API calls, bots, with near-misses.

The near-misses are the point: searches for "select", "union", "o'brien", "<3", forum titles with
"1=1", encoded unicode and long tracking tokens are all things real users send and naive signature
detectors flag. Generation is vectorised per category; only the final f-string is per line.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import numpy as np

from watchhouse.simulate.clock import I64, cdf, clf_times, draw, expected_slice
from watchhouse.simulate.formats import SITE
from watchhouse.simulate.population import BOT_UAS, BROWSER_UAS, Population, b64_tokens, hex_tokens

REQUESTS_PER_USER_DAY = 250.0

_SEARCHES = (
    "summer dress",
    "select dress size",
    "union station chicago",
    "drop shipping",
    "order by date",
    "o'brien",
    "sean o'brien",
    "rock'n'roll",
    "tom & jerry",
    "i <3 paris",
    "<3",
    "café de flore",
    "crème brûlée recipe",
    "münchen",
    "naïve bayes",
    "sql union vs join",
    "how to drop a table",
    "select * from",
    "java script tutorial",
    "script writing course",
    "sleep tips",
    "1=1",
    "null",
    "benchmark gpu",
    "delete account",
    "admin",
    "c++ or java",
    "50% off",
    "a+b",
    '"exact phrase"',
    "where is my order",
    "kraków",
    "zürich apartments",
    "東京",
    "hello world",
    "bank holiday",
    "cat pictures",
    "../ meaning in linux",
    "exec summary template",
    "drop-in replacement",
)
_SLUGS = (
    "is-1-1-always-true-in-boolean-algebra",
    "union-of-two-sets-proof",
    "select-the-best-camera-under-500",
    "drop-in-replacement-for-my-router",
    "why-does-my-script-not-run-on-startup",
    "or-vs-and-in-logic",
    "order-by-vs-group-by",
    "my-cat-ate-my-homework",
    "best-hiking-trails",
    "o-brien-family-reunion",
    "javascript-alert-box-not-showing",
    "sleep-schedule-help",
    "admin-rights-on-work-laptop",
)
_REFERRERS = (
    f"{SITE}/",
    f"{SITE}/feed",
    f"{SITE}/search?q=shoes",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://t.co/",
    "android-app://com.google.android.gm/",
    "https://duckduckgo.com/",
    "-",
    "-",
    "-",
)
_ASSETS = (
    "/static/js/app.7f3c2a91.js",
    "/static/js/vendor.1b9e04dd.js",
    "/static/css/main.4a7d9e12.css",
    "/static/fonts/inter-var.woff2",
    "/static/img/logo.svg",
    "/favicon.ico",
    "/static/js/chunk-342.8c1f.js",
)
_ENC_SEARCHES = tuple(quote_plus(s) for s in _SEARCHES) + tuple(quote(s) for s in _SEARCHES[:12])

# (weight, method, statuses, status weights, mean size)
_CATEGORIES: tuple[tuple[float, str, tuple[int, ...], tuple[float, ...], int], ...] = (
    (0.05, "GET", (200, 304), (0.9, 0.1), 24_000),  # 0 home / feed
    (0.06, "GET", (200, 404), (0.97, 0.03), 18_000),  # 1 profile
    (0.08, "GET", (200, 404, 301), (0.95, 0.03, 0.02), 21_000),  # 2 post
    (0.03, "GET", (200,), (1.0,), 15_000),  # 3 search page
    (0.22, "GET", (200, 304), (0.55, 0.45), 60_000),  # 4 static asset
    (0.20, "GET", (200, 304), (0.7, 0.3), 45_000),  # 5 media image
    (0.16, "GET", (200, 401, 304), (0.93, 0.03, 0.04), 3_500),  # 6 api feed / notifications
    (0.04, "POST", (201, 200, 429), (0.85, 0.13, 0.02), 400),  # 7 api write
    (0.03, "GET", (200,), (1.0,), 2_800),  # 8 api search
    (0.03, "GET", (200, 302), (0.6, 0.4), 9_000),  # 9 tracked link from newsletter / ads
    (0.03, "GET", (200, 404), (0.98, 0.02), 16_000),  # 10 forum thread
    (0.02, "POST", (302, 200), (0.9, 0.1), 600),  # 11 login form post
    (0.01, "GET", (200, 404, 500), (0.9, 0.08, 0.02), 1_200),  # 12 misc (robots, manifest, health)
)
_CAT_P = np.array([c[0] for c in _CATEGORIES]) / sum(c[0] for c in _CATEGORIES)


def _urls(rng: np.random.Generator, cat: int, n: int, pop: Population) -> list[str]:
    """Request targets for ``n`` requests of one category (vectorised draws, one format per line)."""
    ids = rng.integers(1, pop.size * 40, size=n).tolist()
    if cat == 0:
        return rng.choice(["/", "/feed", "/feed?tab=following", "/explore"], size=n).tolist()  # type: ignore[no-any-return]
    if cat == 1:
        return [f"/u/{pop.names[i]}" for i in rng.integers(0, pop.size, size=n).tolist()]
    if cat == 2:
        return [f"/p/{i}" for i in ids]
    if cat in (3, 8):
        qs = rng.choice(_ENC_SEARCHES, size=n).tolist()
        pages = rng.integers(1, 4, size=n).tolist()
        base = "/search?q=" if cat == 3 else "/api/v1/search?type=posts&q="
        return [f"{base}{q}" + (f"&page={p}" if p > 1 else "") for q, p in zip(qs, pages, strict=True)]
    if cat == 4:
        return rng.choice(_ASSETS, size=n).tolist()  # type: ignore[no-any-return]
    if cat == 5:
        sizes = rng.choice(["320", "640", "1080"], size=n).tolist()
        return [f"/media/{h}.jpg?w={w}" for h, w in zip(hex_tokens(rng, n, 10), sizes, strict=True)]
    if cat == 6:
        cursors = b64_tokens(rng, n, 24)
        kinds = rng.integers(0, 3, size=n).tolist()
        return [
            (
                "/api/v1/feed?limit=20&cursor=" + c,
                "/api/v1/notifications?since=" + str(i),
                f"/api/v1/posts/{i}/comments",
            )[k]
            for c, i, k in zip(cursors, ids, kinds, strict=True)
        ]
    if cat == 7:
        kinds = rng.integers(0, 3, size=n).tolist()
        return [
            ("/api/v1/messages", f"/api/v1/posts/{i}/like", "/api/v1/uploads")[k]
            for i, k in zip(ids, kinds, strict=True)
        ]
    if cat == 9:
        clicks = b64_tokens(rng, n, 64)
        camps = rng.choice(["spring_sale", "weekly_digest", "reactivation_q1", "new%20features"], size=n).tolist()
        return [
            f"/p/{i}?utm_source=newsletter&utm_medium=email&utm_campaign={c}&fbclid={t}"
            for i, c, t in zip(ids, camps, clicks, strict=True)
        ]
    if cat == 10:
        slugs = rng.choice(_SLUGS, size=n).tolist()
        return [f"/forum/t/{i % 9000}-{s}" for i, s in zip(ids, slugs, strict=True)]
    if cat == 11:
        return rng.choice(["/login", "/login?next=%2Fsettings", "/login?next=%2Fmessages"], size=n).tolist()  # type: ignore[no-any-return]
    return rng.choice(["/robots.txt", "/manifest.json", "/healthz", "/sitemap.xml", "/about"], size=n).tolist()  # type: ignore[no-any-return]


_BOT_CLIENTS = [(ip, ua) for ua, addrs in BOT_UAS for ip in addrs]
_BOT_CDF = cdf(
    [w / len(addrs) for w, (_, addrs) in zip((0.5, 0.25, 0.1, 0.1, 0.05), BOT_UAS, strict=True) for _ in addrs]
)
_BOT_IPS = np.array([c[0] for c in _BOT_CLIENTS], dtype=object)
_BOT_UAS = np.array([c[1] for c in _BOT_CLIENTS], dtype=object)
_BOT_CATS = (1, 2, 10, 12)
_BOT_CAT_P = (0.25, 0.45, 0.2, 0.1)
_BROWSER_UAS = np.array([u for u, _ in BROWSER_UAS], dtype=object)


def generate(rng: np.random.Generator, pop: Population, start_us: int, end_us: int) -> tuple[I64, list[str]]:
    """All benign access-log lines of one slice (in category order; the writer sorts by time).

    Rows are built category by category (no scattering into arrays) and paired with independent,
    uniformly drawn times, so the order in which they are built carries no information.
    """
    n = int(rng.poisson(expected_slice(REQUESTS_PER_USER_DAY * pop.size, start_us, end_us)))
    n_bot = int(rng.binomial(n, 0.04))  # crawlers and monitors
    n_br = n - n_bot
    users = pop.pick_users(rng, n_br)
    ips = pop.user_ip[users]  # fancy indexing copies, so the visitor overwrite below is safe
    uas = pop.user_ua[users]
    visitors = rng.random(n_br) < 0.10  # logged-out visitors
    nv = int(visitors.sum())
    ips[visitors] = np.array(pop.visitor_ips, dtype=object)[rng.integers(0, len(pop.visitor_ips), size=nv)]
    uas[visitors] = _BROWSER_UAS[rng.integers(0, len(_BROWSER_UAS), size=nv)]
    bots = draw(rng, _BOT_CDF, n_bot)
    ips = np.concatenate([ips, _BOT_IPS[bots]])
    uas = np.concatenate([uas, _BOT_UAS[bots]])

    urls: list[str] = []
    methods: list[str] = []
    status: list[I64] = []
    sizes: list[I64] = []
    counts = [(c, k) for c, k in enumerate(rng.multinomial(n_br, _CAT_P).tolist())]
    counts += [(c, k) for c, k in zip(_BOT_CATS, rng.multinomial(n_bot, _BOT_CAT_P).tolist(), strict=True)]
    for c, k in counts:
        if k == 0:
            continue
        _, method, codes, weights, mean = _CATEGORIES[c]
        urls += _urls(rng, c, k, pop)
        methods += [method] * k
        st = rng.choice(codes, size=k, p=weights)
        status.append(st)
        sz = rng.gamma(2.0, mean / 2.0, size=k).astype(np.int64)
        sizes.append(np.where(st == 304, 0, np.where(st >= 300, rng.integers(150, 600, size=k), sz)))
    refs: list[str] = rng.choice(_REFERRERS, size=n_br).tolist() + ["-"] * n_bot
    ts = rng.integers(start_us, end_us, size=n, dtype=np.int64)
    lines = [
        f'{ip} - - [{t}] "{m} {u} HTTP/1.1" {s} {b} "{r}" "{a}"'
        for ip, t, m, u, s, b, r, a in zip(
            ips.tolist(),
            clf_times(ts),
            methods,
            urls,  # benign targets are always percent-encoded: nothing to escape
            np.concatenate(status).tolist() if status else [],
            np.concatenate(sizes).tolist() if sizes else [],
            refs,
            uas.tolist(),
            strict=True,
        )
    ]
    return ts, lines
