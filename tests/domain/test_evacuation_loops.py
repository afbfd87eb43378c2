"""Loop tidying of exact plans: the one-pass cut for unbounded nodes equals the general one."""

from __future__ import annotations

import random

import pytest

from app.domain.network.graph import Network
from app.domain.plans.evacuation import PlanOptions, model_options
from app.domain.plans.expanded import Movement
from app.domain.plans.kernel import kernel
from app.domain.plans.loops import _untangle
from app.domain.plans.model import compile_model
from app.domain.scenario.reading import validate_scenario
from tests.domain.evacuation_oracle import flow_document
from tests.domain.kernel_statements import untangle_free


def _walk(rng: random.Random, tails: list[int], heads: list[int], zone: list[bool]) -> Movement:
    """A random walk over the model's arcs (many loops), entering one road per minute."""
    start = rng.choice(tails)
    nodes, arcs = [start], []
    for _ in range(rng.randint(1, 25)):
        out = [a for a, t in enumerate(tails) if t == nodes[-1]]
        if not out:
            break
        a = rng.choice(out)
        arcs.append(a)
        nodes.append(heads[a])
    enter = tuple(range(0, 4 * len(arcs), 4))
    arrive = enter[-1] + 4 if arcs and zone[nodes[-1]] and rng.random() < 0.5 else None
    return Movement(rng.randint(1, 9), tuple(nodes), tuple(arcs), enter, arrive)


@pytest.mark.parametrize("seed", range(20))
def test_one_pass_loop_cut_equals_repeated_scans(seed: int) -> None:
    rng = random.Random(seed)
    doc = flow_document(rng, rng.randint(4, 9), rng.randint(8, 20))
    for node in doc["nodes"]:
        if node.get("kind") != "safe_zone":
            node.pop("capacity", None)
    net = Network(validate_scenario(doc))
    model = compile_model(net, net.conditions(None, None), model_options(PlanOptions()))
    if len(model.arc_tail) == 0:
        return
    tails, heads = model.arc_tail.tolist(), model.arc_head.tolist()
    zone = model.is_zone.tolist()
    walks: list[Movement] = []
    expected: list[Movement] = []
    for _ in range(40):
        m = _walk(rng, tails, heads, zone)
        free = untangle_free(zone, m)
        assert free == _untangle(model, m, 200, {})
        inner = [v for v in free.nodes if not zone[v]]
        assert len(set(inner)) == len(inner)  # no loop left outside the safe zones
        assert free.arrive == m.arrive and free.count == m.count
        walks.append(m)
        expected.append(free)
    # The compiled pass over many groups gives the same groups (unchanged ones as they are).
    got = kernel.untangle_free(walks, model.is_zone.astype("uint8"), Movement)
    assert got == expected
    assert all(g is w for g, w in zip(got, walks, strict=True) if len(set(w.nodes)) == len(w.nodes))
