"""What a random program must satisfy, checked in the (forked) child: ``run_case(case) -> Outcome``.

Takes: a ``Case`` (cases.py). Returns: an ``Outcome`` (isolation.py): ``ok``, ``refused`` (a
``SymdiffError``: allowed), ``wrong`` (a value, gradient or exception differs from the reference)
or ``error`` (an exception other than ``SymdiffError`` escaped symdiff or the code it generated).

The references are independent of symdiff:
- the value (and any exception) is the user's own function run by Python: ``value_and_grad``
  must return exactly ``f(*args)`` (bit for bit, or both nan) when the case is ``exact``, else to
  1e-9 relative; where ``f`` raises, symdiff raises the same exception type (or a SymdiffError)
  and never returns a number; nothing is ever complex (where ``f`` itself makes a complex number,
  ``x ** 0.5`` of a negative x, and then fails on it, symdiff's ValueError or nan is its answer:
  it never makes one);
- first and second derivatives are tests/reference.py's mpmath at 50 digits (``mp_grad``,
  ``mp_hessian``, ``mp_hessian_vector``, ``mp_jacobian``), compared to 1e-7 relative / 1e-9
  absolute. A derivative is compared only where it is defined: the function's value is finite,
  the arguments are finite, the 50-digit value agrees with Python's (else the two took different
  branches, e.g. ``floor(0.3 / 0.1)``), the reference is finite and below 1e12, and the
  arguments' magnitudes are within what 50-digit finite differences resolve (1e-200 .. 1e15).
  At a kink (the one-sided derivatives differ) a one-sided derivative or any value between them
  is accepted (a Clarke subgradient: composed tie conventions of max/min/clip give such values),
  for gradients and Jacobians. Before a gradient is called wrong, the reference is recomputed
  with a step of 1e-400 at 1,450 digits: where the default step did not resolve the function
  (``(0.4 - x * 1e310) ** 2`` at 0 gives 0), the finer value is the reference; and where the
  reference's value at some precision from 30 to 130 digits is not Python's (``int(-1.5 / 2.5 *
  100)``: -60 at 50 digits, -59 at 43), the point sits on one of its steps and is not compared.

Checks by name (``Case.checks``): ``value_and_grad``, ``grad``, ``formulas`` (the gradient's
formulas, a loop's recurrences included, evaluated by ``tests/formula_values.py`` and compared with
the mpmath gradient as the gradient is), ``emit_py`` (the standalone module, exec'd in a fresh
namespace), ``emit_c`` (compiled with -Werror, called through ctypes), ``jacobian``; and ``Case.second``: ``("grad2", w1, w2)``, ``("hvp",)``, ``("hessian",)``.
"""

import ctypes
import inspect
import math
import os
import shutil
import subprocess
import traceback
import warnings

import numpy as np

import symdiff
from symdiff import SymdiffError

from .. import formula_values, reference
from .cases import folder, load
from .isolation import Outcome

CC = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang")
C_FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC"]

RTOL, ATOL = 1e-7, 1e-9  # derivatives against mpmath
VALUE_RTOL = 1e-9  # values of non-exact programs against Python's own
HUGE = 1e12  # a reference derivative beyond this is not compared (near a pole)

_RANK = {"ok": 0, "refused": 1, "wrong": 2, "error": 3}


class _Report:
    def __init__(self):
        self.items = []  # (status, stage, text)
        self.notes = {}

    def add(self, status, stage, text):
        self.items.append((status, stage, text))

    def note(self, key):
        self.notes[key] = self.notes.get(key, 0) + 1

    def outcome(self):
        if not self.items:
            return Outcome("ok", "", self.notes)
        worst = max(self.items, key=lambda item: _RANK[item[0]])[0]
        shown = [item for item in self.items if item[0] == worst] if worst == "refused" else \
            [item for item in self.items if item[0] in ("wrong", "error")]
        text = "\n\n".join(f"[{status}] {stage}: {body}" for status, stage, body in shown)
        return Outcome(worst, text, self.notes)


