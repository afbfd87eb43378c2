"""Types of the compiled goal-directed route search (``_search.pyx``)."""

import numpy as np
import numpy.typing as npt

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_U32 = npt.NDArray[np.uint32]

def search(
    indptr: _Ints,
    head: _Ints,
    tail: _Ints,
    cost: _Floats,
    time: _Floats,
    rev_indptr: _Ints,
    by_head: _Ints,
    edge: _Ints,
    codes: npt.NDArray[np.int32] | None,
    allowed: npt.NDArray[np.uint8] | None,
    fwd: _U32,
    bwd: _U32,
    scale_f: _Ints,
    scale_b: _Ints,
    s: int,
    t: int,
    most: int,
) -> tuple[int, float, _Ints | None, _Ints | None, int]: ...
def disjoint_in_corridor(
    indptr: _Ints,
    head: _Ints,
    tail: _Ints,
    weight: _Floats,
    fwd: _U32,
    bwd: _U32,
    scale_f: _Ints,
    scale_b: _Ints,
    s: int,
    t: int,
    budget: int,
) -> tuple[_Ints | None, int]: ...
def martins(
    indptr: _Ints,
    head: _Ints,
    edge: _Ints,
    usable: npt.NDArray[np.uint8],
    arc_cost: _Ints,
    arc_ticks: _Ints,
    hc: _Ints,
    ht: _Ints,
    s: int,
    t: int,
    max_labels: int,
) -> tuple[_Ints, _Ints, bool, tuple[int, int] | None]: ...
