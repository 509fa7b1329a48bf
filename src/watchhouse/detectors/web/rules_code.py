"""Server-side code injection: PHP, Java, Node.js, Perl, template engines, JNDI and deserialisation.

Written for Watchhouse from public descriptions of each technique (cited per rule). What these
payloads share is that they only make sense to an interpreter on the server: a PHP open tag, a
Java class that spawns processes, a serialised-object magic number, a JNDI lookup, a template
expression that evaluates arithmetic or reaches the runtime. Broad forms (any Java class name, any
base64 that decodes to a gadget name) sit at higher paranoia levels.
"""

from __future__ import annotations

import base64
import re

from watchhouse.core.findings import Severity
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target, View

_CODE = AttackClass.CODE_INJECTION
_DESER = AttackClass.DESERIALIZATION
_PARAMS_AND_HEADERS = frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT, Target.PATH})
# Commons-Collections / Groovy gadget-chain class names used by ysoserial-style payloads (CVE-2015-4852)
_GADGETS = (
    r"(?:invokertransformer|instantiatetransformer|instantiatefactory|clonetransformer|chainedtransformer|"
    r"constanttransformer|forclosure|whileclosure|prototypeclonefactory|prototypeserializationfactory|"
    r"convertedclosure|methodclosure|templatesimpl|annotationinvocationhandler|lazymap|transformedmap)"
)
_PHP_DANGEROUS = (
    r"(?:system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|assert|eval|create_function|"
    r"call_user_func(?:_array)?|preg_replace|base64_decode|str_rot13|gzinflate|gzuncompress|fsockopen|"
    r"pfsockopen|file_put_contents|file_get_contents|fopen|readfile|move_uploaded_file|phpinfo|unserialize|"
    r"include|require|include_once|require_once|highlight_file|show_source|posix_\w{3,20}|ini_set|putenv)"
)

#: Names whose base64 form betrays a serialised Java payload or a process call hidden from word
#: filters (ysoserial gadget chains, Runtime.exec; CVE-2015-4852 and kin). Each is written in the
#: casing it has in Java source, and cut by one character at each end, because a decode at the
#: wrong alignment garbles the first and last byte.
BASE64_FRAGMENTS: tuple[str, ...] = (
    "nvokerTransforme",
    "nstantiateTransforme",
    "nstantiateFactor",
    "loneTransforme",
    "hainedTransforme",
    "orClosur",
    "hileClosur",
    "rototypeCloneFactor",
    "rototypeSerializationFactor",
    "emplatesImp",
    "rocessBuilde",
    "etRuntim",
    "untim",
    "lassLoade",
    "ava.lang.",
    "avax.",
    "rg.apache.common",
)


def _cores(fragment: bytes) -> set[str]:
    """The base64 characters that encode ``fragment`` whatever precedes it, at each alignment.

    A byte string starting at offset 0, 1 or 2 of a 3-byte group is encoded into characters of
    which only those wholly inside its bits are fixed; those "cores" occur in any base64 text
    that carries the fragment, which lets a plain substring search find encoded payloads.
    """
    out: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + fragment).decode()
        first, last = (8 * shift + 5) // 6, (8 * (shift + len(fragment))) // 6
        out.add(encoded[first:last])
    return out


def base64_symptom() -> str:
    """A case-insensitive regex matching the encoded forms of :data:`BASE64_FRAGMENTS`.

    Used by the prefilter, so WH-JAVA-004 can run at the default level without letting every long
    token through. Covers each fragment as written, in lower case, in upper case and capitalised,
    in both the standard and the URL-safe alphabet; an encoding of some other casing is missed.
    """
    cores: set[str] = set()
    for fragment in BASE64_FRAGMENTS:
        for variant in {fragment, fragment.lower(), fragment.upper(), fragment[:1].upper() + fragment[1:]}:
            cores |= _cores(variant.encode())
    escaped = (re.escape(c).replace("\\+", "[+-]").replace("/", "[/_]") for c in sorted(cores))
    return "(?:" + "|".join(escaped) + ")"


