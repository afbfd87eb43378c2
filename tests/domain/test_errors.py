"""The exception tree: problems are listed in the order a reader expects."""

from __future__ import annotations

from app.domain.errors import Problem, ValidationError


def test_problems_sort_by_position_then_name() -> None:
    error = ValidationError(
        [Problem("/edges/10", "b"), Problem("/edges/2", "a"), Problem("/edges/2/id", "c")]
    )
    assert [p.pointer for p in error.problems] == ["/edges/2", "/edges/2/id", "/edges/10"]


def test_a_key_of_unicode_digits_that_are_not_numbers_sorts_as_a_name() -> None:
    # '¹' passes str.isdigit but int() refuses it: such a key once turned a 422 into a 500.
    error = ValidationError([Problem("/edges/0/¹", "unknown field"), Problem("/edges/0/id", "x")])
    assert [p.pointer for p in error.problems] == ["/edges/0/id", "/edges/0/¹"]
