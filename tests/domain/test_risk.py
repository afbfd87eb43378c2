"""Risk of roads: incident decay, incidents by place, checkpoints; combined as probabilities."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain.network.graph import Network
from app.domain.network.risk import combine, haversine_m, incident_probability
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.model import Incident
from app.domain.scenario.reading import validate_scenario

T0 = datetime(2016, 12, 13, 9, 0, tzinfo=UTC)
R_EARTH = 6_371_008.8  # metres, the mean radius the service documents


def incident(**kw: Any) -> Incident:
    fields: dict[str, Any] = {"id": "i", "edges": ["e"], "severity": 0.2, "observed_at": T0}
    fields.update(kw)
    return Incident.model_validate(fields)


# --- decay -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0, 0.1),
        (6, 0.1 / math.sqrt(2)),
        (12, 0.05),
        (24, 0.025),
        (36, 0.0125),
        (120, 0.1 / 1024),
    ],
)
def test_incident_probability_halves_every_half_life(hours: float, expected: float) -> None:
    inc = incident(severity=0.2, confidence=0.5, half_life_h=12)
    p, age_h = incident_probability(inc, T0 + timedelta(hours=hours))
    assert p == pytest.approx(expected, rel=1e-12)
    assert age_h == hours


def test_incident_probability_uses_elapsed_time_across_offsets() -> None:
    inc = incident(severity=0.4, half_life_h=2)
    # 13:00 at +02:00 is 11:00 UTC: two hours after the report, one half-life.
    at = datetime.fromisoformat("2016-12-13T13:00:00+02:00")
    p, age_h = incident_probability(inc, at)
    assert p == pytest.approx(0.2) and age_h == pytest.approx(2.0)


@pytest.mark.parametrize("before", [timedelta(seconds=1), timedelta(hours=5)])
def test_incident_has_no_effect_before_it_is_observed(before: timedelta) -> None:
    inc = incident(severity=0.9, confidence=1.0, half_life_h=12)
    p, age_h = incident_probability(inc, T0 - before)
    assert p == 0.0
    assert age_h < 0


def test_incident_without_half_life_does_not_decay() -> None:
    inc = incident(severity=0.3, confidence=0.5, half_life_h=None)
    for hours in (0, 1, 48, 10_000):
        assert incident_probability(inc, T0 + timedelta(hours=hours))[0] == pytest.approx(0.15)


def test_road_risk_follows_the_time_asked() -> None:
    doc = two_node_document(
        base=0.1,
        incidents=[{"id": "i", "edges": ["e"], "severity": 0.4, "half_life_h": 12,
                    "observed_at": "2016-12-13T09:00:00+00:00"}],
        as_of="2016-12-13T08:00:00+00:00",
    )  # fmt: skip
    net = Network(validate_scenario(doc))
    # At as_of the incident has not happened yet: left out, and said so.
    as_of = T0 - timedelta(hours=1)
    assert net.conditions(at=as_of).risk[0] == pytest.approx(0.1)
    assert net.conditions(at=as_of).incidents_after_at == ["i"]
    at = T0 + timedelta(hours=12)
    assert net.conditions(at=at).risk[0] == pytest.approx(1 - 0.9 * (1 - 0.2))
    at = T0 + timedelta(hours=24)
    assert net.conditions(at=at).risk[0] == pytest.approx(1 - 0.9 * (1 - 0.1))


def test_without_as_of_the_newest_report_is_the_default_time() -> None:
    doc = two_node_document(
        base=0.0,
        incidents=[
            {"id": "old", "edges": ["e"], "severity": 0.4, "half_life_h": 1,
             "observed_at": "2016-12-13T07:00:00+00:00"},
            {"id": "new", "edges": ["e"], "severity": 0.1,
             "observed_at": "2016-12-13T09:00:00+00:00"},
        ],
    )  # fmt: skip
    risk = Network(validate_scenario(doc)).conditions().risk[0]
    # "old" is two half-lives old at 09:00: 0.4 / 4.
    assert risk == pytest.approx(1 - (1 - 0.1) * (1 - 0.1))


def test_every_answer_states_its_time_and_the_reports_it_left_out() -> None:
    doc = two_node_document(
        base=0.1,
        incidents=[{"id": "late", "edges": ["e"], "severity": 0.4,
                    "observed_at": "2016-12-13T09:00:00+00:00"}],
        as_of="2016-12-13T08:00:00+00:00",
    )  # fmt: skip
    net = Network(validate_scenario(doc))
    early = safest_route(net, "a", "b", RouteOptions(at=T0 - timedelta(hours=1))).as_dict()
    assert early["at"] == "2016-12-13T08:00:00+00:00"
    assert early["incidents_after_at"] == ["late"]
    assert early["survival_probability"] == pytest.approx(0.9)
    now = safest_route(net, "a", "b", RouteOptions(at=T0)).as_dict()
    assert now["at"] == "2016-12-13T09:00:00+00:00" and now["incidents_after_at"] == []
    assert now["survival_probability"] == pytest.approx(0.9 * 0.6)


# --- combination -----------------------------------------------------------------------------


def test_combine_is_one_minus_the_product_of_survivals() -> None:
    assert combine([]) == 0.0
    assert combine([0.3]) == pytest.approx(0.3)
    assert combine([0.1, 0.2]) == pytest.approx(0.28)
    assert combine([0.6, 0.5, 0.7]) == pytest.approx(1 - 0.4 * 0.5 * 0.3)


def test_base_and_incidents_combine_as_probabilities_never_summed() -> None:
    doc = two_node_document(
        base=0.6,
        incidents=[
            {"id": "i1", "edges": ["e"], "severity": 0.5, "observed_at": "2016-12-13T09:00:00Z"},
            {"id": "i2", "edges": ["e"], "severity": 0.875, "confidence": 0.8,
             "observed_at": "2016-12-13T09:00:00Z"},
        ],
    )  # fmt: skip
    cond = Network(validate_scenario(doc)).conditions(at=T0)
    p1, p2 = 0.5, 0.875 * 0.8
    assert 0.6 + p1 + p2 > 1  # a sum would not even be a probability
    expected = 1 - (1 - 0.6) * (1 - p1) * (1 - p2)
    assert cond.risk[0] == pytest.approx(expected, rel=1e-12)
    assert cond.risk[0] < 1
    assert cond.usable[0]


# --- incidents by location -------------------------------------------------------------------


def point_segment_distance_m(
    lat: float, lon: float, a: tuple[float, float], b: tuple[float, float], samples: int = 20_001
) -> float:
    """Least great-circle distance from a point to points spaced evenly along a–b."""
    best = math.inf
    for k in range(samples):
        t = k / (samples - 1)
        plat, plon = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        best = min(best, haversine_m(lat, lon, plat, plon))
    return best


def test_haversine_against_known_distances() -> None:
    # One degree of latitude along a meridian is R·π/180.
    assert haversine_m(36.0, 37.0, 37.0, 37.0) == pytest.approx(R_EARTH * math.pi / 180)
    # A quarter of the equator.
    assert haversine_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(R_EARTH * math.pi / 2)
    assert haversine_m(36.2, 37.1, 36.2, 37.1) == 0.0


def test_incident_by_location_reaches_only_roads_within_its_radius() -> None:
    # Incident at (36.2, 37.15), radius 300 m. Every road's end nodes are over 300 m away;
    # road "near" passes about 200 m from it, road "far" about 450 m, road "touch" ends
    # 150 m from it, and "away" lies well clear.
    lat0, lon0 = 36.2, 37.15
    dlat = 1 / (R_EARTH * math.pi / 180)  # degrees of latitude per metre
    coords = {
        "w1": (lat0 + 200 * dlat, lon0 - 0.01),
        "e1": (lat0 + 200 * dlat, lon0 + 0.01),
        "w2": (lat0 - 450 * dlat, lon0 - 0.01),
        "e2": (lat0 - 450 * dlat, lon0 + 0.01),
        "t": (lat0 + 150 * dlat, lon0),
        "x": (lat0 + 2000 * dlat, lon0),
    }
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": k, "lat": la, "lon": lo} for k, (la, lo) in coords.items()],
        "edges": [
            {"id": "near", "from": "w1", "to": "e1", "risk": 0.05, "travel_time_min": 5},
            {"id": "far", "from": "w2", "to": "e2", "risk": 0.05, "travel_time_min": 5},
            {"id": "touch", "from": "x", "to": "t", "risk": 0.0, "travel_time_min": 5},
            {"id": "away", "from": "x", "to": "e1", "risk": 0.01, "travel_time_min": 5},
        ],
        "incidents": [
            {"id": "shelling", "lat": lat0, "lon": lon0, "radius_m": 300, "severity": 0.3,
             "confidence": 0.5, "observed_at": "2016-12-13T09:00:00Z"},
        ],
    }  # fmt: skip
    # The geometry is what the test claims, measured independently of the service.
    dist = {
        e["id"]: point_segment_distance_m(lat0, lon0, coords[e["from"]], coords[e["to"]])
        for e in doc["edges"]
    }
    assert dist["near"] == pytest.approx(200, abs=2)
    assert dist["far"] == pytest.approx(450, abs=2)
    assert dist["touch"] == pytest.approx(150, abs=2)
    assert dist["away"] > 600
    for end in ("w1", "e1", "w2", "e2", "x"):
        assert haversine_m(lat0, lon0, *coords[end]) > 300

    net = Network(validate_scenario(doc))
    cond = net.conditions(at=T0)
    risk = dict(zip(net.edge_ids, cond.risk.tolist(), strict=True))
    p = 0.3 * 0.5
    for edge in doc["edges"]:
        hit = dist[edge["id"]] <= 300
        expected = 1 - (1 - edge["risk"]) * (1 - p) if hit else edge["risk"]
        assert risk[edge["id"]] == pytest.approx(expected, rel=1e-12), edge["id"]
    assert [x.incident for x in cond.incident_risk[net.edge_index["near"]]] == ["shelling"]
    assert net.edge_index["far"] not in cond.incident_risk


def test_incident_radius_boundary_is_measured_in_metres() -> None:
    # A road passing 290 m away is inside a 300 m radius and outside a 280 m one.
    lat0, lon0 = 36.2, 37.15
    dlat = 1 / (R_EARTH * math.pi / 180)
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "nodes": [
            {"id": "a", "lat": lat0 + 290 * dlat, "lon": lon0 - 0.02},
            {"id": "b", "lat": lat0 + 290 * dlat, "lon": lon0 + 0.02},
        ],
        "edges": [{"id": "e", "from": "a", "to": "b", "risk": 0.0, "length_m": 3600}],
    }
    for radius, hit in ((300, True), (280, False)):
        doc["incidents"] = [
            {"id": "i", "lat": lat0, "lon": lon0, "radius_m": radius, "severity": 0.5,
             "observed_at": "2016-12-13T09:00:00Z"},
        ]  # fmt: skip
        risk = Network(validate_scenario(doc)).conditions(at=T0).risk[0]
        assert risk == (pytest.approx(0.5) if hit else 0.0), radius


# --- checkpoints -----------------------------------------------------------------------------


def checkpoint_document() -> dict[str, Any]:
    return {
        "schema": "safe-passage/scenario@1",
        "parties": [
            {"id": "detains", "detention_record": True},
            {"id": "clean", "detention_record": False},
        ],
        "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "edges": [
            {"id": "ab", "from": "a", "to": "b", "travel_time_min": 5, "risk": 0.1,
             "checkpoint": "detains"},
            {"id": "bc", "from": "b", "to": "c", "travel_time_min": 5, "risk": 0.1,
             "checkpoint": "clean"},
            {"id": "ac", "from": "a", "to": "c", "travel_time_min": 5, "risk": 0.1,
             "controlled_by": "detains"},
        ],
    }  # fmt: skip


def test_checkpoint_risk_for_military_age_men_only_at_parties_with_detention_record() -> None:
    net = Network(validate_scenario(checkpoint_document()))
    men = net.conditions("military_age_men")
    assert men.risk.tolist() == pytest.approx([1 - 0.9 * 0.8, 0.1, 0.1])
    # Detention is counted apart from harm on the road; risk combines both.
    assert men.detention.tolist() == [0.2, 0.0, 0.0]
    assert men.harm.tolist() == pytest.approx([0.1, 0.1, 0.1])
    general = net.conditions("general")
    assert general.risk.tolist() == pytest.approx([0.1, 0.1, 0.1])
    assert general.detention.tolist() == [0.0, 0.0, 0.0]


def test_a_scenario_profile_names_its_own_checkpoint_risk() -> None:
    doc = checkpoint_document()
    doc["profiles"] = [
        {"id": "military_age_men", "detention_checkpoint_risk": 0.3,
         "checkpoint_risk": {"clean": 0.05}},
    ]  # fmt: skip
    risk = Network(validate_scenario(doc)).conditions("military_age_men").risk
    assert risk.tolist() == pytest.approx([1 - 0.9 * 0.7, 1 - 0.9 * 0.95, 0.1])


def test_checkpoint_risk_changes_the_safest_route_for_men() -> None:
    doc = checkpoint_document()
    doc["edges"][2]["risk"] = 0.25  # direct road a–c without a checkpoint
    net = Network(validate_scenario(doc))
    # General: a-b-c survives 0.81 > 0.75. Men: a-b-c survives 0.9·0.8·0.9 = 0.648 < 0.75.
    assert safest_route(net, "a", "c").edge_ids == ["ab", "bc"]
    men = safest_route(net, "a", "c", RouteOptions(profile="military_age_men"))
    assert men.edge_ids == ["ac"]
    assert men.survival_probability == pytest.approx(0.75)


# --- what a route reports --------------------------------------------------------------------


def test_route_steps_list_the_incidents_behind_each_risk() -> None:
    doc = two_node_document(
        base=0.02,
        incidents=[{"id": "i7", "edges": ["e"], "severity": 0.2, "confidence": 0.5,
                    "half_life_h": 6, "source": "field report",
                    "observed_at": "2016-12-13T09:00:00Z"}],
    )  # fmt: skip
    doc["edges"][0]["risk_source"] = "estimate: sniper reports"
    net = Network(validate_scenario(doc))
    at = T0 + timedelta(hours=3)
    route = safest_route(net, "a", "b", RouteOptions(at=at)).as_dict()
    p = 0.1 * 0.5 ** (3 / 6)
    [step] = route["steps"]
    assert step["risk_inputs"] == {
        "base": 0.02,
        "base_unknown": False,
        "base_source": "estimate: sniper reports",
        "incidents": [
            {"incident": "i7", "kind": "unspecified", "probability": pytest.approx(p),
             "age_h": 3.0, "source": "field report", "confidence": 0.5,
             "range": [pytest.approx(p * 0.5), pytest.approx(p / 0.5)],
             "label": "unspecified, 3 h ago, field report, confidence 0.5"},
        ],
        "detention": 0.0,
    }  # fmt: skip
    assert step["risk"] == pytest.approx(1 - 0.98 * (1 - p))
    assert route["survival_probability"] == pytest.approx(0.98 * (1 - p))
    assert route["at"] == at.isoformat()


def two_node_document(
    base: float, incidents: list[dict[str, Any]], as_of: str | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "a"}, {"id": "b"}],
        "edges": [{"id": "e", "from": "a", "to": "b", "travel_time_min": 10, "risk": base}],
        "incidents": incidents,
    }
    if as_of is not None:
        doc["as_of"] = as_of
    return doc


def test_a_step_names_each_report_as_a_reader_would() -> None:
    doc = two_node_document(
        base=0.0,
        incidents=[{"id": "i9", "kind": "shelling", "edges": ["e"], "severity": 0.3,
                    "observed_at": "2016-12-13T08:00:00+00:00", "source": "field team",
                    "confidence": 0.8}],
        as_of="2016-12-13T09:00:00+00:00",
    )  # fmt: skip
    route = safest_route(Network(validate_scenario(doc)), "a", "b", RouteOptions()).as_dict()
    (report,) = route["steps"][0]["risk_inputs"]["incidents"]
    assert report["label"] == "shelling, 1 h ago, field team, confidence 0.8"
    assert (report["kind"], report["confidence"], report["age_h"]) == ("shelling", 0.8, 1.0)
    assert report["probability"] == pytest.approx(0.24)
