"""OS command injection signatures, mostly on the shell view (quoting tricks and ``${IFS}`` undone).

An injection needs two things: a way out of the intended argument (``;``, ``|``, ``&&``, a
backtick or ``$(``) and a command worth running. Common English words that are also commands
("cat", "type", "id") only count when followed by what a shell command would take (an option,
a path, a separator or the end of the value), so "dogs; cat food" stays quiet.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import ANY_TARGET, AttackClass, Rule, Target, View

_C = AttackClass.CMDI
_SEP_STRONG = r"(?:[;|`\n]|&&|\$\()"
_BIN = r"(?:/?(?:usr/)?(?:local/)?s?bin/)?"
# commands unusual enough in prose that a separator before them suffices
_DISTINCT = (
    r"(?:whoami|uname|wget|curl|ncat|netcat|bash|zsh|ksh|dash|powershell(?:\.exe)?|pwsh|nslookup|ifconfig|"
    r"ipconfig|netstat|systeminfo|chmod|chown|tftp|telnet|useradd|passwd|base64|xterm|mkfifo|crontab|certutil|"
    r"bitsadmin|rundll32|regsvr32|mshta|wmic|net\s(?:user|localgroup|view)|sh\s-[ci]|cmd(?:\.exe)?\s?/[ck]|nc\s-)"
)
# ambiguous words: need an argument-looking continuation
_COMMON = (
    r"(?:id|ls|cat|type|dir|echo|ping|sleep|rm|cp|mv|ps|kill|uname|head|tail|more|less|nc|sh|perl|python\d?|php|"
    r"ruby|env|set)"
)
_ARGS = (
    r"(?:\s?(?:$|[;|&`)'\"#\n])|" + r"\s-{1,2}[a-z]|\s\$|\s?[a-z]:[\\/]|\s(?:/|\.{1,2}/|~/)|"
    r"\s[\w.-]{1,40}\.(?:txt|ini|conf|sh|php|log|exe|bat|pl|py|xml|config|passwd)\b|"
    r"\s\d{1,3}(?:\.\d{1,3}){3}\b|\shttps?://|\s\d{1,3}\s?(?:$|[;|&`]))"
)
#: after a lone "&" and a space ("books & more"), a bare word ending the value is prose; glued ("1.1.1.1&id") it is not
_ARGS_AFTER_AMP = _ARGS.replace(r"\s?(?:$|[;|&`)'\"#\n])", r"\s?[;|&`)'\"#\n]", 1)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-CMDI-001",
        _C,
        "Command separator followed by a shell command",
        rf"{_SEP_STRONG}\s?(?:{_BIN}{_DISTINCT}\b|{_BIN}{_COMMON}\b{_ARGS})|&\s?(?:{_BIN}{_DISTINCT}\b|{_BIN}{_COMMON}\b"
        rf"{_ARGS_AFTER_AMP})|&{_BIN}{_COMMON}\s?$|^\s?{_BIN}(?:id|whoami|uname|pwd|ls)\s?[;|&`]",
        confidence=0.9,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-002",
        _C,
        "Command substitution (backticks or $( ))",
        rf"`\s?{_BIN}(?:{_DISTINCT}|{_COMMON}|true|false|sleep)\b[^`]{{0,80}}`|\$\(\s?{_BIN}(?:{_DISTINCT}|{_COMMON})\b",
        targets=ANY_TARGET,
        confidence=0.9,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-003",
        _C,
        "Absolute path to a shell or system binary in a parameter",
        r"(?:^|[\s;|&`'\"(=])/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|da|c|tc)?sh\b|"
        r"(?:^|[\s;|&`'\"(=])/(?:usr/)?s?bin/(?:id|ls|cat|sleep|echo|uname|whoami|wget|curl|nc|perl|python\d?|ping)\b|"
        r"\bcmd(?:\.exe)?\s?/[ck]\s|\bpowershell(?:\.exe)?\s-(?:e|enc|encodedcommand|c|command|nop|w)\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT}),
        confidence=0.85,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-004",
        _C,
        "Shell field-separator or expansion trick (${IFS}, $'\\x..')",
        # base view: the shell view would already have turned ${IFS} into a space
        r"\$\{ifs\}|\$ifs\$\d|\$ifs\b|\$\{[a-z_]{1,20}:-[^}]{0,20}\}|\$'\\x[0-9a-f]{2}",
        targets=ANY_TARGET,
        confidence=0.9,
    ),
    Rule(
        "WH-CMDI-005",
        _C,
        "Shellshock function definition (CVE-2014-6271)",
        r"\(\s?\)\s?\{\s?:?\s?;?\s?\}\s?;",
        targets=ANY_TARGET,
        severity=Severity.CRITICAL,
        confidence=0.95,
    ),
    Rule(
        "WH-CMDI-006",
        _C,
        "Server-side include or interpreter call executing a command",
        r"<!--\s?#\s?(?:exec|include)\s|\b(?:system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|"
        r"runtime\.getruntime\(\)\.exec|os\.system|subprocess\.\w{1,20})\s?\(\s?['\"`]",
        targets=ANY_TARGET,
        confidence=0.9,
    ),
    Rule(
        "WH-CMDI-007",
        _C,
        "Timing probe with ping/sleep (blind command injection)",
        r"(?:^|[\s;|&`'\"(])(?:ping(?:\.exe)?\s-[cinw]\s?\d{1,4}\s\S|sleep\s\d{1,3}\s?(?:$|[;|&`]))|"
        r"(?:^|[\s;|&`'\"(])ping(?:\.exe)?\s[^;|&]{0,40}\b127\.0\.0\.1\b",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.8,
        severity=Severity.MEDIUM,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-008",
        _C,
        "Windows directory listing of a drive (dir c:\\)",
        # '+' too: a doubly encoded form value turns spaces into literal pluses
        r"(?:^|[\s;|&`'\"+])dir[\s+](?:/\w[\s+])?[a-z]:(?:[\\/]|$|\s|\||\+)",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.8,
        severity=Severity.MEDIUM,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-009",
        _C,
        "Windows cmd.exe control flow (FOR /F ... IN (...) DO, IF EXIST/DEFINED/ERRORLEVEL)",
        # cmd.exe batch syntax (Microsoft "for" / "if" command reference); never prose in a parameter
        # options may repeat and take an argument ("/r c:\\", "/f \"usebackq\""); the loop variable is any name
        r"(?:^|[\s;|&(])for\s(?:/[dflr]\s(?:\"[^\"]{0,100}\"\s|[^\s%\"]{1,100}\s)?){0,3}%%?[^\s%]{1,31}\sin\s?\(|"
        r"(?:^|[\s;|&(])if\s(?:/i\s)?(?:not\s)?(?:exist|defined|errorlevel|cmdextversion)\s[^\s]{1,200}\s"
        r"(?:\(|goto\b|call\b|echo\b|del\b|start\b|cmd\b|set\b|copy\b|type\b|exit\b|[a-z]{1,20}\.(?:exe|bat|cmd)\b)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.85,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-010",
        _C,
        "PowerShell cmdlet invocation (Invoke-Expression, IEX, DownloadString, Start-Process)",
        r"\b(?:invoke-(?:expression|webrequest|command|restmethod|item|wmimethod)|start-process|new-object\s(?:-\w{1,20}\s)?"
        r"(?:system\.)?net\.webclient|downloadstring\s?\(|downloadfile\s?\(|iex\s?\(|get-(?:content|childitem|process|wmiobject)"
        r"\s|set-executionpolicy|add-mppreference|frombase64string\s?\()",
        targets=ANY_TARGET,
        confidence=0.85,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-011",
        _C,
        "Separator followed by a Unix command and an argument (paranoid: wider command list)",
        r"(?:[;|`]|&&|\$\()\s?(?:/?(?:usr/)?s?bin/)?(?:ansible(?:-[a-z]{1,10})?|chef-\w{1,10}|cscli|zstdcat|busybox|"
        r"lastlog|rmt(?:-\w{1,10})?|gcc\d{0,2}(?:\.\d{1,2})?|ll|la|time|nohup|xargs|awk|sed|find|grep|tar|zip|unzip|dd|"
        r"openssl|socat|ssh|scp|rsync|sudo|su|at|screen|tmux|strace|gdb|nmap|tcpdump|killall|pkill|shutdown|reboot|"
        r"mount|useradd|usermod|crontab|systemctl|service|docker|kubectl|git|svn|npm|pip\d?|node|java|php\d?|"
        r"python\d?(?:\.\d{1,2})?|ruby|lua|tclsh|expect|trap|history|alias|export|unset|source|eval|exec)\b",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT}),
        confidence=0.7,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-012",
        _C,
        "Whole value is a Unix command with arguments (paranoid: command without separator)",
        r"^\s?(?:time\s)?(?:ansible(?:-[a-z]{1,10})?|chef-\w{1,10}|cscli|zstdcat|busybox|ll|sh\s-c|bash\s-c|"
        r"python\d?(?:\.\d{1,2})?|perl|ruby|nc|ncat|wget|curl|cat|ls|id|whoami|uname|chmod|rm|set|trap|history)"
        r"(?:\s[-/~.$\w]|$)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT}),
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SHELL,
        paranoia=3,
    ),
    Rule(
        "WH-CMDI-013",
        _C,
        "Shell glob or brace tricks to spell a path (/???/c?t, /e*c/p*d, {cat,/etc/passwd}, fork bomb)",
        r"/\?{2,3}/\??[a-z?]{0,3}\?|/[a-z]{0,2}[*?\[][a-z*?/\]]{0,20}/[a-z*?\[\]]{0,10}(?:wd|ss|ow)|"
        r"\{\s?(?:cat|ls|id|wget|curl|nc|bash|sh|echo),[^}]{1,100}\}|:\s?\(\s?\)\s?\{\s?:\s?\|\s?:\s?&\s?\}|"
        r"[<>]\s?\(\s?(?:cmd|ls|id|cat|whoami|bash|sh|nc|curl|wget)\b|\$\[\s?\]|\$\(\(\s?\d",
        targets=ANY_TARGET,
        confidence=0.8,
        view=View.SHELL,
    ),
    Rule(
        "WH-CMDI-014",
        _C,
        "Windows cmd.exe IF comparison (IF [/I] [NOT] a==b, IF %x% EQU/NEQ/LSS/LEQ/GTR/GEQ y)",
        # CWE-78 on Windows: batch comparison syntax (Microsoft "if" command reference) injected into a
        # parameter that reaches cmd.exe; "==" and the three-letter operators never occur in prose
        # after a leading "if" with cmd.exe's /i switch or %variable% operands
        r"(?:^|[\s;|&(])if(?:\s{1,10}|\s{0,10}/i\s{1,10})(?:/i\s{1,10})?(?:not\s{1,10})?[^\s]{1,80}\s{0,10}"
        r"(?:==\s{0,10}[^\s=]|\s(?:equ|neq|lss|leq|gtr|geq)\s)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-015",
        _C,
        "Shell alias definition (alias name=command) smuggling a command under another name",
        # CAPEC-88 OS command injection: "alias a=curl&a evil" renames a filtered command
        r"(?:^|[;|&\s`])alias\s{1,5}(?:[-+][a-z]{1,4}\+?\s{1,5}){0,3}['\"]?[\w.-]{1,40}['\"]?=",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-016",
        _C,
        "Shell expansion syntax in a value (${var#..}, $((..)), $[..], >(cmd) process substitution)",
        # CWE-78: command substitution and parameter expansion run whatever they name; rules 002/013 need
        # a known command inside, this one the bash grammar itself (base view: the shell view expands it)
        # a plain ${name} or $(name) is left alone: crawlers replay unexpanded template links
        # (/x?file=${linkto}) and prices read "$(USD)"
        r"\$\{\s?[a-z_]\w{0,30}\s?[#%:/^,][^}]{0,40}\}|\$\(\(|\$\[|"
        r"[<>]\(\s?[a-z]{1,20}\s",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-CMDI-017",
        _C,
        "Shell glob bracket spelling a system path (/etc/pas[s]wd, /bi[n]/bash, /usr/[a-z]in)",
        # CAPEC-88 filter evasion: the shell expands the bracket, a word filter never sees "passwd"
        r"(?:^|[\s;|&=/'\"])/?(?:etc|bin|usr|sbin|proc|dev|tmp|var|home|b[i?]|e[t?])/?[\w.*?-]{0,20}"
        r"\[[!^]?[a-z/-]{1,8}\][\w/]{0,20}|\s/[a-z]\[[a-z/]{1,8}\][a-z]",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
)
