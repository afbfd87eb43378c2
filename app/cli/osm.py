"""``safe-passage import-osm``: a street network from an OpenStreetMap extract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, app, out, print_json, reported


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise typer.BadParameter("give MIN_LON,MIN_LAT,MAX_LON,MAX_LAT", param_hint="--bbox")
    x0, y0, x1, y1 = parts
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise typer.BadParameter(
            "need -180 ≤ MIN_LON < MAX_LON ≤ 180 and -90 ≤ MIN_LAT < MAX_LAT ≤ 90",
            param_hint="--bbox",
        )
    return x0, y0, x1, y1


@app.command("import-osm")
def import_osm_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="OpenStreetMap file (.osm.pbf).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Scenario JSON to write.")],
    bbox: Annotated[
        str | None,
        typer.Option(help="Keep only MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (roads are cut there)."),
    ] = None,
    districts: Annotated[
        Path | None,
        typer.Option(help="GeoJSON district polygons (properties: id, controlled_by, population)."),
    ] = None,
    populations: Annotated[
        Path | None, typer.Option(help="CSV with columns district,population.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Scenario name.")] = None,
    max_deviation_m: Annotated[
        float,
        typer.Option(min=0.0, help="Keep shape points where a road bends more than this (m)."),
    ] = 10.0,
    every_node: Annotated[
        bool, typer.Option("--every-node", help="Keep every OSM node of the roads.")
    ] = False,
    largest_component: Annotated[
        bool, typer.Option("--largest-component", help="Keep only the largest connected part.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import walkable and drivable streets from OpenStreetMap as a scenario.

    Map data © OpenStreetMap contributors, under the Open Database License (ODbL);
    the scenario's `credits` carry that notice.
    """

    from app.cli.progress import progress_bar
    from app.services.osm_import import (
        ImportOptions,
        import_osm,
        read_districts,
        read_populations,
    )

    box = _bbox(bbox)
    with reported(as_json):
        options = ImportOptions(
            bbox=box,
            max_deviation_m=None if every_node else max_deviation_m,
            largest_component=largest_component,
            name=name,
            districts=read_districts(districts) if districts else [],
            populations=read_populations(populations) if populations else {},
            population_source=populations.name if populations else None,
        )
        with progress_bar() as progress:
            result = import_osm(file, options, progress)
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8") as f:
                result.write(f, progress)
    summary = {"output": str(output), **result.summary}
    if as_json:
        print_json(summary)
        return
    out.print(
        f"[green]wrote[/] {output}: {summary['nodes']:,} nodes, {summary['edges']:,} roads "
        f"({summary['length_m'] / 1000:,.1f} km) from {summary['ways']:,} ways"
        + (f" and {summary['relations']:,} squares" if summary["relations"] else "")
        + f" of {file.name}",
        highlight=False,
    )
    status = ", ".join(f"{k} {v:,}" for k, v in summary["status"].items() if v)
    out.print(f"  status: {status}", highlight=False)
    if summary["relations_left_out"]:
        out.print(
            f"  {summary['relations_left_out']:,} squares (multipolygon relations) left out: "
            "incomplete in the file or not closed",
            highlight=False,
        )
    for d in summary["districts"]:
        out.print(
            f"  district {d['id']}: {d['nodes']:,} nodes, population {d['placed']:,}"
            + ("" if d["nodes"] or not d["population"] else " (no street node inside: not placed)"),
            highlight=False,
        )
    out.print("  Map data © OpenStreetMap contributors (ODbL 1.0).", highlight=False)
