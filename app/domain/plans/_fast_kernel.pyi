"""Types of the compiled reservation loop (``_fast_kernel.pyx``)."""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

_Ints = npt.NDArray[np.int64]

def place_all(
    table_source: Any,
    nxt: _Ints,
    head: _Ints,
    time: _Ints,
    node: _Ints,
    horizon: int,
    order_rows: _Ints,
    population: _Ints,
    zone_left: _Ints,
    zones: _Ints,
    refresh: Callable[[], _Ints],
    check: Callable[[int], None],
    check_every: int,
    chunk: int,
    span: int,
) -> tuple[list[tuple[int, int, int]], list[tuple[int, _Ints]]]: ...
def journeys(
    nxt: _Ints, head: _Ints, time: _Ints, node: _Ints, groups: list[tuple[int, int, int]]
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]]: ...
def untangle_free(
    moves: list[Any], zone: npt.NDArray[np.uint8], make: Callable[..., Any]
) -> list[Any]: ...
def walk_back(
    ends: _Ints, parent: _Ints, via: _Ints, entered: _Ints, where: _Ints
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]: ...
def movement_dicts(
    moves: list[Any],
    node_names: dict[int, str],
    node_name: Callable[[int], str],
    arc_names: dict[int, str],
    arc_name: Callable[[int], str],
    risks: list[float],
) -> list[dict[str, Any]]: ...
def tree_load(
    order: _Ints,
    step: _Ints,
    head: _Ints,
    acc: npt.NDArray[np.float64],
    load: npt.NDArray[np.float64],
) -> None: ...
def lower_minutes(
    indptr: _Ints, arcs: _Ints | None, other: _Ints, time: _Ints, dist: _Ints, seeds: _Ints
) -> int: ...
