"""The proposal brief (:func:`app.domain.formats.brief.build_brief`) as Markdown and as a
printable HTML page.

Both show the same figures, formatted by the same functions. The HTML page is one
self-contained file (inline print stylesheet, no scripts, images, fonts or links), made
with Jinja2 with autoescaping on: every text from a scenario or a request is escaped.
Arabic names are isolated in their own right-to-left run: ``<bdi dir="rtl" lang="ar">`` in
HTML, Unicode first-strong isolates (U+2068 … U+2069) in Markdown.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from app.domain.formats.figures import assumption_line

if TYPE_CHECKING:
    from jinja2 import Environment

STATUS_TEXT = {
    "proposed": "proposed",
    "standby": "standby: not needed to move these people in time, kept as an alternative",
    "too_long": "not proposed: nobody could arrive by this corridor before the window ends",
}


# --- Shared formatting ---------------------------------------------------------------------


def when(iso: str | None) -> str:
    """An ISO 8601 time as ``2016-12-15 13:52 UTC+02:00``."""
    if iso is None:
        return "—"
    t = datetime.fromisoformat(iso)
    offset = t.isoformat()[-6:] if t.utcoffset() else "+00:00"
    return f"{t:%Y-%m-%d %H:%M} UTC{offset}"


def minutes(m: int | float | None) -> str:
    if m is None:
        return "—"
    m = round(m)
    return f"{m} min" if m < 60 else f"{m} min ({m // 60} h {m % 60:02d})"


def value(v: Any, unit: str) -> str:
    """A figure's value as the brief prints it."""
    if v is None:
        return "—"
    if unit == "probability":
        return f"{v:.4f}"
    if unit == "probability range":
        return f"{v[0]:.4f}–{v[1]:.4f}"
    if unit == "time":
        return when(v)
    if unit == "min":
        return minutes(v)
    if unit == "m":
        return f"{v / 1000:,.1f} km"
    if unit == "share":
        return f"{100 * v:.0f} %"
    text = f"{v:,.0f}" if isinstance(v, int) or abs(v) >= 100 else f"{v:,.1f}"
    return text + (" people/min" if unit == "people/min" else "")


def coordinates(p: dict[str, Any]) -> str:
    if p.get("lat") is None:
        return "no coordinates"
    return f"{p['lat']:.5f}, {p['lon']:.5f}"


def name_md(p: dict[str, Any]) -> str:
    """A place's English name (else its id) and its Arabic name, isolated."""
    text = str(p["name"] or p["id"])
    if p.get("name_ar"):
        text += f" (\u2068{p['name_ar']}\u2069)"
    return text


def verdict_text(b: dict[str, Any]) -> list[str]:
    """The brief's answer in plain sentences."""
    v, w = b["verdict"], b["window"]
    dst = b["to"]["name"] or b["to"]["id"]
    status = v["status"]
    if status == "no_people":
        return ["No number of people is given and the first place has no population: give one."]
    out = []
    need = (
        f"A window of at least {minutes(v['recommended_window_min'])} "
        f"(to {when(v['recommended_window_end'])}) is needed for all "
        f"{value(v['receivable'], 'people')}"
    )
    if status == "nothing_fits":
        out.append(
            f"Nothing fits the window: it lasts {minutes(w['length_min'])} and the quickest "
            f"corridor takes {minutes(v['first_arrival']['min'])}, so nobody would reach "
            f"{dst} before it ends. No corridor is proposed for this window."
        )
        out.append(
            f"What would be needed: {need[0].lower() + need[1:]}; the first people would "
            f"arrive after {minutes(v['first_arrival']['min'])}."
        )
    elif status == "partial":
        out.append(
            f"Only {value(v['people_moved'], 'people')} of {value(b['people'], 'people')} people "
            f"can reach {dst} before the window ends ({when(w['end'])}); "
            f"{value(v['people_not_moved'], 'people')} cannot."
        )
        out.append(need + ".")
    elif status == "fits":
        who = "people" if v["receivable"] == b["people"] else f"people {dst} can receive"
        out.append(
            f"All {value(v['people_moved'], 'people')} {who} can reach {dst} within the window: "
            f"the last arrives at {when(v['egress']['at'])}, window ends {when(w['end'])}."
        )
        out.append(f"Recommended window: {minutes(v['recommended_window_min'])}.")
    elif status == "nothing_moves":
        out.append("No corridor admits anybody (a road without capacity): nothing is proposed.")
    else:
        out.append(f"No window given. {need}: the last would arrive at {when(v['egress']['at'])}.")
    if v["receivable"] is not None and v["receivable"] < (b["people"] or 0):
        out.append(f"{dst} can receive only {value(v['receivable'], 'people')} people.")
    return out


