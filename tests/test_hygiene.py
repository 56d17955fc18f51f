"""Differentiate what runs, and generate code that nothing from outside can break (issue 11).

Items 11 (functools.wraps decorators), 12 (source that is not the code that runs: edited files,
reused cache entries, helpers and defaults rebound), 13 (two registered functions of one name),
16 (file paths and names in generated docstrings and comments), 17 (parameter names that
generated code uses: builtins, helpers, C's <stdlib.h>) and the hostile-path test: a module under
a directory named with a backslash-U, triple quotes, a newline, '*/' and '??/', differentiated
and exported to Python and C.

References: closed forms differentiated by ``sympy.diff`` (written out by hand here), mpmath at
50 digits (``tests/reference.py``), and, for values, the user's own function run by Python.
"""

import builtins
import importlib.util
import linecache
import math
import sys

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import (
    ExportError,
    StaleSourceError,
    SymdiffError,
    UnsupportedSyntaxError,
    emit,
    grad,
    hessian,
    jacobian,
    value_and_grad,
)
from symdiff.backends.safe_text import c_comment, python_comment, python_docstring

from .reference import close, mp_grad
from .test_c_arrays import c_gradient
from .test_c_code import compile_library

X = sympy.Symbol("x", real=True)


def load(path, name, source, **attributes):
    """The module ``source`` written to ``path`` and imported (``attributes`` set before it runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(attributes)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def at(expr, value):
    """A closed form (a SymPy expression in ``X``) at ``value``, as a float."""
    return float(expr.subs(X, value))


@pytest.fixture
def no_modules():
    """Modules the test puts in ``sys.modules`` are taken out again."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


# ---------------------------------------------------------------------------------------------
# 11. functools.wraps: the wrapper is what runs
# ---------------------------------------------------------------------------------------------

DECORATED = '''\
import functools
import math


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


def capped(fn):
    @functools.wraps(fn)
    def wrapper(x):
        y = fn(x)
        if y < 1.0:
            return y
        return 1.0 + math.log(y)
    return wrapper


def generic(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return wrapper


@doubled
def f(x):
    return x * x * math.sin(x)


@capped
def g(x):
    return x * x


@generic
def h(x):
    return x * x
'''


def test_a_wraps_decorator_is_differentiated_as_it_runs(tmp_path, no_modules):
    module = load(tmp_path / "decorated.py", "decorated", DECORATED)
    want = sympy.diff(2 * X**2 * sympy.sin(X), X)  # f as it runs: 2 * (x^2 sin x)
    for x in (1.5, -0.4):
        assert close(grad(module.f)(x), at(want, x))
        value, gradient = value_and_grad(module.f)(x)
        assert value == module.f(x) and close(gradient, at(want, x))
    assert close(grad(module.f)(2), at(want, 2))  # an int argument
    # the undecorated function, when that is what is asked for
    assert close(grad(module.f.__wrapped__)(1.5), at(sympy.diff(X**2 * sympy.sin(X), X), 1.5))
    # exported: the wrapper too
    namespace = {}
    exec(compile(emit(module.f), "emitted", "exec"), namespace)
    assert close(namespace["f_grad"](1.5), at(want, 1.5))


def test_a_wraps_decorator_with_a_branch_on_both_sides(tmp_path, no_modules):
    module = load(tmp_path / "decorated.py", "decorated", DECORATED)
    g = value_and_grad(module.g)
    for x, want in ((0.5, sympy.diff(X**2, X)), (2.0, sympy.diff(1 + sympy.log(X**2), X))):
        value, gradient = g(x)
        assert value == module.g(x) and close(gradient, at(want, x))


def test_a_wrapper_taking_args_and_kwargs_is_a_located_refusal(tmp_path, no_modules):
    module = load(tmp_path / "decorated.py", "decorated", DECORATED)
    with pytest.raises(UnsupportedSyntaxError) as caught:
        grad(module.h)
    error = caught.value
    assert error.filename == str(tmp_path / "decorated.py")
    assert error.source_line.strip() == "def wrapper(*args, **kwargs):"
    assert "decorator's wrapper" in error.hint and "__wrapped__" in error.hint
    assert close(grad(module.h.__wrapped__)(1.5), 3.0)  # d x^2/dx at 1.5


# ---------------------------------------------------------------------------------------------
# 12. the source read must be the code that runs
# ---------------------------------------------------------------------------------------------


