"""Path traversal and local/remote file inclusion signatures (base view).

Decoding has already turned ``%2e%2e%2f``, ``%252e``, ``..%c0%af`` and full-width dots into plain
``../``; these rules then look for what makes traversal an attack rather than a relative link:
climbing several levels, reaching a file that holds secrets or system configuration, or asking
an interpreter to open a stream wrapper. A single ``../`` in a parameter is left alone.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target

_P = AttackClass.PATH_TRAVERSAL
_UP = r"(?:\.{2,64}[/\\]{1,4}|\.{2,64}0x(?:2f|5c)|(?:0x2e){2}(?:0x2f|0x5c|/|\\))"
_SENSITIVE = (
    r"(?:etc[/\\]{1,3}(?:passwd|shadow|master\.passwd|group|hosts|issue|sudoers|crontab|subuid|subgid|ssh/|mysql/|"
    r"apache2?/|nginx/)|"
    r"proc[/\\]self[/\\]|proc[/\\]\d{1,7}[/\\]|var[/\\]log[/\\]|root[/\\]\.|home[/\\][^/\\]{1,40}[/\\]\.|"
    r"(?:win|system)\.ini\b|boot\.ini\b|windows[/\\]|winnt[/\\]|system32[/\\]|inetpub[/\\]|global\.asa\b|"
    r"web\.config\b|web-inf[/\\]|meta-inf[/\\]|wp-config\.php|\.env\b|\.htaccess\b|\.htpasswd\b|\.git[/\\]|"
    r"\.ssh[/\\]|id_rsa\b|\.bash_history\b|config\.php\b|localsettings\.php|settings\.py\b|database\.yml\b)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-PATH-001",
        _P,
        "Directory traversal reaching a sensitive file",
        rf"{_UP}(?:[^\s]{{0,200}}?[/\\])?{_SENSITIVE}",
        targets=ANY_TARGET,
        confidence=0.95,
    ),
    Rule(
        "WH-PATH-002",
        _P,
        "Repeated directory traversal (three or more levels up)",
        # exact counts ({3}, not {3,}): a longer run contains the match anyway, and no repeat of a
        # repeat is left unbounded for a backtracking engine to explore
        rf"(?:{_UP}\.?[/\\]{{0,3}}(?:\.[/\\]{{1,3}}){{0,3}}){{3}}|(?:[/\\]\.{{2,64}}){{3}}|(?:\.{{3,64}}[/\\]{{1,4}}){{2}}",
        confidence=0.85,
        severity=Severity.MEDIUM,
    ),
    Rule(
        "WH-PATH-003",
        _P,
        "Absolute path to a system secrets or configuration file",
        r"(?:^|[=:/\\\s'\"])(?:etc[/\\]{1,3}(?:passwd|shadow|master\.passwd)\b|proc[/\\]self[/\\](?:environ|cmdline|fd|maps)|"
        r"[a-z]:[/\\]{1,2}(?:boot\.ini|windows[/\\]|winnt[/\\]|inetpub[/\\]|system32[/\\]))|(?:win|boot|system)\.ini\b|"
        r"\bglobal\.asa\b|(?:^|[/\\.])web-inf[/\\]{0,2}web\.xml|\.{2,64}[/\\]{0,4}etc[/\\]{0,3}passwd",
        confidence=0.9,
    ),
    Rule(
        "WH-PATH-004",
        _P,
        "Stream wrapper or file URI in a parameter (LFI/RFI)",
        r"(?:^|[\s=('\"])(?:php://(?:filter|input|fd|memory|temp|stdin)|file:/{1,3}(?:[a-z]:|etc|proc|windows|var|home|"
        r"c:|/|\.\.)|file:\.{2}|expect://|zip://|phar://|glob://|compress\.(?:zlib|bzip2)://|data://text/plain|jar:file:)",
        # not the path: crawlers follow broken links like /page/"file://$file/" found in HTML
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.9,
    ),
    Rule(
        "WH-PATH-005",
        _P,
        "Traversal sequence in the request path itself",
        # browsers and proxies normalise ../ away, so a raw one in the path was sent on purpose
        r"(?:^|/)\.{2,64}(?:[/\\]|;)",
        targets=frozenset({Target.PATH}),
        confidence=0.7,
        severity=Severity.MEDIUM,
    ),
    Rule(
        "WH-PATH-006",
        _P,
        "Traversal fuzzing template with its {file} placeholder unfilled (scanner payload list)",
        # CAPEC-139 / CWE-22: dot-dot-slash fuzzers (dotdotpwn and kin) expand templates such as
        # "/..%2f..%2f{file}"; a misconfigured run sends the template itself. A literal "{file}" right
        # after path characters, dots, an encoded dot or a padding run is never an ordinary value.
        r"(?:[/\\.:]|0x2[ef5c]|[a-z]{2})\{file\}",
        severity=Severity.MEDIUM,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-PATH-007",
        _P,
        "Windows web-root secrets path with its separators stripped (c:inetpubwwwroot...global.asa)",
        # CWE-22 on IIS: global.asa / web.config under the default web root; fuzz lists carry the path
        # with backslashes lost to a naive unescape, which the word-bounded WH-PATH-003 cannot see
        r"inetpub[/\\]{0,2}wwwroot[/\\]{0,2}(?:global\.asa|web\.config)",
        confidence=0.85,
    ),
)
