"""Proposal briefs: what a reader takes from them — whether anything fits the window and
what window is needed, clock times, names in both languages, the banner, fallbacks that
use nothing of the refusing party, sources and assumptions — in JSON, Markdown and HTML.

Figures are recomputed here from the scenario document (brute force over splits, minute
by minute arrivals, networkx for fallbacks), not from the brief's own functions."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import pytest

from app.domain.formats.brief import Fallback, Proposal, build_brief
from app.domain.formats.brief_render import render_html, render_markdown
from app.domain.network.graph import Network
from app.domain.routes.disjoint import disjoint_pair
from app.domain.routes.engine import RouteOptions, safest_route
from app.domain.scenario.model import Window
from app.domain.scenario.reading import validate_scenario
from app.services.briefs import BriefRequest, compute_brief

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"


def town_doc(illustrative: bool = False) -> dict[str, Any]:
    """Two corridors from d to z: north (30/min, 10 + 10.5 min, checkpoint of 'n') and
    south (10/min, 20 + 20 min, held by 's')."""
    return {
        "schema": "safe-passage/scenario@1",
        "name": "Brief test",
        "illustrative": illustrative,
        "as_of": "2016-12-13T08:00:00+02:00",
        "parties": [
            {"id": "n", "name": "North | <force>", "consent": "pending"},
            {"id": "s", "name": "South", "consent": "granted"},
        ],
        "nodes": [
            {
                "id": "d",
                "name": "District",
                "name_ar": "الحي",
                "lat": 36.20,
                "lon": 37.10,
                "population": 900,
                "population_source": "estimate: test census",
            },
            {"id": "a", "kind": "crossing", "name": "North gate", "lat": 36.21, "lon": 37.11},
            {"id": "b", "lat": 36.19, "lon": 37.11},
            {"id": "z", "name": "Safe zone", "kind": "safe_zone", "lat": 36.20, "lon": 37.12},
        ],
        "edges": [
            {
                "id": "d-a",
                "from": "d",
                "to": "a",
                "travel_time_min": 10,
                "risk": 0.01,
                "capacity_per_min": 30,
                "controlled_by": "n",
                "checkpoint": "n",
                "risk_source": "estimate: test",
            },
            {"id": "a-z", "from": "a", "to": "z", "travel_time_min": 10.5, "risk": 0.01},
            {
                "id": "d-b",
                "from": "d",
                "to": "b",
                "travel_time_min": 20,
                "risk": 0.02,
                "capacity_per_min": 10,
                "controlled_by": "s",
                "risk_source": "field survey 2016",
            },
            {"id": "b-z", "from": "b", "to": "z", "travel_time_min": 20, "risk": 0.02},
        ],
        "windows": [
            {
                "id": "w",
                "start": "2016-12-13T10:00:00+02:00",
                "end": "2016-12-13T11:00:00+02:00",
                "agreed_by": ["s"],
            }
        ],
    }


def town(illustrative: bool = False) -> Network:
    return Network(validate_scenario(town_doc(illustrative)))


START = datetime.fromisoformat("2016-12-13T10:00:00+02:00")
NORTH_MIN, SOUTH_MIN = 10 + 11, 20 + 20  # whole minutes per road, summed


def window(minutes: int) -> Window:
    end = START + timedelta(minutes=minutes)
    return Window(id="w", start=START, end=end, agreed_by=["s"])


def arrivals(cap: int, travel: int, horizon: int) -> int:
    """People arriving by ``horizon`` when ``cap`` enter each minute from minute 0."""
    return sum(cap for d in range(horizon + 1) if d + travel <= horizon)


def shown(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC+02:00"


def test_a_pair_moves_everyone_as_early_as_any_split_allows() -> None:
    pair = disjoint_pair(town(), "d", "z")
    b = build_brief(Proposal(list(pair.routes), people=1000, window=window(60)))
    north, south = b["corridors"]
    assert north["route"]["nodes"] == ["d", "a", "z"]
    # brute force over every split: the last arrival of the better split
    best = min(
        max(
            NORTH_MIN + math.ceil(n / 30) - 1 if n else 0,
            SOUTH_MIN + math.ceil((1000 - n) / 10) - 1 if n < 1000 else 0,
        )
        for n in range(1001)
    )
    assert b["verdict"]["status"] == "fits"
    assert b["verdict"]["egress"]["min"] == best == 50
    assert north["people"] + south["people"] == 1000
    assert max(north["last_arrival"]["min"], south["last_arrival"]["min"]) == best
    assert b["survival"]["joint"] == pytest.approx(pair.joint_survival_probability)
    assert b["survival"]["expected_harmed"] == pytest.approx(
        north["people"] * pair.routes[0].risk + south["people"] * pair.routes[1].risk
    )


def test_a_window_too_short_for_everyone_says_how_many_and_what_is_needed() -> None:
    route = safest_route(town(), "d", "z")
    b = build_brief(Proposal([route], people=900, window=window(30)))
    v = b["verdict"]
    assert v["status"] == "partial"
    assert v["people_moved"] == arrivals(30, NORTH_MIN, 30) == 300
    # the least window moving all 900, minute by minute
    needed = next(h for h in range(1000) if arrivals(30, NORTH_MIN, h) >= 900)
    assert v["recommended_window_min"] == needed
    md = render_markdown(b)
    assert "Only 300 of 900 people can reach Safe zone before the window ends" in md
    assert f"A window of at least {needed} min" in md
    (row,) = b["notification"]
    assert row["people"] == 300


def test_nothing_fitting_is_said_plainly_and_nothing_is_proposed() -> None:
    route = safest_route(town(), "d", "z")
    b = build_brief(Proposal([route], people=900, window=window(15)))
    assert b["verdict"]["status"] == "nothing_fits"
    assert b["verdict"]["people_moved"] == 0
    assert [c["status"] for c in b["corridors"]] == ["too_long"]
    assert b["notification"] == []
    md = render_markdown(b)
    assert "Nothing fits the window" in md and "No corridor is proposed" in md
    needed = next(h for h in range(1000) if arrivals(30, NORTH_MIN, h) >= 900)
    assert f"a window of at least {needed} min" in md
    assert "## Corridor A (not proposed" in md
    assert "Nothing to notify" in md and "Nothing to notify" in render_html(b)


def test_clock_times_are_the_window_start_plus_the_minutes() -> None:
    route = safest_route(town(), "d", "z")
    b = build_brief(Proposal([route], people=900, window=window(60)))
    (c,) = b["corridors"]
    last_departure = math.ceil(900 / 30) - 1
    first = START + timedelta(minutes=NORTH_MIN)
    last = START + timedelta(minutes=NORTH_MIN + last_departure)
    assert datetime.fromisoformat(c["first_arrival"]["at"]) == first
    assert datetime.fromisoformat(c["last_arrival"]["at"]) == last
    assert c["last_arrival"]["at"].endswith("+02:00")
    gate = START + timedelta(minutes=10)  # d-a: 10 whole minutes
    assert datetime.fromisoformat(c["route"]["steps"][0]["first_arrival"]["at"]) == gate
    (row,) = b["notification"]
    assert datetime.fromisoformat(row["last_arrival"]) == last
    for text in (render_markdown(b), render_html(b)):
        assert shown(first) in text and shown(last) in text and shown(gate) in text
    assert "UTC+02:00" in b["clock"]["utc_offset"] or b["clock"]["utc_offset"] == "+02:00"


def test_banner_iff_the_scenario_is_illustrative() -> None:
    for flag in (True, False):
        b = build_brief(Proposal([safest_route(town(flag), "d", "z")], 900, window(60)))
        assert b["illustrative"] is flag
        for text in (render_markdown(b), render_html(b)):
            assert ("NOT FOR OPERATIONAL USE" in text) is flag


def test_names_in_both_languages_arabic_right_to_left_in_html() -> None:
    b = build_brief(Proposal([safest_route(town(), "d", "z")], 900, window(60)))
    md, page = render_markdown(b), render_html(b)
    assert "District (\u2068الحي\u2069)" in md
    assert '<bdi dir="rtl" lang="ar">الحي</bdi>' in page
    assert b["from"]["name"] == "District" and b["from"]["name_ar"] == "الحي"


def test_checkpoints_and_crossings_with_coordinates() -> None:
    b = build_brief(Proposal([safest_route(town(), "d", "z")], 900, window(60)))
    checkpoint, crossing = b["checkpoints_and_crossings"]
    assert checkpoint["kind"] == "checkpoint" and checkpoint["party"] == "n"
    ends = [(p["lat"], p["lon"]) for p in checkpoint["between"]]
    assert ends == [(36.20, 37.10), (36.21, 37.11)]
    assert crossing["place"]["id"] == "a" and (
        crossing["place"]["lat"],
        crossing["place"]["lon"],
    ) == (
        36.21,
        37.11,
    )
    md = render_markdown(b)
    assert "36.20000, 37.10000 to 36.21000, 37.11000" in md and "| crossing | North gate" in md


def test_assumed_figures_list_estimates_and_profile_numbers_with_their_sources() -> None:
    doc = town_doc()
    doc["parties"][0]["detention_record"] = True
    net = Network(validate_scenario(doc))
    pair = disjoint_pair(net, "d", "z", RouteOptions(profile="military_age_men"))
    b = build_brief(Proposal(list(pair.routes), 900, window(60), people_from_population=True))
    rows = b["assumed_figures"]
    by_label = {a["quantity"]: a for a in rows if a["quantity"].startswith("base risk")}
    assert by_label["base risk of roads (estimate)"]["applies_to"] == ["d-a"]
    assert by_label["base risk of roads (estimate)"]["source"] == "estimate: test"
    assert sorted(by_label["base risk of roads (not given)"]["applies_to"]) == ["a-z", "b-z"]
    assert by_label["base risk of roads (given)"]["source"] == "field survey 2016"
    population = next(a for a in rows if a["quantity"].startswith("population"))
    assert population["value"] == 900 and population["source"] == "estimate: test census"
    detention = next(a for a in rows if a["quantity"].startswith("detention"))
    assert detention["value"] == 0.2 and "not a measured rate" in detention["source"]
    md = render_markdown(b)
    assert "estimate: test census" in md and "not a measured rate" in md
    assert "not a measured rate" in render_html(b)
    assert "not a casualty rate" in " ".join(b["caveats"])


def test_no_outside_links_anywhere() -> None:
    net = Network(validate_scenario(json.loads((GRAPHS / "aleppo-2016-12.json").read_text())))
    b = compute_brief(
        net,
        BriefRequest.model_validate(
            {"from": "as-sukkari", "to": "khan-al-asal", "window": "pause-2016-12-15-3h"}
        ),
    )
    page = render_html(b)
    for text in (json.dumps(b, ensure_ascii=False), b["markdown"], page):
        assert not re.search(r"https?:|www\.|\]\(|//", text)
    assert not re.search(r"\b(href|src)=|url\(|@import", page)


class Checker(HTMLParser):
    """Well-formedness: every element closed in order (void elements excepted); collects
    text and the figures' cells."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.figures: list[tuple[str, str]] = []
        self._figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)
        self._figure = dict(attrs).get("data-figure")
        if tag in {"script", "img", "link", "a", "iframe"}:
            self.errors.append(f"<{tag}> in a self-contained page")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._figure is not None and data.strip():
            self.figures.append((self._figure, data.strip()))
            self._figure = None


