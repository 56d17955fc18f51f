"""SymPy functions symdiff needs that SymPy itself lacks, each with its derivative (``fdiff``).

Takes: SymPy arguments. Returns: SymPy function applications that differentiate, evaluate
numerically (``evalf``) and print (the names the printers and formulas use are in their
``registry`` records).
"""

import sympy
from sympy.codegen.cfunctions import hypot as _hypot
from sympy import Function, exp, log

from . import registry


class Named:
    """Formulas (``str``, ``explain``) and LaTeX show the name the class's registry record gives
    it (``cbrt(x)``, not ``RealCbrt(x)``); without one, SymPy's own."""

    def _sympystr(self, printer):
        names = registry.formula_name(type(self))
        if names is None:
            return printer._print_Function(self)
        return f"{names[0]}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer, exp=None):
        names = registry.formula_name(type(self))
        if names is None:
            return printer._print_Function(self, exp=exp)
        power = "" if exp is None else f"^{{{exp}}}"
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"{names[1]}{power}{{\left({args} \right)}}"


class LogAddExp(Named, Function):
    """``log(exp(a) + exp(b))``, printed as ``numpy.logaddexp``; stable derivative."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        mine = a if argindex == 1 else b
        return exp(mine - self)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return log(exp(a) + exp(b))

    def _eval_evalf(self, prec):
        return self.rewrite(log)._eval_evalf(prec)

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


class LogAddExp2(Named, Function):
    """``log2(2**a + 2**b)``, printed as ``numpy.logaddexp2``."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        mine = a if argindex == 1 else b
        return sympy.Integer(2) ** (mine - self)

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return log(2**a + 2**b) / log(2)

    def _eval_evalf(self, prec):
        return self.rewrite(log)._eval_evalf(prec)

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


class Hypot(_hypot):
    """``math.hypot(x, y)`` (numbers; ``numpy.hypot`` keeps SymPy's): d/dx = x/hypot(x, y) away from the origin and 0
    at it (the subgradient 0, as for |x| and the norm), not 0/0 = nan. Printed as ``hypot``."""

    def fdiff(self, argindex=1):
        arg = self.args[argindex - 1]
        return sympy.Piecewise((sympy.Integer(0), sympy.Eq(self, 0)), (arg / self, True))

    def as_sympy(self):
        return _hypot(*self.args)


class NormRoot(Function):
    """``sqrt(s)`` of a sum of squares ``s`` (``np.linalg.norm``): the derivative is
    ``1/(2*sqrt(s))`` away from 0, and 0 at ``s = 0``: at the zero vector d||x||/dx is then the
    subgradient 0 (as d|x|/dx at 0 is 0), not 0 * inf = nan. Printed as ``sqrt``."""

    nargs = 1

    def fdiff(self, argindex=1):
        (s,) = self.args
        return sympy.Piecewise((sympy.Integer(0), sympy.Eq(s, 0)), (1 / (2 * self), True))

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.sqrt(arg)
        return None

    def _eval_is_real(self):
        return self.args[0].is_real or None

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_real else None

    def _eval_evalf(self, prec):
        return sympy.sqrt(self.args[0])._eval_evalf(prec)

    def as_sympy(self):
        return sympy.sqrt(self.args[0])

    def _sympystr(self, printer):
        return f"sqrt({printer._print(self.args[0])})"


class NormPower(NormRoot):
    """``s ** 0.5`` the user wrote of a sum of squares ``s`` (``np.sum(x**2) ** 0.5``): the
    derivative of ``NormRoot`` (0 at ``s = 0``), printed as the user's ``s**0.5`` (C's
    ``pow(s, 0.5)``), which may differ from ``sqrt(s)`` in the last bit."""


class PNormRoot(Function):
    """``s ** r`` (``r = 1/p``) of ``s = sum(|x|**p)``, a vector p-norm (``np.linalg.norm(x,
    ord=p)``): the derivative is ``r * s**(r - 1)`` away from 0 and 0 at ``s = 0``, so that at
    the zero vector the gradient is the subgradient 0 (as ``NormRoot``'s), not 0 * inf = nan.
    ``r`` is a number. Printed as ``s**r``, as numpy computes it."""

    nargs = 2

    def fdiff(self, argindex=1):
        s, r = self.args
        if argindex == 2:
            return sympy.Integer(0)
        return sympy.Piecewise((sympy.Integer(0), sympy.Eq(s, 0)), (r * s ** (r - 1), True))

    @classmethod
    def eval(cls, s, r):
        if s.is_Number:
            return s ** r
        return None

    def _eval_is_real(self):
        return self.args[0].is_real or None

    def _eval_evalf(self, prec):
        return (self.args[0] ** self.args[1])._eval_evalf(prec)

    def as_sympy(self):
        return self.args[0] ** self.args[1]

    def _sympystr(self, printer):
        return printer._print(self.as_sympy())

    def _latex(self, printer):
        return printer._print(self.as_sympy())


