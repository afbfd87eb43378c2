"""The pure core of safe-passage, one package per feature.

- :mod:`app.domain.scenario` — the scenario document: model, reading into columns,
  validation, edits and differences;
- :mod:`app.domain.network` — a scenario compiled for questions, and the risk model;
- :mod:`app.domain.routes` — safest routes, alternatives, disjoint pairs, Pareto fronts,
  consent;
- :mod:`app.domain.plans` — evacuation plans on foot, exact and fast;
- :mod:`app.domain.fleets` — fleet plans: buses and ambulances through checkpoints;
- :mod:`app.domain.formats` — incident reports, OpenStreetMap rules, briefs;
- :mod:`app.domain.errors` — the errors the domain raises, in its own terms;
- :mod:`app.domain.progress` — how a long computation reports how far it is.

Nothing in this package imports a web framework or a database driver, reads the clock
or does I/O: it works on bytes, dictionaries and numbers handed to it.
"""

__all__ = [
    "errors",
    "fleets",
    "formats",
    "network",
    "plans",
    "progress",
    "routes",
    "scenario",
]
