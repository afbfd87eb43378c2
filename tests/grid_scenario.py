"""A square street grid with people spread over it and safe zones on its edge (tests of
plans that take seconds), after the grid of ``benchmarks/plans.py``."""

from __future__ import annotations

import math
import random
from typing import Any

WINDOW = {
    "id": "afternoon",
    "start": "2025-01-01T12:00:00+00:00",
    "end": "2025-01-01T16:00:00+00:00",
}
"""A four-hour pause."""


def grid_scenario(side: int, people: int, *, blocked: int = 0, seed: int = 7) -> dict[str, Any]:
    """``side`` × ``side`` places, roads of 1–3 minutes and 10–40 people per minute each way,
    ``people`` spread at random, eight safe zones (corners and mid-sides), ``blocked`` roads
    closed at random, and :data:`WINDOW`."""
    rng = random.Random(seed)
    zones = {(0, 0), (0, side - 1), (side - 1, 0), (side - 1, side - 1)}
    zones |= {(0, side // 2), (side // 2, 0), (side - 1, side // 2), (side // 2, side - 1)}
    weights = [0 if (r, c) in zones else rng.random() for r in range(side) for c in range(side)]
    total = sum(weights)
    population = [math.floor(people * w / total) for w in weights]
    population[next(i for i, w in enumerate(weights) if w > 0)] += people - sum(population)
    nodes: list[dict[str, Any]] = []
    for r in range(side):
        for c in range(side):
            if (r, c) in zones:
                nodes.append({"id": f"g{r}-{c}", "kind": "safe_zone"})
            else:
                nodes.append({"id": f"g{r}-{c}", "population": population[r * side + c]})
    edges = []
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    edges.append(
                        {
                            "id": f"g{r}-{c}--g{r + dr}-{c + dc}",
                            "from": f"g{r}-{c}",
                            "to": f"g{r + dr}-{c + dc}",
                            "travel_time_min": rng.randint(1, 3),
                            "capacity_per_min": rng.randint(10, 40),
                            "risk": round(rng.random() * 0.01, 4),
                        }
                    )
    for edge in rng.sample(edges, blocked):
        edge["status"] = "blocked"
    return {
        "schema": "safe-passage/scenario@1",
        "name": f"Grid {side}x{side}",
        "as_of": "2025-01-01T11:00:00+00:00",
        "nodes": nodes,
        "edges": edges,
        "windows": [WINDOW],
    }
