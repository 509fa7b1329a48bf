"""Types of the compiled syslog head reader (:file:`_syslog.pyx`)."""

import numpy as np
import numpy.typing as npt

SOURCE_SHA256: str

def quick_heads(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.bool_],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]: ...
