"""registry: the one table of supported callables, one ``Primitive`` record per callable.

Takes: records from ``scalar`` (math/numpy/builtin functions with a SymPy builder), ``numpy_calls``
and ``builtin_calls`` (calls handled structurally), ``user_rules`` (``symdiff.register``).
Returns: ``lookup(func)`` -> the record the tracer dispatches on (by ``kind``), ``method(receiver,
name)`` -> the record of a list or array method (``v.append``, ``x.sum``), and, for the SymPy
class a record builds, ``print_as(cls, target)`` (how the printers spell it: a name, a ``Helper``
the generated code defines, or a function of the printer and the node) and ``formula_name(cls)``
(formulas, LaTeX); ``helper(name)`` -> the ``Helper`` record of a function generated code defines
(its Python and C source). A record without callables only says how the targets spell a SymPy
class the code is made of (``Heaviside``, ``RoundDigits``, Python's ``max``): nothing looks it up
by a callable. Adding a supported function is one record:

>>> import math, sympy
>>> from symdiff.primitives import registry
>>> registry.lookup(math.sin)
Primitive('math.sin', kind='function', library='math')
>>> def cube(x):
...     return x ** 3
>>> record = registry.add(registry.Primitive("cube", (cube,), lambda x: x**3, library="math"))
>>> registry.lookup(cube) is record
True
>>> registry.remove(record)
"""

from dataclasses import dataclass, field

# How the tracer treats a call, by the record's kind:
#   "structural": a builtin that shapes the computation (range, len, sum, ...): handler(tracer,
#                 node, args, kwargs) returns the value;
#   "array":      a numpy structural function (np.sum, np.dot, np.reshape, ...): the same handler
#                 form (numpy_calls binds numpy's signature);
#   "function":   a function of numbers with a SymPy builder (math.sin, np.exp, abs, a helper the
#                 generated code calls, a function added with symdiff.register): the tracer binds
#                 the arguments by the callable's signature and applies ``build``.
KINDS = ("structural", "array", "function")
# Where the generated code runs: the printers' targets.
TARGETS = ("math", "numpy", "c")


@dataclass(frozen=True, eq=False)
class Primitive:
    """One supported callable: what it stands for, how it is traced, printed and differentiated."""

    name: str  # as the user would write it, e.g. "math.sin"
    callables: tuple = ()  # the Python objects it stands for (math.sin; none for a helper)
    build: object = None  # SymPy builder, build(*sympy_args) -> Expr; None: on ints only
    library: str = "builtins"  # "math", "numpy", "builtins", or "user" (symdiff.register)
    kind: str = "function"  # see KINDS
    handler: object = None  # "structural"/"array": handler(tracer, node, args, kwargs)
    nargs: tuple = (1,)  # accepted argument counts ("function")
    int_args: tuple = ()  # positions of arguments that must be ints known while tracing
    sympy_class: object = None  # the SymPy class the printers see (default: build, if a class)
    printed: dict = field(default_factory=dict)  # target ("math", "numpy", "c") -> spelling (see print_as)
    formula: str = None  # the name in formulas (str, explain) where the class name is not it
    latex: str = None  # the name in LaTeX (default: \operatorname{formula})
    helpers: dict = None  # "user": {name in generated code: the callable}; else {name: source}
    helper: str = None  # the ``__symdiff_helper__`` mark of generated-code helpers it reads
    derivatives: tuple = None  # where SymPy lacks the derivative (user rules); else its fdiff
    method: tuple = None  # a method: (receiver, name), receiver "list" or "array" (v.append, x.sum)
    elementwise: bool = False  # "array": acts on a number as on an array (np.where, np.clip)
    ufunc: tuple = None  # numpy's arithmetic ufuncs: (operator or class, fixed first operands): np.divide ("/",), np.mod (PyMod,)
    exact_on_ints: bool = False  # takes ints of any size exactly (math.log); the rest convert to float

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Primitive kind must be one of {KINDS}, not {self.kind!r}")
        unknown = set(self.printed) - set(TARGETS)
        if unknown:
            raise ValueError(f"Primitive printed names for unknown targets: {sorted(unknown)}")
        for target, spelling in self.printed.items():
            if not isinstance(spelling, (str, Helper)) and not callable(spelling):
                raise ValueError(f"Primitive {self.name!r}: the spelling for {target!r} must be a name, "
                                 f"a Helper or a function of (printer, expr), not {spelling!r}")

    def print_as(self, target):
        """How ``target`` code spells this record's SymPy class: a name it calls (``"math.cbrt"``),
        a ``Helper`` it calls, a function ``(printer, expr) -> text``, or None (not named here)."""
        return self.printed.get(target)

    @property
    def function_class(self):
        """The SymPy class this record's calls become (what the printers look up), or None."""
        if self.sympy_class is not None:
            return self.sympy_class
        return self.build if isinstance(self.build, type) else None

    @property
    def signature(self):
        """The callable's ``inspect.Signature`` (None where it has none, as ``math.log``)."""
        from ..frontend.signatures import signature_of

        return signature_of(self.callables[0]) if self.callables else None

    def __repr__(self):
        return f"Primitive({self.name!r}, kind={self.kind!r}, library={self.library!r})"


