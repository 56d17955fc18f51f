"""HIPS autograd's test functions, ported (``tests/corpus_autograd.py``), against mpmath.

Each case: ``grad`` of a scalar result or ``jacobian`` of an array result equals the 50-digit
reference (``tests/reference.py``: the same source over mpmath), with the gradient in the
argument's structure (a list, tuple or dict of arrays comes back as one); or, for the cases in
``REFUSED``, a located ``SymdiffError`` that names the construct — never a wrong number, never
another exception.
"""

import warnings

import numpy as np
import pytest

import symdiff
from symdiff.errors import SymdiffError

from .corpus_autograd import AUTOGRAD_CORPUS, REFUSED
from .reference import leaves, mp_grad, mp_jacobian

CASES = [pytest.param(case, id=f"{case['suite']}-{case['name']}") for case in AUTOGRAD_CORPUS]


def _same_structure(got, want):
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            _same_structure(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _same_structure(g, w)
    else:
        assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))


def _symdiff_and_reference(case):
    f, args, wrt = case["fun"], case["args"], case["wrt"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = f(*args)
    if np.ndim(value) == 0 and not isinstance(value, (tuple, list)):
        got = symdiff.grad(f, wrt=wrt)(*args)
        want = [case["by_hand"](*args)] if case["by_hand"] else mp_grad(f, args, wrt)
        if len(want) == 1:
            want = want[0]
        else:
            got, want = list(got), list(want)
        return got, want
    got = symdiff.jacobian(f, wrt=wrt)(*args)
    return got, np.array(mp_jacobian(f, args, wrt), dtype=object).reshape(np.shape(got))


@pytest.mark.parametrize("case", CASES)
def test_ported_autograd_function(case):
    refused = REFUSED.get(case["name"])
    if refused is not None:
        with pytest.raises(SymdiffError) as info:
            _symdiff_and_reference(case)
        assert refused in str(info.value), str(info.value)
        assert info.value.lineno is not None and info.value.filename, "the refusal is located"
        return
    got, want = _symdiff_and_reference(case)
    _same_structure(got, want)
    got, want = np.array(leaves(got), dtype=float), np.array(leaves(want), dtype=float)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12), np.max(np.abs(got - want))


def test_the_port_is_representative():
    suites = {case["suite"] for case in AUTOGRAD_CORPUS}
    assert {"numpy", "systematic", "graphs", "binary", "containers", "linalg", "scipy",
            "scalar"} <= suites
    assert len(AUTOGRAD_CORPUS) >= 200
    assert set(REFUSED) <= {case["name"] for case in AUTOGRAD_CORPUS}
    assert len(REFUSED) < len(AUTOGRAD_CORPUS) / 5
