"""Helpers imported by tests/corpus_control.py: symdiff must read and inline them from this module."""

import math

OFFSET = 0.25  # a module-level float of this module (a value the helper reads)
ORDER = 3  # a module-level int of this module (a loop count the helper reads)


def smooth_step(t):
    """A branchy helper: 0 below 0, 1 above 1, a cubic in between."""
    if t <= 0:
        return 0.0
    if t >= 1:
        return 1.0
    return t * t * (3 - 2 * t)


def shifted_sin(x):
    return math.sin(x + OFFSET)


def taylor_exp(x):
    total = 1.0
    term = 1.0
    for k in range(1, ORDER + 1):
        term = term * x / k
        total += term
    return total