@dataclass(frozen=True, eq=False)
class Helper:
    """A function the generated code defines for itself (``_digamma`` in Python, a static C
    function ``symdiff_digamma``), for the targets that have a source for it.

    ``python``: the source of ``def _<name>(...)`` (reading ``math``/``numpy`` by those names);
    ``module``: the module that source reads; ``c``: a C definition, formatted with its C name as
    ``{name}`` (braces doubled); ``needs``: the names of the helpers its sources call."""

    name: str
    python: str = None
    module: str = None
    c: str = None
    needs: tuple = ()

    @property
    def python_name(self):
        """Its name in generated Python (before any renaming away from a user's name)."""
        return "_" + self.name

    def source(self, target):
        """Its source for ``target`` ("math" and "numpy": the Python one; "c"), or None."""
        return self.c if target == "c" else self.python

    def __repr__(self):
        return f"Helper({self.name!r})"


_HELPERS = {}  # name -> Helper


def add_helper(helper):
    """Make ``helper`` the one of its name; returns it."""
    _HELPERS[helper.name] = helper
    return helper


def remove_helper(helper):
    """Forget ``helper``."""
    if _HELPERS.get(helper.name) is helper:
        del _HELPERS[helper.name]


def helper(name):
    """The ``Helper`` called ``name`` (``"digamma"``, or its Python name ``"_digamma"``); KeyError
    when there is none."""
    found = _HELPERS.get(name)
    if found is None and name.startswith("_"):
        found = _HELPERS.get(name[1:])
    if found is None:
        raise KeyError(name)
    return found


def helpers(target=None):
    """Every helper (with a source for ``target``, if given), in the order they were added."""
    return [h for h in _HELPERS.values() if target is None or h.source(target) is not None]


# id(callable) -> {layer: (callable, record)}; the callable is kept so that an id reused by a
# later object never answers for it. Layers: "structural", "array", "user" (symdiff.register),
# "function"; lookup asks them in that order (a helper's mark before "user").
_BY_ID = {}
_BY_HELPER = {}  # "__symdiff_helper__" mark -> record
_METHODS = {}  # (receiver, method name) -> record
_NAMES = {}  # SymPy class -> {target: printed name}
_FORMULAS = {}  # SymPy class -> (formula name, LaTeX name)
_ORDER = []  # every record added, in order (records())


def _layer(record):
    return "user" if record.library == "user" else record.kind


def add(record, replace=False):
    """Make ``record`` the one for each of its callables; returns it.

    A built-in record never displaces one of the same layer already added for the same callable
    (``numpy.abs`` is ``numpy.absolute``: the first entry names it); ``replace=True`` does (a
    function registered again)."""
    layer = _layer(record)
    for func in record.callables:
        layers = _BY_ID.setdefault(id(func), {})
        held = layers.get(layer)
        if replace or held is None or held[0] is not func:
            layers[layer] = (func, record)
            if held is not None and held[1] in _ORDER and not _holds(held[1]):
                _ORDER.remove(held[1])  # registered again: the record it replaces is gone
    if record.callables and not _holds(record):
        return record  # a second entry for a callable (an alias): the first one stands
    if record.helper is not None:
        _BY_HELPER[record.helper] = record
    if record.method is not None:
        _METHODS[record.method] = record
    _ORDER.append(record)
    _index(record.function_class, newest_first=replace)
    return record


