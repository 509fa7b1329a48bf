"""Which token shapes are injections: SQL shapes over fingerprints (:mod:`.tokenize_sql`), XSS over tags.

Why rules over shapes rather than a list of exact fingerprints: a list learned from one corpus
(sqlmap's output dominates HttpParamsDataset) remembers that corpus' payloads and misses the next
tool's. Each rule below names one grammatical way a value breaks out of its place in a query, in
the token-class alphabet of :mod:`.tokenize_sql`; they were written by reading the most frequent
fingerprints of the ``sqli`` rows of HttpParamsDataset's *train* file against those of its ``norm``
rows, keeping only shapes no ordinary value had, and are measured on the *test* file.

Quote contexts (``s`` first: the rest of the application's literal) are where most injections
live. In the as-is context a value must show more: ordinary numbers and words start most
ordinary values, so a rule there needs a second structural element (a comparison after a logic
operator, ``union`` before a statement, a statement after ``;``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watchhouse._native import weblex
from watchhouse.detectors.web.tokenize_html import MAX_TAGS, HtmlContext, Tag, prefixed
from watchhouse.detectors.web.tokenize_html import tokenize as tokenize_html
from watchhouse.detectors.web.tokenize_sql import FINGERPRINT_TOKENS, Context, Token, contexts, leading_pairs

# operand: a value, a variable, a function call or a sub-expression
_OPERAND = r"[nsbvf(]"
_CLOSE = r"\)*"


@dataclass(frozen=True, slots=True)
class ShapeRule:
    """One breakout shape: a regex over a fingerprint, in the contexts it applies to."""

    name: str
    pattern: re.Pattern[str]
    quoted: bool  # True: only in a quote context; False: only as-is


def _rule(name: str, pattern: str, *, quoted: bool) -> ShapeRule:
    return ShapeRule(name, re.compile(pattern), quoted)


SHAPES: tuple[ShapeRule, ...] = (
    # ' or 1=1 / ') and ('a'='a / " || sleep(5) / ' and not exists(select ...)
    _rule("literal closed, then logic operator and comparison", rf"^s{_CLOSE}&\(*{_OPERAND}\)*[o&]", quoted=True),
    _rule("literal closed, then logic operator and call", r"^s\)*&\(*[fE]", quoted=True),
    _rule("literal closed, then union", r"^s\)*U", quoted=True),
    _rule("literal closed, then a new statement", r"^s\)*;\(*[Ekfb&v]", quoted=True),
    _rule("literal closed, then comment to end", r"^s\)*c", quoted=True),
    # '='  / '||(select ...) / ' + sleep(5) + '
    _rule("literal closed, then operator and expression", rf"^s\)*o\(*{_OPERAND}", quoted=True),
    # ' order by 1 / ') having 1=1 / ' limit 1
    _rule("literal closed, then clause keyword", r"^s\)*k[nbk&(sfv]", quoted=True),
    _rule("literal closed, then statement", r"^s\)*E", quoted=True),
    # 1',(select ...) / 1')(select ...) / ' or 1 group by ...
    _rule("literal closed, then sub-query or call", r"^s\)*,?\(+[Ek]|^s\)*,\(*f\(", quoted=True),
    _rule("literal closed, then logic operator and clause", rf"^s{_CLOSE}&\(*{_OPERAND}\)*k", quoted=True),
    # 1 or 1=1 / 1) and sleep(5) / -1 union select / 1; drop table / 1 order by 3--
    _rule("number, then logic operator and comparison", rf"^n{_CLOSE}&\(*{_OPERAND}\)*[ok]", quoted=False),
    _rule("number, then logic operator and call", r"^n\)*&\(*[fE]", quoted=False),
    _rule("number, then union", r"^n\)*U\(*[Ek(]", quoted=False),
    _rule("number, then a new statement", r"^n\)*;\(*[Ekf]", quoted=False),
    _rule("number, then sub-query or call", r"^n\)*,?\(+E|^n\)*,f\(", quoted=False),
    _rule("number, then operator and call", r"^n\)*o\(*[Ef]", quoted=False),
    _rule("number, then clause keyword", r"^n\)+k|^nk[nb]+[c,&o]|^n\)*k\(*f", quoted=False),
    _rule("number, then statement", r"^n\)*E[ksn(f]", quoted=False),
    _rule("number closing a group, then operator", r"^n\)+[o&]", quoted=False),
    _rule("number, then comment to end", r"^n\)*c", quoted=False),
    # (select ... / ;drop ... / union select at the very start of a value
    _rule("statement in a sub-expression", r"^\(+E[nvof(]|^\(+E[^)]*k", quoted=False),
    _rule("union before a statement", r"^U\(*E", quoted=False),
    # a column list (one operand, or operands joined by commas) then a clause and its table:
    # "select password from users" fires; prose that starts with "select" ("select a dress size
    # from the catalogue", a search for "select * from") has no comma-joined list or no table
    _rule("statement before clause", r"^E[nbvfo](?:,[nbvfo])*k[b(vfn]", quoted=False),
    _rule("stacked statement", r"^;\(*E", quoted=False),
    # (8362=9139)*9139 / (1=1) and ...: boolean arithmetic of blind injection
    _rule("comparison in a group", r"^\(+non[)&]", quoted=False),
    _rule("case or block in a group", r"^[ns]?\)*,?\(+k[nbkf(]", quoted=False),
    # a call of a function with a logic operator or a comparison beside it
    _rule("call, then logic operator", r"^\(*f\(.*\)[&o]", quoted=False),
    _rule("call comparing values", r"^f\(+[nsbv]o[nsbv]", quoted=False),
)


@dataclass(frozen=True, slots=True)
class SqlVerdict:
    """Why a value was judged an injection: the rule, the context and the tokens."""

    rule: ShapeRule
    context: Context
    fingerprint: str
    tokens: tuple[Token, ...]

    def describe(self) -> str:
        shown = " ".join(f"{t.kind}:{t.text[:24]}" for t in self.tokens[:8])
        return f"{self.rule.name} [context {self.context.value}, fingerprint {self.fingerprint}: {shown}]"


_QUOTED_SHAPES = tuple(rule for rule in SHAPES if rule.quoted)
_AS_IS_SHAPES = tuple(rule for rule in SHAPES if not rule.quoted)
#: token classes an as-is fingerprint can start with and still match a rule: every as-is pattern
#: above is anchored and opens with ``n``, ``(``, ``U``, ``E``, ``;``, ``f`` or ``[ns]?\)*,?\(+``
#: (so also ``s``, ``)`` and ``,``). Keep this in step when adding an as-is rule.
_AS_IS_FIRST = frozenset("n(UE;f s),".replace(" ", ""))


def judge_sql(text: str) -> SqlVerdict | None:
    """The first shape rule a lower-case decoded value matches in any context, or None.

    Same verdicts as matching every rule against each context of :func:`.fingerprints`, lexing
    less: only the tokens a fingerprint holds, and in the as-is context none past a first token
    no as-is rule can start with. ``tokens`` of a verdict are the folded tokens lexed (at least
    the fingerprint's).
    """
    for context in contexts(text):
        quoted = context is not Context.NONE
        pairs = leading_pairs(text, context, None if quoted else _AS_IS_FIRST)
        if pairs is None:
            continue
        fp = "".join([kind for kind, _ in pairs[:FINGERPRINT_TOKENS]])
        rule = _shape_rule(fp, quoted)
        if rule is not None:
            return SqlVerdict(rule, context, fp, tuple(Token(kind, value) for kind, value in pairs))
    return None


#: fingerprint (with its context kind) -> first shape rule it matches; the fingerprints are
#: strings of at most 8 classes and traffic repeats few of them, so the rules' regexes run once
#: per distinct shape (bounded: cleared when full, however varied the input)
_SHAPE_MEMO: dict[tuple[bool, str], ShapeRule | None] = {}
_SHAPE_MEMO_SIZE = 65_536


def _shape_rule(fp: str, quoted: bool) -> ShapeRule | None:
    key = (quoted, fp)
    try:
        return _SHAPE_MEMO[key]
    except KeyError:
        pass
    found = next((rule for rule in (_QUOTED_SHAPES if quoted else _AS_IS_SHAPES) if rule.pattern.search(fp)), None)
    if len(_SHAPE_MEMO) >= _SHAPE_MEMO_SIZE:
        _SHAPE_MEMO.clear()
    _SHAPE_MEMO[key] = found
    return found


# -- XSS: structural questions over lexed tags (:mod:`.tokenize_html`) ------------------------------

#: attributes whose value a browser loads or navigates to
_URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "data",
        "xlink:href",
        "background",
        "lowsrc",
        "dynsrc",
        "poster",
        "code",
        "codebase",
        "srcdoc",
        "to",
        "from",
        "values",
        "by",
        "folder",
        "content",
        "manifest",
        "icon",
        "ping",
        "archive",
        "longdesc",
        "usemap",
        "a",  # the synthetic attribute of an attribute context: the application's own may be a URL
    }
)
#: elements that run script, load active content or change how the rest of the page is read
_ACTIVE_ELEMENTS = frozenset(
    {
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "style",
        "base",
        "meta",
        "link",
        "form",
        "isindex",
        "xml",
        "import",
        "vmlframe",
        "portal",
        "xss",
        "animate",
        "set",
        "handler",
        "listener",
        "bgsound",
        "layer",
        "ilayer",
        "template",
    }
)
#: raw-text elements: their end tag lets a payload out of a script, a style or a text area
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "noscript", "iframe", "xmp", "noembed", "plaintext"})
#: ordinary elements: injecting one with attributes, or a document-structure tag, is HTML injection
_MARKUP_ELEMENTS = frozenset(
    {
        "a",
        "img",
        "image",
        "div",
        "span",
        "p",
        "b",
        "i",
        "u",
        "font",
        "table",
        "td",
        "tr",
        "input",
        "button",
        "select",
        "textarea",
        "video",
        "audio",
        "source",
        "body",
        "html",
        "head",
        "title",
        "marquee",
        "details",
        "area",
        "map",
        "keygen",
        "blink",
        "h1",
        "br",
        "hr",
        "li",
        "ul",
        "label",
        "option",
    }
)
_STRUCTURE = frozenset({"html", "body", "head", "title"})
_SCHEME = re.compile(r"^(?:java|vb|live|moc|mocha)script:|^data:(?:text/html|image/svg|[^,]{0,40};base64)")
_CONTROL = re.compile(r"[\x00-\x20]+")
_STYLE_CODE = re.compile(r"expression\s*\(|url\s*\(\s*['\"]?\s*(?:java|vb)script:|-moz-binding|behavior\s*:")
_EVENT = re.compile(r"^on[a-z]{3,40}$")
#: a JavaScript string closed by the value, then a statement or operator and a call: ``";alert(1)//``
_JS_BREAKOUT = re.compile(r"^[^'\"<>]{0,40}['\"]\s*[;,)+|&-]\s*[a-z_$][\w$.]{0,40}\s*\(")


@dataclass(frozen=True, slots=True)
class XssVerdict:
    """Why a value was judged script injection: the check, the context and the offending tag."""

    check: str  # "event", "url", "element", "script", "markup"
    context: HtmlContext
    tag: Tag
    detail: str

    def describe(self) -> str:
        attrs = " ".join(f"{n}={v[:24]!r}" for n, v in self.tag.attributes[:4])
        shown = f"<{'/' if self.tag.closing else ''}{self.tag.name}{' ' + attrs if attrs else ''}>"
        return f"{self.detail} [context {self.context.value}, tag {shown}]"


def judge_xss(text: str, *, markup: bool = True) -> XssVerdict | None:
    """The first structural XSS finding in lower-case decoded ``text``, or None.

    ``markup`` adds the broad check (ordinary elements with attributes, document-structure tags),
    which the detector runs from paranoia level 2.
    """
    if "<" not in text and "=" not in text and ":" not in text and "(" not in text:
        return None
    contexts = [HtmlContext.TEXT] if "<" in text else []  # as page text, no "<" is no tag
    if "=" in text or ":" in text:
        contexts.append(HtmlContext.ATTR_BARE)
        if "'" in text:
            contexts.append(HtmlContext.ATTR_SINGLE)
        if '"' in text:
            contexts.append(HtmlContext.ATTR_DOUBLE)
    found: XssVerdict | None = None
    if markup and _JS_BREAKOUT.match(text):
        found = XssVerdict("script", HtmlContext.TEXT, Tag("script", False), "script string closed, then a call")
    for context in contexts:
        if context is not HtmlContext.TEXT and "<" not in text and not _attribute_breakout(text, context):
            continue
        verdict = _context_verdict(text, context, markup)
        if verdict is not None and (found is None or _RANK[verdict.check] < _RANK[found.check]):
            found = verdict
            if found.check == "event":
                return found
    return found


def _context_verdict(text: str, context: HtmlContext, markup: bool) -> XssVerdict | None:
    """The first best-ranked verdict on the tags of ``text`` read in ``context`` (an event handler ends it).

    Where the compiled kernels are built their twin lexes and judges the tags in one call (this
    loop with :func:`_judge_tag`, returning the tag only for the verdict), unless its lexer defers
    to ``re`` on this text.
    """
    if weblex is not None:
        best = weblex.xss_context(
            prefixed(text, context), MAX_TAGS, context is not HtmlContext.TEXT, markup, _XSS_TABLES
        )
        if best is None:
            return None
        if best is not False:
            _, check, detail, tag = best
            return XssVerdict(check, context, Tag._make(tag), detail)
    found: XssVerdict | None = None
    for tag in tokenize_html(text, context):
        verdict = _judge_tag(tag, context, markup)
        if verdict is not None and (found is None or _RANK[verdict.check] < _RANK[found.check]):
            found = verdict
            if found.check == "event":
                break
    return found


_RANK = {"event": 0, "url": 1, "element": 2, "script": 3, "markup": 4}


def _attribute_breakout(text: str, context: HtmlContext) -> bool:
    """Whether an attribute-context reading can add anything beyond the synthetic value."""
    if context is HtmlContext.ATTR_BARE:
        return True
    return (_QUOTE_OF[context]) in text


_QUOTE_OF = {HtmlContext.ATTR_SINGLE: "'", HtmlContext.ATTR_DOUBLE: '"'}


def _script_url(value: str) -> bool:
    """A script scheme with something to run after it (``javascript:`` alone is a word in prose)."""
    bare = _CONTROL.sub("", value)
    found = _SCHEME.match(bare)
    return found is not None and found.end() < len(bare)


def _judge_tag(tag: Tag, context: HtmlContext, markup: bool) -> XssVerdict | None:
    synthetic = context is not HtmlContext.TEXT and tag.name == "x"
    if tag.closing:
        if tag.name in _RAW_TEXT and context is HtmlContext.TEXT:
            return XssVerdict("element", context, tag, f"end tag </{tag.name}> leaves a raw-text element")
        if markup and tag.name in _STRUCTURE and tag.complete:
            return XssVerdict("markup", context, tag, f"document-structure tag </{tag.name}>")
        return None
    for index, (name, value) in enumerate(tag.attributes):
        if synthetic and index == 0:
            if name == "a" and _script_url(value):
                return XssVerdict("url", context, tag, "script URL as the whole attribute value")
            continue
        if _EVENT.match(name):
            return XssVerdict("event", context, tag, f"event-handler attribute {name}")
        if name in _URL_ATTRIBUTES and _script_url(value):
            return XssVerdict("url", context, tag, f"script URL in attribute {name}")
        if name == "style" and _STYLE_CODE.search(value):
            return XssVerdict("url", context, tag, "script in a style attribute")
    if synthetic:
        return None
    if tag.name in _ACTIVE_ELEMENTS:
        return XssVerdict("element", context, tag, f"active element <{tag.name}>")
    if markup and tag.complete and tag.name in _MARKUP_ELEMENTS and (tag.attributes or tag.name in _STRUCTURE):
        return XssVerdict("markup", context, tag, f"injected markup <{tag.name}>")
    return None


#: the tables and predicates :func:`_judge_tag` reads, in the order the compiled twin takes them
_XSS_TABLES = (
    _RAW_TEXT,
    _STRUCTURE,
    _URL_ATTRIBUTES,
    _ACTIVE_ELEMENTS,
    _MARKUP_ELEMENTS,
    _script_url,
    _STYLE_CODE.search,
)