def is_sum_of_squares(expr, definition, depth=0):
    """True when ``expr`` is, by its form, a sum of squares of real values (``x**2 + y**2``,
    ``np.sum(x*x)``, ``x @ x`` of a vector, ``2*u**2``): never negative, and 0 only where every
    squared value is 0 — where its own derivative is 0 too, so ``sqrt`` of it has the subgradient
    0 there (as ``np.linalg.norm``), not 0 * inf = nan. ``definition(symbol)`` is the expression
    a statement bound to ``symbol`` (or None): named intermediates are followed."""
    from . import arrays

    if depth > 50:
        return False
    if expr.is_Number or isinstance(expr, sympy.NumberSymbol):
        return bool(expr.is_nonnegative)
    if expr.is_Symbol:
        bound = definition(expr)
        return bound is not None and is_sum_of_squares(bound, definition, depth + 1)
    if expr.is_Pow:
        base, exponent = expr.args
        return bool(exponent.is_Integer and exponent.is_even and exponent > 0
                    and base.is_extended_real)
    if expr.is_Add or expr.is_Mul:
        return all(is_sum_of_squares(arg, definition, depth + 1) for arg in expr.args)
    if isinstance(expr, arrays.ArraySum) and expr.params.get("shape") == ():
        return is_sum_of_squares(expr.operands[0], definition, depth + 1)
    if isinstance(expr, arrays.MatMul):
        a, b = expr.operands
        return a == b and expr.params.get("shape") == ()
    return False


class RealCbrt(Named, Function):
    """The real cube root (``numpy.cbrt``): negative for negative arguments, unlike ``x**(1/3)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (3 * self**2)

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.sign(arg) * sympy.Abs(arg) ** sympy.Rational(1, 3)
        return None

    def _eval_evalf(self, prec):
        (arg,) = self.args
        value = arg._eval_evalf(prec)
        if value is None or not value.is_Number:
            return None
        return (sympy.sign(value) * sympy.Abs(value) ** sympy.Rational(1, 3))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real or None


class _Step(Function):
    """A piecewise-constant function: derivative 0 almost everywhere (as PyTorch and JAX)."""

    nargs = 1
    _numeric = None  # how SymPy evaluates it on a number

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return cls._numeric(arg)
        return None

    def _eval_is_real(self):
        return self.args[0].is_real or None

    def _eval_is_integer(self):
        return self.args[0].is_real or None


class Floor(_Step):
    """``math.floor`` / ``numpy.floor`` (and ``//``)."""

    _numeric = staticmethod(sympy.floor)


class Ceil(_Step):
    """``math.ceil`` / ``numpy.ceil``."""

    _numeric = staticmethod(sympy.ceiling)


class Trunc(_Step):
    """``math.trunc`` / ``int()`` / ``numpy.trunc``: rounds towards zero."""

    _numeric = staticmethod(lambda x: sympy.sign(x) * sympy.floor(sympy.Abs(x)))


class Round(_Step):
    """``round()`` / ``numpy.round``: to the nearest integer, ties to even."""

    @staticmethod
    def _numeric(x):
        return sympy.Integer(round(float(x)))


class RoundDigits(Function):
    """``round(x, ndigits)`` / ``numpy.round(x, decimals)`` for a known int ``ndigits``: a step
    function (derivative 0 almost everywhere), printed as the call itself (Python rounds the
    decimal value correctly; no other formula gives the same numbers)."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    @classmethod
    def eval(cls, x, ndigits):
        if x.is_Number and ndigits.is_Integer:
            return sympy.Float(round(float(x), int(ndigits)))
        return None

    def _eval_is_real(self):
        return self.args[0].is_real or None


class CopySign(Function):
    """``math.copysign(x, y)`` / ``numpy.copysign``: ``|x|`` with the sign *bit* of ``y``.

    Not ``Abs(x)*sign(y)``: that is 0 at ``y = +-0.0``, where copysign gives ``+-|x|``. A concrete
    ``y`` is replaced by ``copysign(1.0, y)`` before it reaches SymPy (which has no -0.0), so a
    numeric second argument is never zero except as +0. Derivatives: ``sign(x)*copysign(1, y)``
    (0 at x = 0, as for ``abs``) and 0 (almost everywhere) with respect to ``y``.
    """

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return sympy.sign(x) * CopySign(sympy.Integer(1), y)
        return sympy.Integer(0)

    @classmethod
    def eval(cls, x, y):
        if y.is_Number:
            return -sympy.Abs(x) if y.is_negative else sympy.Abs(x)
        return None

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


class SharedTies(Function):
    """``Max``/``Min`` of three or more values, while it is differentiated: tied winners share.

    SymPy's ``Max.fdiff`` gives each argument ``Heaviside(arg - Max(others))``: 1/2 to *each* of
    k >= 3 tied arguments, so the weights sum to k/2. Here each of the k tied winners gets 1/k
    (the weights always sum to 1, like JAX's and PyTorch's reductions). Only used inside
    ``ad.reverse.local_partial`` (SymPy's own ``Max``/``Min`` keep their simplifications; a
    subclass of them would not, as SymPy compares the class with ``Max``/``Min``).
    ``args[0]`` is the SymPy ``Max``/``Min`` itself, the rest its arguments.
    """

    def fdiff(self, argindex=1):
        whole, *args = self.args
        if argindex == 1:
            return sympy.Integer(0)
        ties = [Tie(a, whole) for a in args]
        return ties[argindex - 2] / sympy.Add(*ties)


class Tie(Function):
    """1 where ``a == b`` else 0 (``b`` is a max/min, so at least one argument ties with it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return sympy.Integer(1 if a == b else 0)
        if a == b:
            return sympy.Integer(1)
        return None

    def _eval_is_real(self):
        return True

    def _eval_is_nonnegative(self):
        return True
