"""The README and docs/: short, current, and every link and anchor in them leads somewhere."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
OTHER_PAGES = [ROOT / "graphs" / "README.md", *sorted((ROOT / "benchmarks").glob("*.md"))]

RUN = "python3 -m pip install -e . && safe-passage serve --demo"
TEST = "python3 -m pip install -e '.[test]' && python3 -m pytest -q"


def _config_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "scripts/config_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("config_table", module)
    spec.loader.exec_module(module)
    return module


config_table = _config_table()


def test_the_configuration_table_in_the_docs_is_generated_from_the_current_settings() -> None:
    documented = config_table.documented(config_table.DOC.read_text("utf-8"))
    assert documented == config_table.render(), (
        "docs/configuration.md is stale: run python3 scripts/config_table.py --write"
    )


def test_the_configuration_table_has_one_row_per_setting_with_its_variable_and_default() -> None:
    rows = {variable: (default, text) for variable, default, text in config_table.rows()}
    assert len(rows) == len(config_table.Settings.model_fields)
    assert rows["`SAFE_PASSAGE_MAX_BODY_BYTES`"][0] == "`20971520` (20 MiB)"
    assert rows["`SAFE_PASSAGE_PLAN_TIME_BUDGET_S`"][0] == "`20`"
    assert rows["`SAFE_PASSAGE_LOG_JSON`"][0] == "`true`"
    assert rows["`SAFE_PASSAGE_TILE_URL`"][0] == "none"
    assert rows["`SAFE_PASSAGE_DATA_DIR`"][0].startswith("`$XDG_DATA_HOME/safe-passage`")


class _Undescribed(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="X_")
    limit: int = 3


class _ComputedDefault(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="X_")
    where: Path = Field(default_factory=Path.cwd, description="A folder.")


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [(_Undescribed, "has no Field(description"), (_ComputedDefault, "doc_default")],
)
def test_a_setting_the_table_cannot_describe_is_refused(
    settings: type[BaseSettings], complaint: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        config_table.rows(settings)


def test_the_readme_is_short_has_contents_and_both_commands() -> None:
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= 250
    assert "## Contents" in text
    assert f"```sh\n{RUN}\n```" in text
    assert f"```sh\n{TEST}\n```" in text
    assert "../shared/" not in text


# --- links ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text without code blocks and code spans (a `#` there is no heading, `[x](y)` no link)."""
    return _CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in _FENCE.sub("", path.read_text("utf-8")).splitlines():
        heading = re.match(r"#{1,6} +(.*?) *#*$", line)
        if heading:
            slug = _slug(heading.group(1).replace("`", ""))
            n = 0
            while (slug if n == 0 else f"{slug}-{n}") in found:
                n += 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def test_headings_get_githubs_anchors() -> None:
    assert _slug("Worked example: hilltop → camp") == "worked-example-hilltop--camp"
    assert _slug("Alternatives — --alternatives K") == "alternatives----alternatives-k"
    assert (
        _slug("Large scenarios (a whole city's streets)") == "large-scenarios-a-whole-citys-streets"
    )


@pytest.mark.parametrize(
    "page", [README, *DOCS, *OTHER_PAGES], ids=lambda p: str(p.relative_to(ROOT))
)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page.read_text("utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not fetched
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in _LINK.findall(_prose(README.read_text("utf-8")))
    }
    assert [page.name for page in DOCS if page not in linked] == []
