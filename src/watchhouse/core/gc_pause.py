"""Pausing the cyclic garbage collector around bursts of acyclic objects.

Why: readers and detectors sometimes make hundreds of thousands of short-lived objects at once
(parsed JSON events, evidence references) that hold no reference cycles. The collector, woken
every few hundred allocations, walks all of them again each time; on those paths it took a fifth
to two fifths of the time. Pausing it there costs nothing, since none of the objects can be cyclic
garbage, and the collector is switched back on only if it was on before (a caller's own pause is
kept).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager


@contextmanager
def paused_gc(before_resuming: Callable[[], None] | None = None) -> Iterator[None]:
    """The cyclic collector off inside the block, restored to its previous state after it;
    ``before_resuming`` runs just before a collector that was on is switched back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if before_resuming is not None:
                before_resuming()
            gc.enable()


#: objects :class:`BatchPauses` may freeze before the collector looks at all of them again (about
#: 100 MB of small containers at most)
FROZEN_GROWTH_LIMIT = 1_000_000


class BatchPauses:
    """The collector paused over each batch's detection, and what outlives the batch frozen after it.

    Why frozen: a batch ends with many new objects still alive in the detectors' bounded memories
    (a cold batch of full requests keeps its hits, decodings and verdicts), and the first young
    collection after the pause walked every one of them: one collection took about 5% of a cold
    web scan's CPU time. Frozen, they are left out of collections, and reference counting still
    frees each one when a memory lets it go, so once the memories are full the frozen heap stops
    growing. What it cannot free, cycles made during a batch, waits for the next full look: when
    more than ``growth_limit`` objects have been frozen since the last one, everything is unfrozen,
    collected and frozen again; and the scan's end unfreezes it all (:func:`~watchhouse.runners.
    embedded.scan_gc`). A caller's own pause is kept, as with :func:`paused_gc`.

    The objects a batch freezes are counted from the young generation's count (allocations less
    deallocations since it was last emptied), not from ``gc.get_freeze_count()``, which walks the
    whole frozen heap: 14 ms a call behind a web detector's rule pack.
    """

    def __init__(self, growth_limit: int = FROZEN_GROWTH_LIMIT) -> None:
        self.growth_limit = growth_limit
        self.full_collections = 0
        self._frozen_since = 0  # objects frozen since the last full look, as counted above

    def batch(self) -> AbstractContextManager[None]:
        return paused_gc(self._freeze_survivors)

    def _freeze_survivors(self) -> None:
        self._frozen_since += gc.get_count()[0]
        gc.freeze()
        if self._frozen_since > self.growth_limit:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._frozen_since = 0
            self.full_collections += 1
