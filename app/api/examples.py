"""Request and response examples for the OpenAPI docs, in the words of the Aleppo scenario.

Every request example must answer 2xx on the bundled scenarios (``serve --demo``), except one
meant to show an error: its summary starts with "Error:" and ``x-expected-status`` gives the
status it answers. tests/api/test_openapi_examples.py sends each one as published.
"""

from __future__ import annotations

from typing import Any

SCENARIO: dict[str, Any] = {
    "schema": "safe-passage/scenario@1",
    "name": "Eastern Aleppo (excerpt), 13 December 2016",
    "as_of": "2016-12-13T08:00:00+02:00",
    "parties": [
        {
            "id": "gov",
            "name": "Government forces and allies",
            "consent": "granted",
            "detention_record": True,
        },
        {"id": "opposition", "name": "Armed opposition groups", "consent": "pending"},
    ],
    "nodes": [
        {
            "id": "as-sukkari",
            "name": "as-Sukkari",
            "kind": "district",
            "lat": 36.175,
            "lon": 37.142,
            "population": 12000,
            "population_source": "estimate: illustrative",
            "controlled_by": "opposition",
        },
        {
            "id": "al-amiriyeh",
            "name": "al-Amiriyeh",
            "kind": "district",
            "lat": 36.171,
            "lon": 37.126,
            "controlled_by": "opposition",
        },
        {
            "id": "ramouseh-crossing",
            "name": "ar-Ramouseh crossing",
            "kind": "crossing",
            "lat": 36.166,
            "lon": 37.121,
            "controlled_by": "gov",
        },
        {
            "id": "al-rashideen",
            "name": "al-Rashideen",
            "kind": "safe_zone",
            "lat": 36.185,
            "lon": 37.07,
            "controlled_by": "opposition",
        },
    ],
    "edges": [
        {
            "id": "sukkari-amiriyah",
            "from": "as-sukkari",
            "to": "al-amiriyeh",
            "length_m": 900,
            "travel_time_min": 15,
            "capacity_per_min": 40,
            "risk": 0.02,
            "controlled_by": "opposition",
        },
        {
            "id": "amiriyah-ramouseh",
            "from": "al-amiriyeh",
            "to": "ramouseh-crossing",
            "length_m": 700,
            "capacity_per_min": 30,
            "risk": 0.01,
            "controlled_by": "gov",
            "checkpoint": "gov",
        },
        {
            "id": "ramouseh-rashideen",
            "from": "ramouseh-crossing",
            "to": "al-rashideen",
            "length_m": 5000,
            "capacity_per_min": 60,
            "risk": 0.005,
            "controlled_by": "gov",
        },
    ],
    "windows": [
        {
            "id": "pause-1",
            "start": "2016-12-15T10:00:00+02:00",
            "end": "2016-12-15T13:00:00+02:00",
            "agreed_by": ["gov", "opposition"],
        }
    ],
}

ROUTE_REQUEST: dict[str, Any] = {
    "safest": {
        "summary": "Safest route out of the enclave",
        "value": {"from": "as-sukkari", "to": "al-rashideen"},
    },
    "men": {
        "summary": "For men of military age, avoiding nothing",
        "value": {"from": "al-amiriyeh", "to": "khan-al-asal", "profile": "military_age_men"},
    },
    "options": {
        "summary": "Alternatives, at a given time, within a risk limit",
        "value": {
            "from": "as-sukkari",
            "to": "al-rashideen",
            "alternatives": 3,
            "at": "2016-12-15T10:00:00+02:00",
            "max_risk": 0.05,
        },
    },
    "disjoint": {
        "summary": "Two corridors sharing no road, to the ar-Ramouseh crossing",
        "description": "Beyond the crossing a single road leads on to al-Rashideen, so a "
        "disjoint pair exists only as far as the crossing (see the next example).",
        "value": {"from": "as-sukkari", "to": "ramouseh-crossing", "disjoint": True},
    },
    "no-disjoint": {
        "summary": "Error: no disjoint pair to al-Rashideen",
        "description": "Every route into al-Rashideen uses the road from the ar-Ramouseh "
        "crossing: the answer is a 422 problem (type …/no-disjoint-pair) whose "
        "`shared_roads` names that road, with the safest route as `route`.",
        "value": {"from": "al-amiriyeh", "to": "al-rashideen", "disjoint": True},
        "x-expected-status": 422,
    },
}

