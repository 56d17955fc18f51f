"""``formulas`` of loops kept as loops (issue 13): the derivative in terms of the loop's
sequences — ``x[k]`` (a carried value at the start of iteration k), ``xbar[k]`` (d output / d
``x[k]``), sums over k — with the recurrences that define them, never an unrolled expression.

Every formula is checked by number: ``formula_values.evaluate`` runs the recurrences ``formulas``
returned (50 digits) and adds up the sums; the result is compared with ``mp_grad`` (the user's
source re-run over mpmath at 50 digits), an independent reference. Points lie on both sides of
every data-dependent exit (0, 1 and many iterations).
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import symdiff
from symdiff import SymdiffError, grad, value_and_grad

from .formula_values import evaluate
from .markers import marker_line
from .reference import close, mp_grad

HERE = __file__


def check_formulas(f, args, wrt=None, rtol=1e-9, atol=1e-12):
    g = grad(f, wrt=wrt)
    g(*args)  # (formulas describe the latest specialisation built)
    formulas = g.formulas
    assert formulas.recurrences, "the loop was not kept as a loop"
    names = list(formulas)
    values = dict(zip(list(g._signature.parameters), args))
    got = evaluate(formulas, values)
    want = mp_grad(f, args, wrt)
    for name, expected in zip(names, want):
        assert close(got[name], expected, rtol=rtol, atol=atol), (name, args, got, want)
    return formulas


def lorenz(x, y, z, s):
    for _ in range(40):
        x, y, z = x + 0.01 * s * (y - x), y + 0.01 * (x * (28 - z) - y), z + 0.01 * (x * y - 8 / 3 * z)
    return x + y + z


@pytest.mark.parametrize("args", [(1.0, 1.0, 1.0, 10.0), (-2.0, 0.5, 3.0, 7.5)])
def test_lorenz_formulas_are_recurrences_that_give_the_gradient(args):
    formulas = check_formulas(lorenz, args)
    assert set(formulas) == {"x", "y", "z", "s"}
    text = repr(formulas)
    assert "where" in text and "x[k + 1] = " in text and "xbar[40] = 1" in text
    assert "Sum(" in str(formulas["s"]) and "(k, 0, 39)" in str(formulas["s"])
    assert str(formulas["x"]) == "xbar[0]"
    assert len(text.splitlines()) < 12  # the body once, not 40 copies


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


@pytest.mark.parametrize("a", [1.0, 1.0 + 1e-7, 2.0, 50.0])  # 0, 1, few, many iterations
def test_a_while_on_data_counts_its_iterations_n(a):
    formulas = check_formulas(newton_sqrt, (a,))
    recurrence, = formulas.recurrences
    assert recurrence.stop is not None and str(recurrence.trip) == "n"
    assert "the first k where" in repr(formulas)
    if a >= 2.0:  # converged over several steps (at 1.0 no step runs: x = a; near it one, (a + 1)/2)
        assert abs(evaluate(formulas, {"a": a})["a"] - 1 / (2 * math.sqrt(a))) < 1e-10


def stepped(x):
    for i in range(3, 99, 3):  # the counter 3 + 3k, read by the body
        x = x + 0.01 * math.sin(i * x)
    return x * x


@pytest.mark.parametrize("x", [0.3, -1.1])
def test_a_range_with_start_and_step(x):
    check_formulas(stepped, (x,))


def counted(x, n):
    for _ in range(n):
        x = 0.99 * x + 0.01 * math.cos(x)
    return x


@pytest.mark.parametrize("n", [0, 1, 40])
def test_a_trip_count_taken_as_an_argument(n):
    formulas = check_formulas(counted, (0.7, n), wrt="x")
    assert "n - 1" in repr(formulas)  # the argument itself, not this call's value


def two_loops(x, y):
    for _ in range(35):
        x = x - 0.02 * math.sin(x) * y
    z = math.exp(-x) * y
    for _ in range(33):
        z = z + 0.01 * z * x
    return z * x + y


@pytest.mark.parametrize("args", [(0.4, 1.3), (-0.8, 0.2)])
def test_two_loops_and_code_between_them(args):
    formulas = check_formulas(two_loops, args)
    assert len(formulas.recurrences) == 2
    assert "x2" not in repr(formulas)  # (the second loop carries z only)


def piecewise_steps(x):
    while x > 1.0:
        if x > 4.0:
            x = 0.5 * x
        else:
            x = x - 0.3 * x * x
    return x


@pytest.mark.parametrize("x", [0.5, 1.5, 3.9, 4.1, 37.0])  # no iteration; each arm first
def test_an_if_in_a_while_body_is_a_piecewise_step(x):
    formulas = check_formulas(piecewise_steps, (x,))
    assert "Piecewise" in repr(formulas)


def under_an_if(x):
    if x > 2.0:
        while x > 1.0:
            x = 0.5 * x
    return x * x


@pytest.mark.parametrize("x", [1.5, 2.5, 20.0])
def test_a_while_inside_an_if(x):
    g = grad(under_an_if)
    g(x)
    if x > 2.0:
        got = evaluate(g.formulas, {"x": x})["x"]
        assert close(got, mp_grad(under_an_if, (x,))[0], rtol=1e-9)
    else:  # (no loop on this path of the specialisation: the formula is closed)
        assert close(evaluate(g.formulas, {"x": x})["x"], 2 * x)


def test_value_and_grad_latex_and_the_notebook_display():
    g = value_and_grad(lorenz)
    g(1.0, 1.0, 1.0, 10.0)
    assert g.formulas.recurrences
    latex = grad(lorenz).latex()
    assert r"\sum_{k=0}^{39}" in latex and r"{\bar{x}}_{k + 1}" in latex
    assert r"{x}_{k + 1} = " in latex
    assert r"\bar{x}" in grad(lorenz)._repr_markdown_()


def test_symdiff_show_and_the_emitted_headers(tmp_path):
    path = tmp_path / "sim.py"
    path.write_text("def lorenz(x, y, z, s):\n"
                    "    for _ in range(1000):\n"
                    "        x, y, z = x + 0.01*s*(y-x), y + 0.01*(x*(28-z)-y), z + 0.01*(x*y - 8/3*z)\n"
                    "    return x + y + z\n")
    shown = subprocess.run([sys.executable, "-m", "symdiff", "show", f"{path}:lorenz"],
                           capture_output=True, text=True, check=True).stdout
    assert "dlorenz/ds = Sum(" in shown and "  where" in shown
    assert "xbar[1000] = 1;" in shown
    for lang in ("python", "c"):
        text = subprocess.run([sys.executable, "-m", "symdiff", "emit", f"{path}:lorenz",
                               "--lang", lang], capture_output=True, text=True, check=True).stdout
        assert "dlorenz/dx = xbar[0]" in text and "x[k + 1] = " in text


def test_emit_takes_a_checkpoint_option(tmp_path):
    path = tmp_path / "sim.py"
    path.write_text("def decay(x, s):\n"
                    "    for _ in range(400):\n"
                    "        x = x - 0.01*s*x*x\n"
                    "    return x\n")
    out = tmp_path / "decay_grad.py"
    subprocess.run([sys.executable, "-m", "symdiff", "emit", f"{path}:decay", "--checkpoint",
                    "sqrt", "-o", str(out)], capture_output=True, text=True, check=True)
    text = out.read_text()
    assert "_checkpoints = [None] * 20" in text  # every 20th state of 400
    namespace = {}
    exec(compile(text, str(out), "exec"), namespace)

    def decay(x, s):
        for _ in range(400):
            x = x - 0.01 * s * x * x
        return x

    got = namespace["decay_grad"](0.5, 1.5)
    for a, b in zip(got, mp_grad(decay, (0.5, 1.5))):
        assert close(a, b, rtol=1e-10)
    bad = subprocess.run([sys.executable, "-m", "symdiff", "emit", f"{path}:decay",
                          "--checkpoint", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "expected an int >= 1 or 'sqrt'" in bad.stderr


def breaks(x):
    while x > 1.0:
        x = 0.9 * x
        if x * x < 2.0:
            break
    return x


def returns_inside(a):
    if a < 0:
        return 0.0
    x = a
    while abs(x * x - a) > 1e-12:
        if x < 1e-3:
            return x * 3.0
        x = 0.5 * (x + a / x)
    return x


def continues(x):
    while x > 1.0:
        x = 0.8 * x
        if x > 3.0:
            continue
        x = x - 0.05 * x * x
    return x


@pytest.mark.parametrize("f, x", [(breaks, 0.5), (breaks, 1.2), (breaks, 5.0), (breaks, 40.0),
                                  (returns_inside, -1.0), (returns_inside, 1e-7),
                                  (returns_inside, 2.0), (continues, 0.5), (continues, 2.0),
                                  (continues, 9.0)])
def test_break_return_and_continue_on_data(f, x):
    # a break's (a return's) flag is a carried sequence of conditions, part of the loop's own
    # condition; the rest of an iteration after it, a Piecewise step
    formulas = check_formulas(f, (x,))
    if f is breaks:
        assert "~broke[k] & (x[k] > 1.0)" in repr(formulas)
        assert "broke[0] = False;  broke[k + 1] = 0.81*x[k]**2 < 2.0" in repr(formulas)


# ---- what the recurrences cannot describe: a located refusal ----
def arrays_carried(v):
    for _ in range(40):  # ARRAYS
        v = np.tanh(v) * 0.9
    return np.sum(v)


@pytest.mark.parametrize("f, args, marker", [(arrays_carried, (np.ones(3),), "ARRAYS")])
def test_loops_the_recurrences_cannot_describe_are_located(f, args, marker):
    g = grad(f)
    g(*args)
    with pytest.raises(SymdiffError) as info:
        g.formulas
    err = info.value
    assert err.filename == HERE and err.lineno == marker_line(HERE, marker)
    assert "cannot be shown as a recurrence" in err.message and "explain()" in err.hint
    assert g.explain()  # explain() still describes it
    assert symdiff.emit(f, args=args)  # and the module header says where the reverse is


# ---- every while loop of tests/test_while_loops.py, at the points test_c_while.py runs them ----
def _while_cases():
    from .test_c_while import CASES

    return [(f, point) for f, points in CASES for point in points]


@pytest.mark.parametrize("f, point", _while_cases(),
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(_while_cases())])
def test_formulas_of_the_while_loops_give_their_gradients(f, point):
    g = grad(f)
    g(*point)
    try:
        formulas = g.formulas
    except SymdiffError as err:  # a located refusal (a loop carrying an array, ...)
        assert err.filename and err.lineno and "explain()" in err.hint
        return
    got = evaluate(formulas, dict(zip(g._signature.parameters, point)))
    want = mp_grad(f, point)
    for name, expected in zip(formulas, want):
        assert close(got[name], expected, rtol=1e-9, atol=1e-12), (name, point, got, want, formulas)
