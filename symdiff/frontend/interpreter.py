"""interpreter: a parsed function -> an SSA ``Program``, one SymPy expression per statement.

Takes: a ``ParsedFunction`` and the concrete values of the parameters that are specialised on
(non-differentiated ints and bools). Returns: a ``Program`` (see ``symdiff.ir``). The body is
*executed*: concrete Python (numbers, loop counters, ``len``, modules, helper functions) runs as
Python would; symbolic values (the parameters and what is computed from them) flow through as SymPy
expressions, one fresh real symbol per assignment. A condition on a symbolic value becomes a
``Branch``; loops with concrete trip counts unroll; helper functions are read and inlined.
Anything not understood raises a located ``SymdiffError``.

The ``Tracer`` is this module (statements, expressions, calls, names) plus two parts of its own:
``control.ControlFlow`` (``if``/``for``/``while``, joins, partial returns) and
``array_values.ArrayValues`` (arrays, and the lists the function builds); ``signals`` holds what
passes between them. A call, a list or array method, is looked up in the registry of primitives
(``primitives/registry.py``: ``lookup``, ``method``) and dispatched on its record's kind.
"""

import ast
import builtins
import linecache
import math
import numbers
import operator
import sys
import types
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..primitives import scalar as functions

from ..primitives import nodes

from ..primitives import numpy_calls
from ..primitives import registry

from ..primitives import signs

from ..runtime import stack
from ..errors import (NestingError, ShapeError, SymdiffError, UnknownFunctionError,
                     UnsupportedSyntaxError)
from ..primitives.nodes import real_symbol
from ..naming import Namer, names_in
from .parse import _FORBIDDEN, _HINTS, located, parse_function
from ..primitives.faithful import ADD, DIV, MUL, POW, SUB, FloorDiv, PyMod, arithmetic, keeps
from .signatures import rule_arguments
from ..primitives.sympy_functions import CopySign
from ..primitives import builtin_calls  # noqa: F401  (its records: range, len, list methods, ...)
from ..ir import External, Guard, Param, Program, Statement
from .values import describe_value as _describe_value
from .values import is_number, is_symbolic, to_sympy
from .array_values import ArrayValues, _concrete_method, _Method
from .control import ControlFlow
from .signals import _UNBOUND_MISSING, _MaybeBreak, _MaybeReturn, _Return, _same, _truth, _Unbound

class NeedsConcrete(Exception):
    """A loop count or index depends on a parameter that is not differentiated: trace at the call,
    when its value is known (an int argument is then specialised on)."""


class ConditionOnUndifferentiated(NeedsConcrete):
    """An ``if`` on parameters that are not differentiated only (``args[0]``: their names).

    At the call an int there is specialised on (the condition is then known); a float is data
    like any other, so the all-floats trace made before any call takes the ``if`` as a branch
    where it can (see ``_trace``)."""


MAX_DATA_RECURSION = 1500  # nested calls, each inside one more branch on data (see ``_too_deep``)
MAX_INLINE_DEPTH = 5000  # nested helper calls (recursion), each ~12-15 levels of the tracer's
# recursion: within ``stack.RECURSION_LIMIT`` (deeper input is a located ``NestingError``)
MAX_EXPRESSION_DEPTH = 24  # deeper expressions are split into statements (SymPy recurses on depth)


@dataclass
class LocalFunction:
    """A ``def`` or ``lambda`` inside the traced function: its AST and the frame it closes over."""

    node: ast.AST
    frame: object
    name: str
    defaults: tuple = ()  # values of the positional defaults, evaluated at the definition
    kw_defaults: dict = field(default_factory=dict)  # keyword-only defaults, likewise


@dataclass
class Frame:
    """One function being executed: its parsed source, its locals and where its globals live."""

    parsed: object
    env: dict
    local_names: set
    fun: object  # the Python function (for globals and closure cells), or None for a LocalFunction
    parent: object = None  # the enclosing Frame of a LocalFunction
    depth: int = 0
    closure: dict = field(default_factory=dict)

    @property
    def filename(self):
        return self.parsed.filename


# Modules whose attributes are the library symdiff knows (primitives/registry.py), not a user's values.
_LIBRARY_MODULES = frozenset({"math", "cmath", "numpy", "scipy", "sympy", "builtins", "operator"})

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod, ast.MatMult: operator.matmul,
}
_ARITHMETIC = {ast.Add: ADD, ast.Sub: SUB, ast.Mult: MUL, ast.Div: DIV, ast.Pow: POW}
_OP_SYMBOLS = {
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
    ast.BitAnd: "&",
}
_COMPARE = {
    ast.Lt: (operator.lt, sympy.Lt), ast.LtE: (operator.le, sympy.Le),
    ast.Gt: (operator.gt, sympy.Gt), ast.GtE: (operator.ge, sympy.Ge),
    ast.Eq: (operator.eq, sympy.Eq), ast.NotEq: (operator.ne, sympy.Ne),
}