def _holds(record):
    """Whether any callable's lookup still gives ``record``."""
    layer = _layer(record)
    return any(_BY_ID.get(id(f), {}).get(layer, (None, None))[1] is record for f in record.callables)


def remove(record):
    """Forget ``record``: for its callables another layer's record (the built-in one) applies
    again; its printed and formula names go with it."""
    layer = _layer(record)
    for func in record.callables:
        layers = _BY_ID.get(id(func), {})
        held = layers.get(layer)
        if held is not None and held[1] is record:
            del layers[layer]
    if _BY_HELPER.get(record.helper) is record:
        del _BY_HELPER[record.helper]
    if _METHODS.get(record.method) is record:
        del _METHODS[record.method]
    if record in _ORDER:
        _ORDER.remove(record)
    _index(record.function_class)


def _index(cls, newest_first=False):
    """The printed and formula names of the SymPy class ``cls`` from the records that build it:
    the first to name a target names it (``newest_first``: the newest, a record that replaces)."""
    if cls is None:
        return
    names, formula = {}, None
    building = [r for r in _ORDER if r.function_class is cls]
    for r in reversed(building) if newest_first else building:
        for target, name in r.printed.items():
            names.setdefault(target, name)
        if formula is None and r.formula is not None:
            formula = (r.formula, r.latex or rf"\operatorname{{{r.formula}}}")
    _NAMES.pop(cls, None)
    _FORMULAS.pop(cls, None)
    if names:
        _NAMES[cls] = names
    if formula is not None:
        _FORMULAS[cls] = formula


def lookup(func):
    """The record the tracer dispatches a call of ``func`` on, or None when symdiff does not know it."""
    layers = _BY_ID.get(id(func))
    if layers:
        for layer in ("structural", "array"):
            held = layers.get(layer)
            if held is not None and held[0] is func:
                return held[1]
    mark = getattr(func, "__symdiff_helper__", None)
    if mark in _BY_HELPER:
        return _BY_HELPER[mark]
    if layers:
        for layer in ("user", "function"):
            held = layers.get(layer)
            if held is not None and held[0] is func:
                return held[1]
    return None


def method(receiver, name):
    """The record of the method ``name`` of a ``receiver`` ("list": a list the function builds,
    "array": an array value), or None. Its handler takes the receiver as first argument."""
    return _METHODS.get((receiver, name))


def user_record(func):
    """The record ``symdiff.register`` made for ``func``, or None."""
    held = _BY_ID.get(id(func), {}).get("user")
    return held[1] if held is not None and held[0] is func else None


def print_as(cls, target):
    """How ``target`` code spells the SymPy class ``cls``, from the records that build it (see
    ``Primitive.print_as``), or None when none names it (the printer's own rules apply). Python
    targets fall back on each other: a name in math code is valid in numpy code only where the
    record says so, but math code may call numpy where math has no such function."""
    names = _NAMES.get(cls)
    if not names:
        return None
    if target in names:
        return names[target]
    if target == "math":
        return names.get("numpy")
    return None


def printed_name(cls, target):
    """The name ``target`` code calls the SymPy class ``cls`` by ("math.cbrt", "numpy.cbrt",
    "cbrt"), or None where no record names one (it may spell it otherwise: ``print_as``)."""
    spelling = print_as(cls, target)
    return spelling if isinstance(spelling, str) else None


def formula_name(cls):
    """``(name in formulas, name in LaTeX)`` of the SymPy class ``cls``, or None."""
    return _FORMULAS.get(cls)


def records():
    """Every record added, in order."""
    return list(_ORDER)
