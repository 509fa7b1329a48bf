"""Rules added to close gaps the OWASP CRS regression suite showed (SQLi fragments, shell and PHP
syntax, Node/Perl globals, SSRF host spellings, XSS obfuscations, protocol and LDAP joints).

Each rule gets realistic requests that must fire it (taken from the attack techniques, not from
CRS rule text) and a near miss that an ordinary user or crawler sends and that must not. Requests
go through the whole detector at the default paranoia level, so the prefilter, the decoding and
the part splitting are exercised too; a last test checks that both matching engines agree.
"""

from __future__ import annotations

import json

import pytest

from watchhouse.detectors.web.engines import hyperscan_available
from watchhouse.detectors.web.rules import default_rules

from .rule_cases import BROWSER, CLIENT, Case, Row, check_case, engine_hits, fired, get, post


def _headers(**extra: str) -> Row:
    """A request that only carries headers (underscores in the names become dashes)."""
    headers = {**BROWSER, **{k.replace("_", "-"): v for k, v in extra.items()}}
    return {"source.ip": CLIENT, "url.original": "/", "http.request.headers": json.dumps(headers)}


# (rule, requests that must fire it, requests that must not)
CASES: list[Case] = [
    (
        "WH-PATH-006",
        [get("/dl?f=%2F..%2F..%2F%7Bfile%7D"), get("/dl?f=%2F0x2e0x2e%2F%7Bfile%7D")],
        [get("/docs?q=template+%7Bname%7D+placeholder"), get("/dl?f=report%7B1%7D.pdf")],
    ),
    (
        "WH-PATH-007",
        [get("/x?f=c%3Ainetpubwwwrootglobal.asa")],
        [get("/blog/iis-inetpub-wwwroot-explained")],
    ),
    (
        "WH-SQLI-020",
        [post("q=information_schema"), post("q=(select+top+1+name+from+msdb)"), get("/r?t=db_name(0)")],
        [post("q=information+security+schemas"), post("q=tempdbx")],
    ),
    (
        "WH-SQLI-021",
        [post("pay=concat+%28"), post("pay=md5%5C%28"), post("pay=day%26%27%28")],
        [post("note=due+date+(approx.)"), post("q=first+day+of+month")],
    ),
    (
        "WH-SQLI-022",
        [get("/i?id=1+and+7829%3D(select"), post("pay=%7C%7C+langCode+%3D%3D+%27"), post("x=%26%26(e%3D%22")],
        [get("/s?q=salt+and+pepper"), get("/s?q=rock+and+roll+hall")],
    ),
    (
        "WH-SQLI-023",
        [post("x=%3Bupdate+users+set+role%3D1"), post("x=%3BSET+%40OLD_SQL_MODE"), post("x=1%3Bdrop+table+t")],
        [get("/search?q=suppliers%3B+drop+shipping+guide"), post("msg=done%3B+update+your+details")],
    ),
    (
        "WH-SQLI-024",
        [post("q=%29+AS+val+FROM"), post("q=%60+AS+%60edit_user_id%60+from"), post("q=SELECT+(CASE")],
        [post("q=known+as+the+man+from+uncle"), post("q=(as+seen+from+space)")],
    ),
    (
        "WH-SQLI-025",
        [post("op=%3C%3D%3E"), post("op=in+(2147483647%2C-1)"), post("x=%26%26")],
        [post("q=a+%3C%3D%3E+b+spaceship+operator"), post("q=in+(the+end)")],
    ),
    (
        "WH-SQLI-026",
        [get("/r?id=OR+%27%7B%22a%22%3A%22b%22%7D%27+%3F+%27a%27"), get("/r?q=%27%5B1%2C2%5D%27+-%3E+%27%24.x%27")],
        [get("/r?q=%7B%22a%22%3A%22b%22%7D"), get("/r?q=%27%5Bdraft%5D%27")],
    ),
    (
        "WH-SQLI-027",
        [
            get("/users?u_id%5B%24ne%5D=2"),
            post('{"user": {"$where": "sleep(100)"}}', content_type="application/json"),
        ],
        [get("/pay?amount=%2410"), post('{"price": "$ne pas"}', content_type="application/json")],
    ),
    (
        "WH-CMDI-014",
        [get("/x?c=IF+%25ERRORLEVEL%25+NEQ+0+echo+x"), get("/x?c=if+%2Fi+%22a%22%3D%3D%22b%22+foo")],
        [get("/faq?q=if+you+equal+the+offer"), get("/faq?q=what+if+a+%3D+b")],
    ),
    (
        "WH-CMDI-015",
        [post("rce=%3Balias+a%3Dcurl"), post("rce=%60alias+-p+x%3Did%60")],
        [post("q=alias+of+the+user"), post("name=also+known+as+alias")],
    ),
    (
        "WH-CMDI-016",
        [
            get("/x?v=%24%7BPATH%23%7B%7D%2F%7D"),
            get("/x?c=%24%28%28%24%28%29+42%29%29"),
            get("/x?o=%3E%28tee+log%29"),
        ],
        [get("/x?price=%24(USD)"), get("/scripts/x?file=%24%7Blinkto%7D")],
    ),
    (
        "WH-CMDI-017",
        [get("/x?s=%2Fetc%2Fpas%5Bs%5Dwd"), get("/x?e=%2Fbi%5Bn%5D%2Fbash")],
        [get("/x?s=%2Fitems%5B0%5D"), get("/x?filter%5Bstatus%5D=open")],
    ),
    (
        "WH-PERL-002",
        [get("/x?x=%40%7B%5BCORE%3A%3Atime()%5D%7D"), get("/x?x=%40%7B%5B+system+%27id%27+%5D%7D")],
        [get("/x?mail=a%40example.org"), get("/x?tag=%40%7Bname%7D")],
    ),
    (
        "WH-NODE-005",
        [get("/x?foo=process.env"), get("/x?foo=console.info(1)"), get("/x?f=require.main.constructor")],
        [get("/blog/process-environment-guide"), get("/x?q=game+console+info")],
    ),
    (
        "WH-NODE-006",
        [get("/x?eval=while(-1)%3B"), get("/x?eval=while(new+Date)%3B")],
        [get("/x?q=while(we+wait)+read+more"), get("/x?q=while+(in+stock)")],
    ),
    (
        "WH-PHP-006",
        [get("/x?foo=%24%7B%27ff%27%7D"), get("/x?foo=%24+%7B%24a%7D")],
        [get("/x?price=%2410+%7Bsale%7D"), get("/x?tpl=%24%7Bname%7D")],
    ),
    (
        "WH-SSRF-006",
        [get("/f?url=http%3A%2F%2F%5Bfe80%3A%3A1%25zone%5D"), get("/f?u=kubernetes.docker.internal%2F")],
        [get("/f?url=https%3A%2F%2Fexample.com%2F"), get("/f?phone=2852039166")],
    ),
    (
        "WH-XSS-008",
        [post("a=(!%5B%5D%2B%5B%5D)%5B%2B!%2B%5B%5D%5D"), post("a=%2B!!%5B%5D")],
        [post("md=!%5B%5D(https%3A%2F%2Fexample.com%2Fa.png)"), post("q=%5B%5D")],
    ),
    (
        "WH-XSS-009",
        [post("a=document%2F*x*%2F.cookie"), post("a=window%5B%22alert%22%5D(1)")],
        [post("q=window+cleaning+document"), post("q=self+help+books")],
    ),
    (
        "WH-XSS-010",
        [get("/x?xss=%5B%5D.sort.call%60%24%7Balert%7D1337%60"), get("/x?t=Reflect.apply.call%60%60")],
        [get("/x?q=call+me+%60maybe%60"), get("/x?q=apply+call+center")],
    ),
    (
        "WH-XSS-011",
        [post("u=ja%26tab%3Bvascript%3Aalert(1)"), get("/x?style=-moz-binding%3Aurl(x.xml%23xss)")],
        [post("q=java+and+javascript+tabs"), post("q=url(image.png)")],
    ),
    (
        "WH-XSS-012",
        [post("x=%3Cv%3Avmlframe+src%3D%22foo.com%2Fsup.fml%22%2F%3E"), get("/x?b=%3Cf+o+r+m")],
        [post("q=a+%3C+b+and+c"), post("q=ratio+%3C3")],
    ),
    (
        "WH-XSS-013",
        [post("var=%5Cxbcscript%5Cxbealert(1)%5Cxbc%2Fscript%5Cxbe")],
        [post("var=%5Cx41%5Cx42")],
    ),
    (
        "WH-PROTO-005",
        [get("/index.php/PHP%0Ainfo.php?x"), get("/foo%0d%0abar")],
        [get("/foo/bar"), get("/foo%20bar")],
    ),
    (
        "WH-PROTO-006",
        [get("/get?a=test%0Dnext%3Dmore")],
        [post("comment=line+one%0D%0Aline+two"), get("/get?a=test%20next")],
    ),
    (
        "WH-PROTO-008",
        [get("/?unix:" + "A" * 300 + "|http://example.com/")],
        [get("/docs/unix-sockets?x=http://example.com/")],
    ),
    (
        "WH-LDAP-002",
        [get("/?user=admin)(%7C"), get("/?p=val)%26(cn%3Dadmin"), post("foo=*)!(sn%3D*")],
        [get("/?q=(see+above)+(and+below)"), get("/?q=f(x)(y)")],
    ),
]