def test_a_module_edited_after_import_is_refused_until_reloaded(tmp_path, no_modules):
    path = tmp_path / "edited.py"
    module = load(path, "edited", "import math\n\n\ndef f(x):\n    return math.sin(x)\n")
    path.write_text("import math\n\n\ndef f(x):\n    return math.cos(x) * x * x  # edited\n")
    with pytest.raises(StaleSourceError) as caught:
        grad(module.f)
    error = caught.value
    assert error.filename == str(path) and error.lineno == 4
    assert "not the code that runs" in error.message and "importlib.reload" in error.hint
    assert isinstance(error, SymdiffError)
    module.__spec__.loader.exec_module(module)  # what importlib.reload does
    assert close(grad(module.f)(0.7), at(sympy.diff(sympy.cos(X) * X**2, X), 0.7))


def test_a_reused_cache_entry_is_refused(tmp_path):
    filename = "<cell-reused>"

    def define(source):
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        namespace = {}
        exec(compile(source, filename, "exec"), namespace)
        return namespace["f"]

    try:
        first = define("def f(x):\n    return x * x\n")
        second = define("def f(x):\n    return x * x * x\n")
        with pytest.raises(StaleSourceError):
            grad(first)
        assert close(grad(second)(1.5), 3 * 1.5**2)
    finally:
        linecache.cache.pop(filename, None)


HELPERS = '''\
import math

K = 2.0


def helper(x, k=2.0):
    return x ** k


def cube(x, k=3.0):
    return x ** k


def uses_helper(x):
    return helper(x) * 2.0


def uses_kw(x):
    return power(x)


def power(x, *, k=2.0):
    return x ** k


def uses_module_attribute(x):
    return other.helper(x) * other.K


def defaults(x, k=2.0):
    return x ** k


def make():
    h = helper

    def closure(x):
        return h(x) * 3.0

    def rebind(new):
        nonlocal h
        h = new

    return closure, rebind
'''


def test_a_helper_rebound_after_decoration_is_followed(tmp_path, no_modules):
    module = load(tmp_path / "helpers_rebound.py", "helpers_rebound", HELPERS)
    g = grad(module.uses_helper)
    assert close(g(1.5), 2 * 2 * 1.5)
    module.helper = module.cube  # a notebook re-defines the helper
    assert close(g(1.5), 2 * 3 * 1.5**2)
    assert close(g(2), 2 * 3 * 2**2)  # the int path too
    module.cube.__defaults__ = (4.0,)  # its defaults
    assert close(g(1.5), 2 * 4 * 1.5**3)
    value, gradient = value_and_grad(module.uses_helper)(1.5)
    assert value == module.uses_helper(1.5) and close(gradient, 2 * 4 * 1.5**3)
    del module.helper
    with pytest.raises(SymdiffError, match="name 'helper' is not defined"):
        g(1.5)


def test_keyword_defaults_and_the_functions_own_defaults_rebound(tmp_path, no_modules):
    module = load(tmp_path / "helpers_rebound.py", "helpers_rebound", HELPERS)
    g = grad(module.uses_kw)
    assert close(g(1.5), 2 * 1.5)
    module.power.__kwdefaults__ = {"k": 3.0}
    assert close(g(1.5), 3 * 1.5**2)
    own = grad(module.defaults, wrt="x")
    assert close(own(1.5), 2 * 1.5)
    module.defaults.__defaults__ = (3.0,)  # the function's own default, left out of the call
    assert close(own(1.5), 3 * 1.5**2) and close(own(1.5, 2.0), 2 * 1.5)


def test_a_closure_held_function_rebound_is_followed(tmp_path, no_modules):
    module = load(tmp_path / "helpers_rebound.py", "helpers_rebound", HELPERS)
    closure, rebind = module.make()
    g = grad(closure)
    assert close(g(1.5), 3 * 2 * 1.5)
    rebind(module.cube)
    assert close(g(1.5), 3 * 3 * 1.5**2)
    assert close(hessian(closure)(1.5)[0, 0], 3 * 6 * 1.5)