def _attempt(fn, *args):
    """("value", result) | ("symdiff", exc) | ("raised", exc, traceback)."""
    try:
        return ("value", fn(*args))
    except SymdiffError as exc:
        return ("symdiff", exc)
    except Exception as exc:  # noqa: BLE001 - classified by the caller
        return ("raised", exc, traceback.format_exc(limit=25))


def _reported(report, stage, result):
    """``result`` (of ``_attempt``) judged: True where it is a value; a ``SymdiffError`` is
    reported ``refused``, another exception ``error`` (False)."""
    if result[0] == "symdiff":
        report.add("refused", stage, str(result[1]).splitlines()[0])
        return False
    if result[0] == "raised":
        report.add("error", stage, f"{_exc_text(result[1])}\n{result[2]}")
        return False
    return True


def _exc_text(exc):
    return f"{type(exc).__name__}: {exc}"


# ---- comparisons ----
def _is_complex(value):
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        return True
    if isinstance(value, (tuple, list)):
        return any(_is_complex(v) for v in value)
    return False


def value_mismatch(got, want, exact):
    """Why ``got`` (symdiff's value) is not the function's own ``want`` (None when it is)."""
    if _is_complex(got):
        return f"a complex value {got!r}; the function gives {want!r}"
    if not isinstance(got, (float, int, np.floating, np.integer)) or isinstance(got, bool):
        if isinstance(got, np.ndarray) and got.shape == ():
            got = got.item()
        else:
            return f"a value of type {type(got).__name__} ({got!r}); the function gives {want!r}"
    try:
        g, w = float(got), float(want)
    except (TypeError, ValueError, OverflowError):
        return None if got == want else f"value {got!r}, the function gives {want!r}"
    if math.isnan(w) or math.isnan(g):
        return None if math.isnan(w) and math.isnan(g) else f"value {g!r}, the function gives {w!r}"
    if exact:
        if g == w and math.copysign(1.0, g) == math.copysign(1.0, w):
            return None
        return f"value {g!r}, the function gives {w!r} (must be identical)"
    if math.isinf(w) or math.isinf(g):
        return None if g == w else f"value {g!r}, the function gives {w!r}"
    if abs(g - w) <= VALUE_RTOL * abs(w) + 1e-12:
        return None
    return f"value {g!r}, the function gives {w!r}"


class Reference:
    """The mpmath references of one case, each computed once (on first need)."""

    def __init__(self, f, case, own_value):
        self.f, self.case = f, case
        self.own_value = own_value
        self.positions = reference._positions(f, case.args, case.wrt)
        self._cache = {}

    def _get(self, key, compute):
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", compute())
            except Exception as exc:  # noqa: BLE001 - the reference is undefined here
                self._cache[key] = ("failed", _exc_text(exc))
        return self._cache[key]

    def gradient_comparable(self, args=None):
        """None when derivatives at ``args`` can be compared, else the reason why not."""
        args = self.case.args if args is None else args
        numbers = [np.asarray(a, dtype=float) for a in args
                   if isinstance(a, (float, int, np.ndarray, np.floating)) and not isinstance(a, bool)]
        if not all(np.all(np.isfinite(a)) for a in numbers):
            return "an argument is not finite"
        if any(np.any((np.abs(a) > 1e15) | ((a != 0) & (np.abs(a) < 1e-200))) for a in numbers):
            # mpmath.diff's steps do not resolve such magnitudes at 50 digits (it reports 0 for
            # d(cos(b)*a)/db at b = -9e246); the value is still checked (exactly, where exact)
            return "an argument's magnitude is beyond what the 50-digit finite differences resolve"
        own = self.own_value if args is self.case.args else _own(self.f, args)[1]
        if not isinstance(own, (float, int, np.floating, np.integer)) or not math.isfinite(float(own)):
            return "the function's value is not a finite number"
        kind, mp_value = self._get(("value", id(args)), lambda: reference.mp_value(self.f, args, self.case.wrt))
        if kind != "ok":
            return f"the reference cannot evaluate the function ({mp_value})"
        try:
            mp_value = reference.as_scalar(mp_value)
        except AssertionError as exc:
            return f"the reference's value is not a real number ({exc})"
        if not abs(float(mp_value) - float(own)) <= 1e-9 * abs(float(own)) + 1e-12:
            return (f"the 50-digit value {float(mp_value)!r} differs from Python's {float(own)!r} "
                    "(another branch)")
        return None

    def steady(self, args):
        """Whether the reference's value at every precision from 30 to 130 digits is still
        Python's: else ``args`` sit on a step of the reference (``int(-1.5 / 2.5 * 100)`` is -60
        at 50 digits, -59 at 43, 49, 55, ...: -0.6 rounds up or down), and the derivatives
        ``mpmath.diff`` takes at its own working precision belong to another branch. (Only asked
        before a gradient is called wrong: a hundred evaluations.)"""
        own = float(_own(self.f, args)[1])
        for dps in range(30, 131):
            kind, value = self._get(("value", id(args), dps),
                                    lambda dps=dps: reference.mp_value(self.f, args, self.case.wrt, dps=dps))
            if kind != "ok":
                return False
            try:
                value = float(reference.as_scalar(value))
            except (AssertionError, TypeError, ValueError):
                return False
            if not abs(value - own) <= 1e-9 * abs(own) + 1e-12:
                return False
        return True

    def grad(self, direction=0, args=None, fine=False):
        args = self.case.args if args is None else args
        return self._get(("grad", direction, id(args), fine), lambda: reference.mp_grad(
            self.f, args, self.case.wrt, direction=direction, fine=fine))

    def hessian(self):
        return self._get("hessian", lambda: reference.mp_hessian(self.f, self.case.args, self.case.wrt))

    def hvp(self):
        n = sum(np.size(self.case.args[i]) for i in self.positions)
        return self._get("hvp", lambda: reference.mp_hessian_vector(
            self.f, self.case.args, np.ones(n), self.case.wrt))

    def jacobian(self, direction=0):
        return self._get(("jacobian", direction), lambda: reference.mp_jacobian(
            self.f, self.case.args, self.case.wrt, direction=direction))