INCIDENTS: dict[str, Any] = {
    "shelling": {
        "summary": "A shelling report near a road",
        "value": {
            "incidents": [
                {
                    "id": "r-2016-12-15-01",
                    "kind": "shelling",
                    "lat": 36.17,
                    "lon": 37.13,
                    "radius_m": 300,
                    "severity": 0.1,
                    "confidence": 0.7,
                    "observed_at": "2016-12-15T09:00:00+02:00",
                    "half_life_h": 12,
                    "source": "field report",
                }
            ]
        },
    }
}

PLAN_REQUEST: dict[str, Any] = {
    "window": {
        "summary": "Who gets out in the three-hour pause",
        "value": {"window": "pause-2016-12-15-3h", "method": "optimal"},
    },
    "interval": {
        "summary": "A 48-hour pause given by start and end, fast method",
        "value": {
            "start": "2016-12-15T10:00:00+02:00",
            "end": "2016-12-17T10:00:00+02:00",
            "method": "fast",
        },
    },
    "openings": {
        "summary": "What to negotiate first: roads, checkpoints, consent, pause, capacity",
        "value": {"window": "pause-2016-12-15-3h", "rank_openings": True},
    },
}

PARTIES_REQUEST: dict[str, Any] = {
    "enclave": {
        "summary": "Whose agreement opens the safest way out",
        "value": {"from": "as-sukkari", "to": "khan-al-asal"},
    }
}

BRIEF_REQUEST: dict[str, Any] = {
    "pause": {
        "summary": "A brief for moving people from as-Sukkari in the pause",
        "value": {
            "from": "as-sukkari",
            "to": "al-rashideen",
            "people": 8000,
            "window": "pause-2016-12-15-3h",
            "requested_by": "UN/ICRC access team",
        },
    },
    "two-lanes": {
        "summary": "Two corridors sharing no road to the crossing, for stretcher cases",
        "value": {
            "from": "al-amiriyeh",
            "to": "ramouseh-crossing",
            "disjoint": True,
            "profile": "medical",
            "people": 500,
        },
    },
}

INCIDENTS_CSV = (
    "event_id_cnty,event_date,event_type,latitude,longitude,source\n"
    "r-01,2016-12-15,Shelling/artillery/missile attack,36.17,37.13,field report\n"
)

EDIT_REQUEST: dict[str, Any] = {
    "shelled": {
        "summary": "A road shelled: closed, with the field report",
        "value": {
            "reason": "Road shelled 09:10, field team report",
            "edits": [
                {"op": "set_road", "road": "ansari-sharqi--as-sukkari", "status": "blocked"},
                {
                    "op": "add_incident",
                    "incident": {
                        "id": "shelling-0910",
                        "kind": "shelling",
                        "edges": ["ansari-sharqi--as-sukkari"],
                        "severity": 0.3,
                        "observed_at": "2016-12-15T09:10:00+02:00",
                        "source": "field team",
                        "confidence": 0.8,
                    },
                },
            ],
        },
    },
    "agreed": {
        "summary": "A party agrees, and a second pause is set",
        "value": {
            "reason": "Opposition agreed in Geneva; second pause proposed",
            "edits": [
                {"op": "set_party", "party": "opposition", "consent": "granted"},
                {
                    "op": "set_window",
                    "window": {
                        "id": "pause-2016-12-16",
                        "start": "2016-12-16T10:00:00+02:00",
                        "end": "2016-12-16T16:00:00+02:00",
                        "agreed_by": ["gov", "opposition"],
                    },
                },
            ],
        },
    },
}
