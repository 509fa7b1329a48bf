"""SQL injection signatures, matched on the SQL view (comments removed, whitespace collapsed).

Written for Watchhouse from the techniques themselves: breaking out of a string literal and
appending a boolean condition, UNION-based extraction, stacked statements, time delays, error
messages that leak data, system catalogues, and encodings that avoid quotes. Ordinary words
("select", "union", "drop", "order by") are never enough on their own: each rule needs the
syntax around them that only an injection has.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target, View

_S = AttackClass.SQLI
# a string or number literal closer, possibly followed by closing parentheses
_BREAK = r"""(?:['"`]|\d)\s?\)*"""
_OP = r"(?:or|and|xor|\|\||&&|having|where)"
_CMP = r"(?:=|<>|!=|<=?|>=?|\blike\b|\brlike\b|\bregexp\b|\bsounds like\b|\bin\s?\()"

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-SQLI-001",
        _S,
        "UNION SELECT query extension",
        r"\bunion(?:\s(?:all|distinct))?\s?\(?\s?select\b(?:\s?\(?(?:null|\d|[\w.@]{1,30}\s?[,(]|[\w.@]{1,30}\sfrom\b|'|\"|\*|char|concat|@@))",
        targets=ANY_TARGET,
        confidence=0.95,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-002",
        _S,
        "String literal break-out followed by a boolean condition",
        # ' or 'a'='a  |  ') or ('x'='x  |  " and 1=1  |  ' or 1 like 1
        rf"""['"`]\s?\)*\s?{_OP}\s\(*\s?(?:['"`]?[\w@.$]{{1,30}}['"`]?|\d{{1,12}})\s?{_CMP}""",
        confidence=0.9,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-003",
        _S,
        "Numeric tautology or contradiction (e.g. AND 4711=4711)",
        rf"(?:^|[\s'\")]){_OP}\s\(*\s?-?\d{{1,12}}\s?\)?\s?(?:=|<>|!=|<|>)\s?\(*\s?(?:-?\d{{1,12}}\b|select\b|like\s?\(|\()",
        confidence=0.85,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-004",
        _S,
        "Stacked query (statement separator followed by a new statement)",
        r";\s?\(?\s?(?:drop\s(?:table|database|schema|function|procedure|view|user)|insert\sinto|"
        r"update\s[\w.`\[\]]{1,60}\sset\b|delete\sfrom|truncate\s|alter\s(?:table|user|database)|"
        r"create\s(?:table|user|or\sreplace|function|procedure)|exec(?:ute)?\s|declare\s@|shutdown\b|"
        r"select\s|call\s|begin\s|if\s?\(|waitfor\s|grant\s)",
        targets=ANY_TARGET,
        confidence=0.9,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-005",
        _S,
        "Time-based blind injection (deliberate delay)",
        r"\b(?:sleep\s?\(\s?\d|benchmark\s?\(\s?\d|pg_sleep\s?\(|waitfor\s(?:delay|time)\s['\"]|"
        r"dbms_pipe\.receive_message\s?\(|dbms_lock\.sleep\s?\(|user_lock\.sleep\s?\(|"
        r"generate_series\s?\(\s?\d{1,3}\s?,\s?\d{5,}|randomblob\s?\(\s?\d{6,}|repeat\s?\([^)]{0,80}\d{7,}|"
        r"sleep\s?\(\s?\(?\s?select\b)",
        targets=ANY_TARGET,
        confidence=0.95,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-006",
        _S,
        "Error-based extraction function",
        r"\b(?:extractvalue|updatexml|xmltype|gtid_subset|json_keys|exp\s?\(\s?~|floor\s?\(\s?rand\s?\(|"
        r"utl_inaddr\.get_host_\w{1,10}|ctxsys\.drithsx\.sn|dbms_utility\.\w{1,30}|dbms_xdb|"
        r"convert\s?\(\s?int\s?,|cast\s?\(\s?\(?\s?(?:select|chr|char)\b)\s?\(?",
        targets=ANY_TARGET,
        confidence=0.9,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-007",
        _S,
        "System catalogue or metadata reference",
        r"\b(?:information_schema\.|mysql\.(?:user|db)\b|pg_(?:catalog|shadow|user|tables|namespace)\b|"
        r"sys\.(?:objects|tables|columns|databases|sysobjects)\b|master\.\.sys|sysobjects\b|syscolumns\b|"
        r"sysibm\.\w|all_(?:tables|users|tab_columns)\b|user_tables\b|sqlite_master\b|msysobjects\b|"
        r"rdb\$\w|from\sdual\b|@@(?:version|datadir|hostname|basedir)\b|\bversion\s?\(\s?\)|"
        r"current_user\s?\(\s?\)|database\s?\(\s?\)|domain\.(?:domains|tables|columns)\b)",
        targets=ANY_TARGET,
        confidence=0.85,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-008",
        _S,
        "Quote closed and the rest of the query commented out",
        # base view: the comment itself is the evidence, so it must not have been stripped
        r"""['"`]\s?\)*\s?(?:;\s?)?(?:--(?:\s|$|[^\w-])|#(?:\s|$)|/\*|;\s?$)""",
        confidence=0.75,
        severity=Severity.MEDIUM,
    ),
    Rule(
        "WH-SQLI-009",
        _S,
        "Quote-free encoding of strings (CHAR()/CHR() chains, hex literals in SQL context)",
        r"\b(?:char|chr|nchar)\s?\(\s?\d{1,3}\s?(?:\)\s?(?:\|\||\+|,)\s?(?:char|chr|nchar)\s?\(|,\s?\d{1,3})|"
        r"\bconcat(?:_ws)?\s?\(\s?0x[0-9a-f]{2,}|(?:select|=|,|\()\s?0x[0-9a-f]{6,}\s?(?:,|\)|from\b|=)",
        confidence=0.85,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-010",
        _S,
        "ORDER BY / GROUP BY column probing after a break-out",
        rf"""(?:{_BREAK}|^-?\d{{1,12}})\s?(?:order|group)\sby\s\d{{1,3}}\b(?:\s?(?:--|#|$|,\s?\d))""",
        confidence=0.85,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-011",
        _S,
        "Inline subquery or boolean function probe",
        r"\(\s?select\s(?:\*|count\s?\(|null\b|\d|'|\(|case\b|char|concat|[\w.]{1,30}\sfrom\b|\w{1,30}\swhere\b|"
        r"if\s?\(|sleep|extractvalue|updatexml)|\b(?:elt|make_set|iif|if)\s?\(\s?\d{1,12}\s?=\s?\d{1,12}\s?,|"
        r"\bcase\swhen\s\(?\s?\d{1,12}\s?=\s?\d{1,12}|\bprocedure\sanalyse\s?\(|\bin\sboolean\smode\)",
        confidence=0.9,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-012",
        _S,
        "Break-out followed by a string operator and a subquery",
        r"""['"`]\s?\)*\s?(?:\|\||\+|&&|\*|-)\s?\(\s?select\b|['"`]\s?\)*\s?(?:as\s\w{1,10}\s)?where\s\(?\s?\d""",
        confidence=0.9,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-013",
        _S,
        "Quoted-literal tautology without a visible break-out (e.g. OR '5'='5)",
        # the break-out quote may sit in the application's own query around the parameter
        rf"""(?:^|[\s)]){_OP}\s\(?\s?['"]\w{{1,20}}['"]?\s?(?:=|<>|!=|\blike\b)\s?['"]\w""",
        confidence=0.85,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-014",
        _S,
        "SQL function call typical of injection probes (paranoid: function name and parenthesis)",
        r"\b(?:benchmark|coalesce|concat_ws|group_concat|substring|substr|mid|ascii|ord|hex|unhex|char|chr|nchar|"
        r"load_file|sleep|pow|exp|floor|rand|user|current_user|session_user|system_user|database|schema|version|"
        r"left|right|max|min|count|length|len|instr|locate|position|isnull|ifnull|nullif|cast|convert|local|"
        r"pg_\w{1,30}|utl_\w{1,20}|dbms_\w{1,30}|xp_\w{1,30}|sp_\w{1,30}|sys_\w{1,20}|json_\w{1,20})\s?\(",
        targets=ANY_TARGET,
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-019",
        _S,
        "SQL-only function call (a function name no prose or ordinary code uses, with its parenthesis)",
        # names from the MySQL/PostgreSQL/SQLite/MSSQL function references used in blind extraction and
        # fingerprinting probes; generic words (date, time, count, replace) are left to WH-SQLI-014
        r"\b(?:benchmark|coalesce|concat_ws|group_concat|find_in_set|load_file|name_const|sqlite_compileoption_\w{2,4}|"
        r"json_build_object|jsonb_\w{2,20}|starts_with|unistr|strcmp|sysdate|current_user|session_user|system_user|"
        r"ascii|ord|char|chr|nchar|substring|substr|mid|unhex|hex|cast|convert|abs|rtrim|ltrim|pow|rand|sleep|"
        r"database|schema|version|user|compress|uncompress|make_set|elt|iif|isnull|ifnull|nullif|pi|sin|cos|now)\(",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-015",
        _S,
        "MSSQL/MySQL procedure or catalogue probe (xp_cmdshell, sp_executesql, schema_name, charset switch)",
        r"\b(?:xp_cmdshell|xp_regread|xp_dirtree|sp_executesql|sp_oacreate|sp_configure|sp_password|openrowset|"
        r"opendatasource|schema_name|table_schema|into\s(?:out|dump)file|load\sdata\sinfile|"
        r"set\snames\s|alter\s(?:database|table)\s[^\s]{1,60}\scharacter\sset)\b",
        targets=ANY_TARGET,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-016",
        _S,
        "JSON operators on a quoted literal (PostgreSQL ::jsonb, ->>, @>) used to dodge SQL filters",
        r"['\"]\s?::\s?jsonb?\b|::\s?jsonb?\s?(?:->>?|#>>?|@>|<@|\?[|&]?)|\bjson_extract\s?\(",
        targets=ANY_TARGET,
        confidence=0.8,
        view=View.SQL,
    ),
    Rule(
        "WH-SQLI-017",
        _S,
        "Operator chain after a quote or parenthesis (paranoid: and/or/xor with comparison)",
        r"(?:^|['\"`)\s])(?:and|or|xor|&&|\|\|)\s?\(*\s?(?:['\"`]?\w{1,30}['\"`]?\s?)?(?:={1,3}|<>|!=|<|>|\bis\b|"
        r"\blike\b|\bnotnull\b|\bregexp\b|-\s?$|['\"]\s?$)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-018",
        _S,
        "SQL clause fragment (paranoid: select/from/as/limit/case keywords together)",
        r"\bselect\s.{0,60}\bfrom\b|\bas\s['\"`]?\w{1,40}['\"`]?\sfrom\b|\bfrom\s[`\w.]{1,80}\s(?:limit|where|order)\b|"
        r"\bselect\s?\(\s?case\b|\bexecute\s\w{1,30}|\bunion\s(?:all\s)?select\b|['\"`]\s?[*%|]\s?\d|"
        r"['\"`]\s?(?:[<>|%]|is\snot)\s?\w{0,20}\s?(?:--|#|\?)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=4,
    ),
    # -- probes seen as fragments: a fuzzer or a tamper script sends one piece of an injection at a
    # time (CAPEC-66 SQL injection, CAPEC-54 query system for information; CWE-89). Each piece below
    # is SQL grammar that ordinary form input does not contain.
    Rule(
        "WH-SQLI-020",
        _S,
        "Database catalogue or sample-schema name (information_schema, MSysAccessObjects, tempdb, Northwind)",
        # the names DBMS fingerprinting reads (MySQL/PostgreSQL information_schema, MS Access MSys* tables,
        # SQL Server system and sample databases); WH-SQLI-007 needs them dotted, a probe sends them bare
        r"\b(?:information_schema|msysaccessobjects|msysaccessxml|msysqueries|msysrelationships|msysobjects|"
        r"northwind|tempdb|msdb|pg_catalog|sqlite_master|sqlite_temp_master)\b|\bdb_name\s?\(",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-021",
        _S,
        "SQL function name, then its parenthesis, possibly behind spacing or junk (filter-evading call)",
        # "concat (", "md5\\(", "ln) (", "length||!!$(": keyword filters look for name( and miss the gap.
        # Only names no prose uses may stand before a plain space; the others ("date", "sin", "substring":
        # "Sin (2005 film)") count right before the parenthesis or behind junk characters only
        r"\b(?:concat|uncompress|md5|sha1|sha2|lcase|ucase|instr|ifnull|nullif|coalesce|benchmark|substr|log10)"
        r"(?:\s{0,3}|[\\|!$&'\"`).\]?/*=>]{1,6}\s?)\(|"
        r"\b(?:compress|decode|encode|trim|rand|sin|cos|tan|atan|ln|exp|floor|ceil|ceiling|reverse|locate|database|"
        r"schema|ascii|substring|mid|sleep|date|day|month|year|quarter|minute|time|user|password|version|values|"
        r"default|local|log|max|min|count|replace|format|round|left|right|length|lower|upper|repeat|insert|if|in)"
        r"(?:[\\|!$&'\"`).\]?/*=>]{1,6}\s?)?\(",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-022",
        _S,
        "Boolean chain fragment (AND/OR/XOR/||/&& operand then a comparison opening a literal or subquery)",
        # the tail of a blind-injection probe: "and 1!=\"", "OR 1='", "AND 7829=(", "|| langCode == '"
        # ("+" too: a body that is not a form keeps its pluses, which the application reads as spaces)
        r"(?:^|[\s+/;|&(=])(?:and|or|xor|&&|\|\|)[\s+]?\(?[\s+]?[\w@.`]{1,40}[\s+]?[!=<>]{1,3}[\s+]?(?:['\"`(!=]|\d|$)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.65,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-023",
        _S,
        "Statement separator then a data-changing statement or session variable (; update / ; drop / SET @x)",
        # stacked queries (CAPEC-66): the value closes one statement and starts another
        # "; drop shipping" and "; update your details" are prose: a statement needs its object or to end there
        r"(?:^|[;>])[\s+]?(?:update[\s+][\w`.]{1,40}(?:[\s+]set\b|$)|drop(?:[\s+](?:table|database|schema|view|index|"
        r"procedure|function|user|trigger)\b|$)|truncate[\s+](?:table[\s+])?[\w`.]{1,40}$|set[\s+]@@?\w|delete[\s+]from\b)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-024",
        _S,
        "Column alias closing a subquery before FROM (') AS name FROM', ` AS `x` from), SELECT (CASE",
        r"[)!`'\";\d]\s{0,10}as\s{0,10}['\"`]?\w{1,60}['\"`]?\s{0,10}from\b|\bfrom\s[`\w.]{1,80}\sgroup\sby\b|"
        r"\bselect\s?\(\s?case\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.65,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-025",
        _S,
        "A bare SQL operator or predicate as the whole value (<=>, <>, ->, &&, IN (0,1), ) LIKE ()",
        # operator probing: a fuzzer sends each operator alone to learn which ones a filter lets through
        # (bare words such as "rlike" or "like null" show no prefilter symptom, so only operators made of
        # break-out characters are listed)
        r"^\s?(?:<=>|<>|<<|>>|<=|>=|->|&&|\|\||in\s?\(\s?-?\d{1,10}(?:\s?,\s?-?\d{1,10}){1,20}\s?\))\s?$|\)\s?like\s?\(",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-026",
        _S,
        "JSON operator applied to a quoted JSON literal (PostgreSQL/MySQL ->, ->>, ?, ?|, ?&, <@)",
        # CAPEC-66 via JSON functions: WAFs that do not parse SQL JSON syntax let OR '{"a":1}' ? 'a' through
        # (Team82, "JS-ON: security-off", 2022); WH-SQLI-016 handles the ::jsonb casts
        r"(?:'[\[{][^']{0,200}[\]}]'|\"[\[{][^\"]{0,200}[\]}]\")\s?(?:->>?|#>>?|\?[|&]?|<@|@>|<|>)\s?(?:['\"$]|array\s?\[)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.PATH}),
        confidence=0.75,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-027",
        _S,
        'NoSQL (MongoDB) query operator in a parameter name or JSON key ([$ne], {"$where": ...})',
        # CWE-943: frameworks turn u[$ne]=1 and JSON bodies into query objects, so an operator where a
        # value was expected rewrites the query (OWASP WSTG-INPV-05.6 NoSQL injection)
        r"\[\s?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|not|nor|or|and|elemmatch|text|expr|type|size|all)\s?\]|"
        r"^\$(?:ne|nin|regex|where|exists|not|nor|elemmatch|text|expr)$|"
        r"[\"']\$(?:ne|nin|regex|where|exists|not|nor|elemmatch|text|expr)[\"']\s?:",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
)
