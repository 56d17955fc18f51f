"""Names for generated code that never collide with the user's.

Takes: the set of names the user's function uses (parameters, locals, globals it reads).
Returns: fresh names for SSA versions (``x_1``), adjoints (``x_bar``), temporaries (``_t0``) and
module aliases (``math``/``numpy``), each distinct from every user name and from each other.
"""

import ast
import builtins
import keyword


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

    def fresh(self, base):
        """``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        if base not in self.taken:
            self.taken.add(base)
            return base
        n = self._counters.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}_{n}"
            if candidate not in self.taken:
                self._counters[base] = n
                self.taken.add(candidate)
                return candidate

    def version(self, user_name):
        """Name for a new SSA version of the user's variable: ``y`` first, then ``y_1``, ..."""
        if user_name not in self._versioned:
            self._versioned.add(user_name)
            self.taken.add(user_name)
            return user_name
        return self.fresh(user_name)

    def module_alias(self, module_name, local_names):
        """How generated code names ``math``/``numpy``: the plain name unless a local uses it."""
        if module_name not in local_names:
            return module_name
        return self.fresh("_" + module_name)

    def adjoint(self, name):
        """Name for the adjoint (d output / d name) of ``name``."""
        return self.fresh(f"{name}_bar")

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
