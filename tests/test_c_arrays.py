"""symdiff.emit(language="c") of functions of 1-D arrays: pointer + length, generic in the length.

One compiled library serves every length: each function is called at several lengths and compared
with the Python gradient (1e-12 relative) and with an independent reference (mpmath at 50 digits,
``tests/reference.py``, or a gradient written by hand).
"""

import ctypes
import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symdiff import ExportError, emit, value_and_grad

from .corpus_arrays import ARRAY_CORPUS
from .markers import marker_line
from .reference import mp_grad
from .test_c_code import compile_library


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def energy(x, w, c):
    return np.dot(w, np.sin(x)) + c * np.sum(x ** 2)


def features(x, s):
    a = x[0] * x[-1] + s
    m = np.mean(np.exp(x) * a)
    return (m + np.max(x) + np.min(x * s) + np.prod(x) + np.linalg.norm(x) + x[::2].sum()
            + x @ x + np.sum(x[::-1] * np.tanh(x)) + x[-2] / len(x))


def shifted(x, w):
    return np.sum(w * x[1:] ** 2) + np.sum(np.log1p(x[-3:] ** 2)) * np.dot(w[:2], x[1:3])


def unrelated(x, y, t):
    return np.mean(x) * np.sum(y ** 2) + np.max(y) * t + np.sum(np.abs(x - t) ** 1.5)


def scalar_branch(x, s):
    total = np.sum(x * x)
    if total > s:
        r = total * s
    else:
        r = -total + math.sin(s)
    return r + np.mean(np.cos(x))


def products(x, s):
    return np.prod(x) * s + np.prod(np.sin(x[1:]) + 1.0) + np.sum(x ** 2) * x.prod()


def negated_operands(x, s):
    # the adjoints of structural operations come in negated (-x inlined by the schedule)
    u0 = np.tanh(-x - s)
    u1 = np.arcsinh(-(0.3 + u0))
    return np.prod(u0, axis=0) + np.sum(u1) * s


FUNCTIONS = {  # function -> (which arguments are arrays, a function of n giving them, lengths)
    rosen: (lambda n, r: (r.uniform(-1.5, 1.5, n),), (2, 5, 50)),
    energy: (lambda n, r: (r.uniform(-2, 2, n), r.uniform(-1, 1, n), 0.7), (1, 5, 50)),
    features: (lambda n, r: (r.uniform(0.2, 1.5, n), -0.8), (2, 5, 50)),
    shifted: (lambda n, r: (r.uniform(-1, 1, n), r.uniform(-1, 1, n - 1)), (3, 5, 50)),
    unrelated: (lambda n, r: (r.uniform(-1, 1, n), r.uniform(-1, 1, n + 3), 0.3), (2, 5, 50)),
    scalar_branch: (lambda n, r: (r.uniform(-1, 1, n), 0.5 * n), (2, 5, 50)),
    products: (lambda n, r: (r.uniform(-1.5, 1.5, n), 0.6), (1, 2, 5, 50)),
    negated_operands: (lambda n, r: (r.uniform(-1.5, 1.5, n), 0.6), (1, 4, 50)),
}


def example(f, n):
    make, _ = FUNCTIONS[f]
    return make(n, np.random.default_rng(n))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    sources = {f.__name__: emit(f, language="c", args=example(f, 4)) for f in FUNCTIONS}
    return compile_library(tmp_path_factory.mktemp("c_arrays"), sources)


