"""Types of the compiled access-log field checks (:file:`_accesslog.pyx`)."""

import numpy as np
import numpy.typing as npt

SOURCE_SHA256: str

def fields(
    data: bytes,
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    q: npt.NDArray[np.int64],
    ok: npt.NDArray[np.uint8],
    combined: bool,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.bool_],
]: ...
