"""Which events a Sigma log source means, for each dataset Watchhouse reads.

A Sigma rule names an abstract log source (``product: windows, category: process_creation``);
the events it applies to are those of particular channels and event ids (Sysmon event 1, or
Security event 4688 with other field names). This table is the Windows part of that knowledge,
written from the Sigma log-source documentation and Microsoft's channel names; Linux log sources
go to the ``host`` dataset (auditd records, syslog lines by program). A log source this
table does not know makes the rule *unrouted*: it still compiles, but no Watchhouse dataset
feeds it, and ``rules list`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sigma.rule import SigmaLogSource

from watchhouse.core.events import Dataset

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"


@dataclass(frozen=True)
class Alternative:
    """One way the log source shows up: all ``conditions`` hold, fields renamed by ``aliases``."""

    conditions: tuple[tuple[str, tuple[str | int, ...]], ...]
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Route:
    dataset: Dataset
    alternatives: tuple[Alternative, ...]


class Unrouted(Exception):  # noqa: N818 - a verdict on a rule
    """No Watchhouse dataset carries this log source; the message says which."""


def _sysmon(*event_ids: int, **extra: tuple[str, ...]) -> tuple[Alternative, ...]:
    conditions: list[tuple[str, tuple[str | int, ...]]] = [("Channel", (SYSMON,)), ("EventID", event_ids)]
    conditions.extend((name, values) for name, values in extra.items())
    return (Alternative(tuple(conditions)),)


_POWERSHELL = "Microsoft-Windows-PowerShell/Operational"
_CLASSIC = "Windows PowerShell"
_DEFENDER = "Microsoft-Windows-Windows Defender/Operational"

WINDOWS_CATEGORIES: Mapping[str, tuple[Alternative, ...]] = MappingProxyType(
    {
        "process_creation": (
            *_sysmon(1),
            Alternative(
                (("Channel", (SECURITY,)), ("EventID", (4688,))),
                MappingProxyType({"Image": "NewProcessName", "ParentImage": "ParentProcessName"}),
            ),
        ),
        "file_change": _sysmon(2),
        "network_connection": _sysmon(3),
        "sysmon_status": _sysmon(4, 16),
        "process_termination": _sysmon(5),
        "driver_load": _sysmon(6),
        "image_load": _sysmon(7),
        "create_remote_thread": _sysmon(8),
        "raw_access_thread": _sysmon(9),
        "process_access": _sysmon(10),
        "file_event": _sysmon(11),
        "registry_event": _sysmon(12, 13, 14),
        "registry_add": _sysmon(12, EventType=("CreateKey",)),
        "registry_delete": _sysmon(12, EventType=("DeleteKey", "DeleteValue")),
        "registry_set": _sysmon(13),
        "registry_rename": _sysmon(14),
        "create_stream_hash": _sysmon(15),
        "pipe_created": _sysmon(17, 18),
        "wmi_event": _sysmon(19, 20, 21),
        "dns_query": _sysmon(22),
        "file_delete": _sysmon(23, 26),
        "clipboard_change": _sysmon(24),
        "process_tampering": _sysmon(25),
        "file_delete_detected": _sysmon(26),
        "file_block_executable": _sysmon(27),
        "file_block_shredding": _sysmon(28),
        "file_executable_detected": _sysmon(29),
        "sysmon_error": _sysmon(255),
        "ps_module": (Alternative((("Channel", (_POWERSHELL,)), ("EventID", (4103,)))),),
        "ps_script": (Alternative((("Channel", (_POWERSHELL,)), ("EventID", (4104,)))),),
        "ps_classic_start": (Alternative((("Channel", (_CLASSIC,)), ("EventID", (400,)))),),
        "ps_classic_provider_start": (Alternative((("Channel", (_CLASSIC,)), ("EventID", (600,)))),),
        "ps_classic_script": (Alternative((("Channel", (_CLASSIC,)), ("EventID", (800,)))),),
        "antivirus": (
            Alternative(
                (
                    ("Channel", (_DEFENDER,)),
                    ("EventID", (1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116)),
                ),
                MappingProxyType({"Signature": "ThreatName", "Filename": "Path"}),
            ),
        ),
    }
)

WINDOWS_SERVICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "security": (SECURITY,),
        "system": ("System",),
        "application": ("Application",),
        "sysmon": (SYSMON,),
        "powershell": (_POWERSHELL,),
        "powershell-classic": (_CLASSIC,),
        "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
        "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
        "windefend": (_DEFENDER,),
        "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
        "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
        "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
        "applocker": (
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker/MSI and Script",
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
        ),
        "dns-client": ("Microsoft-Windows-DNS Client Events/Operational",),
        "dns-server": ("DNS Server",),
        "dns-server-analytic": ("Microsoft-Windows-DNS-Server/Analytical",),
        "ntlm": ("Microsoft-Windows-NTLM/Operational",),
        "msexchange-management": ("MSExchange Management",),
        "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
        "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
        "appmodel-runtime": ("Microsoft-Windows-AppModel-Runtime/Admin",),
        "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
        "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
        "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
        "smbclient-connectivity": ("Microsoft-Windows-SmbClient/Connectivity",),
        "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
        "terminalservices-localsessionmanager": ("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",),
        "security-mitigations": (
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "Microsoft-Windows-Security-Mitigations/User Mode",
        ),
        "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
        "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
        "lsa-server": ("Microsoft-Windows-LSA/Operational",),
        "openssh": ("OpenSSH/Operational",),
        "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
        "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
        "capi2": ("Microsoft-Windows-CAPI2/Operational",),
        "certificateservicesclient-lifecycle-system": (
            "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
        ),
        "iis-configuration": (
            "Microsoft-IIS-Configuration/Operational",
            "Microsoft-IIS-Configuration/Administrative",
        ),
        "microsoft-servicebus-client": ("Microsoft-ServiceBus-Client",),
        "bitlocker": ("Microsoft-Windows-BitLocker/BitLocker Management",),
        "vhdmp": ("Microsoft-Windows-VHDMP-Operational",),
        "kernel-shimengine": ("Microsoft-Windows-Kernel-ShimEngine/Operational",),
        "ntfs": ("Microsoft-Windows-Ntfs/Operational",),
        "hyper-v-worker": ("Microsoft-Windows-Hyper-V-Worker-Admin",),
        "sense": ("Microsoft-Windows-SENSE/Operational",),
        "dhcp": ("Microsoft-Windows-DHCP-Server/Operational",),
        "application-experience": ("Microsoft-Windows-Application-Experience/Program-Telemetry",),
    }
)

# Sigma's generic web server log source reads our http dataset (field names: see fieldmaps).
HTTP_CATEGORIES = frozenset({"webserver"})

# Linux host logs live in the host dataset: auditd records (ingest.auditd) and syslog/journal
# lines (ingest.syslog's host events). Routing tests two per-row Sigma frame columns that no rule
# names: which log the row came from and, for syslog, the program (lower-cased) that wrote it.
MODULE_FIELD = "\x1fmodule"
PROGRAM_FIELD = "\x1fprogram"
AUDITD, SYSLOG = "auditd", "syslog"


def _linux(*conditions: tuple[str, tuple[str | int, ...]]) -> tuple[Alternative, ...]:
    return (Alternative(conditions),)


def _programs(*names: str) -> tuple[Alternative, ...]:
    return _linux((MODULE_FIELD, (SYSLOG,)), (PROGRAM_FIELD, names))


#: Syslog services by the programs that write them (auth: the PAM/login family of auth.log).
LINUX_SERVICES: Mapping[str, tuple[Alternative, ...]] = MappingProxyType(
    {
        "auditd": _linux((MODULE_FIELD, (AUDITD,))),
        "syslog": _linux((MODULE_FIELD, (SYSLOG,))),
        "auth": _programs(
            "sshd",
            "sshd-session",
            "sudo",
            "su",
            "login",
            "systemd-logind",
            "passwd",
            "chpasswd",
            "chage",
            "useradd",
            "usermod",
            "userdel",
            "groupadd",
            "groupmod",
            "gpasswd",
            "pkexec",
            "polkitd",
        ),
        "sshd": _programs("sshd", "sshd-session"),
        "sudo": _programs("sudo"),
        "cron": _programs("cron", "crond", "anacron"),
        "clamav": _programs("clamd", "freshclam", "clamscan"),
        "vsftpd": _programs("vsftpd"),
        "guacamole": _programs("guacd"),
    }
)
#: Sysmon-for-Linux categories answered from auditd records that carry the same field names.
LINUX_CATEGORIES: Mapping[str, tuple[Alternative, ...]] = MappingProxyType(
    {
        "process_creation": _linux((MODULE_FIELD, (AUDITD,)), ("type", ("EXECVE",))),
        "file_event": _linux((MODULE_FIELD, (AUDITD,)), ("type", ("PATH",)), ("nametype", ("CREATE",))),
    }
)


def _route_linux(category: str | None, service: str | None, described: str) -> Route:
    if category is not None:
        alternatives = LINUX_CATEGORIES.get(category)
        if alternatives is None:
            raise Unrouted(f"no Linux event mapping for log source {described}")
        if service is not None and service != AUDITD:
            raise Unrouted(f"no Linux event mapping for log source {described}")
        return Route(Dataset.HOST, alternatives)
    if service is not None:
        alternatives = LINUX_SERVICES.get(service)
        if alternatives is None:
            raise Unrouted(f"no Linux log known for log source {described}")
        return Route(Dataset.HOST, alternatives)
    return Route(Dataset.HOST, (Alternative(()),))  # keyword rules over any Linux host log


def route(logsource: SigmaLogSource) -> Route:
    """The dataset and event selection for a rule's log source, or :class:`Unrouted`."""
    product, category, service = logsource.product, logsource.category, logsource.service
    described = "/".join(
        f"{k}={v}" for k, v in (("product", product), ("category", category), ("service", service)) if v
    )
    if category in HTTP_CATEGORIES and product in (None, "apache", "nginx") and service is None:
        return Route(Dataset.HTTP, (Alternative(()),))
    if product == "windows" or (product is None and category == "antivirus"):
        if category is not None:
            alternatives = WINDOWS_CATEGORIES.get(category)
            if alternatives is None:
                raise Unrouted(f"no Windows event mapping for log source {described}")
            if service is not None:
                channels = WINDOWS_SERVICES.get(service)
                if channels is None:
                    raise Unrouted(f"no Windows channel known for log source {described}")
                alternatives = tuple(
                    Alternative(
                        ((("Channel", channels), *tuple(c for c in a.conditions if c[0] != "Channel"))), a.aliases
                    )
                    for a in alternatives
                )
            return Route(Dataset.WINLOG, alternatives)
        if service is not None:
            channels = WINDOWS_SERVICES.get(service)
            if channels is None:
                raise Unrouted(f"no Windows channel known for log source {described}")
            return Route(Dataset.WINLOG, (Alternative((("Channel", channels),)),))
        return Route(Dataset.WINLOG, (Alternative(()),))
    if product == "linux":
        return _route_linux(category, service, described)
    raise Unrouted(f"no Watchhouse dataset carries log source {described or '(none)'}")
