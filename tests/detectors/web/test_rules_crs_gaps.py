"""Rules added to close gaps the OWASP CRS regression suite showed (SQLi fragments, shell and PHP
syntax, Node/Perl globals, SSRF host spellings, XSS obfuscations, protocol and LDAP joints).

Each rule gets realistic requests that must fire it (taken from the attack techniques, not from
CRS rule text) and a near miss that an ordinary user or crawler sends and that must not. Requests
go through the whole detector at the default paranoia level, so the prefilter, the decoding and
the part splitting are exercised too; a last test checks that both matching engines agree.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.engines import EngineName, hyperscan_available
from watchhouse.detectors.web.matching import Matcher, request_parts
from watchhouse.detectors.web.rules import default_rules
from watchhouse.testing.factories import make_batch

_BROWSER = {"Host": "shop.example", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Accept": "text/html"}


def _get(url: str) -> dict[str, Any]:
    return {"source.ip": "203.0.113.20", "http.request.method": "GET", "url.original": url}


def _post(body: str, url: str = "/post", content_type: str = "application/x-www-form-urlencoded") -> dict[str, Any]:
    headers = {**_BROWSER, "Content-Type": content_type}
    return {
        "source.ip": "203.0.113.20",
        "http.request.method": "POST",
        "url.original": url,
        "http.request.body.content": body,
        "http.request.headers": json.dumps(headers),
    }


def _headers(**extra: str) -> dict[str, Any]:
    headers = {**_BROWSER, **{k.replace("_", "-"): v for k, v in extra.items()}}
    return {"source.ip": "203.0.113.20", "url.original": "/", "http.request.headers": json.dumps(headers)}


# (rule, requests that must fire it, requests that must not)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "WH-PATH-006",
        [_get("/dl?f=%2F..%2F..%2F%7Bfile%7D"), _get("/dl?f=%2F0x2e0x2e%2F%7Bfile%7D")],
        [_get("/docs?q=template+%7Bname%7D+placeholder"), _get("/dl?f=report%7B1%7D.pdf")],
    ),
    (
        "WH-PATH-007",
        [_get("/x?f=c%3Ainetpubwwwrootglobal.asa")],
        [_get("/blog/iis-inetpub-wwwroot-explained")],
    ),
    (
        "WH-SQLI-020",
        [_post("q=information_schema"), _post("q=(select+top+1+name+from+msdb)"), _get("/r?t=db_name(0)")],
        [_post("q=information+security+schemas"), _post("q=tempdbx")],
    ),
    (
        "WH-SQLI-021",
        [_post("pay=concat+%28"), _post("pay=md5%5C%28"), _post("pay=day%26%27%28")],
        [_post("note=due+date+(approx.)"), _post("q=first+day+of+month")],
    ),
    (
        "WH-SQLI-022",
        [_get("/i?id=1+and+7829%3D(select"), _post("pay=%7C%7C+langCode+%3D%3D+%27"), _post("x=%26%26(e%3D%22")],
        [_get("/s?q=salt+and+pepper"), _get("/s?q=rock+and+roll+hall")],
    ),
    (
        "WH-SQLI-023",
        [_post("x=%3Bupdate+users+set+role%3D1"), _post("x=%3BSET+%40OLD_SQL_MODE"), _post("x=1%3Bdrop+table+t")],
        [_get("/search?q=suppliers%3B+drop+shipping+guide"), _post("msg=done%3B+update+your+details")],
    ),
    (
        "WH-SQLI-024",
        [_post("q=%29+AS+val+FROM"), _post("q=%60+AS+%60edit_user_id%60+from"), _post("q=SELECT+(CASE")],
        [_post("q=known+as+the+man+from+uncle"), _post("q=(as+seen+from+space)")],
    ),
    (
        "WH-SQLI-025",
        [_post("op=%3C%3D%3E"), _post("op=in+(2147483647%2C-1)"), _post("x=%26%26")],
        [_post("q=a+%3C%3D%3E+b+spaceship+operator"), _post("q=in+(the+end)")],
    ),
    (
        "WH-SQLI-026",
        [_get("/r?id=OR+%27%7B%22a%22%3A%22b%22%7D%27+%3F+%27a%27"), _get("/r?q=%27%5B1%2C2%5D%27+-%3E+%27%24.x%27")],
        [_get("/r?q=%7B%22a%22%3A%22b%22%7D"), _get("/r?q=%27%5Bdraft%5D%27")],
    ),
    (
        "WH-SQLI-027",
        [
            _get("/users?u_id%5B%24ne%5D=2"),
            _post('{"user": {"$where": "sleep(100)"}}', content_type="application/json"),
        ],
        [_get("/pay?amount=%2410"), _post('{"price": "$ne pas"}', content_type="application/json")],
    ),
    (
        "WH-CMDI-014",
        [_get("/x?c=IF+%25ERRORLEVEL%25+NEQ+0+echo+x"), _get("/x?c=if+%2Fi+%22a%22%3D%3D%22b%22+foo")],
        [_get("/faq?q=if+you+equal+the+offer"), _get("/faq?q=what+if+a+%3D+b")],
    ),
    (
        "WH-CMDI-015",
        [_post("rce=%3Balias+a%3Dcurl"), _post("rce=%60alias+-p+x%3Did%60")],
        [_post("q=alias+of+the+user"), _post("name=also+known+as+alias")],
    ),
    (
        "WH-CMDI-016",
        [
            _get("/x?v=%24%7BPATH%23%7B%7D%2F%7D"),
            _get("/x?c=%24%28%28%24%28%29+42%29%29"),
            _get("/x?o=%3E%28tee+log%29"),
        ],
        [_get("/x?price=%24(USD)"), _get("/scripts/x?file=%24%7Blinkto%7D")],
    ),
    (
        "WH-CMDI-017",
        [_get("/x?s=%2Fetc%2Fpas%5Bs%5Dwd"), _get("/x?e=%2Fbi%5Bn%5D%2Fbash")],
        [_get("/x?s=%2Fitems%5B0%5D"), _get("/x?filter%5Bstatus%5D=open")],
    ),
    (
        "WH-PERL-002",
        [_get("/x?x=%40%7B%5BCORE%3A%3Atime()%5D%7D"), _get("/x?x=%40%7B%5B+system+%27id%27+%5D%7D")],
        [_get("/x?mail=a%40example.org"), _get("/x?tag=%40%7Bname%7D")],
    ),
    (
        "WH-NODE-005",
        [_get("/x?foo=process.env"), _get("/x?foo=console.info(1)"), _get("/x?f=require.main.constructor")],
        [_get("/blog/process-environment-guide"), _get("/x?q=game+console+info")],
    ),
    (
        "WH-NODE-006",
        [_get("/x?eval=while(-1)%3B"), _get("/x?eval=while(new+Date)%3B")],
        [_get("/x?q=while(we+wait)+read+more"), _get("/x?q=while+(in+stock)")],
    ),
    (
        "WH-PHP-006",
        [_get("/x?foo=%24%7B%27ff%27%7D"), _get("/x?foo=%24+%7B%24a%7D")],
        [_get("/x?price=%2410+%7Bsale%7D"), _get("/x?tpl=%24%7Bname%7D")],
    ),
    (
        "WH-SSRF-006",
        [_get("/f?url=http%3A%2F%2F%5Bfe80%3A%3A1%25zone%5D"), _get("/f?u=kubernetes.docker.internal%2F")],
        [_get("/f?url=https%3A%2F%2Fexample.com%2F"), _get("/f?phone=2852039166")],
    ),
    (
        "WH-XSS-008",
        [_post("a=(!%5B%5D%2B%5B%5D)%5B%2B!%2B%5B%5D%5D"), _post("a=%2B!!%5B%5D")],
        [_post("md=!%5B%5D(https%3A%2F%2Fexample.com%2Fa.png)"), _post("q=%5B%5D")],
    ),
    (
        "WH-XSS-009",
        [_post("a=document%2F*x*%2F.cookie"), _post("a=window%5B%22alert%22%5D(1)")],
        [_post("q=window+cleaning+document"), _post("q=self+help+books")],
    ),
    (
        "WH-XSS-010",
        [_get("/x?xss=%5B%5D.sort.call%60%24%7Balert%7D1337%60"), _get("/x?t=Reflect.apply.call%60%60")],
        [_get("/x?q=call+me+%60maybe%60"), _get("/x?q=apply+call+center")],
    ),
    (
        "WH-XSS-011",
        [_post("u=ja%26tab%3Bvascript%3Aalert(1)"), _get("/x?style=-moz-binding%3Aurl(x.xml%23xss)")],
        [_post("q=java+and+javascript+tabs"), _post("q=url(image.png)")],
    ),
    (
        "WH-XSS-012",
        [_post("x=%3Cv%3Avmlframe+src%3D%22foo.com%2Fsup.fml%22%2F%3E"), _get("/x?b=%3Cf+o+r+m")],
        [_post("q=a+%3C+b+and+c"), _post("q=ratio+%3C3")],
    ),
    (
        "WH-XSS-013",
        [_post("var=%5Cxbcscript%5Cxbealert(1)%5Cxbc%2Fscript%5Cxbe")],
        [_post("var=%5Cx41%5Cx42")],
    ),
    (
        "WH-PROTO-005",
        [_get("/index.php/PHP%0Ainfo.php?x"), _get("/foo%0d%0abar")],
        [_get("/foo/bar"), _get("/foo%20bar")],
    ),
    (
        "WH-PROTO-006",
        [_get("/get?a=test%0Dnext%3Dmore")],
        [_post("comment=line+one%0D%0Aline+two"), _get("/get?a=test%20next")],
    ),
    (
        "WH-PROTO-008",
        [_get("/?unix:" + "A" * 300 + "|http://example.com/")],
        [_get("/docs/unix-sockets?x=http://example.com/")],
    ),
    (
        "WH-LDAP-002",
        [_get("/?user=admin)(%7C"), _get("/?p=val)%26(cn%3Dadmin"), _post("foo=*)!(sn%3D*")],
        [_get("/?q=(see+above)+(and+below)"), _get("/?q=f(x)(y)")],
    ),
]


def _rules(rows: list[dict[str, Any]], level: int = 2) -> list[set[str]]:
    batch = make_batch(Dataset.HTTP, rows)
    by_line = {
        f.evidence[0].line: set(f.details["rules"]) for f in WebAttackDetector(paranoia_level=level).detect(batch)
    }
    return [by_line.get(i + 1, set()) for i in range(len(rows))]


@pytest.mark.parametrize(("rule_id", "positives", "near_misses"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_technique_and_not_on_the_near_miss(
    rule_id: str, positives: list[dict[str, Any]], near_misses: list[dict[str, Any]]
) -> None:
    level = max(default_rules().by_id(rule_id).paranoia, 2)
    for row, fired in zip(positives, _rules(positives, level), strict=True):
        assert rule_id in fired, f"{rule_id} missed {row['url.original']} {row.get('http.request.body.content')}"
    for row, fired in zip(near_misses, _rules(near_misses, 4), strict=True):
        assert rule_id not in fired, f"{rule_id} fired on {row['url.original']} {row.get('http.request.body.content')}"


def test_every_rule_added_here_runs_by_default_except_the_noisy_one() -> None:
    rules = default_rules()
    levels = {rule_id: rules.by_id(rule_id).paranoia for rule_id, _, _ in CASES}
    # a line break in a GET value also comes from multi-line fields: paranoia 3
    assert {rule_id for rule_id, level in levels.items() if level > 2} == {"WH-PROTO-006"}


def test_java_gadget_names_are_found_in_misaligned_base64() -> None:
    # "instantiatefactory" / "processbuilder" base64-encoded after one or two leading bytes: the decoder
    # garbles the first two letters, so WH-JAVA-004 must match from the third
    rows = [_post("test=Gluc3RhbnRpYXRlZmFjdG9yeQ"), _post("test=HByb2Nlc3NidWlsZGVy")]
    assert all("WH-JAVA-004" in fired for fired in _rules(rows))
    assert "WH-JAVA-004" not in _rules([_post("test=SGVsbG8gd29ybGQgZnJvbSBhIHRlc3Q")])[0]


@pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")
def test_both_engines_agree_on_the_new_rules() -> None:
    rows = [row for _, positives, near in CASES for row in (*positives, *near)]
    parts = [
        part
        for row in rows
        for part in request_parts(
            row["url.original"], row.get("http.request.body.content"), None, None, row.get("http.request.headers")
        )
    ]
    rules = default_rules()
    symptoms = prefilter.part_symptoms(2)
    fast = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.HYPERSCAN).match(parts)]
    slow = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.POLARS).match(parts)]
    assert fast and fast == slow
