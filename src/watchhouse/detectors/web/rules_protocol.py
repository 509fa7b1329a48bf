"""HTTP protocol abuse, LDAP injection, session fixation and probes of known vulnerable paths.

Protocol rules look at what a legitimate client never sends: CR/LF inside a header or parameter
(response splitting / header injection, CWE-113), a second request line in a body (request
smuggling, the CL.TE / TE.CL family described by Watchfire 2005 and Kettle 2019), method-override
parameters that turn a POST into DELETE, obsolete ``Request-Range`` headers (Apache range DoS,
CVE-2011-3192). LDAP injection closes a filter and adds a wildcard clause. Vulnerable-path rules
name files whose mere request is an exploit attempt (CVE ids cited inline).
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, Rule, Target

_P = AttackClass.PROTOCOL
_V = AttackClass.VULN_PATH

#: what a raw path must show for the agent-configuration probes of WH-VULN-001, for the prefilter
SYMPTOMS = (
    r"/\.(?:roo|zed|cline|rovodev|opencode|a0proj|plandex|fabric|n8n|junie|gemini|qodo|augment|tabnine|codeium|"
    r"amazonq|goose)(?:/|\.|$)|/\.(?:aiignore|cursorignore|cursorrules|clinerules|windsurfrules|aiderignore)$"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-PROTO-001",
        _P,
        "CR/LF followed by a header or status line (HTTP response splitting / header injection)",
        r"[\r\n]\s?(?:set-cookie|location|content-(?:type|length)|transfer-encoding|x-[a-z-]{1,30}|refresh|host)\s?:|"
        r"[\r\n]\s?http/\d\.\d\s\d{3}",
        targets=frozenset({Target.QUERY, Target.PATH, Target.HEADERS, Target.BODY}),
        confidence=0.85,
    ),
    Rule(
        "WH-PROTO-002",
        _P,
        "Embedded second HTTP request (request smuggling)",
        # origin-form ("GET / HTTP/1.1") or absolute-form ("GET http://host/ HTTP/1.1") request line after a
        # line break, or a whole request line as the value
        r"(?:^|[\r\n])\s?(?:get|post|put|delete|head|options|patch|connect|trace)\s(?:/|https?://)[^\s]{0,500}\s"
        r"http/\d(?:\.\d)?\s?(?:[\r\n]|$)",
        targets=frozenset({Target.BODY, Target.HEADERS, Target.QUERY}),
        severity=Severity.HIGH,
        confidence=0.85,
    ),
    Rule(
        "WH-PROTO-003",
        _P,
        "Method override parameter or header (_method / X-HTTP-Method-Override)",
        r"^(?:get|post|put|delete|patch|head|options|trace|connect|propfind|proppatch|mkcol|copy|move|lock|unlock)$",
        targets=frozenset({Target.QUERY, Target.BODY}),
        severity=Severity.MEDIUM,
        confidence=0.6,
        paranoia=3,
    ),
    Rule(
        "WH-PROTO-004",
        _P,
        "Malformed multipart field name or filename (parser confusion, WAF bypass)",
        r"content-disposition\s?:[^\r\n]{0,200}\bname\s?=\s?\"[^\"\r\n]{0,100}[;\\][^\"\r\n]{0,100}\"|"
        r"content-disposition\s?:[^\r\n]{0,200}\bfilename\s?=\s?\"[^\"\r\n]{0,200}\.(?:php\d?|phtml|phar|jsp|jspx|asp|aspx)\.?\"",
        targets=frozenset({Target.BODY}),
        confidence=0.75,
    ),
    Rule(
        "WH-LDAP-001",
        AttackClass.LDAP,
        "LDAP filter break-out adding a clause (e.g. admin)(&(objectclass=*)",
        r"\)\s?\(\s?[|&!]?\s?\(?\s?[a-z][a-z0-9-]{0,30}\s?[~<>]?=\s?[^)]{0,60}\*?|\*\)\s?\(\s?[|&]|"
        r"\)\s?\(\s?[|&!]\s?\(",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.8,
    ),
    Rule(
        "WH-VULN-001",
        _V,
        "Request for a file that exposes secrets or runs code on known-vulnerable software",
        # CVE-2017-9841 phpunit eval-stdin; CVE-2021-41773 Apache cgi-bin traversal; Spring Boot actuators;
        # AI coding assistant configuration (secrets in repos deployed to web roots)
        r"/vendor/phpunit/phpunit/src/util/php/eval-stdin\.php|/cgi-bin/\.%2e/|/cgi-bin/(?:\.\.|%2e%2e)/|"
        r"/actuator/(?:env|heapdump|gateway/routes|jolokia|logfile|threaddump)\b|/\.(?:codex|claude|aider|kiro|cursor|"
        r"continue|windsurf|copilot|roo|zed|cline|rovodev|opencode|a0proj|plandex|fabric|n8n|junie|gemini|qodo|"
        r"augment|tabnine|codeium|amazonq|goose)(?:/|\.|$)|/\.(?:aiignore|cursorignore|cursorrules|clinerules|"
        r"windsurfrules|aiderignore)$|/\.aider\.|/_ignition/execute-solution|/solr/admin/cores\?|"
        r"/wp-content/plugins/[^/]{1,60}/(?:readme\.txt|.{0,40}upload\w{0,20}\.php)|/hnap1/?$|/boaform/|/goform/|"
        r"/console/(?:css|images)/%252e%252e|/manager/html$|/jmx-console/|/invoker/jmxinvokerservlet|/webtools/control/|"
        r"/owa/auth/x\.js|/autodiscover/autodiscover\.json.{0,40}powershell|/mifs/\.;/|/remote/fgt_lang\?lang=/\.\.",
        targets=frozenset({Target.PATH, Target.QUERY}),
        severity=Severity.MEDIUM,
        confidence=0.85,
    ),
    Rule(
        "WH-VULN-002",
        _V,
        "Upload or header naming a server-side script file (.php, .jsp, .asp) to store",
        r"^[^/\\]{0,200}\.(?:php\d?|phtml|phps|phar|pht|jsp|jspx|asp|aspx|cer|asa|shtml|cgi|pl)\.?$",
        targets=frozenset({Target.HEADERS}),
        confidence=0.7,
    ),
    Rule(
        "WH-PROTO-005",
        _P,
        "CR or LF inside the request path (header injection through the request line)",
        # CWE-93/CWE-113: a decoded line break in the path splits the request line when a proxy re-emits
        # it (PHP-FPM PATH_INFO: CVE-2019-11043 used "%0a" in the path); browsers always encode paths
        r"[\r\n]",
        targets=frozenset({Target.PATH}),
        confidence=0.85,
    ),
    Rule(
        "WH-PROTO-006",
        _P,
        "CR or LF in a query value or odd parameter name (response splitting probe)",
        # CWE-113 / CAPEC-34 HTTP response splitting: WH-PROTO-001 knows the classic header names; a bare
        # line break also comes from multi-line fields submitted by GET, so it is a paranoia-3 signal
        # (POST bodies carry textareas and are exempt)
        r"[\r\n]",
        targets=frozenset({Target.QUERY}),
        severity=Severity.MEDIUM,
        confidence=0.6,
        paranoia=3,
    ),
    Rule(
        "WH-PROTO-008",
        _P,
        "Apache mod_proxy unix-socket SSRF (unix:...|http://, CVE-2021-40438)",
        # the "unix:" prefix and an over-long socket path make mod_proxy forward to an attacker's URL
        # (unbounded: the exploit pads the socket path to thousands of characters; a single repeat with a
        # literal after it cannot backtrack badly, and a bounded one would bloat the combined automaton)
        r"\bunix:[^\s|]*\|(?:https?|wss?|ftp)s?:",
        targets=frozenset({Target.QUERY, Target.PATH, Target.BODY}),
        confidence=0.85,
    ),
    Rule(
        "WH-LDAP-002",
        AttackClass.LDAP,
        "LDAP filter closed and a new clause opened ()(|, )&(cn=, *)!(sn=*)",
        # CWE-90 / CAPEC-136: WH-LDAP-001 wants a complete clause; a probe often sends only the joint
        r"\)\s{0,3}[!&|]?\s{0,3}\(\s{0,3}(?:[&|!]|[a-z][\w-]{0,30}\s?[~<>]?=)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        severity=Severity.MEDIUM,
        confidence=0.7,
        paranoia=2,
    ),
)