class Tracer(ControlFlow, ArrayValues):
    """Executes a function body over SymPy values; collects SSA statements and branches."""

    def __init__(self, parsed, concrete=None, deferrable=(), kinds=None, vector_output=False):
        self.vector_output = vector_output  # a tuple/list/array may be returned (for jacobian)
        self.kinds = dict(kinds or {})  # parameter -> ("array", shape) or ("sequence", length)
        self.guessing = kinds is None  # argument kinds unknown yet: parameters assumed numbers
        self.shapes = {}  # symbol -> shape of the array it stands for (absent: a scalar)
        self.shape_memo = {}  # expression -> its shape (see arrays.shape_of)
        self.own_lists = {}  # id -> (list, arm): the lists the function builds (see ``own``)
        self.arm = None  # the arm of an 'if' on data being traced (None: not inside one)
        self.path = frozenset()  # (condition, taken) of each 'if' on data whose arm is being traced
        self.flags = set()  # the returned-flags of joins after partial returns
        self.argument_sequences = set()  # ids of the tuples that list/tuple parameters are read as
        self.constants = {}  # symbol -> a concrete numpy array the code uses
        self.op_memo = {}  # structural operation -> the symbol holding its result (this scope)
        self.depths = {}  # expression -> its depth (see ``shallow``)
        self.max_depth, self.deepest = 0, None  # the deepest call inlined: (parsed, node, name, depth)
        self.parsed_helpers = {}  # helper function -> its ParsedFunction, for this trace
        self.open_forks = 0  # branches on data being traced (arms running), see ``_too_deep``
        self.fork_trail = []  # ``open_forks`` when each call being inlined began, outermost first
        self.parsed = parsed
        self.fun = parsed.fun
        self.concrete = dict(concrete or {})
        self.deferrable = set(deferrable)
        self.deferrable_symbols = set()
        # an 'if' on deferrable parameters only is a branch (see ``_trace``), except that a
        # recursive call inside one gives up (recursion on an int count forks at every level)
        self.branch_on_deferrable = False
        self.deferrable_forks = 0  # such branches whose arms are being traced
        self.inlining = [parsed.fun]  # the functions being run, outermost first (recursion)
        node = parsed.node
        self.namer = Namer(names_in(node) | set(self.fun.__code__.co_names))
        self.externals = {}
        self.guards = {}
        self.libraries = set()
        self.math_calls = set()  # see Program.math_calls
        self.numpy_ufuncs = {}  # see Program.numpy_ufuncs
        self.number_structural = []  # see Program.number_structural
        self.registered = {}  # registered function's SymPy class -> (its label, the callable)
        self.block = []
        self.current = node  # the statement being executed, for error locations
        self.frame = self._frame_for(parsed, self.fun, parent=None, depth=0)

    @staticmethod
    def _frame_for(parsed, fun, parent, depth):
        code = fun.__code__
        closure = {}
        if fun.__closure__:
            closure = dict(zip(code.co_freevars, fun.__closure__))
        local_names = set(code.co_varnames) | set(code.co_cellvars)
        return Frame(parsed, {}, local_names, fun, parent, depth, closure)

    # ---- driver ----
    def run(self):
        node = self.parsed.node
        params = self._bind_params(node.args)
        if isinstance(node, ast.Lambda):
            self.current = node
            result = _Return(self.eval(node.body), node)
        else:
            result = self.exec_block(node.body, cont=[])
            if not isinstance(result, _Return):
                raise self._no_return(node)
        output = self._check_output(result.value, result.node)
        output_symbol = self._name_output(output, result.node)
        return Program(
            name=self.fun.__name__,
            filename=self.parsed.filename,
            firstlineno=node.lineno,
            params=params,
            body=self.block,
            output=output_symbol,
            output_lineno=result.node.lineno,
            externals=list(self.externals.values()),
            concrete=self.concrete,
            shapes=self.shapes,
            constants=self.constants,
            guards=list(self.guards.values()),
            libraries=self.libraries,
            **self._callables(),
            namer=self.namer,
            local_names=self.frame.local_names,
            flags=self.flags,
            math_calls=self.math_calls,
            numpy_ufuncs=self.numpy_ufuncs,
            number_structural=self.number_structural,
        )

    def _callables(self):
        """``helpers`` (name -> callable) and ``callable_names`` (SymPy class -> name) of the
        registered functions the program calls: each its own name, never another's or a user's
        variable's (two functions both named ``act`` are ``act`` and ``act_1``)."""
        helpers, names = {}, {}
        for cls, (label, func) in self.registered.items():
            name = self.namer.callable_name(label)
            helpers[name] = func
            names[cls] = name
        return {"helpers": helpers, "callable_names": names}

    def _bind_params(self, args):
        params = []
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            symbol = real_symbol(self.namer.version(arg.arg))
            kind = self.kinds.get(arg.arg)
            elements = None
            if arg.arg in self.concrete:
                self.frame.env[arg.arg] = self.concrete[arg.arg]
            elif kind and kind[0] == "sequence":
                elements = tuple(real_symbol(self.namer.fresh(f"{arg.arg}_{i}"))
                                 for i in range(kind[1]))
                self.frame.env[arg.arg] = elements
                self.argument_sequences.add(id(elements))
            else:
                if kind and kind[0] == "array":
                    self.shapes[symbol] = tuple(kind[1])
                self.frame.env[arg.arg] = symbol
                if arg.arg in self.deferrable:
                    self.deferrable_symbols.add(symbol)
            params.append(Param(arg.arg, symbol, elements))
        return params

    def _no_return(self, node):
        name = getattr(node, "name", "<lambda>")
        return located(
            SymdiffError,
            f"{name!r} reaches its end without 'return': it returns None",
            self.frame.parsed, node,
            hint="return the number to differentiate on every path",
        )

    def _check_output(self, value, node):
        if self.vector_output and isinstance(value, np.ndarray):
            value = self.constant(value)
        if self.vector_output and isinstance(value, (tuple, list)):
            if not value:
                raise located(ShapeError, f"{self.fun.__name__!r} returns an empty {type(value).__name__}",
                              self.parsed, node, hint="return at least one number")
            self.current = node
            value = self._flat_outputs(value, node) or registry.lookup(np.array).handler(self, node, [list(value)], {})
            if isinstance(value, np.ndarray):
                value = self.constant(value)
        if isinstance(value, (tuple, list)):
            raise located(
                ShapeError,
                f"{self.fun.__name__!r} returns a {type(value).__name__} of {len(value)} values; "
                "grad needs a single number",
                self.parsed, node,
                hint="use symdiff.jacobian(f) for a function with several outputs, or return "
                "one number (for example their sum)",
            )
        if not is_number(value):
            raise located(
                ShapeError,
                f"{self.fun.__name__!r} returns {_describe_value(value)}, not a number",
                self.parsed, node,
                hint="return the number to differentiate",
            )
        value = to_sympy(value)
        if value.has(sympy.I, sympy.zoo, sympy.nan):
            raise located(
                SymdiffError,
                f"the returned value {value} is not a finite real number",
                self.parsed, node,
                hint="symdiff differentiates functions with finite real values",
            )
        return value

    def _flat_outputs(self, parts, node):
        """Outputs of different shapes (``(A @ x, np.sum(x))``) as one flat vector: each part
        flattened, in order (rows of the Jacobian). None when the parts stack as numpy would."""
        if any(isinstance(p, (tuple, list)) for p in parts):
            return None
        if len({self.shape(p) for p in parts}) < 2:
            return None
        flat = []
        for part in parts:
            part = self.as_array(part, node)
            shape = self.shape(part)
            if not shape:
                part = registry.lookup(np.stack).handler(self, node, [[part]], {})
            elif len(shape) > 1:
                part = registry.lookup(np.reshape).handler(self, node, [part, -1], {})
            flat.append(part)
        return registry.lookup(np.concatenate).handler(self, node, [flat], {})

    def _name_output(self, value, node):
        if value.is_Atom:
            return value
        target = real_symbol(self._result_name())
        self.emit(target, value, node)
        return target

    def _result_name(self):
        """A name for a function's result: the function's own name where it is free."""
        fun = self.frame.fun
        name = fun.__name__ if fun is not None and fun.__name__.isidentifier() else "result"
        return self.namer.fresh(name) if name in self.frame.local_names else self.namer.version(name)

    def emit(self, target, expr, node):
        shape = self.shape(expr)
        if shape:
            self.shapes[target] = shape
        self.block.append(Statement(target, expr, node.lineno, self._source_line(node.lineno),
                                    self._filename_tag()))

    def _filename_tag(self):
        filename = self.frame.filename
        return None if filename == self.parsed.filename else filename

    # ---- blocks ----
    def exec_block(self, stmts, cont):
        """Run ``stmts``; returns None, or a ``_Return``/``BREAK``/``CONTINUE`` signal.

        ``cont`` is what follows this block up to the end of the function (a list of statements),
        or None inside a loop body, where it cannot be written down.
        """
        for i, stmt in enumerate(stmts):
            self.current = stmt
            if isinstance(stmt, ast.If):
                signal = self.exec_If(stmt, stmts[i + 1:], cont)
            else:
                signal = self.exec_stmt(stmt)
            if isinstance(signal, _MaybeReturn) and not signal.done:
                return self._unless_returned(signal, [*stmts[i + 1:], *cont])
            if isinstance(signal, _MaybeBreak) and not signal.done:
                return self._unless_broken(signal, [*stmts[i + 1:], *cont])
            if signal is not None:
                return signal
        return None

    def exec_stmt(self, stmt):
        handler = getattr(self, "exec_" + type(stmt).__name__, None)
        if handler is None:
            raise self.unsupported(stmt)
        return handler(stmt)

    # ---- simple statements ----
    def exec_Assign(self, stmt):
        value = self.eval(stmt.value)
        for target in stmt.targets:
            value = self.assign(target, value)

    def exec_AnnAssign(self, stmt):
        if stmt.value is not None:
            self.assign(stmt.target, self.eval(stmt.value))

    def exec_AugAssign(self, stmt):
        if isinstance(stmt.target, ast.Subscript):  # v[k] += value: base and index evaluated once
            base, index = self.eval(stmt.target.value), self.eval(stmt.target.slice)
            if not isinstance(base, list):
                self.set_item(base, index, None, stmt.target)  # the error for what base is
            current = self._list_item(base, index, stmt.target)
            self.set_item(base, index, self.binop(stmt.op, current, self.eval(stmt.value), stmt),
                          stmt.target)
            return
        if not isinstance(stmt.target, ast.Name):
            raise self.unsupported(stmt.target, f"augmented assignment to {_describe(stmt.target)}",
                                   hint="assign to a local variable name")
        current = self.lookup(stmt.target.id, stmt.target)
        operand = self.eval(stmt.value)
        value = self.binop(stmt.op, current, operand, stmt)
        if not isinstance(stmt.op, ast.MatMult):
            value = self.keep_shape(value, current, operand)
        self.assign(stmt.target, value)

    def exec_Return(self, stmt):
        if stmt.value is None:
            raise located(
                SymdiffError, "'return' without a value returns None", self.frame.parsed, stmt,
                hint="return the number to differentiate",
            )
        return _Return(self.eval(stmt.value), stmt)

    def exec_Expr(self, stmt):
        if isinstance(stmt.value, ast.Constant):  # docstrings, '...'
            return None
        call = stmt.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and registry.method("list", call.func.attr):  # v.append(item): run for its effect
            base = self.eval(call.func.value)
            if isinstance(base, list):
                self.call(_Method(base, registry.method("list", call.func.attr).handler), call)
                return None
            if id(base) in self.argument_sequences:
                self._changing_an_argument(call)
            self.check_guess(base)  # a parameter assumed a number before the first call
        raise located(
            UnsupportedSyntaxError,
            "an expression statement (its value is discarded; a call made only for its side "
            "effects) is not supported",
            self.frame.parsed, stmt.value,
            hint="remove it (a print() for debugging belongs outside the differentiated "
            "function), or assign its value to a variable that is used",
        )

    def exec_Pass(self, stmt):
        return None

    def exec_FunctionDef(self, stmt):
        if stmt.decorator_list:
            raise self.unsupported(stmt.decorator_list[0], "a decorated nested function",
                                   hint="define the helper without decorators")
        self.frame.env[stmt.name] = self._local_function(stmt, stmt.name)

    def _local_function(self, node, name):
        """A nested ``def``/``lambda``: its defaults are evaluated now, as Python does."""
        spec = node.args
        defaults = tuple(self.eval(d) for d in spec.defaults)
        kw_defaults = {a.arg: self.eval(d) for a, d in zip(spec.kwonlyargs, spec.kw_defaults)
                       if d is not None}
        return LocalFunction(node, self.frame, name, defaults, kw_defaults)

    def exec_Assert(self, stmt):
        test = self.condition(stmt.test)
        truth = _truth(test)
        if truth is None:
            raise located(
                UnsupportedSyntaxError, "an 'assert' on a differentiated value",
                self.frame.parsed, stmt, hint="check the arguments before calling the gradient",
            )
        if not truth:
            raise located(SymdiffError, "this assertion fails for these arguments",
                          self.frame.parsed, stmt, hint="check the arguments")

    def exec_Raise(self, stmt):
        raise located(
            SymdiffError, "the function raises an exception for these arguments",
            self.frame.parsed, stmt, hint="call the gradient where the function is defined",
        )

    def assign(self, target, value):
        """Bind ``target`` (a name or a tuple/list of targets) to ``value``; returns the bound value."""
        if isinstance(target, ast.Name):
            if isinstance(value, sympy.Expr) and not value.is_Atom:
                symbol = real_symbol(self.namer.version(target.id))
                self.emit(symbol, value, self.current)
                value = symbol
            elif isinstance(value, sympy.Basic) and not isinstance(value, sympy.Expr):
                raise located(
                    UnsupportedSyntaxError,
                    "storing a condition on a differentiated value in a variable",
                    self.frame.parsed, target,
                    hint="use the comparison directly in the 'if' or conditional expression",
                )
            self.frame.env[target.id] = value
            return value
        if isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(elt, ast.Starred) for elt in target.elts):
                raise self.unsupported(target, "starred assignment", hint="unpack each value by name")
            if isinstance(value, (zip, enumerate, map, range)):
                value = tuple(value)
            elif isinstance(value, np.ndarray) or self.is_array(value):
                value = tuple(self._iterate(value, target))  # a, b = x: its rows, as in Python
            if not isinstance(value, (tuple, list)):
                self.check_guess(value)  # a list parameter assumed a number before the call
                raise located(
                    ShapeError,
                    f"cannot unpack {_describe_value(value)} into {len(target.elts)} names",
                    self.frame.parsed, target, hint="unpack a tuple or list of the same length",
                )
            if len(value) != len(target.elts):
                raise located(
                    ShapeError,
                    f"cannot unpack {len(value)} values into {len(target.elts)} names",
                    self.frame.parsed, target, hint="unpack a tuple or list of the same length",
                )
            return type(value)(self.assign(t, v) for t, v in zip(target.elts, value))
        if isinstance(target, ast.Subscript):
            self.set_item(self.eval(target.value), self.eval(target.slice), value, target)
            return value
        raise self.unsupported(target, f"assignment to {_describe(target)}",
                               hint="assign to a local variable name")

    # ---- expressions ----
    def eval(self, node):
        handler = getattr(self, "eval_" + type(node).__name__, None)
        if handler is None:
            raise self.unsupported(node)
        return handler(node)

    def eval_Constant(self, node):
        value = node.value
        if isinstance(value, complex):
            raise self.unsupported(node, "a complex number", hint="symdiff differentiates real functions")
        return value

    def eval_Name(self, node):
        return self.lookup(node.id, node)

    def eval_Tuple(self, node):
        return tuple(self._elements(node.elts))

    def shallow(self, value):
        """``value``, with a statement of its own when its expression is nested deeply.

        Keeps every SymPy expression shallow however deep the user's nesting (helpers calling
        helpers, long operator chains): SymPy's recursive algorithms never meet a deep tree.
        """
        if not isinstance(value, sympy.Expr) or value.is_Atom:
            return value
        if self._depth(value) <= MAX_EXPRESSION_DEPTH:
            return value
        return self.atom(value, "nested")

    def _depth(self, expr):
        found = self.depths.get(expr)
        if found is None:
            found = 0 if expr.is_Atom else 1 + max((self._depth(a) for a in expr.args), default=0)
            self.depths[expr] = found
        return found

    def eval_List(self, node):
        return self.own(list(self._elements(node.elts)))

    def _elements(self, elts):
        out = []  # a list, not a generator: nested calls must not stack generator frames in C
        for elt in elts:
            if isinstance(elt, ast.Starred):
                out.extend(self._iterate(self.eval(elt.value), elt))
            else:
                out.append(self.eval(elt))
        return out

    def eval_UnaryOp(self, node):
        operand = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            truth = _truth(self._as_condition(operand, node.operand))
            if truth is None:
                return sympy.Not(self._as_condition(operand, node.operand))
            return not truth
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self.require_number(operand, node.operand)
            return -operand if isinstance(node.op, ast.USub) else +operand
        raise self.unsupported(node, "the operator '~'")

    def eval_BinOp(self, node):
        left = self.eval(node.left)
        right = self.eval(node.right)
        result = self.binop(node.op, left, right, node)
        return result if isinstance(node.op, ast.MatMult) else self.keep_shape(result, left, right)

    def binop(self, op, left, right, node):
        func = _BINOPS.get(type(op))
        if func is None:
            symbol = _OP_SYMBOLS.get(type(op), type(op).__name__)
            raise self.unsupported(node, f"the operator {symbol!r}",
                                   hint="symdiff differentiates + - * / ** // %")
        if isinstance(op, ast.Add) and isinstance(left, (tuple, list)) and type(left) is type(right):
            return self.own(left + right) if isinstance(left, list) else left + right
        if isinstance(op, ast.Mult) and _repeats(left, right):
            result = left * right if isinstance(left, (tuple, list)) else right * left
            return self.own(result) if isinstance(result, list) else result
        if isinstance(op, ast.MatMult):
            return self.matmul(left, right, node, scalars=False)
        if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            if not isinstance(left, sympy.Basic) and not isinstance(right, sympy.Basic):
                return func(left, right)
            left = self.constant(left) if isinstance(left, np.ndarray) else left
            right = self.constant(right) if isinstance(right, np.ndarray) else right
        self.require_number(left, node)
        self.require_number(right, node)
        if not isinstance(left, sympy.Basic) and not isinstance(right, sympy.Basic):
            try:
                return func(left, right)  # concrete Python arithmetic, as Python would do it
            except ZeroDivisionError:
                raise located(SymdiffError, "division by zero", self.frame.parsed, node,
                              hint="the divisor is 0 for these arguments") from None
            except OverflowError as exc:
                raise located(SymdiffError, f"this arithmetic raises OverflowError({str(exc)!r}) "
                              "in Python", self.frame.parsed, node,
                              hint="keep the numbers within float range (about 1.8e308)") from None
        if not isinstance(op, ast.MatMult):
            self._int_meets_float((left, right), node)
        left, right = to_sympy(left), to_sympy(right)
        if self.is_array(left) or self.is_array(right):
            self.check_broadcast(node, left, right)
        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
            raise located(SymdiffError, "division by zero", self.frame.parsed, node,
                          hint="the divisor is the constant 0; check the formula")
        if isinstance(op, ast.FloorDiv):
            return self.shallow(FloorDiv(left, right))
        if isinstance(op, ast.Mod):
            return self.shallow(PyMod(left, right))
        result = arithmetic(_ARITHMETIC[type(op)], left, right, self.named, self.copied)
        if isinstance(op, ast.Pow) and isinstance(result, sympy.Pow):
            self.numpy_ufuncs[result] = "**"  # printed as Python's ** (see _Printing._python_pow)
        return self.shallow(result)

    def named(self, value):
        """``value`` as a symbol: a statement of its own (so SymPy sees an atom)."""
        return self.atom(value, "_v")

    def copied(self, symbol):
        """A fresh symbol equal to ``symbol`` (``x - x`` computed as Python computes it)."""
        target = real_symbol(self.namer.fresh("_v"))
        self.emit(target, symbol, self.current)
        return target

    def eval_BoolOp(self, node):
        is_and = isinstance(node.op, ast.And)
        symbolic = []
        for value_node in node.values:
            value = self.eval(value_node)
            condition = self._as_condition(value, value_node)
            truth = _truth(condition)
            if truth is None:
                symbolic.append(condition)
                continue
            if truth != is_and:  # short-circuit: a concrete False in 'and', True in 'or'
                if not symbolic:
                    return value
                return sympy.false if is_and else sympy.true
            if not symbolic and value_node is node.values[-1]:
                return value
        if not symbolic:
            return is_and
        return sympy.And(*symbolic) if is_and else sympy.Or(*symbolic)

    def eval_Compare(self, node):
        left = self.eval(node.left)
        parts = []
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            if type(op) not in _COMPARE:
                if isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) and not is_symbolic(left) \
                        and not is_symbolic(right):
                    result = {ast.Is: operator.is_, ast.IsNot: operator.is_not,
                              ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}[type(op)](left, right)
                    parts.append(result)
                    left = right
                    continue
                if isinstance(op, (ast.Is, ast.IsNot)) and (not is_number(left) or not is_number(right)):
                    # A number is never None (or any other non-number object): concrete.
                    parts.append(isinstance(op, ast.IsNot))
                    left = right
                    continue
                raise self.unsupported(node, f"the comparison {type(op).__name__!r} on a differentiated value",
                                       hint="compare numbers with < <= > >= == !=")
            concrete_op, symbolic_op = _COMPARE[type(op)]
            if isinstance(left, sympy.Basic) or isinstance(right, sympy.Basic):
                self.require_number(left, node)
                self.require_number(right, node)
                parts.append(symbolic_op(to_sympy(left), to_sympy(right)))
            else:
                parts.append(concrete_op(left, right))
            left = right
        if len(parts) == 1:
            return parts[0]
        truths = [_truth(p) for p in parts]
        if False in truths:
            return False
        symbolic = [p for p, t in zip(parts, truths) if t is None]
        return sympy.And(*symbolic) if symbolic else True

    def eval_IfExp(self, node):
        test = self.condition(node.test)
        truth = _truth(test)
        if truth is not None:
            return self.eval(node.body if truth else node.orelse)
        a, b = self.eval(node.body), self.eval(node.orelse)
        if isinstance(a, (tuple, list)) and type(a) is type(b) and len(a) == len(b):
            # (p, q) if c else (r, s): one conditional expression per element
            for x, y in zip(a, b):
                self.require_number(x, node.body)
                self.require_number(y, node.orelse)
            return type(a)(x if type(x) is type(y) and _same(x, y)
                           else sympy.Piecewise((to_sympy(x), test), (to_sympy(y), True))
                           for x, y in zip(a, b))
        self.require_number(a, node.body)
        self.require_number(b, node.orelse)
        return sympy.Piecewise((to_sympy(a), test), (to_sympy(b), True))

    def condition(self, node):
        return self._as_condition(self.eval(node), node)

    def _as_condition(self, value, node):
        if isinstance(value, sympy.Basic) and not isinstance(value, sympy.Expr):
            return value  # a relational or boolean
        if isinstance(value, sympy.Expr) and value.free_symbols:
            return sympy.Ne(value, 0)  # 'if x:' on a number means x != 0
        if isinstance(value, sympy.Expr):
            return bool(value != 0)
        return value

    def eval_Attribute(self, node):
        base = self.eval(node.value)
        if isinstance(base, types.ModuleType):
            module = base.__name__
            constant = functions.CONSTANTS.get((module, node.attr))
            if constant is not None:
                return constant
            if not hasattr(base, node.attr):
                raise located(
                    SymdiffError, f"module {module!r} has no attribute {node.attr!r}",
                    self.frame.parsed, node, hint="check the spelling of the function or constant",
                )
            value = getattr(base, node.attr)
            if module.partition(".")[0] not in _LIBRARY_MODULES and node.attr in vars(base):
                # A user's module: its numbers are read when the gradient runs, its functions
                # guarded, as for the function's own globals.
                return self._external(node.attr, value, vars(base))
            return value
        if self.is_array(base):
            return self.array_attribute(base, node)
        list_method = registry.method("list", node.attr)
        if isinstance(base, list) and list_method:
            return _Method(base, list_method.handler)
        if id(base) in self.argument_sequences and list_method:
            self._changing_an_argument(node)
        self.check_guess(base)
        if isinstance(base, np.ndarray) and node.attr in ("shape", "size", "ndim", "T"):
            return getattr(base, node.attr)
        array_method = registry.method("array", node.attr)
        if isinstance(base, np.ndarray) and array_method:
            return _Method(base, _concrete_method(node.attr, array_method.handler))
        if isinstance(base, sympy.Basic) or is_number(base):
            raise self.unsupported(node, f"the attribute '.{node.attr}' of a number",
                                   hint="use math or numpy functions on the value")
        raise self.unsupported(node, f"the attribute '.{node.attr}' of {_describe_value(base)}",
                               hint="use math or numpy functions on numbers")

    def eval_Subscript(self, node):
        base = self.eval(node.value)
        index = self.eval(node.slice)
        if self.is_array(base):
            return self.getitem(base, index, node)
        if isinstance(base, np.ndarray):
            if self.is_symbolic(index):
                self.check_deferrable(index)
                raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                              self.frame.parsed, node.slice, hint="index with an int")
            return base[index]
        if isinstance(base, (tuple, list, range)):
            if isinstance(index, sympy.Basic):
                self.check_deferrable(index)
                raise located(
                    UnsupportedSyntaxError, "indexing with a differentiated value",
                    self.frame.parsed, node.slice, hint="index with an int",
                )
            try:
                item = base[index]
            except (IndexError, TypeError) as exc:
                raise located(SymdiffError, f"bad index: {exc}", self.frame.parsed, node,
                              hint="index within the sequence's length") from None
            return self.own(item) if isinstance(base, list) and isinstance(index, slice) else item
        self.check_guess(base)
        raise self.unsupported(node, f"indexing {_describe_value(base)}",
                               hint="index tuples and lists; pass numbers as separate parameters")

    def eval_Slice(self, node):
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        if any(isinstance(p, sympy.Basic) for p in parts):
            raise located(UnsupportedSyntaxError, "slicing with a differentiated value",
                          self.frame.parsed, node, hint="slice with ints")
        return slice(*parts)

    def eval_ListComp(self, node):
        return self.own(list(self._comprehension(node.elt, node.generators)))

    def eval_GeneratorExp(self, node):
        return tuple(self._comprehension(node.elt, node.generators))

    def _comprehension(self, elt, generators):
        """A comprehension runs in its own scope (a child frame, as in Python 3): a lambda made
        in it closes over its loop variables."""
        outer = self.frame
        names = {n.id for g in generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        self.frame = Frame(outer.parsed, {}, names, None, outer, outer.depth)
        try:
            yield from self._generate(elt, generators)
        finally:
            self.frame = outer

    def _generate(self, elt, generators):
        first, rest = generators[0], generators[1:]
        if first.is_async:
            raise self.unsupported(first.iter, "an async comprehension")
        for item in self._iterate(self.eval(first.iter), first.iter):
            self.assign(first.target, item)
            keep = True
            for condition_node in first.ifs:
                test = self.condition(condition_node)
                truth = _truth(test)
                if truth is None:
                    self.check_deferrable(test)
                    raise located(
                        UnsupportedSyntaxError,
                        "a comprehension filter on a differentiated value",
                        self.frame.parsed, condition_node,
                        hint="use a conditional expression for the element instead",
                    )
                keep = keep and truth
            if not keep:
                continue
            if rest:
                yield from self._generate(elt, rest)
            else:
                yield self.eval(elt)

    def eval_Lambda(self, node):
        return self._local_function(node, "<lambda>")

    def eval_Starred(self, node):
        raise self.unsupported(node, "a '*' expression", hint="pass the values one by one")

    # ---- calls ----
    def eval_Call(self, node):
        return self.call(self.eval(node.func), node)

    def call(self, func, node):
        """The call ``node`` of ``func`` (already evaluated from ``node.func``)."""
        name = _describe(node.func)
        args = list(self._elements(node.args))
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.unsupported(keyword.value, "a '**' argument", hint="pass the arguments by name")
            kwargs[keyword.arg] = self.eval(keyword.value)
        record = registry.lookup(func)  # the one table of supported callables
        if record is not None:
            return self._call_primitive(record, func, args, kwargs, node)
        if isinstance(func, _Method):
            return func.handler(self, node, [func.array, *args], kwargs)
        if isinstance(func, LocalFunction):
            return self._inline(func.node, func.frame.parsed, None, func.frame, args, kwargs, node,
                                func.name, (func.defaults, func.kw_defaults))
        if isinstance(func, types.FunctionType):
            return self._call_python(func, args, kwargs, node)
        raise self.unknown_function(node, func, name)

    def _call_primitive(self, record, func, args, kwargs, node):
        """A call of a supported callable, by its record's kind (``registry.KINDS``)."""
        if record.kind == "structural":
            return record.handler(self, node, args, kwargs)
        if record.kind == "array":
            self.libraries.add("numpy")
            self._note_numbers(record.handler, args, kwargs, node)
            return record.handler(self, node, args, kwargs)
        return self.keep_shape(self._call_rule(record, func, args, kwargs, node), *args)

    def _note_numbers(self, entry, args, kwargs, node):
        """Record a numpy function that is not elementwise (``np.sum``, ``np.dot``, ``np.shape``)
        called on a value traced as a number (or on a list of them): the code made of this trace
        means something else for arrays (``np.sum`` of a number is the number), see
        ``Program.number_structural``."""
        if entry.name in numpy_calls.ELEMENTWISE or len(self.number_structural) >= 8:
            return

        def numbers(value):
            if isinstance(value, (tuple, list)):
                return any(numbers(v) for v in value)
            return self.is_symbolic(value) and not self.is_array(value)

        if any(numbers(v) for v in [*args, *kwargs.values()]):
            self.number_structural.append((entry.name, self.frame.parsed.filename, node.lineno))

    def _call_rule(self, rule, func, args, kwargs, node):
        args = rule_arguments(self, node, rule, func, args, kwargs)  # keywords bound by name
        if len(args) not in rule.nargs:
            expected = " or ".join(str(n) for n in rule.nargs)
            raise located(
                SymdiffError, f"{rule.name} takes {expected} argument(s), got {len(args)}",
                self.frame.parsed, node, hint=f"call {rule.name} with {expected} argument(s)",
            )
        for i in rule.int_args:
            if i < len(args) and (not isinstance(args[i], (int, np.integer)) or isinstance(args[i], bool)):
                if isinstance(args[i], sympy.Basic):
                    self.check_deferrable(args[i])  # an int parameter: known at the call
                what = "a differentiated value" if self.is_symbolic(args[i]) else _describe_value(args[i])
                raise located(
                    UnsupportedSyntaxError,
                    f"{rule.name}'s argument {i + 1} must be an int known while symdiff reads the "
                    f"function, not {what}",
                    self.frame.parsed, node.args[i] if i < len(node.args) else node,
                    hint="pass a constant, a loop counter or an int parameter that is not "
                    "differentiated",
                )
        args = [self.constant(a) if isinstance(a, np.ndarray) and any(isinstance(b, sympy.Basic) for b in args) else a
                for a in args]
        for arg, arg_node in zip(args, node.args):
            self.require_number(arg, arg_node)
            if rule.library == "math" and self.is_array(arg):
                raise located(
                    ShapeError,
                    f"{rule.name} takes a single number, but this is an array of shape {self.shape(arg)}",
                    self.frame.parsed, arg_node,
                    hint=f"use the numpy function (np.{rule.name.split('.')[-1]}) for arrays",
                )
        if len(args) > 1 and any(self.is_array(a) for a in args):
            self.check_broadcast(node, *args)
        if rule.library == "user" and any(self.is_array(a) for a in args):
            self.check_elementwise(rule, func, args, node)
        if rule.library not in ("builtins", "user"):
            self.libraries.add(rule.library)
        if rule.library == "user":
            self.registered.setdefault(rule.build, next(iter(rule.helpers.items())))
        if not any(isinstance(a, sympy.Basic) for a in args):
            try:
                return func(*args)  # concrete call, as Python would do it
            except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
                raise located(SymdiffError, f"{rule.name}{tuple(args)!r} raises {exc!r}",
                              self.frame.parsed, node, hint="as it does in Python") from None
        if rule.name not in _EXACT_ON_INTS:
            self._int_meets_float([a for i, a in enumerate(args) if i not in rule.int_args], node,
                                  f"{rule.name} converts it to float")
        if rule.build is None:
            raise located(
                UnsupportedSyntaxError,
                f"{rule.name} of a differentiated value: it is defined on ints only",
                self.frame.parsed, node,
                hint="call it on ints known while symdiff reads the function (loop counters, "
                "int parameters that are not differentiated, constants)",
            )
        if rule.build is CopySign and not isinstance(args[1], sympy.Basic):
            args = [args[0], math.copysign(1.0, float(args[1]))]  # SymPy has no -0.0
        args = [self._real(to_sympy(a)) for a in args]
        build = rule.build
        ufunc = _UFUNC_OPERATIONS.get(rule.name)
        if ufunc is not None:
            return self.shallow(self._ufunc(rule.name, ufunc, args))
        if isinstance(build, type) and issubclass(build, sympy.Function) and all(a.is_Symbol for a in args):
            result = nodes.apply(build, *args)  # f(symbol) has nothing to simplify: skip the attempt
        else:
            result = signs.call(build, *args)  # sin(-x - 0.5): see signs.py
            if not keeps(result, args):
                # SymPy simplified through an argument (exp(log(x)) -> x, sqrt(x**2) -> |x|,
                # sin(-y) -> -sin(y)): each argument gets a name, so the call computes what
                # Python computes
                args = [self.named(a) for a in args]
                result = signs.call(build, *args)
        if rule.library in ("math", "builtins"):  # Python's semantics: round(nan) raises
            self.math_calls.update(_calls_in(result, args))
        return self.shallow(result)

    def _ufunc(self, name, operation, args):
        """``np.divide(a, b)`` & co.: the operation as Python's operators would do it (faithful:
        ``np.divide(x, 0.1)`` divides), printed as the ufunc (``numpy_ufuncs``), so that Python
        floats get numpy's arithmetic (``np.reciprocal(0.0)`` is inf, ``1 / 0.0`` raises)."""
        op, *fixed = operation
        operands = [*fixed, *args] if op == DIV and name == "np.reciprocal" else list(args)
        if name == "np.square":
            operands = [args[0], args[0]]
        if name == "np.negative":
            result = -args[0]
        elif name == "np.positive":
            return args[0]
        else:
            result = arithmetic(op, *operands, self.named, self.copied)
        if isinstance(result, sympy.Expr) and not result.is_Atom:
            self.numpy_ufuncs[result] = name.split(".", 1)[1]
        return result

    def _real(self, arg):
        """``arg``, named by a real symbol when SymPy cannot prove it real (``acos(u)``,
        ``sqrt(u)``, ``u**0.5``): every value of a scalar program is real (or the program raises
        or gives nan), and a function of a real symbol differentiates without ``re``/``im``
        (``d|acos(u)|`` would otherwise be ``(re(acos(u))*d re(...) + im(...)*...)/|acos(u)|``)."""
        if arg.is_Atom or not isinstance(arg, sympy.Expr) or arg.is_extended_real:
            return arg
        hint = type(arg).__name__.lower() if isinstance(arg, sympy.Function) else "value"
        return self.atom(arg, hint if hint.isidentifier() else "value")

    def _call_python(self, func, args, kwargs, node):
        if getattr(func, "__module__", "").startswith(("numpy", "scipy", "sympy")):
            raise self.unknown_function(node, func, _describe(node.func))
        try:
            parsed = self.parsed_helpers.get(func)
            if parsed is None:  # read once per trace (a recursion calls it thousands of times)
                parsed = self.parsed_helpers[func] = parse_function(func)
        except SymdiffError as exc:
            raise located(
                UnknownFunctionError,
                f"cannot differentiate through {func.__qualname__}: {exc.message}",
                self.frame.parsed, node,
                hint=exc.hint or "register a derivative with symdiff.register(...)",
            ) from None
        frame = self._frame_for(parsed, func, parent=None, depth=self.frame.depth + 1)
        self.guard_function(func)
        defaults = (tuple(func.__defaults__ or ()), dict(func.__kwdefaults__ or {}))
        return self._inline(parsed.node, parsed, func, frame, args, kwargs, node, func.__qualname__,
                            defaults)

    def guard_function(self, func):
        """The trace read ``func``'s code and defaults: guard that they stay the same objects."""
        for attr in ("__code__", "__defaults__", "__kwdefaults__"):
            value = getattr(func, attr)
            if value is not None or attr == "__code__":
                self.guards[(id(func), attr)] = Guard(attr, value, func, "identity",
                                                      every_call=attr != "__code__")

    def _inline(self, fnode, parsed, func, parent_frame, args, kwargs, node, name, defaults):
        """Run a helper's body with these arguments; its statements join the program.

        ``defaults``: (positional default values, {keyword-only name: value}), as evaluated
        when the function was defined."""
        depth = self.frame.depth + 1
        if depth > self.max_depth:
            self.max_depth = depth
            self.deepest = (self.frame.parsed, node, name, depth)
        if depth > MAX_INLINE_DEPTH or (depth > MAX_DATA_RECURSION and self._forks_grow()):
            raise self._too_deep(args, kwargs, node, name)
        key = func if func is not None else fnode
        if self.deferrable_forks and key in self.inlining:  # see ``_trace``
            raise ConditionOnUndifferentiated(sorted(s.name for s in self.deferrable_symbols))
        if func is not None:
            frame = parent_frame
            frame.depth = depth
        else:
            frame = Frame(parsed, {}, _assigned_names(fnode), None, parent_frame, depth)
        frame.env = self._bind_call(fnode, frame, args, kwargs, node, name, defaults)
        saved_frame, saved_current = self.frame, self.current
        self.frame = frame
        self.fork_trail.append(self.open_forks)
        self.inlining.append(key)
        try:
            if isinstance(fnode, ast.Lambda):
                return self.eval(fnode.body)
            result = self.exec_block(fnode.body, cont=[])
            if not isinstance(result, _Return):
                raise self._no_return(fnode)
            return result.value
        finally:
            self.fork_trail.pop()
            self.inlining.pop()
            self.frame, self.current = saved_frame, saved_current

    def _forks_grow(self):
        """Whether the calls being inlined opened branches on data as they nested (the second
        half of them did: a recursion that stops on data runs on in the arm that recurses)."""
        trail = self.fork_trail
        return bool(trail) and self.open_forks > trail[len(trail) // 2] > trail[0]

    def _too_deep(self, args, kwargs, node, name):
        """The error for calls nested past ``MAX_INLINE_DEPTH``, saying why they nest so deep.

        A recursion that stops on a differentiated value never stops while traced (both arms of
        its 'if' run): each call opens one more branch on data. A recursion that opens none has
        a depth known while tracing; past the limit it is refused for its depth alone.
        """
        used = set().union(*[a.free_symbols for a in [*args, *kwargs.values()]
                             if isinstance(a, sympy.Basic)])
        if used & self.deferrable_symbols:  # driven by an int parameter: trace at the call
            raise NeedsConcrete(sorted(s.name for s in used & self.deferrable_symbols))
        if self._forks_grow():
            return located(
                SymdiffError,
                f"calls nest more than {MAX_DATA_RECURSION} deep (in {name}), each inside one "
                "more branch on a differentiated value: recursion whose depth depends on a "
                "differentiated value cannot be unrolled (both arms of each 'if' are traced)",
                self.frame.parsed, node,
                hint="make the recursion depth depend on an int parameter, or write a loop (a "
                f"recursion that stops on an int within {MAX_DATA_RECURSION} calls is unrolled)",
            )
        return located(
            NestingError,
            f"calls nest more than {MAX_INLINE_DEPTH} deep (in {name}): symdiff inlines at most "
            f"{MAX_INLINE_DEPTH} nested calls (this depth is known while tracing; it does not "
            "depend on a differentiated value)",
            self.frame.parsed, node,
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
                          f"got {len(args)}", self.frame.parsed, node, hint="check the call")
        for arg, value in zip(positional, args):
            env[arg.arg] = value
        for key, value in kwargs.items():
            if key in env or key not in {a.arg for a in [*positional, *spec.kwonlyargs]}:
                raise located(SymdiffError, f"{name} got an unexpected or repeated argument {key!r}",
                              self.frame.parsed, node, hint="check the call")
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
                          self.frame.parsed, node, hint="check the call")
        return env

    # ---- names ----
    def lookup(self, name, node):
        frame = self.frame
        while frame is not None:
            if name in frame.env:
                value = frame.env[name]
                if isinstance(value, _Unbound) and value.bound_on(self.path) is not _UNBOUND_MISSING:
                    return value.bound_on(self.path)  # assigned on this path (see ``_Unbound``)
                if isinstance(value, _Unbound) and value.shapes:
                    raise located(
                        ShapeError,
                        f"{name!r} has shape {value.shapes[0]} in one branch of the 'if' on line "
                        f"{value.lineno} and {value.shapes[1]} in the other: its shape would depend "
                        "on a differentiated value",
                        self.frame.parsed, node,
                        hint="give it the same shape in both branches (np.where selects elementwise)",
                    )
                if isinstance(value, _Unbound):
                    raise located(
                        SymdiffError,
                        f"{name!r} is assigned in only one branch of the 'if' on line "
                        f"{value.lineno}, which depends on a differentiated value",
                        self.frame.parsed, node,
                        hint=f"assign {name!r} in both branches (or before the 'if'), or read "
                        "it only in the same branch of an 'if' on the same condition",
                    )
                return value
            if name in frame.local_names and frame.fun is not None:
                raise located(
                    SymdiffError, f"local variable {name!r} is used before it is assigned",
                    self.frame.parsed, node, hint=f"assign {name!r} before this line",
                )
            if frame.fun is not None:
                return self._lookup_outside(frame, name, node)
            frame = frame.parent
        raise located(SymdiffError, f"name {name!r} is not defined", self.frame.parsed, node,
                      hint="define it (or import it) at module level before the first call")

    def _lookup_outside(self, frame, name, node):
        fun = frame.fun
        if name in frame.closure:
            cell = frame.closure[name]
            try:
                value = cell.cell_contents
            except ValueError:
                raise located(SymdiffError, f"free variable {name!r} is not bound yet",
                              self.frame.parsed, node,
                              hint=f"assign {name!r} in the enclosing function first") from None
            return self._external(name, value, cell)
        globals_ = fun.__globals__
        if name in globals_:
            return self._external(name, globals_[name], globals_)
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise located(SymdiffError, f"name {name!r} is not defined", self.frame.parsed, node,
                      hint="define it (or import it) at module level before the first call")

    def _external(self, name, value, container):
        """A module-level or closure value (``container``: the globals dict or the cell)."""
        key = (id(container), name)
        if isinstance(value, (bool, np.bool_, int, np.integer)):
            # Concrete (it may count loops or pick branches); the specialisation is guarded.
            self.guards[key] = Guard(name, value, container)
            return value
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            if key not in self.externals:
                symbol = real_symbol(self.namer.version(name))
                self.externals[key] = External(name, symbol, container)
                self.guards[(key, "shape")] = Guard(name, value.shape, container, "shape")
            symbol = self.externals[key].symbol
            if value.ndim:
                self.shapes[symbol] = value.shape
            return symbol
        if not isinstance(value, (numbers.Real, np.floating)):
            if not isinstance(value, types.ModuleType):
                # What the trace made of it (a helper inlined, a rule, a string compared) holds
                # while it is this very object; rebound, the function is traced again.
                self.guards[(key, "identity")] = Guard(name, value, container, "identity")
            return value
        constant = functions.CONSTANT_VALUES.get(float(value))
        if constant is not None:
            return constant
        if key not in self.externals:
            symbol = real_symbol(self.namer.version(name))
            self.externals[key] = External(name, symbol, container)
        return self.externals[key].symbol

    # ---- checks and errors ----
    def require_number(self, value, node):
        if is_number(value):
            if isinstance(value, sympy.Basic) and value.has(sympy.I):
                raise located(SymdiffError, "a complex value appears here", self.frame.parsed, node,
                              hint="symdiff differentiates real functions")
            return
        if isinstance(value, sympy.Basic):
            raise located(
                UnsupportedSyntaxError, "arithmetic on a condition", self.frame.parsed, node,
                hint="use a conditional expression: (1.0 if x > 0 else 0.0)",
            )
        raise located(
            SymdiffError,
            f"expected a number here, got {_describe_value(value)}",
            self.frame.parsed, node,
            hint="symdiff differentiates arithmetic on real numbers",
        )

    def _int_meets_float(self, values, node, how="float arithmetic converts it to float"):
        """Python raises OverflowError where an int too large for a float meets a float (``x *
        10**400``): so does the traced function, for every argument. ``values``: the operands
        (traced values are floats at run time; those of int parameters that are not
        differentiated are known at the call, where int arithmetic stays exact)."""
        big = [v for v in values if _beyond_float(v)]
        traced = [v for v in values if isinstance(v, sympy.Basic) and v.free_symbols]
        if not big or not traced:
            return
        for value in traced:
            self.check_deferrable(value)
        raise located(
            SymdiffError,
            f"an int of {len(str(abs(int(big[0]))))} digits meets a float here: {how}, and "
            "Python raises OverflowError('int too large to convert to float') for every argument",
            self.frame.parsed, node,
            hint="use a float within range (about 1.8e308), or keep the arithmetic on ints",
        )

    def check_guess(self, value):
        """Traced before any call, parameters were assumed numbers: an array use means 'wait'.

        Also for a SymPy number: an array assumed a number may have folded away (``max(x) - x``
        is 0 for a number ``x``), so ``p[k]`` of it says nothing until the call tells the kinds.
        """
        if self.guessing and isinstance(value, sympy.Basic):
            raise NeedsConcrete(sorted(s.name for s in value.free_symbols) or ["an argument"])

    def check_deferrable(self, value):
        """Raise ``NeedsConcrete`` if ``value`` only depends on non-differentiated parameters."""
        symbols = value.free_symbols if isinstance(value, sympy.Basic) else set()
        if symbols and symbols <= self.deferrable_symbols:
            raise NeedsConcrete(sorted(s.name for s in symbols))

    def on_deferrable_only(self, test):
        """Whether ``test`` depends on parameters that are not differentiated only."""
        symbols = test.free_symbols if isinstance(test, sympy.Basic) else set()
        return bool(symbols) and symbols <= self.deferrable_symbols

    def check_deferrable_condition(self, test):
        """The condition of an ``if`` on data: ``ConditionOnUndifferentiated`` if it only depends
        on non-differentiated parameters, unless such an ``if`` is to be a branch."""
        if self.on_deferrable_only(test) and not self.branch_on_deferrable:
            raise ConditionOnUndifferentiated(sorted(s.name for s in test.free_symbols))

    def unsupported(self, node, what=None, hint=None):
        if what is None and type(node) in _FORBIDDEN:  # as parse words it (an 'if' arm it skipped)
            what, hint = _FORBIDDEN[type(node)], hint or _HINTS.get(type(node))
        what = what or _describe_construct(node)
        return located(
            UnsupportedSyntaxError,
            f"{what} is not supported in a differentiated function",
            self.frame.parsed, node,
            hint=hint or _UNSUPPORTED_HINTS.get(type(node)),
        )

    def unknown_function(self, node, func, name):
        if callable(func):
            return located(
                UnknownFunctionError,
                f"call to {name}, a function symdiff does not know",
                self.frame.parsed, node,
                hint="give symdiff its derivative with symdiff.register(...), or use math/numpy "
                "functions, abs, pow, min, max, or a Python function symdiff can read",
            )
        return located(
            SymdiffError, f"{name} is {_describe_value(func)}, not a function", self.frame.parsed,
            node, hint="call a math or numpy function",
        )

    def _source_line(self, lineno):
        return linecache.getline(self.frame.filename, lineno).strip()


# numpy's arithmetic ufuncs: the operation each is (reciprocal: 1 / x)
_UFUNC_OPERATIONS = {
    "np.add": (ADD,), "np.subtract": (SUB,), "np.multiply": (MUL,), "np.divide": (DIV,),
    "np.true_divide": (DIV,), "np.power": (POW,), "np.float_power": (POW,),
    "np.reciprocal": (DIV, sympy.Integer(1)), "np.square": (MUL,), "np.negative": (MUL,),
    "np.positive": (ADD,),
}


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


# math functions that take ints of any size exactly (the rest convert ints to float)
_EXACT_ON_INTS = frozenset({"math.log", "math.log2", "math.log10"})


def _beyond_float(value):
    """An int (Python or SymPy) that ``float()`` cannot hold."""
    if isinstance(value, sympy.Integer):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or -2**1023 < value < 2**1023:
        return False
    try:
        float(value)
    except OverflowError:
        return True
    return False


def _repeats(left, right):
    """``[0.0] * n`` or ``n * [0.0]``: a list or tuple repeated a concrete number of times."""
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (tuple, list)) and isinstance(count, (int, np.integer)) \
                and not isinstance(count, bool):
            return True
    return False


