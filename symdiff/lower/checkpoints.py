"""checkpoints: the ``checkpoint=`` option of a gradient -> how a rolled loop keeps its tape.

Takes: what the user passed to ``grad``/``value_and_grad``/``emit`` (``checked``: None, an int
K >= 1, or ``"sqrt"``). Returns: for each rolled loop whose reverse reads the forward state, a
``Checkpoints`` (``lower.schedule`` puts it on the loop's two ``ForBlock`` s): the forward loop
stores the carried state every K iterations only, and the reverse loop runs the segments last
first, each one recomputed forward from its checkpoint onto a segment tape of K entries before
its adjoints run. Memory: about T/K + K states instead of T, for one more forward sweep.

``"sqrt"``: K about the square root of the trip count. A constant trip count gives it at build
time; an unknown one (a ``while`` on data, ``range(n)`` of an int argument) starts at K = 1 and
doubles K, dropping every other checkpoint, whenever there are more than K of them: K stays
between sqrt(T) and 2 sqrt(T), with at most K + 1 checkpoints.
"""

import math
from dataclasses import dataclass

import sympy

SQRT = "sqrt"


def checked(option):
    """``option`` if it is a valid ``checkpoint=`` value (None, an int >= 1, ``"sqrt"``), else
    a TypeError/ValueError saying what is.

    >>> checked(100), checked("sqrt"), checked(None)
    (100, 'sqrt', None)
    """
    if option is None or option == SQRT:
        return option
    if isinstance(option, bool) or not isinstance(option, int):
        raise TypeError(f"checkpoint must be None, an int >= 1 or 'sqrt', not {option!r}")
    if option < 1:
        raise ValueError(f"checkpoint must be at least 1 (iterations between checkpoints), not {option}")
    return option


def every(option, trip):
    """K for a loop of ``trip`` iterations (a SymPy int, or a symbol: known when it runs) under
    ``option`` (``checked``): an ``int``, or None where ``"sqrt"`` must be found as the loop runs."""
    if option != SQRT:
        return option
    if trip.is_Integer:
        return max(1, math.isqrt(max(int(trip), 0)))
    return None


@dataclass(frozen=True)
class Checkpoints:
    """How one checkpointed loop keeps its tape (on its forward and its reverse ``ForBlock``).

    ``every``: K, an int, or the name holding it as the loop runs (``"sqrt"`` of an unknown trip
    count: the forward loop doubles it). ``state``: the carried names stored at each checkpoint
    (what the forward body needs to run on from there). The reverse loop's own names:
    ``segment`` (the checkpoint's number), ``start``/``end`` (its iterations), ``tape`` (the
    segment's tape of the values the adjoints read, ``ForBlock.saved``), and ``body``/``carried``:
    the forward loop's body lines and carried pairs, recomputed over each segment."""

    every: object
    state: tuple
    segment: sympy.Symbol
    start: sympy.Symbol
    end: sympy.Symbol
    tape: sympy.Symbol
    body: tuple = ()
    carried: tuple = ()

    @property
    def growing(self):
        """Whether K is found as the loop runs (a name, doubled), not known on entry."""
        return isinstance(self.every, sympy.Symbol)

    @property
    def reads(self):
        """The names the reverse loop reads for its recomputation (not defined inside it)."""
        found = set(self.state)
        for _, value in self.carried:
            found |= value.free_symbols
        if self.growing:
            found.add(self.every)
        return found


__all__ = ["SQRT", "Checkpoints", "checked", "every"]
