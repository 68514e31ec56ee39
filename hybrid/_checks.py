"""Integer-argument validators shared by the library, the command line and the benchmarks.

One rule everywhere: an integer argument is any :class:`numbers.Integral` (``int``,
``numpy.int64``, ...) except ``bool`` -- ``True`` is an ``int`` to Python but never a
count -- and comes back as a plain ``int``, so numpy scalars do not leak into circuits or
JSON. A value of the wrong type raises ``TypeError``, one out of range ``ValueError``; both
messages name the argument, the rule and what was given, e.g.
``shots must be a positive integer; got 0``.
"""

from __future__ import annotations

import argparse
from numbers import Integral

__all__ = ["integer", "positive_int", "non_negative_int", "positive_int_arg"]


def integer(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` after checking it is an integer in ``minimum .. maximum``.

    Raises:
        TypeError: ``value`` is not an integer (or is a bool).
        ValueError: ``value`` lies outside the bounds given.
    """
    rule = _rule(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be {rule}; got {type(value).__name__} {value!r}")
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {rule}; got {number}")
    return number


def positive_int(value: object, name: str) -> int:
    """A count that must be at least 1 (shots, layers, restarts, ...), as an ``int``."""
    return integer(value, name, minimum=1)


def non_negative_int(value: object, name: str) -> int:
    """A count that may be 0 (iterations, optimiser steps, ...), as an ``int``."""
    return integer(value, name, minimum=0)


def positive_int_arg(text: str) -> int:
    """``argparse`` ``type=`` for a positive integer option (argparse adds the option's name)."""
    try:
        return positive_int(int(text), "the value")
    except ValueError:  # int() failed, or the number is below 1
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None


def _rule(minimum: int | None, maximum: int | None) -> str:
    """The rule in words: "a positive integer", "an integer in 2 .. 15", ..."""
    if minimum is not None and maximum is not None:
        return f"an integer in {minimum} .. {maximum}"
    if maximum is not None:
        return f"an integer <= {maximum}"
    named = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}
    return named.get(minimum, f"an integer >= {minimum}")
