"""Built-in traveller profiles and how a scenario overrides them.

Every number here is a documented default, not a measurement of any real
population. A scenario may replace any profile (same ``id``) or add new ones in
its ``profiles`` list; a profile given in a document replaces the built-in one
whole (fields it omits take the model defaults, not the built-in values).
"""

from __future__ import annotations

from app.domain.errors import UnknownProfileError
from app.domain.scenario.model import Profile, ScenarioHeader

WALKING_SPEED_M_PER_MIN = 64.0
"""Default walking speed: 64 m/min = 1.07 m/s (3.5 ft/s), the pedestrian walking speed
the US Manual on Uniform Traffic Control Devices (2009, section 4E.06) uses to time
crossings so that slower walkers finish; chosen because evacuees include children,
elderly and injured people."""

BUILTIN_PROFILES: dict[str, Profile] = {
    p.id: p
    for p in (
        Profile(
            id="general",
            name="General population on foot",
            description="Civilians walking; every road that is not blocked.",
            speed_m_per_min=WALKING_SPEED_M_PER_MIN,
            source="Speed: MUTCD 2009 §4E.06 pedestrian walking speed (1.07 m/s).",
        ),
        Profile(
            id="military_age_men",
            name="Men of military age on foot",
            description="As general, plus a risk of detention or disappearance at checkpoints "
            "of parties with a documented detention record (counted apart from harm).",
            speed_m_per_min=WALKING_SPEED_M_PER_MIN,
            detention_checkpoint_risk=0.2,
            source="Speed: MUTCD 2009 §4E.06 pedestrian walking speed (1.07 m/s).",
            checkpoint_risk_source="assumption, illustrative, not a measured rate: UN reporting "
            "of December 2016 described men going missing after crossing checkpoints; 0.2 is a "
            "planning assumption to be replaced by the scenario's own figure.",
        ),
        Profile(
            id="medical",
            name="Stretcher cases",
            description="Sick and wounded moved on stretchers and in ambulances: slower, "
            "vehicle-passable roads only, not over damaged roads.",
            speed_m_per_min=48.0,
            vehicle=True,
            excluded_statuses=["damaged"],
            source="Estimate: three quarters of walking speed for loading, carrying and "
            "checkpoint stops.",
        ),
        Profile(
            id="convoy",
            name="Bus convoy",
            description="Buses escorted in convoy: vehicle-passable roads only, not damaged "
            "roads; higher throughput per road.",
            speed_m_per_min=150.0,
            vehicle=True,
            excluded_statuses=["damaged"],
            capacity_factor=1.5,
            source="Estimate: 9 km/h average for an escorted convoy through checkpoints; "
            "capacity factor 1.5 for people carried in buses rather than on foot.",
        ),
    )
}

DEFAULT_PROFILE = "general"


def available_profiles(scenario: ScenarioHeader) -> dict[str, Profile]:
    """Built-in profiles overridden or extended by the scenario's own."""
    profiles = dict(BUILTIN_PROFILES)
    profiles.update({p.id: p for p in scenario.profiles})
    return profiles


def resolve_profile(scenario: ScenarioHeader, profile_id: str | None) -> Profile:
    """The profile named ``profile_id`` (default ``general``) for this scenario."""
    profiles = available_profiles(scenario)
    key = profile_id or DEFAULT_PROFILE
    if key not in profiles:
        raise UnknownProfileError(key, sorted(profiles))
    return profiles[key]