RULES: tuple[Rule, ...] = (
    Rule(
        "WH-JNDI-001",
        AttackClass.JNDI,
        "JNDI lookup in a value (Log4Shell, CVE-2021-44228)",
        # ${jndi:ldap://...}; also nested-lookup obfuscation ${${::-j}ndi:...} and ${${lower:j}ndi:...}
        r"\$\{\s?jndi\s?:|\$\{[^}]{0,80}\}\s?\{?\s?jndi\s?:|\$\{(?:\$\{[^}]{0,40}(?::-|lower:|upper:)\s?[jndi]\s?\}){2}|"
        r"\$\{\s?(?:j|\$\{[^}]{0,40}\})(?:n|\$\{[^}]{0,40}\})(?:d|\$\{[^}]{0,40}\})(?:i|\$\{[^}]{0,40}\})\s?:",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.95,
    ),
    Rule(
        "WH-JNDI-002",
        AttackClass.JNDI,
        "Log4j lookup of environment or system properties (data exfiltration via Log4Shell)",
        r"\$\{\s?(?:env|sys|java|lower|upper|date|main|ctx|spring|docker|k8s|log4j|base64|web|bundle|jvmrunargs)\s?:"
        r"[^}]{0,200}\}",
        targets=ANY_TARGET,
        severity=Severity.HIGH,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-001",
        _CODE,
        "PHP open tag or short echo tag in a parameter",
        r"<\?(?:php|=)|<\?\s|\[php\]",
        targets=_PARAMS_AND_HEADERS,
        confidence=0.85,
    ),
    Rule(
        "WH-PHP-002",
        _CODE,
        "Call of a high-risk PHP function (code execution, file access, obfuscation)",
        rf"(?:^|[^a-z0-9_]){_PHP_DANGEROUS}\(|\(\s?['\"]{_PHP_DANGEROUS}['\"]\s?\)\s?\(",
        targets=ANY_TARGET,
        confidence=0.8,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-003",
        _CODE,
        "PHP variable function call or superglobal access ($x(...), ${'a'}(...), $_GET[...])",
        r"\$\s?(?:\{[^}]{0,40}\}|[a-z_][a-z0-9_]{0,30}|_{1,3}\[[^\]]{0,20}\])\s?\(\s?[\w'\"$]|"
        r"\$_(?:get|post|request|cookie|server|files|env|session)\s?\[",
        targets=_PARAMS_AND_HEADERS,
        confidence=0.8,
    ),
    Rule(
        "WH-PHP-004",
        _DESER,
        "PHP serialised object (object injection via unserialize)",
        r"(?:^|[;{\s=])o\s?:\s?\+?\d{1,4}\s?:\s?\"[a-z_\\][\w\\]{0,100}\"\s?:\s?\d{1,4}\s?:\s?\{",
        targets=ANY_TARGET,
        confidence=0.9,
    ),
    Rule(
        "WH-PHP-005",
        _CODE,
        "PHP configuration directive that loads or allows code (auto_prepend_file, allow_url_include)",
        r"\b(?:auto_(?:pre|ap)pend_file|allow_url_include|allow_url_fopen|disable_functions|open_basedir|"
        r"safe_mode|suhosin\.\w{1,30})\s?=",
        targets=ANY_TARGET,
        confidence=0.85,
    ),
    Rule(
        "WH-JAVA-001",
        _CODE,
        "Java process, reflection or I/O class in a value (Runtime, ProcessBuilder, java.io.*)",
        r"\bjava\.lang\.(?:runtime|processbuilder|process|reflect|classloader|system|thread)\b|"
        r"\b(?:runtime\s?\.\s?getruntime|processbuilder|scriptenginemanager|urlclassloader|"
        r"getdeclaredmethod|defineclass|newinstance)\b|\bjavax\.script\.|"
        r"\bjava\.(?:io|net|nio|rmi|util\.zip|beans)\.[a-z]|\bjavax\.(?:naming|management)\.|\bsun\.misc\.|\bcom\.sun\.|"
        r"\borg\.(?:apache\.commons|springframework|codehaus\.groovy|omg\.corba|mozilla\.javascript|hibernate)\b|"
        # Struts 2 OGNL payloads reach the value stack through xwork2 classes (CVE-2017-5638 and kin)
        r"\bcom\.opensymphony\.xwork2\b|\bjava\.lang\.(?:class|object|string(?:builder|buffer)?|integer|number)\b",
        targets=ANY_TARGET,
        confidence=0.85,
    ),
    Rule(
        "WH-JAVA-002",
        _DESER,
        "Java deserialisation gadget chain name (ysoserial / Commons Collections, CVE-2015-4852)",
        rf"\b{_GADGETS}\b|\b(?:processbuilder|runtime)\s?\.\s?\w{{0,30}}\s?\.?\s?{_GADGETS}",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.9,
    ),
    Rule(
        "WH-JAVA-003",
        _DESER,
        "Java serialised object magic bytes, as hex or base64 (aced0005 / rO0AB)",
        # the base view is lower case: "rO0AB" reads "ro0ab"; "KztAAU"/"Cs7QAF" are the other alignments
        # token boundary includes the URL-safe alphabet: "..._ks7qa..." inside an fbclid is not a start
        r"(?:^|[^a-z0-9+/_-])(?:ro0ab|ks7qa|kztaa|cs7qa)|\baced0005\b|\\xac\\xed\\x00\\x05",
        targets=ANY_TARGET,
        confidence=0.85,
        paranoia=2,
    ),
    Rule(
        "WH-JAVA-004",
        _DESER,
        "Base64 text that decodes to a Java gadget, process or reflection name",
        # a misaligned decode loses a character at each end of the name, so fragments are matched.
        # Default level since the prefilter learned the names' encoded forms (base64_symptom): a
        # random token decodes to one of these 5-16 byte names with negligible probability.
        # the view may garble one more byte at the front (the token's first quantum straddles two
        # characters), so long fragments are matched from their third character on
        "|".join(re.escape(f.lower()[1:] if len(f) >= 10 else f.lower()) for f in BASE64_FRAGMENTS),
        targets=ANY_TARGET,
        confidence=0.8,
        view=View.BASE64,
        paranoia=2,
    ),
    Rule(
        "WH-JAVA-005",
        _CODE,
        "OGNL / Spring expression reaching the runtime (Struts2 CVE-2017-5638, Spring4Shell CVE-2022-22965)",
        r"%\{[^}]{0,200}(?:#_memberaccess|@java\.|#context|getruntime|\.exec\s?\()|"
        r"#_memberaccess|@java\.lang\.|\bclass\.module\.classloader\b|\bt\s?\(\s?java\.lang\.\w{1,30}\s?\)",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.9,
    ),
    Rule(
        "WH-NODE-001",
        _CODE,
        "Node.js code injection (child_process, process.mainModule, node-serialize function, CVE-2017-5941)",
        r"\brequire\s?\(\s?['\"`]child_process['\"`]|\bchild_process\b[^;]{0,40}\.(?:exec|spawn|fork)|"
        r"\bprocess\s?\.\s?(?:mainmodule|binding\s?\(|kill\s?\()|_\$\$nd_func\$\$_|"
        r"\bglobal\s?\.\s?process\b|\bthis\s?\.\s?constructor\s?\.\s?constructor\s?\(|"
        r"\bfunction\s?\(\s?\)\s?\{\s?return\s?process",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.9,
    ),
    Rule(
        "WH-NODE-002",
        _CODE,
        "JavaScript prototype pollution (__proto__ / constructor.prototype)",
        r"__proto__|\bconstructor\s?(?:\.|\[\s?['\"]?)\s?prototype\b",
        targets=ANY_TARGET,
        confidence=0.85,
    ),
    Rule(
        "WH-NODE-003",
        _CODE,
        "JavaScript denial-of-service loop (while(Infinity), for(;;)) in a parameter",
        r"\bwhile\s?\(\s?(?:[+!-]{0,4}\s?infinity|!\s?-?\s?0|1|true|!\s?\[\s?\])\s?\)|\bfor\s?\(\s?;\s?;\s?\)",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.85,
        crime=CrimeCode.SYSTEM_INTERFERENCE,
    ),
    Rule(
        "WH-NODE-004",
        _CODE,
        "JavaScript function constructor or module export in a value (node-serialize / vm sandbox escapes)",
        # node-serialize marks functions with _$$ND_FUNC$$_ / __js_function (CVE-2017-5941); new Function(...)
        # and this.constructor.constructor build code from strings; module.exports rewrites a loaded module
        r"__js_function\b|\bnew\sfunction\s?\(|\bfunction\s?\(\s?\)\s?\{|\bthis\s?\.\s?constructor\s?\.\s?constructor\b|"
        r"\bmodule\s?\.\s?exports\s?=",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-PERL-001",
        _CODE,
        "Perl code injection (@{[ system ... ]}, qx{})",
        r"@\s?\{\s?\[\s?(?:system|exec|qx|open|eval|`)|\bqx\s?[{(/|]",
        targets=ANY_TARGET,
        confidence=0.85,
    ),
    Rule(
        "WH-SSTI-001",
        AttackClass.TEMPLATE,
        "Server-side template expression reaching the runtime (Jinja2, Twig, Freemarker, Velocity)",
        r"\{\{[^}]{0,200}(?:__class__|__mro__|__subclasses__|__globals__|__builtins__|__import__|config\.items|"
        r"request\.application|self\._templatereference|lipsum\.|cycler\.|joiner\.|_self\.env|"
        r"registerundefinedfiltercallback)|<#assign[^>]{0,100}(?:freemarker\.template\.utility\.execute|new\s?\()|"
        r"#set\s?\(\s?\$\w{1,30}\s?=[^)]{0,100}(?:getclass|forname|runtime)|\$class\.inspect",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.9,
    ),
    Rule(
        "WH-SSTI-002",
        AttackClass.TEMPLATE,
        "Template arithmetic probe ({{7*7}}, ${7*7}, #{7*7}, <%= 7*7 %>)",
        r"(?:\{\{|\$\{|#\{|<%=|\{%|\[\[)\s?\d{1,6}\s?[+*]\s?['\"]?\d{1,6}['\"]?\s?(?:\}|%>|%\}|\]\])",
        targets=ANY_TARGET,
        confidence=0.8,
    ),
    Rule(
        "WH-PERL-002",
        _CODE,
        "Perl array interpolation @{[ ... ]} (any code inside runs when the string is interpolated)",
        # CWE-94: "@{[ expr ]}" evaluates expr inside a double-quoted Perl string; WH-PERL-001 names the
        # dangerous calls, this one the construct, which has no other use in a request value
        r"@{1,4}\s{0,10}\{\s{0,10}\[",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-NODE-005",
        _CODE,
        "Node.js globals reached from a value (process.env, process[..], console.x(, require.main, readdirSync)",
        # CWE-94 server-side JavaScript injection: the first step of an eval()/vm escape is to touch the
        # process object, the module loader or the console; React Server Components "$1:constructor"
        # references (CVE-2025-55182) walk to the same place
        r"\bprocess\s?(?:\.\s?(?:env|mainmodule|argv|exit|cwd)\b|\[\s?['\"`]?(?:env|mainmodule|binding|req\.))|"
        r"\bconsole\s?(?:\.\s?(?:log|info|warn|error|debug|dir|trace)\s?[.(]|\[\s?['\"`]\w{1,10}['\"`]\s?\]\s?\()|"
        r"\brequire\s?(?:\.\s?main\b|\[\s?\w)|\.\s?readdirsync\s?\(|\$\d{1,3}:(?:constructor:constructor|module:prototype)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-NODE-006",
        _CODE,
        "JavaScript endless while loop on an always-true operand (while(-1);, while(new Date);)",
        # CWE-835 via eval(): WH-NODE-003 knows the literal forms; any negated, signed or object operand
        # followed by the statement's end is the same denial of service
        r"\bwhile\s?\(\s?(?:[+!-]{1,4}\s?(?:\w{1,12}|\{\s?\}|\[\s?\])|new\s\w{1,20}|this|string|object|\(\s?true\s?\))"
        r"\s?\)\s?\)?\s?(?:;|$)",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
        crime=CrimeCode.SYSTEM_INTERFERENCE,
    ),
    Rule(
        "WH-PHP-006",
        _CODE,
        "PHP variable-variable or complex interpolation (${'name'}, $ {$a}) in a value",
        # CWE-94/CWE-621: "${expr}" makes PHP look up a variable whose name is code; a space between the
        # dollar and the brace is legal PHP and no template or shell syntax
        r"\$\s{0,20}\{\s{0,20}['\"$]|\$\s{1,20}\{\s{0,20}\w{1,40}\s{0,20}\}",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
)
