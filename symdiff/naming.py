"""Names for generated code that never collide with the user's.

Takes: the set of names the user's function uses (parameters, locals, globals it reads).
Returns: fresh names for SSA versions (``x_1``), adjoints (``x_bar``), temporaries (``_t0``) and
the names generated code calls things by (``math``/``numpy``, the builtins and helper functions it
uses: ``generated_aliases``), each distinct from every user name and from each other.
"""

import ast
import builtins
import keyword

# Globals that generated Python code refers to by name: modules, the builtins its printers and its
# entry checks use (and the helper functions it may define: ``generated_globals``). A user's name
# (a parameter ``float``, a local ``_digamma``) would shadow one inside the generated function.
GENERATED_GLOBALS = (
    "math", "numpy",
    "float", "type", "abs", "round", "min", "max", "sum", "slice", "Ellipsis", "range",
    "OverflowError", "_array_like",
)


def generated_globals():
    """``GENERATED_GLOBALS`` and the Python names of the registry's helpers (``_digamma``, a
    helper added since), in that order."""
    from .primitives import registry

    return GENERATED_GLOBALS + tuple(h.python_name for h in registry.helpers("math"))


def names_in(tree):
    """Every identifier that appears in ``tree`` (names, arguments, attributes' roots)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.add(node.name)
    return found


class Namer:
    """Hands out fresh identifiers, avoiding ``taken`` and every name handed out before."""

    def __init__(self, taken=()):
        self.taken = set(taken) | set(keyword.kwlist) | set(dir(builtins))
        self._counters = {}
        self._versioned = set()
        self._versions = {}  # SSA version (x_1) -> the user's variable (x)
        self._handed = set()  # names ``fresh`` gave out (a user's name spelled so must not reuse one)

    def fresh(self, base):
        """``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        if base not in self.taken:
            self.taken.add(base)
            self._handed.add(base)
            return base
        n = self._counters.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}_{n}"
            if candidate not in self.taken:
                self._counters[base] = n
                self.taken.add(candidate)
                self._handed.add(candidate)
                return candidate

    def version(self, user_name):
        """Name for a new SSA version of the user's variable: ``y`` first, then ``y_1``, ..."""
        if user_name not in self._versioned and user_name not in self._handed:
            self._versioned.add(user_name)
            self.taken.add(user_name)
            return user_name
        name = self.fresh(user_name)
        self._versions[name] = user_name
        return name

    def user_name(self, name):
        """The user's variable that the SSA version ``name`` (``x_11``) is a version of, else None."""
        return self._versions.get(name)

    def generated_aliases(self, local_names=()):
        """``{global name: how generated code spells it}`` for every name in ``generated_globals()``:
        the name itself, unless a user's name (a parameter, a local, an external, of the function
        or of a helper it inlines; ``local_names``: more of them) is spelled the same, then a fresh
        ``_name``."""
        used = self._versioned | set(local_names)
        return {name: self.fresh("_" + name.lstrip("_")) if name in used else name
                for name in generated_globals()}

    def callable_name(self, label):
        """Name for a function generated code calls (a registered one, printed as ``label``):
        ``label`` unless a user's variable, another generated name or one of
        ``generated_globals()`` is spelled so, then ``label_1``, ..."""
        if label in self._versioned or label in self._handed or label in generated_globals() \
                or keyword.iskeyword(label) or hasattr(builtins, label):
            return self.fresh(label)
        self.taken.add(label)
        self._handed.add(label)
        return label

    def adjoint(self, name):
        """Name for the adjoint (d output / d name) of ``name``."""
        return self.fresh(f"{name}_bar")

    def generated(self, name):
        """Whether ``name`` was handed out here (so it is no name of the user's)."""
        return name in self._handed

    def temporary(self):
        """Name for a CSE temporary: ``_t0``, ``_t1``, ..."""
        n = self._counters.get("_t", -1)
        while True:
            n += 1
            candidate = f"_t{n}"
            if candidate not in self.taken:
                self._counters["_t"] = n
                self.taken.add(candidate)
                return candidate