def test_html_is_well_formed_escaped_and_shows_the_json_figures() -> None:
    pair = disjoint_pair(town(True), "d", "z")
    b = build_brief(Proposal(list(pair.routes), people=1000, window=window(60)))
    page = render_html(b)
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "North | <force>" not in page and "North | &lt;force&gt;" in page
    text = " ".join(checker.text)
    cells = dict(checker.figures[: len(b["figures"])])
    assert cells["people_moved"] == f"{b['verdict']['people_moved']:,}"
    assert cells["recommended_window_min"].startswith(
        f"{b['verdict']['recommended_window_min']} min"
    )
    assert cells["last_arrival"] == shown(datetime.fromisoformat(b["verdict"]["egress"]["at"]))
    for c in b["corridors"]:
        assert f"{c['route']['survival_probability']:.4f}" in text
        assert f"{c['people']:,}" in text
    assert f"{b['survival']['joint']:.4f}" in text


def test_markdown_escapes_table_cells() -> None:
    b = build_brief(Proposal([safest_route(town(), "d", "z")], 900, window(60)))
    assert "North \\| <force>" in render_markdown(b)


def test_fallback_uses_nothing_of_the_refusing_party() -> None:
    net = town()
    route = safest_route(net, "d", "z")
    fallback = safest_route(net, "d", "z", RouteOptions(avoid_parties=("n",)))
    b = build_brief(Proposal([route], 900, window(60), [Fallback("n", fallback)]))
    assert b["consents_needed"] == ["n"]
    assert b["window_not_yet_agreed_by"] == ["n"]
    (refusal,) = b["if_a_party_refuses"]
    assert refusal["fallback"]["nodes"] == ["d", "b", "z"]
    assert refusal["fallback"]["people_moved"] == arrivals(10, SOUTH_MIN, 60)
    assert refusal["survival_change"] == pytest.approx(
        fallback.survival_probability - route.survival_probability
    )


