"""Parse: a Python function object -> its checked ``ast.FunctionDef`` with absolute line numbers.

Takes: a plain Python function (``def`` or ``lambda``). Returns: a ``ParsedFunction`` holding the
definition's AST (line numbers as in the user's file, columns as in the file's lines), the file name
and the function. Every construct symdiff can never differentiate through raises a located
``SymdiffError`` here, before any work is done; the tracer rejects the rest where it meets it.
"""

import ast
import inspect
import textwrap
import types
from dataclasses import dataclass

from .errors import NoSourceError, UnsupportedSyntaxError


@dataclass(frozen=True)
class ParsedFunction:
    """The user's function, its definition's AST and where it lives."""

    fun: object
    node: ast.AST  # ast.FunctionDef, or ast.Lambda for a lambda
    filename: str
    firstlineno: int

    def __repr__(self):
        return f"<ParsedFunction {self.fun.__qualname__} at {self.filename}:{self.firstlineno}>"


# Constructs that can never be differentiated through, with what to do instead.
_FORBIDDEN = {
    ast.Global: "'global' statement", ast.Nonlocal: "'nonlocal' statement",
    ast.Try: "'try' statement", ast.With: "'with' statement", ast.AsyncWith: "'async with'",
    ast.ClassDef: "class definition", ast.Import: "import statement",
    ast.ImportFrom: "import statement", ast.Delete: "'del' statement",
    ast.Yield: "'yield' (generator)", ast.YieldFrom: "'yield from' (generator)",
    ast.Await: "'await'", ast.AsyncFor: "'async for'", ast.AsyncFunctionDef: "async function",
    ast.NamedExpr: "assignment expression ':='",
}
if hasattr(ast, "TryStar"):
    _FORBIDDEN[ast.TryStar] = "'try' statement"

_HINTS = {
    ast.Global: "pass the value as a parameter, or read the global without assigning to it",
    ast.Nonlocal: "return the new value instead of assigning to an enclosing variable",
    ast.Try: "move error handling outside the differentiated function",
    ast.With: "move the context manager outside the differentiated function",
    ast.ClassDef: "define classes outside the differentiated function",
    ast.Import: "import at module level; symdiff reads module globals",
    ast.ImportFrom: "import at module level; symdiff reads module globals",
    ast.Delete: "drop the 'del'; locals are freed when the function returns",
    ast.Yield: "return a value (or a tuple, with symdiff.jacobian) instead of yielding",
    ast.YieldFrom: "return a value instead of yielding",
    ast.NamedExpr: "assign on a line of its own",
}


def located(error_class, message, parsed, node, hint=None):
    """An ``error_class`` pointing at ``node`` of ``parsed``."""
    return error_class(
        message,
        filename=parsed.filename if parsed else None,
        lineno=getattr(node, "lineno", None),
        col_offset=getattr(node, "col_offset", None),
        hint=hint,
    )


def parse_function(fun):
    """Read and check the source of ``fun``.

    >>> def f(x):
    ...     return x * x
    >>> parse_function(f).node.name
    'f'
    """
    if isinstance(fun, (types.BuiltinFunctionType, types.BuiltinMethodType)) or not hasattr(
        fun, "__code__"
    ):
        name = getattr(fun, "__name__", type(fun).__name__)
        raise NoSourceError(
            f"cannot read the source of {name!r}: it is not a Python function",
            hint="symdiff differentiates Python source; use symdiff.register(...) to give a rule "
            "for a function written in C, or wrap the call in a Python function",
        )
    if inspect.isgeneratorfunction(fun) or inspect.iscoroutinefunction(fun):
        kind = "generator" if inspect.isgeneratorfunction(fun) else "async"
        raise UnsupportedSyntaxError(
            f"cannot differentiate {fun.__qualname__!r}: it is a {kind} function",
            filename=fun.__code__.co_filename,
            lineno=fun.__code__.co_firstlineno,
            col_offset=0,
            hint="write a plain function that returns a number",
        )
    filename = fun.__code__.co_filename
    try:
        lines, firstlineno = inspect.getsourcelines(fun)
    except (OSError, TypeError) as exc:
        raise NoSourceError(
            f"cannot read the source of {fun.__qualname__!r} ({exc})",
            hint="define the function in a file (or a notebook cell); functions built with "
            "exec() or typed at a plain interpreter prompt have no source to read",
        ) from None
    firstlineno = max(firstlineno, 1)
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    indent = _indent_removed(text, dedented)
    try:
        module = ast.parse(dedented)
    except (SyntaxError, RecursionError, MemoryError):
        module = _parse_fragment(dedented) if fun.__name__ == "<lambda>" else None
        if module is None:
            raise NoSourceError(
                f"cannot parse the source of {fun.__qualname__!r}",
                filename=filename,
                lineno=firstlineno,
                hint="define the function with 'def' on lines of its own",
            ) from None
    ast.increment_lineno(module, firstlineno - 1)
    if indent:
        for node in ast.walk(module):
            if hasattr(node, "col_offset"):
                node.col_offset += indent
    node = _find_definition(module, fun, firstlineno)
    parsed = ParsedFunction(fun=fun, node=node, filename=filename, firstlineno=firstlineno)
    _check_fence(parsed)
    return parsed


