"""The kinds of platform activity Watchhouse reads (each has one fixed schema: :mod:`.events`).

Apart from the schemas so that what names a dataset (a command's ``--dataset`` option, a reader's
options) does not import Arrow and Polars: a help screen should not wait for them.
"""

from __future__ import annotations

from enum import StrEnum


class Dataset(StrEnum):
    """Kinds of platform activity; each has one fixed schema."""

    HTTP = "http"
    AUTH = "auth"
    MESSAGE = "message"
    TRANSACTION = "transaction"
    MEDIA = "media"
    DATA_ACCESS = "data_access"
    HOST = "host"
    WINLOG = "winlog"
