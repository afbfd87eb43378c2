"""What to negotiate first: every concession's figures are what planning the changed
scenario document again gives, rows are best first, and "nothing gains" says why."""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.domain.network.graph import Network
from app.domain.plans.budget import Budget
from app.domain.plans.concessions import (
    nothing_gains,
    price_concession,
    rank_concessions,
    select_concessions,
)
from app.domain.plans.evacuation import Plan, PlanOptions, plan_evacuation
from app.domain.plans.model import most_evacuable
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.reading import validate_scenario
from tests.domain.evacuation_oracle import flow_document

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
KINDS = ("crossing", "road", "checkpoint", "party", "pause", "capacity")
"""The documented tie-break between kinds (docs/plans.md)."""


def plan_doc(doc: dict[str, Any], options: PlanOptions) -> Plan:
    return plan_evacuation(Network(validate_scenario(doc)), options)


def conceded(
    doc: dict[str, Any], options: PlanOptions, kind: str, what: str
) -> tuple[dict[str, Any], PlanOptions]:
    """The scenario document and question with the concession made by hand."""
    doc = copy.deepcopy(doc)
    road = {e["id"]: e for e in doc["edges"]}.get(what)
    if kind in ("road", "crossing"):
        assert road is not None and road["status"] == "blocked"
        road["status"] = "open"
    elif kind == "checkpoint":
        assert road is not None
        del road["checkpoint"]
    elif kind == "capacity":
        assert road is not None
        road["capacity_per_min"] *= 2
    elif kind == "party":
        next(p for p in doc["parties"] if p["id"] == what)["consent"] = "granted"
    else:
        assert kind == "pause" and options.horizon is not None
        minutes = int(what.removeprefix("+").removesuffix(" min"))
        options = PlanOptions(**{**options.__dict__, "horizon": options.horizon + minutes})
    return doc, options


def negotiable(rng: random.Random) -> dict[str, Any]:
    """A small random scenario with a pending party, checkpoints that cost risk, and
    candidate crossings among the blocked roads."""
    doc = flow_document(rng, rng.randint(4, 8), rng.randint(6, 16))
    doc["parties"] = [{"id": "p", "consent": "pending"}, {"id": "g", "consent": "granted"}]
    doc["profiles"] = [{"id": "general", "checkpoint_risk": {"g": 0.1, "p": 0.05}}]
    for e in doc["edges"]:
        if rng.random() < 0.3:
            e["controlled_by"] = "p"
        if rng.random() < 0.3:
            e["checkpoint"] = rng.choice(["g", "p"])
        if e["status"] == "blocked" and rng.random() < 0.5:
            e["candidate"] = True
    return doc


def negotiated(
    first_seed: int, count: int, horizons: tuple[int | None, ...] = (None, 6, 10)
) -> Iterator[tuple[Network, PlanOptions, Plan]]:
    """``count`` random negotiable documents (seeds from ``first_seed``) with a base plan
    each, consenting parties only (those with nobody to evacuate left out)."""
    for seed in range(first_seed, first_seed + count):
        rng = random.Random(seed)
        doc = negotiable(rng)
        options = PlanOptions(horizon=rng.choice(horizons), consenting_only=True)
        net = Network(validate_scenario(doc))
        try:
            base = plan_evacuation(net, options)
        except Exception:  # nothing to evacuate: no plan to negotiate over
            continue
        yield net, options, base