def _indent_removed(text, dedented):
    first = next((line for line in text.splitlines() if line.strip()), "")
    first_dedented = next((line for line in dedented.splitlines() if line.strip()), "")
    return len(first) - len(first_dedented)


def _parse_fragment(text):
    """A lambda's source is the whole line it sits on; trim trailing text until it parses."""
    for end in range(len(text), max(len(text) - 400, 0), -1):
        try:
            return ast.parse(text[:end])
        except SyntaxError:
            continue
    return None


def _find_definition(module, fun, firstlineno):
    name = fun.__name__
    if name == "<lambda>":
        lambdas = [n for n in ast.walk(module) if isinstance(n, ast.Lambda)]
        argnames = list(fun.__code__.co_varnames[: fun.__code__.co_argcount])
        matches = [n for n in lambdas if [a.arg for a in n.args.args] == argnames]
        if len(matches) != 1:
            raise NoSourceError(
                "cannot tell which lambda on this line is the one to differentiate",
                filename=fun.__code__.co_filename,
                lineno=firstlineno,
                hint="give the function a name with 'def', or put one lambda per line",
            )
        return matches[0]
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    raise NoSourceError(
        f"cannot find the definition of {fun.__qualname__!r} in its source",
        filename=fun.__code__.co_filename,
        lineno=firstlineno,
        hint="define the function with 'def' in a file",
    )


def _check_fence(parsed):
    node = parsed.node
    if isinstance(node, ast.Lambda):
        body = [node.body]
        args = node.args
    else:
        body = node.body
        args = node.args
    if args.vararg or args.kwarg:
        star = args.vararg or args.kwarg
        raise located(
            UnsupportedSyntaxError,
            f"'*{star.arg}' parameters are not supported"
            if star is args.vararg
            else f"'**{star.arg}' parameters are not supported",
            parsed,
            star,
            hint="give each differentiated quantity a named parameter",
        )
    if args.posonlyargs:
        pass  # positional-only parameters are fine
    for sub in _fenced_nodes(body):
        kind = _FORBIDDEN.get(type(sub))
        if kind is not None:
            raise located(
                UnsupportedSyntaxError,
                f"{kind} is not supported in a differentiated function",
                parsed,
                sub,
                hint=_HINTS.get(type(sub)),
            )


# Constructs that change what the whole function is (a generator, a coroutine) or the scope of
# its names: refused wherever they are. The others are refused here unless they sit in the body of
# an 'if', whose condition may be concrete and false ('if DEBUG: import pdb; ...'); the trace
# raises the same error if it ever runs them.
_EVERYWHERE = (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFunctionDef)


def _fenced_nodes(body):
    """Every node of ``body``; inside the arms of an ``if`` only the ``_EVERYWHERE`` kinds."""
    stack = [(node, False) for node in body]
    while stack:
        node, in_if = stack.pop()
        if not in_if or isinstance(node, _EVERYWHERE):
            yield node
        if isinstance(node, ast.If):
            stack.append((node.test, in_if))
            stack.extend((child, True) for child in [*node.body, *node.orelse])
            continue
        stack.extend((child, in_if) for child in ast.iter_child_nodes(node))
