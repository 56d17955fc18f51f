"""SymPy functions symdiff needs that SymPy itself lacks, each with its derivative (``fdiff``).

Takes: SymPy arguments. Returns: SymPy function applications that differentiate, evaluate
numerically (``evalf``) and print (see ``python_code.py``).
"""

import sympy
from sympy import Function, exp, log


class LogAddExp(Function):
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


class LogAddExp2(Function):
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


class RealCbrt(Function):
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
