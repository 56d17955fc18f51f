"""array_values: the tracer's arrays and lists (``ArrayValues``, a collaborator of ``interpreter.Tracer``).

Takes: values met while tracing — array expressions, concrete numpy arrays, the lists the function
builds — and the operation applied to them. Returns: shapes, named constants, structural
operations (one statement each, computed once), indexing; and lists changed as Python changes
them (``append``, ``v[k] = ...``) where the generated gradient can follow.
"""

import ast
import warnings
from dataclasses import dataclass

import numpy as np
import sympy

from ..primitives import numpy_calls  # noqa: F401  (its records: np.sum, np.array, array methods, ...)
from ..primitives import registry
from ..errors import ShapeError, SymdiffError, UnsupportedSyntaxError
from ..primitives import arrays
from ..primitives.nodes import real_symbol
from .masks import MaskedValues, MaskIndex, mask_of
from .masks import same_mask as _same_mask
from .parse import located
from .values import describe_value as _describe_value
from .values import is_number, to_sympy


class ArrayValues:
    """Arrays and lists for one trace: their shapes, constants, structural operations, and which
    lists the function built (and may change where).

    Receives the interpreter (``tracer``), of which it uses: ``frame`` and ``current`` (error
    locations, statement lines), ``namer``, ``emit`` (a statement of the program),
    ``require_number``, ``check_guess``, ``check_deferrable`` and ``unsupported`` (checks and
    errors); the primitives' handlers (``numpy_calls``) are given the tracer. Holds ``shapes``
    (symbol -> shape), ``constants`` (symbol -> numpy array), ``op_memo`` (structural operation ->
    the symbol of its result, in this scope: ``control`` swaps it per arm), ``own_lists``,
    ``argument_sequences`` and ``arm`` (the arm of an 'if' on data being traced; set by
    ``control``).
    """

    def __init__(self, tracer):
        self.tracer = tracer
        self.namer = tracer.namer
        self.shapes = {}  # symbol -> shape of the array it stands for (absent: a scalar)
        self.shape_memo = {}  # expression -> its shape (see arrays.shape_of)
        self.constants = {}  # symbol -> a concrete numpy array the code uses
        self.hoisted = {}  # id of a list indexed with a loop counter -> (it, its array): see hoisted_array
        self.op_memo = {}  # structural operation -> the symbol holding its result (this scope)
        self.own_lists = {}  # id -> (list, arm): the lists the function builds (see ``own``)
        self.argument_sequences = set()  # ids of the tuples that list/tuple parameters are read as
        self.arm = None  # the arm of an 'if' on data being traced (None: not inside one)

    def __repr__(self):
        return (f"ArrayValues({len(self.shapes)} shapes, {len(self.constants)} constants, "
                f"{len(self.own_lists)} lists built)")

    # ---- lists the function builds ----
    def own(self, value):
        """Register ``value``, a list the function builds: it may be changed (``v[k] = ...``,
        ``v.append(...)``) where it was built: not inside an 'if' on data it was built outside."""
        self.own_lists[id(value)] = (value, self.arm)
        return value

    def changing_an_argument(self, node):
        raise located(
            UnsupportedSyntaxError,
            "changing a list passed as an argument: the generated gradient would not change the "
            "caller's list",
            self.tracer.frame.parsed, node, hint="change a copy: v = list(v)",
        )

    def mutable(self, value, node):
        """Raise a located error unless the list ``value`` may be changed here."""
        entry = self.own_lists.get(id(value))
        if entry is None or entry[0] is not value:
            raise located(
                UnsupportedSyntaxError,
                "changing a list the function did not build (an argument, a global or a default "
                "value): the generated gradient would not change it",
                self.tracer.frame.parsed, node, hint="change a copy: v = list(v)",
            )
        if entry[1] is not self.arm:
            raise located(
                UnsupportedSyntaxError,
                "changing a list inside an 'if' on a differentiated value (both branches would "
                "change the same list)",
                self.tracer.frame.parsed, node,
                hint="build a new list in the branch instead, e.g. v = v + [item]",
            )

    def list_item(self, base, index, node):
        if isinstance(index, sympy.Basic):
            self.tracer.check_deferrable(index)
            raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                          self.tracer.frame.parsed, node.slice, hint="index with an int")
        try:
            return base[index]
        except (IndexError, TypeError) as exc:
            raise located(SymdiffError, f"bad index: {exc}", self.tracer.frame.parsed, node,
                          hint="index within the list's length") from None

    def set_item(self, base, index, value, node):
        """``base[index] = value`` for a list the function builds, at a known index."""
        if not isinstance(base, list):
            if id(base) in self.argument_sequences:
                self.changing_an_argument(node)
            if isinstance(base, tuple):
                raise located(SymdiffError, "a tuple's items cannot be assigned (as in Python)",
                              self.tracer.frame.parsed, node, hint="use a list, or build a new tuple")
            self.tracer.check_guess(base)
            array = self.is_array(base) or isinstance(base, np.ndarray)
            raise self.tracer.unsupported(
                node, f"assignment to {ast.unparse(node)}",
                hint="build the array whole (np.where, np.concatenate, np.array of a list)"
                if array else "assign to a local variable name")
        self.list_item(base, index, node)  # the index is an int (or slice) within the list
        self.mutable(base, node)
        if isinstance(index, slice):
            value = self.iterate(value, node)
        elif isinstance(value, sympy.Expr) and not value.is_Atom:
            # one statement per item assigned, named after the list, as a variable would be
            name = node.value.id if isinstance(node.value, ast.Name) else "item"
            symbol = real_symbol(self.namer.version(f"{name}_{index % len(base)}"))
            self.tracer.emit(symbol, value, self.tracer.current)
            value = symbol
        try:
            base[index] = value
        except (IndexError, TypeError, ValueError) as exc:
            raise located(SymdiffError, f"bad assignment: {exc}", self.tracer.frame.parsed, node,
                          hint="assign as many items as the slice holds") from None

    # ---- arrays changed in place: ``x[key] = value``, ``x[key] += value`` ----
    def set_array_item(self, node, index, value, op=None):
        """``x[key] = value`` (``op``: ``x[key] op= value``) where ``x`` (``node.value``, a name)
        holds an array: the name is bound to a new value, a copy of the array with the slot
        replaced (``arrays.SetItem``), which is numpy's result. Exact where nothing else sees
        the array change: another name, list or caller holding the same array or a view of it
        (``y = x``, ``y = x[1:]``, ``x`` a view of ``y``) is a located refusal, and so is an
        array the function did not make (an argument, a global, an attribute): numpy would
        change the caller's array, the generated gradient does not."""
        tracer = self.tracer
        name_node = node.value
        if not isinstance(name_node, ast.Name):
            what = ast.unparse(node)
            hint = "assign to an array held by a local name: x[i, j] = v"
            if isinstance(name_node, ast.Subscript) and isinstance(name_node.slice, ast.Constant) \
                    and isinstance(name_node.slice.value, str):  # params["W"][0] = ...
                hint = (f"change a local copy: w = {ast.unparse(name_node)}.copy(); "
                        f"w[{ast.unparse(node.slice)}] = ...")
            elif isinstance(name_node, ast.Subscript):
                hint = f"index once: {ast.unparse(name_node.value)}[{ast.unparse(name_node.slice)}, {ast.unparse(node.slice)}] = ..."
            raise tracer.unsupported(node, f"assignment to {what}", hint=hint)
        name = name_node.id
        frame = self._frame_holding(name)
        base = frame.env[name] if frame is not None else tracer.eval(name_node)
        self._check_owned(base, name, node)
        key = index if isinstance(index, tuple) else (index,)
        mask = self._mask_key(key, base)
        if op is not None:  # x[key] += v: x[key] read once, as numpy reads it
            if mask is None:
                current = self.getitem_any(base, index, node)
            else:
                full = self.constant(base) if isinstance(base, np.ndarray) else base
                current = MaskedValues(full, mask, node, tracer)
            value = tracer.binop(op, current, value, node)
            value = tracer.keep_shape(value, current, value) if tracer.shapes else value
        if mask is not None:
            new = self._set_masked(base, mask, value, node)
        elif isinstance(base, np.ndarray) and not tracer.is_symbolic(value) \
                and not any(isinstance(p, sympy.Basic) for p in key) and not isinstance(value, (list, tuple)):
            new = base.copy()  # all concrete: numpy does it (its casting, its errors)
            try:
                new[index] = value
            except (IndexError, ValueError, TypeError) as exc:
                raise located(ShapeError, f"bad assignment: {exc}", tracer.frame.parsed, node,
                              hint="assign within the array's shape") from None
        else:
            new = self._set_symbolic(base, key, value, name, node)
        self._check_unshared(base, name, frame, node)
        if frame is None:
            frame = tracer.frame
        frame.env[name] = new

    def add_at_in_place(self, node, target, index, value):
        """``np.add.at(x, idx, v)``: ``x`` bound to ``x + add_at(zeros, idx, v)`` (numpy's unbuffered
        add: a repeated index adds each of its values), under the same rules as ``x[idx] += v``."""
        tracer = self.tracer
        if not isinstance(target, ast.Name):
            raise tracer.unsupported(target, f"np.add.at into {ast.unparse(target)}",
                                     hint="add into an array held by a local name")
        name = target.id
        frame = self._frame_holding(name)
        base = frame.env[name] if frame is not None else tracer.eval(target)
        if not isinstance(base, np.ndarray) and not self.is_array(base):
            tracer.check_guess(base)
            raise tracer.unsupported(target, f"np.add.at into {_describe_value(base)}",
                                     hint="add into a float array")
        self._check_owned(base, name, node)
        if isinstance(base, np.ndarray) and base.dtype.kind != "f":
            raise self._truncating(node)
        key = index if isinstance(index, tuple) else (index,)
        if self._mask_key(key, base) is not None:
            raise located(UnsupportedSyntaxError, "np.add.at with a boolean mask", tracer.frame.parsed,
                          node, hint="use x = np.where(mask, x + v, x)")
        indices, parts = [], []
        for part in key:
            if isinstance(part, (list, np.ndarray)) or (isinstance(part, sympy.Symbol) and self.shape(part)):
                parts.append(arrays.Slot(len(indices)))
                indices.append(part if isinstance(part, sympy.Symbol)
                               else self.constant(np.asarray(part, dtype=np.intp)))
            elif isinstance(part, sympy.Basic):
                tracer.check_deferrable(part)
                raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                              tracer.frame.parsed, node, hint="index with ints, slices and int arrays")
            else:
                parts.append(int(part) if isinstance(part, (int, np.integer)) else part)
        key = tuple(parts)
        shape = tuple(self.shape(base))
        value = self.as_value(value, node)
        dummy = arrays.key_with(key, [np.zeros(self.shape(i), dtype=np.intp) for i in indices])
        try:
            np.broadcast_to(np.empty(self.shape(value)), np.empty(shape)[dummy].shape)
        except (IndexError, ValueError) as exc:
            tracer.check_guess(base)
            raise located(ShapeError, f"np.add.at: values of shape {self.shape(value)} at "
                          f"[{arrays.format_key(key)}] of an array of shape {shape}: {exc}",
                          tracer.frame.parsed, node, hint="add values of the indexed shape") from None
        base_atom = self.constant(base) if isinstance(base, np.ndarray) else base
        added = arrays.AddAt.make(self.atom(value, f"{name}_added"), *indices, key=key, shape=shape)
        new = real_symbol(self.namer.version(name))
        tracer.emit(new, base_atom + self.array_op(added, f"{name}_added"), tracer.current)
        self._check_unshared(base, name, frame, node)
        (frame or tracer.frame).env[name] = new

    def getitem_any(self, base, index, node):
        """``base[index]`` of a traced or concrete array (``x[k]`` read by ``x[k] += v``)."""
        if isinstance(base, np.ndarray) and not any(
                isinstance(p, sympy.Basic) for p in (index if isinstance(index, tuple) else (index,))):
            try:
                return base[index]
            except IndexError as exc:
                raise located(ShapeError, f"index out of bounds: {exc}", self.tracer.frame.parsed,
                              node, hint="index within the array's shape") from None
        if isinstance(base, np.ndarray):
            base = self.constant(base)
        return self.getitem(base, index, node)

    def _frame_holding(self, name):
        frame = self.tracer.frame
        while frame is not None:
            if name in frame.env:
                return frame
            frame = frame.parent
        return None

    def _foreign(self):
        """The symbols of arrays the function did not make: its parameters, globals, closure
        values and attributes read (changing one in place changes the caller's array)."""
        out = set(self.tracer.param_symbols)
        out.update(e.symbol for e in self.tracer.scope.externals.values())
        return out

    def view_chain(self, symbol):
        """``symbol`` and the arrays whose memory it may share as a numpy view (basic indexing,
        ``.T``, ``reshape``, ``broadcast_to``), down to the array that owns the memory."""
        chain = [symbol]
        while True:
            expr = self.tracer.definitions.get(symbol)
            if isinstance(expr, _VIEWS) and expr.operands[0].is_Symbol:
                symbol = expr.operands[0]
                chain.append(symbol)
                continue
            return chain

    def _check_owned(self, base, name, node):
        tracer = self.tracer
        if isinstance(base, list):
            return
        if not isinstance(base, np.ndarray) and not self.is_array(base):
            tracer.check_guess(base)
            raise tracer.unsupported(node, f"assignment to {ast.unparse(node)} ({name} is "
                                     f"{_describe_value(base)})", hint="assign to a local variable name")
        if isinstance(base, np.ndarray):
            return
        root = self.view_chain(base)[-1]
        if root in self._foreign():
            what = ("an argument" if root in self.tracer.param_symbols
                    else "a global, closure or attribute value")
            raise located(
                UnsupportedSyntaxError,
                f"changing {name} in place changes {what} ({root.name}): numpy would change the "
                "caller's array, and the generated gradient does not",
                tracer.frame.parsed, node,
                hint=f"change a copy: {name} = {name}.copy() (or np.array({name})) first")

    def _holders(self, skip_frame, skip_name):
        """``(where, value)`` for every value the running code can still reach: the names of
        the frames being run (the callers' too) and what their lists, tuples and dicts hold."""
        frames, seen = [], set()
        for start in [self.tracer.frame, *reversed(self.tracer.calls.callers)]:
            frame = start
            while frame is not None:
                if id(frame) not in seen:
                    seen.add(id(frame))
                    frames.append(frame)
                frame = frame.parent
        for frame in frames:
            function = frame.fun.__name__ if frame.fun is not None else "a nested function"
            for held, value in frame.env.items():
                if frame is skip_frame and held == skip_name:
                    continue
                where = held if frame is self.tracer.frame else f"{held} (in {function})"
                stack, depth = [(value, where)], 0
                while stack and depth < 10000:
                    depth += 1
                    item, label = stack.pop()
                    if isinstance(item, (list, tuple)):
                        stack.extend((v, f"{label}[{i}]") for i, v in enumerate(item))
                    elif isinstance(item, dict):
                        stack.extend((v, f"{label}[{k!r}]") for k, v in item.items())
                    elif isinstance(item, (np.ndarray, sympy.Symbol)):
                        yield label, item

    def _check_unshared(self, base, name, frame, node):
        """Refuse when another name, list or caller holds ``base`` or a view sharing its memory."""
        if isinstance(base, list):
            return
        chain = set(self.view_chain(base)) if isinstance(base, sympy.Symbol) else set()
        memory = [base] if isinstance(base, np.ndarray) else [
            self.constants[s] for s in chain if s in self.constants]
        root = self.view_chain(base)[-1] if isinstance(base, sympy.Symbol) else None
        for label, held in self._holders(frame or self.tracer.frame, name):
            if isinstance(held, np.ndarray):
                shared = any(held.size and m.size and np.shares_memory(held, m) for m in memory)
            else:
                if not self.shape(held):
                    continue
                held_chain = self.view_chain(held)
                shared = (root is not None and held_chain[-1] == root) or any(
                    s in self.constants and any(np.shares_memory(self.constants[s], m) for m in memory)
                    for s in held_chain)
            if shared:
                raise located(
                    UnsupportedSyntaxError,
                    f"changing {name} in place: {label} holds the same array (or a view of it: "
                    f"y = x, y = x[1:], y = x.T, a list holding it), and numpy would change "
                    f"{label} too; symdiff does not follow one array under two names",
                    self.tracer.frame.parsed, node,
                    hint=f"give {label} its own copy ({label.split(' ')[0]} = {name}.copy()), or "
                    "change the array through one name only")

    def _mask_key(self, key, base):
        """The boolean mask of ``x[mask]`` (a condition on the array, or a bool array of its
        shape; ``x[np.where(cond)]`` too), else None."""
        found = mask_of(key)
        if found is not None:
            return found
        for part in key:
            if isinstance(part, (MaskIndex, MaskedValues)):
                raise part.refusal(self.tracer.current)
        if len(key) != 1:
            for part in key:
                if isinstance(part, sympy.logic.boolalg.Boolean) and not isinstance(part, sympy.Expr) \
                        or (isinstance(part, np.ndarray) and part.dtype.kind == "b"):
                    raise located(UnsupportedSyntaxError, "a boolean mask beside other indices",
                                  self.tracer.frame.parsed, self.tracer.current,
                                  hint="mask the whole array: x[mask] with mask of x's shape, or np.where")
            return None
        (part,) = key
        if isinstance(part, sympy.logic.boolalg.Boolean) and not isinstance(part, sympy.Expr):
            return part
        if isinstance(part, (np.ndarray, list)) and np.asarray(part).dtype.kind == "b":
            return np.asarray(part)
        return None

    def _set_masked(self, base, mask, value, node):
        """``x[mask] = v``: ``np.where(mask, v, x)`` (v a number, or an array of x's shape read
        with the same mask, ``x[mask] = y[mask]``)."""
        tracer = self.tracer
        shape = self.shape(base)
        if np.shape(mask) and tuple(np.shape(mask)) != tuple(shape) or (
                isinstance(mask, sympy.Basic) and self.shape(mask) != tuple(shape)):
            tracer.check_guess(base)
            tracer.check_guess(mask)
            raise located(ShapeError, f"a boolean mask of shape {self.shape(mask) if isinstance(mask, sympy.Basic) else np.shape(mask)} "
                          f"for an array of shape {shape}", tracer.frame.parsed, node,
                          hint="use a mask of the array's shape")
        if isinstance(value, MaskedValues):
            if not _same_mask(value.mask, mask):
                raise located(UnsupportedSyntaxError, "x[mask] = y[other_mask]: the values "
                              "assigned are selected by another mask", tracer.frame.parsed, node,
                              hint="x = np.where(mask, y, x) with the same mask")
            value = value.full
        elif self.shape(value) or np.ndim(value):
            raise located(UnsupportedSyntaxError, "x[mask] = array: the array's length must be "
                          "the number of True entries, known only when the function runs",
                          tracer.frame.parsed, node,
                          hint="assign a number (x[mask] = 0.0), y[mask] with the same mask, or "
                          "write x = np.where(mask, y, x)")
        if isinstance(base, np.ndarray) and base.dtype.kind != "f" and tracer.is_symbolic(value):
            raise self._truncating(node)
        return registry.lookup(np.where).handler(tracer, node, [mask, value, base], {})

    def _truncating(self, node):
        return located(
            UnsupportedSyntaxError,
            "assigning a differentiated value into an int or bool array: numpy truncates it "
            "(its derivative would be 0)", self.tracer.frame.parsed, node,
            hint="make the array float: np.zeros(n), or x = x.astype(float)")

    def _set_symbolic(self, base, key, value, name, node):
        tracer = self.tracer
        if isinstance(value, MaskedValues):
            raise value.refusal(node)
        if isinstance(base, np.ndarray) and base.dtype.kind not in "f":
            if tracer.is_symbolic(value) or base.dtype.kind not in "iub":
                raise self._truncating(node)
        if isinstance(base, np.ndarray):
            base_atom = self.constant(base)
        else:
            base_atom = base
        value = self.as_value(value, node)
        indices, parts = [], []
        for part in key:
            if isinstance(part, sympy.Basic):
                tracer.check_deferrable(part)
                if self.is_array(part):
                    raise located(UnsupportedSyntaxError, "assigning at indices known only when the "
                                  "function runs (an int array argument): they may repeat, and numpy "
                                  "then keeps one of the values", tracer.frame.parsed, node,
                                  hint="use indices known while symdiff reads the function (np.arange, "
                                  "a list of ints), or build the array with np.where")
                raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                              tracer.frame.parsed, node, hint="index with ints and slices")
            if isinstance(part, (list, np.ndarray)):
                array = np.asarray(part)
                if array.dtype.kind not in "iu" and not (array.size == 0 and isinstance(part, list)):
                    raise located(UnsupportedSyntaxError, "indexing with a list or array of non-ints",
                                  tracer.frame.parsed, node, hint="index with ints, slices and int arrays")
                parts.append(arrays.Slot(len(indices)))
                indices.append(array.astype(np.intp))
            else:
                parts.append(int(part) if isinstance(part, (int, np.integer)) else part)
        key = tuple(parts)
        shape = self.shape(base_atom)
        dummy = arrays.key_with(key, indices)
        try:
            slot = np.empty(shape)[dummy]
            np.broadcast_to(np.empty(self.shape(value)), np.shape(slot))
        except (IndexError, ValueError) as exc:
            tracer.check_guess(base_atom)  # a parameter assumed a number before the first call
            tracer.check_guess(value)
            raise located(ShapeError, f"cannot assign a value of shape {self.shape(value)} at "
                          f"[{arrays.format_key(key)}] of an array of shape {shape}: {exc}",
                          tracer.frame.parsed, node, hint="assign a value of the slot's shape") from None
        if indices:
            flat = np.arange(int(np.prod(shape))).reshape(shape)[dummy]  # the elements assigned
            if len(np.unique(flat)) != flat.size:
                raise located(UnsupportedSyntaxError, "assigning at repeated indices: numpy keeps one "
                              "of the values (x[idx] += v adds once per index, not once per repeat)",
                              tracer.frame.parsed, node,
                              hint="use indices that do not repeat, or np.add.at(x, idx, v), which adds each")
            index_symbols = [self.constant(i) for i in indices]
        else:
            index_symbols = []
            key = _normal_key(key, shape)
        value_atom = self.atom(value, f"{name}_item")
        op = arrays.SetItem.make(base_atom, value_atom, *index_symbols, key=key, shape=tuple(shape))
        symbol = real_symbol(self.namer.version(name))
        tracer.emit(symbol, op, tracer.current)
        return symbol

    # ---- arrays ----
    def shape(self, value):
        """The shape of a value: () for numbers, the array's shape for array expressions."""
        if isinstance(value, sympy.Basic):
            return arrays.shape_of(value, self.shapes, self.shape_memo)
        if isinstance(value, np.ndarray):
            return value.shape
        return ()

    def is_array(self, value):
        return isinstance(value, sympy.Basic) and bool(self.shape(value))

    @staticmethod
    def is_symbolic(value):
        return isinstance(value, sympy.Basic) and bool(value.free_symbols)

    def constant(self, value):
        """A concrete numpy array used in symbolic arithmetic: a named constant of the code."""
        value = np.asarray(value)
        if value.ndim == 0:
            return to_sympy(value.item())
        for symbol, known in self.constants.items():
            if known is value:
                return symbol
        symbol = real_symbol(self.namer.fresh(f"_c{len(self.constants)}"))
        self.constants[symbol] = value
        self.shapes[symbol] = value.shape
        return symbol

    def atom(self, value, hint):
        """``value`` as a symbol or number (a statement of its own when it is an expression)."""
        if isinstance(value, np.ndarray):
            return self.constant(value)
        value = to_sympy(value)
        if value.is_Atom:
            return value
        target = real_symbol(self.namer.fresh(hint))
        self.tracer.emit(target, value, self.tracer.current)
        return target

    def array_op(self, op, hint):
        """A structural operation's result: always a statement of its own (computed once)."""
        found = self.op_memo.get(op)
        if found is not None:
            return found
        target = real_symbol(self.namer.fresh(hint))
        self.tracer.emit(target, op, self.tracer.current)
        self.op_memo[op] = target
        return target

    def as_array(self, value, node):
        if isinstance(value, (tuple, list)):
            return registry.lookup(np.array).handler(self.tracer, node, [value], {})
        if isinstance(value, np.ndarray):
            return self.constant(value)
        self.tracer.require_number(value, node)
        return to_sympy(value)

    def as_value(self, value, node):
        if isinstance(value, np.ndarray):
            return self.constant(value)
        if isinstance(value, (tuple, list)):
            return self.as_array(value, node)
        self.tracer.require_number(value, node)
        return to_sympy(value)

    def check_broadcast(self, node, *values):
        shapes = [self.shape(v) for v in values]
        try:
            return arrays.broadcast(*shapes)
        except ValueError:
            for value in values:  # parameters assumed numbers before the first call
                self.tracer.check_guess(value)
            raise located(
                ShapeError,
                "shapes " + " and ".join(str(s) for s in shapes) + " do not broadcast together",
                self.tracer.frame.parsed, node,
                hint="make the shapes agree (numpy broadcasting rules)",
            ) from None

    def keep_shape(self, result, *operands):
        """``result`` of an elementwise operation on ``operands``, with the shape numpy gives it.

        SymPy folds ``0*x`` and ``x - x`` to the number 0, and ``x - x + y`` to ``y``: the value
        would lose the shape it has in numpy (a Jacobian of one row, a gradient of the wrong
        size). Such a result becomes ``broadcast_to(result, shape)``, a statement of its own.
        """
        if not self.shapes or not isinstance(result, sympy.Basic):
            return result  # no arrays in this trace (yet): nothing to keep
        shapes = [self.shape(v) for v in operands if isinstance(v, (sympy.Basic, np.ndarray))]
        if not any(shapes):
            return result
        shape = arrays.broadcast(*shapes)
        if self.shape(result) == shape:
            return result
        return self.array_op(arrays.BroadcastTo.make(self.atom(result, "x"), shape=shape), "full")

    def check_elementwise(self, rule, func, args, node):
        """A function given with ``symdiff.register`` is applied elementwise: on arrays it must
        return the broadcast shape of its arguments (its derivative rule is elementwise too).

        Checked by calling it on stand-in arrays of the arguments' shapes (filled with 0.5):
        a function that reduces (``np.sum(A, axis=1)``) or fails on arrays is a located error."""
        probes = [np.full(self.shape(a), 0.5) if self.is_array(a) or isinstance(a, np.ndarray)
                  else (0.5 if isinstance(a, sympy.Basic) else a) for a in args]
        want = arrays.broadcast(*[np.shape(p) for p in probes])
        name = rule.name
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = np.shape(func(*probes))
        except Exception as exc:  # noqa: BLE001 - the user's function, on stand-in arrays
            raise located(
                ShapeError,
                f"{name} (given with symdiff.register) fails on arrays of shape "
                f"{', '.join(str(np.shape(p)) for p in probes)}: {type(exc).__name__}: {exc}",
                self.tracer.frame.parsed, node,
                hint=f"registered functions are applied elementwise to arrays: make {name} work "
                "on numpy arrays, or call it on numbers") from None
        if tuple(got) != tuple(want):
            raise located(
                ShapeError,
                f"{name} (given with symdiff.register) returns shape {tuple(got)} for arguments "
                f"of shape {', '.join(str(np.shape(p)) for p in probes)}: registered rules are "
                f"elementwise (shape {want}), so its derivative would be wrong",
                self.tracer.frame.parsed, node,
                hint="write a reduction with numpy functions symdiff knows (np.sum(A, axis=1), "
                "np.max, ...), or register an elementwise function and reduce after it")

    def matmul(self, a, b, node, scalars=True):
        """``a @ b``; ``scalars``: a number operand multiplies (``np.dot``), else (``@``,
        ``np.matmul``) it can only be a parameter not known to be an array yet."""
        a, b = self.as_value(a, node), self.as_value(b, node)
        sa, sb = self.shape(a), self.shape(b)
        if not sa or not sb:
            for value, shape in ((a, sa), (b, sb)):
                if not shape and not scalars:  # a parameter assumed a number before the call
                    self.tracer.check_guess(value)
            return a * b
        if len(sa) > 2 or len(sb) > 2:
            if scalars or len(sa) < 2 or len(sb) < 2:  # np.dot of stacks is no matmul; a vector
                raise located(UnsupportedSyntaxError, "np.dot of arrays with more than 2 dimensions, "
                              "or a vector times a stack of matrices", self.tracer.frame.parsed, node,
                              hint="use @ (np.matmul) of stacks of matrices (both at least 2-D)")
            try:
                shape = np.matmul(np.empty(sa, dtype=np.int8), np.empty(sb, dtype=np.int8)).shape
            except ValueError as exc:
                raise located(ShapeError, f"matrix product of shapes {sa} and {sb}: {exc}",
                              self.tracer.frame.parsed, node, hint="check the shapes") from None
            op = arrays.BatchMatMul.make(self.atom(a, "a"), self.atom(b, "b"), shape=tuple(shape))
            return self.array_op(op, "matmul")
        try:
            shape = arrays.matmul_shape(sa, sb)
        except ValueError:
            self.tracer.check_guess(a)  # parameters assumed numbers before the first call
            self.tracer.check_guess(b)
            raise located(ShapeError, f"matrix product of shapes {sa} and {sb}: the inner "
                          "dimensions differ", self.tracer.frame.parsed, node,
                          hint="check the shapes (or transpose with .T)") from None
        op = arrays.MatMul.make(self.atom(a, "a"), self.atom(b, "b"), shape=tuple(shape))
        return self.array_op(op, "matmul")

    def getitem(self, base, index, node):
        key = index if isinstance(index, tuple) else (index,)
        mask = self._mask_key(key, base)
        if mask is not None:
            return self.masked(base, mask, node)
        if any(self._is_index_array(part) for part in key):
            return self.take(base, key, node)
        if any(self.is_counter_index(part) for part in key):
            return self.counter_item(base, key, node)
        for part in key:
            if isinstance(part, sympy.Basic):
                self.tracer.check_deferrable(part)
                raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                              self.tracer.frame.parsed, node, hint="index with ints and slices")
            if isinstance(part, (list, np.ndarray)):
                raise located(UnsupportedSyntaxError, "indexing with a list or array of "
                              f"{'bools' if np.asarray(part).dtype.kind == 'b' else 'non-ints'}",
                              self.tracer.frame.parsed, node,
                              hint="index with ints, slices and int arrays (boolean masks: "
                              "use np.where(mask, x, 0.0))")
        key = tuple(int(p) if isinstance(p, (int, np.integer)) else p for p in key)
        shape = self.shape(base)
        try:
            out = np.empty(shape)[key]
        except IndexError as exc:
            raise located(ShapeError, f"index {arrays.format_key(key)} is out of bounds for shape "
                          f"{shape} ({exc})", self.tracer.frame.parsed, node,
                          hint="index within the array's shape") from None
        key = _normal_key(key, shape)
        base_atom = self.atom(base, "x")
        name = base_atom.name if base_atom.is_Symbol else "x"
        if all(isinstance(p, int) for p in key):
            name += "_" + "_".join(str(p) for p in key)
        else:
            name += "_s"
        return self.array_op(arrays.GetItem.make(base_atom, key=key, shape=np.shape(out)), name)

    def is_counter_index(self, part):
        """An int index computed from the counter of a loop traced once (``t``, ``t + 1``,
        ``2*t - 1``: the counter times an int plus an int; ``Tracer.loop_counters``)."""
        counters = self.tracer.loop_counters
        if not (isinstance(part, sympy.Basic) and part.free_symbols and part.free_symbols <= counters):
            return False
        terms = part.as_coefficients_dict()
        return all(c.is_Integer and (t == 1 or t in counters) for t, c in terms.items())

    def hoisted_array(self, base, node):
        """A concrete array, or a list or tuple of numbers (or of arrays of one shape), indexed
        with a loop counter: as one array (a named constant; ``np.array`` of the items, made
        before the loop, once per list)."""
        if isinstance(base, np.ndarray):
            return self.constant(base)
        tracer = self.tracer
        found = self.hoisted.get(id(base))
        if found is not None and found[0] is base:
            return found[1]
        shapes = {tuple(self.shape(v)) for v in base}
        if not base or len(shapes) != 1 or not all(
                is_number(v) or isinstance(v, np.ndarray) or self.is_array(v) for v in base):
            raise located(UnsupportedSyntaxError, "indexing a list with the loop counter (its "
                          "items are not all numbers, or arrays of one shape)", tracer.frame.parsed,
                          node, hint="index a list of numbers, or an array")
        block, tracer.block = tracer.block, tracer.loop_entry  # (made before the loop, once)
        try:
            array = self.as_array(list(base), node)
        finally:
            tracer.block = block
        self.hoisted[id(base)] = (base, array)
        return array

    def counter_item(self, base, key, node, name=None):
        """``base[key]`` with ints, slices and counter indices (``X[t]``, ``X[t, :]``): a ``Take``
        whose index operands are the counter expressions (named), the rest of the key concrete;
        numpy reads one row per iteration and its adjoint adds into that row (``_add_at``)."""
        shape = tuple(self.shape(base))
        if len(key) > len(shape):
            raise located(ShapeError, f"too many indices ({len(key)}) for an array of shape {shape}",
                          self.tracer.frame.parsed, node, hint="index within the array's shape")
        indices, parts, probe = [], [], []
        for part in key:
            if self.is_counter_index(part):
                parts.append(arrays.Slot(len(indices)))
                indices.append(self.atom(part, "_row"))
                probe.append(0)
            elif isinstance(part, (int, np.integer, slice)) and not isinstance(part, bool):
                part = int(part) if isinstance(part, (int, np.integer)) else part
                parts.append(part)
                probe.append(part)
            else:
                raise located(UnsupportedSyntaxError, "indexing with the loop counter and "
                              f"{_describe_value(part)}", self.tracer.frame.parsed, node,
                              hint="index with the counter, ints and slices")
        out_shape = np.empty(shape)[tuple(probe)].shape
        base_atom = self.atom(base, "x")
        name = name or (base_atom.name if base_atom.is_Symbol else "x") + "_t"
        return self.array_op(arrays.Take.make(base_atom, *indices, key=tuple(parts), shape=out_shape), name)

    def masked(self, base, mask, node):
        """``x[mask]``: a ``Take`` of the True entries of a concrete mask (its length known); a
        ``MaskedValues`` for a traced one (see ``frontend.masks``)."""
        shape = tuple(self.shape(base))
        mask_shape = tuple(self.shape(mask)) if isinstance(mask, sympy.Basic) else np.shape(mask)
        if isinstance(mask, np.ndarray):
            if mask_shape != shape[:len(mask_shape)]:
                raise located(ShapeError, f"a boolean mask of shape {mask_shape} for an array of shape "
                              f"{shape}", self.tracer.frame.parsed, node, hint="use a mask of the array's shape")
            return self.take(base, tuple(np.nonzero(mask)), node)
        if mask_shape != shape:
            self.tracer.check_guess(base)
            raise located(UnsupportedSyntaxError, f"a boolean mask of shape {mask_shape} on an array "
                          f"of shape {shape}", self.tracer.frame.parsed, node,
                          hint="mask with a condition of the array's own shape, or use np.where")
        return MaskedValues(self.atom(base, "x"), mask, node, self.tracer)

    def masked_binop(self, op, left, right, node):
        """Elementwise arithmetic of ``x[mask]`` with numbers or values of the same mask: a
        ``MaskedValues`` of the arithmetic on the whole arrays (read only where the mask holds)."""
        masked = left if isinstance(left, MaskedValues) else right
        parts = []
        for side in (left, right):
            if isinstance(side, MaskedValues):
                if not _same_mask(side.mask, masked.mask):
                    raise side.refusal(node)
                parts.append(side.full)
            elif isinstance(side, MaskIndex) or self.shape(side) or np.ndim(side) \
                    or isinstance(side, (tuple, list)):
                raise masked.refusal(node)
            else:
                parts.append(side)
        result = self.tracer.binop(op, parts[0], parts[1], node)
        return MaskedValues(self.tracer.keep_shape(result, *parts), masked.mask, masked.node, self.tracer)

    def _is_index_array(self, part):
        """An int array in an index: concrete (``np.arange(n)``, a list of ints) or an array
        argument that is not differentiated (labels ``y``)."""
        if isinstance(part, (list, np.ndarray)):
            array = np.asarray(part)
            return array.ndim > 0 and (array.dtype.kind in "iu" or (array.size == 0 and isinstance(part, list)))
        return isinstance(part, sympy.Symbol) and bool(self.shape(part))

    def take(self, base, key, node):
        """``base[key]`` with int arrays in ``key`` (numpy's integer-array indexing): a ``Take``
        whose index operands are named constants or the (not differentiated) array arguments;
        its adjoint adds into zeros with ``numpy.add.at`` (a repeated index adds up)."""
        indices, parts = [], []
        for part in key:
            if isinstance(part, (list, np.ndarray)) or (isinstance(part, sympy.Symbol) and self.shape(part)):
                if isinstance(part, sympy.Symbol):
                    symbol = part  # (an index differentiated is refused by ad.reverse)
                else:
                    symbol = self.constant(np.asarray(part, dtype=np.intp))
                parts.append(arrays.Slot(len(indices)))
                indices.append(symbol)
            elif isinstance(part, sympy.Basic):
                self.tracer.check_deferrable(part)
                raise located(UnsupportedSyntaxError, "indexing with a differentiated value",
                              self.tracer.frame.parsed, node, hint="index with ints, slices and int arrays")
            else:
                parts.append(int(part) if isinstance(part, (int, np.integer)) else part)
        key = tuple(parts)
        shape = self.shape(base)
        dummy = arrays.key_with(key, [np.zeros(self.shape(i), dtype=np.intp) for i in indices])
        try:
            out = np.empty(shape)[dummy]
        except IndexError as exc:
            self.tracer.check_guess(base)  # a parameter assumed a number before the first call
            raise located(ShapeError, f"indexing an array of shape {shape} with int arrays of shapes "
                          f"{[self.shape(i) for i in indices]}: {exc}", self.tracer.frame.parsed, node,
                          hint="index within the array's shape") from None
        for symbol in indices:  # a concrete index must be within bounds, as numpy checks
            if symbol in self.constants:
                try:
                    np.empty(shape)[arrays.key_with(key, [self.constants.get(i, np.zeros(self.shape(i), dtype=np.intp)) for i in indices])]
                except IndexError as exc:
                    self.tracer.check_guess(base)
                    raise located(ShapeError, f"index out of bounds: {exc}", self.tracer.frame.parsed,
                                  node, hint="index within the array's shape") from None
                break
        base_atom = self.atom(base, "x")
        name = (base_atom.name if base_atom.is_Symbol else "x") + "_take"
        return self.array_op(arrays.Take.make(base_atom, *indices, key=key, shape=np.shape(out)), name)

    def array_attribute(self, base, node):
        shape = self.shape(base)
        attr = node.attr
        if attr == "shape":
            return shape
        if attr == "size":
            return int(np.prod(shape))
        if attr == "ndim":
            return len(shape)
        if attr == "T":
            result = arrays.transpose(self.atom(base, "x"), self.shapes)
            return self.array_op(result, "transpose") if isinstance(result, arrays.ArrayOp) else result
        record = registry.method("array", attr)
        if record is None:
            raise self.tracer.unsupported(node, f"the array method '.{attr}'",
                                   hint="use numpy functions symdiff supports (np.sum, np.dot, ...)")
        return _Method(base, record.handler)

    def iterate(self, iterable, node):
        """The items of ``iterable`` (a loop's, an unpacking's, a ``*`` argument's), as a list."""
        if isinstance(iterable, (tuple, list, range, str, dict, zip, enumerate, map, reversed)):
            return list(iterable)
        if isinstance(iterable, (MaskedValues, MaskIndex)):
            raise iterable.refusal(node)
        if self.is_array(iterable):
            return [self.getitem(iterable, i, node) for i in range(self.shape(iterable)[0])]
        if isinstance(iterable, np.ndarray):
            return list(iterable)
        if isinstance(iterable, sympy.Basic):
            self.tracer.check_guess(iterable)
            self.tracer.check_deferrable(iterable)
            raise located(
                UnsupportedSyntaxError,
                "a loop over a differentiated value",
                self.tracer.frame.parsed, node,
                hint="loop over range(n) with an int n, or over a tuple of values",
            )
        raise located(
            SymdiffError, f"cannot loop over {_describe_value(iterable)}", self.tracer.frame.parsed, node,
            hint="loop over range(...), a tuple or a list",
        )


