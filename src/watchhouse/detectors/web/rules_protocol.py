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
        r"(?:^|[\r\n])\s?(?:get|post|put|delete|head|options|patch|connect|trace)\s/[^\s]{0,500}\shttp/\d(?:\.\d)?\s?[\r\n]",
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
        r"continue|windsurf|copilot)(?:/|\.|$)|/\.aider\.|/_ignition/execute-solution|/solr/admin/cores\?|"
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
)
