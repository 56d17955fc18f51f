"""A ``raise`` under a condition on a differentiated value (argument checks): the gradient raises
the same exception, with the same message, exactly where the function does, and is the
derivative elsewhere. Checked against mpmath at 50 digits on both sides of every check; in
``grad``, ``value_and_grad``, ``grad(grad)``, ``hessian``, an emitted module, loops; C refuses
(it has no exceptions), located."""

import math

import mpmath
import pytest

import symdiff
from symdiff import SymdiffError, grad, hessian, value_and_grad

from .reference import close, mp_grad
from .test_c_code import call, compile_library


def checked_log(x, y):
    if x <= 0.0:
        raise ValueError("x must be positive")
    z = math.log(x) * y
    if z > 100.0:
        raise OverflowError
    return z * z


def in_the_else(x):
    if x < 3.0:
        y = math.sqrt(3.0 - x)
    else:
        raise ValueError("x must be below 3")
    return y * x


def elif_chain(x):
    if x < -1.0:
        raise ValueError("too small")
    elif x > 1.0:
        raise ValueError("too big")
    return math.asin(x) * x


class DomainError(Exception):
    pass


def user_exception(x):
    if x < 0.0:
        raise DomainError("negative")
    return x * x


def message_of_data(x):
    if x < 0.0:
        raise ValueError(f"negative: {x}")
    return x * x


def checked_in_a_while(a):
    x = a
    while x > 1.0:
        x = x * 0.5
        if x < 0.6:
            raise ValueError("small")
    return x * a


def checked_in_a_long_loop(x):
    for k in range(40):
        x = x * 0.99 + 0.01
        if x < 0.0:
            raise ValueError("negative")
    return x


def _raises_as_python(f, call, args):
    with pytest.raises(Exception) as own:
        f(*args)
    with pytest.raises(type(own.value)) as got:
        call(*args)
    assert type(got.value) is type(own.value) and got.value.args == own.value.args


@pytest.mark.parametrize("f, points, bad", [
    (checked_log, [(2.0, 3.0), (0.5, -1.0), (1e-3, 2.0)], [(0.0, 1.0), (-1.0, 1.0), (1e50, 1e10)]),
    (in_the_else, [(2.9,), (-4.0,), (0.0,)], [(3.0,), (7.5,)]),
    (elif_chain, [(-0.999,), (0.0,), (0.5,), (0.999,)], [(-1.001,), (1.001,), (40.0,)]),
])
def test_the_gradient_raises_where_the_function_does(f, points, bad):
    g, vg = grad(f), value_and_grad(f)
    for args in points:
        want = mp_grad(f, args)
        got = g(*args) if len(args) > 1 else (g(*args),)
        assert all(close(a, b) for a, b in zip(got, want)), (args, got, want)
        value, again = vg(*args)
        assert value == f(*args) and again == g(*args)
    for args in bad:
        _raises_as_python(f, g, args)
        _raises_as_python(f, vg, args)
    assert "raise " in g.source
    g(*points[0])
    assert "raise ValueError(" in g.explain() or "raise OverflowError" in g.explain()


def test_second_derivatives_and_the_emitted_module():
    h = hessian(checked_log)(2.0, 3.0)
    with mpmath.workdps(50):
        def hand(x, y):
            return (mpmath.log(x) * y) ** 2
        want = [[float(mpmath.diff(hand, (2, 3), ((i == 0) + (j == 0), (i == 1) + (j == 1))))
                 for j in range(2)] for i in range(2)]
    assert all(close(h[i][j], want[i][j], rtol=1e-13) for i in range(2) for j in range(2))
    gg = grad(grad(checked_log, wrt=0), wrt=0)
    assert close(gg(2.0, 3.0), want[0][0], rtol=1e-13)
    _raises_as_python(checked_log, gg, (-1.0, 3.0))
    namespace = {}
    exec(symdiff.emit(checked_log), namespace)  # the standalone module's text
    _raises_as_python(checked_log, namespace["checked_log_grad"], (-1.0, 3.0))
    assert namespace["checked_log_grad"](2.0, 3.0) == grad(checked_log)(2.0, 3.0)


def test_loops_raise_on_the_path_taken():
    g = grad(checked_in_a_while)
    for a in (1.5, 0.5, 3.0):
        assert close(g(a), mp_grad(checked_in_a_while, (a,))[0]), a
    _raises_as_python(checked_in_a_while, g, (1.1,))
    h = grad(checked_in_a_long_loop)
    assert close(h(2.0), mp_grad(checked_in_a_long_loop, (2.0,))[0])
    _raises_as_python(checked_in_a_long_loop, h, (-50.0,))


@pytest.mark.parametrize("f", [user_exception, message_of_data])
def test_what_cannot_be_raised_again_is_a_located_error(f):
    with pytest.raises(SymdiffError) as info:
        grad(f)(1.0)
    text = str(info.value)
    assert f"line {f.__code__.co_firstlineno + 2}" in text or f":{f.__code__.co_firstlineno + 2}:" in text
    assert "raise" in text and "constant" in text


def test_c_export_is_refused_at_the_raise():
    with pytest.raises(symdiff.ExportError) as info:
        symdiff.emit(checked_log, language="c")
    assert f":{checked_log.__code__.co_firstlineno + 2}:" in str(info.value)
    assert "no exceptions" in str(info.value)


# ---- a line that may raise in a rolled loop, whose value nothing reads (found by helper warr) ----
def unread_log_in_a_loop(x, a):
    s = 0.0
    for i in range(40):  # (rolled: 40 iterations)
        y = math.log(x - 0.01 * i)  # ValueError once x - 0.01*i <= 0; y is read by nothing
        s = s + a
    return s


def unread_division_in_a_while(x, d):
    while x > 1.0:
        x = 0.5 * x
        q = 1.0 / (d - x)  # ZeroDivisionError where x reaches d; q is read by nothing
    return x


@pytest.mark.parametrize("f, point", [(unread_log_in_a_loop, (0.2, 1.0)),
                                      (unread_log_in_a_loop, (0.5, 1.0)),
                                      (unread_division_in_a_while, (9.0, 4.5)),
                                      (unread_division_in_a_while, (9.0, 3.0))])
def test_a_line_that_may_raise_in_a_loop_raises_even_unread(tmp_path, f, point):
    try:
        want = f(*point)
    except (ValueError, ZeroDivisionError) as exc:
        for make in (grad, value_and_grad):
            with pytest.raises(type(exc)):
                make(f)(*point)
        assert "for " in grad(f).source or "while True:" in grad(f).source
        return
    got = value_and_grad(f)(*point)
    assert got[0] == want
    for a, b in zip(got[1], mp_grad(f, point)):
        assert close(a, b, rtol=1e-10, atol=1e-12)
    # C has no exceptions: the unread line is computed and (void)ed (-Werror: no unused name)
    library = compile_library(tmp_path, {f.__name__: symdiff.emit(f, language="c")})
    got_c, _ = call(library, f.__name__, 2, 2, point)
    for a, b in zip(got_c, got[1]):
        assert close(a, b, rtol=1e-12, atol=1e-14)