def held_by(doc: dict[str, Any], party: str) -> tuple[set[str], set[str]]:
    """Places and roads a party holds (roads: controlled, with its checkpoint, or ending in
    its places)."""
    places = {n["id"] for n in doc["nodes"] if n.get("controlled_by") == party}
    roads = {
        e["id"]
        for e in doc["edges"]
        if party in (e.get("controlled_by"), e.get("checkpoint"))
        or e["from"] in places
        or e["to"] in places
    }
    return places, roads


QUESTIONS = [
    ("teaching.json", "hilltop", "camp", {"window": "pause-1", "at": "2025-03-01T20:00:00+00:00"}),
    ("teaching.json", "mill", "camp", {"window": "pause-1"}),
    ("aleppo-2016-12.json", "as-sukkari", "khan-al-asal", {"window": "pause-2016-12-15-3h"}),
    ("aleppo-2016-12.json", "al-amiriyeh", "al-rashideen", {"disjoint": False}),
]


@pytest.mark.parametrize(("file", "a", "z", "extra"), QUESTIONS)
def test_fallbacks_checked_on_the_data(file: str, a: str, z: str, extra: dict[str, Any]) -> None:
    doc = json.loads((GRAPHS / file).read_text())
    b = compute_brief(
        Network(validate_scenario(doc)), BriefRequest.model_validate({"from": a, "to": z, **extra})
    )
    assert b["if_a_party_refuses"]
    for f in b["if_a_party_refuses"]:
        places, roads = held_by(doc, f["party"])
        fb = f["fallback"]
        if fb is not None:
            assert not places & set(fb["nodes"]) and not roads & set(fb["edges"])
            continue
        # no fallback: no path at all once the party's places and roads are left out
        g = nx.MultiGraph()
        g.add_nodes_from(n["id"] for n in doc["nodes"])
        g.add_edges_from(
            (e["from"], e["to"])
            for e in doc["edges"]
            if e.get("status") != "blocked" and e["id"] not in roads
        )
        g.remove_nodes_from(places - {a, z})
        assert a in places or z in places or not nx.has_path(g, a, z)


def test_service_defaults_people_to_the_population_and_evaluates_at_the_window() -> None:
    net = town()
    b = compute_brief(net, BriefRequest.model_validate({"from": "d", "to": "z", "window": "w"}))
    assert b["people"] == 900
    assert b["evaluated_at"] == "2016-12-13T10:00:00+02:00"
    assert b["markdown"].startswith("# Evacuation corridor: District to Safe zone")
    assert any(a["quantity"].startswith("population") for a in b["assumed_figures"])
    pair = compute_brief(
        net, BriefRequest.model_validate({"from": "d", "to": "z", "disjoint": True})
    )
    assert len(pair["corridors"]) == 2
    assert pair["survival"]["joint"] == pytest.approx(math.prod(pair["survival"]["per_corridor"]))
    # without a window the clock starts at the time evaluated (as_of)
    assert pair["clock"]["start"] == "2016-12-13T08:00:00+02:00"
    assert pair["verdict"]["status"] == "no_window"
