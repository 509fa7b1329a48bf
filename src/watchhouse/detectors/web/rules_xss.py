"""Cross-site scripting signatures, matched on the base view (URL/HTML/Unicode decoded, lower case).

Each rule looks for something a browser would *execute*: a script element, an event-handler
attribute, a script-bearing URI scheme, an active element (svg, iframe, object ...), DOM access
to cookies, or a dialog call right after a context break-out. Plain angle brackets ("<3 cats"),
the word "script" and "JavaScript: The Good Parts" are not enough.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import ANY_TARGET, PAYLOAD_TARGETS, AttackClass, Rule, Target, View

_X = AttackClass.XSS
_EVENTS = (
    r"(?:abort|activate|afterprint|afterscriptexecute|animation\w{0,10}|auxclick|beforecopy|beforecut|beforepaste|"
    r"beforeprint|beforeunload|begin|blur|bounce|canplay\w{0,10}|change|click|close|contextmenu|copy|cuechange|cut|"
    r"dblclick|drag\w{0,6}|drop|durationchange|end|ended|error|finish|focus\w{0,4}|formchange|forminput|"
    r"fullscreenchange|hashchange|input|invalid|key(?:down|press|up)|load\w{0,10}|message|mouse\w{1,6}|"
    r"mozfullscreenchange|offline|online|pagehide|pageshow|paste|pause|play\w{0,4}|pointer\w{1,10}|popstate|"
    r"progress|propertychange|readystatechange|repeat|reset|resize|scroll\w{0,4}|search|seek\w{1,3}|select\w{0,6}|"
    r"show|start|storage|submit|suspend|timeupdate|toggle|touch\w{1,6}|transition\w{1,6}|unload|volumechange|"
    r"waiting|webkit\w{1,30}|wheel|zoom|filterchange|datasetchanged|rowenter|rowexit|"
    r"moveend|movestart|losecapture|help|errorupdate|dataavailable|cellchange|bounce)"
)
_JS_SCHEME = r"(?:(?:j\s?a\s?v\s?a|v\s?b|l\s?i\s?v\s?e)\s?s\s?c\s?r\s?i\s?p\s?t|m\s?o\s?c\s?h\s?a)\s?:"
_BREAKOUT = r"""(?:['"`>;]|\)|\*/|-->|</\w{1,10}>)"""

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-XSS-001",
        _X,
        "Script element",
        r"<\s?/?\s?script\b|<\s?script\s?>|\+adw-script",
        targets=ANY_TARGET,
        confidence=0.95,
    ),
    Rule(
        "WH-XSS-002",
        _X,
        "Event-handler attribute injected",
        rf"""(?:^|[\s"'/;<>`]|<\w{{1,20}}[^>]{{0,200}}?)\bon{_EVENTS}\s?=\s?['"`]?\s?[\w.$\[({{`!-]""",
        confidence=0.9,
    ),
    Rule(
        "WH-XSS-003",
        _X,
        "Script-bearing URI scheme (javascript:, vbscript:)",
        rf"""(?:(?:href|src|action|formaction|data|xlink:href|background|dynsrc|lowsrc|url)\s?[=(]\s?['"`]?\s?{_JS_SCHEME}|"""
        rf"""(?:^|[\s"'=(`]){_JS_SCHEME}\s?(?:[\w.$\[\]]{{1,40}}\s?[(=`]|/[/*]|%|void\b|\[))""",
        targets=PAYLOAD_TARGETS | {Target.REFERRER},
        confidence=0.9,
    ),
    Rule(
        "WH-XSS-004",
        _X,
        "Active HTML element (svg, iframe, object, embed, meta refresh, base ...)",
        r"<\s?(?:svg|math|iframe|frame|frameset|object|embed|applet|base|isindex|xss|xml|import|i?layer\b|\?import|"
        r"\?xml:namespace|html\sxmlns|meta\b[^>]{0,200}?http-equiv|\w{1,30}\b[^>]{0,200}?\bdatasrc\s?=|"
        r"meta\b[^>]{0,200}?(?:refresh|set-cookie|charset=utf-7)|link\b[^>]{0,200}?(?:import|stylesheet)|"
        r"(?:img|image|video|audio|source|input|body|style|div|a|table|td|bgsound|layer|marquee|details|select|"
        r"textarea|keygen|form|button)\b[^>]{0,200}?(?:\bon\w{3,30}\s?=|(?:src|href|background|dynsrc|lowsrc|data|action)"
        r"\s?=\s?['\"`]?\s?(?:javascript|vbscript|data):|\bstyle\s?=[^>]{0,100}?(?:expression|javascript|behaviou?r|binding))|"
        r"\w{1,30}\b[^>]{0,200}?\bstyle\s?=\s?['\"]?[^>]{0,100}?(?:behaviou?r|-moz-binding|binding)\s?:\s?url\s?\(|"
        r"style\b[^>]{0,100}?>[^<]{0,200}?(?:expression\s?\(|javascript:|@import|-moz-binding|alert\s?\())",
        confidence=0.9,
    ),
    Rule(
        "WH-XSS-005",
        _X,
        "DOM access to cookies, document or location",
        r"document\s?\.\s?(?:cookie|domain|write(?:ln)?\s?\(|location|body\.innerhtml)|"
        r"\bwindow\s?\.\s?(?:location|open\s?\()|\blocation\s?\.\s?(?:href|hash|replace)\s?[=(]|"
        r"\bstring\s?\.\s?fromcharcode\s?\(|\b(?:eval|settimeout|setinterval|execscript)\s?\(\s?['\"`(a-z]",
        confidence=0.85,
    ),
    Rule(
        "WH-XSS-006",
        _X,
        "Dialog call (alert/prompt/confirm) after a context break-out",
        rf"""{_BREAKOUT}\s?[;+\-,]?\s?\(?\s?(?:alert|prompt|confirm|print)\s?(?:\(|`)|"""
        r"""<[^>]{0,200}?\b(?:alert|prompt|confirm)\s?(?:\(|`)|\b(?:alert|prompt|confirm)\s?\(\s?(?:document\.|"""
        r"""['"`]?xss|\d{1,6}\s?\)|/)|script\s?(?:alert|prompt|confirm)\s?\(|=&\{\(\)\}""",
        confidence=0.85,
    ),
    Rule(
        "WH-XSS-007",
        _X,
        "data: URI carrying HTML or script",
        r"\bdata\s?:\s?(?:text/html|text/javascript|application/(?:x-)?javascript|image/svg\+?\s?xml|"
        r"application/xhtml)[;,]",
        confidence=0.85,
    ),
    Rule(
        "WH-XSS-008",
        _X,
        "JSFuck-style expression built from []()!+ only ((![]+[])[+!+[]], +!![])",
        # CWE-79 obfuscation (CAPEC-86): JavaScript can spell any program with six characters; "![]"
        # or "+[]" followed by an operator never occurs in text ("![](" markdown images are excluded)
        r"[!+]\s?\[\s?\]\s?(?:[+)\]]|$)|\(\s?!\s?\[\s?\]",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.8,
    ),
    Rule(
        "WH-XSS-009",
        _X,
        'Browser global reached by bracket or comment-split property access (window["alert"], document/**/.cookie)',
        # CWE-79 filter evasion: document["cookie"], self["\\x24"], (document)["cookie"]; matched on the
        # comment-free view, so "document /*x*/ . cookie" reads as a property access
        r"\b(?:document|window|self|top|parent|frames|globalthis)\s?\)?\s?(?:\[\s?['\"`]|\.\s?cookie\b)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.8,
        view=View.SQL,
    ),
    Rule(
        "WH-XSS-010",
        _X,
        "Tagged-template call without parentheses ([].sort.call`${alert}`, Reflect.apply.call``)",
        # CWE-79: a tagged template calls a function with no "(", defeating filters that look for alert(
        r"\.\s?(?:call|apply|bind)\s?`|`\s?\$\{\s?(?:alert|eval|prompt|confirm|navigation|top|self|window)\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.8,
        view=View.SQL,
    ),
    Rule(
        "WH-XSS-011",
        _X,
        "Obfuscated script URL or style binding (ja&tab;vascript, -moz-binding, url(javascript), expression(alert)",
        # CWE-79 / CAPEC-86: browsers drop tabs and newlines inside a URL scheme and HTML5 names them
        # &Tab; and &NewLine;; old engines ran XBL (-moz-binding) and javascript: URLs from CSS
        # (entity names in lower case: decoding resolves only the exact HTML5 spellings &Tab; / &NewLine;)
        r"[a-z](?:&(?:tab|newline);){1,4}[a-z]"
        r"|-moz-binding\s?:|:\s?url\s?\(\s?['\"]?\s?javascript\b|\bexpression\s?\(\s?(?:alert|eval)\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.REFERRER}),
        confidence=0.85,
    ),
    Rule(
        "WH-XSS-012",
        _X,
        "Legacy or namespaced active markup (VML <v:vmlframe>, XInclude <xi:include>, spaced tag name < f o r m)",
        # CWE-79/CWE-611: IE's VML frames and XInclude pull in remote documents; a tag name spelled with
        # spaces between its letters targets parsers that strip whitespace
        r"<\s?\w{0,10}:\s?(?:vmlframe|include|script)\b|\bvmlframe\s|xmlns:\w{1,10}\s?=\s?['\"]https?://www\.w3\.org/2001/xinclude|"
        r"<\s?(?:[a-z]\s){3,10}[a-z]?\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.REFERRER}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-XSS-013",
        _X,
        "US-ASCII high-bit encoding of a tag (\\xbcscript\\xbe: 0xBC/0xBE read as < and > with bit 7 dropped)",
        # CVE-2006-4484-class "US-ASCII XSS": some servers strip the high bit, turning ¼ and ¾ into < and >
        r"\\x(?:[cd][0-9a-f]\\x)?bc/?[a-z]{1,12}\\x(?:[cd][0-9a-f]\\x)?be",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.85,
    ),
)
