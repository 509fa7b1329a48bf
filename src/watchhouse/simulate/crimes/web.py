"""Web attacks in access.log: an injection campaign against real endpoints, and vulnerability scans."""

from __future__ import annotations

import numpy as np

from watchhouse.core.taxonomy import CrimeCode
from watchhouse.simulate.clock import F64, cdf, clf_one, rng_for
from watchhouse.simulate.crimes.base import CrimeEvent, Instance, PlanContext, spread
from watchhouse.simulate.formats import SITE, access_line
from watchhouse.simulate.payloads import KINDS, encode, payload
from watchhouse.simulate.population import BROWSER_UAS, HOSTING, RESIDENTIAL

# The platform's real parameterised endpoints, by the kind of injection they invite.
_TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "sqli": (
        ("/search", "q"),
        ("/api/v1/posts", "id"),
        ("/api/v1/users", "sort"),
        ("/forum/t", "id"),
        ("/p/view", "id"),
    ),
    "xss": (("/search", "q"), ("/api/v1/search?type=posts&", "q"), ("/login", "next"), ("/u/profile", "bio")),
    "traversal": (("/download", "file"), ("/media/view", "img"), ("/api/v1/export", "template"), ("/static", "path")),
    "cmdi": (("/api/v1/tools/ping", "host"), ("/img/resize?w=320&", "src"), ("/api/v1/export?format=pdf&", "name")),
}
_STATUS: dict[str, tuple[tuple[int, ...], F64]] = {
    "sqli": ((200, 500, 403, 400), cdf([0.55, 0.2, 0.15, 0.1])),
    "xss": ((200, 400, 403), cdf([0.7, 0.2, 0.1])),
    "traversal": ((400, 404, 403, 200), cdf([0.4, 0.35, 0.2, 0.05])),
    "cmdi": ((200, 400, 500), cdf([0.5, 0.3, 0.2])),
}
_ATTACK_UAS = (
    "sqlmap/1.8.2#stable (https://sqlmap.org)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "curl/8.4.0",
    BROWSER_UAS[0][0],
)
SCANNER_UAS = (
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:{n:06d})",
    "sqlmap/1.7.12#stable (https://sqlmap.org)",
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "Mozilla/5.0 zgrab/0.x",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "gobuster/3.6",
    "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
    "Fuzz Faster U Fool v2.1.0-dev",
)
_PROBES = (
    "/.env",
    "/.env.bak",
    "/.git/config",
    "/.git/HEAD",
    "/.svn/entries",
    "/.DS_Store",
    "/.htaccess",
    "/wp-login.php",
    "/wp-admin/",
    "/xmlrpc.php",
    "/wp-content/plugins/",
    "/phpmyadmin/",
    "/pma/",
    "/admin",
    "/administrator/",
    "/server-status",
    "/config.php.bak",
    "/web.config",
    "/.aws/credentials",
    "/actuator/env",
    "/actuator/health",
    "/cgi-bin/test.cgi",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/solr/admin/",
    "/console/",
    "/manager/html",
    "/id_rsa",
    "/owa/auth/logon.aspx",
    "/remote/login",
    "/boaform/admin/formLogin",
    "/HNAP1/",
    "/api/swagger.json",
    "/graphql",
    "/telescope/requests",
    "/_profiler/",
)
_WORDS = (
    "backup",
    "db",
    "dump",
    "site",
    "www",
    "old",
    "test",
    "dev",
    "tmp",
    "uploads",
    "data",
    "config",
    "admin",
    "api",
)
_EXTS = ("", "/", ".zip", ".tar.gz", ".sql", ".bak", ".old", ".php", ".txt")
_SCAN_STATUS: dict[str, int] = {
    "/.git/config": 403,
    "/.git/HEAD": 403,
    "/server-status": 403,
    "/admin": 302,
    "/graphql": 400,
    "/actuator/health": 404,
    "/api/swagger.json": 404,
}


