"""Scenarios: the document's model, reading it into columns, its rules, and edits.

A scenario document (SPEC §2) of any size and format is read by one collector
(:mod:`.reading`) into :class:`~.columns.CompactScenario`, the one compiled form;
every rule is written once (:mod:`.reading` for places and roads, :mod:`.problems`
for the header). :mod:`.edits` changes a scenario by named operations and says
what differs between two; :mod:`.document` reads and writes the text.
"""

from app.domain.scenario.columns import CompactScenario, EdgeColumns, Ids, NodeColumns, Texts
from app.domain.scenario.document import parse_document, spliced_document
from app.domain.scenario.edits import apply_edits, diff, touched_ids
from app.domain.scenario.model import (
    Edge,
    Incident,
    Node,
    Party,
    Profile,
    Scenario,
    ScenarioHeader,
    Window,
)
from app.domain.scenario.profiles import available_profiles, resolve_profile
from app.domain.scenario.reading import read_large_scenario, validate_scenario

__all__ = [
    "CompactScenario",
    "Edge",
    "EdgeColumns",
    "Ids",
    "Incident",
    "Node",
    "NodeColumns",
    "Party",
    "Profile",
    "Scenario",
    "ScenarioHeader",
    "Texts",
    "Window",
    "apply_edits",
    "available_profiles",
    "diff",
    "parse_document",
    "read_large_scenario",
    "resolve_profile",
    "spliced_document",
    "touched_ids",
    "validate_scenario",
]
