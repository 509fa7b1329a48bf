"""PHP code injection beyond the open tag: calls hidden behind comments, variable functions, ini directives.

Written for Watchhouse from the techniques (CWE-94 code injection, CWE-95 eval injection, CAPEC-242;
CWE-434 for session files planted by upload). PHP lets whitespace, comments and even line breaks sit
between a function's name and its parenthesis (``exec /*x*/ (``), calls a function through a
variable or an array element (``$_GET[0](..)``, ``$GLOBALS['f'](1)``), through a string or an
array holding its name (``"system"(..)``, ``[system][0](..)``) and through a string spelled in hex
escapes (``"\\x73ystem"``). These rules look for those shapes; the function names are PHP's own
(from the PHP manual), written here as lists.
"""

from __future__ import annotations

from watchhouse.core.findings import Severity
from watchhouse.detectors.web.rules import AttackClass, Rule, Target

_CODE = AttackClass.CODE_INJECTION
_WHERE = frozenset({Target.QUERY, Target.BODY, Target.PATH, Target.HEADERS})
#: between a PHP function name and "(": spaces, one /* */ comment or one // or # comment up to a line break
#: (unbounded inside, which Hyperscan compiles small; nothing repeats around it)
_GAP = r"\s{0,6}(?:/\*[^*]*\*/\s{0,6}|(?://|#)[^\n]*\n\s{0,6})?"
#: PHP functions whose names are no English word: naming one before "(" is calling it
PHP_FUNCTIONS = (
    r"(?:fopen|fsockopen|pfsockopen|fwrite|fputs|fread|fgets|fpassthru|readfile|filegroup|fileowner|fileperms|"
    r"filemtime|filesize|chroot|symlink|readlink|lchown|lchgrp|tempnam|tmpfile|substr|strrev|strtr|strtolower|"
    r"strtoupper|printf|sprintf|vsprintf|fprintf|intval|floatval|strval|checkdate|serialize|unserialize|"
    r"gzinflate|gzdeflate|gzdecode|gzencode|gzuncompress|gzcompress|bzdecompress|bzcompress|phpinfo|phpversion|"
    r"crypt|unpack|gethostbyname|gethostbynamel|popen|passthru|pcntl_exec|proc_open|escapeshellcmd|"
    r"escapeshellarg|putenv|getenv|preg_replace|preg_match|ereg|eregi|mb_ereg_replace|usort|uasort|uksort|"
    r"mysql_query|mysqli_query|pg_query|sqlite_query|simplexml_load_string|simplexml_load_file|hex2bin|bin2hex|"
    r"urldecode|rawurldecode|htmlspecialchars_decode|html_entity_decode|chr|implode|explode|md5|sha1|"
    r"crc32|uniqid|mt_rand|rand|openssl_decrypt|openssl_encrypt|iconv|curl_exec|curl_init|is_array|is_string|"
    r"is_numeric|is_file|is_dir|is_callable|print_r|var_dump|var_export|file_exists|file_get_contents|"
    r"file_put_contents|strip_tags|str_replace|array_map|array_filter|array_walk|array_diff|date_add|"
    r"ini_set|ini_get|ini_restore|parse_str|get_object_vars|set_error_handler|register_shutdown_function|"
    r"highlight_file|show_source|php_uname|posix_[a-z_]{3,20})"
)
#: PHP functions that are also words ("file", "system", "range"): they must be followed by an argument list
PHP_WORD_FUNCTIONS = (
    r"(?:exec|system|eval|assert|file|touch|range|copy|link|unlink|rename|mkdir|rmdir|chmod|chown|glob|mail|"
    r"extract|include|require|pack|crypt|sleep|usleep)"
)
#: what a raw (still encoded) value must show for these rules to have a chance, for the prefilter:
#: the ini and session-file rules need no breakout character, so they bring their own literals
SYMPTOMS = (
    r"sess_|ssh2\.|(?:opcache|session|mbstring|zend|pcre|mysqli|pdo_mysql|xdebug|apc|assert|phar|suhosin|zlib|"
    r"realpath_cache|user_ini)\.[a-z_]{2,40}(?:\s|\+|%20)*(?:=|%3d)|(?:^|=|%3d)(?:engine|extension|extension_dir|"
    r"zend_extension|precision|smtp|smtp_port|sendmail_path|unserialize_max_depth|memory_limit|max_execution_time|"
    r"allow_url_fopen|allow_url_include|auto_prepend_file|auto_append_file|disable_functions|disable_classes|"
    r"open_basedir|display_errors|error_log|include_path|upload_tmp_dir|short_open_tag)(?:\s|\+|%20)*(?:=|%3d)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "WH-PHP-007",
        _CODE,
        "PHP function call with whitespace or comments before its parenthesis",
        # CWE-95: "exec /*x*/ (", "fopen  (", "curl_init()", "FOOgzinflate()" (the prefix is a filter's decoy)
        rf"(?:\b{PHP_FUNCTIONS}|call_user_func(?:_array)?|get_defined_(?:vars|functions|constants)|"
        rf"gz(?:inflate|decode|uncompress)|bzdecompress|zlib_decode|fsockopen|shell_exec|str_rot13|"
        rf"base64_decode|create_function){_GAP}\(",
        targets=_WHERE,
        confidence=0.75,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-008",
        _CODE,
        "PHP call of a function named by an ordinary word, with an argument list",
        # CWE-95: "exec  (blah)", "file\r\n()", "system($x)", "assert_options (\n\n)"; prose puts
        # a space and a phrase in its parentheses, so the argument list must look like code
        rf"\b{PHP_WORD_FUNCTIONS}(?:_[a-z]{{2,20}})?(?:\(|\s{{0,6}}(?:/\*[^*]*\*/|(?://|#)[^\n]*\n)\s{{0,6}}\(|"
        r"[\t\r\n]\s{0,5}\(|\s{2,6}\()\s?"
        r"(?:\$|['\"]|\)|[a-z_]\w{1,30}\s?[),]|\d{1,10}\s?[,)]|\s{0,4}\))",
        targets=_WHERE,
        confidence=0.7,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-009",
        _CODE,
        "PHP variable function call ($f(..), $a['x'](..), $GLOBALS['f'](..), $obj->$m(..), Cls::$m(..))",
        # CWE-94: a variable, optionally indexed, called as a function; comments and line breaks may
        # sit in between ("$_aB_4c[5]['d'] /*lol*/ (17)", "$function\r\n (23)")
        r"\$[a-z_]\w{0,40}\(|(?:->|::)\$[a-z_]\w{0,40}\s?\(|"
        r"\$[a-z_]\w{0,40}(?:\s{0,5}(?:\[[^\]]{0,30}\]|\{[^}]{0,30}\}|/\*[^*]{0,50}\*/|(?://|#)[^\n]{0,50}\n)){1,6}"
        r"\s{0,5}\(|\$[a-z_]\w{0,40}[\r\n]\s{0,5}\(",
        targets=_WHERE,
        confidence=0.75,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-010",
        _CODE,
        "Function name given as a string, array element or concatenation, then called",
        # CWE-95: "(system)(ls)", "[system][0](ls)", "\"system\"(ls)", "\"\\x73ystem\"(ls)", "(sy.(st).em)(@id)"
        r"[(\[]\s?(?:/\*[^*]{0,40}\*/\s?)?['\"]?(?:system|exec|passthru|shell_exec|popen|proc_open|assert|eval|"
        r"phpinfo|pcntl_exec|create_function|call_user_func)['\"]?\s?(?:/\*[^*]{0,40}\*/\s?)?[)\]]"
        r"\s?(?:\[\s?\d{1,3}\s?\]\s?)?\)?\s?(?:\{[^}]{0,40}\}\s?)?\(|"
        r"['\"](?:system|exec|passthru|shell_exec|assert|phpinfo|popen|eval)['\"]\s?\(|"
        r"['\"][a-z]{0,10}(?:\\x[0-9a-f]{2}[a-z]{0,10}){1,10}['\"]\s?\(|"
        r"\(\s?[a-z]{1,8}\s?\.\s?\(?\s?[a-z]{1,8}\s?\)?\s?\.\s?[a-z]{1,8}\s?\)\s?\(",
        targets=_WHERE,
        confidence=0.8,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-011",
        _CODE,
        "PHP template or BBCode tags around code ({php}, [php], [/php]) or an open tag at the end",
        # CWE-94: Smarty's {php} block and forum [php] tags ran their content as PHP; "<?xml :echo"
        # abuses short open tags; a value ending in "<?" opens one in the page it lands in
        r"[\[{][/\\]?php[\]}]|<\?xml\s?:|<\?\s?$",
        targets=_WHERE,
        confidence=0.8,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-012",
        _CODE,
        "php.ini directive set in a value (opcache.*, session.*, auto_prepend_file=, extension=)",
        # CWE-15 external control of configuration: a value fed to ini_set() or written into a .user.ini
        r"^\s?(?:opcache|session|mbstring|zend|pcre|mysqli|pdo_mysql|xdebug|apc|assert|phar|suhosin|"
        r"zlib|date|mail|soap|curl|openssl|realpath_cache|user_ini)\.[a-z_]{2,40}\s?=|"
        r"^\s?(?:engine|extension|extension_dir|zend_extension|precision|smtp|smtp_port|sendmail_path|"
        r"unserialize_max_depth|memory_limit|max_execution_time|allow_url_fopen|allow_url_include|"
        r"auto_prepend_file|auto_append_file|disable_functions|disable_classes|open_basedir|display_errors|"
        r"error_log|include_path|upload_tmp_dir|short_open_tag|register_globals|safe_mode)\s?=\s?\S",
        targets=frozenset({Target.QUERY, Target.BODY}),
        confidence=0.7,
        severity=Severity.MEDIUM,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-013",
        _CODE,
        "Upload named like a PHP session file (sess_<id>): session poisoning",
        # CWE-434 / CWE-384: a file written as sess_<id> into the session directory becomes a session
        # the attacker chose, or PHP code that session_start() unserialises
        r"(?:^|[/\\])sess_[a-z0-9,-]{16,}\s?$",
        targets=frozenset({Target.HEADERS, Target.BODY}),
        confidence=0.75,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-014",
        _CODE,
        "PHP ssh2 stream wrapper (ssh2.shell://, ssh2.exec://) in a value",
        # CAPEC-175 / CWE-98: the ssh2 extension's wrappers open remote shells from an include or fopen
        r"\bssh2\.(?:shell|exec|tunnel|scp|sftp)://",
        targets=_WHERE,
        confidence=0.85,
        severity=Severity.HIGH,
        paranoia=2,
    ),
    Rule(
        "WH-PHP-015",
        _CODE,
        "Call of an extension-prefixed PHP function (array_*, ldap_*, pg_*, sodium_*, ...) (paranoid)",
        # CWE-95: PHP's extension functions are snake_case with the extension as prefix; any
        # snake_case name before "(" is code, but API query languages (GraphQL) write calls so too
        rf"\b[a-z][a-z0-9]{{1,20}}_[a-z0-9_]{{2,60}}{_GAP}\(",
        targets=_WHERE,
        confidence=0.6,
        severity=Severity.MEDIUM,
        paranoia=3,
    ),
)