@pytest.mark.parametrize(("rule_id", "positives", "near_misses"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_technique_and_not_on_the_near_miss(
    rule_id: str, positives: list[Row], near_misses: list[Row]
) -> None:
    check_case(rule_id, positives, near_misses)


def test_every_rule_added_here_runs_by_default_except_the_noisy_one() -> None:
    rules = default_rules()
    levels = {rule_id: rules.by_id(rule_id).paranoia for rule_id, _, _ in CASES}
    # a line break in a GET value also comes from multi-line fields: paranoia 3
    assert {rule_id for rule_id, level in levels.items() if level > 2} == {"WH-PROTO-006"}


def test_java_gadget_names_are_found_in_misaligned_base64() -> None:
    # "instantiatefactory" / "processbuilder" base64-encoded after one or two leading bytes: the decoder
    # garbles the first two letters, so WH-JAVA-004 must match from the third
    rows = [post("test=Gluc3RhbnRpYXRlZmFjdG9yeQ"), post("test=HByb2Nlc3NidWlsZGVy")]
    assert all("WH-JAVA-004" in rules for rules in fired(rows))
    assert "WH-JAVA-004" not in fired([post("test=SGVsbG8gd29ybGQgZnJvbSBhIHRlc3Q")])[0]


@pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")
def test_both_engines_agree_on_the_new_rules() -> None:
    fast, slow = engine_hits(CASES, 2)
    assert fast and fast == slow