def test_another_modules_functions_and_numbers_are_read_as_they_are_now(tmp_path, no_modules):
    other = load(tmp_path / "other_module.py", "other_module", HELPERS)
    module = load(tmp_path / "uses_other.py", "uses_other", HELPERS, other=other)
    g = grad(module.uses_module_attribute)
    assert close(g(1.5), 2 * 1.5 * 2.0)
    other.K = 5.0  # a number of the other module: read when the gradient runs
    assert close(g(1.5), 2 * 1.5 * 5.0)
    other.helper = other.cube
    assert close(g(1.5), 3 * 1.5**2 * 5.0)
    assert close(jacobian(module.uses_module_attribute)(1.5)[0, 0], 3 * 1.5**2 * 5.0)


ORDER = 3


def differentiated_here_with_an_assert(x):
    """Defined in a module pytest rewrites the asserts of: still the code that runs."""
    assert ORDER > 0, "a concrete check, run while symdiff reads the function"
    return math.exp(x) * x


def test_a_function_in_a_module_whose_asserts_pytest_rewrote():
    want = sympy.diff(sympy.exp(X) * X, X)
    assert close(grad(differentiated_here_with_an_assert)(0.3), at(want, 0.3))


def test_lambdas_alike_on_one_line_are_told_apart_by_their_code():
    pair = (lambda x: x * x * x, lambda x: math.sin(x) * x)
    assert close(grad(pair[0])(1.5), 3 * 1.5**2)
    assert close(grad(pair[1])(1.5), at(sympy.diff(sympy.sin(X) * X, X), 1.5))


# ---------------------------------------------------------------------------------------------
# 13. two registered functions of one name
# ---------------------------------------------------------------------------------------------


def test_two_registered_functions_named_alike_keep_their_own_rules(tmp_path, no_modules):
    mod_a = load(tmp_path / "a" / "mod_a.py", "mod_a", "import math\n\ndef act(x):\n    return math.tanh(x)\n")
    mod_b = load(tmp_path / "b" / "mod_b.py", "mod_b", "def act(x):\n    return x * x * x\n")
    user = load(tmp_path / "uses_acts.py", "uses_acts", '''\
import math


def da(x):
    return 1.0 - math.tanh(x) ** 2


def db(x):
    return 3.0 * x * x


def f(x):
    return mod_a.act(x) + 10.0 * mod_b.act(x)


def local_named_act(x):
    act = mod_a.act(x)
    return act * mod_b.act(x)
''', mod_a=mod_a, mod_b=mod_b)
    symdiff.register(mod_a.act, user.da)
    symdiff.register(mod_b.act, user.db)
    try:
        want_f = sympy.diff(sympy.tanh(X) + 10 * X**3, X)
        want_local = sympy.diff(sympy.tanh(X) * X**3, X)
        for x in (0.7, -1.3):
            value, gradient = value_and_grad(user.f)(x)
            assert value == user.f(x) and close(gradient, at(want_f, x))
            value, gradient = value_and_grad(user.local_named_act)(x)
            assert value == user.local_named_act(x) and close(gradient, at(want_local, x))
        source = grad(user.f).source
        assert "act(x)" in source or "act_1(x)" in source
        assert close(grad(grad(user.f))(0.7), at(sympy.diff(want_f, X), 0.7))
    finally:
        symdiff.unregister(mod_a.act)
        symdiff.unregister(mod_b.act)


# ---------------------------------------------------------------------------------------------
# 16. text from outside in generated code
# ---------------------------------------------------------------------------------------------