def plan_web_attacks(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """Injection campaigns: one to three attacker addresses working through the platform's endpoints."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 2.0) + 1):
        n_ips = int(rng.choice([1, 1, 2, 3]))
        ips = [ctx.ips.take_from(HOSTING if rng.random() < 0.7 else RESIDENTIAL)[0] for _ in range(n_ips)]
        duration = ctx.duration(rng, 5, 60)
        start = ctx.start_time(rng, duration)
        count = int(rng.integers(150, 1500))
        ua = _ATTACK_UAS[int(rng.random() * len(_ATTACK_UAS))]
        mix = rng.dirichlet([8.0, 0.3, 0.3, 0.3] if ua.startswith("sqlmap") else [2.0, 1.0, 1.0, 1.0])
        irng = rng_for(ctx.seed, "web_attack_campaign", number)

        def build(
            irng: np.random.Generator = irng,
            ips: list[str] = ips,
            start: int = start,
            duration: int = duration,
            count: int = count,
            ua: str = ua,
            mix: F64 = mix,
        ) -> list[CrimeEvent]:
            events = []
            kinds = irng.choice(len(KINDS), size=count, p=mix).tolist()
            for t, k in zip(spread(irng, start, duration, count), kinds, strict=True):
                kind = KINDS[k]
                path, param = _TARGETS[kind][int(irng.random() * len(_TARGETS[kind]))]
                sep = "" if path.endswith("&") else "?"
                base = str(int(irng.integers(1, 50000))) if param in ("id", "host") and kind != "xss" else ""
                url = f"{path}{sep}{param}={base}{encode(irng, payload(irng, kind))}"
                codes, cumulative = _STATUS[kind]
                status = codes[min(len(codes) - 1, int(np.searchsorted(cumulative, irng.random(), side="right")))]
                size = int(irng.integers(200, 900)) if status >= 400 else int(irng.integers(2_000, 40_000))
                ip = ips[int(irng.random() * len(ips))]
                code = CrimeCode.DATA_INTERFERENCE if kind == "xss" else CrimeCode.ILLEGAL_ACCESS
                line = access_line(
                    ip, clf_one(t), "GET", url, status, size, f"{SITE}/" if irng.random() < 0.3 else "-", ua
                )
                events.append(CrimeEvent(t, line, code))
            return events

        out.append(
            Instance(
                "web_attack_campaign",
                number,
                "access",
                start,
                ips,
                [],
                list(ips),
                {"user_agent": ua, "requests": count},
                build,
                count,
            )
        )
    return out


def plan_scans(ctx: PlanContext, rng: np.random.Generator) -> list[Instance]:
    """Vulnerability scanners: one address, one tool, hundreds of probes for known files, mostly 404s."""
    out: list[Instance] = []
    for number in range(1, ctx.instance_count(rng, 3.0) + 1):
        ip = ctx.ips.take_from(HOSTING)[0]
        tool = SCANNER_UAS[int(rng.random() * len(SCANNER_UAS))]
        duration = ctx.duration(rng, 2, 30)
        start = ctx.start_time(rng, duration)
        count = int(rng.integers(150, 2000))
        irng = rng_for(ctx.seed, "vulnerability_scan", number)

        def build(
            irng: np.random.Generator = irng,
            ip: str = ip,
            tool: str = tool,
            start: int = start,
            duration: int = duration,
            count: int = count,
        ) -> list[CrimeEvent]:
            events = []
            for i, t in enumerate(spread(irng, start, duration, count, jitter=0.3)):
                if i < len(_PROBES) or irng.random() < 0.3:
                    path = _PROBES[i % len(_PROBES)]
                else:
                    word = _WORDS[int(irng.random() * len(_WORDS))]
                    path = f"/{word}{_EXTS[int(irng.random() * len(_EXTS))]}"
                    if irng.random() < 0.3:
                        path = f"/{_WORDS[int(irng.random() * len(_WORDS))]}{path}"
                status = _SCAN_STATUS.get(path, 404)
                method = "HEAD" if "masscan" in tool or "zgrab" in tool else "GET"
                line = access_line(
                    ip, clf_one(t), method, path, status, int(irng.integers(150, 560)), "-", tool.format(n=i + 1)
                )
                events.append(CrimeEvent(t, line, CrimeCode.ILLEGAL_ACCESS))
            return events

        out.append(
            Instance(
                "vulnerability_scan",
                number,
                "access",
                start,
                [ip],
                [],
                [ip],
                {"user_agent": tool.format(n=0), "requests": count},
                build,
                count,
            )
        )
    return out