# --- Markdown ------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text if text is not None else "—").replace("|", "\\|").replace("\n", " ")


def _figures_md(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| figure | value |", "|---|---|"]
    out += [f"| {_cell(r['label'])} | {_cell(value(r['value'], r['unit']))} |" for r in rows]
    return out


def render_markdown(b: dict[str, Any]) -> str:
    """The brief as Markdown (tables in GitHub style)."""
    lines: list[str] = [f"# {b['title']}", ""]
    if b["banner"]:
        lines += [f"> **{b['banner']}**", ""]
    meta = [f"Scenario: {b['scenario'] or 'unnamed'}"]
    if b["as_of"]:
        meta.append(f"as of {when(b['as_of'])}")
    if b["evaluated_at"]:
        meta.append(f"risks evaluated at {when(b['evaluated_at'])}")
    if b["requested_by"]:
        meta.append(f"requested by {b['requested_by']}")
    lines += ["; ".join(meta) + ".", ""]
    if b["clock"]["start"]:
        lines += [
            f"Clock times are local at UTC{b['clock']['utc_offset']}, counted from the "
            f"{b['clock']['from']} ({when(b['clock']['start'])}).",
            "",
        ]
    lines += ["## The answer", ""] + [f"- {x}" for x in verdict_text(b)] + [""]
    lines += _figures_md(b["figures"])
    w, prof = b["window"], b["profile"]
    when_text = (
        f"{when(w['start'])} to {when(w['end'])} ({minutes(w['length_min'])}, window `{w['id']}`)"
        if w
        else "to be agreed"
    )
    lines += [
        "",
        "## The request",
        "",
        f"- **From** {name_md(b['from'])} **to** {name_md(b['to'])}",
        f"- **Window:** {when_text}",
        f"- **People:** {value(b['people'], 'people')} — {prof['name'] or prof['id']} "
        f"(profile `{prof['id']}`)",
        f"- **Corridors:** {len(b['corridors'])}"
        + (" sharing no road" if len(b["corridors"]) > 1 else ""),
        f"- **Consent still needed from:** {', '.join(b['consents_needed']) or 'nobody'}",
    ]
    if w:
        missing = ", ".join(b["window_not_yet_agreed_by"]) or "nobody"
        lines.append(f"- **Window not yet agreed by:** {missing}")
    if "fleet" in b:
        lines += _fleet_md(b["fleet"])
    for c in b["corridors"]:
        lines += _corridor_md(c)
    lines += _places_md(b["checkpoints_and_crossings"])
    lines += ["", "## Parties that must agree", ""]
    lines += [
        "| party | consent | territory crossed | checkpoints | window agreed |",
        "|---|---|---|---|---|",
    ]
    for p in b["parties"]:
        agreed = "—" if p["agreed_window"] is None else ("yes" if p["agreed_window"] else "no")
        lines.append(
            f"| {_cell(p['name'] or p['id'])} (`{p['id']}`) | {p['consent']} | "
            f"{'yes' if p['territory'] else 'no'} | {_cell(', '.join(p['checkpoints']) or '—')} "
            f"| {agreed} |"
        )
    lines += _fallbacks_md(b["if_a_party_refuses"])
    lines += _notification_md(b["notification"])
    lines += _inputs_md(b["inputs"])
    lines += ["", "## Assumed figures", ""]
    lines += [f"- {assumption_line(a)}" for a in b["assumed_figures"]] or ["None."]
    lines += ["", "## Limits of these figures", ""] + [f"- {x}" for x in b["caveats"]] + [""]
    return "\n".join(lines)


def _corridor_md(c: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"## {c['name']} ({STATUS_TEXT[c['status']]}): "
        + " → ".join(name_md(p) for p in c["places"]),
        "",
        *_figures_md(c["figures"]),
        *(["", f"Unknown risk: {c['unknown']}."] if c.get("unknown") else []),
        "",
        "| # | road | from → to | held by | checkpoint | min | first arrive | last arrive "
        "| risk | survival so far |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, st in enumerate(c["route"]["steps"], start=1):
        out.append(
            f"| {i} | {_cell(st['name'] or st['edge'])} | {_cell(name_md(st['from_place']))} → "
            f"{_cell(name_md(st['to_place']))} | {_cell(st['controlled_by'])} | "
            f"{_cell(st['checkpoint'])} | {st['minutes']} | "
            f"{when(st['first_arrival']['at'])} | {when(st['last_arrival']['at'])} | "
            f"{st['risk']:.4f} | {st['cumulative_survival']:.4f} |"
        )
    return out


def group_name(g: dict[str, Any]) -> str:
    """A population group as the brief names it: its name, else its id."""
    return str(g["name"] or g["group"])


def checkpoint_name(c: dict[str, Any]) -> str:
    """A checkpoint of a fleet plan: its road's name (else id) and who holds it."""
    held = c["party_name"] or c["party"]
    return f"{c['name'] or c['edge']}" + (f" ({held})" if held else "")


def _fleet_md(f: dict[str, Any]) -> list[str]:
    kind = "optimal" if f["optimal"] else f"{f['method']} plan, not proven optimal"
    out = [
        "",
        "## Fleet plan",
        "",
        f"**{f['headline']}.**",
        "",
        f"Bottleneck ({f['bottleneck']['kind']}): {f['bottleneck']['explanation']}.",
        "",
        *_figures_md(f["figures"]),
        "",
        f"Method: {kind}." + (f" {f['note']}." if f["note"] else ""),
        "",
        "People by group, in the order vehicles carry them:",
        "",
        "| group | needs | people | carried | left behind | last arrival |",
        "|---|---|---|---|---|---|",
    ]
    for g in f["by_group"]:
        out.append(
            f"| {_cell(group_name(g))} | {g['needs']} | {value(g['population'], 'people')} | "
            f"{value(g['evacuated'], 'people')} | {value(g['stranded'], 'people')} | "
            f"{when(g['last_arrival']['at'])} |"
        )
    out += ["", "Queue at the checkpoints:", ""]
    if not f["checkpoints"]:
        out.append("No vehicle passes a checkpoint.")
    else:
        out += [
            "| checkpoint | vehicles | people | waiting (vehicle-min) | longest wait |",
            "|---|---|---|---|---|",
        ]
        for c in f["checkpoints"]:
            out.append(
                f"| {_cell(checkpoint_name(c))} | {c['vehicles']} | "
                f"{value(c['people'], 'people')} | {c['waiting_min']:,} | "
                f"{minutes(c['longest_wait_min'])} |"
            )
    out += ["", "The fleet's assumptions:", ""]
    out += [f"- {assumption_line(a)}" for a in f["assumptions"]] or ["None."]
    return out


def _places_md(places: list[dict[str, Any]]) -> list[str]:
    out = ["", "## Checkpoints and crossings", ""]
    if not places:
        return [*out, "None on these corridors."]
    out += ["| what | where | held by | lat, lon (WGS 84) |", "|---|---|---|---|"]
    for x in places:
        if x["kind"] == "crossing":
            p = x["place"]
            out.append(
                f"| crossing | {_cell(name_md(p))} | {_cell(x['party'])} | {coordinates(p)} |"
            )
        else:
            a, z = x["between"]
            out.append(
                f"| checkpoint of {_cell(x['party'])} | road {_cell(x['name'] or x['edge'])}, "
                f"between {_cell(name_md(a))} and {_cell(name_md(z))} | {_cell(x['party'])} | "
                f"{coordinates(a)} to {coordinates(z)} |"
            )
    return out


def _fallbacks_md(fallbacks: list[dict[str, Any]]) -> list[str]:
    out = ["", "## If a party refuses", ""]
    if not fallbacks:
        return [*out, "No party's territory or checkpoint is crossed."]
    out += [
        "Each fallback uses nothing the refusing party holds (road, place or checkpoint).",
        "",
        "| party refuses | fallback route | survival | change | travel | arrive in window "
        "| window needed | consent needed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in fallbacks:
        who = f"{_cell(f['party_name'] or f['party'])} (`{f['party']}`)"
        fb = f["fallback"]
        if fb is None:
            out.append(f"| {who} | no fallback: {_cell(f['detail'])} | — | — | — | — | — | — |")
            continue
        out.append(
            f"| {who} | {_cell(' → '.join(name_md(p) for p in fb['places']))} | "
            f"{fb['survival_probability']:.4f} | {f['survival_change']:+.4f} | "
            f"{minutes(fb['travel_time_min'])} | {value(fb['people_moved'], 'people')} | "
            f"{minutes(fb['window_needed_min'])} | "
            f"{_cell(', '.join(fb['consents_needed']) or '—')} |"
        )
    return out


def _notification_md(rows: list[dict[str, Any]]) -> list[str]:
    out = ["", "## Humanitarian notification", ""]
    if not rows:
        return [*out, "Nothing to notify: no corridor moves anybody in this window."]
    out += [
        "| movement | from | to | route | checkpoints | first departure | last departure "
        "| last arrival | people |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in rows:
        checkpoints = ", ".join(f"{x['edge']} ({x['party']})" for x in n["checkpoints"])
        out.append(
            f"| {_cell(n['movement'])} | {_cell(name_md(n['from']))} | {_cell(name_md(n['to']))} | "
            f"{_cell(' → '.join(name_md(p) for p in n['route']))} | {_cell(checkpoints or '—')} | "
            f"{when(n['first_departure'])} | {when(n['last_departure'])} | "
            f"{when(n['last_arrival'])} | {value(n['people'], 'people')} |"
        )
    return out


def _inputs_md(inputs: dict[str, Any]) -> list[str]:
    out = ["", "## What the estimate rests on", "", "Roads:", ""]
    out += ["| road | status | base risk | source | checkpoint risk | risk used |"]
    out += ["|---|---|---|---|---|---|"]
    for r in inputs["roads"]:
        base = "unknown" if r["base_risk"] is None else f"{r['base_risk']:.4f}"
        out.append(
            f"| {_cell(r['name'] or r['edge'])} | {r['status']} | {base} | "
            f"{_cell(r['base_source'] or 'not given')} | {r['checkpoint_risk']:.4f} | "
            f"{r['risk']:.4f} |"
        )
    out += ["", "Incidents:", ""]
    if not inputs["incidents"]:
        out.append("None affecting these corridors at the time evaluated.")
        return out
    out += ["| incident | kind | observed | age h | source | confidence | added risk | roads |"]
    out += ["|---|---|---|---|---|---|---|---|"]
    for i in inputs["incidents"]:
        out.append(
            f"| `{i['id']}` | {_cell(i['kind'])} | {when(i['observed_at'])} | {i['age_h']} | "
            f"{_cell(i['source'] or 'not given')} | {i['confidence']} | {i['added_risk']:.4f} | "
            f"{_cell(', '.join(i['roads']))} |"
        )
    return out


# --- HTML ----------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("app.domain.formats", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, minutes=minutes, value=value, coordinates=coordinates)
    env.filters.update(assumption=assumption_line)
    env.filters.update(group_name=group_name, checkpoint_name=checkpoint_name)
    env.globals.update(status_text=STATUS_TEXT, verdict_text=verdict_text)
    return env


def render_html(b: dict[str, Any]) -> str:
    """The brief as one self-contained, printable HTML page."""
    return _environment().get_template("brief.html.j2").render(b=b)
