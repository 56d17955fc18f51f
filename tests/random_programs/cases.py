"""One random program and what to check about it (a ``Case``), and how to show it to a human.

Takes: what a generator drew (module source, the function's name, the arguments, the checks).
Returns: ``Case`` objects, whose ``reproduction()`` is a few lines of Python that rerun the
program exactly (floats by ``repr``, so bit for bit), and ``load`` to import its module from a
real file (symdiff reads the source with ``inspect``).
"""

import atexit
import importlib.util
import itertools
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np

_FOLDER = None
_counter = itertools.count()


@dataclass
class Case:
    family: str
    source: str  # the whole module's text
    args: tuple
    fname: str = "f"
    wrt: object = None  # as for grad(); None: every parameter
    checks: tuple = ("value_and_grad",)  # see checks.CHECKS
    exact: bool = False  # the value must be bit for bit f's own (or both nan)
    second: tuple = ()  # second-order checks: ("grad2", w1, w2), ("hvp",), ("hessian",)
    other_args: tuple = None  # arrays of another length, for an emitted module
    notes: dict = field(default_factory=dict)

    def __repr__(self):  # what hypothesis prints for a falsifying example
        return "\n" + self.reproduction()

    def reproduction(self):
        checks = ", ".join(self.checks + tuple(str(s) for s in self.second))
        lines = [
            f"# family {self.family!r}; checks: {checks}; exact value: {self.exact}",
            self.source.rstrip(),
            "",
            "",
            "# reproduce:",
            "import math, numpy as np, symdiff",
            f"args = {show_args(self.args)}",
        ]
        wrt = "" if self.wrt is None else f", wrt={self.wrt!r}"
        lines.append(f"print({self.fname}(*args))")
        lines.append(f"print(symdiff.value_and_grad({self.fname}{wrt})(*args))")
        if self.other_args is not None:
            lines.append(f"other_args = {show_args(self.other_args)}")
        return "\n".join(lines) + "\n"


def show(value):
    """``value`` as Python source that rebuilds it exactly."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, np.ndarray):
        return f"np.array([{', '.join(show(v) for v in value.ravel())}])" + (
            "" if value.ndim == 1 else f".reshape({value.shape})")
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return repr(value)


def show_args(args):
    return show(tuple(args))


def folder():
    """One temporary folder for the programs of this test run, made by the parent process (so the
    forked children share it) and removed when the parent exits."""
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = tempfile.mkdtemp(prefix="symdiff-random-programs-")
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and shutil.rmtree(_FOLDER, ignore_errors=True))
    return _FOLDER


def load(case):
    """Write the case's module to a fresh file and import it; its namespace (a dict)."""
    name = f"random_program_{case.family}_{os.getpid()}_{next(_counter)}"
    path = os.path.join(folder(), f"{name}.py")
    with open(path, "w") as handle:
        handle.write(case.source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module), path
