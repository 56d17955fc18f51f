"""interpreter: a parsed function -> an SSA ``Program``, one SymPy expression per statement.

Takes: a ``ParsedFunction`` and the concrete values of the parameters that are specialised on
(non-differentiated ints and bools). Returns: a ``Program`` (see ``symdiff.ir``). The body is
*executed*: concrete Python (numbers, loop counters, ``len``, modules, helper functions) runs as
Python would; symbolic values (the parameters and what is computed from them) flow through as SymPy
expressions, one fresh real symbol per assignment. A condition on a symbolic value becomes a
``Branch``; loops with concrete trip counts unroll; helper functions are read and inlined.
Anything not understood raises a located ``SymdiffError``.

The ``Tracer`` is this module (statements and expressions) with four collaborators it makes and
hands to each other explicitly: ``scope.Scope`` (names: locals, globals, closure cells, guards),
``array_values.ArrayValues`` (arrays, and the lists the function builds), ``control.ControlFlow``
(``if``/``for``/``while``, joins, partial returns) and ``calls.Calls`` (library functions by their
rules, helpers inlined); ``signals`` holds what passes between them. The primitives' handlers
(``builtin_calls``, ``numpy_calls``) are given the tracer.
A call, a list or array method, is looked up in the registry of primitives
(``primitives/registry.py``: ``lookup``, ``method``) and dispatched on its record's kind.
"""

import ast
import dataclasses
import linecache
import math  # (in __all__)
import operator
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
)
from .. import pytrees
from ..ir import Param, Program, Statement
from ..naming import Namer, names_in
from ..primitives import builtin_calls  # noqa: F401  (its records: range, len, list methods, ...)
from ..primitives import numpy_calls  # noqa: F401  (its records: np.sum, np.array, array methods, ...)
from ..primitives import registry, scipy_calls
from ..primitives import scalar as functions
from ..primitives.faithful import ADD, DIV, MUL, POW, SUB, FloorDiv, PyFloat, PyMod, arithmetic
from ..primitives.nodes import real_symbol
from ..primitives.sympy_functions import NormPower, NormRoot, is_sum_of_squares
from ..runtime import stack
from .array_values import ArrayValues, _concrete_method, _Method
from .calls import Calls, _describe
from .control import ControlFlow
from .masks import MaskedValues, MaskIndex
from .parse import _FORBIDDEN, _HINTS, located
from .scope import Frame, Scope, frame_for
from .signals import (
    ConditionOnUndifferentiated,
    NeedsConcrete,
    _MaybeBreak,
    _MaybeReturn,
    _Return,
    _same,
    _truth,
)
from .values import describe_value as _describe_value
from .values import is_number, is_symbolic, to_sympy

MAX_EXPRESSION_DEPTH = 24  # deeper expressions are split into statements (SymPy recurses on depth)



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


def _has_class_nodes(node):
    """Whether a container structure has a NamedTuple or dataclass in it."""
    return node.kind in ("namedtuple", "dataclass") or any(
        isinstance(c, pytrees.Node) and _has_class_nodes(c) for c in node.children)


def _plain_object(value):
    """An instance of a user's class (its attributes in ``__dict__``), not a module, a number,
    an array, a container or a function."""
    return (hasattr(value, "__dict__") and not isinstance(value, (types.ModuleType, type, types.FunctionType,
                                                                  types.MethodType, np.ndarray, sympy.Basic))
            and type(value).__module__ not in ("builtins",) and not callable(value)
            and not pytrees.is_container(value))


def _draws_random_numbers(func):
    """Whether ``func`` is numpy's or Python's random number drawing (np.random.normal, a
    ``numpy.random.Generator``'s methods, ``random.random``)."""
    owner = getattr(func, "__self__", None)
    if isinstance(owner, (np.random.Generator, np.random.RandomState)):
        return True
    module = getattr(func, "__module__", None) or ""
    if module.startswith(("numpy.random", "random")):
        return True
    return getattr(owner, "__module__", "") in ("random",) or type(owner).__module__.startswith("numpy.random")


