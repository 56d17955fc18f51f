"""to_sympy: a parsed function -> an SSA program, one SymPy expression per statement.

Takes: a ``ParsedFunction`` and the kind of each argument. Returns: a ``Program`` whose
``statements`` assign a fresh real SymPy symbol per user assignment, in source order, and whose
``output`` is the returned value. The body is *executed*: concrete Python values (numbers, modules,
functions) are evaluated as Python would; symbolic values (the parameters and what is computed from
them) flow through as SymPy expressions. Anything not understood raises a located SymdiffError.
"""

import ast
import builtins
import linecache
import numbers
import operator
import types
from dataclasses import dataclass, field

import numpy as np
import sympy

from . import functions
from .errors import ShapeError, SymdiffError, UnknownFunctionError, UnsupportedSyntaxError
from .naming import Namer, names_in
from .parse import located


@dataclass(frozen=True)
class Param:
    """A parameter of the user's function and the symbol that stands for it."""

    name: str
    symbol: sympy.Symbol


@dataclass(frozen=True)
class External:
    """A module-level or closure number the function reads; passed in at call time."""

    name: str  # as the user wrote it
    symbol: sympy.Symbol
    where: str  # "global" or "closure"


@dataclass(frozen=True)
class Statement:
    """``target = expr``, from the user's line ``lineno`` (``source`` is that line's text)."""

    target: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str
    user_name: str

    def __repr__(self):
        return f"<line {self.lineno}: {self.target} = {self.expr}>"


@dataclass
class Program:
    """The function as straight-line SSA code over SymPy expressions."""

    name: str
    filename: str
    params: list
    statements: list
    output: sympy.Expr
    output_lineno: int
    externals: list = field(default_factory=list)
    libraries: set = field(default_factory=set)  # modules the user's calls came from
    namer: Namer = None
    local_names: set = field(default_factory=set)

    def __repr__(self):
        body = "\n".join(f"  {s!r}" for s in self.statements)
        return f"<Program {self.name}({', '.join(p.name for p in self.params)})\n{body}\n  -> {self.output}>"


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_OP_SYMBOLS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
}


def is_symbolic(value):
    """True for a SymPy expression that depends on a symbol."""
    return isinstance(value, sympy.Basic) and bool(value.free_symbols)


def is_number(value):
    """True for a real number, concrete (Python/numpy) or SymPy."""
    if isinstance(value, bool):
        return True
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        return True
    return isinstance(value, sympy.Expr)


