"""A scenario compiled for questions: arrays of places, roads and arcs (:mod:`.graph`), and
the risk model that turns roads, incidents and checkpoints into each road's risk at a time
for a profile (:mod:`.risk`)."""

from app.domain.network.graph import Conditions, Network
from app.domain.network.risk import IncidentEffect, combine, default_time, incident_effects

__all__ = [
    "Conditions",
    "IncidentEffect",
    "Network",
    "combine",
    "default_time",
    "incident_effects",
]
