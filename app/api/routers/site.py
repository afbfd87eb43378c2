"""What the map page needs before it has a token: the tile setting and the built-in profiles."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app import __version__
from app.api.deps import SettingsDep
from app.domain.scenario.profiles import BUILTIN_PROFILES, DEFAULT_PROFILE

router = APIRouter(tags=["site"])


class ProfileSummary(BaseModel):
    id: str
    name: str | None
    description: str | None


class SiteConfig(BaseModel):
    version: str = Field(description="Version of the service.")
    tile_url: str | None = Field(
        description="Map tile URL template ({z}/{x}/{y}) from SAFE_PASSAGE_TILE_URL, or null: "
        "the map then draws only the scenario's own GeoJSON and makes no other request."
    )
    default_profile: str
    profiles: list[ProfileSummary] = Field(
        description="Built-in traveller profiles; a scenario may override or add its own."
    )


@router.get(
    "/v1/config",
    response_model=SiteConfig,
    operation_id="get_site_config",
    summary="Settings the map page reads at start (no token needed; holds no secrets)",
)
def site_config(settings: SettingsDep) -> SiteConfig:
    return SiteConfig(
        version=__version__,
        tile_url=settings.tile_url or None,
        default_profile=DEFAULT_PROFILE,
        profiles=[
            ProfileSummary(id=p.id, name=p.name, description=p.description)
            for p in BUILTIN_PROFILES.values()
        ],
    )
