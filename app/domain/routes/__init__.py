"""Routes: the safest route (:mod:`.engine`), diverse alternatives, the disjoint pair, the
risk × time Pareto front, and who must consent (:mod:`.consent`)."""

from app.domain.routes.alternatives import Alternatives, alternative_routes
from app.domain.routes.consent import ConsentAnalysis, consent_analysis
from app.domain.routes.disjoint import DisjointPair, NoDisjointPairError, disjoint_pair
from app.domain.routes.engine import Route, RouteOptions, explain_cut, safest_route
from app.domain.routes.pareto import ParetoFront, pareto_front

__all__ = [
    "Alternatives",
    "ConsentAnalysis",
    "DisjointPair",
    "NoDisjointPairError",
    "ParetoFront",
    "Route",
    "RouteOptions",
    "alternative_routes",
    "consent_analysis",
    "disjoint_pair",
    "explain_cut",
    "pareto_front",
    "safest_route",
]
