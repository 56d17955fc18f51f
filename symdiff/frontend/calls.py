"""calls: a call in the traced function -> its value: a library function applied, or a helper inlined.

Takes: the called value (already evaluated) and the ``ast.Call``. Returns: the call's value —
for a builtin, numpy or math function (or one given with ``symdiff.register``) the SymPy
expression of its rule (``primitives``), for a Python function or a nested ``def``/``lambda``
the value its body returns, run by the interpreter with the arguments bound to its parameters
(its statements join the program).
"""

import ast
import inspect
import math
import sys
import types

import numpy as np
import sympy

from ..errors import (
    NestingError,
    ShapeError,
    SymdiffError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
    WrtError,
)
from ..ad import reverse, vjp  # a symdiff.grad inside the traced code: its gradient, traced in
from ..ir import Param, Program, Statement
from ..runtime.dispatch import resolve_wrt
from ..primitives import nodes, registry, scipy_calls, signs
from ..primitives.faithful import FloorDiv, PyFloat, PyMod, arithmetic, keeps
from ..primitives.sympy_functions import Ceil, CopySign, Floor, Round, Trunc
from .array_values import _Method
from .parse import located, parse_function
from .masks import MaskedValues, same_mask as _same_mask
from .scope import LocalFunction, frame_for, local_frame
from .signals import ConditionOnUndifferentiated, NeedsConcrete, _Return
from .signatures import rule_arguments
from .values import describe_value as _describe_value
from .values import to_sympy

MAX_DATA_RECURSION = 1500  # nested calls, each inside one more branch on data (see ``_too_deep``)
MAX_INLINE_DEPTH = 5000  # nested helper calls (recursion), each ~12-15 levels of the tracer's
# recursion: within ``stack.RECURSION_LIMIT`` (deeper input is a located ``NestingError``)


class NestedGradient:
    """``symdiff.grad(fun)`` met while tracing: ``fun`` (a Python or local function), the names
    of its differentiated parameters, whether one gradient (not a tuple) comes back, and whether
    the value comes first (``value_and_grad``). Calling it traces the gradient in place."""

    def __init__(self, fun, wrt, single, with_value):
        self.fun, self.wrt, self.single, self.with_value = fun, wrt, single, with_value

    def __repr__(self):
        return f"<grad of {fun_name(self.fun)} wrt {', '.join(self.wrt)}>"


_MISSING = object()  # a parameter without a default


def fun_name(fun):
    """The name of a function symdiff.grad was given (a local function, a nested gradient, a
    primitive)."""
    if isinstance(fun, NestedGradient):
        return f"grad_{fun_name(fun.fun)}"
    return getattr(fun, "name", None) or getattr(fun, "__name__", None) or "f"


def _is_symdiff_gradient(func):
    """``symdiff.grad`` / ``symdiff.value_and_grad`` themselves, or a ``Gradient`` they made."""
    kind = func if isinstance(func, types.FunctionType) else type(func)
    return getattr(kind, "__module__", None) == "symdiff.api" and kind.__name__ in (
        "grad", "value_and_grad", "Gradient")