def _assigned_names(fnode):
    """Names a nested ``def``/``lambda`` assigns: its parameters and assignment targets."""
    names = {a.arg for a in ast.walk(fnode.args) if isinstance(a, ast.arg)}
    body = fnode.body if isinstance(fnode.body, list) else [fnode.body]
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


_UNSUPPORTED_HINTS = {
    ast.Dict: "dictionaries are not supported; use separate variables",
    ast.Set: "sets are not supported; use separate variables",
    ast.JoinedStr: "strings are not numbers; remove the f-string",
    ast.DictComp: "dictionaries are not supported; use separate variables",
    ast.SetComp: "sets are not supported; use a list",
}


_CONSTRUCT_NAMES = {
    ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string",
    ast.DictComp: "a dict comprehension", ast.SetComp: "a set comprehension",
    ast.Match: "a 'match' statement",
}


def _describe_construct(node):
    return _CONSTRUCT_NAMES.get(type(node), f"the construct '{type(node).__name__}'")


def _describe(node):
    return ast.unparse(node)


def trace(parsed, concrete=None, deferrable=(), kinds=None, vector_output=False):
    """Run ``parsed`` over symbols.

    ``concrete``: values of parameters to specialise on; ``deferrable``: names of parameters that
    are not differentiated, whose use as a loop count raises ``NeedsConcrete``. Runs on a thread
    whose C stack holds the recursion it may need (``stack.deep``): input nested too deeply for
    that is a located ``NestingError``, never a crash.
    """
    return stack.deep(_trace, parsed, concrete, deferrable, kinds, vector_output)