@pytest.mark.parametrize("seed", range(30))
def test_every_concession_is_what_replanning_the_changed_document_gives(seed: int) -> None:
    rng = random.Random(seed)
    doc = negotiable(rng)
    method = rng.choice(["optimal", "fast"])
    options = PlanOptions(horizon=rng.choice([None, 6, 10]), method=method, consenting_only=True)  # type: ignore[arg-type]
    net = Network(validate_scenario(doc))
    try:
        base = plan_evacuation(net, options)
    except Exception:  # nothing to evacuate: no plan to negotiate over
        return
    ranked = rank_concessions(net, options, base)
    assert ranked.priced == len(ranked.rows)
    assert ranked.priced + ranked.skipped + ranked.not_priced == ranked.considered
    for row in ranked.rows:
        after = plan_doc(*conceded(doc, options, row.kind, row.what))
        assert row.people_gained == after.evacuated - base.evacuated
        assert row.harm_change == after.expected_harm - base.expected_harm
        assert row.detained_change == after.expected_detained - base.expected_detained
        assert row.egress_change_min == after.egress_time_min - base.egress_time_min
        assert (row.evacuated, row.expected_harm) == (after.evacuated, after.expected_harm)
        if method == "optimal":  # the optimum never gets worse with more roads or time
            assert row.people_gained >= 0
    keys = [
        (-r.people_gained, r.expected_harm, r.expected_detained, KINDS.index(r.kind), r.what)
        for r in ranked.rows
    ]
    assert keys == sorted(keys)
    if method != "optimal" or ranked.not_priced:
        return
    # Every concession not planned again provably changes neither who gets out nor when.
    priced = {(r.kind, r.what) for r in ranked.rows}
    for kind, what in every_concession(doc, options, base):
        if (kind, what) not in priced:
            after = plan_doc(*conceded(doc, options, kind, what))
            assert (after.evacuated, after.egress_time_min) == (
                base.evacuated,
                base.egress_time_min,
            ), (kind, what)


def every_concession(
    doc: dict[str, Any], options: PlanOptions, base: Plan
) -> list[tuple[str, str]]:
    """Every concession the documentation lists, read from the document and the plan."""
    out = [("pause", f"+{m} min") for m in (30, 60, 120) if options.horizon is not None]
    out += [("capacity", b["edge"]) for b in base.bottlenecks()[:3]]
    out += [("party", "p")]
    for e in doc["edges"]:
        if e["status"] == "blocked":
            out.append(("crossing" if e.get("candidate") else "road", e["id"]))
        elif e.get("checkpoint"):
            out.append(("checkpoint", e["id"]))
    return out


