"""Smaller techniques: shell word-gluing, brace and tilde expansion, remote references, hidden hosts,
sensitive system paths anywhere in a request, ORM lookups and script probes.

Written for Watchhouse from the techniques (each rule cites its CWE/CAPEC). They are grouped here
because each is one or two shapes, too few for a module of their own.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target

_C = AttackClass.CMDI
_VALUES = frozenset({Target.QUERY, Target.BODY, Target.HEADERS})
_EVERYWHERE = frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT, Target.REFERRER})
#: what a raw (still encoded) value must show for these rules to have a chance, for the prefilter
SYMPTOMS = (
    r"(?:^|=|%3d)(?:~|%7e)(?:[+-]|%2b|%2d|[0-9])|(?:/|%2f)(?:sys|proc)(?:/|%2f)|etc(?:/|%2f)sub[ug]id|"
    r"\.(?:ssh|aws|docker|kube|gnupg)(?:/|%2f)|\.sql\.|debug\.log|errors?\.log|\.(?:bash_|zsh_|mysql_|psql_|sh_)?history|"
    r"(?:^|=|%3d)(?:url|jar|local_file)(?::|%3a)|ftps?(?::|%3a)|(?:^|=|%3d)(?:https?|ftps?|file)(?:\?|%3f)(?:&|$)|"
    r"(?:https?|ftp|gopher)(?::|%3a)(?:/|%2f)?[0-9]|(?::|%3a)[0-9]{2,5}(?:/|%2f|$)|lvh\.me|containers\.internal|"
    r"metadata\.|__(?:i?startswith|i?endswith|i?contains|i?exact|i?regex|search|isnull|gte?|lte?|range|has_keys?|"
    r"has_any_keys|contained_by|overlap)|!entity|-->|--%3e|java\.|(?:\.\.|%2e%2e)(?:%5c|\\|;)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-CMDI-018",
        _C,
        "Command word glued with empty substitutions or special parameters (c$@at, pi``ng, una$$me)",
        # CAPEC-88 filter evasion: "$@", "$*", "$!", "$_", "$$", "``" and "$()" expand to nothing (or a
        # number) inside a word, so the shell still runs "cat" while a word filter sees "c$@at"
        r"[a-z](?:``|\$\(\)|[<>]\(\)|\$[@*!?_$#-]|\$\{[a-z_]{0,10}\})[a-z/]|[a-z](?:``|\$\(\))\s|"
        r"[a-z]\$[a-z]{1,2}[\s+/]\S{0,20}/",
        targets=_EVERYWHERE,
        confidence=0.75,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-019",
        _C,
        "Shell function defined to call itself in the background (fork bomb)",
        # CWE-400 through CWE-78: "f(){ f|f& };f" and renamed variants exhaust the process table
        r"(?:^|[\s;|&])[\w.]{1,20}\s?\(\)\s?\{\s?[\w.]{1,20}\s?[|&]",
        targets=_EVERYWHERE,
        severity=Severity.CRITICAL,
        confidence=0.85,
        paranoia=2,
        crime=CrimeCode.SYSTEM_INTERFERENCE,
    ),
    Rule(
        "WH-CMDI-020",
        _C,
        "Shell brace expansion spelling a command ({,ip,a}, {l,-lh}s, c{a,oun}t, {id,})",
        # CAPEC-88: bash expands "{,ip,a}" to "ip a" and "c{a,oun}t" to "cat count"; an empty element
        # or a brace glued between letters is shell syntax, not a template placeholder
        r"\{,[^{}\s]{1,60}\}|\{[^{}\s,]{1,40},\}|[a-z]\{[a-z-]{1,10},[a-z-]{1,10}\}[a-z]|\{[a-z]{1,10},-[a-z]{1,5}\}",
        targets=_VALUES,
        confidence=0.75,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-021",
        _C,
        "Whole value is a shell tilde expansion (~+, ~-, ~-1: working directories)",
        # CAPEC-88: "~+" and "~-" expand to $PWD and $OLDPWD, "~-1" to the directory stack
        r"^\s?~(?:[+-]\d{0,3}|\d{1,3})\s?$",
        targets=_VALUES,
        severity=Severity.MEDIUM,
        confidence=0.7,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-022",
        _C,
        "SQLite shell dot-command after a separator (.shell, .system, .databases)",
        # CWE-78 via the sqlite3 command-line shell: ".shell CMD" and ".system CMD" run programs
        r"[;\n]\s?(?:\\n)?\s?['\"]?\s?\.\s?\\?['\"]?\s?(?:shell|system|sh|databases|tables|schema|import|output|once|"
        r"load|dump|read)\b",
        targets=_VALUES,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-023",
        _C,
        "Value starting with a bash function definition '() {' (Shellshock, CVE-2014-6271)",
        # CVE-2014-6271: bash imports any environment value that starts with "() {" as a function
        r"^\s?\(\)\s?\{",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.9,
        paranoia=1,
    ),
    Rule(
        "WH-RFI-003",
        AttackClass.RFI,
        "Remote reference with a tell: credentials before the host, a port, an ftp or jar: URL, url:/local_file:",
        # CWE-98 / CAPEC-193: "http://example.com%2f@evil.com/" (the host is evil.com), "jar:http://x/b.zip!a",
        # "url:file://", "local_file://"; a plain https:// link stays at paranoia 3 (WH-RFI-002)
        r"^\s?(?:url:|jar:)[a-z]{2,10}:|^\s?local_file:|^\s?(?:ftps?|https?)://[^/?#\s]{0,100}@|"
        r"^\s?ftps?://[a-z0-9]|^\s?https?://[^/?#\s:@]{1,100}:\d{2,5}(?:[/?#]|$)|^\s?(?:https?|ftps?|file)\?$",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-RFI-004",
        AttackClass.RFI,
        "URL embedded in the request path (paranoid: open proxies and RFI through path segments)",
        r"/(?:https?|ftps?)://[a-z0-9.-]{3,}",
        targets=frozenset({Target.PATH}),
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-SSRF-007",
        AttackClass.SSRF,
        "URL host spelled to dodge an allow-list (scheme without slashes, numeric or ideographic dots, backslashes)",
        # CWE-918 / CAPEC-664: "http:2852039166", "http:/0251.0376.0251.0376",
        # "http://\\l\\o\\c\\a\\l\\h\\o\\s\\t/", "http://a:80 &@127.0.0.1:22/", cloud metadata host names
        r"^\s?(?:https?|ftp|gopher):/?(?:\d{8,10}\b|0\d{1,3}\.0\d{1,3}\.|0x[0-9a-f]{8}\b|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})|"
        r"://(?:\\{1,2}[a-z0-9.]){4,40}|://[^/\s]{1,100}(?:\s&?|&)@|"
        r"\blvh\.me\b|host\.containers\.internal|metadata\.packet\.net|metadata\.google\.internal|"
        r"^\s?data:[a-z]{2,12}/[\w.+-]{2,40}(?:[;,]|$)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-PATH-008",
        AttackClass.PATH_TRAVERSAL,
        "Absolute path to a system file or secret anywhere in the request (agent, referrer, headers too)",
        # CWE-22 / CAPEC-126: process, kernel and credential files read through any echoed or logged
        # value: "/proc/self/environ", "/etc/subuid", "/root/.ssh/id_rsa", "/root/.aws/credentials"
        r"(?:^|[\s=:'\"/>])/?(?:etc/(?:passwd|shadow|group|gshadow|sudoers|subuid|subgid|crontab|fstab|issue|"
        r"master\.passwd)\b|proc/(?:self|\d{1,7})/(?:environ|cmdline|maps|fd|status|mounts)|proc/(?:interrupts|"
        r"cpuinfo|meminfo|version|mounts|net/|sys/kernel)|sys/(?:class|kernel|devices|firmware)\b|"
        r"(?:root|home/[\w.-]{1,32})/\.(?:ssh|aws|docker|kube|gnupg)/|\.ssh/(?:id_[a-z0-9]{2,10}|authorized_keys)\b|"
        r"\.docker/secrets|\.aws/credentials)",
        targets=_EVERYWHERE,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-PATH-009",
        AttackClass.PATH_TRAVERSAL,
        "Probe for a database dump, debug log or shell history file",
        # CWE-530 / CWE-532: dumps and logs left in web roots ("backup.sql.zip", "/wp-content/debug.log",
        # "../.history"); redirection into /tmp (">/tmp/x") writes one
        r"\.sql\.(?:zip|gz|bz2|tar|7z|xz)\b|/wp-content/(?:debug|errors?)\.log\b|"
        r"(?:^|/)\.{0,2}/?\.(?:history|bash_history|zsh_history|mysql_history|psql_history|sh_history)\b|"
        r"^\s?>\s?/tmp/|\.\.\\\w|\.\.;",
        targets=frozenset({Target.QUERY, Target.BODY, Target.PATH}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-XSS-014",
        AttackClass.XSS,
        "Whole value calls a browser dialog or codec (alert(), prompt(), atob()), or sets document/window state",
        # CWE-79: probes that check whether a value reaches a script context; "window.location=",
        # "document.querySelector(" write to the page
        r"^\s?(?:alert|prompt|confirm|atob|btoa|print)\s?\(\s?(?:\)|['\"`\d]|document\b|window\b)|\b(?:document|window)\.[a-z]{2,30}(?:\.[a-z]{2,30}){0,3}"
        r"\s?(?:=|\()",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.7,
        paranoia=2,
    ),
    Rule(
        "WH-XSS-015",
        AttackClass.XSS,
        "XML entity declaration in a value (<!ENTITY x SYSTEM ...)",
        # CWE-611 / CAPEC-201 external entities; CWE-79 when the entity lands in a page
        r"!entity\s{0,5}%?\s{0,5}[\w.-]{1,40}\s{1,5}(?:system|public)\b",
        targets=_EVERYWHERE,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-XSS-016",
        AttackClass.XSS,
        "HTML comment terminator in a value (paranoid: breaks out of a comment context)",
        r"-->",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-039",
        AttackClass.SQLI,
        "ORM lookup chained across relations in a parameter or JSON key (user__profile__icontains)",
        # CWE-943: Django-style filters built from request keys let a client walk relations and match
        # on fields it should never see (password hashes, staff flags)
        r"^[a-z_]\w{0,40}__[a-z_]\w{0,40}__(?:\w{1,40}__){0,5}(?:i?startswith|i?endswith|i?contains|i?exact|i?regex|"
        r"search|isnull|gte?|lte?|in|range|has_keys?|has_any_keys|contained_by|overlap)$",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-040",
        AttackClass.SQLI,
        "ORM lookup operator in a parameter or JSON key (paranoid: password__isnull, balance__gte)",
        r"^[a-z_]\w{0,40}__(?:i?startswith|i?endswith|i?contains|i?exact|i?regex|search|isnull|gte?|lte?|range|"
        r"has_keys?|has_any_keys|contained_by|overlap)$",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-JAVA-006",
        AttackClass.CODE_INJECTION,
        "Java class path ending in a process, reflection or class-loading class (java.x.Runtime)",
        # CWE-470 / CWE-502: an expression or deserialiser that resolves "java.lang.Runtime" can run programs
        r"\bjava\.(?:[a-z_$][\w$]{0,30}\.){0,4}(?:runtime|processbuilder|classloader|urlclassloader|"
        r"scriptenginemanager|reflect|method|unsafe)\b",
        targets=_EVERYWHERE,
        confidence=0.75,
        paranoia=2,
    ),
    Rule(
        "WH-PROTO-009",
        AttackClass.PROTOCOL,
        "Line break followed by a header or parameter name inside a query parameter (header injection)",
        # CWE-113 / CAPEC-105: "%0d%0aRemote-addr: x" in a value or name a server copies into headers, or
        # "test%0Dnext=more" that a parser splits into a second parameter
        r"[\r\n]\s?[a-z][\w-]{0,40}\s?[:=]",
        targets=frozenset({Target.QUERY}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-XSS-017",
        AttackClass.XSS,
        "Parameter that is an event-handler attribute with its '=' (\"  onload= \")",
        # CWE-79: a name or value that ends in "onX=" becomes an attribute where the page echoes it
        r"(?:^|\s)on[a-z]{3,40}\s?=\s?$",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
)