HOSTILE_TEXTS = [
    "C:\\Users\\me\\model.py",
    'a"""\n__import__("builtins").SYMDIFF_INJECTED = 1\n"""',
    "tab\tform\x0cfeed\u2028line\rreturn",
    "ends with a quote\"",
    "ends with a backslash\\",
    "*/ /* ??/ ??= end",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_safe_text_keeps_outside_strings_inside_their_construct(text):
    namespace = {}
    source = f"def f():\n    {python_docstring(text)}\n    # {python_comment(text)}\n    return 1\n"
    exec(compile(source, "safe", "exec"), namespace)
    assert namespace["f"].__doc__ == text and namespace["f"]() == 1
    assert len(source.splitlines()) == 4  # nothing broke out of its line
    assert not hasattr(builtins, "SYMDIFF_INJECTED")
    comment = c_comment(text)
    assert "*/" not in comment and "/*" not in comment and "??" not in comment
    assert python_docstring("plain text") == '"""plain text"""'  # readable text unchanged


# ---------------------------------------------------------------------------------------------
# 17. user names that generated code uses
# ---------------------------------------------------------------------------------------------

NAMES = '''\
import math as m
import numpy as np


def f_self(self):
    return self * self * m.sin(self)


def f_float(float, type):
    return m.floor(float) * float * type + m.fabs(type)


def f_round(round, abs, min, max):
    return round * abs + m.floor(min) * max + m.copysign(1.0, abs) * m.trunc(round)


def f_helpers(_digamma, _polygamma):
    return m.lgamma(_digamma) * _polygamma


def f_modules(math, numpy):
    return m.lgamma(math) + m.floor(numpy) * numpy


def f_arrays(float, _scatter, numpy):
    return np.sum(np.tanh(float) * float * _scatter[1:]) + abs(_scatter[0]) * numpy
'''


def piecewise_constant_diff(expr, symbol):
    """``sympy.diff``, with floor/sign steps flat (0) away from their jumps."""
    derivative = sympy.diff(expr, symbol)
    return derivative.replace(lambda e: isinstance(e, (sympy.Derivative, sympy.DiracDelta)),
                              lambda e: sympy.S.Zero)


def test_parameters_named_like_what_generated_code_uses(tmp_path, no_modules):
    module = load(tmp_path / "names_taken.py", "names_taken", NAMES)
    a, b, c, d = sympy.symbols("a b c d", real=True)
    cases = [
        (module.f_self, (a,), a * a * sympy.sin(a), [(1.5,), (2,)]),
        (module.f_float, (a, b), sympy.floor(a) * a * b + sympy.Abs(b), [(1.5, -2.5), (2, 3)]),
        (module.f_round, (a, b, c, d), a * b + sympy.floor(c) * d + sympy.sign(b) * sympy.floor(a),
         [(1.5, -2.5, 0.7, 3.0), (2, 3, -1, 4)]),
        (module.f_helpers, (a, b), sympy.loggamma(a) * b, [(1.5, 0.5), (3, 2)]),
        (module.f_modules, (a, b), sympy.loggamma(a) + sympy.floor(b) * b, [(1.5, 2.5), (3, 2)]),
    ]
    for f, symbols, closed, points in cases:
        for point in points:
            subs = dict(zip(symbols, point))
            want = tuple(float(piecewise_constant_diff(closed, s).subs(subs)) for s in symbols)
            got = grad(f)(*point)
            got = got if isinstance(got, tuple) else (got,)
            assert all(close(g, w) for g, w in zip(got, want)), (f.__name__, point, got, want)
            value, gradient = value_and_grad(f)(*point)
            gradient = gradient if isinstance(gradient, tuple) else (gradient,)
            assert value == f(*point) and all(close(g, w) for g, w in zip(gradient, want))
            namespace = {}
            exec(compile(emit(f), "emitted", "exec"), namespace)
            exported = namespace[f"{f.__name__}_grad"](*map(float, point))
            exported = exported if isinstance(exported, tuple) else (exported,)
            assert all(close(g, w) for g, w in zip(exported, want)), (f.__name__, point)
    x, s = np.array([1.5, -0.5, 2.25]), np.array([0.5, 2.0, -1.0, 0.25])
    want = mp_grad(module.f_arrays, (x, s, 0.75))
    got = grad(module.f_arrays)(x, s, 0.75)
    assert all(np.allclose(g, np.array(w, dtype=float), rtol=1e-12) for g, w in zip(got, want))
    namespace = {}
    exec(compile(emit(module.f_arrays, args=(x, s, 0.75)), "emitted", "exec"), namespace)
    exported = namespace["f_arrays_grad"](x, s, 0.75)
    assert all(np.allclose(g, np.array(w, dtype=float), rtol=1e-12) for g, w in zip(exported, want))


C_NAMES = '''\
import math
import numpy as np


def f(NULL, free, malloc, size_t, EXIT_SUCCESS):
    return (np.sum(100.0 * (NULL[1:] - NULL[:-1] ** 2) ** 2 + (1.0 - free[:-1]) ** 2)
            + np.sum(np.sin(malloc)) * size_t + EXIT_SUCCESS * np.sum(NULL))


def g(NULL, abort, exit, unix):
    return math.sin(NULL) * abort + exit * unix
'''


def test_c_parameters_named_like_stdlib_names_compile(tmp_path, no_modules):
    module = load(tmp_path / "c_names_taken.py", "c_names_taken", C_NAMES)
    n = 5
    rng = np.random.default_rng(5)
    args = (rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), 0.7, -1.3)
    sources = {"f": emit(module.f, language="c", args=(np.ones(4), np.ones(4), np.ones(4), 1.0, 1.0)),
               "g": emit(module.g, language="c")}
    assert "#include <stdlib.h>" in sources["f"]  # the names that header declares are taken
    library = compile_library(tmp_path, sources)
    gradient, (value, _) = c_gradient(library, module.f, args)
    want = mp_grad(module.f, args)
    for got, expected in zip(gradient, want):
        assert np.allclose(np.asarray(got, dtype=float), np.array(expected, dtype=float), rtol=1e-12)
    assert close(value, module.f(*args))
    point = (0.3, 1.7, -0.4, 2.5)
    gradient, (value, _) = c_gradient(library, module.g, point)
    for got, expected in zip(gradient, mp_grad(module.g, point)):
        assert close(got, expected)
    assert close(value, module.g(*point))


