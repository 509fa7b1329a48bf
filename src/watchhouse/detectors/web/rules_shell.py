"""Unix command lines as whole values, wider command vocabularies, and mail-protocol command injection.

Written for Watchhouse from the techniques (CWE-78 OS command injection, CAPEC-88; CWE-93/CAPEC-134
for mail commands smuggled through CR LF). :mod:`.rules_cmdi` needs a separator and a well-known
command; these rules cover what it leaves out:

* a parameter whose *whole value* is a command line, as when a value reaches ``system()`` or an
  ``eval`` of a shell string directly: a command name followed by an option (``-l``, ``--list``),
  an absolute or home path, a dd-style ``if=/path`` operand or a script file. Prose and names
  rarely start with "word -x" or "word /path"; a lone word never fires here below paranoia 3.
* administration and exploitation tools whose names are no English word (``ansible-playbook``,
  ``chef-client``, ``cscli``, ``visudo``, ``zstdcat``, ``busybox``), alone or with arguments.
* a separator followed by any of several hundred Unix utilities (coreutils, util-linux, network and
  archive tools, interpreters, editors with shell escapes; the GTFOBins project lists which of them
  run commands), where :mod:`.rules_cmdi` knows only the classic few.
* SMTP, POP3 and IMAP commands after a CR or LF: a value that ends up in a mail session lets the
  attacker add recipients or read mailboxes.

The vocabulary lists are ours, compiled from the utilities' own manuals.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, Rule, Target, View

_C = AttackClass.CMDI
#: where a whole value can be a command line: parameters, bodies, header values, agent, referrer
_VALUES = frozenset({Target.QUERY, Target.BODY, Target.HEADERS, Target.USER_AGENT, Target.REFERRER})
_BIN = r"(?:/?(?:usr/)?(?:local/)?s?bin/)?"
#: a value starts here: its beginning, or a query parameter inside a referrer URL
_START = r"(?:^|[?&#][\w.\[\]-]{1,30}=)\s?['\"]?"
#: tools whose names are no word of any language: naming them is running them
DISTINCT_TOOLS = (
    r"(?:ansible(?:-(?:config|console|doc|galaxy|inventory|playbook|pull|vault|test|connection|lint))?|"
    r"chef-(?:client|shell|run|vault|solo|apply|zero|server-ctl)|chef\s(?:report|generate|exec|install|push|env|"
    r"show-policy|update|export|shell-init)|knife\s[a-z]{3,12}|cscli|visudo|vipw|zstdcat|zstd|unzstd|busybox|"
    r"bsdtar|gunzip|unxz|xzcat|bzcat|zcat|lz4cat|ifconfig|ipconfig|whoami|uname|nslookup|netstat|traceroute|"
    r"tcpdump|cpulimit|crontab|useradd|usermod|userdel|groupadd|chpasswd|mkfifo|socat|ncat|"
    r"netcat|nmap|masscan|wget|curl|base32|base64|xxd|hexdump|python[23](?:\.\d{1,2})?|irb|tclsh|gdb|c89|c99|"
    r"aa-(?:disable|exec|enforce|complain|status)|lastlog(?:in)?|rmt(?:-tar|-dump)?|systemctl|journalctl|dmesg|"
    r"lsof|pkexec|setcap|getcap|chattr|lsattr|iptables|nft|modprobe|insmod|rmmod|sysctl|mkpasswd|openssl|"
    r"powershell|pwsh|certutil|bitsadmin|wmic|rundll32|regsvr32|mshta|bcdboot|bcdedit|vssadmin|wevtutil|"
    r"reg\s(?:add|query|delete|save)|net\s(?:user|localgroup|view|share|use)|pip[23x]?\s(?:install|download|"
    r"uninstall)|npm\s(?:install|exec|run)|gem\sinstall|apt(?:-get)?\s(?:install|remove|purge)|yum\sinstall|"
    r"shutdown|reboot|poweroff|halt|killall|pkill|xterm|telnet|tftp|ftp\s-[a-z])"
)
#: utilities and shell builtins whose names are also ordinary words: they need arguments that look
#: like a command line's (or, after a separator, at least a word boundary)
COMMON_COMMANDS = (
    r"(?:cat|tac|nl|cut|paste|join|comm|column|fold|fmt|pr|expand|date|dd|diff|cmp|find|locate|grep|egrep|fgrep|"
    r"rg|head|tail|less|more|most|sort|uniq|top|htop|time|who|id|ls|ll|la|dir|vdir|cd|pwd|cp|mv|rm|rmdir|mkdir|"
    r"touch|ln|env|printenv|set|unset|export|kill|ps|du|df|free|uptime|flock|split|tee|tr|wc|xargs|awk|gawk|nawk|"
    r"sed|vi|vim|view|ex|ed|nano|pico|emacs|tar|zip|unzip|gzip|bzip2|xz|7z|ping|dig|host|whois|ssh|scp|sftp|rsync|"
    r"git|svn|pip|pip3|pipx|npm|npx|node|nodejs|deno|php|perl|ruby|lua|python|java|jrunscript|jjs|make|cmake|"
    r"gcc|cc|ld|mount|umount|su|sudo|doas|nc|sh|bash|zsh|ksh|dash|csh|tcsh|fish|exec|eval|source|alias|"
    r"history|trap|echo|printf|stat|file|strings|od|uconv|iconv|watch|script|screen|tmux|expect|nice|ionice|"
    r"timeout|nohup|strace|ltrace|chmod|chown|chgrp|chroot|install|shred|wall|write|mail|mailx|sendmail|rc|run-parts|perf|"
    r"base32|bridge|ip|ss|arp|route|hostname|groups|last|finger|getent|apt|dpkg|rpm|yum|dnf|apk|snap|"
    r"docker|kubectl|podman|crictl|helm|terraform|aws|gcloud|az|mysql|psql|sqlite3|redis-cli|mongo|mongosh|"
    r"type|where|whereis|which|tasklist|taskkill|systeminfo|schtasks|sc|ver|del|copy|xcopy|robocopy|start)"
)
#: what follows a command name when it really is one: an option, a path, a dd-style operand, a script
_ARGUMENTS = (
    r"(?:-{1,2}[a-z0-9]|[/~](?:[\s.a-z_]|$)|\.{1,2}/|[a-z]{1,8}=[/~.]|\$\{?[a-z_]|"
    r"[\w.-]{1,60}\.(?:sh|py|pl|rb|php|js|exe|bat|cmd|ps1|yml|yaml|conf|zst|gz|xz|bz2|log)\b)"
)

#: operands that make "; cat passwd" a command where "; cat food" is prose: system files and directories
_SYSTEM_WORDS = r"(?:passwd|shadow|hosts|group|sudoers|id_rsa|environ|etc|tmp|var|root|dev|proc)\b"

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-SHELL-001",
        _C,
        "Whole value is a command line: a Unix utility followed by an option, a path or a script",
        # CWE-78: a value passed unquoted to system()/popen(); "ls -la", "cat /etc/passwd", "dd if=/dev/..."
        rf"{_START}(?:(?:time|nohup|strace|sudo|nice|env|exec|command)['\"]?\s['\"]?)?{_BIN}"
        rf"(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})['\"]?\s{{1,5}}{_ARGUMENTS}",
        targets=_VALUES,
        confidence=0.8,
        severity=Severity.HIGH,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-002",
        _C,
        "Whole value names an administration or exploitation tool (ansible-*, chef-*, cscli, visudo, busybox)",
        # CWE-78 / CAPEC-88: tool names that are no dictionary word, at the start of a value, alone or
        # run through a wrapper (time, nohup, strace); ``ansible-httpget`` (a real client's agent) is not listed
        rf"{_START}(?:(?:time|nohup|strace|sudo|nice|env|exec)['\"]?\s['\"]?)?{_BIN}{DISTINCT_TOOLS}['\"]?"
        r"(?:\s|$|[;|&`'\"])",
        targets=_VALUES,
        confidence=0.8,
        severity=Severity.HIGH,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-003",
        _C,
        "Command separator followed by a Unix utility (wide vocabulary)",
        # CWE-78: ";column passwd", "|base32 -d", "&&cd etc;", "`vim -c:!pwd`"; an ordinary word needs an
        # option, a path, a system file or a further separator after it ("dogs; cat food" stays quiet), and
        # a lone "&" ("B&W", "books & more") counts only before a command line's arguments.
        rf"(?:[;|`]|&&|\$\(|\|\|)\s?['\"]?(?:(?:time|nohup|strace|sudo|env)\s)?{_BIN}"
        rf"(?:{DISTINCT_TOOLS}['\"]?(?:\s|$|[;|&`)])|"
        rf"{COMMON_COMMANDS}['\"]?(?:\s{{1,5}}(?:{_ARGUMENTS}|[\w.-]{{1,40}}\s?[;|&`]|{_SYSTEM_WORDS})|$|[;|&)]))|"
        rf"&\s?{_BIN}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})\s{{1,5}}{_ARGUMENTS}",
        # user agents list their tokens with "; " ("(iPhone; touch; id)"), and header values include the
        # agent again: both have their own rule, 009
        targets=frozenset({Target.QUERY, Target.BODY, Target.REFERRER}),
        confidence=0.75,
        severity=Severity.HIGH,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-004",
        _C,
        "Whole value starts with a Unix command word (paranoid: also prose like 'cut the ...')",
        rf"{_START}(?:(?:time|nohup|strace|sudo|env)['\"]?\s['\"]?)?{_BIN}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})['\"]?"
        r"(?:\s[\w'\"$./-]|$|[;|&`])",
        targets=_VALUES,
        confidence=0.5,
        severity=Severity.MEDIUM,
        view=View.SHELL,
        paranoia=4,
    ),
    Rule(
        "WH-SHELL-005",
        _C,
        "Wrapper command (time, nohup, strace, sudo) running another command",
        # CAPEC-88 filter evasion: "time sh -c whoami", "ti''me who" (the shell view removes the quotes)
        rf"{_START}(?:time|nohup|strace|ltrace|sudo|doas|nice|ionice|timeout\s\d{{1,5}}|watch|xargs)['\"]?\s['\"]?"
        rf"{_BIN}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})['\"]?(?:\s|$)",
        targets=_VALUES,
        confidence=0.6,
        severity=Severity.MEDIUM,
        view=View.SHELL,
        paranoia=3,
    ),
    Rule(
        "WH-SHELL-006",
        _C,
        "SMTP command after a line break (mail header or command injection)",
        # CWE-93 / CAPEC-134: "\r\nRCPT TO:<victim>" in a value copied into an SMTP dialogue
        r"[\r\n]\s{0,3}(?:mail\sfrom\s?:|rcpt\sto\s?:|ehlo\s|helo\s|vrfy\s|expn\s|starttls\b|data\s?$|"
        r"auth\s(?:plain|login|cram-md5|xoauth2)\b)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.85,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-007",
        _C,
        "POP3 or IMAP command after a line break (mailbox command injection)",
        # CWE-93 / CAPEC-134 against webmail back ends: "\r\nRETR 1", "\r\na001 SELECT INBOX"
        r"[\r\n]\s{0,3}(?:retr\s\d|dele\s\d|top\s\d{1,6}\s\d|list\s\d|uidl\s\d|apop\s[\w.@-]{1,64}\s[0-9a-f]{32}|"
        r"auth\s[\w-]{2,40}\s[a-z0-9+/]{8,}=*|user\s[\w.@-]{1,64}\s?[\r\n]|pass\s\S{1,64}\s?[\r\n]|"
        r"[a-z0-9]{1,8}\s(?:authenticate|login|select|examine|status|fetch|store|uid|copy|move|list|lsub|append|"
        r"expunge|search|create|delete|rename|subscribe|idle|logout|capability)\s)",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-008",
        _C,
        "Bare mail-protocol verb after a line break (paranoid: QUIT, HELP, DATA, NOOP)",
        r"[\r\n]\s{0,3}(?:quit|help|data|noop|rset|stat|list|capa|logout)(?:\s[\w.@<>-]{1,40})?\s?(?:$|[\r\n])",
        targets=frozenset({Target.QUERY, Target.BODY, Target.HEADERS}),
        confidence=0.5,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
    Rule(
        "WH-SHELL-009",
        _C,
        "Command separator in a user agent or header followed by a Unix utility with arguments, or ending it",
        # CWE-78 through a logged or processed User-Agent (";cp /var/log/... evil.php", "a;env"); agents list
        # their product tokens with "; ", so a bare word after a semicolon is not enough here
        rf"(?:[;|`]|&&|\$\(|\|\|)\s?['\"]?{_BIN}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})['\"]?(?:\s{{1,5}}{_ARGUMENTS}|\s?$)",
        targets=frozenset({Target.USER_AGENT, Target.HEADERS}),
        confidence=0.75,
        severity=Severity.HIGH,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-010",
        _C,
        "Bash network redirection to /dev/tcp or /dev/udp (reverse shell)",
        # CWE-78 / CAPEC-88: "exec 5<>/dev/tcp/host/port", "sh >$d/tcp/1.2.3.4/777" open a socket from bash
        r"/dev/(?:tcp|udp)/[\w.-]{1,100}/\d{1,5}|\$\{?[a-z_]\w{0,20}\}?/(?:tcp|udp)/[\w.-]{1,100}/\d{1,5}",
        targets=_VALUES,
        severity=Severity.CRITICAL,
        confidence=0.9,
        paranoia=1,
    ),
    Rule(
        "WH-SHELL-011",
        _C,
        "Separator followed by a shell variable run as the command ('; $a cat x', '&&$c $a$b')",
        # CAPEC-88 filter evasion: the command name is assigned first ("c=cat") and run through the variable
        rf"(?:[;|`]|&&|\$\()\s?\$\{{?[a-z_]\w{{0,20}}\}}?(?:\s{{1,5}}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS}|\$|-)|\s?$)",
        targets=_VALUES,
        confidence=0.75,
        view=View.SHELL,
        paranoia=2,
    ),
    Rule(
        "WH-SHELL-012",
        _C,
        "Backtick or $( ) substitution of any Unix utility with an argument",
        # CWE-78: "`cut crs312`", "$(dig x)"; rules_cmdi's WH-CMDI-002 knows only the classic commands
        rf"(?:`|\$\()\s?{_BIN}(?:{COMMON_COMMANDS}|{DISTINCT_TOOLS})\s[^`)]*[`)]",
        targets=_VALUES,
        confidence=0.75,
        view=View.SHELL,
        paranoia=2,
    ),
)
