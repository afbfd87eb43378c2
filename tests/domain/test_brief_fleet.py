"""The brief's fleet section (``fleet`` in a brief request): a fleet plan told in clock times.

On a case computed by hand (one bus and one ambulance shuttling over one road through a
checkpoint), then on the Aleppo scenario against the fleet plan's own answer
(``compute_plan`` with the same fleet and window: the section must say what the plan says)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.domain.errors import InvalidRequestError
from app.domain.formats.brief_render import render_html
from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario
from app.services.briefs import BriefRequest, compute_brief
from app.services.plans import PlanRequest, compute_plan
from app.services.scenarios import load_scenario_file

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
START = datetime.fromisoformat("2016-12-15T10:00:00+02:00")


def shuttle() -> Network:
    """A town of 1,000 (4 of them wounded), a camp over one road of 10 minutes' drive with a
    checkpoint of 'gov' screening 2 min a vehicle + 0.1 min a person in two lanes; one bus
    of 50 seats and one ambulance of 2 stretchers, both at the camp; a 3-hour window from
    10:00."""
    doc = {
        "schema": "safe-passage/scenario@1",
        "parties": [{"id": "gov", "name": "Government", "consent": "granted"}],
        "nodes": [{"id": "town", "population": 1000}, {"id": "camp", "kind": "safe_zone"}],
        "edges": [{"id": "road", "from": "town", "to": "camp", "travel_time_min": 10,
                   "name": "Camp road", "checkpoint": "gov", "screening_min_per_vehicle": 2,
                   "screening_min_per_person": 0.1, "screening_lanes": 2,
                   "notes": "screening: field estimate"}],
        "windows": [{"id": "pause", "start": START.isoformat(),
                     "end": (START + timedelta(hours=3)).isoformat()}],
        "groups": [{"id": "wounded", "name": "Wounded", "needs": "stretcher", "at": {"town": 4},
                    "source": "estimate: clinic list"}],
        "fleets": [
            {"id": "buses", "kind": "bus", "count": 1, "seats": 50, "speed_m_per_min": 64,
             "depot": "camp", "load_min": 5, "unload_min": 3, "source": "assumption: test"},
            {"id": "ambulances", "kind": "ambulance", "count": 1, "stretchers": 2,
             "speed_m_per_min": 64, "depot": "camp", "load_min": 5, "unload_min": 3,
             "source": "assumption: test"},
        ],
    }  # fmt: skip
    return Network(validate_scenario(doc))


def ask(net: Network, **fields: Any) -> dict[str, Any]:
    body = {"from": "town", "to": "camp", "window": "pause", **fields}
    return compute_brief(net, BriefRequest.model_validate(body))


def test_the_fleet_section_by_hand() -> None:
    """Each round: 10 min out, 5 loading, screening ceil(2 + 0.1 × aboard), 10 in, 3
    unloading; two lanes, so neither vehicle waits for the other. Bus (50 aboard, 7 min
    screening, 35-minute rounds): arrivals at 32, 67, 102, 137, 172 (the next, 207, is past
    the 180-minute window): 250 people. Ambulance (2 aboard, 3 min screening, 31-minute
    rounds): arrivals at 28 and 59, and the 4 wounded are out."""
    f = ask(shuttle(), fleet=["buses", "ambulances"])["fleet"]
    assert f["headline"] == (
        "1 bus and 1 ambulance, 10:00–13:00: about 254 people, wounded first (4 of 4)"
    )
    groups = {g["group"]: g for g in f["by_group"]}
    assert [g["group"] for g in f["by_group"]] == ["wounded", "general"]  # priority order
    assert (groups["wounded"]["evacuated"], groups["general"]["evacuated"]) == (4, 250)
    assert groups["general"]["last_arrival"]["at"] == "2016-12-15T12:52:00+02:00"  # minute 172
    assert groups["wounded"]["last_arrival"]["at"] == "2016-12-15T10:59:00+02:00"  # minute 59
    (queue,) = f["checkpoints"]
    assert (queue["edge"], queue["name"], queue["party_name"]) == (
        "road",
        "Camp road",
        "Government",
    )
    assert (queue["vehicles"], queue["people"]) == (5 + 2, 254)
    assert (queue["waiting_min"], queue["longest_wait_min"]) == (0, 0)
    assert f["first_arrival"]["at"] == "2016-12-15T10:28:00+02:00"  # the ambulance
    assert f["last_arrival"]["at"] == "2016-12-15T12:52:00+02:00"
    sources = [a["source"] for a in f["assumptions"]]
    assert "assumption: test" in sources and "screening: field estimate" in sources
    assert "estimate: clinic list" in sources


def test_the_fleet_section_in_markdown_and_html() -> None:
    brief = ask(shuttle(), fleet=["buses", "ambulances"])
    f = brief["fleet"]
    md = brief["markdown"]
    section = md[md.index("## Fleet plan") : md.index("## Corridor A")]
    assert f"**{f['headline']}.**" in section
    assert f"Bottleneck ({f['bottleneck']['kind']}): {f['bottleneck']['explanation']}." in section
    assert "| Wounded | stretcher | 4 | 4 | 0 | 2016-12-15 10:59 UTC+02:00 |" in section
    assert "| Camp road (Government) | 7 | 254 | 0 | 0 min |" in section
    assert "assumption: test" in section
    page = render_html(brief)
    assert f"{f['headline']}." in page
    assert '<tr data-checkpoint="road"><td>Camp road (Government)</td>' in page
    assert "Queue at the checkpoints" in page


def test_without_a_fleet_the_brief_has_no_fleet_section() -> None:
    brief = ask(shuttle())
    assert "fleet" not in brief
    assert "## Fleet plan" not in brief["markdown"]
    with pytest.raises(InvalidRequestError) as refused:
        ask(shuttle(), vehicles=3)
    assert [p.pointer for p in refused.value.problems] == ["/vehicles"]
    with pytest.raises(InvalidRequestError) as unknown:
        ask(shuttle(), fleet="tanks")
    assert [p.pointer for p in unknown.value.problems] == ["/fleet"]


@pytest.fixture(scope="module")
def aleppo() -> Network:
    return Network(load_scenario_file(str(GRAPHS / "aleppo-2016-12.json"), Settings()))


@pytest.mark.parametrize(
    "fleet", [{"fleet": ["buses", "ambulances"]}, {"fleet": "buses", "vehicles": 8}]
)
def test_the_aleppo_fleet_section_says_what_the_fleet_plan_says(
    aleppo: Network, fleet: dict[str, Any]
) -> None:
    window = "pause-2016-12-15-3h"
    brief = compute_brief(
        aleppo,
        BriefRequest.model_validate(
            {"from": "as-sukkari", "to": "khan-al-asal", "window": window, **fleet}
        ),
    )
    plan = compute_plan(
        aleppo, PlanRequest.model_validate({"window": window, **fleet}), max_expanded_arcs=1
    )
    f = brief["fleet"]
    assert f["vehicles"] == plan["vehicles"]
    assert (f["evacuated"], f["stranded"]) == (plan["evacuated"], plan["stranded"])
    assert f["bottleneck"] == plan["bottleneck"]
    assert f["assumptions"] == plan["assumptions"]
    start = datetime.fromisoformat(plan["window"]["start"])
    for g, p in zip(f["by_group"], plan["by_group"], strict=True):
        assert (g["group"], g["evacuated"], g["population"]) == (
            p["group"],
            p["evacuated"],
            p["population"],
        )
        if p["last_arrival_min"] is not None:
            at = start + timedelta(minutes=p["last_arrival_min"])
            assert g["last_arrival"]["at"] == at.isoformat()
    for c, p in zip(f["checkpoints"], plan["checkpoints"], strict=True):
        assert {k: c[k] for k in p} == p
    last = start + timedelta(minutes=plan["egress_time_min"])
    assert f["last_arrival"]["at"] == last.isoformat()
    counts = " and ".join(
        f"{n} {'buses' if k == 'buses' else 'ambulances'}" for k, n in plan["vehicles"].items()
    )
    assert f["headline"].startswith(f"{counts}, 10:00–13:00: about {plan['evacuated']:,} people")
    first = plan["by_group"][0]
    if first["evacuated"]:
        assert f["headline"].endswith(
            f"wounded first ({first['evacuated']:,} of {first['population']:,})"
        )
    assert f["headline"] in brief["markdown"]