# ---------------------------------------------------------------------------------------------
# The hostile path: a module under a directory named with a backslash-U, triple quotes, a newline
# (and '*/', '??/' for C), its helper in a file whose name holds a newline
# ---------------------------------------------------------------------------------------------

INJECTION = "\n__import__('builtins').SYMDIFF_INJECTED = 1\n"
HOSTILE_DIR = 'C:\\Users\\u"""' + INJECTION + '"""*'  # '*' then '/': '*/' in the path
HOSTILE_HELPER = "helper" + INJECTION + "#.py"

HOSTILE_MODULE = '''\
import math

import numpy as np

SCALE = 1.5
COUNT = 2
W = np.array([0.5, -1.0, 2.0])


def scalar(x, y):
    if x > 0.2:
        r = math.sin(x) * y * SCALE
    else:
        r = x * x * y - SCALE
    return r + bump(x)


def counted(x, n):
    s = 0.0
    for i in range(n + COUNT):
        s = s + math.cos(x * i)
    return s


def arrays(x):
    return np.sum(np.sin(x) * W) + np.sum(x * x) * SCALE + bump(x[0])


def c_arrays(x, c):
    return np.sum(np.sin(x) * x) * c + np.sum(x * x) * SCALE
'''

HELPER_MODULE = '''\
import math


def bump(x):
    t = x * x
    return math.exp(-t) * 0.5
'''


@pytest.fixture
def hostile(tmp_path, no_modules):
    folder = tmp_path / HOSTILE_DIR / "??"  # '??/' is a backslash in C99 (trigraphs)
    try:
        helper = load(folder / HOSTILE_HELPER, "hostile_helper", HELPER_MODULE)
    except OSError:
        pytest.skip("the file system does not take such names")
    module = load(folder / "hostile_module.py", "hostile_module", HOSTILE_MODULE, bump=helper.bump)
    yield module
    assert not hasattr(builtins, "SYMDIFF_INJECTED"), "code from a file name ran"


def compiles(source):
    compile(source, "generated", "exec")
    return True


def test_the_hostile_path_in_python(hostile):
    assert "\\U" in hostile.__file__ and '"""' in hostile.__file__ and "\n" in hostile.__file__
    for x, y in ((0.7, -1.2), (0.1, 2.5)):  # both sides of the branch
        want = mp_grad(hostile.scalar, (x, y))
        assert all(close(g, w) for g, w in zip(grad(hostile.scalar)(x, y), want))
        value, gradient = value_and_grad(hostile.scalar)(x, y)
        assert value == hostile.scalar(x, y) and all(close(g, w) for g, w in zip(gradient, want))
    assert all(close(g, w) for g, w in zip(grad(hostile.scalar)(1, 2), mp_grad(hostile.scalar, (1, 2))))
    g = grad(hostile.scalar)
    assert compiles(g.source)
    assert "# helper\\n__import__" in g.source  # the helper's file name, escaped, in a comment
    counted = value_and_grad(hostile.counted, wrt="x")  # an int argument specialised on
    value, gradient = counted(0.7, 3)
    assert value == hostile.counted(0.7, 3)
    assert close(gradient, mp_grad(hostile.counted, (0.7, 3), wrt="x")[0])
    assert compiles(counted.source)
    x = np.array([0.3, -0.8, 1.1])
    want = np.array(mp_grad(hostile.arrays, (x,))[0], dtype=float)
    arrays = value_and_grad(hostile.arrays)
    value, gradient = arrays(x)
    assert close(value, hostile.arrays(x)) and np.allclose(gradient, want, rtol=1e-12)
    assert compiles(arrays.source)
    for f, args in ((hostile.scalar, None), (hostile.arrays, (x,))):
        text = emit(f, args=args)
        namespace = {}
        exec(compile(text, "emitted", "exec"), namespace)
        point = args or (0.7, -1.2)
        got = namespace[f"{f.__name__}_grad"](*point)
        want = mp_grad(f, point)
        got = got if isinstance(got, tuple) else (got,)
        assert all(np.allclose(np.asarray(a, dtype=float), np.array(w, dtype=float), rtol=1e-12)
                   for a, w in zip(got, want))


