"""cli: the ``symdiff`` command.

Takes: command-line arguments. Returns: an exit status (0 success, 2 an error in the user's
function or a bad request, 130 interrupted), printing results to stdout and located errors to
stderr. ``show`` and ``emit`` import FILE: its top-level code runs (what it prints goes to stderr,
so that stdout holds only the result); ``emit -o OUT`` never writes over FILE, nor over an existing
OUT unless ``--force``.

    symdiff demo                 the seed example: formula, chain rule, generated code, value
    symdiff show FILE:FUNC       formulas, chain rule and generated code of FUNC in FILE
    symdiff emit FILE:FUNC       a standalone gradient module (Python or C) for FUNC in FILE
"""

import argparse
import contextlib
import importlib.util
import os
import sys

from .api import grad
from .errors import SymdiffError
from .export import LANGUAGES, emit
from .frontend.parse import signature as parse_signature
from .lower import checkpoints

EMIT_EXAMPLES = """\
  symdiff emit model.py:loss                  print a standalone Python module
  symdiff emit model.py:loss -o loss_grad.py  write it to a file (--force: over an existing one)
  symdiff emit model.py:loss -o loss_grad.c   C99 (the language follows a .c/.h suffix)
  symdiff emit model.py:loss --lang c --wrt x
  symdiff emit model.py:rosen --lang c --arrays x   x is a 1-D array: double *x, long n_x
  symdiff emit sim.py:loss --checkpoint sqrt     loops keep every sqrt(T)-th state on the tape
"""

EXAMPLES = f"""examples:
  symdiff demo
  symdiff show model.py:loss
  symdiff show model.py:loss --wrt x,y
{EMIT_EXAMPLES}
show and emit import FILE: its top-level code runs, as 'python FILE' would run it.

exit status: 0 on success, 2 when the function cannot be differentiated or FILE:FUNC is wrong,
130 when interrupted
"""


