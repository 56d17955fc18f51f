"""masks: boolean-mask indexing whose length is known only when the function runs.

``x[x > 0]`` has as many elements as the mask has True entries, which the trace does not know.
A ``MaskedValues`` stands for it: summed (``np.sum``, ``.sum()``, ``np.mean``) it is the sum of
``np.where(mask, x, 0)``; assigned with the same mask (``z[mask] = x[mask]``) it is
``np.where(mask, x, z)``; combined elementwise with numbers and with values of the same mask it
stays one. ``np.where(cond)``/``np.nonzero(cond)`` of a traced condition give ``MaskIndex`` es,
which index as the mask does (``x[np.where(x > 0)]``). Anything else is a located refusal that
says how to write it with ``np.where(mask, a, b)``.
"""

import ast

import numpy as np

from ..errors import UnsupportedSyntaxError
from .parse import located


class MaskedValues:
    """``x[mask]`` for a traced mask: ``full`` (x, or what was computed from it elementwise, of
    the mask's shape), the ``mask`` (a condition) and the indexing ``node`` (for messages)."""

    def __init__(self, full, mask, node, tracer):
        self.full, self.mask, self.node, self.tracer = full, mask, node, tracer

    def __repr__(self):
        return f"MaskedValues({self.full}, {self.mask})"

    def refusal(self, node):
        return located(
            UnsupportedSyntaxError,
            f"{ast.unparse(self.node)} selects with a boolean mask known only when the function "
            "runs: its length (the number of True entries) is not known, so it can only be summed "
            "(np.sum, .sum(), np.mean), combined with numbers, or assigned with the same mask",
            self.tracer.frame.parsed, node,
            hint="write it with np.where: np.sum(np.where(mask, f(x), 0.0)) for a sum of f over "
            "the selected entries, np.where(mask, f(x), 0.0) to keep the shape")


class MaskIndex:
    """Item ``axis`` of ``np.where(cond)`` / ``np.nonzero(cond)`` for a traced condition: the
    indices of its True entries along that axis (as many as there are True entries)."""

    def __init__(self, cond, axis, ndim, node, tracer):
        self.cond, self.axis, self.ndim, self.node, self.tracer = cond, axis, ndim, node, tracer

    def __repr__(self):
        return f"MaskIndex({self.cond}, {self.axis})"

    def refusal(self, node):
        return located(
            UnsupportedSyntaxError,
            f"{ast.unparse(self.node)} gives the indices of the True entries of a condition on a "
            "differentiated value: how many there are is known only when the function runs, so "
            "they can only index an array of the condition's shape (x[np.where(cond)])",
            self.tracer.frame.parsed, node,
            hint="use np.where(cond, a, b) elementwise, or np.sum(np.where(cond, x, 0.0))")


def mask_of(key):
    """The condition ``key`` stands for when it is the whole of ``np.where(cond)`` (its items in
    order), else None."""
    if not key or not all(isinstance(p, MaskIndex) for p in key):
        return None
    cond = key[0].cond
    if len(key) == key[0].ndim and all(p.cond is cond or p.cond == cond for p in key) \
            and [p.axis for p in key] == list(range(len(key))):
        return cond
    return None


def same_mask(a, b):
    """Whether two masks are the same condition (or equal concrete bool arrays)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b