def c_gradient(library, f, args, wrt=None, name=None):
    """``(grad, (value, grad))`` from the C functions of ``f`` (named ``name``: default ``f``'s
    name), shaped as symdiff returns them."""
    names = list(inspect.signature(f).parameters)
    wrt_names = names if wrt is None else list(wrt) if isinstance(wrt, tuple) else [wrt]
    wrt_names = [names[w] if isinstance(w, int) else w for w in wrt_names]
    inputs = []
    for value in args:
        if isinstance(value, np.ndarray):
            value = np.ascontiguousarray(value, dtype=np.float64)
            inputs += [value.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), ctypes.c_long(len(value))]
        else:
            inputs.append(ctypes.c_double(value))

    def outputs():
        out = []
        for param in wrt_names:
            value = args[names.index(param)]
            out.append(np.full(len(value), -7.0) if isinstance(value, np.ndarray) else ctypes.c_double(-7.0))
        return out

    def pointer(o):
        return o.ctypes.data_as(ctypes.POINTER(ctypes.c_double)) if isinstance(o, np.ndarray) else ctypes.byref(o)

    def read(out):
        values = tuple(o if isinstance(o, np.ndarray) else o.value for o in out)
        return values[0] if len(values) == 1 else values

    name = name or f.__name__
    grad_fn = getattr(library, f"{name}_grad")
    vg_fn = getattr(library, f"{name}_value_and_grad")
    vg_fn.restype = ctypes.c_double
    single_scalar = len(wrt_names) == 1 and not isinstance(args[names.index(wrt_names[0])], np.ndarray)
    if single_scalar:
        grad_fn.restype = ctypes.c_double
        gradient = grad_fn(*inputs)
    else:
        grad_fn.restype = None
        out = outputs()
        grad_fn(*inputs, *map(pointer, out))
        gradient = read(out)
    out = outputs()
    value = vg_fn(*inputs, *map(pointer, out))
    return gradient, (value, read(out))


def agree(actual, expected, rtol=1e-12, atol=1e-13):
    if isinstance(expected, tuple):
        return len(actual) == len(expected) and all(agree(a, e, rtol, atol) for a, e in zip(actual, expected))
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return actual.shape == expected.shape and bool(
        np.all(np.abs(actual - expected) <= atol + rtol * np.abs(expected)))


@pytest.mark.parametrize("f", list(FUNCTIONS), ids=[f.__name__ for f in FUNCTIONS])
def test_one_library_every_length_matches_python_and_mpmath(library, f):
    for n in FUNCTIONS[f][1]:
        args = example(f, n)
        got_grad, (got_value, got_vg) = c_gradient(library, f, args)
        want_value, want_grad = value_and_grad(f)(*args)
        assert agree(got_grad, want_grad), (n, got_grad, want_grad)
        assert agree(got_vg, want_grad) and agree(got_value, want_value), n
        if n <= 5:  # the independent reference: the function's own source over mpmath
            reference = tuple(np.asarray(r, dtype=object).astype(float) for r in mp_grad(f, args))
            got = got_grad if isinstance(got_grad, tuple) else (got_grad,)
            assert agree(got, reference, rtol=1e-11, atol=1e-12), (n, got, reference)


