"""Small random scenarios for property tests, and independent oracles over them."""

from __future__ import annotations

import json
import random
from typing import Any

from app.domain.network.graph import Network
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.model import Edge, Node
from app.domain.scenario.reading import validate_scenario

STATUSES = ["open", "open", "open", "restricted", "damaged", "blocked"]


def random_document(
    rng: random.Random,
    n_nodes: int,
    n_edges: int,
    *,
    parties: int = 2,
    risks: list[float] | None = None,
    directed_share: float = 0.3,
) -> dict[str, Any]:
    """A random scenario document; parallel roads and one-way roads included."""
    party_ids = [f"p{i}" for i in range(parties)]
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "parties": [
            {"id": p, "consent": rng.choice(["granted", "pending"]), "detention_record": i == 0}
            for i, p in enumerate(party_ids)
        ],
        "nodes": [
            {
                "id": f"n{i}",
                "lat": 36.0 + rng.random() * 0.05,
                "lon": 37.0 + rng.random() * 0.05,
                "controlled_by": rng.choice([None, *party_ids]),
            }
            for i in range(n_nodes)
        ],
        "edges": [],
    }
    for k in range(n_edges):
        a, b = rng.sample(range(n_nodes), 2)
        risk = rng.choice(risks) if risks else round(rng.random() * 0.3, 3)
        doc["edges"].append(
            {
                "id": f"e{k}",
                "from": f"n{a}",
                "to": f"n{b}",
                "directed": rng.random() < directed_share,
                "travel_time_min": rng.randint(1, 20),
                "length_m": rng.randint(50, 2000),
                "risk": risk,
                "status": rng.choice(STATUSES),
                "controlled_by": rng.choice([None, *party_ids]),
                "checkpoint": rng.choice([None, None, None, *party_ids]),
                "vehicle_passable": rng.random() < 0.8,
                "capacity_per_min": rng.randint(1, 10),
            }
        )
    return doc


def random_scenario(rng: random.Random, n_nodes: int, n_edges: int, **kw: Any) -> CompactScenario:
    return validate_scenario(random_document(rng, n_nodes, n_edges, **kw))


def road_objects(net: Network) -> list[Edge]:
    """The roads of a compiled scenario as the document's models (for oracles that read
    one road at a time)."""
    return [Edge.model_validate(net.columns.edge_item(i)) for i in range(len(net.edge_ids))]


def place_objects(net: Network) -> list[Node]:
    """The places of a compiled scenario as the document's models."""
    return [Node.model_validate(net.columns.node_item(i)) for i in range(len(net.node_ids))]


def document_of(net: Network) -> dict[str, Any]:
    """The document of a compiled scenario, as the service writes it back."""
    loaded: dict[str, Any] = json.loads("".join(net.columns.json_chunks()))
    return loaded
