"""The floor: a minimal FastAPI app answering a trivial JSON POST, served like the service.

``python3 benchmarks/floor_app.py PORT [WORKERS]`` serves it with ``uvicorn.run`` and the
options ``safe-passage serve`` passes (default loop and HTTP parser, no access log), on
the same path as the route question, so that one load script drives both. Its rate is
the most any FastAPI service can answer on this machine with this server; the service's
rate is reported as a share of it (``benchmarks/load.py --wrk``).
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class Question(BaseModel):
    from_: str = Field(alias="from")
    to: str


@app.post("/v1/scenarios/{scenario_id}/routes")
async def routes(scenario_id: str, body: Question) -> dict[str, Any]:
    return {"scenario": scenario_id, "from": body.from_, "to": body.to}


if __name__ == "__main__":
    uvicorn.run(
        "benchmarks.floor_app:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=int(sys.argv[2]) if len(sys.argv) > 2 else 1,
        access_log=False,
        log_level="warning",
    )