def rosen_by_hand(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def test_rosenbrock_against_a_hand_written_gradient(library):
    for n in (2, 3, 50, 1000):
        x = np.random.default_rng(n).uniform(-2, 2, n)
        gradient, (value, _) = c_gradient(library, rosen, (x,))
        assert agree(gradient, rosen_by_hand(x)) and agree(value, rosen(x))


def others_by_hand(v):
    """At each element: the product of the other elements (numpy, one np.delete at a time)."""
    return np.array([np.prod(np.delete(v, i)) for i in range(len(v))])


def products_by_hand(x, s):
    g = s * others_by_hand(x) + 2.0 * x * np.prod(x) + np.sum(x ** 2) * others_by_hand(x)
    g[1:] += np.cos(x[1:]) * others_by_hand(np.sin(x[1:]) + 1.0)
    return g


def test_products_are_exact_at_zeros(library):
    """d np.prod(x)/dx in C is the product of the others (a loop up, a loop down): at exact
    zeros (none, one, two, all) it matches the hand-written products of the others, the Python
    gradient and, for short arrays, mpmath; nothing is nan."""
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 5, 8, 50, 1000):
        patterns = [(), (0,), (n - 1,), (n // 2,), (0, n - 1), tuple(range(n))]
        if n >= 3:
            patterns.append((1, 2))
        for zeros in patterns:
            x = rng.uniform(-1.5, 1.5, n)
            x[list(zeros)] = 0.0
            got, (value, got_vg) = c_gradient(library, products, (x, 0.6))
            assert not np.isnan(got[0]).any() and not math.isnan(got[1]), (n, zeros)
            want_value, want = value_and_grad(products)(x, 0.6)
            assert agree(got, want) and agree(got_vg, want) and agree(value, want_value), (n, zeros)
            assert agree(got[0], products_by_hand(x, 0.6)), (n, zeros, got[0])
            if n <= 5:
                reference = tuple(np.asarray(r, dtype=object).astype(float)
                                  for r in mp_grad(products, (x, 0.6)))
                assert agree(got, reference, rtol=1e-11, atol=1e-12), (n, zeros, got, reference)


def test_products_loop_up_and_down_without_division():
    text = emit(products, language="c", args=(np.ones(4), 1.0))
    body = text[text.index("double products_value_and_grad"):]
    assert "for (long i = n_x - 1; i >= 0; --i) {" in body
    assert "for (long i = n_x - 2; i >= 0; --i) {" in body  # the product over x[1:]
    assert "/x[" not in body


def test_generic_in_the_length_same_text_from_any_example():
    for f in FUNCTIONS:
        assert emit(f, language="c", args=example(f, 3)) == emit(f, language="c", args=example(f, 40)), f


def test_signatures():
    text = emit(rosen, language="c", args=(np.zeros(4),))
    assert "\nvoid rosen_grad(const double *x, long n_x, double *d_x)\n" in text
    assert "\ndouble rosen_value_and_grad(const double *x, long n_x, double *d_x)\n" in text
    assert "#include <stdlib.h>" not in text  # one loop, no temporary arrays
    text = emit(energy, language="c", args=(np.zeros(4), np.zeros(4), 1.0))
    assert ("\nvoid energy_grad(const double *x, long n_x, const double *w, long n_w, double c, "
            "double *d_x, double *d_w, double *d_c)\n") in text
    assert "It needs n_x >= 0 && n_w >= 0 && n_w == n_x;" in text
    one = emit(energy, wrt="c", language="c", args=(np.zeros(4), np.zeros(4), 1.0))
    assert "\ndouble energy_grad(const double *x, long n_x, const double *w, long n_w, double c)\n" in one
    features_text = emit(features, language="c", args=(np.ones(4), 1.0))
    assert "#include <stdlib.h>" in features_text and "free(work);" in features_text
    assert "const double x_m1 = x[n_x - 1];" in features_text  # x[-1]
    assert "/(double)n_x" in features_text  # np.mean and / len(x): never C's integer division


def test_readable_loops_with_line_comments():
    text = emit(rosen, language="c", args=(np.zeros(4),))
    body = text[text.index("double rosen_value_and_grad"):]
    line = rosen.__code__.co_firstlineno + 1
    assert f"    /* line {line}: return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2" in body
    assert "    for (long i = 0; i < n_x - 1; ++i) {\n" in body
    assert "        x_bar[i + 1] += x_s_bar;\n" in body
    assert "        sum_1 += x_1;\n" in body


def test_lengths_that_do_not_fit_give_nan(library):
    x, w = np.ones(4), np.ones(3)  # n_w != n_x
    gradient, (value, vg) = c_gradient(library, energy, (x, w, 1.0))
    assert math.isnan(value) and all(np.all(np.isnan(g)) for g in gradient + vg)
    gradient, (value, _) = c_gradient(library, rosen, (np.ones(0),))
    assert math.isnan(value) and gradient.shape == (0,)


EXPORTABLE = {  # functions of the array corpus C export handles (the rest: located ExportError)
    "elementwise_ufuncs", "broadcast_scalar", "binary_ufuncs", "augmented_array_assignment",
    "array_methods", "logsumexp", "vector_dot", "rosenbrock", "slices_1d", "maximum_minimum_clip",
    "mixed_scalar_and_array", "partial_wrt", "softmax_entropy", "calls_a_helper", "relu_sign_abs",
    "axis_zero_of_a_vector",
}


def test_array_corpus_in_c(tmp_path):
    """Every corpus function C can take gives the Python gradient (which test_arrays checks
    against mpmath) at each of its points; the others raise a located ExportError."""
    sources, cases, exported = {}, [], set()
    for k, (f, points, wrt) in enumerate(ARRAY_CORPUS):
        try:
            text = emit(f, wrt=wrt, language="c", args=points[0])
        except ExportError as exc:
            assert exc.filename and exc.lineno, (f.__name__, exc)
            continue
        exported.add(f.__name__)
        name = f"{f.__name__}_{k}"
        sources[name] = re.sub(rf"\b{f.__name__}_(grad|value_and_grad)\(", rf"{name}_\1(", text)
        cases.append((name, f, points, wrt))
    assert exported == EXPORTABLE
    library = compile_library(tmp_path, sources)
    for name, f, points, wrt in cases:
        for args in points:
            got_grad, (got_value, got_vg) = c_gradient(library, f, args, wrt, name)
            want_value, want_grad = value_and_grad(f, wrt=wrt)(*args)
            assert agree(got_grad, want_grad) and agree(got_vg, want_grad), (name, args)
            assert agree(got_value, want_value), (name, args)


# ---- what C export does not take: located errors ----
def two_d(A):
    return np.sum(A * A)


def where_on_arrays(x):
    return np.sum(np.where(x > 0, x, 0.5 * x) ** 2)  # WHERE


def joined(x):
    return np.sum(np.concatenate([x, x ** 2]))  # CONCATENATE


def unrolled(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2 * i  # UNROLLED
    return s


def rebound_under_if(x, s):
    if s > 0:
        y = x * s  # UNDER_IF
    else:
        y = x
    return np.sum(y)


def test_what_c_cannot_take_is_a_located_export_error():
    here = str(Path(__file__))
    with pytest.raises(ExportError, match="a 2-D array as an argument") as info:
        emit(two_d, language="c", args=(np.ones((2, 3)),))
    assert info.value.lineno == two_d.__code__.co_firstlineno and info.value.filename == here
    cases = [
        (where_on_arrays, (np.ones(3),), "np.where", "WHERE", "where"),
        (joined, (np.ones(3),), "np.concatenate", "CONCATENATE", "concatenate"),
        (unrolled, (np.ones(3),), "depends on the array lengths", "UNROLLED", None),
        (rebound_under_if, (np.ones(3), 1.0), "under an `if`", "UNDER_IF", None),
    ]
    for f, args, message, marker, token in cases:
        with pytest.raises(ExportError, match=message) as info:
            emit(f, language="c", args=args)
        error = info.value
        assert (error.filename, error.lineno) == (here, marker_line(here, marker)), f.__name__
        assert "symdiff.emit(f, args=...)" in error.hint
        if token:
            assert error.source_line[error.col_offset:].startswith(token)
            assert "^" in str(error)
    with pytest.raises(ExportError, match="not support a list"):
        emit(rosen, language="c", args=([1.0, 2.0, 3.0],))


def test_cli_emits_c_for_array_parameters(tmp_path):
    module = tmp_path / "model.py"
    module.write_text("import numpy as np\n\n\ndef rosen(x):\n"
                      "    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)\n")
    run = subprocess.run([sys.executable, "-m", "symdiff", "emit", f"{module}:rosen", "--lang", "c",
                          "--arrays", "x"], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    assert "void rosen_grad(const double *x, long n_x, double *d_x)" in run.stdout
    missing = subprocess.run([sys.executable, "-m", "symdiff", "emit", f"{module}:rosen", "--lang", "c"],
                             capture_output=True, text=True, cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "--arrays" in missing.stderr


def slice_past_two(x, y):
    t0 = np.sum(x[1:3])
    return x[-1] + t0 * np.sum(y)


def test_an_example_the_loops_do_not_fit_is_refused_not_nan():
    """x[1:3] of 2 elements: numpy shortens the slice, the C loop would not (NaN at the very
    length it was exported for): a located ExportError; a long enough example exports."""
    with pytest.raises(ExportError, match="do not have") as info:
        emit(slice_past_two, language="c", args=(np.ones(2), np.ones(2)))
    assert info.value.lineno == slice_past_two.__code__.co_firstlineno
    assert "double slice_past_two_value_and_grad" in emit(slice_past_two, language="c",
                                                          args=(np.ones(4), np.ones(2)))
