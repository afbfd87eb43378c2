"""Incident import: ACLED and HXL columns, GeoJSON, bad rows by number, and routes that change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain.errors import ValidationError
from app.domain.formats.incidents import ImportDefaults, parse_incidents
from app.domain.network.graph import Network
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.reading import validate_scenario
from app.services.incidents import ImportRequest, apply_incidents, import_incidents

ACLED = (
    "event_id_cnty,event_date,year,event_type,sub_event_type,actor1,latitude,longitude,"
    "geo_precision,source,notes,fatalities\n"
    "SYR101,2016-12-13,2016,Explosions/Remote violence,Shelling/artillery/missile attack,"
    "Military Forces,36.2,37.15,1,SOHR,Shelling near the crossing,3\n"
    "SYR102,13 December 2016,2016,Battles,Armed clash,Rebels,36.21,37.16,2,Reuters,,0\n"
    "SYR103,2016-12-14,2016,Protests,Peaceful protest,Protesters,36.22,37.17,1,,,\n"
)


def test_acled_columns_are_understood() -> None:
    parsed = parse_incidents(ACLED)
    assert parsed.problems == [] and parsed.read == 3
    first, second, third = parsed.incidents
    assert first == {
        "id": "SYR101",
        "kind": "Shelling/artillery/missile attack",
        "observed_at": "2016-12-13T00:00:00+00:00",
        "lat": 36.2,
        "lon": 37.15,
        "radius_m": 250.0,
        "severity": 0.05,
        "confidence": 0.5,
        "half_life_h": 24.0,
        "source": "SOHR",
        "notes": "Shelling near the crossing; fatalities reported: 3",
    }
    assert second["observed_at"] == "2016-12-13T00:00:00+00:00"
    assert (second["kind"], second["severity"]) == ("Armed clash", 0.03)
    assert (third["kind"], third["severity"], third["source"]) == ("Peaceful protest", 0.0, None)


def test_hxl_hashtags_name_the_columns_under_a_header_row() -> None:
    text = (
        "When,Where (lat),Where (lon),What,Extra\n"
        "#date +occurred,#geo +lat,#geo+lon,#event+type,#x_unknown\n"
        "2016-12-13T09:00:00+02:00,36.1,37.1,sniper fire,whatever\n"
    )
    parsed = parse_incidents(text)
    assert parsed.problems == []
    (incident,) = parsed.incidents
    assert incident["observed_at"] == "2016-12-13T09:00:00+02:00"
    assert (incident["lat"], incident["lon"], incident["kind"]) == (36.1, 37.1, "sniper fire")
    assert incident["severity"] == 0.03
    assert incident["id"].startswith("inc-")


def test_hxl_hashtag_row_alone_is_a_header_and_rows_are_numbered_from_it() -> None:
    text = "#date,#geo+lat,#geo+lon\n2016-12-13,36.1,37.1\n2016-12-13,91,37.1\n"
    parsed = parse_incidents(text)
    assert [p.pointer for p in parsed.problems] == ["/rows/3/#geo+lat"]
    assert "row 3" in parsed.problems[0].detail and "90" in parsed.problems[0].detail
    assert parsed.bad == ["row 3"]


def test_every_bad_row_is_reported_with_its_spreadsheet_row_number() -> None:
    text = (
        "date,latitude,longitude,severity\n"  # row 1
        "2016-12-13,36.1,37.1,0.1\n"  # row 2: good
        "yesterday,36.1,37.1,0.1\n"  # row 3: bad date
        "2016-12-13,36.1,east,0.1\n"  # row 4: bad longitude
        "2016-12-13,36.1,37.1,1.5\n"  # row 5: severity out of range
        "2016-12-13,,,0.1\n"  # row 6: no location
    )
    parsed = parse_incidents(text)
    assert [p.pointer for p in parsed.problems] == [
        "/rows/3/date",
        "/rows/4/longitude",
        "/rows/5/severity",
        "/rows/6",
    ]
    assert parsed.bad == ["row 3", "row 4", "row 5", "row 6"]
    assert len(parsed.incidents) == 1 and parsed.read == 5


def test_geojson_points_and_named_roads() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [37.1, 36.2]},
                "properties": {"date": "2016-12-13T10:00:00Z", "event_type": "Air strike"},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"date": "2016-12-13", "roads": "r1;r9"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[37.1, 36.2], [37.2, 36.2]]},
                "properties": {"date": "2016-12-13"},
            },
        ],
    }
    parsed = parse_incidents(json.dumps(doc), known_edges={"r1"})
    assert parsed.incidents[0]["lat"] == 36.2 and parsed.incidents[0]["lon"] == 37.1
    assert parsed.incidents[0]["severity"] == 0.05
    assert [p.pointer for p in parsed.problems] == [
        "/features/1/properties/roads",
        "/features/2/geometry",
    ]
    assert "unknown road 'r9'" in parsed.problems[0].detail


def test_dates_without_offset_take_the_given_time_zone() -> None:
    tz = timezone(timedelta(hours=2))
    parsed = parse_incidents(
        "date,lat,lon\n2016-12-13 09:30,36,37\n", defaults=ImportDefaults(tz=tz)
    )
    assert parsed.incidents[0]["observed_at"] == "2016-12-13T09:30:00+02:00"


def test_a_file_without_a_date_column_is_refused_whole() -> None:
    parsed = parse_incidents("lat,lon\n36,37\n")
    assert parsed.fatal and [p.pointer for p in parsed.problems] == ["/rows/1"]


def scenario_doc() -> dict[str, Any]:
    """Two ways from a to b: the short road through the market and a longer one."""
    return {
        "schema": "safe-passage/scenario@1",
        "as_of": "2016-12-13T08:00:00+02:00",
        "nodes": [
            {"id": "a", "lat": 36.200, "lon": 37.100},
            {"id": "m", "lat": 36.200, "lon": 37.110},
            {"id": "b", "lat": 36.200, "lon": 37.120},
            {"id": "s", "lat": 36.190, "lon": 37.110},
        ],
        "edges": [
            {"id": "a-m", "from": "a", "to": "m", "travel_time_min": 10, "risk": 0.01},
            {"id": "m-b", "from": "m", "to": "b", "travel_time_min": 10, "risk": 0.01},
            {"id": "a-s", "from": "a", "to": "s", "travel_time_min": 15, "risk": 0.02},
            {"id": "s-b", "from": "s", "to": "b", "travel_time_min": 15, "risk": 0.02},
        ],
    }


SHELLING_AT_MARKET = (
    "event_id_cnty,event_date,sub_event_type,latitude,longitude,source\n"
    "SYR9,2016-12-13T09:00:00+02:00,Shelling/artillery/missile attack,36.2,37.11,SOHR\n"
)


def test_an_imported_incident_changes_the_route_and_decays_with_time() -> None:
    scenario = validate_scenario(scenario_doc())
    assert safest_route(Network(scenario), "a", "b").node_ids == ["a", "m", "b"]
    outcome = import_incidents(
        scenario, SHELLING_AT_MARKET, ImportRequest(severity=0.3, confidence=1.0)
    )
    assert outcome.report()["imported"] == 1 and outcome.report()["ids"] == ["SYR9"]
    net = Network(outcome.scenario)
    soon = datetime(2016, 12, 13, 10, tzinfo=UTC) + timedelta(hours=1)
    assert safest_route(net, "a", "b", RouteOptions(at=soon)).node_ids == ["a", "s", "b"]
    # Five days later (half-life 24 h) the shelling adds under 1 %: the market road again.
    later = soon + timedelta(days=5)
    assert safest_route(net, "a", "b", RouteOptions(at=later)).node_ids == ["a", "m", "b"]
    # Before it happened it has no effect.
    before = datetime(2016, 12, 13, 6, tzinfo=UTC)
    assert safest_route(net, "a", "b", RouteOptions(at=before)).node_ids == ["a", "m", "b"]


def test_nothing_is_imported_from_a_file_with_errors_unless_skip_bad() -> None:
    scenario = validate_scenario(scenario_doc())
    text = SHELLING_AT_MARKET + "SYR10,not a date,Armed clash,36.2,37.11,SOHR\n"
    with pytest.raises(ValidationError) as info:
        import_incidents(scenario, text, ImportRequest())
    assert [p.pointer for p in info.value.problems] == ["/rows/3/event_date"]
    assert "nothing imported" in info.value.detail
    outcome = import_incidents(scenario, text, ImportRequest(skip_bad=True))
    assert outcome.report()["ids"] == ["SYR9"]
    assert outcome.report()["bad"] == ["row 3"]
    assert [i.id for i in outcome.scenario.header.incidents] == ["SYR9"]


def test_reimporting_a_report_is_reported_as_already_present() -> None:
    scenario = validate_scenario(scenario_doc())
    once = import_incidents(scenario, SHELLING_AT_MARKET, ImportRequest()).scenario
    with pytest.raises(ValidationError) as info:
        import_incidents(once, SHELLING_AT_MARKET, ImportRequest())
    assert [p.pointer for p in info.value.problems] == ["/rows/2"]
    assert "already in the scenario" in info.value.problems[0].detail


def test_generated_ids_are_stable_so_reimports_are_caught_too() -> None:
    text = "date,lat,lon\n2016-12-13,36.2,37.11\n"
    scenario = validate_scenario(scenario_doc())
    once = import_incidents(scenario, text, ImportRequest()).scenario
    with pytest.raises(ValidationError):
        import_incidents(once, text, ImportRequest())


def test_a_whole_file_problem_is_not_skipped() -> None:
    scenario = validate_scenario(scenario_doc())
    with pytest.raises(ValidationError) as info:
        import_incidents(scenario, "{not json", ImportRequest(skip_bad=True))
    assert "cannot be read" in info.value.detail


def test_problems_of_applied_incidents_point_into_the_request() -> None:
    scenario = validate_scenario(scenario_doc())
    bad = {"id": "x", "severity": 0.1, "observed_at": "2016-12-13T09:00:00+02:00"}
    with pytest.raises(ValidationError) as info:
        apply_incidents(scenario, [bad])
    assert [p.pointer for p in info.value.problems] == ["/incidents/0"]