def line(*legs: tuple[str, int, int | None, int | None]) -> dict[str, Any]:
    """Districts each joined to one camp: (id, population, minutes, capacity per minute);
    minutes None: no road at all."""
    nodes: list[dict[str, Any]] = [{"id": "camp", "kind": "safe_zone"}]
    edges = []
    for ident, people, minutes, cap in legs:
        nodes.append({"id": ident, "kind": "district", "population": people})
        if minutes is not None:
            edge: dict[str, Any] = {
                "id": f"{ident}-camp",
                "from": ident,
                "to": "camp",
                "travel_time_min": minutes,
            }
            if cap is not None:
                edge["capacity_per_min"] = cap
            edges.append(edge)
    return {"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges}


def ranked_for(doc: dict[str, Any], horizon: int | None) -> tuple[Plan, Any]:
    net = Network(validate_scenario(doc))
    options = PlanOptions(horizon=horizon)
    base = plan_evacuation(net, options)
    return base, rank_concessions(net, options, base)


def test_a_window_shorter_than_the_walk_is_why_nothing_gains() -> None:
    # 5 people 4 minutes away get out in a 20-minute pause; 10 live 200 minutes away, 7 have
    # no road: not even 120 more minutes reach them.
    doc = line(("near", 5, 4, None), ("far", 10, 200, None), ("cut", 7, None, None))
    base, ranked = ranked_for(doc, 20)
    assert base.evacuated == 5
    assert ranked.rows == [] and ranked.skipped == 3  # the three longer pauses
    assert ranked.nothing_gains == (
        "no concession could be priced: 7 people cannot reach a safe zone at all over the "
        "roads this plan may use; 10 people live farther than the window allows: the window "
        "(20 min) is shorter than the shortest walk from their districts to a safe zone "
        "(200 min)"
    )


def test_full_safe_zones_are_why_nothing_gains() -> None:
    doc = line(("town", 10, 2, None))
    doc["nodes"][0]["capacity"] = 4
    base, ranked = ranked_for(doc, 30)
    assert base.evacuated == 4
    assert ranked.rows == [] and ranked.skipped == 3
    assert ranked.nothing_gains is not None
    assert ranked.nothing_gains.endswith("the safe zones are full (4 places)")


def test_everybody_out_is_why_nothing_gains() -> None:
    base, ranked = ranked_for(line(("town", 10, 2, 5)), None)
    assert base.evacuated == 10
    assert ranked.nothing_gains is not None
    assert ranked.nothing_gains.endswith("all 10 people are already evacuated")


def test_saturated_roads_are_why_nothing_more_gets_out_in_the_window() -> None:
    # One road admits 1 person a minute and takes 1 minute: entries at minutes 0…9 arrive by
    # minute 10, so 10 of the 100 get out, and only a longer pause or capacity helps.
    base, ranked = ranked_for(line(("town", 100, 1, 1)), 10)
    assert base.evacuated == 10
    gained = {(r.kind, r.what): r.people_gained for r in ranked.rows}
    assert gained == {
        ("pause", "+30 min"): 30,
        ("pause", "+60 min"): 60,
        ("pause", "+120 min"): 90,
        ("capacity", "town-camp"): 10,
    }
    assert [r.what for r in ranked.rows][:2] == ["+120 min", "+60 min"]
    why = nothing_gains(base, most_evacuable(base.model), [])
    assert why == (
        "no concession could be priced: 90 more could reach a safe zone in time but every "
        "usable way out is saturated: the roads of a minimum cut admit at most 10 people "
        "within the window; capacity is the limit"
    )


def test_a_candidate_crossing_is_priced_as_a_second_crossing() -> None:
    doc = line(("town", 100, 1, 1))
    doc["edges"].append(
        {
            "id": "second",
            "from": "town",
            "to": "camp",
            "travel_time_min": 3,
            "capacity_per_min": 2,
            "status": "blocked",
            "candidate": True,
        }
    )
    _, ranked = ranked_for(doc, 10)
    row = next(r for r in ranked.rows if r.kind == "crossing")
    # Entries at minutes 0…7 arrive by minute 10, 2 a minute.
    assert (row.what, row.people_gained) == ("second", 16)
    assert row.sentence.startswith("Opening the candidate crossing second gets 16 more people")


def test_lifting_a_checkpoint_lowers_the_detentions_of_the_people_passing_it() -> None:
    doc = line(("town", 10, 2, None))
    doc["parties"] = [{"id": "g", "consent": "granted"}]
    doc["profiles"] = [{"id": "general", "checkpoint_risk": {"g": 0.1}}]
    doc["edges"][0]["checkpoint"] = "g"
    base, ranked = ranked_for(doc, None)
    (row,) = ranked.rows
    assert (row.kind, row.people_gained, row.egress_change_min) == ("checkpoint", 0, 0)
    # A checkpoint's risk is detention, counted apart from harm on the road.
    assert base.expected_detained == pytest.approx(1.0)
    assert row.detained_change == pytest.approx(-1.0)
    assert row.harm_change == pytest.approx(0.0)


def test_lifting_a_checkpoint_keeps_the_question_s_risk_for_roads_without_an_estimate() -> None:
    """The plan with a checkpoint lifted is made under the question's own assumption for
    roads without a risk estimate (here 0.05, where the scenario's would be its highest
    estimate, 0.4): lifting changes detention only, as planning the changed document does."""
    doc = line(("town", 10, 2, None), ("hill", 5, 3, None))
    doc["parties"] = [{"id": "g", "consent": "granted"}]
    doc["profiles"] = [{"id": "general", "checkpoint_risk": {"g": 0.1}}]
    doc["edges"][0]["checkpoint"] = "g"  # town-camp: no risk estimate
    doc["edges"][1]["risk"] = 0.4
    options = PlanOptions(horizon=None, unknown_risk=0.05)
    net = Network(validate_scenario(doc))
    base = plan_evacuation(net, options)
    (row,) = [r for r in rank_concessions(net, options, base).rows if r.kind == "checkpoint"]
    after = plan_doc(*conceded(doc, options, "checkpoint", "town-camp"))
    assert row.harm_change == pytest.approx(0.0)
    assert row.harm_change == after.expected_harm - base.expected_harm
    assert row.detained_change == after.expected_detained - base.expected_detained
    assert row.detained_change == pytest.approx(-1.0)


def test_the_candidate_field_is_kept_in_json_and_the_stored_form() -> None:
    doc = line(("town", 10, 2, None))
    doc["edges"].append(
        {"id": "x", "from": "town", "to": "camp", "length_m": 9, "status": "blocked",
         "candidate": True}
    )  # fmt: skip
    compact = validate_scenario(doc)
    assert compact.edges.candidate.tolist() == [False, True]
    written = json.loads("".join(compact.json_chunks()))
    assert [e.get("candidate") for e in written["edges"]] == [None, True]
    assert CompactScenario.from_bytes(compact.to_bytes()).edges.candidate.tolist() == [
        False,
        True,
    ]
    # A version stored before the field existed reads as no candidates.
    with np.load(io.BytesIO(compact.to_bytes())) as archive:
        older = {k: archive[k] for k in archive.files if k != "edges.candidate"}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **older)
    assert CompactScenario.from_bytes(buffer.getvalue()).edges.candidate.tolist() == [
        False,
        False,
    ]