def _trace(parsed, concrete, deferrable, kinds, vector_output):
    try:
        return _run(parsed, concrete, deferrable, kinds, vector_output)
    except ConditionOnUndifferentiated as deferred:
        condition = deferred
    # Before any call (``deferrable``): an 'if' on parameters that are not differentiated, which
    # may be int switches. At a call with ints they are specialised on (traced then); this trace
    # is the all-floats one, where such an 'if' is a branch like any other. Where that is not
    # enough (the same parameter counts a loop, a helper recurses on it, a branch is refused),
    # the trace waits for the call, as before.
    try:
        return _run(parsed, concrete, deferrable, kinds, vector_output, branch_on_deferrable=True)
    except (SymdiffError, NeedsConcrete):
        raise condition from None


def _run(parsed, concrete, deferrable, kinds, vector_output, branch_on_deferrable=False):
    tracer = Tracer(parsed, concrete, deferrable, kinds, vector_output)
    tracer.branch_on_deferrable = branch_on_deferrable
    try:
        return tracer.run()
    except RecursionError:
        pass  # (handled outside the except clause: its traceback holds the whole deep stack)
    where, node, name, depth = tracer.deepest or (parsed, parsed.node, None, 0)
    calls = f"in {name}, {depth} calls deep" if depth else "in one expression"
    raise located(
        NestingError,
        f"{parsed.fun.__qualname__!r} nests too deeply to translate ({calls}): the recursion "
        f"limit symdiff traces under ({sys.getrecursionlimit()}) was reached",
        where, node,
        hint="split deeply nested expressions into several assignments, or write deep "
        "recursion as a loop",
    )


__all__ = ["Tracer", "is_number", "is_symbolic", "math", "to_sympy", "trace"]
