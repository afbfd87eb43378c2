"""Routes: the safest route (:mod:`.engine`), diverse alternatives, the disjoint pair, the
risk × time Pareto front, and who must consent (:mod:`.consent`).

Each name is imported from its module when first used (PEP 562): a safest route does not
load the negotiation tools, nor scipy's sparse graphs with them.
"""

from app.domain.exports import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "alternatives": ("Alternatives", "alternative_routes"),
        "consent": ("ConsentAnalysis", "consent_analysis"),
        "disjoint": ("DisjointPair", "NoDisjointPairError", "disjoint_pair"),
        "engine": ("Route", "RouteOptions", "explain_cut", "safest_route"),
        "pareto": ("ParetoFront", "pareto_front"),
    },
)