def _own(f, args):
    """The function's own behaviour: ("value", v) or ("raises", exc)."""
    try:
        with np.errstate(all="ignore"):
            return ("value", f(*args))
    except Exception as exc:  # noqa: BLE001
        return ("raises", exc)


def _close(got, want):
    want = float(want)
    return abs(got - want) <= ATOL + RTOL * abs(want)


def _at_kink(got, right, left):
    """Whether the one-sided derivatives differ (a kink) and ``got`` is one of them or a value
    between them (a Clarke subgradient: the tie conventions of max/min/clip/abs, composed, give
    such values)."""
    return not _close(right, left) and (
        _close(got, right) or _close(got, left) or min(right, left) - ATOL <= got <= max(right, left) + ATOL)


def _as_list(got, single):
    return [got] if single else list(got) if isinstance(got, (tuple, list)) else None


def gradient_mismatch(got, ref, args=None, what="gradient"):
    """Why ``got`` (symdiff's gradient, shaped as ``grad`` returns it) is not the mpmath one."""
    case = ref.case
    args = case.args if args is None else args
    single = len(ref.positions) == 1
    parts = _as_list(got, single)
    if parts is None or len(parts) != len(ref.positions):
        return f"{what} {got!r}: expected {len(ref.positions)} component(s)"
    if _is_complex(got):
        return f"a complex {what} {got!r}"
    for part, i in zip(parts, ref.positions):
        arg = args[i]
        if isinstance(arg, np.ndarray):
            if not isinstance(part, np.ndarray) or part.shape != arg.shape or part.dtype != np.float64:
                shape = getattr(part, "shape", None)
                dtype = getattr(part, "dtype", type(part).__name__)
                return f"{what} for argument {i}: {part!r} (shape {shape}, {dtype}); want float64 of shape {arg.shape}"
        elif not isinstance(part, (float, np.floating)) or isinstance(part, np.ndarray):
            return f"{what} for argument {i}: {part!r} of type {type(part).__name__}, not a float"
    reason = ref.gradient_comparable(args)
    if reason is not None:
        ref.case.notes.setdefault("skipped", reason)
        return None
    kind, central = ref.grad(0, args)
    if kind != "ok":
        return None
    bad = []
    for k, (part, i) in enumerate(zip(parts, ref.positions)):
        got_flat = np.ravel(np.asarray(part, dtype=float))
        want_flat = np.ravel(np.asarray(central[k], dtype=object))
        for j, (g, w) in enumerate(zip(got_flat, want_flat)):
            w = float(w)
            if not math.isfinite(w) or abs(w) > HUGE or _close(g, w):
                continue
            sides = []
            for direction in (1, -1):
                kind, one = ref.grad(direction, args)
                if kind == "ok":
                    sides.append(float(np.ravel(np.asarray(one[k], dtype=object))[j]))
            if not ref.steady(args):
                ref.case.notes.setdefault("skipped", "the reference's value at 30-130 digits "
                                          "differs from Python's (a step of the reference)")
                continue
            kind, fine = ref.grad(0, args, fine=True)  # is the reference itself resolved?
            if kind == "ok":
                w_fine = float(np.ravel(np.asarray(fine[k], dtype=object))[j])
                if not _close(w_fine, w) and (not math.isfinite(w_fine) or abs(w_fine) > HUGE
                                              or _close(g, w_fine)):
                    continue  # the default step did not resolve f here; a finer one agrees
            if len(sides) == 2 and _at_kink(g, *sides):
                continue
            where = f"argument {i}" + ("" if not isinstance(args[i], np.ndarray) else f"[{j}]")
            bad.append(f"{where}: got {g!r}, want {w!r}" + (
                f" (one-sided: {sides[0]!r} / {sides[1]!r})" if len(sides) == 2 else ""))
    if bad:
        return f"{what} differs from mpmath: " + "; ".join(bad)
    return None


