"""The one mapping from the domain's words to pointers into the request."""

from __future__ import annotations

import pickle

import pytest

from app.domain.errors import (
    Fault,
    InvalidRequestError,
    PlanTooLargeError,
    QuestionError,
    UnknownPartyError,
    UnknownPlaceError,
)
from app.services.errors import REQUEST_FIELDS, in_request_terms, request_error


def test_each_part_of_a_question_has_its_request_field() -> None:
    error = QuestionError([Fault(subject, "wrong") for subject in REQUEST_FIELDS])
    pointers = {p.pointer for p in request_error(error).problems}
    assert pointers == {
        "/from",
        "/to",
        "/avoid_parties",
        "/profile",
        "/alternatives",
        "/max_overlap",
        "/pareto_cap",
        "/fleet",
        "/vehicles",
        "/method",
        "/end",
    }


def test_unknown_parties_point_at_their_place_in_the_list() -> None:
    mapped = request_error(UnknownPartyError([(2, "q"), (0, "p")]))
    assert [p.as_dict() for p in mapped.problems] == [
        {"pointer": "/avoid_parties/0", "detail": "unknown party 'p'"},
        {"pointer": "/avoid_parties/2", "detail": "unknown party 'q'"},
    ]
    assert mapped.detail == "unknown party 'q'"


def test_a_plan_horizon_points_at_the_window_when_the_request_names_one() -> None:
    error = PlanTooLargeError("horizon", "too large", "an optimal plan over 90 minutes …")
    with pytest.raises(InvalidRequestError) as info, in_request_terms(horizon="/window"):
        raise error
    assert [p.pointer for p in info.value.problems] == ["/window"]
    assert info.value.detail == error.detail and info.value.slug == "invalid-request"


def test_a_place_error_says_which_place_and_what_for_and_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(UnknownPlaceError("zz", "origin")))
    assert (error.place, error.role, error.detail) == ("zz", "origin", "unknown node 'zz'")
    assert [p.as_dict() for p in request_error(error).problems] == [
        {"pointer": "/from", "detail": "unknown node 'zz'"}
    ]
