"""Google Tangent's test functions, ported (``tests/corpus_tangent.py``), against mpmath.

Each function at each of its points (both sides of every branch): ``grad`` of a scalar result
(``jacobian`` of a tuple) equals the 50-digit reference of the same source; the cases in
``REFUSED`` give a located ``SymdiffError`` naming the construct instead — never a wrong number.
The arguments are copied first: a function that changes an argument in place must not change
what the next check sees.
"""

import copy

import numpy as np
import pytest

import symdiff
from symdiff.errors import SymdiffError

from .corpus_tangent import REFUSED, TANGENT_CORPUS
from .reference import leaves, mp_grad, mp_jacobian

CASES = [pytest.param(f, point, wrt, id=f"{f.__name__}{i}")
         for f, points, wrt in TANGENT_CORPUS for i, point in enumerate(points)]


def _check(f, point, wrt):
    value = f(*copy.deepcopy(point))
    if isinstance(value, tuple):
        got = symdiff.jacobian(f, wrt=wrt)(*copy.deepcopy(point))
        return np.asarray(got, dtype=float), np.asarray(mp_jacobian(f, copy.deepcopy(point), wrt), dtype=float)
    got = symdiff.grad(f, wrt=wrt)(*copy.deepcopy(point))
    want = mp_grad(f, copy.deepcopy(point), wrt)
    return np.array(leaves(got), dtype=float), np.array(leaves(want), dtype=float)


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_ported_tangent_function(f, point, wrt):
    refused = REFUSED.get(f.__name__)
    if refused is not None:
        with pytest.raises(SymdiffError) as info:
            _check(f, point, wrt)
        assert refused in str(info.value) and info.value.lineno is not None
        return
    got, want = _check(f, point, wrt)
    assert got.shape == want.shape
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12), (got, want)


def test_the_port_covers_tangents_functions():
    assert len(TANGENT_CORPUS) >= 75
    assert set(REFUSED) <= {f.__name__ for f, _, _ in TANGENT_CORPUS}
