"""Evacuation plans: the flow model (:mod:`.model`), the optimal plan over the
time-expanded network (:mod:`.expanded`), the fast plan (:mod:`.fast`, its loops compiled
in ``_fast_kernel.pyx``), loop removal, and ranking what to negotiate first
(:mod:`.concessions`)."""

from app.domain.plans.budget import Budget
from app.domain.plans.concessions import Concession, Concessions, rank_concessions
from app.domain.plans.evacuation import (
    NothingToEvacuateError,
    Plan,
    PlanOptions,
    plan_evacuation,
)

__all__ = [
    "Budget",
    "Concession",
    "Concessions",
    "NothingToEvacuateError",
    "Plan",
    "PlanOptions",
    "plan_evacuation",
    "rank_concessions",
]