def test_the_hostile_path_in_c(hostile, tmp_path):
    sources = {"scalar": emit(hostile.scalar, language="c"),
               "c_arrays": emit(hostile.c_arrays, language="c", args=(np.ones(4), 1.0))}
    for text in sources.values():
        assert "SYMDIFF_INJECTED" in text  # the path is there, as text inside a comment
    assert "/* line 5 of helper\\n__import__" in sources["scalar"]  # the helper's file, escaped
    (tmp_path / "build").mkdir()
    library = compile_library(tmp_path / "build", sources)  # -Wall -Wextra -Werror -pedantic
    for point in ((0.7, -1.2), (0.1, 2.5)):
        gradient, (value, _) = c_gradient(library, hostile.scalar, point)
        assert all(close(g, w) for g, w in zip(gradient, mp_grad(hostile.scalar, point)))
        assert close(value, hostile.scalar(*point))
    args = (np.array([0.3, -0.8, 1.1, 2.0, -0.1]), 0.6)
    gradient, (value, _) = c_gradient(library, hostile.c_arrays, args)
    want = mp_grad(hostile.c_arrays, args)
    assert np.allclose(gradient[0], np.array(want[0], dtype=float), rtol=1e-12)
    assert close(gradient[1], want[1]) and close(value, hostile.c_arrays(*args))


@pytest.fixture(autouse=True)
def _no_injection():
    yield
    assert not hasattr(builtins, "SYMDIFF_INJECTED")


def test_every_builtin_generated_code_calls_is_one_it_can_rename():
    """Over the corpora: a builtin the generated functions load (not their helpers, which have
    scopes of their own) is in ``GENERATED_GLOBALS``, so a user's name never shadows it."""
    import ast

    from symdiff.naming import GENERATED_GLOBALS

    from .corpus import CORPUS
    from .corpus_arrays import ARRAY_CORPUS
    from .corpus_control import CONTROL_CORPUS

    loaded = {}
    for f, points, wrt in [*CORPUS, *ARRAY_CORPUS, *CONTROL_CORPUS]:
        g = grad(f, wrt=wrt)
        g(*points[0])
        for built in g._builds.values():
            code = built.code
            for node in ast.walk(ast.parse(code.source[len(code.prelude):])):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                        and hasattr(builtins, node.id):
                    loaded.setdefault(node.id, f.__name__)
    assert {"float", "abs", "slice"} <= set(loaded)  # the scan sees them
    assert set(loaded) <= set(GENERATED_GLOBALS), loaded


def test_a_parameter_named_slice_beside_array_indexing(tmp_path, no_modules):
    module = load(tmp_path / "slice_named.py", "slice_named", '''\
import numpy as np


def f(slice, x):
    return np.linalg.norm(slice[1:] - 1) * x + np.linalg.norm(slice) ** 3
''')
    v = np.array([0.5, 2.0, -1.5])
    want = mp_grad(module.f, (v, 0.7))
    got = grad(module.f)(v, 0.7)
    assert np.allclose(got[0], np.array(want[0], dtype=float), rtol=1e-12)
    assert close(got[1], want[1])


def test_emit_never_writes_over_the_functions_own_file(tmp_path, no_modules):
    path = tmp_path / "victim.py"
    module = load(path, "victim", "import math\n\n\ndef loss(x):\n    return math.sin(x) * x\n")
    before = path.read_text()
    with pytest.raises(ExportError, match="refusing to write") as caught:
        emit(module.loss, path=path)
    assert caught.value.filename == str(path) and path.read_text() == before
    out = tmp_path / "loss_grad.py"
    emit(module.loss, path=out)
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    assert close(namespace["loss_grad"](0.7), math.sin(0.7) + 0.7 * math.cos(0.7))