def _containers(value):
    """``value`` and every container inside it (lists, tuples, dicts, dataclass instances)."""
    out, stack = [], [value]
    while stack:
        item = stack.pop()
        if not pytrees.is_container(item):
            continue
        out.append(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            stack.extend(vars(item).values())
    return out


class Tracer:
    """Executes a function body over SymPy values; collects SSA statements and branches.

    Holds what the trace was asked for (``parsed``, ``concrete``, ``kinds``, ...), the program
    being built (``namer``, ``block``, and what the ``Program`` records: ``libraries``,
    ``math_calls``, ...) and where execution is (``frame``, ``current``); its collaborators
    ``scope``, ``arrays``, ``control`` and ``calls`` hold the rest.
    """

    def __init__(self, parsed, concrete=None, deferrable=(), kinds=None, vector_output=False,
                 rolled=False, counts=()):
        self.rolled = rolled  # long 'for ... in range' loops kept as loops (frontend.loops)
        self.counts = frozenset(counts)  # int parameters traced as symbols: range(n) stays rolled
        self.count_symbols = set()  # (their symbols)
        # the counters of the loops being traced once (frontend.loops): an array may be indexed
        # with one (``X[t]``, ``X[t + 1, :]``; see ``ArrayValues.getitem``)
        self.loop_counters = set()
        self.loop_entry = None  # (the block before that loop: what its body hoists goes there)
        self.vector_output = vector_output  # a tuple/list/array may be returned (for jacobian)
        self.kinds = dict(kinds or {})  # parameter -> ("array", shape) or ("sequence", length)
        self.guessing = kinds is None  # argument kinds unknown yet: parameters assumed numbers
        self.depths = {}  # expression -> its depth (see ``shallow``)
        self.parsed = parsed
        self.fun = parsed.fun
        self.concrete = dict(concrete or {})
        self.deferrable = set(deferrable)
        self.deferrable_symbols = set()
        # an 'if' on deferrable parameters only is a branch (see ``_trace``), except that a
        # recursive call inside one gives up (recursion on an int count forks at every level)
        self.branch_on_deferrable = False
        node = parsed.node
        self.namer = Namer(names_in(node) | set(self.fun.__code__.co_names))
        self.libraries = set()
        self.math_calls = set()  # see Program.math_calls
        self.numpy_calls = set()  # nodes computed by numpy functions of numbers (see Calls._own_library)
        self.numpy_ufuncs = {}  # see Program.numpy_ufuncs
        self.definitions = {}  # symbol -> the expression its statement binds (see ``as_norm``)
        self.tree_parts = set()  # ids of the containers of container arguments (see _tree_param)
        self.int_results = set()  # traced values that are Python ints in the user's code (see ``int_arithmetic``)
        self.number_structural = []  # see Program.number_structural
        self.registered = {}  # registered function's SymPy class -> (its label, the callable)
        self.block = []
        self.current = node  # the statement being executed, for error locations
        self.frame = frame_for(parsed, self.fun, parent=None, depth=0)
        self.arrays = arrays = ArrayValues(self)
        self.scope = Scope(self.namer, arrays.shapes)
        self.control = ControlFlow(self, arrays)
        self.calls = Calls(self, self.scope, self.control)
        # What the primitives' handlers (numpy_calls, builtin_calls) and ``calls`` use of the
        # values: the array collaborator's methods, bound here once (no call in between).
        self.shapes = arrays.shapes
        self.shape, self.is_array, self.constant = arrays.shape, arrays.is_array, arrays.constant
        self.atom, self.array_op, self.keep_shape = arrays.atom, arrays.array_op, arrays.keep_shape
        self.as_array, self.as_value, self.matmul = arrays.as_array, arrays.as_value, arrays.matmul
        self.check_broadcast, self.check_elementwise = arrays.check_broadcast, arrays.check_elementwise
        self.own, self.mutable = arrays.own, arrays.mutable
        self.getitem, self.take = arrays.getitem, arrays.take
        self._iterate = arrays.iterate  # (builtin_calls' name for it)

    def __repr__(self):
        return (f"Tracer({self.fun.__qualname__!r}, {len(self.block)} statements, "
                f"{self.scope!r}, {self.arrays!r}, {self.control!r}, {self.calls!r})")

    is_symbolic = staticmethod(is_symbolic)

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
                raise self.no_return(node)
        value, aux = result.value, None
        if self.has_aux:
            value, aux = self._split_aux(value, result.node)
        output = self._check_output(value, result.node)
        output_symbol = self._name_output(output, result.node)
        return Program(
            name=self.fun.__name__,
            filename=self.parsed.filename,
            firstlineno=node.lineno,
            params=params,
            body=self.block,
            output=output_symbol,
            output_lineno=result.node.lineno,
            externals=list(self.scope.externals.values()),
            concrete=self.concrete,
            shapes=self.shapes,
            constants=self.arrays.constants,
            guards=list(self.scope.guards.values()),
            libraries=self.libraries,
            **self._callables(),
            namer=self.namer,
            local_names=self.frame.local_names,
            flags=self.control.flags,
            math_calls=self.math_calls,
            numpy_ufuncs=self.numpy_ufuncs,
            number_structural=self.number_structural,
            aux=aux,
        )

    has_aux = False  # the function returns (value, aux): see _split_aux

    def _split_aux(self, value, node):
        """``(value, aux)`` of a function differentiated with ``has_aux=True``; ``aux`` as
        ``(structure or None, leaves)``: numbers and arrays (traced ones named, so the generated
        code computes them), in a list, tuple or dict (nested) or alone."""
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise located(SymdiffError, f"{self.fun.__name__!r} is differentiated with has_aux=True, "
                          f"but returns {_describe_value(value)}, not a pair (value, aux)",
                          self.parsed, node, hint="return (the number to differentiate, what else to return)")
        value, aux = value
        self.current = node
        if pytrees.is_container(aux):
            found = pytrees.flatten(aux, lambda v: "leaf")
            if found is None or _has_class_nodes(found[0]):
                raise located(SymdiffError, "has_aux=True: the auxiliary value is a container "
                              "symdiff cannot rebuild (a NamedTuple, a dataclass or a dict with "
                              "other keys than str and int)", self.parsed, node,
                              hint="return aux as a tuple, list or dict")
            structure, leaves = found[0], pytrees.leaf_values(aux, found[0])
        else:
            structure, leaves = None, [aux]
        named = []
        for leaf in leaves:
            if isinstance(leaf, np.ndarray):
                leaf = self.constant(leaf)
            elif isinstance(leaf, sympy.Basic):
                self.require_number(leaf, node)
                leaf = self.atom(self.keep_shape(leaf, leaf), "aux")
            elif not is_number(leaf):
                raise located(SymdiffError, f"has_aux=True: the auxiliary value holds "
                              f"{_describe_value(leaf)}; it may hold numbers and arrays",
                              self.parsed, node, hint="return numbers and arrays beside the value")
            named.append(leaf)
        return value, (structure, tuple(named))

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
        self.param_symbols = set()  # (ArrayValues: an argument's array is not changed in place)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            symbol = real_symbol(self.namer.version(arg.arg))
            kind = self.kinds.get(arg.arg)
            elements = None
            if arg.arg in self.concrete:
                self.frame.env[arg.arg] = self.concrete[arg.arg]
            elif kind and kind[0] == "tree":
                elements, paths, container = self._tree_param(arg.arg, kind[1])
                self.frame.env[arg.arg] = container
                params.append(Param(arg.arg, symbol, elements, kind[1], paths))
                continue
            elif kind and kind[0] == "sequence":
                elements = tuple(real_symbol(self.namer.fresh(f"{arg.arg}_{i}"))
                                 for i in range(kind[1]))
                self.frame.env[arg.arg] = elements
                self.arrays.argument_sequences.add(id(elements))
            else:
                if kind and kind[0] == "array":
                    self.shapes[symbol] = tuple(kind[1])
                self.frame.env[arg.arg] = symbol
                if arg.arg in self.deferrable:
                    self.deferrable_symbols.add(symbol)
                if arg.arg in self.counts:
                    self.count_symbols.add(symbol)
            params.append(Param(arg.arg, symbol, elements))
        for param in params:
            self.param_symbols.add(param.symbol)
            self.param_symbols.update(param.elements or ())
        return params

    def _tree_param(self, name, node):
        """A container argument (``pytrees``): a symbol per number or array leaf (named after
        its path: ``params_W``), a concrete int leaf as itself; returns ``(symbols, their paths,
        the container the function body sees)``."""
        symbols, paths, values = [], [], []
        for path, leaf in pytrees.leaves_with_paths(node):
            if leaf[0] == "int":
                values.append(leaf[1])
                continue
            symbol = real_symbol(self.namer.fresh(f"{name}_{pytrees.leaf_suffix(path)}"))
            if leaf[0] == "array":
                self.shapes[symbol] = tuple(leaf[1])
            symbols.append(symbol)
            paths.append(path)
            values.append(symbol)
        container = pytrees.unflatten(node, values)
        for part in _containers(container):
            self.tree_parts.add(id(part))
            if isinstance(part, (tuple, list)):
                self.arrays.argument_sequences.add(id(part))
        return tuple(symbols), tuple(paths), container

    def no_return(self, node):
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
        target = real_symbol(self.result_name())
        self.emit(target, value, node)
        return target

    def result_name(self):
        """A name for a function's result: the function's own name where it is free."""
        fun = self.frame.fun
        name = fun.__name__ if fun is not None and fun.__name__.isidentifier() else "result"
        return self.namer.fresh(name) if name in self.frame.local_names else self.namer.version(name)

    def emit(self, target, expr, node):
        shape = self.shape(expr)
        if shape:
            self.shapes[target] = shape
        self.block.append(Statement(target, expr, node.lineno, self.source_line(node.lineno),
                                    self.filename_tag()))
        self.definitions[target] = expr
        if expr in self.int_results:
            self.int_results.add(target)

    def is_int_result(self, value):
        """True when ``value`` is a Python int in the user's code: an int constant, ``int(x)``,
        ``math.floor(x)`` & co. of a traced value, or + - * of those."""
        if isinstance(value, sympy.Basic):
            return value.is_Integer or value in self.int_results
        return isinstance(value, int)

    def int_arithmetic(self, result, operands, sign_of_zero):
        """``result`` of + - * (``sign_of_zero``: * and unary -) on Python ints, computed as
        floats: no int is -0.0, so where a float product could be (``int(a) * int(b)`` with
        ``int(b) == 0`` and ``a < 0``) it is ``product + 0.0``, which is 0.0 for -0.0 and the
        product itself otherwise. The result is again a Python int of the user's code."""
        if not all(self.is_int_result(v) for v in operands) or not isinstance(result, sympy.Expr) \
                or not result.free_symbols:
            return result
        if sign_of_zero:
            result = sympy.Add(result, PyFloat(0.0))
        self.int_results.add(result)
        return result

    def as_norm(self, result):
        """``result``, or a norm where it is the square root of a sum of squares the user wrote
        (``np.sum(x**2) ** 0.5``, ``math.sqrt(x*x + y*y)``, named intermediates too): a
        ``NormRoot`` (``NormPower`` for ``** 0.5``), whose derivative at the zero vector is the
        subgradient 0 that ``np.linalg.norm`` gets, not 0 * inf = nan. Same value, same printing."""
        if not (isinstance(result, sympy.Pow) and result.exp in (sympy.S.Half, 0.5)):
            return result
        base = result.base
        if not is_sum_of_squares(base, self.definitions.get):
            return result
        base = self.named(base)  # one value: the derivative's test ``s == 0`` reads it
        return NormRoot(base) if result.exp is sympy.S.Half else NormPower(base)

    def filename_tag(self):
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
                signal = self.control.exec_If(stmt, stmts[i + 1:], cont)
            else:
                signal = self.exec_stmt(stmt)
            if isinstance(signal, _MaybeReturn) and not signal.done:
                return self.control.unless_returned(signal, [*stmts[i + 1:], *cont])
            if isinstance(signal, _MaybeBreak) and not signal.done:
                return self.control.unless_broken(signal, [*stmts[i + 1:], *cont])
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
            if self.is_array(base) or isinstance(base, np.ndarray):  # x[k] += v on an array
                self.arrays.set_array_item(stmt.target, index, self.eval(stmt.value), stmt.op)
                return
            if not isinstance(base, list):
                self.arrays.set_item(base, index, None, stmt.target)  # the error for what base is
            current = self.arrays.list_item(base, index, stmt.target)
            self.arrays.set_item(base, index,
                                 self.binop(stmt.op, current, self.eval(stmt.value), stmt),
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
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "at" \
                and self.eval(call.func.value) is np.add:  # np.add.at(x, idx, v): x changed in place
            if len(call.args) != 3 or call.keywords:
                raise self.unsupported(call, "np.add.at without its three arguments (array, indices, values)",
                                       hint="call np.add.at(x, idx, v)")
            index = self.eval(call.args[1])
            self.arrays.add_at_in_place(call, call.args[0], index, self.eval(call.args[2]))
            return None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and registry.method("list", call.func.attr):  # v.append(item): run for its effect
            base = self.eval(call.func.value)
            if isinstance(base, list):
                self.calls.call(_Method(base, registry.method("list", call.func.attr).handler), call)
                return None
            if id(base) in self.arrays.argument_sequences:
                self.arrays.changing_an_argument(call)
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

    # ---- loops (``control``; 'if' is dispatched in ``exec_block``, which passes what follows) ----
    def exec_For(self, stmt):
        return self.control.exec_For(stmt)

    def exec_While(self, stmt):
        return self.control.exec_While(stmt)

    def exec_Break(self, stmt):
        return self.control.exec_Break(stmt)

    def exec_Continue(self, stmt):
        return self.control.exec_Continue(stmt)

    def exec_FunctionDef(self, stmt):
        if stmt.decorator_list:
            raise self.unsupported(stmt.decorator_list[0], "a decorated nested function",
                                   hint="define the helper without decorators")
        self.frame.env[stmt.name] = self.calls.local_function(stmt, stmt.name)

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
            elif isinstance(value, sympy.Basic) and not isinstance(value, sympy.Expr) \
                    and not self.is_array(value):  # (a mask, mask = x > 0, is an array's condition)
                self.check_guess(value)  # before the first call: x may be an array (a mask)
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
                value = tuple(self.arrays.iterate(value, target))  # a, b = x: its rows, as in Python
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
            base = self.eval(target.value)
            if self.is_array(base) or isinstance(base, np.ndarray):  # x[k] = v on an array
                self.arrays.set_array_item(target, self.eval(target.slice), value)
                return value
            self.arrays.set_item(base, self.eval(target.slice), value, target)
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
        return tuple(self.elements(node.elts))

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

    def eval_Dict(self, node):
        """``{"pred": z, "loss": l}``: a dict of the values (its keys known: str or int). It can
        be read (``d["pred"]``, ``.items()``), returned as has_aux's value, not changed."""
        out = {}
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                raise self.unsupported(value_node, "a '**' in a dict display", hint="write the items out")
            key = self.eval(key_node)
            if isinstance(key, sympy.Basic) or type(key) not in (str, int):
                raise located(UnsupportedSyntaxError, "a dict key that is not a str or int known "
                              "while symdiff reads the function", self.frame.parsed, key_node,
                              hint="use str keys")
            out[key] = self.eval(value_node)
        self.tree_parts.add(id(out))  # read like a container argument's dicts (d.items())
        return out

    def eval_List(self, node):
        return self.own(list(self.elements(node.elts)))

    def elements(self, elts):
        out = []  # a list, not a generator: nested calls must not stack generator frames in C
        for elt in elts:
            if isinstance(elt, ast.Starred):
                out.extend(self.arrays.iterate(self.eval(elt.value), elt))
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
        if isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(operand, MaskedValues):
            full = operand.full if isinstance(node.op, ast.UAdd) else -operand.full
            return MaskedValues(full, operand.mask, operand.node, self)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.as_number(operand)
            self.require_number(operand, node.operand)
            if isinstance(node.op, ast.UAdd):
                return +operand
            return self.int_arithmetic(-operand, (operand,), True)
        if isinstance(node.op, ast.Invert) and _is_condition(operand):  # ~mask: elementwise not
            return sympy.Not(operand)
        if isinstance(node.op, ast.Invert) and isinstance(operand, np.ndarray) and operand.dtype.kind == "b":
            return ~operand
        raise self.unsupported(node, "the operator '~'")

    def eval_BinOp(self, node):
        left = self.eval(node.left)
        right = self.eval(node.right)
        result = self.binop(node.op, left, right, node)
        return result if isinstance(node.op, ast.MatMult) else self.keep_shape(result, left, right)

    def as_number(self, value):
        """A condition used as a number (``a * (a > 0)``, ``np.sum(x < y)``) is what Python makes
        of a bool, the int 1 or 0 (numpy of a bool array: 1 or 0 in each element); anything
        else is itself."""
        if not isinstance(value, sympy.logic.boolalg.Boolean) or isinstance(value, sympy.Expr):
            return value  # (a Symbol is a Boolean too)
        if value in (sympy.true, sympy.false):
            return sympy.Integer(1 if value is sympy.true else 0)
        number = sympy.Piecewise((sympy.Integer(1), value), (sympy.Integer(0), True))
        return self.keep_shape(number, value) if self.shapes else number

    def binop(self, op, left, right, node):
        if isinstance(op, (ast.BitAnd, ast.BitOr)) and (_is_condition(left) or _is_condition(right)) \
                and all(_is_condition(v) or isinstance(v, (bool, np.bool_)) or (
                    isinstance(v, np.ndarray) and v.dtype.kind == "b") for v in (left, right)):
            # (x > 0) & (x < 1) of arrays: elementwise and / or of the conditions
            parts = [self.constant(v) > 0.5 if isinstance(v, np.ndarray) else v for v in (left, right)]
            return sympy.And(*parts) if isinstance(op, ast.BitAnd) else sympy.Or(*parts)
        left, right = self.as_number(left), self.as_number(right)
        if isinstance(left, MaskedValues) or isinstance(right, MaskedValues):
            return self.arrays.masked_binop(op, left, right, node)
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
            self.int_meets_float((left, right), node)
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
        if isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
            result = self.int_arithmetic(result, (left, right), isinstance(op, ast.Mult))
        if isinstance(op, ast.Pow) and isinstance(result, sympy.Pow):
            norm = self.as_norm(result)
            if norm is not result:
                return norm
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
                return self.scope.external(node.attr, value, vars(base))
            return value
        if self.is_array(base):
            return self.arrays.array_attribute(base, node)
        if isinstance(base, MaskedValues):  # x[mask].sum(), .mean(): sums (see frontend.masks)
            if node.attr in ("sum", "mean"):
                return _Method(base, registry.method("array", node.attr).handler)
            raise base.refusal(node)
        if id(base) in self.tree_parts:  # a container argument: its fields, a dict's views
            return self._container_attribute(base, node)
        if _plain_object(base) and node.attr in vars(base):
            # an attribute of an object (a bound method's self): its numbers and arrays are read
            # when the gradient runs, as a module's are; its ints and other values are guarded
            return self.scope.external(node.attr, vars(base)[node.attr], vars(base))
        if _plain_object(base) and isinstance(getattr(type(base), node.attr, None), types.FunctionType):
            return getattr(base, node.attr)  # self.forward: a method of the object, inlined when called
        list_method = registry.method("list", node.attr)
        if isinstance(base, list) and list_method:
            return _Method(base, list_method.handler)
        if id(base) in self.arrays.argument_sequences and list_method:
            self.arrays.changing_an_argument(node)
        self.check_guess(base)
        if isinstance(base, np.ndarray) and node.attr in ("shape", "size", "ndim", "T"):
            return getattr(base, node.attr)
        array_method = registry.method("array", node.attr)
        if isinstance(base, np.ndarray) and array_method:
            return _Method(base, _concrete_method(node.attr, array_method.handler))
        method = scipy_calls.distribution_method(base, node.attr) if "scipy.stats" in sys.modules else None
        if method is not None:  # scipy.stats.norm.logpdf & co.
            return method
        if isinstance(base, sympy.Basic) or is_number(base):
            raise self.unsupported(node, f"the attribute '.{node.attr}' of a number",
                                   hint="use math or numpy functions on the value")
        raise self.unsupported(node, f"the attribute '.{node.attr}' of {_describe_value(base)}",
                               hint="use math or numpy functions on numbers")

    def _container_attribute(self, base, node):
        """``p.W`` of a NamedTuple or dataclass argument; ``params.items()``, ``.values()``,
        ``.keys()`` of a dict argument (lists of what they hold, in order)."""
        if isinstance(base, dict) and node.attr in ("items", "values", "keys"):
            view = getattr(base, node.attr)
            return _Method(base, lambda tracer, node, args, kwargs: list(view(*args[1:], **kwargs)))
        if not isinstance(base, (dict, list)) and node.attr in (
                base._fields if isinstance(base, tuple) else [f.name for f in dataclasses.fields(base)]):
            return getattr(base, node.attr)
        raise self.unsupported(node, f"the attribute '.{node.attr}' of {_describe_value(base)}",
                               hint="read the container's items or fields")

    def eval_Subscript(self, node):
        base = self.eval(node.value)
        index = self.eval(node.slice)
        if self.is_array(base):
            return self.arrays.getitem(base, index, node)
        if isinstance(base, (MaskedValues, MaskIndex)):
            raise base.refusal(node)
        if isinstance(base, np.ndarray) and (isinstance(index, (sympy.logic.boolalg.Boolean, MaskIndex))
                                             or isinstance(index, tuple) and any(isinstance(p, MaskIndex) for p in index)):
            return self.arrays.getitem(self.constant(base), index, node)  # c[x > 0]: a traced mask
        if base is np.r_ or base is np.c_:
            return numpy_calls.index_concatenation(self, node, base is np.c_, index)
        if isinstance(base, (np.ndarray, tuple, list)) and self.arrays.is_counter_index(index):
            return self.arrays.counter_item(self.arrays.hoisted_array(base, node), (index,), node)
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
        if isinstance(base, dict):  # a dict argument (a container of parameters) or one built
            if isinstance(index, sympy.Basic):
                self.check_deferrable(index)
                raise located(UnsupportedSyntaxError, "indexing a dict with a differentiated value",
                              self.frame.parsed, node.slice, hint="index with a str or int key")
            try:
                return base[index]
            except (KeyError, TypeError) as exc:
                raise located(SymdiffError, f"the dict has no key {exc}", self.frame.parsed, node,
                              hint="use a key the dict has (as in Python: KeyError)") from None
        self.check_guess(base)
        raise self.unsupported(node, f"indexing {_describe_value(base)}",
                               hint="index tuples, lists and dicts; pass numbers as separate parameters")

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
        for item in self.arrays.iterate(self.eval(first.iter), first.iter):
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
        return self.calls.local_function(node, "<lambda>")

    def eval_Starred(self, node):
        raise self.unsupported(node, "a '*' expression", hint="pass the values one by one")

    # ---- calls ----
    def eval_Call(self, node):
        return self.calls.call(self.eval(node.func), node)

    # ---- names ----
    def lookup(self, name, node):
        return self.scope.lookup(self.frame, name, node, self.control.path)

    # ---- checks and errors ----
    def require_number(self, value, node):
        if isinstance(value, (MaskedValues, MaskIndex)):
            raise value.refusal(node)
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

    def int_meets_float(self, values, node, how="float arithmetic converts it to float"):
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
        if callable(func) and _draws_random_numbers(func):
            return located(
                UnknownFunctionError,
                f"call to {name}, which draws random numbers: the generated gradient cannot draw "
                "the same numbers as the function did at the same call",
                self.frame.parsed, node,
                hint="draw them outside and pass them in as an argument left out of wrt (a "
                "dropout mask: mask = rng.random(x.shape) > p; grad(loss, wrt=...)(params, x, mask))",
            )
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

    def source_line(self, lineno):
        return linecache.getline(self.frame.filename, lineno).strip()


def _is_condition(value):
    """A traced condition (``x > 0``, a mask of an array), not a number."""
    return isinstance(value, sympy.logic.boolalg.Boolean) and not isinstance(value, sympy.Expr)


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


_UNSUPPORTED_HINTS = {
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


def trace(parsed, concrete=None, deferrable=(), kinds=None, vector_output=False, rolled=False,
          counts=(), has_aux=False):
    """Run ``parsed`` over symbols.

    ``concrete``: values of parameters to specialise on; ``deferrable``: names of parameters that
    are not differentiated, whose use as a loop count raises ``NeedsConcrete``; ``rolled``: long
    ``for`` loops over a ``range`` become ``ir.Loop`` s (``frontend.loops``), else all unroll;
    ``counts``: int parameters traced as symbols, each the trip count of a rolled ``range(n)``
    (used otherwise than so, the trace raises ``NeedsConcrete``); ``has_aux``: the function
    returns ``(value, aux)`` (``Program.aux``: what the generated code returns beside the
    gradient). Runs on a thread
    whose C stack holds the recursion it may need (``stack.deep``): input nested too deeply for
    that is a located ``NestingError``, never a crash.
    """
    return stack.deep(_trace, parsed, concrete, deferrable, kinds, vector_output, rolled, counts, has_aux)


def _trace(parsed, concrete, deferrable, kinds, vector_output, rolled=False, counts=(), has_aux=False):
    try:
        return _run(parsed, concrete, deferrable, kinds, vector_output, rolled=rolled, counts=counts,
                    has_aux=has_aux)
    except ConditionOnUndifferentiated as deferred:
        condition = deferred
    # Before any call (``deferrable``): an 'if' on parameters that are not differentiated, which
    # may be int switches. At a call with ints they are specialised on (traced then); this trace
    # is the all-floats one, where such an 'if' is a branch like any other. Where that is not
    # enough (the same parameter counts a loop, a helper recurses on it, a branch is refused),
    # the trace waits for the call, as before.
    try:
        return _run(parsed, concrete, deferrable, kinds, vector_output, branch_on_deferrable=True,
                    rolled=rolled, counts=counts, has_aux=has_aux)
    except (SymdiffError, NeedsConcrete):
        raise condition from None


def _run(parsed, concrete, deferrable, kinds, vector_output, branch_on_deferrable=False,
         rolled=False, counts=(), has_aux=False):
    tracer = Tracer(parsed, concrete, deferrable, kinds, vector_output, rolled, counts)
    tracer.has_aux = has_aux
    tracer.branch_on_deferrable = branch_on_deferrable
    try:
        return tracer.run()
    except RecursionError:
        pass  # (handled outside the except clause: its traceback holds the whole deep stack)
    where, node, name, depth = tracer.calls.deepest or (parsed, parsed.node, None, 0)
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
