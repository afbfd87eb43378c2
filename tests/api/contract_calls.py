"""Real requests to every operation of the service, on the bundled scenarios.

:func:`exercise` sends them, as an integrator would, to a service that loaded graphs/*.json
the way ``safe-passage serve --demo`` does, and returns each answer with the operation it
came from. tests/api/test_contract.py checks every answer against the published schema.

The requests are chosen to bring out the optional members of each answer: alternatives,
disjoint pairs, risk-time trade-offs, concessions, fleet plans with sizing, every brief
format, the map with a route, jobs done, failed and cancelled, and the problem documents of
each kind of error.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import yaml

from tests.api import TEACHING, bearer, load

DEMO = "aleppo-2016-12"
TEACH = "teaching"


@dataclass
class Call:
    """One request sent and its answer."""

    method: str
    path: str
    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code


class Queue(Protocol):
    """Control of the job queue of the service called (only a service in this process)."""

    def held(self) -> AbstractContextManager[None]:
        """Jobs submitted inside stay queued until it ends, then go to the workers."""

    def down(self) -> AbstractContextManager[None]:
        """The queue refuses jobs inside (as a broker that cannot be reached)."""


ASYNC = {"Prefer": "respond-async"}


def operation_of(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """``(path template, operation)`` of the document that a request to ``path`` reaches."""
    plain = path.split("?")[0]
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, plain) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"no operation for {method} {path}")


def exercise(
    client: Any, admin: str, planner: str, viewer: str, queue: Queue | None = None
) -> list[Call]:
    """Send the requests; ``client`` is an httpx-like client (TestClient or httpx.Client).
    With ``queue``, also a job cancelled while queued and a submission the queue refuses."""
    calls: list[Call] = []

    def send(method: str, path: str, token: str | None = admin, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers.update(bearer(token))
        response: httpx.Response = client.request(method, path, headers=headers, **kwargs)
        calls.append(Call(method, path, response))
        return response

    def ok(method: str, path: str, status: int = 200, **kwargs: Any) -> httpx.Response:
        response = send(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text[:2000]}"
        return response

    def fails(method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        response = send(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text[:2000]}"
        return response

    scenario = f"/v1/scenarios/{DEMO}"
    teach = f"/v1/scenarios/{TEACH}"

    # Service, site and caller.
    ok("GET", "/v1/health", token=None)
    ok("GET", "/v1/config", token=None)
    ok("GET", "/metrics", token=None)
    ok("GET", "/v1/whoami")
    ok("GET", "/v1/whoami", token=viewer)

    # Scenarios: create (JSON and YAML), list, read, replace, edit, diff, fork, incidents.
    created = ok("POST", "/v1/scenarios", 201, json=load(TEACHING), token=planner)
    copy = created.json()["id"]
    ok(
        "POST",
        "/v1/scenarios",
        201,
        content=yaml.safe_dump(load(TEACHING)).encode(),
        headers={"Content-Type": "application/yaml"},
    )
    ok("GET", "/v1/scenarios")
    ok("GET", "/v1/scenarios", params={"limit": 1, "offset": 1})
    read = ok("GET", f"/v1/scenarios/{copy}")
    ok("GET", scenario)
    replaced = ok(
        "PUT",
        f"/v1/scenarios/{copy}",
        json=read.json(),
        headers={"If-Match": read.headers["ETag"]},
    )
    edited = ok(
        "POST",
        f"/v1/scenarios/{copy}/edits",
        json={
            "reason": "ford flooded",
            "edits": [
                {"op": "set_road", "road": "ford--mill", "status": "blocked"},
                {"op": "set_party", "party": "north", "consent": "granted"},
            ],
        },
        headers={"If-Match": replaced.headers["ETag"]},
    )
    ok(
        "POST",
        f"/v1/scenarios/{copy}/incidents",
        201,
        json={
            "incidents": [
                {
                    "id": "r-01",
                    "kind": "shelling",
                    "edges": ["ford--mill"],
                    "severity": 0.2,
                    "observed_at": "2025-03-01T09:00:00+00:00",
                    "source": "field report",
                }
            ]
        },
    )
    ok(
        "POST",
        f"{scenario}/incidents",
        201,
        params={"skip_bad": True},
        content=(
            b"event_id_cnty,event_date,event_type,latitude,longitude,source\n"
            b"r-01,2016-12-15,Shelling/artillery/missile attack,36.17,37.13,field report\n"
            b"r-02,not a date,Shelling/artillery/missile attack,36.17,37.13,field report\n"
        ),
        headers={"Content-Type": "text/csv"},
    )
    ok("GET", f"/v1/scenarios/{copy}/versions")
    ok("GET", f"/v1/scenarios/{copy}/versions/1")
    ok("GET", f"/v1/scenarios/{copy}/diff", params={"from": 1})
    forked = ok("POST", f"/v1/scenarios/{copy}/forks", 201, json={"name": "what if", "version": 2})
    ok("GET", f"/v1/scenarios/{copy}/forks")
    ok("GET", f"/v1/scenarios/{forked.json()['id']}/versions")
    fails(
        "PUT",
        f"/v1/scenarios/{copy}",
        412,
        json=read.json(),
        headers={"If-Match": read.headers["ETag"]},
    )
    fails("PUT", f"/v1/scenarios/{copy}", 428, json=read.json())
    fails(
        "POST",
        f"/v1/scenarios/{copy}/edits",
        412,
        json={"edits": [{"op": "set_road", "road": "ford--mill", "status": "open"}]},
        headers={"If-Match": edited.headers["ETag"]},
    )
    fails(
        "POST",
        "/v1/scenarios",
        415,
        content=b"<scenario/>",
        headers={"Content-Type": "application/xml"},
    )
    fails("POST", "/v1/scenarios", 422, json={"schema": "safe-passage/scenario@1", "nodes": 3})
    fails("GET", "/v1/scenarios/no-such-scenario", 404)
    fails("GET", "/v1/scenarios", 401, token=None)
    fails("POST", f"{teach}/routes", 403, token=viewer, json={"from": "camp", "to": "square"})

    # Routes: one, alternatives, a disjoint pair, the risk-time trade-off, other objectives.
    for body in (
        {"from": "as-sukkari", "to": "al-rashideen"},
        {"from": "al-amiriyeh", "to": "khan-al-asal", "profile": "military_age_men"},
        {
            "from": "as-sukkari",
            "to": "al-rashideen",
            "alternatives": 3,
            "at": "2016-12-15T10:00:00+02:00",
            "max_risk": 0.05,
        },
        {"from": "as-sukkari", "to": "ramouseh-crossing", "disjoint": True},
        {"from": "as-sukkari", "to": "al-rashideen", "pareto": True},
        {"from": "as-sukkari", "to": "al-rashideen", "objective": "detention"},
        {"from": "as-sukkari", "to": "al-rashideen", "objective": "harm", "unknown_risk": 0.1},
    ):
        ok("POST", f"{scenario}/routes", json=body)
    ok("POST", f"{scenario}/routes", params={"version": 1}, json={"from": "abraj", "to": "al-feid"})
    for body in (
        {"from": "riverside", "to": "camp", "alternatives": 2},
        {"from": "hilltop", "to": "camp", "consenting_only": True},
    ):
        ok("POST", f"{teach}/routes", json=body)
    # Routes that do not exist: each kind of problem with its members.
    fails(
        "POST",
        f"{scenario}/routes",
        422,
        json={"from": "al-amiriyeh", "to": "al-rashideen", "disjoint": True},
    )
    fails("POST", f"{scenario}/routes", 422, json={"from": "as-sukkari", "to": "nowhere"})
    fails(
        "POST",
        f"{scenario}/routes",
        422,
        json={"from": "as-sukkari", "to": "al-rashideen", "max_risk": 0.0},
    )
    fails(
        "POST",
        f"{scenario}/routes",
        422,
        json={"from": "as-sukkari", "to": "al-rashideen", "avoid_parties": ["opposition"]},
    )
    fails(
        "POST",
        f"{scenario}/routes",
        422,
        json={"from": "as-sukkari", "to": "al-rashideen", "avoid_parties": ["gov"]},
    )

    # Plans: walking (optimal, fast, with concessions) and fleets (with sizing).
    for body in (
        {"window": "pause-2016-12-15-3h", "method": "optimal"},
        {"window": "pause-2016-12-15-3h", "rank_openings": True},
        {"window": "pause-2016-12-15-3h", "fleet": ["buses", "ambulances"], "sizing": True},
        {"window": "pause-2016-12-15-3h", "fleet": "buses", "vehicles": 3, "method": "fast"},
    ):
        ok("POST", f"{scenario}/plans", json=body)
    ok("POST", f"{teach}/plans", json={"window": "pause-1"})
    ok(
        "POST",
        f"{teach}/plans",
        json={"start": "2025-03-01T10:00:00+00:00", "end": "2025-03-01T10:30:00+00:00"},
    )
    ok("POST", f"{teach}/plans", json={"method": "fast"})
    fails("POST", f"{scenario}/plans", 422, json={"window": "no-such-window"})

    # Parties, briefs in each format, comparisons.
    ok("POST", f"{scenario}/parties", json={"from": "as-sukkari", "to": "khan-al-asal"})
    ok("POST", f"{teach}/parties", json={"from": "hilltop", "to": "camp"})
    brief = {
        "from": "as-sukkari",
        "to": "al-rashideen",
        "people": 8000,
        "window": "pause-2016-12-15-3h",
        "requested_by": "UN/ICRC access team",
    }
    ok("POST", f"{scenario}/briefs", json=brief)
    ok(
        "POST",
        f"{scenario}/briefs",
        json={"from": "al-amiriyeh", "to": "ramouseh-crossing", "disjoint": True, "people": 500},
    )
    ok("POST", f"{scenario}/briefs", params={"format": "markdown"}, json=brief)
    ok("POST", f"{scenario}/briefs", json=brief, headers={"Accept": "text/html"})
    for question in (
        {"kind": "route", "from": "hilltop", "to": "camp"},
        {"kind": "route", "from": "riverside", "to": "camp", "avoid_parties": ["east"]},
        {"kind": "plan", "window": "pause-1", "method": "fast"},
    ):
        ok(
            "POST",
            "/v1/compare",
            json={
                "a": {"scenario": TEACH},
                "b": {"scenario": copy, "version": 3},
                "question": question,
            },
        )

    # Maps: the scenario, and with the safest route.
    ok("GET", f"{scenario}/map.geojson")
    ok("GET", f"{teach}/map.geojson", params={"from": "hilltop", "to": "camp"})

    # Jobs: a ranking answered 202 and followed to its end (its events, the job with its
    # result and parts, the result alone), the same job again by its Idempotency-Key (202
    # without Preference-Applied), a job that failed (nobody can leave within the risk limit:
    # found by planning, not by reading the request, which is refused at once), one cancelled
    # while queued.
    ranking = {"window": "pause-1", "rank_openings": True}
    key = {"Idempotency-Key": "contract-ranking"}  # a key is the token's own
    job = ok("POST", f"{teach}/plans", 202, json=ranking, headers={**ASYNC, **key}, token=planner)
    job_path = job.headers["Location"]
    ok("GET", f"{job_path}/events", token=viewer)  # the stream ends with the job
    done = ok("GET", job_path, token=viewer).json()
    assert done["state"] == "done" and done["progress"]["parts"], done
    ok("GET", f"{job_path}/result", token=viewer)
    waited = {"Prefer": "wait=5"}  # ended: answered at once, with Preference-Applied
    assert ok("GET", job_path, headers=waited, token=viewer).json() == done
    ok("GET", f"{job_path}/result", headers=waited, token=viewer)
    ok("POST", f"{teach}/plans", 202, json=ranking, headers=key, token=planner)
    ok("DELETE", job_path, token=planner)  # ended: left as it is
    fails("DELETE", job_path, 403, token=viewer)
    fails("POST", f"{teach}/plans", 422, json={"window": "no-such-window"}, headers=ASYNC)
    nobody = {"window": "pause-1", "max_risk": 0.0001}
    bad = ok("POST", f"{teach}/plans", 202, json=nobody, headers=ASYNC)
    bad_path = bad.headers["Location"]
    ok("GET", f"{bad_path}/events")
    assert ok("GET", bad_path).json()["state"] == "failed"
    fails("GET", f"{bad_path}/result", 422)
    if queue is not None:
        with queue.held():
            held = ok("POST", f"{teach}/plans", 202, json={"window": "pause-1"}, headers=ASYNC)
            held_path = held.headers["Location"]
            fails("GET", f"{held_path}/result", 409)
            cancelled = ok("DELETE", held_path, token=planner).json()
            assert cancelled["state"] == "cancelled", cancelled
        ok("GET", f"{held_path}/events")
        fails("GET", f"{held_path}/result", 409)
        with queue.down():
            refused = fails(
                "POST", f"{teach}/plans", 503, json={"window": "pause-1"}, headers=ASYNC
            )
            assert int(refused.headers["Retry-After"]) > 0
    for method in ("GET", "DELETE"):
        fails(method, "/v1/jobs/job_0000", 404)
    fails("GET", "/v1/jobs/job_0000/events", 404)
    fails("GET", "/v1/jobs/job_0000/result", 404)

    # Administration: tokens and the audit log.
    made = ok("POST", "/v1/tokens", 201, json={"role": "viewer", "name": "reader"})
    ok("GET", "/v1/tokens")
    ok("DELETE", f"/v1/tokens/{made.json()['id']}")
    ok("GET", "/v1/audit")
    ok("GET", "/v1/audit", params={"scenario_id": copy, "limit": 5})
    ok("DELETE", f"/v1/scenarios/{forked.json()['id']}", 204)
    fails("DELETE", f"/v1/tokens/{made.json()['id']}-x", 404)
    return calls