def to_sympy(value):
    """A number as SymPy: Python ints exact, floats at full double precision."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (bool, np.bool_)):
        return sympy.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        constant = functions.CONSTANT_VALUES.get(float(value))
        return constant if constant is not None else sympy.Float(float(value))
    raise TypeError(value)


class Tracer:
    """Executes the function body over SymPy values; collects SSA statements."""

    def __init__(self, parsed, kinds):
        self.parsed = parsed
        self.fun = parsed.fun
        self.kinds = kinds
        node = parsed.node
        self.namer = Namer(names_in(node) | set(self.fun.__code__.co_names))
        self.local_names = set(self.fun.__code__.co_varnames) | set(self.fun.__code__.co_cellvars)
        self.env = {}
        self.statements = []
        self.externals = {}
        self.libraries = set()
        self.current = node  # the statement being executed, for error locations
        self._closure = {}
        if self.fun.__closure__:
            for name, cell in zip(self.fun.__code__.co_freevars, self.fun.__closure__):
                self._closure[name] = cell

    # ---- driver ----
    def run(self):
        node = self.parsed.node
        params = self._bind_params(node.args)
        if isinstance(node, ast.Lambda):
            self.current = node
            output = self.eval(node.body)
            output_lineno = node.lineno
        else:
            output, output_lineno = self._exec_body(node)
        output = self._check_output(output)
        output_symbol = self._name_output(output, output_lineno)
        return Program(
            name=self.fun.__name__,
            filename=self.parsed.filename,
            params=params,
            statements=self.statements,
            output=output_symbol,
            output_lineno=output_lineno,
            externals=list(self.externals.values()),
            libraries=self.libraries,
            namer=self.namer,
            local_names=self.local_names,
        )

    def _bind_params(self, args):
        params = []
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            symbol = sympy.Symbol(self.namer.version(arg.arg), real=True)
            self.env[arg.arg] = symbol
            params.append(Param(arg.arg, symbol))
        return params

    def _exec_body(self, node):
        for stmt in node.body:
            self.current = stmt
            result = self.exec_stmt(stmt)
            if result is not None:
                return result
        raise located(
            SymdiffError,
            f"{self.fun.__name__!r} reaches its end without 'return': it returns None",
            self.parsed,
            node,
            hint="return the number to differentiate",
        )

    def _check_output(self, value):
        if isinstance(value, (tuple, list)):
            raise located(
                ShapeError,
                f"{self.fun.__name__!r} returns a {type(value).__name__} of {len(value)} values; "
                "grad needs a single number",
                self.parsed,
                self.current,
                hint="use symdiff.jacobian(f) for a function with several outputs, or return "
                "one number (for example their sum)",
            )
        if not is_number(value):
            raise located(
                ShapeError,
                f"{self.fun.__name__!r} returns a {type(value).__name__}, not a number",
                self.parsed,
                self.current,
                hint="return the number to differentiate",
            )
        value = to_sympy(value)
        if value.has(sympy.I) or value.has(sympy.zoo, sympy.nan):
            raise located(
                SymdiffError,
                f"the returned value {value} is not a finite real number",
                self.parsed,
                self.current,
                hint="symdiff differentiates functions with finite real values",
            )
        return value

    def _name_output(self, value, lineno):
        if value.is_Atom:
            return value
        name = self.fun.__name__ if self.fun.__name__.isidentifier() else "out"
        name = self.namer.fresh(name) if name in self.local_names else self.namer.version(name)
        target = sympy.Symbol(name, real=True)
        self.statements.append(
            Statement(target, value, lineno, self._source_line(lineno), target.name)
        )
        return target

    # ---- statements ----
    def exec_stmt(self, stmt):
        handler = getattr(self, "exec_" + type(stmt).__name__, None)
        if handler is None:
            raise self.unsupported(stmt)
        return handler(stmt)

    def exec_Assign(self, stmt):
        value = self.eval(stmt.value)
        for target in stmt.targets:
            value = self.assign(target, value)

    def exec_AnnAssign(self, stmt):
        if stmt.value is not None:
            self.assign(stmt.target, self.eval(stmt.value))

    def exec_AugAssign(self, stmt):
        if not isinstance(stmt.target, ast.Name):
            raise self.unsupported(stmt.target, "augmented assignment to this target")
        current = self.lookup(stmt.target.id, stmt.target)
        value = self.binop(stmt.op, current, self.eval(stmt.value), stmt)
        self.assign(stmt.target, value)

    def exec_Return(self, stmt):
        if stmt.value is None:
            raise located(
                SymdiffError, "'return' without a value returns None", self.parsed, stmt,
                hint="return the number to differentiate",
            )
        return self.eval(stmt.value), stmt.lineno

    def exec_Expr(self, stmt):
        if isinstance(stmt.value, ast.Constant):  # docstrings, '...'
            return None
        raise located(
            UnsupportedSyntaxError,
            "an expression statement (its value is discarded; a call made only for its side "
            "effects) is not supported",
            self.parsed,
            stmt.value,
            hint="remove it (a print() for debugging belongs outside the differentiated "
            "function), or assign its value to a variable that is used",
        )

    def exec_Pass(self, stmt):
        return None

    def assign(self, target, value):
        """Bind ``target`` (a name or a tuple/list of targets) to ``value``; returns the bound value."""
        if isinstance(target, ast.Name):
            if isinstance(value, sympy.Expr) and not value.is_Atom:
                symbol = sympy.Symbol(self.namer.version(target.id), real=True)
                self.statements.append(
                    Statement(symbol, value, self.current.lineno,
                              self._source_line(self.current.lineno), target.id)
                )
                value = symbol
            self.env[target.id] = value
            return value
        if isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(elt, ast.Starred) for elt in target.elts):
                raise self.unsupported(target, "starred assignment")
            if not isinstance(value, (tuple, list)):
                raise located(
                    ShapeError,
                    f"cannot unpack a {type(value).__name__} into {len(target.elts)} names",
                    self.parsed, target, hint="unpack a tuple or list of the same length",
                )
            if len(value) != len(target.elts):
                raise located(
                    ShapeError,
                    f"cannot unpack {len(value)} values into {len(target.elts)} names",
                    self.parsed, target, hint="unpack a tuple or list of the same length",
                )
            return type(value)(self.assign(t, v) for t, v in zip(target.elts, value))
        raise self.unsupported(
            target, f"assignment to {_describe(target)}",
            hint="assign to a local variable name",
        )

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
        return tuple(self.eval(elt) for elt in node.elts)

    def eval_List(self, node):
        return [self.eval(elt) for elt in node.elts]

    def eval_UnaryOp(self, node):
        operand = self.eval(node.operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self.require_number(operand, node.operand)
            if is_symbolic(operand) or isinstance(operand, sympy.Basic):
                return -operand if isinstance(node.op, ast.USub) else operand
            return -operand if isinstance(node.op, ast.USub) else +operand
        raise self.unsupported(node, f"the operator {_op_name(node.op)!r}")

    def eval_BinOp(self, node):
        left = self.eval(node.left)
        right = self.eval(node.right)
        return self.binop(node.op, left, right, node)

    def binop(self, op, left, right, node):
        func = _BINOPS.get(type(op))
        if func is None:
            raise self.unsupported(node, f"the operator {_OP_SYMBOLS.get(type(op), type(op).__name__)!r}")
        self.require_number(left, node)
        self.require_number(right, node)
        if not isinstance(left, sympy.Basic) and not isinstance(right, sympy.Basic):
            return func(left, right)  # concrete Python arithmetic, as Python would do it
        left, right = to_sympy(left), to_sympy(right)
        if isinstance(op, ast.Div) and right == 0:
            raise located(SymdiffError, "division by zero", self.parsed, node,
                          hint="the divisor is the constant 0; check the formula")
        return func(left, right)

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
                    self.parsed, node, hint="check the spelling of the function or constant",
                )
            return getattr(base, node.attr)
        if isinstance(base, sympy.Basic):
            raise self.unsupported(node, f"the attribute '.{node.attr}' of a number")
        raise self.unsupported(node, f"the attribute '.{node.attr}' of a {type(base).__name__}")

    def eval_Call(self, node):
        func = self.eval(node.func)
        name = _describe(node.func)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.unsupported(arg, "a '*' argument", hint="pass the arguments one by one")
        if node.keywords:
            raise self.unsupported(
                node.keywords[0].value if node.keywords[0].arg is None else node,
                f"keyword arguments in the call to {name}",
                hint="pass the arguments by position",
            )
        args = [self.eval(arg) for arg in node.args]
        rule = functions.rule_for(func)
        if rule is None:
            raise self.unknown_function(node, func, name)
        if len(args) not in rule.nargs:
            expected = " or ".join(str(n) for n in rule.nargs)
            raise located(
                SymdiffError,
                f"{rule.name} takes {expected} argument(s), got {len(args)}",
                self.parsed, node, hint=f"call {rule.name} with {expected} argument(s)",
            )
        for arg, arg_node in zip(args, node.args):
            self.require_number(arg, arg_node)
        if rule.library != "builtins":
            self.libraries.add(rule.library)
        if not any(isinstance(a, sympy.Basic) for a in args):
            return func(*args)  # concrete call, as Python would do it
        return rule.build(*[to_sympy(a) for a in args])

    # ---- names ----
    def lookup(self, name, node):
        if name in self.env:
            return self.env[name]
        if name in self.local_names:
            raise located(
                SymdiffError, f"local variable {name!r} is used before it is assigned",
                self.parsed, node, hint=f"assign {name!r} before this line",
            )
        if name in self._closure:
            try:
                value = self._closure[name].cell_contents
            except ValueError:
                raise located(SymdiffError, f"free variable {name!r} is not bound yet",
                              self.parsed, node,
                              hint=f"assign {name!r} in the enclosing function first") from None
            return self._external(name, value, "closure")
        globals_ = self.fun.__globals__
        if name in globals_:
            return self._external(name, globals_[name], "global")
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise located(SymdiffError, f"name {name!r} is not defined", self.parsed, node,
                      hint="define it (or import it) at module level before the first call")

    def _external(self, name, value, where):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
            return value
        if isinstance(value, (complex, np.complexfloating)):
            return value
        constant = functions.CONSTANT_VALUES.get(float(value)) if isinstance(value, float) else None
        if constant is not None:
            return constant
        key = (where, name)
        if key not in self.externals:
            symbol = sympy.Symbol(self.namer.version(name), real=True)
            self.externals[key] = External(name, symbol, where)
        return self.externals[key].symbol

    # ---- checks and errors ----
    def require_number(self, value, node):
        if is_number(value):
            if isinstance(value, sympy.Basic) and value.has(sympy.I):
                raise located(SymdiffError, "a complex value appears here", self.parsed, node,
                              hint="symdiff differentiates real functions")
            return
        raise located(
            SymdiffError,
            f"expected a number here, got {_describe_value(value)}",
            self.parsed, node,
            hint="symdiff differentiates arithmetic on real numbers",
        )

    def unsupported(self, node, what=None, hint=None):
        what = what or _describe_construct(node)
        return located(
            UnsupportedSyntaxError,
            f"{what} is not supported in a differentiated function",
            self.parsed, node,
            hint=hint or _UNSUPPORTED_HINTS.get(type(node)),
        )

    def unknown_function(self, node, func, name):
        if isinstance(func, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)) or callable(func):
            hint = (
                "symdiff only calls functions whose derivative it knows (math and numpy "
                "functions, abs, pow); inline the helper's arithmetic into this function"
            )
            return located(
                UnknownFunctionError,
                f"call to {name}, a function symdiff does not know",
                self.parsed, node, hint=hint,
            )
        return located(
            SymdiffError, f"{name} is a {type(func).__name__}, not a function", self.parsed, node,
            hint="call a math or numpy function",
        )

    def _source_line(self, lineno):
        return linecache.getline(self.parsed.filename, lineno).strip()


_UNSUPPORTED_HINTS = {
    ast.If: "branches on data are not supported yet; use a formula without 'if'",
    ast.For: "loops are not supported yet; write the steps out",
    ast.While: "loops are not supported yet; write the steps out",
    ast.IfExp: "conditional expressions are not supported yet",
    ast.Compare: "comparisons are not supported yet",
    ast.BoolOp: "'and'/'or' are not supported yet",
    ast.Subscript: "indexing is not supported yet; pass scalars as separate parameters",
    ast.FunctionDef: "define helper functions at module level and inline their arithmetic",
    ast.Lambda: "inline the lambda's arithmetic",
    ast.Assert: "move the check outside the differentiated function",
    ast.Raise: "move the check outside the differentiated function",
    ast.ListComp: "comprehensions are not supported yet",
    ast.GeneratorExp: "generator expressions are not supported yet",
    ast.Dict: "dictionaries are not supported; use separate variables",
    ast.Set: "sets are not supported; use separate variables",
    ast.JoinedStr: "strings are not numbers; remove the f-string",
}


def _describe_construct(node):
    names = {
        ast.If: "an 'if' statement", ast.For: "a 'for' loop", ast.While: "a 'while' loop",
        ast.IfExp: "a conditional expression", ast.Compare: "a comparison",
        ast.BoolOp: "'and'/'or'", ast.Subscript: "indexing", ast.FunctionDef: "a nested 'def'",
        ast.Lambda: "a lambda", ast.Assert: "an 'assert' statement", ast.Raise: "a 'raise' statement",
        ast.ListComp: "a list comprehension", ast.GeneratorExp: "a generator expression",
        ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string",
        ast.Break: "'break'", ast.Continue: "'continue'", ast.Slice: "slicing",
    }
    return names.get(type(node), f"the construct '{type(node).__name__}'")


def _describe(node):
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse handles every expression node
        return type(node).__name__


def _describe_value(value):
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"a {type(value).__name__}"


def _op_name(op):
    return {ast.Not: "not", ast.Invert: "~"}.get(type(op), type(op).__name__)


def trace(parsed, kinds=None):
    """Run ``parsed`` over symbols; the ``Program`` it computes."""
    try:
        return Tracer(parsed, kinds).run()
    except RecursionError:
        raise SymdiffError(
            f"{parsed.fun.__qualname__!r} is nested too deeply to translate",
            filename=parsed.filename,
            lineno=parsed.firstlineno,
            hint="split deeply nested expressions into several assignments",
        ) from None
