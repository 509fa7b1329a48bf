"""SQL injection fragments: the pieces of a query an injected value completes, matched on the SQL view.

Written for Watchhouse from the techniques (CWE-89, CAPEC-66 SQL injection; CAPEC-7 blind SQL
injection). :mod:`.rules_sqli` looks for whole attacks (a break-out plus a condition, UNION SELECT,
a stacked statement). An injection point inside an ``ORDER BY``, a column list or a function call
needs less: ``) AS x FROM``, ``ORDER BY``, ``FLOOR (``, ``IN (1,2)``, ``'x'!='y``. Each rule below
asks for SQL grammar no prose has: an alias before FROM, a whole value that is one SQL operator or
one function opening, a quoted string compared with another, a keyword between a quote and a
comment.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target, View

_S = AttackClass.SQLI
_VALUES = frozenset({Target.QUERY, Target.BODY, Target.HEADERS})
#: SQL functions (MySQL, PostgreSQL, MSSQL, Oracle, SQLite manuals) an injection calls to compute or leak
SQL_FUNCTIONS = (
    r"(?:floor|ceil|ceiling|round|ln|log|log10|exp|sqrt|power|pow|mod|abs|sign|sin|cos|tan|rand|random|minute|"
    r"hour|second|quarter|year|month|day|week|now|curdate|sysdate|user|current_user|session_user|system_user|"
    r"database|schema|version|values|if|ifnull|nullif|coalesce|isnull|concat|concat_ws|compress|uncompress|"
    r"substring|substr|mid|left|right|ascii|ord|char|chr|hex|unhex|length|len|lower|upper|sleep|benchmark|time|"
    r"date|in|elt|field|find_in_set|load_file|group_concat|json_extract|cast|convert|count|sum|avg|min|max|"
    r"md5|sha1|instr|locate|position|replace|reverse|trim|ltrim|rtrim|space|repeat|lpad|rpad|strcmp|"
    r"char_length|bit_length|octet_length|soundex|glob|likelihood|likely|unlikely|typeof|zeroblob|randomblob|"
    r"json|json_valid|quote|printf|db_name|user_name|host_name|is_srvrolemember|updatexml|extractvalue)"
)
_SP = r"(?:\s|\+|%20|%09|%0a)"
#: what a raw (still encoded) value must show for these rules to have a chance, for the prefilter:
#: whole-value operators and clauses carry no breakout character of their own
SYMPTOMS = (
    r"(?:^|=|%3d)(?:xor|rlike|regexp|not" + _SP + r"?null|having|execute)\b|(?:^|=|%3d)(?:order|group)" + _SP + r"+by|"
    r"is" + _SP + r"+(?:not" + _SP + r"+)?null|!=|%21%3d|==|%3d%3d|<=>|%3c%3d%3e|"
    r"(?:^|=|,|%2c)[0-9]{1,10}" + _SP + r"*(?:=|%3d|<|%3c|>|%3e)|" + _SP + r"(?:like|is|not)" + _SP + r"|"
    r"(?:^|=|%3d)(?:like|is|drop|n?varchar|--)|::|utl_|msdasql|/\*(?:\+|%2b)|4294967296|2\.2250738585072011e-308|create"
    + _SP
    + r"+(?:table|database|schema|index|view|function|procedure|trigger|user)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-SQLI-028",
        _S,
        "Column alias before FROM (') AS x FROM', '` AS `y` from')",
        # CAPEC-66: a value injected into a select list closes an expression and names it
        r"""[)`'"!;\d]\s?as\s[`'"\[]?\w{0,60}[`'"\]]?\s?from\b""",
        targets=_VALUES,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-029",
        _S,
        "Whole value is a SQL clause or operator (ORDER BY, GROUP BY x, XOR, IS NULL, !=, EXECUTE proc)",
        # CAPEC-66: injection points inside ORDER BY or WHERE take a bare clause; no form field holds one
        r"^\s?(?:(?:order|group)\sby(?:\s(?:[\w.`\[\]]{1,60}\s(?:asc|desc)|\d{1,3}))?|xor|rlike|regexp|not\sregexp|"
        r"is\s(?:not\s)?null|like\snull|not\s?null|<=>|!=|==|having\s\d{1,10}\s?=?|execute\s[a-z_]{3,40})\s?$",
        targets=_VALUES,
        confidence=0.7,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-030",
        _S,
        "Whole value opens a SQL function call ('FLOOR (', 'user (', 'values (')",
        # CAPEC-66: a value that starts a function call for the query around it to complete
        rf"^\s?{SQL_FUNCTIONS}\s?\.?\s?\(\s?(?:\$\(|'\$\(|['\"]?\s?$)",
        targets=_VALUES,
        confidence=0.7,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-031",
        _S,
        "SQL function called on a subquery, a number list or a variable",
        # CAPEC-66/7: "floor (select ...", "in (2147483647,-1)", "if(@a", "concat (0x41"
        rf"\b{SQL_FUNCTIONS}\s?\(\s?(?:select\b|@@?\w|0x[0-9a-f]|(?:-?\d{{1,12}}\s?,\s?){{1,50}}-?\d{{1,12}}\s?\))",
        targets=_VALUES,
        confidence=0.75,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-032",
        _S,
        'Quote break-out, SQL keyword, then a comment ("user\'collate nocase--", "\' notnull --")',
        # CAPEC-66: the keyword continues the query, the comment cuts off the rest of it
        r"""['"`]\s?(?:and|or|xor|collate|notnull|isnull|is|not|like|ilike|glob|regexp|rlike|div|having|order|"""
        r"""group|union|limit|procedure|into|escape)\b[^'"]{0,60}(?:--|#|;)""",
        targets=_VALUES,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-033",
        _S,
        "Quote glued to a boolean operator and another quote (a'or'a, \\'or'1, '||true)",
        # CAPEC-66: quotes in place of spaces keep the operator a separate token for SQL
        r"""(?:\w|\\)['"`](?:or|and|xor|div|like|\|\||&&)['"`(]|\\['"`]\s?(?:or|and|xor)\b|['"`]{2}\s?(?:or|and)\s|"""
        r"""['"`]\s?(?:or|and|\|\||&&)\s?(?:true|false|not\b)|['"`]\s?(?:or|and|\|\||&&)\s?\(?\s?[a-z_]\w{1,30}\s?\(""",
        targets=_VALUES,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-034",
        _S,
        "Quoted strings compared with each other ('x'!='y, 'admin', '1'='1')",
        # CAPEC-66 tautology with string literals
        r"""['"][^'"]{0,30}['"]\s?(?:!=|<>|=|<=>)\s?['"]""",
        targets=_VALUES,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-035",
        _S,
        "Whole value is a quoted or SQL-only comparison, or a leading boolean operator (\"1'='1\", '11!=1', 'or 88')",
        # CAPEC-66 tautologies without a quote, for numeric injection points
        # a bare "1=1" or "2>=1" is left alone: people search for it (a maths question, a query
        # about SQL); quoted operands or SQL-only operators (<>, <=>, like, is) are not arithmetic
        r"""^\s?(?:['"]-?\d{1,10}['"]?|-?\d{1,10}['"])\s?(?:=|!=|<>|<=>|<=|>=|\slike\s|\sis\s(?:not\s)?|"""
        r"""\snot\s(?:like|regexp|rlike|glob)\s)\s?['"]?-?\d{1,10}['"]?\s?$|"""
        r"""^\s?-?\d{1,10}\s?(?:<>|<=>|\slike\s|\sis\s(?:not\s)?|\snot\s(?:like|regexp|rlike|glob)\s)"""
        r"""\s?['"]?-?\d{1,10}['"]?\s?$|^\s?-?\d{1,10}\s?(?:!?=|<=|>=)\s?['"]-?\d{1,10}['"]?\s?$|"""
        r"""^\s?-?\d{1,10}\s?!=\s?-?\d{1,10}\s?$|,\s?\d{1,10}\s?=\s?\d{1,10}\s?$|"""
        r"""^['"]?\s?(?:or|xor|and)\s(?:'[^']{0,30}'|"[^"]{0,30}"|\d{1,12})\s?(?:[<>=!,-]|$)""",
        targets=_VALUES,
        confidence=0.7,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-036",
        _S,
        "SQL data-definition or procedural statement (CREATE TABLE x, ALTER TABLE x ADD, DECLARE @v, EXEC (@)",
        # CAPEC-66 stacked or second-order statements
        r"\bcreate\s(?:temporary\s)?(?:table|database|schema|index|view|function|procedure|trigger|user)\s"
        r"(?:if\snot\sexists\s)?[\w`\"'\[\].]{1,64}\s?(?:\(|as\s|;|$)|"
        r"\balter\stable\s[`\"\w.\[\]]{1,80}\s(?:add|drop|change|modify|rename|alter)\b|\bexec(?:ute)?\s?\(\s?@|"
        r"\bdeclare\s?@\w|\bexecute\s(?:immediate|sp_|xp_)|\bexec\smaster\.|\bvalues\s?\(\s?['\"\d]|"
        r"\bselect\s\(\s?case\b|\bexcept\s(?:all\s)?select\b|\bhaving\s\d{1,10}\s?=",
        targets=_VALUES,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-037",
        _S,
        "Database-specific syntax: PostgreSQL casts and large objects, Oracle packages, OLE DB providers",
        # CAPEC-66: "password::int" (error-based cast), "lo_get(", "div(23,-2)", "utl_http", "msdasql",
        # "overlay(x placing '' from 1 for 0)"
        r"::(?:int|integer|int4|int8|text|varchar|bigint|numeric|regclass|oid|bytea|json|jsonb|xml|bool)\b|"
        r"\blo_(?:get|import|export|open|creat|unlink|from_bytea|put)\s?\(|\bdiv\s?\(\s?-?\d[\d.]{0,12}\s?,|"
        r"\butl_(?:http|inaddr|file|smtp|tcp)\b|\bmsdasql\b|\bsqloledb\b|\boverlay\s?\([^)]{0,60}\splacing\s|"
        r"\barray\[[^\]]{1,30}\]\s?is\s|\bfrom\s[`\w.\[\]]{1,64}\s(?:where|group\sby|order\sby|limit)\b|"
        r"\bfrom\s`[\w]{1,64}`\.`",
        targets=ANY_TARGET,
        confidence=0.8,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-038",
        _S,
        "Quote followed by a SQL statement verb (paranoid: \"' union/\", '\" ALTER A')",
        r"""^\s?['"`]\s(?:alter|union|select|drop|create|truncate|rename|insert|update|delete|merge|grant|revoke|"""
        r"""exec)\b[\s/(]""",
        targets=_VALUES,
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SQL,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-041",
        _S,
        "Value ending in a boolean operator or opening a chained condition ('/3 or ', '=(select', '4or2-')",
        # CAPEC-66: the application's query supplies the operand after the injected operator
        r"(?:/[\w.-]{1,40}|\d)\s(?:or|and|xor)\s?\(?\s?$|\bset\s@\w|=\s?\(\s?select\b|^\s?--\s?(?:alter|drop|select|insert|update|"
        r"delete|create)\b|\b\d{1,10}(?:or|and|xor)\d{1,10}\s?[-+*/=<>]|\bwhen\s\d{1,10}\sthen\b|\bcase\swhen\b|"
        r"\blike\s['\"]\s?$|union\s?select\s?from|\bselect\s(?:pg_)?sleep\b|\bselect\s0x[0-9a-f]{2}|\\0x[0-9a-f]{2}|"
        r"\d\.e[(.]|^\s?drop\s(?:(?:table|database|schema|view|index|user|procedure|function|trigger|sequence)\s"
        r"[\w`\"\[\].]{1,64}\s?(?:;|--|#|$)|[\w`\"\[\]]{1,64}\s?(?:;|--|#))|\bor\s\d{1,10}\s?#|\bor\s?--",
        targets=_VALUES,
        confidence=0.75,
        view=View.SQL,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-042",
        _S,
        "MySQL optimizer hint or overflow constant (/*+ ... */, 4294967296, 2.2250738585072011e-308)",
        # CAPEC-66: hints survive comment stripping in MySQL/Oracle; the constants crash or wrap numeric
        # parsers (CVE-2010-4645 and kin)
        r"/\*\s?\+|\b(?:4294967296|9223372036854775808|2\.2250738585072011e-308|1\.7976931348623157e\+?308)\b|"
        r"\b(?:n?varchar|nchar|sysname|xp_cmdshell|sp_executesql)\b",
        targets=_VALUES,
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-SQLI-043",
        _S,
        'Quote beside SQL punctuation or a number (paranoid: "`>65", "\':0:6", "\' = # \'")',
        # CAPEC-66 probes that close a literal and continue with an operator, a number or a comment
        r"""['"`]\s?(?:[=*?#^<>:;,)\]}(\[]|\d|\s(?:or|and|xor|id)\s)|[\^>]['"`]|#{2}|['"`]{2}\s?(?:or|and)\b|"""
        r"""^\s?[`'][\w]{1,30}[`']\s?$|\w['"]\s(?:or|and)\s\w|"'|'"|\\x[0-9a-f]{2}""",
        targets=_VALUES,
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-044",
        _S,
        "Run of SQL meta-characters (paranoid: six specials in a value, or four of one in a row)",
        # CAPEC-66 character-anomaly heuristic: obfuscated injections are dense in punctuation
        r"(?:[~!@#$%^&*()=+{}\[\]|:;\"'`<>\\][^~!@#$%^&*()=+{}\[\]|:;\"'`<>\\]{0,20}){6}|"
        r"\.{4}|-{4}|!{4}|@{4}|#{4}|\${4}|%{4}|\^{4}|&{4}|\*{4}|~{4}|'{4}|\({4}|\){4}",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-SQLI-045",
        _S,
        "Two SQL meta-characters close together (most paranoid)",
        r"[~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-][^~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-]{0,20}[~!@#$%^&*()=+{}\[\]|:;\"'`<>\\-]",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.5,
        severity=Severity.LOW,
        paranoia=4,
    ),
)
