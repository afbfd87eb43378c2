"""Scenarios: the document's model, reading it into columns, its rules, and edits.

A scenario document (SPEC §2) of any size and format is read by one collector
(:mod:`.reading`) into :class:`~.columns.CompactScenario`, the one compiled form;
every rule is written once (:mod:`.reading` for places and roads, :mod:`.problems`
for the header). :mod:`.edits` changes a scenario by named operations and says
what differs between two; :mod:`.document` reads and writes the text.

The names below are loaded from their module when first asked for: importing one module
of the package does not import the others (reading a scenario does not build the edit
operations' models, and the command line starts faster).
"""

from app.domain.exports import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "columns": ("CompactScenario", "EdgeColumns", "Ids", "NodeColumns", "Texts"),
        "document": ("parse_document", "spliced_document"),
        "edits": ("apply_edits", "diff", "touched_ids"),
        "model": (
            "Edge",
            "Incident",
            "Node",
            "Party",
            "Profile",
            "Scenario",
            "ScenarioHeader",
            "Window",
        ),
        "profiles": ("available_profiles", "resolve_profile"),
        "reading": ("read_large_scenario", "validate_scenario"),
    },
)
