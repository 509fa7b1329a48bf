"""Server-side request forgery and remote file inclusion: a parameter that makes the server fetch.

SSRF (OWASP Top 10 2021 A10) points a server-side fetch at places only the server can reach:
loopback, link-local cloud metadata (169.254.169.254, the Capital One 2019 breach), internal
names, or non-HTTP schemes (gopher://, dict://) that speak to other services. Obfuscated loopback
forms (decimal 2130706433, hex 0x7f000001, octal 0177.0.0.1, ``[::]``) exist only to slip past
blocklists. RFI makes an interpreter include code from a URL; a URL ending in ``?`` or carrying an
include-like parameter name is the classic shape.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, Rule, Target

_SSRF = AttackClass.SSRF
_VALUES = frozenset({Target.QUERY, Target.BODY})
_LOOPBACK = (
    r"(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|0\.0\.0\.0|0x7f[0-9a-f.x]{0,12}|0177\.[0-7.]{1,12}|2130706433|"
    r"017700000001|\[(?:0{0,4}:){0,7}:?0{0,4}:?1?\]|\[::ffff:[^\]]{1,20}\]|169\.254\.169\.254|metadata\.google\.internal|"
    r"100\.100\.100\.200|fd00:ec2::254|instance-data|metadata\.azure\.com|"
    r"localtest\.me|(?:\w{1,30}\.)?nip\.io|(?:\w{1,30}\.)?sslip\.io|gateway\.docker\.internal|host\.docker\.internal|"
    r"kubernetes\.default(?:\.svc)?|ipv6-localhost|ip6-localhost|ip6-loopback)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-SSRF-001",
        _SSRF,
        "URL in a parameter pointing at loopback, cloud metadata or an internal service name",
        rf"(?:^|[\s=\"'(@])(?:[a-z][a-z0-9+.-]{{1,15}}:)?//(?:[^/?#\s@]{{0,80}}@)?(?:{_LOOPBACK}|\d{{8,10}})(?:[:/?#\s]|$)|"
        r"(?:^|[\s=\"'])169\.254\.169\.254\b|\bmetadata\.google\.internal\b|/latest/meta-data\b|/computemetadata/v1\b",
        targets=_VALUES,
        confidence=0.85,
    ),
    Rule(
        "WH-SSRF-002",
        _SSRF,
        "Non-HTTP URL scheme used for SSRF (gopher, dict, ldap, tftp, sftp, acap, jar, netdoc ...)",
        r"(?:^|[\s=\"'(])(?:gopher|dict|ldaps?|tftp|sftp|acap|jar|netdoc|rmi|iiop|imaps?|pop3s?|smtps?|telnet|"
        r"redis|mysql|postgres(?:ql)?|mongodb|memcached?|ogg|ssh2(?:\.\w{1,10})?|rtsp|fcgi)://",
        targets=_VALUES,
        confidence=0.85,
    ),
    Rule(
        "WH-SSRF-003",
        _SSRF,
        "URL with credentials or fragment confusion aimed at a second host (parser differential)",
        r"(?:^|[\s=\"'])https?://[^/?#\s]{0,100}[#&%][^/?\s]{0,60}@|(?:^|[\s=\"'])https?://[^/?#\s]{1,100}\s@",
        targets=_VALUES,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-SSRF-004",
        _SSRF,
        "Scheme-less loopback or internal host name as a whole parameter value",
        rf"^\s?{_LOOPBACK}(?::\d{{1,5}})?(?:/|$)",
        targets=_VALUES,
        confidence=0.7,
        paranoia=2,
    ),
    Rule(
        "WH-SSRF-005",
        _SSRF,
        "URL host written as an obfuscated IP address (hex, octal, short dotted or IPv4-mapped IPv6)",
        # inet_aton() accepts 0xA9.0xFE.., 0251.0376.., 169.254.43518 and 169.16689662; only SSRF
        # filter evasion writes hosts that way (OWASP SSRF prevention cheat sheet, "bypass" forms)
        r"://(?:[^/?#\s@]{0,80}@)?(?:(?:0x[0-9a-f]{1,16}\.?){1,4}|(?:0[0-7]{1,11}\.){1,3}0?[0-7]{1,11}|"
        r"\d{1,3}(?:\.\d{1,3}){0,2}\.\d{4,10}|\[[0-9a-f:]{0,30}:ffff:[0-9a-f.:]{1,20}\])(?:[:/?#\s]|$)",
        targets=_VALUES,
        confidence=0.8,
    ),
    Rule(
        "WH-RFI-001",
        AttackClass.RFI,
        "Remote URL given to an include-like parameter or ending in '?' (RFI)",
        r"^\s?(?:https?|ftps?)://[^\s]{1,300}\?{1,3}\s?$|^\s?(?:https?|ftps?)://\d{1,3}(?:\.\d{1,3}){3}(?:[:/]|$)|"
        r"(?:^|[\s=\"'(])(?:https?|ftps?)://[^\s?]{1,200}\.(?:txt|php\d?|phtml|inc|jpg|gif)\?{1,2}\s?$",
        targets=_VALUES,
        confidence=0.8,
    ),
    Rule(
        "WH-RFI-002",
        AttackClass.RFI,
        "Off-site URL in a parameter (RFI reference; paranoid)",
        r"^\s?(?:url:)?(?:https?|ftps?|file|ldap)://[a-z0-9.-]{1,200}",
        targets=_VALUES,
        confidence=0.6,
        paranoia=3,
    ),
    Rule(
        "WH-SSRF-006",
        _SSRF,
        "URL whose host is an IPv6 literal, a bare integer or dotted-octal address, or a container-internal name",
        # CWE-918 / CAPEC-664: allow-lists compare host strings, so attackers spell the loopback or the
        # metadata address as http://[::ffff:a9fe:a9fe], http:2852039166 or 0251.0376.0251.0376, or use
        # names that resolve inside a container platform (host.containers.internal, kubernetes.docker.internal)
        r"\b(?:https?|ftp|local_file):/{0,2}\[[0-9a-z:.%]{2,60}\]|"
        r"\b(?:https?|ftp|local_file):/{0,2}(?:\d{8,10}|0x[0-9a-f]{8}|0[0-7]{1,4}(?:\.0[0-7]{1,4}){3})\b|"
        r"(?:^|[\s=/\"'@])(?:host\.containers\.internal|kubernetes(?:\.default\.svc\.cluster\.local|\.docker\.internal)|"
        r"localhost\.localdomain|localhost[46](?:\.localdomain[46])?|lvh\.me)\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
)
