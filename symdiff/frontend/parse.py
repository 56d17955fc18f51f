"""Parse: a Python function object -> its checked ``ast.FunctionDef`` with absolute line numbers.

Takes: a plain Python function (``def`` or ``lambda``). Returns: a ``ParsedFunction`` holding the
definition's AST (line numbers as in the user's file, columns as in the file's lines), the file name
and the function. Every construct symdiff can never differentiate through raises a located
``SymdiffError`` here, before any work is done; the tracer rejects the rest where it meets it.

The source read is the source of the code that runs: that of ``fun.__code__`` (a
``functools.wraps`` wrapper is read as itself, not as the function it wraps), and it must compile
to that very code (``same_code``): a file edited after import, or a cached text that belongs to
another function defined at the same place, is a located ``StaleSourceError``, never a gradient
of code that does not run.
"""

import __future__

import ast
import inspect
import re
import textwrap
import types
from dataclasses import dataclass

from ..errors import NoSourceError, StaleSourceError, UnsupportedSyntaxError


@dataclass(frozen=True)
class ParsedFunction:
    """The user's function, its definition's AST and where it lives."""

    fun: object
    node: ast.AST  # ast.FunctionDef, or ast.Lambda for a lambda
    filename: str
    firstlineno: int
    code: object = None  # the code object the source was checked to compile to (fun.__code__)

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
    code = fun.__code__
    filename = code.co_filename
    try:  # of the code object: inspect.getsourcelines(fun) would follow __wrapped__
        file_lines, start = inspect.findsource(code)
        lines = inspect.getblock(file_lines[start:])
    except (OSError, TypeError, IndexError) as exc:
        raise NoSourceError(
            f"cannot read the source of {fun.__qualname__!r} ({exc})",
            hint="define the function in a file (or a notebook cell); functions built with "
            "exec() or typed at a plain interpreter prompt have no source to read",
        ) from None
    firstlineno = max(start + 1, 1)
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    indent = _indent_removed(text, dedented)
    try:
        module = ast.parse(dedented)
    except (SyntaxError, RecursionError, MemoryError):
        module = _parse_fragment(dedented) if code.co_name == "<lambda>" else None
        if module is None:
            raise NoSourceError(
                f"cannot parse the source of {fun.__qualname__!r}",
                filename=filename,
                lineno=firstlineno,
                hint="define the function with 'def' on lines of its own",
            ) from None
    ast.increment_lineno(module, firstlineno - 1)
    if indent:
        for sub in ast.walk(module):
            if hasattr(sub, "col_offset"):
                sub.col_offset += indent
            if getattr(sub, "end_col_offset", None) is not None:
                sub.end_col_offset += indent
    node = _running_definition(_definitions(module, fun), file_lines, fun, firstlineno)
    parsed = ParsedFunction(fun=fun, node=node, filename=filename, firstlineno=firstlineno,
                            code=code)
    _check_fence(parsed)
    return parsed


def signature(fun):
    """``fun``'s parameters as its code has them (``inspect.signature`` without following a
    ``functools.wraps`` wrapper's ``__wrapped__``: the wrapper is what runs)."""
    return inspect.signature(fun, follow_wrapped=False)


def _indent_removed(text, dedented):
    first = next((line for line in text.splitlines() if line.strip()), "")
    first_dedented = next((line for line in dedented.splitlines() if line.strip()), "")
    return len(first) - len(first_dedented)


def _parse_fragment(text):
    """A lambda's source is the whole line it sits on; trim trailing text until it parses. Where
    what parses holds no lambda (the line opens a compound statement, ``try: f(lambda x: ...)``),
    each ``lambda`` in the text is parsed from its own start, trimmed the same way."""
    for end in range(len(text), max(len(text) - 400, 0), -1):
        try:
            module = ast.parse(text[:end])
        except SyntaxError:
            continue
        if any(isinstance(n, ast.Lambda) for n in ast.walk(module)):
            return module
        break
    found = []
    lines = text.splitlines(True)
    for row, line in enumerate(lines):
        for start in (m.start() for m in re.finditer(r"\blambda\b", line)):
            rest = line[start:].rstrip("\n")
            for end in range(len(rest), 6, -1):
                try:
                    expr = ast.parse(rest[:end], mode="eval").body
                except SyntaxError:
                    continue
                if isinstance(expr, ast.Lambda):
                    for sub in ast.walk(expr):  # back to where the text has it
                        if hasattr(sub, "lineno"):
                            sub.lineno += row
                            sub.end_lineno = (sub.end_lineno or sub.lineno) + row
                            sub.col_offset += start
                            sub.end_col_offset = (sub.end_col_offset or 0) + start
                    found.append(ast.Expr(expr, lineno=row + 1, col_offset=start,
                                          end_lineno=row + 1, end_col_offset=start + end))
                break
    return ast.Module(found, type_ignores=[]) if found else None


def _definitions(module, fun):
    """The definitions in ``module`` that may be ``fun``'s: lambdas with its parameters, or
    ``def`` s of its code's name (``co_name``: a wrapper copies its wrapped function's
    ``__name__``, not its code), the one starting on its code's first line first."""
    code = fun.__code__
    if code.co_name == "<lambda>":
        argnames = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        return [n for n in ast.walk(module) if isinstance(n, ast.Lambda)
                and [a.arg for a in [*n.args.posonlyargs, *n.args.args, *n.args.kwonlyargs]] == argnames]
    found = [n for n in ast.walk(module)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == code.co_name]
    return sorted(found, key=lambda n: _first_line(n) != code.co_firstlineno)


