"""The exception tree of the domain.

Errors are raised where they are detected and rendered in one place: the HTTP
layer maps them to RFC 9457 problem documents, the CLI to messages and exit
codes (1 invalid scenario, 3 no answer exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Problem:
    """One problem in a document: where (a JSON pointer) and what, in a sentence."""

    pointer: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail}


PROBLEM_TYPE_BASE = "/problems/"
"""Problem ``type`` URIs are ``/problems/{slug}``, relative to the service (RFC 9457 §3.1.1)."""


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


class ScenarioError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Scenario error"
    slug = "scenario-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, Any]:
        """Members added to the problem document beside type/title/status/detail."""
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Plans are computed in worker processes and their errors sent back pickled.
        # Subclasses take other arguments than ``args``: rebuild from the state instead.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(
    cls: type[ScenarioError], args: tuple[Any, ...], state: dict[str, Any]
) -> ScenarioError:
    """An error of ``cls`` with ``args`` and attributes ``state``, without its ``__init__``."""
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


LISTED_PROBLEMS = 1000
"""Most problems an answer lists: a document with a million broken items is refused with
the first thousand, not with a hundred megabytes of problems."""


class ValidationError(ScenarioError):
    """The document is not a valid scenario (or request); lists every problem (up to
    :data:`LISTED_PROBLEMS` of them, in document order)."""

    title = "Invalid document"
    slug = "invalid-document"

    def __init__(self, problems: list[Problem], detail: str | None = None) -> None:
        unique = list(dict.fromkeys(problems))  # the same problem found twice is one problem
        self.problems = sorted(unique, key=lambda p: (_pointer_key(p.pointer), p.detail))
        n = len(self.problems)
        if detail is None:
            detail = _problems_found(n)
            if n > LISTED_PROBLEMS:
                detail += f" (the first {LISTED_PROBLEMS} are listed)"
        super().__init__(detail)

    @property
    def listed(self) -> list[Problem]:
        """The problems an answer shows: the first :data:`LISTED_PROBLEMS`."""
        return self.problems[:LISTED_PROBLEMS]

    def extra(self) -> dict[str, Any]:
        return {"errors": [p.as_dict() for p in self.listed]}


def _problems_found(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''} found"


class DocumentTooLargeError(ValidationError):
    """The document is larger than the configured limit."""

    title = "Document too large"
    slug = "too-large"


class NotFoundError(ScenarioError):
    """What a request names (a stored scenario, a version) does not exist."""

    title = "Not found"
    slug = "not-found"


class NoAnswerError(ScenarioError):
    """The question is valid but has no answer (CLI exit 3)."""

    title = "No answer"
    slug = "no-answer"


PlaceRole = Literal["origin", "destination"]
"""What a place named in a question is for."""


@dataclass(frozen=True)
class CutRoad:
    """A road on a smallest set of closures separating two places, and why it is closed."""

    edge: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"edge": self.edge, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CutPlace:
    """The origin or destination of a question, held by a party the question leaves out."""

    node: str
    role: PlaceRole
    held_by: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "role": self.role,
            "held_by": self.held_by,
            "reasons": list(self.reasons),
        }


@dataclass
class Cut:
    """What separates two places.

    ``roads``: a smallest set of closed roads that separates them (every route
    passes one of them, and no smaller set of closures does that).
    ``open_to_connect``: the fewest closed roads whose opening would give a route.
    ``disconnected``: no road joins them even with every closure lifted.
    ``places``: the origin and/or destination when held by an avoided party or one
    that has not granted consent (under ``consenting_only``): no route may leave or
    reach such a place, whatever the roads.
    """

    roads: list[CutRoad] = field(default_factory=list)
    disconnected: bool = False
    open_to_connect: list[CutRoad] = field(default_factory=list)
    places: list[CutPlace] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "roads": [r.as_dict() for r in self.roads],
            "disconnected": self.disconnected,
            "open_to_connect": [r.as_dict() for r in self.open_to_connect],
            "places": [p.as_dict() for p in self.places],
        }


class NoRouteError(NoAnswerError):
    """No usable route joins the two places."""

    title = "No route"
    slug = "no-route"

    def __init__(self, detail: str, cut: Cut) -> None:
        super().__init__(detail)
        self.cut = cut

    def extra(self) -> dict[str, Any]:
        return {"cut": self.cut.as_dict()}


class RiskLimitError(NoAnswerError):
    """Routes exist, but none is within the risk asked for."""

    title = "No route within the risk limit"
    slug = "risk-limit"

    def __init__(self, detail: str, best_risk: float, max_risk: float) -> None:
        super().__init__(detail)
        self.best_risk = best_risk
        self.max_risk = max_risk

    def extra(self) -> dict[str, Any]:
        return {"best_risk": self.best_risk, "max_risk": self.max_risk}


def _pointer_key(pointer: str) -> tuple[Any, ...]:
    """Sort pointers as a reader expects: /edges/2 before /edges/10."""
    parts: list[tuple[int, Any]] = []
    for token in pointer.split("/")[1:]:
        # isdecimal, not isdigit: int() refuses digits such as '¹' that isdigit accepts.
        parts.append((0, int(token)) if token.isdecimal() else (1, token))
    return tuple(parts)


def escape_pointer_token(token: str | int) -> str:
    """Escape one reference token of an RFC 6901 JSON pointer."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Build an RFC 6901 JSON pointer from reference tokens."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


