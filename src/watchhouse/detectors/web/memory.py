"""The web detector's bounded memories: oldest entry out first, in constant time.

Why one helper: the detector remembers work done (a row's hits and verdict, a value's matches, a
parsed header text, a policy screen) in memories bounded in entries, and every one of them makes
way the same way. Why an ``OrderedDict``: it drops its oldest entry in constant time, where a plain
dict's first live entry is found by walking the holes its earlier deletions left (about ten times
slower at ten thousand entries, paid on every new value once a long scan has filled the memory).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(memory: OrderedDict[_K, _V], key: _K, value: _V, max_entries: int) -> _V:
    """``value``, kept in ``memory`` under ``key``; the oldest entry makes way once ``max_entries``
    are kept. (Each caller bounds the size of what it keeps before it calls.)"""
    if len(memory) >= max_entries:
        memory.popitem(last=False)
    memory[key] = value
    return value