def _first_line(node):
    """The line a definition's code object starts on: its first decorator's, else its own."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _running_definition(candidates, file_lines, fun, firstlineno):
    """The candidate that is ``fun``'s definition, having checked that the text read compiles to
    the code that runs; else a located error."""
    code = fun.__code__
    if not candidates:
        raise NoSourceError(
            f"cannot find the definition of {fun.__qualname__!r} in its source",
            filename=code.co_filename,
            lineno=firstlineno,
            hint="define the function with 'def' in a file",
        )
    running = _running_code(file_lines, fun)
    if running is None:
        raise StaleSourceError(
            f"the source symdiff reads for {fun.__qualname__!r} is not the code that runs: "
            f"{code.co_filename} changed after the function was defined, or the text cached for "
            "it belongs to another function defined at the same place",
            filename=code.co_filename,
            lineno=firstlineno,
            hint="re-import the module (importlib.reload) or re-run the cell that defines the "
            "function, then differentiate it again",
        )
    if len(candidates) == 1 or code.co_name != "<lambda>":
        return candidates[0]
    # Lambdas with the same parameters on one line: the one whose body holds the code's first
    # instruction after RESUME (the innermost, for a lambda in a lambda).
    first = next(((line, col) for line, _, col, _ in list(running.co_positions())[1:]
                  if line is not None and col is not None), None)
    holding = [n for n in candidates if first is not None and (n.body.lineno, n.body.col_offset)
               <= first < (n.body.end_lineno, n.body.end_col_offset)]
    if holding:
        return min(holding, key=lambda n: (n.body.end_lineno - n.body.lineno,
                                           n.body.end_col_offset - n.body.col_offset))
    raise NoSourceError(
        "cannot tell which lambda on this line is the one to differentiate",
        filename=code.co_filename,
        lineno=firstlineno,
        hint="give the function a name with 'def', or put one lambda per line",
    )


# Compiler flags a module's 'from __future__ import ...' sets (they show in co_flags).
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

_compiled_files = {}  # file name -> (its lines as linecache holds them, flags, their module code)
_MAX_COMPILED_FILES = 64


def _running_code(file_lines, fun):
    """The code object the text ``file_lines`` (all of ``fun``'s file, as ``inspect`` read it)
    defines where ``fun`` was defined, if it is the code that runs (``same_code``); else None.

    The whole file is compiled, so that the definition compiles in its own context (closures,
    classes, the module's imports and ``from __future__``); once per file text (linecache
    keeps one list of lines per text).
    """
    code = fun.__code__
    flags = (code.co_flags & _FUTURE_FLAGS) | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    cached = _compiled_files.get(code.co_filename)
    if cached is not None and cached[0] is file_lines and cached[1] == flags:
        module = cached[2]
    else:
        module = _compile_file(file_lines, code.co_filename, flags, fun.__globals__)
        _compiled_files.pop(code.co_filename, None)
        _compiled_files[code.co_filename] = (file_lines, flags, module)
        while len(_compiled_files) > _MAX_COMPILED_FILES:  # the oldest goes first
            del _compiled_files[next(iter(_compiled_files))]
    if module is None:
        return None
    for candidate in _code_objects(module):
        if candidate.co_name == code.co_name and candidate.co_firstlineno == code.co_firstlineno \
                and same_code(candidate, code):
            return candidate
    return None


def _compile_file(file_lines, filename, flags, module_globals):
    """The module code of ``file_lines`` (None if it does not compile), asserts rewritten as
    pytest's import hook rewrites them in a module it imported."""
    text = "".join(file_lines)
    try:
        loader = module_globals.get("__loader__")
        if type(loader).__name__ == "AssertionRewritingHook" and "assert" in text:
            from _pytest.assertion.rewrite import rewrite_asserts

            tree = ast.parse(text, filename)
            rewrite_asserts(tree, text.encode("utf-8"), filename)
            return compile(tree, filename, "exec", flags=flags, dont_inherit=True)
        # From the text, not an AST: compiling an AST recurses in Python on deep expressions.
        return compile(text, filename, "exec", flags=flags, dont_inherit=True)
    except Exception:  # a text that does not compile is not the code that runs
        return None


def _code_objects(code):
    """``code`` and every code object nested in its constants."""
    stack = [code]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))


_SAME = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_code",
         "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_name")


def same_code(a, b):
    """Whether two code objects do the same: the same bytecode over the same names, constants
    (nested code compared likewise) and lines; columns and the qualified name aside."""
    if any(getattr(a, attr) != getattr(b, attr) for attr in _SAME):
        return False
    if a.co_flags != b.co_flags or a.co_firstlineno != b.co_firstlineno:
        return False
    if getattr(a, "co_exceptiontable", None) != getattr(b, "co_exceptiontable", None):
        return False
    if [line for *_, line in a.co_lines()] != [line for *_, line in b.co_lines()]:
        return False
    return len(a.co_consts) == len(b.co_consts) and all(
        _same_constant(x, y) for x, y in zip(a.co_consts, b.co_consts))


def _same_constant(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, types.CodeType):
        return same_code(a, b)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_constant(x, y) for x, y in zip(a, b))
    if isinstance(a, frozenset):
        return a == b
    return repr(a) == repr(b)  # -0.0 is not 0.0; nan is nan


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
            hint=_wrapper_hint(parsed.fun) or "give each differentiated quantity a named parameter",
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


def _wrapper_hint(fun):
    """For a decorator's wrapper (it has ``__wrapped__``): what symdiff reads, and what to do."""
    wrapped = getattr(fun, "__wrapped__", None)
    if wrapped is None:
        return None
    return (f"{fun.__qualname__} is a decorator's wrapper (functools.wraps) of "
            f"{getattr(wrapped, '__qualname__', 'a function')}: symdiff differentiates the code "
            "that runs, the wrapper; give the wrapper named parameters, or differentiate the "
            "undecorated function (its __wrapped__)")


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