class InvalidRequestError(ValidationError):
    """A request is malformed: unknown window, fields that do not go together…

    The pointers refer to the request (``/from``, ``/window``), not the scenario. The
    domain does not know the request: it raises :class:`QuestionError`, which the services
    turn into this. The CLI treats it as a usage error (exit 2).
    """

    title = "Invalid request"
    slug = "invalid-request"


@dataclass(frozen=True)
class Fault:
    """One thing wrong with a question, in the question's own terms.

    ``subject``: the part of the question at fault (``origin``, ``destination``,
    ``avoided_parties``, ``profile``, ``horizon``, ``method``, ``alternatives``,
    ``max_overlap``, ``pareto_cap``); ``item``: which one, when that part is a list.
    """

    subject: str
    detail: str
    item: int | None = None


class QuestionError(ScenarioError):
    """A question about a valid scenario cannot be answered as asked: a place, party or
    profile the scenario does not have, a count out of range, a plan too large or too slow.

    It says what is wrong in the question's terms (:attr:`faults`); the service that took
    the request turns it into an :class:`InvalidRequestError` pointing into that request
    (:func:`app.services.errors.request_error`).
    """

    title = "Invalid request"
    slug = "invalid-request"

    def __init__(self, faults: list[Fault], detail: str | None = None) -> None:
        super().__init__(detail or _problems_found(len(faults)))
        self.faults = list(faults)


class UnknownPlaceError(QuestionError):
    """A place the question starts or ends at is not in the scenario."""

    def __init__(self, place: str, role: PlaceRole) -> None:
        detail = f"unknown node {place!r}"
        super().__init__([Fault(role, detail)], detail=detail)
        self.place = place
        self.role = role


class UnknownPartyError(QuestionError):
    """Parties to avoid that the scenario does not have: (position in the list, id)."""

    def __init__(self, parties: list[tuple[int, str]]) -> None:
        faults = [Fault("avoided_parties", f"unknown party {p!r}", item=i) for i, p in parties]
        super().__init__(faults, detail=faults[0].detail)
        self.parties = parties


class UnknownProfileError(QuestionError):
    """The travel profile asked for is neither built in nor the scenario's."""

    def __init__(self, profile: str, known: list[str]) -> None:
        detail = f"unknown profile {profile!r}; this scenario has: {', '.join(known)}"
        super().__init__([Fault("profile", detail)], detail=detail)
        self.profile = profile
        self.known = known


class PlanTooLargeError(QuestionError):
    """A plan over the ``horizon`` asked for (or, without one, by this ``method``) would
    exceed the memory allowed for it; ``detail`` says how large and what to ask instead."""

    def __init__(self, subject: Literal["horizon", "method"], problem: str, detail: str) -> None:
        super().__init__([Fault(subject, problem)], detail=detail)


class PlanTooSlowError(QuestionError):
    """A plan did not finish within the time budget it was given."""

    def __init__(self, subject: Literal["horizon", "method"], seconds: float) -> None:
        detail = (
            f"the fast plan did not finish within its time budget of {seconds:g} s: "
            "plan a shorter window or fewer people at once"
        )
        super().__init__([Fault(subject, "the plan takes too long to compute")], detail=detail)
        self.seconds = seconds
