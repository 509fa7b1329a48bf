"""A request's header record (the JSON object of ``http.request.headers``), read once per text.

Why shared: matching cuts a header record into parts (:func:`.matching.request_parts`) and the
request policy reads headers by name (:mod:`.policy`); each kept its own memory of what it made of
a text, but each also parsed the text itself, so every distinct header set was parsed twice. Both
now start from :func:`header_fields`, and what each derives stays in its own memory.
"""

from __future__ import annotations

from collections import OrderedDict

import orjson

from watchhouse.detectors.web.memory import remember

#: the header names as sent, each with its values as text (a null value left out), in record order
HeaderFields = tuple[tuple[str, tuple[str, ...]], ...]

#: header texts whose fields are remembered, and the longest text worth remembering (the same
#: bounds as the derived memories: a client sends one header set on every request of its visit)
FIELDS_MAX_ENTRIES = 2_048
FIELDS_MAX_CHARS = 4_096
_fields_of: OrderedDict[str, HeaderFields | None] = OrderedDict()


def header_fields(text: str) -> HeaderFields | None:
    """The fields of a header record; None where ``text`` is not a JSON object (the caller decides
    what such a text means: matching inspects it whole, the policy reads no header from it).

    A value that is a list is one header sent more than once; any other JSON value is its text
    (``str``), as both readers always took it.
    """
    if text in _fields_of:  # (a text that is not an object is remembered too, as None)
        return _fields_of[text]
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    fields: HeaderFields | None = None
    if isinstance(parsed, dict):  # (a JSON object's names are texts already)
        read: list[tuple[str, tuple[str, ...]]] = []
        for name, value in parsed.items():
            if type(value) is str:  # nearly every header: one text, taken as it is
                read.append((name, (value,)))
            elif isinstance(value, list):
                read.append((name, tuple(str(v) for v in value if v is not None)))
            else:
                read.append((name, () if value is None else (str(value),)))
        fields = tuple(read)
    if len(text) <= FIELDS_MAX_CHARS:
        remember(_fields_of, text, fields, FIELDS_MAX_ENTRIES)
    return fields
