"""Formats apart from the algorithms: incident reports from CSV and GeoJSON
(:mod:`.incidents`), OpenStreetMap road rules (:mod:`.osm`), and the proposal brief with
its Markdown and HTML (:mod:`.brief`, :mod:`.brief_render`)."""

from app.domain.formats.brief import build_brief
from app.domain.formats.brief_render import render_html, render_markdown
from app.domain.formats.incidents import ImportDefaults, ParsedIncidents, parse_incidents
from app.domain.formats.osm import classify_area, classify_way

__all__ = [
    "ImportDefaults",
    "ParsedIncidents",
    "build_brief",
    "classify_area",
    "classify_way",
    "parse_incidents",
    "render_html",
    "render_markdown",
]