def test_an_exhausted_time_budget_leaves_concessions_unpriced_and_says_so() -> None:
    doc = line(("town", 100, 1, 1))
    net = Network(validate_scenario(doc))
    base = plan_evacuation(net, PlanOptions(horizon=10))
    # The budget is gone before ranking starts (a clock that stands past it): no re-plan
    # is compared with a plan of another method, and none is reported as if priced.
    overrun = Budget(seconds=0.0, clock=lambda: 1.0, started=0.0)
    ranked = rank_concessions(net, PlanOptions(horizon=10, budget=overrun), base)
    assert (ranked.priced, ranked.skipped, ranked.not_priced) == (0, 0, 4)
    assert ranked.nothing_gains is not None
    assert ranked.nothing_gains.startswith(
        "no concession could be priced (4 left unpriced by the limits or the time budget)"
    )


def test_a_concession_too_large_to_plan_is_left_unpriced_and_the_others_are_priced() -> None:
    # 40 people behind a 1-per-minute road, 20 more 40 minutes away, a 20-minute pause: a
    # longer pause and more capacity both help. With the fast planner's limit set to just
    # the base plan's road-minutes, no longer pause can be planned: those three are left
    # unpriced; the rest is priced as without the limit.
    doc = line(("near", 40, 2, 1), ("far", 20, 40, None))
    net = Network(validate_scenario(doc))
    free = PlanOptions(horizon=20, method="fast")
    base = plan_evacuation(net, free)
    unlimited = rank_concessions(net, free, base)
    pauses = [r for r in unlimited.rows if r.kind == "pause"]
    assert pauses and any(r.kind == "capacity" for r in unlimited.rows)
    cells = (20 + 1) * len(base.model.arc_tail)
    limited = replace(free, max_fast_cells=cells)
    base_limited = plan_evacuation(net, limited)
    assert base_limited.evacuated == base.evacuated
    ranked = rank_concessions(net, limited, base_limited)
    assert ranked.rows == [r for r in unlimited.rows if r.kind != "pause"]
    assert ranked.not_priced == unlimited.not_priced + len(pauses)
    assert ranked.priced + ranked.skipped + ranked.not_priced == ranked.considered
    # the same, concession by concession as job parts price them
    chosen = select_concessions(net, limited, base_limited)
    parts = [price_concession(net, limited, chosen.base, spec) for spec in chosen.to_price]
    assert [p for p in parts if p is not None] == [r for r in ranked.rows]
    kinds = [spec["kind"] for spec, p in zip(chosen.to_price, parts, strict=True) if p is None]
    assert kinds == ["pause"] * len(pauses)


