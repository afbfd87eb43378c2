"""What a long computation is given by its caller: a time budget (and a progress callback,
:mod:`app.domain.progress`).

The domain reads no clock. A caller that wants a computation to give up creates a
:class:`Budget` with the seconds allowed and the clock to count them on; the
planners only ask it what is left.

>>> ticks = iter([0.0, 1.0, 2.5])
>>> budget = Budget.start(2.0, lambda: next(ticks))
>>> budget.remaining(), budget.expired()
(1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """``seconds`` allowed from ``started``, both on ``clock`` (seconds, never going back)."""

    seconds: float
    clock: Callable[[], float]
    started: float

    @classmethod
    def start(cls, seconds: float, clock: Callable[[], float]) -> Budget:
        """A budget of ``seconds`` from now."""
        return cls(seconds, clock, clock())

    def remaining(self) -> float:
        """Seconds left (negative once overrun)."""
        return self.started + self.seconds - self.clock()

    def expired(self) -> bool:
        return self.remaining() < 0

    def restarted(self) -> Budget:
        """The same allowance counted from now: a computation that has its own."""
        return Budget.start(self.seconds, self.clock)
