"""Every corpus function: symdiff's gradient equals the 50-digit mpmath reference of its source."""

import pytest

from symdiff import grad, value_and_grad

from .corpus import CORPUS
from .reference import close, mp_function, mp_grad

CASES = [
    pytest.param(f, point, wrt, id=f"{f.__name__}{point}")
    for f, points, wrt in CORPUS
    for point in points
]


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_gradient_matches_reference(f, point, wrt):
    g = grad(f, wrt=wrt)
    result = g(*point)
    result = result if isinstance(result, tuple) else (result,)
    expected = mp_grad(f, point, wrt)
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert isinstance(got, float)
        assert close(got, want), (got, float(want))


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_value_and_grad_matches_reference(f, point, wrt):
    value, gradient = value_and_grad(f, wrt=wrt)(*point)
    assert close(value, mp_function(f)(*point))
    gradient = gradient if isinstance(gradient, tuple) else (gradient,)
    for got, want in zip(gradient, mp_grad(f, point, wrt)):
        assert close(got, want)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30