def _left_the_reals(exc):
    """Whether ``exc`` is Python failing on a complex number the function itself made."""
    return isinstance(exc, TypeError) and "complex" in str(exc)


def _has_nan(value):
    if isinstance(value, (tuple, list)):
        return any(_has_nan(v) for v in value)
    try:
        return bool(np.any(np.isnan(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


# ---- stages ----
def _check_value_and_grad(report, stage, call, own, ref, exact, args=None, with_value=True):
    """One call of a value_and_grad-like (``with_value``) or grad-like function."""
    result = _attempt(call)
    kind_own = own[0]
    if kind_own == "raises":
        exc = own[1]
        if _left_the_reals(exc) and (
                (result[0] == "raised" and isinstance(result[1], ValueError))
                or (result[0] == "value" and _has_nan(result[1]))):
            return  # f made a complex number (x ** 0.5 of a negative x) and failed on it:
            # symdiff never makes one (ValueError from math code, nan from numpy code)
        if result[0] == "symdiff":
            report.add("refused", stage, str(result[1]).splitlines()[0])
            return
        if result[0] == "raised" and isinstance(result[1], type(exc)):
            return
        if result[0] == "raised":
            report.add("wrong", stage, f"the function raises {_exc_text(exc)}; symdiff raised "
                                       f"{_exc_text(result[1])} instead\n{result[2]}")
            return
        report.add("wrong", stage, f"the function raises {_exc_text(exc)}; symdiff returned "
                                   f"{result[1]!r}")
        return
    if result[0] == "symdiff":
        report.add("refused", stage, str(result[1]))
        return
    if result[0] == "raised":
        report.add("error", stage, f"{_exc_text(result[1])} where the function gives "
                                   f"{own[1]!r}\n{result[2]}")
        return
    got = result[1]
    if with_value:
        if not isinstance(got, tuple) or len(got) != 2:
            report.add("wrong", stage, f"returned {got!r}, not (value, gradient)")
            return
        value, gradient = got
        why = value_mismatch(value, own[1], exact)
        if why:
            report.add("wrong", stage, why)
    else:
        gradient = got
    why = gradient_mismatch(gradient, ref, args)
    if why:
        report.add("wrong", stage, why)


def _build_then_call(make, args):
    """A callable for ``_attempt``: build (decorate) and call, both inside the attempt."""
    return lambda: make()(*args)


def check_symdiff(report, f, case, own, ref):
    wrt = case.wrt
    if "value_and_grad" in case.checks:
        _check_value_and_grad(report, "value_and_grad", _build_then_call(
            lambda: symdiff.value_and_grad(f, wrt=wrt), case.args), own, ref, case.exact)
    if "grad" in case.checks:
        _check_value_and_grad(report, "grad", _build_then_call(
            lambda: symdiff.grad(f, wrt=wrt), case.args), own, ref, case.exact, with_value=False)


def check_formulas(report, f, case, own, ref):
    """``grad(f).formulas`` at the case's point: closed forms, or a loop's sequences and their
    recurrences, run step by step at 50 digits; the numbers they give must be the gradient."""
    if own[0] != "value":
        return
    g = symdiff.grad(f, wrt=case.wrt)
    if _attempt(lambda: g(*case.args))[0] != "value":
        return  # (the grad checks judge the call itself)
    result = _attempt(lambda: g.formulas)
    if not _reported(report, "formulas", result):
        return
    formulas = result[1]
    values = dict(zip(inspect.signature(f).parameters, case.args))
    try:
        numbers = formula_values.evaluate(formulas, values)
    except formula_values.Unevaluable as exc:
        report.note(f"formulas not evaluated: {str(exc)[:60]}")
        return
    except (ArithmeticError, ValueError, TypeError) as exc:  # (formula_values.Undefined too)
        report.note(f"formulas not evaluated: {_exc_text(exc)[:60]}")
        return
    if formulas.recurrences:
        report.note("formulas with recurrences")
    got = [numbers[name] for name in formulas]
    why = gradient_mismatch(got[0] if len(got) == 1 else tuple(got), ref, what="formulas")
    if why:
        report.add("wrong", "formulas", f"{why}\n{formulas!r}")


def check_second(report, f, case, own, ref):
    """grad(grad(...)), hessian: against mpmath's second derivatives."""
    if own[0] != "value" or ref.gradient_comparable() is not None:
        return
    params = list(inspect.signature(f).parameters)
    for spec in case.second:
        if spec[0] == "grad2":
            _, w1, w2 = spec
            result = _attempt(lambda w1=w1, w2=w2: symdiff.grad(symdiff.grad(f, wrt=w1), wrt=w2)(*case.args))
            kind, H = ref.hessian()
            if kind != "ok":
                continue
            cols = [(i, index) for i in ref.positions for index in
                    (list(np.ndindex(np.shape(case.args[i]))) or [None])]
            r, c = params.index(w1), params.index(w2)
            want = H[[p for p, _ in cols].index(r)][[p for p, _ in cols].index(c)]
            _second_compare(report, f"grad(grad(f, wrt={w1!r}), wrt={w2!r})", result, [want], ())
        elif spec[0] == "hvp":
            result = _attempt(lambda: symdiff.grad(symdiff.grad(f))(*case.args))
            kind, want = ref.hvp()
            if kind == "ok":
                _second_compare(report, "grad(grad(f)) (want the Hessian's row sums)", result, want,
                                np.shape(case.args[ref.positions[0]]))
        elif spec[0] == "hessian":
            result = _attempt(lambda: symdiff.hessian(f, wrt=case.wrt)(*case.args))
            kind, want = ref.hessian()
            if kind == "ok":
                n = len(want)
                _second_compare(report, "hessian(f)", result, [v for row in want for v in row], (n, n))
        else:
            raise AssertionError(spec)


def _second_compare(report, stage, result, want, shape, sides=None):
    """``result`` against ``want`` (flat); ``sides()``: the flat one-sided references (right,
    left), for entries at a kink (a one-sided value or one between them is a subgradient)."""
    if not _reported(report, stage, result):
        return
    got = result[1]
    if _is_complex(got):
        report.add("wrong", stage, f"complex result {got!r}")
        return
    if np.shape(got) != tuple(shape):
        report.add("wrong", stage, f"result {got!r} has shape {np.shape(got)}, want {tuple(shape)}")
        return
    flat = np.ravel(np.asarray(got, dtype=float))
    bad = []
    for j, (g, w) in enumerate(zip(flat, want)):
        w = float(w)
        if not math.isfinite(w) or abs(w) > HUGE or _close(g, w):
            continue
        one_sided = sides() if sides is not None else None
        if one_sided is not None:
            if _at_kink(g, float(one_sided[0][j]), float(one_sided[1][j])):
                continue
        bad.append(f"[{j}]: got {g!r}, want {w!r}")
    if bad:
        report.add("wrong", stage, "differs from mpmath: " + "; ".join(bad))


def check_jacobian(report, f, case, own, ref):
    if own[0] != "value" or not np.all(np.isfinite(np.asarray(own[1], dtype=float))):
        return
    result = _attempt(lambda: symdiff.jacobian(f, wrt=case.wrt)(*case.args))
    kind, want = ref.jacobian()
    if kind != "ok":
        return
    flat_want = [v for row in want for v in row]
    shape = (len(want), len(want[0]) if want else 0)

    def sides():
        found = [ref.jacobian(direction) for direction in (1, -1)]
        if any(kind != "ok" for kind, _ in found):
            return None
        return [[v for row in jac for v in row] for _, jac in found]

    _second_compare(report, "jacobian(f)", result, flat_want, shape, sides)


# ---- standalone modules ----
def _needs_args(case):
    return any(isinstance(a, (np.ndarray, list, tuple)) for a in case.args)


def check_emit_python(report, f, case, own, ref):
    args = case.args if _needs_args(case) else None
    result = _attempt(lambda: symdiff.emit(f, wrt=case.wrt, language="python", args=args))
    if not _reported(report, "emit(python)", result):
        return
    text = result[1]
    namespace = {"__name__": f"emitted_{case.fname}"}
    try:
        exec(compile(text, f"<emitted {case.fname}>", "exec"), namespace)  # noqa: S102 - the emitted module
    except Exception as exc:  # noqa: BLE001
        report.add("error", "emit(python): exec of the module", f"{_exc_text(exc)}\n{text}")
        return
    vg = namespace.get(f"{case.fname}_value_and_grad")
    g = namespace.get(f"{case.fname}_grad")
    if vg is None or g is None:
        report.add("wrong", "emit(python)", f"no {case.fname}_grad / {case.fname}_value_and_grad in\n{text}")
        return
    before = len(report.items)
    _check_value_and_grad(report, "emitted Python module: value_and_grad", lambda: vg(*case.args),
                          own, ref, case.exact)
    _check_value_and_grad(report, "emitted Python module: grad", lambda: g(*case.args), own, ref,
                          case.exact, with_value=False)
    if case.other_args is not None:
        other = case.other_args
        own_other = _own(f, other)
        result = _attempt(lambda: vg(*other))
        if result[0] == "value" and own_other[0] == "value":
            why = value_mismatch(result[1][0], own_other[1], case.exact) if isinstance(result[1], tuple) \
                else "not (value, gradient)"
            why = why or gradient_mismatch(result[1][1], ref, other, "gradient at the other shape")
            if why:
                report.add("wrong", f"emitted Python module called with other shapes {_shapes(other)} "
                                    f"(specialised on {_shapes(case.args)})", why)
        elif result[0] == "value" and own_other[0] == "raises":
            report.add("wrong", f"emitted Python module at other shapes {_shapes(other)}",
                       f"the function raises {_exc_text(own_other[1])}; the module returned {result[1]!r}")
        elif result[0] == "raised" and not isinstance(result[1], (ValueError, TypeError)) \
                and own_other[0] == "value":
            report.add("error", f"emitted Python module at other shapes {_shapes(other)}",
                       f"{_exc_text(result[1])} (not a clear ValueError/TypeError)\n{result[2]}")
    if len(report.items) > before:
        report.items[-1] = report.items[-1][:2] + (report.items[-1][2] + "\n--- emitted module ---\n" + text,)


def _shapes(args):
    return tuple(np.shape(a) for a in args)


def check_emit_c(report, f, case, own, ref):
    if CC is None:
        report.note("no C compiler")
        return
    args = case.args if _needs_args(case) else None
    result = _attempt(lambda: symdiff.emit(f, wrt=case.wrt, language="c", args=args))
    if not _reported(report, "emit(c)", result):
        return
    text = result[1]
    base = os.path.join(folder(), f"c_{os.getpid()}_{abs(hash(text))}")
    with open(base + ".c", "w") as handle:
        handle.write(text)
    run = subprocess.run([CC, *C_FLAGS, "-o", base + ".so", base + ".c", "-lm"],
                         capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        report.add("wrong", "emit(c): gcc -Werror", f"does not compile:\n{run.stderr[-3000:]}\n--- C ---\n{text}")
        return
    library = ctypes.CDLL(base + ".so")
    if own[0] == "raises":
        return  # C has no exceptions: nothing to compare
    try:
        gradient, (value, gradient2) = _call_c(library, f, case)
    except Exception as exc:  # noqa: BLE001
        report.add("error", "emit(c): calling through ctypes", f"{_exc_text(exc)}\n{traceback.format_exc()}")
        return
    before = len(report.items)
    why = value_mismatch(value, own[1], case.exact)
    if why:
        report.add("wrong", "emitted C: value_and_grad", why)
    why = gradient_mismatch(gradient, ref, what="C gradient")
    if why:
        report.add("wrong", "emitted C: grad", why)
    why = gradient_mismatch(gradient2, ref, what="C gradient (value_and_grad)")
    if why:
        report.add("wrong", "emitted C: value_and_grad", why)
    if len(report.items) > before:
        report.items[-1] = report.items[-1][:2] + (report.items[-1][2] + "\n--- C ---\n" + text,)


def _call_c(library, f, case):
    """``(grad, (value, grad))`` from the C functions, shaped as symdiff returns them."""
    names = list(inspect.signature(f).parameters)
    wrt = case.wrt
    wrt_names = names if wrt is None else list(wrt) if isinstance(wrt, (tuple, list)) else [wrt]
    wrt_names = [names[w] if isinstance(w, int) else w for w in wrt_names]
    inputs, keep = [], []
    for value in case.args:
        if isinstance(value, np.ndarray):
            value = np.ascontiguousarray(value, dtype=np.float64)
            keep.append(value)
            inputs += [value.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), ctypes.c_long(len(value))]
        else:
            inputs.append(ctypes.c_double(value))

    def outputs():
        out = []
        for param in wrt_names:
            value = case.args[names.index(param)]
            out.append(np.full(len(value), -7.0) if isinstance(value, np.ndarray) else ctypes.c_double(-7.0))
        return out

    def pointer(o):
        return o.ctypes.data_as(ctypes.POINTER(ctypes.c_double)) if isinstance(o, np.ndarray) else ctypes.byref(o)

    def read(out):
        values = tuple(o.copy() if isinstance(o, np.ndarray) else o.value for o in out)
        return values[0] if len(values) == 1 else values

    grad_fn = getattr(library, f"{case.fname}_grad")
    vg_fn = getattr(library, f"{case.fname}_value_and_grad")
    vg_fn.restype = ctypes.c_double
    single_scalar = len(wrt_names) == 1 and not isinstance(case.args[names.index(wrt_names[0])], np.ndarray)
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


# ---- the entry point ----
def run_case(case):
    """Every check the case asks for; the worst outcome (see the module docstring)."""
    warnings.simplefilter("ignore")
    report = _Report()
    namespace, _ = load(case)
    f = namespace[case.fname]
    own = _own(f, case.args)
    if own[0] == "value" and _is_complex(own[1]):
        return Outcome("ok", "the function itself returns a complex number", {"complex own value": 1})
    ref = Reference(f, case, own[1] if own[0] == "value" else None)
    check_symdiff(report, f, case, own, ref)
    if "formulas" in case.checks:
        check_formulas(report, f, case, own, ref)
    if case.second:
        check_second(report, f, case, own, ref)
    if "jacobian" in case.checks:
        check_jacobian(report, f, case, own, ref)
    if "emit_py" in case.checks:
        check_emit_python(report, f, case, own, ref)
    if "emit_c" in case.checks:
        check_emit_c(report, f, case, own, ref)
    if "skipped" in case.notes:
        report.note("gradient not compared: " + case.notes["skipped"].split(" (")[0].split(" 1")[0][:60])
    if own[0] == "raises":
        report.note("the function raises")
    return report.outcome()