def test_screening_with_the_base_minutes_from_people_decides_as_the_changed_ones() -> None:
    """Whether a concession may help is read with the base plan's minutes from people (one
    search fewer), and for a concession on one road from that road alone: for every
    candidate that changes the model, on 60 random documents, it must decide as the
    changed network's own compiled model and minutes would (the statement of before)."""
    from app.domain.plans import concessions
    from app.domain.plans.model import UNREACHABLE, compile_model

    screened, helping, same = 0, 0, 0
    for net, options, base in negotiated(500, 60):
        model, most = base.model, most_evacuable(base.model)
        moves = [*base.movements, *base.stranded_moves]
        used = {int(model.arc_edge[a]) for m in moves for a in m.arcs}
        candidates = concessions._candidates(net, options, base)
        lifted = concessions._all_lifted(model, candidates)  # every checkpoint lifted at once
        for cand in candidates:
            if cand.options is None or cand.kind == "capacity":
                continue
            changed = compile_model(net, model.conditions, cand.options)
            if np.array_equal(changed.arc_index, model.arc_index):
                road = cand.road
                expected = (
                    cand.kind == "checkpoint"
                    and road is not None
                    and changed.conditions.risk[road] != model.conditions.risk[road]
                    and road in used
                )
                same += 1
            else:
                added = ~np.isin(changed.arc_index, model.arc_index)
                u, v = changed.arc_tail[added], changed.arc_head[added]
                through = np.minimum(
                    changed.from_people[u] + changed.arc_time[added] + changed.to_zone[v],
                    UNREACHABLE,
                )
                limit = options.horizon
                if limit is None and base.evacuated >= most_evacuable(changed):
                    limit = base.egress_time_min
                expected = bool(np.any(through < UNREACHABLE)) and (
                    limit is None or bool(np.any(through <= limit))
                )
            decided = concessions._may_help(
                base, cand, options.horizon, most, lambda m=changed: m, lifted
            )
            assert decided == expected, (cand.kind, cand.what)
            screened += 1
            helping += decided
    assert screened > 50 and 0 < helping < screened and same > 5  # every branch exercised


def test_a_concession_on_one_road_changes_the_compiled_model_on_that_road_only() -> None:
    """``road_change`` (the road alone) against the model compiled for the whole network:
    every other arc kept, the road's arcs, minutes and risk, and the minutes to a safe zone
    at the ends of its added arcs; for a checkpoint, the same when every checkpoint
    considered is lifted at once (as a ranking does)."""
    from app.domain.plans import concessions
    from app.domain.plans.model import arcs_of_road, compile_model, road_change

    checked = 0
    for net, options, base in negotiated(700, 60, (None, 8)):
        model = base.model
        candidates = concessions._candidates(net, options, base)
        lifted = concessions._all_lifted(model, candidates)
        for cand in candidates:
            if cand.kind not in ("crossing", "road", "checkpoint"):
                continue
            assert cand.road is not None and cand.options is not None
            changed = compile_model(net, model.conditions, cand.options)
            change = road_change(model, cand.options, cand.road)
            if cand.kind == "checkpoint":  # with every other checkpoint lifted too: the same
                shared = road_change(model, cand.options, cand.road, lifted())
                assert shared.arcs.tolist() == change.arcs.tolist()
                assert shared.minutes.tolist() == change.minutes.tolist()
                assert shared.before.tolist() == change.before.tolist()
                assert shared.risk == change.risk
            mine = arcs_of_road(net, cand.road)
            others = np.setdiff1d(model.arc_index, mine)
            assert np.setdiff1d(changed.arc_index, mine).tolist() == others.tolist()
            assert change.arcs.tolist() == np.intersect1d(changed.arc_index, mine).tolist()
            assert change.before.tolist() == np.intersect1d(model.arc_index, mine).tolist()
            at = np.searchsorted(changed.arc_index, change.arcs)
            assert change.minutes.tolist() == changed.arc_time[at].tolist()
            assert change.risk == changed.conditions.risk[cand.road]
            if change.adds_only:
                arcs, _ = change.added()
                heads = net.arc_head[arcs]
                lowered = change.to_zone(net, model.to_zone, heads)
                assert lowered.tolist() == changed.to_zone[heads].tolist()
            checked += 1
    assert checked > 100
