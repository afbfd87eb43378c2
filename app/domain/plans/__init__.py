"""Evacuation plans: the flow model (:mod:`.model`), the optimal plan over the
time-expanded network (:mod:`.expanded`), the fast plan (:mod:`.fast`, its loops compiled
in ``_fast_kernel.pyx``), loop removal, and ranking what to open (:mod:`.evacuation`)."""

from app.domain.plans.budget import Budget
from app.domain.plans.evacuation import (
    NothingToEvacuateError,
    Opening,
    Plan,
    PlanOptions,
    plan_evacuation,
    rank_openings,
)

__all__ = [
    "Budget",
    "NothingToEvacuateError",
    "Opening",
    "Plan",
    "PlanOptions",
    "plan_evacuation",
    "rank_openings",
]
