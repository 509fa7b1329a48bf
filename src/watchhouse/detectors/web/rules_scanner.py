"""Vulnerability scanners and exploit tools, recognised by user agent or by their probe paths.

A scanner's user agent alone proves reconnaissance, not an exploit: those hits are LOW so that
they add context to a source without paging anyone. Generic HTTP libraries (python-requests,
curl, Go-http-client) are deliberately absent: far too many legitimate clients use them.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, Rule, Target

_T = AttackClass.SCANNER

#: Tool names as they appear in default user agents; matched as whole words.
SCANNER_AGENTS: tuple[str, ...] = (
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "wpscan",
    "dirbuster",
    "gobuster",
    "ffuf",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "havij",
    "jaeles",
    "hydra",
    "wfuzz",
    "feroxbuster",
    "arachni",
    "netsparker",
    "appscan",
    "zmeu",
    "morfeus",
    "skipfish",
    "commix",
    "xsstrike",
    "fimap",
    "sqlninja",
    "pangolin",
    "webinspect",
    "paros",
    "dirb",
    "whatweb",
    "cgichk",
    "bsqlbf",
    "brutus",
    "nsauditor",
    "joomscan",
    "droopescan",
    "internet-measurement",
    "censysinspect",
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-SCAN-001",
        _T,
        "Vulnerability scanner or exploit tool user agent",
        r"(?:^|[^\w-])(?:"
        + "|".join(a.replace("-", r"\-") for a in SCANNER_AGENTS)
        + r")(?:[^\w-]|-\d|$)",  # "DirBuster-1.0-RC1": a version may follow a hyphen
        targets=frozenset({Target.USER_AGENT}),
        severity=Severity.LOW,
        confidence=0.9,
    ),
    Rule(
        "WH-SCAN-002",
        _T,
        "Known scanner probe path",
        r"w00tw00t\.at\.|/nice ports,/trinity\.txt\.bak|/\.git/(?:config|head)$|/\.env$|/\.aws/credentials$|"
        r"/\.ds_store$|/phpunit/src/util/php/eval-stdin\.php|/\.svn/entries$|/server-status$|/etc/passwd$|"
        r"/(?:wp-config\.php|config\.php|configuration\.php)\.(?:bak|old|save|swp|orig|txt|~)$|/\.htpasswd$",
        targets=frozenset({Target.PATH}),
        severity=Severity.LOW,
        confidence=0.8,
    ),
)
