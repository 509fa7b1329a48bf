"""Types of the compiled JSON-lines loops (:file:`_jsonl.pyx`)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

SOURCE_SHA256: str

def flat_groups(
    objects: list[Any], object_fields: frozenset[str], max_depth: int
) -> tuple[list[tuple[list[int], tuple[str, ...], list[list[Any]]]], list[int]]: ...
def gather(
    sources: list[Sequence[Any] | None], owner: npt.NDArray[np.int64], at: npt.NDArray[np.int64]
) -> list[Any]: ...
def strict_stamps(values: list[Any]) -> bool: ...
def value_types(values: list[Any]) -> set[type]: ...
