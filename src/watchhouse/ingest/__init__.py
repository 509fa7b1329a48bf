"""Readers that turn log sources into typed, pseudonymised event batches.

Formats: nginx/Apache access logs (combined, common), ECS JSON lines, syslog (sshd auth and
host events) and mapped CSV. Every physical line ends up as an event, a blank, or a
quarantined line with its location and reason.
"""

from watchhouse.ingest.options import FORMATS, ReaderOptions, ReadStats, resolve_format
from watchhouse.ingest.quarantine import Quarantine
from watchhouse.ingest.reader import SourceReader
from watchhouse.ingest.sniff import detect_format

__all__ = ["FORMATS", "Quarantine", "ReadStats", "ReaderOptions", "SourceReader", "detect_format", "resolve_format"]