class Calls:
    """The calls of one trace: library functions by their rules, Python helpers inlined.

    Receives the interpreter (``tracer``: it evaluates arguments and runs helper bodies, and is
    what the primitives' handlers are given), ``scope`` (guards on the helpers read) and
    ``control`` (how many branches on data are open). Holds ``parsed_helpers`` (each helper read
    once per trace), ``inlining`` (the functions being run, outermost first: recursion),
    ``fork_trail`` and the deepest call inlined (``deepest``: for the ``NestingError``).
    """

    def __init__(self, tracer, scope, control):
        self.tracer = tracer
        self.scope = scope
        self.control = control
        self.parsed_helpers = {}  # helper function -> its ParsedFunction, for this trace
        self.inlining = [tracer.fun]  # the functions being run, outermost first (recursion)
        self.fork_trail = []  # ``control.open_forks`` when each call being inlined began
        self.callers = []  # the frames of the calls being inlined, outermost first
        self.max_depth, self.deepest = 0, None  # the deepest call inlined: (parsed, node, name, depth)

    def __repr__(self):
        return f"Calls({len(self.inlining)} being run, {len(self.parsed_helpers)} helpers read)"

    def local_function(self, node, name):
        """A nested ``def``/``lambda``: its defaults are evaluated now, as Python does."""
        spec = node.args
        defaults = tuple(self.tracer.eval(d) for d in spec.defaults)
        kw_defaults = {a.arg: self.tracer.eval(d) for a, d in zip(spec.kwonlyargs, spec.kw_defaults)
                       if d is not None}
        return LocalFunction(node, self.tracer.frame, name, defaults, kw_defaults)

    def call(self, func, node):
        """The call ``node`` of ``func`` (already evaluated from ``node.func``)."""
        name = _describe(node.func)
        args = list(self.tracer.elements(node.args))
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.tracer.unsupported(keyword.value, "a '**' argument", hint="pass the arguments by name")
            kwargs[keyword.arg] = self.tracer.eval(keyword.value)
        if _is_symdiff_gradient(func):  # symdiff.grad(fun) inside: differentiated through
            return self._nested_gradient(func, args, kwargs, node)
        if isinstance(func, NestedGradient):
            return self._call_nested(func, args, kwargs, node)
        record = registry.lookup(func)  # the one table of supported callables
        if record is None and "scipy.special" in sys.modules and not isinstance(func, _Method):
            scipy_calls.ensure()  # scipy.special's functions, known once one is met
            record = registry.lookup(func)
        if record is not None:
            return self._call_primitive(record, func, args, kwargs, node)
        if isinstance(func, _Method):
            return func.handler(self.tracer, node, [func.array, *args], kwargs)
        if isinstance(func, LocalFunction):
            return self._inline(func.node, func.frame.parsed, None, func.frame, args, kwargs, node,
                                func.name, (func.defaults, func.kw_defaults))
        if isinstance(func, types.FunctionType):
            return self._call_python(func, args, kwargs, node)
        if isinstance(func, types.MethodType) and isinstance(func.__func__, types.FunctionType) \
                and not getattr(func.__func__, "__module__", "").startswith(("numpy", "scipy", "sympy")):
            # self.forward(x): the method's function with its object first, inlined
            return self._call_python(func.__func__, [func.__self__, *args], kwargs, node)
        raise self.tracer.unknown_function(node, func, name)

    # ---- symdiff.grad inside a differentiated function ----
    def _nested_gradient(self, func, args, kwargs, node):
        """``grad(fun, wrt=...)`` / ``value_and_grad(...)`` called in the traced code (or a
        ``Gradient`` made outside and called here): a ``NestedGradient`` to call."""
        if not isinstance(func, types.FunctionType):  # a Gradient object: called with arguments
            if type(func).__name__ != "Gradient" or not isinstance(func.fun, types.FunctionType):
                raise self._nested_refusal(node, f"a {type(func).__name__} made outside")
            nested = NestedGradient(func.fun, list(func.wrt), len(func.wrt) == 1, func.returns_value)
            return self._call_nested(nested, args, kwargs, node)
        if len(args) != 1 or set(kwargs) - {"wrt"}:
            raise self._nested_refusal(node, "arguments other than the function and wrt=")
        fun, wrt = args[0], kwargs.get("wrt")
        names = [name for name, _ in self._nested_parameters(fun, node)]
        try:  # as the top-level grad reads wrt
            chosen, single = resolve_wrt(wrt, names, types.SimpleNamespace(__qualname__=fun_name(fun)))
        except (WrtError, TypeError) as exc:
            raise self._nested_refusal(node, f"wrt={wrt!r} ({exc})") from None
        return NestedGradient(fun, chosen, single, func.__name__ == "value_and_grad")

    def _nested_parameters(self, fun, node):
        """``[(name, default or MISSING)]`` of a function symdiff.grad was given: a Python or
        local function (positional parameters only), a primitive symdiff knows (``np.sin``), or
        a nested gradient (its function's parameters)."""
        if isinstance(fun, NestedGradient):
            return self._nested_parameters(fun.fun, node)
        if isinstance(fun, LocalFunction):
            spec = fun.node.args
            if spec.vararg or spec.kwarg or spec.kwonlyargs:
                raise self._nested_refusal(node, "a function with *args, **kwargs or keyword-only parameters")
            names = [a.arg for a in [*spec.posonlyargs, *spec.args]]
            defaults = [_MISSING] * (len(names) - len(fun.defaults)) + list(fun.defaults)
            return list(zip(names, defaults))
        if isinstance(fun, types.FunctionType) or registry.lookup(fun) is not None:
            if isinstance(getattr(fun, "nin", None), int):  # a numpy ufunc: no signature to read
                return [(f"x{i}", _MISSING) for i in range(fun.nin)]
            try:
                params = list(inspect.signature(fun).parameters.values())
            except (TypeError, ValueError):
                raise self._nested_refusal(node, f"the gradient of {getattr(fun, '__name__', fun)!r}, "
                                           "whose parameters cannot be read") from None
            if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
                raise self._nested_refusal(node, "a function with *args, **kwargs or keyword-only parameters")
            return [(p.name, _MISSING if p.default is p.empty else p.default) for p in params]
        raise self._nested_refusal(node, f"the gradient of a {type(fun).__name__}")

    def _nested_refusal(self, node, what):
        return located(UnsupportedSyntaxError, f"symdiff.grad inside a differentiated function with {what}",
                       self.tracer.frame.parsed, node,
                       hint="call grad(fun) or grad(fun, wrt=...) of a function of numbers and arrays")

    def _run_nested(self, fun, args, node):
        """``fun(*args)`` traced (into the block being traced): inlined, a primitive's rule, or
        a nested gradient's own trace."""
        if isinstance(fun, NestedGradient):
            return self._call_nested(fun, args, {}, node)
        if isinstance(fun, LocalFunction):
            return self._inline(fun.node, fun.frame.parsed, None, fun.frame, args, {}, node,
                                fun.name, (fun.defaults, fun.kw_defaults))
        record = registry.lookup(fun)
        if record is not None:
            return self._call_primitive(record, fun, args, {}, node)
        return self._call_python(fun, args, {}, node)

    def _call_nested(self, nested, args, kwargs, node):
        """The gradient of ``nested.fun`` at ``args``, traced into this program: the function's
        statements over fresh names for the differentiated arguments (each bound to its value
        first, so that the outer derivative flows through it), then its reverse pass — statements
        the outer program differentiates again, as grad(grad(f)) does."""
        tracer = self.tracer
        fun = nested.fun
        parameters = self._nested_parameters(fun, node)
        names = [name for name, _ in parameters]
        if len(args) > len(names) or set(kwargs) - set(names[len(args):]):
            raise self._nested_refusal(node, f"arguments {fun_name(fun)} does not take")
        bound = list(args) + [kwargs.get(name, default) for name, default in parameters[len(args):]]
        missing = [name for name, value in zip(names, bound) if value is _MISSING]
        if missing:
            raise self._nested_refusal(node, f"no argument for {missing[0]!r}")
        args, params = bound, []
        for name in nested.wrt:
            i = names.index(name)
            value = args[i]
            if isinstance(value, (bool, np.bool_)) or not (
                    tracer.is_symbolic(value) or isinstance(value, (int, float, np.floating, np.integer))
                    or (isinstance(value, np.ndarray) and value.dtype.kind in "fi")):
                raise self._nested_refusal(node, f"a {type(value).__name__} argument {name!r}")
            value = tracer.as_value(np.asarray(value, dtype=float) if isinstance(value, np.ndarray)
                                    else value, node)
            symbol = nodes.real_symbol(tracer.namer.version(name))
            shape = tracer.shape(value)
            if shape:
                tracer.shapes[symbol] = shape
            tracer.emit(symbol, value, node)
            args[i] = symbol
            params.append(Param(name, symbol))
        saved = tracer.block
        tracer.block = []
        try:
            result = self._run_nested(fun, args, node)
            if tracer.is_array(result) or not (tracer.is_symbolic(result) or isinstance(
                    result, (int, float, sympy.Number))):
                for value in args:  # arguments assumed numbers before the first call
                    tracer.check_guess(value)
                raise self._nested_refusal(node, "a function that does not return one number")
            output = nodes.real_symbol(tracer.namer.temporary())
            tracer.emit(output, to_sympy(result), node)
            inner = tracer.block
        finally:
            tracer.block = saved
        program = Program(name=fun_name(fun), filename=tracer.frame.parsed.filename,
                          firstlineno=node.lineno, params=params, body=inner, output=output,
                          output_lineno=node.lineno, shapes=dict(tracer.shapes), namer=tracer.namer)
        body, gradients, shapes = vjp.gradient_statements(reverse.derive(program, params))
        tracer.shapes.update(shapes)
        for item in body:
            tracer.block.append(item)
            if isinstance(item, Statement):
                tracer.definitions[item.target] = item.expr
        gradient = gradients[0] if nested.single else tuple(gradients)
        return (output, gradient) if nested.with_value else gradient

    def _call_primitive(self, record, func, args, kwargs, node):
        """A call of a supported callable, by its record's kind (``registry.KINDS``)."""
        if record.kind == "structural":
            return record.handler(self.tracer, node, args, kwargs)
        if record.kind == "array":
            self.tracer.libraries.add("numpy")
            self._note_numbers(record, args, kwargs, node)
            return record.handler(self.tracer, node, args, kwargs)
        masked = [a for a in [*args, *kwargs.values()] if isinstance(a, MaskedValues)]
        if masked:  # np.exp(x[mask]): the function of the whole array, read where the mask holds
            first = masked[0]
            if any(not _same_mask(m.mask, first.mask) for m in masked):
                raise masked[1].refusal(node)
            args = [a.full if isinstance(a, MaskedValues) else a for a in args]
            kwargs = {k: v.full if isinstance(v, MaskedValues) else v for k, v in kwargs.items()}
            for value in [*args, *kwargs.values()]:
                if value not in [m.full for m in masked] and (self.tracer.shape(value) or np.ndim(value)):
                    raise first.refusal(node)
            result = self.tracer.keep_shape(self._call_rule(record, func, args, kwargs, node), *args)
            return MaskedValues(result, first.mask, first.node, self.tracer)
        return self.tracer.keep_shape(self._call_rule(record, func, args, kwargs, node), *args)

    def _note_numbers(self, record, args, kwargs, node):
        """Record a numpy function that is not elementwise (``np.sum``, ``np.dot``, ``np.shape``)
        called on a value traced as a number (or on a list of them): the code made of this trace
        means something else for arrays (``np.sum`` of a number is the number), see
        ``Program.number_structural``."""
        if record.elementwise or len(self.tracer.number_structural) >= 8:
            return

        def numbers(value):
            if isinstance(value, (tuple, list)):
                return any(numbers(v) for v in value)
            return self.tracer.is_symbolic(value) and not self.tracer.is_array(value)

        if any(numbers(v) for v in [*args, *kwargs.values()]):
            self.tracer.number_structural.append((record.name, self.tracer.frame.parsed.filename, node.lineno))

    def _call_rule(self, rule, func, args, kwargs, node):
        args = rule_arguments(self.tracer, node, rule, func, args, kwargs)  # keywords bound by name
        if len(args) not in rule.nargs:
            expected = " or ".join(str(n) for n in rule.nargs)
            raise located(
                SymdiffError, f"{rule.name} takes {expected} argument(s), got {len(args)}",
                self.tracer.frame.parsed, node, hint=f"call {rule.name} with {expected} argument(s)",
            )
        for i in rule.int_args:
            if i < len(args) and (not isinstance(args[i], (int, np.integer)) or isinstance(args[i], bool)):
                if isinstance(args[i], sympy.Basic):
                    self.tracer.check_deferrable(args[i])  # an int parameter: known at the call
                what = "a differentiated value" if self.tracer.is_symbolic(args[i]) else _describe_value(args[i])
                raise located(
                    UnsupportedSyntaxError,
                    f"{rule.name}'s argument {i + 1} must be an int known while symdiff reads the "
                    f"function, not {what}",
                    self.tracer.frame.parsed, node.args[i] if i < len(node.args) else node,
                    hint="pass a constant, a loop counter or an int parameter that is not "
                    "differentiated",
                )
        args = [self.tracer.constant(a) if isinstance(a, np.ndarray) and any(isinstance(b, sympy.Basic) for b in args) else a
                for a in args]
        for arg, arg_node in zip(args, node.args):
            self.tracer.require_number(arg, arg_node)
            if rule.library == "math" and self.tracer.is_array(arg):
                raise located(
                    ShapeError,
                    f"{rule.name} takes a single number, but this is an array of shape {self.tracer.shape(arg)}",
                    self.tracer.frame.parsed, arg_node,
                    hint=f"use the numpy function (np.{rule.name.split('.')[-1]}) for arrays",
                )
        if len(args) > 1 and any(self.tracer.is_array(a) for a in args):
            self.tracer.check_broadcast(node, *args)
        called = rule.library in _CALLED  # the generated code calls the callable itself
        if called and any(self.tracer.is_array(a) for a in args):
            self.tracer.check_elementwise(rule, func, args, node)
        if rule.library not in ("builtins", "user"):
            self.tracer.libraries.add("numpy" if rule.library == "scipy" else rule.library)
        if called:
            self._register_helper(rule.build, next(iter(rule.helpers.items())))
        if not any(isinstance(a, sympy.Basic) for a in args):
            try:
                return func(*args)  # concrete call, as Python would do it
            except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
                raise located(SymdiffError, f"{rule.name}{tuple(args)!r} raises {exc!r}",
                              self.tracer.frame.parsed, node, hint="as it does in Python") from None
        if not rule.exact_on_ints:
            self.tracer.int_meets_float([a for i, a in enumerate(args) if i not in rule.int_args], node,
                                  f"{rule.name} converts it to float")
        if rule.build is None:
            raise located(
                UnsupportedSyntaxError,
                f"{rule.name} of a differentiated value: it is defined on ints only",
                self.tracer.frame.parsed, node,
                hint="call it on ints known while symdiff reads the function (loop counters, "
                "int parameters that are not differentiated, constants)",
            )
        if rule.build is CopySign and not isinstance(args[1], sympy.Basic):
            args = [args[0], math.copysign(1.0, float(args[1]))]  # SymPy has no -0.0
        args = [PyFloat(a) if _negative_zero(a) else self._real(to_sympy(a)) for a in args]
        build = rule.build
        if rule.ufunc is not None:
            return self.tracer.shallow(self._ufunc(rule.name, rule.ufunc, args))
        if isinstance(build, type) and issubclass(build, sympy.Function) and all(a.is_Symbol for a in args):
            result = nodes.apply(build, *args)  # f(symbol) has nothing to simplify: skip the attempt
        else:
            result = signs.call(build, *args)  # sin(-x - 0.5): see signs.py
            if not keeps(result, args):
                # SymPy simplified through an argument (exp(log(x)) -> x, sqrt(x**2) -> |x|,
                # sin(-y) -> -sin(y)): each argument gets a name, so the call computes what
                # Python computes
                args = [self.tracer.named(a) for a in args]
                result = signs.call(build, *args)
        if rule.library in ("math", "builtins", "numpy"):
            result, calls = self._own_library(rule, build, args, result)
            if rule.library == "numpy":
                self.tracer.numpy_calls.update(calls)
            else:  # Python's semantics: round(nan) raises
                self.tracer.math_calls.update(calls)
                if isinstance(result, (Floor, Ceil, Trunc, Round)):
                    self.tracer.int_results.add(result)  # math.floor(x) & co. return an int
        return self.tracer.shallow(self.tracer.as_norm(result))

    def _own_library(self, rule, build, args, result):
        """``result``, computed by the library that was called: ``math.exp(b)`` and ``np.exp(b)``
        are one SymPy node, but the first is a Python float (``% 0.0`` raises, ``math.exp(1000)``
        raises) and the second a numpy float64 (``% 0.0`` is nan, ``np.exp(1000)`` is inf). Where
        the node is already the other library's, this call's arguments are copies (a node of its
        own, printed with its own library). Returns ``(result, the calls it consists of)``."""
        calls = _calls_in(result, args)
        other = self.tracer.numpy_calls if rule.library != "numpy" else self.tracer.math_calls
        if not other or not any(node in other for node in calls):
            return result, calls
        copies = [sympy.Mul(PyFloat(1.0), self.tracer.named(a)) if a.free_symbols else a
                  for a in args]
        result = signs.call(build, *copies)
        return result, _calls_in(result, copies)

    def _register_helper(self, cls, helper, depth=0):
        """A registered function the generated code calls: ``cls`` (its SymPy class) and the
        registered functions its derivative rules call (``gammaln``'s is ``digamma``), to the
        depth of a third derivative — each a callable of the generated code's namespace."""
        if cls in self.tracer.registered:
            return
        self.tracer.registered[cls] = helper
        if depth >= 3 or getattr(cls, "_derivatives", None) is None or cls in _READING_RULES:
            return  # (a rule that calls its own function is being read: it is registered)
        by_class = {r.function_class: r for r in registry.records() if r.library in _CALLED}
        _READING_RULES.add(cls)
        try:
            templates = [cls._derivative_template(index)[0] for index in range(cls._arity)]
        finally:
            _READING_RULES.discard(cls)
        for template in templates:
            for atom in template.atoms(sympy.Function):
                record = by_class.get(type(atom))
                if record is not None:
                    self._register_helper(type(atom), next(iter(record.helpers.items())), depth + 1)

    def _ufunc(self, name, operation, args):
        """``np.divide(a, b)`` & co.: the operation as Python's operators would do it (faithful:
        ``np.divide(x, 0.1)`` divides), printed as the ufunc (``numpy_ufuncs``), so that Python
        floats get numpy's arithmetic (``np.reciprocal(0.0)`` is inf, ``1 / 0.0`` raises)."""
        op, *fixed = operation
        operands = [*fixed, *args]  # the record's fixed first operands (np.reciprocal: 1 / x)
        if name == "np.square":
            operands = [args[0], args[0]]
        if op in (PyMod, FloorDiv):  # Python's % and // on floats are numpy's too (but not at 0)
            result = op(*args)
        elif name == "np.negative":
            result = -args[0]
        elif name == "np.positive":
            return args[0]
        else:
            result = arithmetic(op, *operands, self.tracer.named, self.tracer.copied)
        if isinstance(result, sympy.Expr) and not result.is_Atom:
            self.tracer.numpy_ufuncs[result] = name.split(".", 1)[1]
        return result

    def _real(self, arg):
        """``arg``, named by a real symbol when SymPy cannot prove it real (``acos(u)``,
        ``sqrt(u)``, ``u**0.5``): every value of a scalar program is real (or the program raises
        or gives nan), and a function of a real symbol differentiates without ``re``/``im``
        (``d|acos(u)|`` would otherwise be ``(re(acos(u))*d re(...) + im(...)*...)/|acos(u)|``)."""
        if arg.is_Atom or not isinstance(arg, sympy.Expr) or arg.is_extended_real:
            return arg
        hint = type(arg).__name__.lower() if isinstance(arg, sympy.Function) else "value"
        return self.tracer.atom(arg, hint if hint.isidentifier() else "value")

    def _call_python(self, func, args, kwargs, node):
        if getattr(func, "__module__", "").startswith(("numpy", "scipy", "sympy")):
            raise self.tracer.unknown_function(node, func, _describe(node.func))
        try:
            parsed = self.parsed_helpers.get(func)
            if parsed is None:  # read once per trace (a recursion calls it thousands of times)
                parsed = self.parsed_helpers[func] = parse_function(func)
        except SymdiffError as exc:
            raise located(
                UnknownFunctionError,
                f"cannot differentiate through {func.__qualname__}: {exc.message}",
                self.tracer.frame.parsed, node,
                hint=exc.hint or "register a derivative with symdiff.register(...)",
            ) from None
        frame = frame_for(parsed, func, parent=None, depth=self.tracer.frame.depth + 1)
        self.scope.guard_function(func)
        defaults = (tuple(func.__defaults__ or ()), dict(func.__kwdefaults__ or {}))
        return self._inline(parsed.node, parsed, func, frame, args, kwargs, node, func.__qualname__,
                            defaults)

    def _inline(self, fnode, parsed, func, parent_frame, args, kwargs, node, name, defaults):
        """Run a helper's body with these arguments; its statements join the program.

        ``defaults``: (positional default values, {keyword-only name: value}), as evaluated
        when the function was defined."""
        depth = self.tracer.frame.depth + 1
        if depth > self.max_depth:
            self.max_depth = depth
            self.deepest = (self.tracer.frame.parsed, node, name, depth)
        if depth > MAX_INLINE_DEPTH or (depth > MAX_DATA_RECURSION and self._forks_grow()):
            raise self._too_deep(args, kwargs, node, name)
        key = func if func is not None else fnode
        if self.control.deferrable_forks and key in self.inlining:  # see ``_trace``
            raise ConditionOnUndifferentiated(sorted(s.name for s in self.tracer.deferrable_symbols))
        if func is not None:
            frame = parent_frame
            frame.depth = depth
        else:
            frame = local_frame(parsed, fnode, parent_frame, depth)
        frame.env = self._bind_call(fnode, frame, args, kwargs, node, name, defaults)
        saved_frame, saved_current = self.tracer.frame, self.tracer.current
        self.tracer.frame = frame
        self.callers.append(saved_frame)  # (an array changed in place may be the caller's: see
        self.fork_trail.append(self.control.open_forks)  # ArrayValues.holders)
        self.inlining.append(key)
        try:
            if isinstance(fnode, ast.Lambda):
                return self.tracer.eval(fnode.body)
            result = self.tracer.exec_block(fnode.body, cont=[])
            if not isinstance(result, _Return):
                raise self.tracer.no_return(fnode)
            return result.value
        finally:
            self.fork_trail.pop()
            self.inlining.pop()
            self.callers.pop()
            self.tracer.frame, self.tracer.current = saved_frame, saved_current

    def _forks_grow(self):
        """Whether the calls being inlined opened branches on data as they nested (the second
        half of them did: a recursion that stops on data runs on in the arm that recurses)."""
        trail = self.fork_trail
        return bool(trail) and self.control.open_forks > trail[len(trail) // 2] > trail[0]

    def _too_deep(self, args, kwargs, node, name):
        """The error for calls nested past ``MAX_INLINE_DEPTH``, saying why they nest so deep.

        A recursion that stops on a differentiated value never stops while traced (both arms of
        its 'if' run): each call opens one more branch on data. A recursion that opens none has
        a depth known while tracing; past the limit it is refused for its depth alone.
        """
        used = set().union(*[a.free_symbols for a in [*args, *kwargs.values()]
                             if isinstance(a, sympy.Basic)])
        if used & self.tracer.deferrable_symbols:  # driven by an int parameter: trace at the call
            raise NeedsConcrete(sorted(s.name for s in used & self.tracer.deferrable_symbols))
        if self._forks_grow():
            return located(
                SymdiffError,
                f"calls nest more than {MAX_DATA_RECURSION} deep (in {name}), each inside one "
                "more branch on a differentiated value: recursion whose depth depends on a "
                "differentiated value cannot be unrolled (both arms of each 'if' are traced)",
                self.tracer.frame.parsed, node,
                hint="make the recursion depth depend on an int parameter, or write a loop (a "
                f"recursion that stops on an int within {MAX_DATA_RECURSION} calls is unrolled)",
            )
        return located(
            NestingError,
            f"calls nest more than {MAX_INLINE_DEPTH} deep (in {name}): symdiff inlines at most "
            f"{MAX_INLINE_DEPTH} nested calls (this depth is known while tracing; it does not "
            "depend on a differentiated value)",
            self.tracer.frame.parsed, node,
            hint=f"keep the recursion depth at most {MAX_INLINE_DEPTH}, or write it as a loop "
            "(loops have no such limit)",
        )

    def _bind_call(self, fnode, frame, args, kwargs, node, name, defaults):
        spec = fnode.args
        if spec.vararg or spec.kwarg:
            raise located(UnsupportedSyntaxError, f"{name} takes *args or **kwargs",
                          frame.parsed, fnode, hint="give the helper named parameters")
        positional = [*spec.posonlyargs, *spec.args]
        env = {}
        if len(args) > len(positional):
            raise located(SymdiffError, f"{name} takes {len(positional)} positional argument(s), "
                          f"got {len(args)}", self.tracer.frame.parsed, node, hint="check the call")
        for arg, value in zip(positional, args):
            env[arg.arg] = value
        for key, value in kwargs.items():
            if key in env or key not in {a.arg for a in [*positional, *spec.kwonlyargs]}:
                raise located(SymdiffError, f"{name} got an unexpected or repeated argument {key!r}",
                              self.tracer.frame.parsed, node, hint="check the call")
            env[key] = value
        positional_defaults, kw_defaults = defaults
        first = len(positional) - len(positional_defaults)
        for arg, default in zip(positional[first:], positional_defaults):
            if arg.arg not in env:
                env[arg.arg] = default
        for key, default in kw_defaults.items():
            if key not in env:
                env[key] = default
        missing = [a.arg for a in [*positional, *spec.kwonlyargs] if a.arg not in env]
        if missing:
            raise located(SymdiffError, f"{name} is missing argument(s) {', '.join(missing)}",
                          self.tracer.frame.parsed, node, hint="check the call")
        return env


_CALLED = ("user", "scipy")  # records whose calls the generated code makes to the callable itself
_READING_RULES = set()  # registered classes whose derivative rules are being read (traced)


def _negative_zero(value):
    """A float -0.0 (SymPy has no -0.0: as an argument it is a ``PyFloat``, which keeps it)."""
    return isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0


def _calls_in(result, args):
    """The function applications (and powers) a call's ``result`` consists of above its ``args``."""
    found, stack = [], [result]
    while stack:
        node = stack.pop()
        if node.is_Atom or node in args:
            continue
        if isinstance(node, sympy.Function) or node.is_Pow:
            found.append(node)
        stack.extend(node.args)
    return found


def _describe(node):
    return ast.unparse(node)