_VIEWS = (arrays.GetItem, arrays.Transpose, arrays.Reshape, arrays.BroadcastTo)


@dataclass
class _Method:
    """``x.sum`` or ``v.append`` before it is called: the array or list, and the method's handler."""

    array: object
    handler: object


def _concrete_method(name, handler):
    """A method of a concrete numpy array: numpy runs it now unless an argument is symbolic
    (``c.dot(x)``), which goes through the array method's handler."""
    def call(tracer, node, args, kwargs):
        if not any(tracer.is_symbolic(a) for a in [*args[1:], *kwargs.values()]):
            return getattr(args[0], name)(*args[1:], **kwargs)
        return handler(tracer, node, args, kwargs)

    return call


def _normal_key(key, shape):
    """``key`` with negative ints made non-negative, each against the axis it indexes (an
    ``...`` stands for the axes no other part names; ``None`` adds an axis, naming none)."""
    named = sum(1 for p in key if p is not None and p is not Ellipsis)
    out, axis = [], 0
    for part in key:
        if part is Ellipsis:
            axis += len(shape) - named
        elif part is not None:
            out.append(_normal_part(part, shape[axis]) if axis < len(shape) else part)
            axis += 1
            continue
        out.append(part)
    return tuple(out)


def _normal_part(part, size):
    if isinstance(part, int):
        return part % size if size else part
    return part
