"""user_rules: ``symdiff.register`` — teach symdiff a function it cannot read, or a different convention.

Takes: a Python callable and its partial derivatives, each written as an ordinary Python function
of the same parameters (symdiff reads them like any differentiated code), or a SymPy function that
already knows its derivative. Returns: nothing; afterwards the callable has a ``registry`` record
(over any built-in one, which ``unregister`` restores): calls to it in differentiated code become
a SymPy function whose ``fdiff`` is the stated derivative, and the generated code calls the
callable itself for values.
"""

import inspect

import sympy

from . import registry, signs
from ..errors import SymdiffError


def register(func, derivatives=None, *, sympy_function=None, name=None):
    """Give symdiff the derivative of ``func`` (which may replace a built-in rule).

    ``derivatives`` is one Python function per parameter of ``func`` (a single function for a
    one-parameter ``func``), each taking the same arguments and returning that partial derivative.
    Alternatively ``sympy_function`` names a SymPy function with the same meaning (SymPy then
    supplies the derivative). ``name`` is how the call is printed (default: ``func.__name__``).

    >>> import math, symdiff
    >>> def softplus(x):
    ...     return math.log1p(math.exp(x))
    >>> def softplus_slope(x):
    ...     return 1 / (1 + math.exp(-x))
    >>> symdiff.register(softplus, softplus_slope)
    >>> symdiff.grad(lambda x: softplus(2 * x))(0.0)
    1.0
    >>> symdiff.unregister(softplus)
    """
    if not callable(func):
        raise TypeError(f"register needs a callable, not {type(func).__name__}")
    label = name or getattr(func, "__name__", None) or "f"
    if not label.isidentifier():
        raise ValueError(f"name={label!r} is not a Python identifier")
    if sympy_function is not None:
        if derivatives is not None:
            raise TypeError("give derivatives or sympy_function, not both")
        nargs = _arity(func, None)
        cls = type(_class_name(label), (RegisteredBase,), {"nargs": nargs, "_sympy": sympy_function,
                                          "_derivatives": None, "_label": label})
    else:
        if derivatives is None:
            raise TypeError("register needs derivatives=... (or sympy_function=...)")
        if callable(derivatives):
            derivatives = (derivatives,)
        derivatives = tuple(derivatives)
        nargs = _arity(func, len(derivatives))
        if nargs != len(derivatives):
            raise ValueError(f"{label} takes {nargs} argument(s) but {len(derivatives)} derivative(s) were given")
        for d in derivatives:
            if not callable(d):
                raise TypeError(f"a derivative must be a function, not {type(d).__name__}")
        cls = type(_class_name(label), (RegisteredBase,), {"nargs": nargs, "_sympy": None,
                                          "_derivatives": derivatives, "_label": label,
                                          "_arity": nargs, "_cache": {}})
    registry.add(registry.Primitive(label, (func,), cls, "user", nargs=(nargs,), helpers={label: func},
                                    derivatives=derivatives), replace=True)


def unregister(func):
    """Forget what ``register`` said about ``func`` (a built-in rule applies again)."""
    record = registry.user_record(func)
    if record is not None:
        registry.remove(record)


def _class_name(label):
    """The SymPy class name of a registered function: not ``label`` itself, which may be one
    SymPy's printers know (``erf``: they would print ``math.erf``, not the registered callable)."""
    return f"Registered_{label}"


def _arity(func, fallback):
    if isinstance(getattr(func, "nin", None), int):  # a numpy/scipy ufunc
        return func.nin
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        if fallback is None:
            raise TypeError(f"cannot tell how many arguments {func!r} takes") from None
        return fallback
    return len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


class RegisteredBase(sympy.Function):
    """A registered function: values from the user's callable, derivatives from the user's rule."""

    _sympy = None
    _derivatives = None
    _label = "f"

    def fdiff(self, argindex=1):
        if self._sympy is not None:
            dummy = sympy.Dummy(real=True)
            args = list(self.args)
            args[argindex - 1] = dummy
            return signs.xreplace(self._sympy(*args).diff(dummy), {dummy: self.args[argindex - 1]})
        template, dummies = self._derivative_template(argindex - 1)
        return signs.xreplace(template, dict(zip(dummies, self.args)))  # see signs.py

    @classmethod
    def _derivative_template(cls, index):
        cached = cls._cache.get(index)
        if cached is None:
            cached = _closed_form(cls._derivatives[index], cls._arity, cls._label)
            cls._cache[index] = cached
        return cached

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None

    def _sympystr(self, printer):
        return f"{self._label}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer):
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{{self._label}}}{{\left({args} \right)}}"

    def _eval_evalf(self, prec):
        if self._sympy is not None:
            return self._sympy(*self.args)._eval_evalf(prec)
        return None


def _closed_form(derivative, nargs, label):
    """A derivative function's value as one SymPy expression of dummy arguments."""
    from ..explain.chain_rule import Closer
    from ..frontend.parse import parse_function
    from ..frontend.interpreter import trace

    try:
        program = trace(parse_function(derivative))
    except SymdiffError as exc:
        raise SymdiffError(f"cannot read the derivative given for {label}: {exc.message}",
                           filename=exc.filename, lineno=exc.lineno, col_offset=exc.col_offset,
                           hint=exc.hint) from None
    if len(program.params) != nargs:
        raise SymdiffError(f"the derivative given for {label} takes {len(program.params)} "
                           f"argument(s); {label} takes {nargs}")
    expr = Closer([program.body], 10**9).close(program.output, 10**9)
    dummies = [p.symbol for p in program.params]
    externals = [e.symbol for e in program.externals]
    if externals:
        expr = expr.xreplace({e.symbol: sympy.Float(float(e.read())) for e in program.externals})
    return expr, dummies