def _parser():
    parser = argparse.ArgumentParser(
        prog="symdiff",
        description="Symbolic, source-to-source gradients of Python functions.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="differentiate the seed example u = exp(sin(x**2))")
    show = commands.add_parser(
        "show", help="show formulas, chain rule and code of FILE:FUNC",
        description="Print the formulas, the chain rule and the generated code of FUNC.\n"
        "FILE is imported: its top-level code runs.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("target", metavar="FILE:FUNC")
    show.add_argument("--wrt", help="comma-separated parameter names (default: all)")
    show.add_argument("--checkpoint", metavar="K|sqrt", type=_checkpoint,
                      help="as for emit: the code shown checkpoints its loops kept as loops")
    export = commands.add_parser(
        "emit", help="write a standalone gradient module (Python or C) for FILE:FUNC",
        description="Print (or write to OUT) a module defining FUNC_grad and FUNC_value_and_grad\n"
        "that runs without symdiff. FILE is imported: its top-level code runs.",
        epilog="examples:\n" + EMIT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("target", metavar="FILE:FUNC")
    export.add_argument("-o", "--output", metavar="OUT",
                        help="write to OUT instead of stdout (never over FILE itself)")
    export.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    export.add_argument("--lang", choices=LANGUAGES,
                        help="python or c (default: c when OUT ends in .c or .h, else python)")
    export.add_argument("--wrt", help="comma-separated parameter names (default: all)")
    export.add_argument("--checkpoint", metavar="K|sqrt", type=_checkpoint,
                        help="loops kept as loops store every K-th state and recompute the rest "
                        "in the reverse sweep (sqrt: K = sqrt of the trip count); memory O(T/K + K) "
                        "instead of O(T)")
    export.add_argument("--arrays", metavar="X[:N],...",
                        help="C only: parameters that are 1-D float arrays (the C code takes any "
                        "length; N: the example length to trace at, default 4)")
    return parser


def load_function(target):
    """The function named by ``FILE:FUNC``; raises ``LookupError`` with a one-line reason."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise LookupError(f"expected FILE:FUNC, got {target!r}")
    if not os.path.isfile(path):
        raise LookupError(f"no such file: {path}")
    module_name = "_symdiff_user_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the result only
            spec.loader.exec_module(module)
    except SystemExit as exc:  # the module's top-level code called sys.exit()
        raise LookupError(f"cannot import {path}: its top-level code called sys.exit({exc.code!r})") from None
    except Exception as exc:  # the user's module failed to import
        raise LookupError(f"cannot import {path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    func = getattr(module, name, None)
    if func is None:
        raise LookupError(f"{path} has no function {name!r}")
    func = getattr(func, "fun", func)  # a @grad-decorated function: its original
    if not callable(func):
        raise LookupError(f"{path}: {name!r} is not a function (its type is {type(func).__name__})")
    return func


def _checkpoint(text):
    """``--checkpoint``'s value: ``sqrt`` or an int >= 1 (``checkpoints.checked``; argparse
    reports anything else)."""
    try:
        return checkpoints.checked(text if text == checkpoints.SQRT else int(text))
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an int >= 1 or 'sqrt', got {text!r}") from None


def _wrt(text):
    if not text:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    return names[0] if len(names) == 1 else names


def show(g):
    """The report ``symdiff show`` prints for the gradient ``g``."""
    out = ["Formulas:"]
    formulas = g.formulas
    for name, formula in formulas.items():
        out.append(f"  d{g.fun.__name__}/d{name} = {formula}")
    if formulas.recurrences:  # a loop kept as a loop: the sequences the formulas name
        out.append("  where")
        out += ["    " + line for recurrence in formulas.recurrences for line in recurrence.lines()]
    out += ["", g.explain(), "", "Generated code:", "", g.source]
    return "\n".join(out)


def main(argv=None):
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("symdiff: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (symdiff show ... | head): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(argv):
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from . import demo

            g = grad(demo.u)
            print("The seed example (symdiff/demo.py):")
            print()
            print("    def u(x):\n        y = x ** 2\n        z = math.sin(y)\n        return math.exp(z)")
            print()
            print(show(g))
            print(f"du/dx at x = 2.0: {g(2.0)!r}")
            return 0
        if args.command == "show":
            g = grad(load_function(args.target), wrt=_wrt(args.wrt), checkpoint=args.checkpoint)
            print(show(g))
            return 0
        if args.command == "emit":
            return _emit(args)
    except LookupError as exc:
        print(f"symdiff: {exc.args[0]}", file=sys.stderr)
        return 2
    except (SymdiffError, TypeError, ValueError) as exc:
        print(f"symdiff: {exc}", file=sys.stderr)
        return 2
    return 0  # pragma: no cover


def _emit(args):
    language = args.lang
    if language is None:
        suffix = os.path.splitext(args.output or "")[1].lower()
        language = "c" if suffix in (".c", ".h") else "python"
    if args.output is not None:
        _check_output(args.output, args.target.rpartition(":")[0], args.force)
    fun = load_function(args.target)
    example = None
    if args.arrays:
        if language != "c":
            raise LookupError("--arrays is for --lang c (C code takes any length); for a Python "
                              "module of arrays use symdiff.emit(f, args=...)")
        example = _example_arguments(fun, args.arrays)
    text = emit(fun, wrt=_wrt(args.wrt), language=language, args=example, checkpoint=args.checkpoint)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w" if args.force else "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise LookupError(f"{args.output} exists; pass --force to overwrite it") from None
    except OSError as exc:
        raise LookupError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    name = fun.__name__ if fun.__name__.isidentifier() else "f"
    print(f"wrote {args.output} ({language}: {name}_grad, {name}_value_and_grad)")
    return 0


def _check_output(output, source, force):
    """Refuse to write over the input file (ever) or an existing file (without ``--force``)."""
    if not os.path.exists(output):
        return
    if os.path.isfile(source) and os.path.samefile(output, source):
        raise LookupError(f"refusing to write {output}: it is the input file {source}")
    if not force:
        raise LookupError(f"{output} exists; pass --force to overwrite it")


def _example_arguments(fun, text):
    """Arguments to trace ``fun`` at: ``np.ones(N)`` for each array named in ``text``, else 1.0."""

    import numpy as np

    lengths = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition(":")
        if not count.strip().isdigit() and count:
            raise LookupError(f"--arrays: expected NAME or NAME:LENGTH, got {part!r}")
        lengths[name.strip()] = int(count) if count else 4
    names = list(parse_signature(fun).parameters)
    unknown = sorted(set(lengths) - set(names))
    if unknown:
        raise LookupError(f"--arrays: {fun.__name__} has no parameter {unknown[0]!r}")
    return tuple(np.ones(lengths[n]) if n in lengths else 1.0 for n in names)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
