"""Formats apart from the algorithms: incident reports from CSV and GeoJSON
(:mod:`.incidents`), OpenStreetMap road rules (:mod:`.osm`), and the proposal brief with
its Markdown and HTML (:mod:`.brief`, :mod:`.brief_render`).

Each name is imported from its module when first used (PEP 562): every answer uses
:mod:`.figures`, and importing the brief with it would load the whole plan model.
"""

from app.domain.exports import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "brief": ("build_brief",),
        "brief_render": ("render_html", "render_markdown"),
        "incidents": ("ImportDefaults", "ParsedIncidents", "parse_incidents"),
        "osm": ("classify_area", "classify_way"),
    },
)
