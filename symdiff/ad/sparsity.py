"""sparsity: the exact structural sparsity pattern of a program's Jacobian, and its colouring.

Takes: a traced ``Program`` (``ir``) and the parameters it is differentiated with respect to.
Returns: a ``Pattern`` — for each number of the program's output (flattened, C order), the
columns (the differentiated numbers, parameters flattened in order) it may depend on — found by
walking the statements once, never by evaluating the function: a scalar expression depends on
what its free symbols depend on (broadcast as numpy broadcasts), and each structural array
operation (``primitives.arrays``) has a rule that moves, gathers, reduces or joins the patterns
of its operands. An operation without a rule depends on every number of every operand (always
correct, possibly denser than needed), and so does anything else the walk does not know (a
loop kept as a loop, a symbol it cannot place). The result is a superset of the nonzeros of the
Jacobian at every point: an entry outside it is zero whatever the arguments are.

``colour_rows(pattern)`` is the Curtis-Powell-Reid greedy colouring: rows of one colour share
no column, so one reverse pass seeded with the sum of their unit vectors gives all of them.
``compression(program, wrt)`` is the plan of those passes (``Compression``); for a Hessian a
few dense rows get passes of their own, their columns read from them by symmetry.

>>> p = Pattern.identity(3, 3, 0)
>>> p.take(np.array([0, 1])).union(p.take(np.array([1, 2]))).to_dense().astype(int).tolist()
[[1, 1, 0], [0, 1, 1]]
>>> colour_rows(Pattern.from_pairs([0, 0, 1, 1, 2], [0, 1, 1, 2, 2], 3, 3)).tolist()
[0, 1, 0]

Needs numpy only (scipy is used by ``api`` to hand the result out as a ``scipy.sparse`` matrix).
"""

import math

import numpy as np
import sympy

from ..ir import Branch, Merge, Statement
from ..primitives import arrays

# Past this many stored entries a pattern that is more than half full is kept as "every row
# depends on every column" (``Pattern.full``): still a superset, without the memory and time of
# listing them (a compressed evaluation of so dense a Jacobian would save nothing anyway).
FULL_LIMIT = 65_536


def _too_dense(entries, nrows, ncols):
    return entries > FULL_LIMIT and entries > nrows * ncols // 2


class Pattern:
    """A boolean matrix of ``nrows`` x ``ncols`` in compressed rows (``indptr``, ``indices``:
    sorted and unique within a row), or ``full`` (every entry may be nonzero)."""

    __slots__ = ("nrows", "ncols", "indptr", "indices", "full")

    def __init__(self, nrows, ncols, indptr=None, indices=None, full=False):
        self.nrows, self.ncols, self.full = int(nrows), int(ncols), bool(full)
        if full:
            indptr, indices = None, None
        elif indptr is None:
            indptr, indices = np.zeros(self.nrows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        self.indptr, self.indices = indptr, indices

    @classmethod
    def empty(cls, nrows, ncols):
        return cls(nrows, ncols)

    @classmethod
    def identity(cls, nrows, ncols, offset):
        """Row ``i`` depends on column ``offset + i`` (a differentiated parameter itself)."""
        return cls(nrows, ncols, np.arange(nrows + 1, dtype=np.int64),
                   np.arange(offset, offset + nrows, dtype=np.int64))

    @classmethod
    def from_pairs(cls, rows, cols, nrows, ncols):
        """The pattern of the ``(rows[k], cols[k])`` entries (repeats allowed)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        keys = np.unique(rows * max(ncols, 1) + cols)
        if _too_dense(keys.size, nrows, ncols):
            return cls(nrows, ncols, full=True)
        rows, cols = np.divmod(keys, max(ncols, 1))
        indptr = np.zeros(nrows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=nrows), out=indptr[1:])
        return cls(nrows, ncols, indptr, cols)

    @property
    def nnz(self):
        return self.nrows * self.ncols if self.full else int(self.indices.size)

    def pairs(self):
        """``(rows, cols)`` of every entry, row by row."""
        if self.full:
            rows = np.repeat(np.arange(self.nrows, dtype=np.int64), self.ncols)
            return rows, np.tile(np.arange(self.ncols, dtype=np.int64), self.nrows)
        rows = np.repeat(np.arange(self.nrows, dtype=np.int64), np.diff(self.indptr))
        return rows, self.indices

    def take(self, rows):
        """Row ``k`` of the result is row ``rows[k]`` of this pattern (a gather)."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if self.full:
            return Pattern(rows.size, self.ncols, full=True)
        starts, counts = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        total = int(indptr[-1])
        if _too_dense(total, rows.size, self.ncols):
            return Pattern(rows.size, self.ncols, full=True)
        # positions of every stored entry of the chosen rows, in order
        offsets = np.arange(total, dtype=np.int64) - np.repeat(indptr[:-1], counts)
        positions = np.repeat(starts, counts) + offsets
        return Pattern(rows.size, self.ncols, indptr, self.indices[positions])

    def group(self, groups, nrows):
        """Row ``g`` of the result is the union of the rows ``k`` with ``groups[k] == g``
        (a reduction: the rows summed, maxed, ... into one)."""
        groups = np.asarray(groups, dtype=np.int64).ravel()
        if self.full:
            if np.unique(groups).size == nrows:
                return Pattern(nrows, self.ncols, full=True)
            return Pattern.from_pairs(*_full_pairs(np.unique(groups), self.ncols), nrows, self.ncols)
        rows, cols = self.pairs()
        return Pattern.from_pairs(groups[rows], cols, nrows, self.ncols)

    def union(self, *others):
        """Entry-wise or with patterns of the same shape."""
        parts = [self, *others]
        if any(p.full for p in parts):
            return Pattern(self.nrows, self.ncols, full=True)
        parts = [p for p in parts if p.nnz]
        if not parts:
            return Pattern.empty(self.nrows, self.ncols)
        if len(parts) == 1:
            return parts[0]
        rows = np.concatenate([p.pairs()[0] for p in parts])
        cols = np.concatenate([p.pairs()[1] for p in parts])
        return Pattern.from_pairs(rows, cols, self.nrows, self.ncols)

    def everything(self):
        """One row: the union of all rows (what a reduction of the whole value depends on)."""
        return self.group(np.zeros(self.nrows, dtype=np.int64), 1)

    def transpose(self):
        if self.full:
            return Pattern(self.ncols, self.nrows, full=True)
        rows, cols = self.pairs()
        return Pattern.from_pairs(cols, rows, self.ncols, self.nrows)

    def to_dense(self):
        out = np.zeros((self.nrows, self.ncols), dtype=bool)
        rows, cols = self.pairs()
        out[rows, cols] = True
        return out

    def __repr__(self):
        what = "full" if self.full else f"{self.nnz} entries"
        return f"<Pattern {self.nrows}x{self.ncols}, {what}>"


def _full_pairs(rows, ncols):
    return np.repeat(rows, ncols), np.tile(np.arange(ncols, dtype=np.int64), rows.size)


def _size(shape):
    return int(math.prod(shape)) if shape else 1


def _index(shape):
    """The flat index of each element of an array of ``shape``, as an array of that shape."""
    return np.arange(_size(shape), dtype=np.int64).reshape(tuple(shape))


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(a) % ndim for a in axes)) if ndim else ()


def _kept_dims(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def columns_of(program, wrt_names):
    """``{symbol: (offset, size)}``: where each differentiated number sits among the Jacobian's
    columns (parameters in ``wrt_names`` order, arrays flattened, list items and container
    leaves in order), and the number of columns."""
    params = {p.name: p for p in program.params}
    where, offset = {}, 0
    for name in wrt_names:
        param = params[name]
        symbols = param.elements if param.elements is not None else (param.symbol,)
        for symbol in symbols:
            size = _size(program.shapes.get(symbol, ()))
            where[symbol] = (offset, size)
            offset += size
    return where, offset


def jacobian_pattern(program, wrt_names):
    """The ``Pattern`` of d ``program.output`` / d (the ``wrt_names`` parameters): one row per
    number of the output (flattened), one column per differentiated number."""
    where, ncols = columns_of(program, wrt_names)
    walker = _Propagate(program, where, ncols)
    walker.block(program.body)
    return walker.value(program.output)


def symmetric(pattern):
    """``pattern`` or its transpose (a Hessian's pattern: H is symmetric, so an entry that the
    structure allows on one side is kept on both)."""
    return pattern.union(pattern.transpose())


class _Propagate:
    """Walks a block, keeping the pattern of every symbol it defines (``patterns``)."""

    def __init__(self, program, where, ncols):
        self.program = program
        self.shapes = program.shapes
        self.ncols = ncols
        self.patterns = {}
        self.memo = {}
        self.shape_memo = {}
        self.known_empty = set(program.constants) | {e.symbol for e in program.externals}
        for param in program.params:
            symbols = param.elements if param.elements is not None else (param.symbol,)
            for symbol in symbols:
                if symbol in where:
                    offset, size = where[symbol]
                    self.patterns[symbol] = Pattern.identity(size, ncols, offset)
                else:
                    self.known_empty.add(symbol)  # not differentiated: a constant here
            self.known_empty.add(param.symbol)

    # ---- blocks ----
    def block(self, items):
        for item in items:
            kind = type(item)
            if kind is Statement or kind.__name__ == "Adjoint":
                self.patterns[item.target] = self.value(item.expr)
            elif kind is Branch:  # both arms: the pattern is the union of what each gives
                self.block(item.then)
                self.block(item.orelse)
                for merge in item.merges:
                    self.merge(merge)
            elif kind is Merge:
                self.merge(item)
            else:  # a loop kept as a loop, or a node this walk does not know: everything
                self.unknown(item)

    def merge(self, merge):
        shape = self.shape(merge.target)
        a = self.fit(merge.then_value, shape)
        b = self.fit(merge.else_value, shape)
        self.patterns[merge.target] = a.union(b)

    def unknown(self, item):
        targets = [getattr(item, "target", None)]
        targets += [c.after for c in getattr(item, "carried", ())]
        targets += [c.inside for c in getattr(item, "carried", ())]
        for node in getattr(item, "body", ()):
            targets.append(getattr(node, "target", None))
        for target in targets:
            if target is not None:
                self.patterns[target] = Pattern(_size(self.shape(target)), self.ncols, full=True)

    # ---- values ----
    def shape(self, expr):
        return tuple(arrays.shape_of(expr, self.shapes, self.shape_memo))

    def fit(self, expr, shape):
        """The pattern of ``expr`` broadcast to ``shape``."""
        return self.broadcast(self.value(expr), self.shape(expr), shape)

    def broadcast(self, pattern, have, shape):
        have, shape = tuple(have), tuple(shape)
        if have == shape:
            return pattern
        if not have:
            return pattern.take(np.zeros(_size(shape), dtype=np.int64))
        return pattern.take(np.broadcast_to(_index(have), shape))

    def value(self, expr):
        found = self.memo.get(expr)
        if found is not None:
            return found
        found = self._value(expr)
        self.memo[expr] = found
        return found

    def _value(self, expr):
        shape = self.shape(expr)
        size = _size(shape)
        if isinstance(expr, sympy.Symbol):
            found = self.patterns.get(expr)
            if found is not None:
                return found
            if expr in self.known_empty:
                return Pattern.empty(size, self.ncols)
            return Pattern(size, self.ncols, full=True)  # a symbol this walk cannot place
        if expr.is_Atom or not expr.args:
            return Pattern.empty(size, self.ncols)
        if isinstance(expr, (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)):
            return Pattern.empty(size, self.ncols)  # a condition: its derivative is 0
        if isinstance(expr, arrays.ArrayOp):
            rule = RULES.get(type(expr))
            if rule is None:
                rule = _no_rule if type(expr).__name__ not in NOT_DIFFERENTIABLE else _nothing
            return rule(self, expr)
        if isinstance(expr, sympy.Piecewise):
            parts = [e for e, _ in expr.args]
        else:
            parts = [a for a in expr.args if isinstance(a, sympy.Basic)]
        found = [self.fit(a, shape) for a in parts]
        return found[0].union(*found[1:]) if found else Pattern.empty(size, self.ncols)


# ---- one rule per structural operation: (walker, node) -> Pattern of the node's value ----

NOT_DIFFERENTIABLE = {"ArgSort", "SignDet"}  # ints or steps: no derivative flows


def _nothing(walk, node):
    return Pattern.empty(_size(node.shape), walk.ncols)


def _no_rule(walk, node):
    """Every output number depends on every number of every operand (correct for any op)."""
    rows = [walk.value(a).everything() for a in node.operands if isinstance(a, sympy.Basic)]
    total = rows[0].union(*rows[1:]) if rows else Pattern.empty(1, walk.ncols)
    return total.take(np.zeros(_size(node.shape), dtype=np.int64))


def _operand(walk, node):
    (x,) = node.operands[:1]
    return x, walk.value(x), walk.shape(x)


def _get_item(walk, node):
    x, p, shape = _operand(walk, node)
    return p.take(_index(shape)[node.params["key"]])


def _scatter_into(walk, value, key, shape):
    """Zeros of ``shape`` with ``value`` written at ``key`` (broadcast into the slice)."""
    target = _index(shape)[key]
    p = walk.value(value)
    source = np.broadcast_to(_index(walk.shape(value)), target.shape)
    return p.take(source.ravel()).group(target.ravel(), _size(shape))


def _scatter(walk, node):
    return _scatter_into(walk, node.operands[0], node.params["key"], node.shape)


def _scatter_items(walk, node):
    parts = [_scatter_into(walk, v, k, node.shape) for v, k in zip(node.operands, node.params["keys"])]
    return parts[0].union(*parts[1:]) if parts else _nothing(walk, node)


def _constant_indices(walk, indices):
    """The values of index operands that are constants of the program, or None."""
    values = []
    for index in indices:
        value = walk.program.constants.get(index)
        if value is None:
            if isinstance(index, sympy.Integer):
                value = int(index)
            else:
                return None
        values.append(np.asarray(value))
    return values


def _take(walk, node):
    x, *indices = node.operands
    known = _constant_indices(walk, indices)
    if known is None:
        return _no_rule(walk, node)
    key = arrays.key_with(node.params["key"], known)
    return walk.value(x).take(_index(walk.shape(x))[key])


def _add_at(walk, node):
    value, *indices = node.operands
    known = _constant_indices(walk, indices)
    if known is None:
        return _no_rule(walk, node)
    key = arrays.key_with(node.params["key"], known)
    target = _index(node.shape)[key]
    source = np.broadcast_to(_index(walk.shape(value)), target.shape)
    return walk.value(value).take(source.ravel()).group(target.ravel(), _size(node.shape))


def _same(walk, node):  # reshape: C order, the same numbers
    return walk.value(node.operands[0])


def _transpose(walk, node):
    x, p, shape = _operand(walk, node)
    axes = node.params["axes"]
    return p.take(np.transpose(_index(shape), axes))


def _broadcast_to(walk, node):
    x, p, shape = _operand(walk, node)
    return walk.broadcast(p, shape, node.shape)


def _unbroadcast(walk, node):
    x, p, shape = _operand(walk, node)
    source = tuple(node.params.get("source") or shape)
    p = walk.broadcast(p, shape, source)
    return p.group(np.broadcast_to(_index(_fitted(node.shape, source)), source), _size(node.shape))


def _fitted(small, big):
    """``small`` with ones in front, to the number of axes of ``big``."""
    return (1,) * (len(big) - len(small)) + tuple(small)


def _reduce(walk, x, axis):
    """The pattern of a reduction of ``x`` over ``axis`` (sum, max, min, prod), in the reduced
    shape."""
    p, shape = walk.value(x), walk.shape(x)
    if not shape:
        return p
    axes = _axes(axis, len(shape))
    kept = _kept_dims(shape, axes)
    return p.group(np.broadcast_to(_index(kept), shape), _size(kept))


def _reduction(walk, node):
    return _reduce(walk, node.operands[0], node.params.get("axis"))


def _expand(walk, x, axis, shape):
    """``x`` (reduced over ``axis``) spread back over it to ``shape``."""
    p = walk.value(x)
    axes = _axes(axis, len(shape))
    kept = _kept_dims(shape, axes)
    if _size(walk.shape(x)) != _size(kept):
        return _no_rule_of(walk, [x], shape)
    return p.take(np.broadcast_to(_index(kept), shape))


def _no_rule_of(walk, operands, shape):
    rows = [walk.value(a).everything() for a in operands]
    total = rows[0].union(*rows[1:])
    return total.take(np.zeros(_size(shape), dtype=np.int64))


def _expand_to(walk, node):
    return _expand(walk, node.operands[0], node.params["axis"], node.shape)


def _along_axis(walk, node):
    """cumsum and its reverse: each element depends on the whole line along the axis (a
    superset of the triangle it really depends on)."""
    x = node.operands[0]
    shape = walk.shape(x)
    if not shape:
        return walk.value(x)
    axis = node.params.get("axis")
    axes = _axes(axis, len(shape))
    kept = _kept_dims(shape, axes)
    reduced = _reduce(walk, x, axis)
    return reduced.take(np.broadcast_to(_index(kept), tuple(node.shape)))


def _lines(walk, node):
    """An operation whose output element depends on the line of its operands along ``axis``
    (the adjoints of max/min and prod: ``ExtremeGrad``, ``ProdOthers``, ``ProdOthersJvp``):
    operands of the output's shape are reduced along the axis and spread back, reduced
    operands spread back, anything else (a number) broadcast."""
    shape = tuple(node.shape)
    if not shape:
        return _no_rule(walk, node)
    axes = _axes(node.params.get("axis"), len(shape))
    kept = _kept_dims(shape, axes)
    spread = np.broadcast_to(_index(kept), shape)
    found = []
    for operand in node.operands:
        have = walk.shape(operand)
        if have == shape:
            found.append(_reduce(walk, operand, axes).take(spread))
        elif _size(have) == _size(kept) and have:
            found.append(walk.value(operand).take(spread))
        elif not have:
            found.append(walk.fit(operand, shape))
        else:
            return _no_rule(walk, node)
    return found[0].union(*found[1:])


def _matmul(walk, node):
    """``a @ b`` (1-D and 2-D): output (i, k) depends on row i of a and column k of b."""
    a, b = node.operands
    sa, sb = walk.shape(a), walk.shape(b)
    if not sa or not sb:
        return walk.fit(a, node.shape).union(walk.fit(b, node.shape))
    ra = _reduce(walk, a, (len(sa) - 1,))  # shape sa[:-1]
    contraction = 0 if len(sb) == 1 else len(sb) - 2
    rb = _reduce(walk, b, (contraction,))  # shape sb without the contracted axis
    sa_rest, sb_rest = tuple(sa[:-1]), tuple(n for i, n in enumerate(sb) if i != contraction)
    out = tuple(node.shape)
    ia = np.broadcast_to(_index(sa_rest).reshape(sa_rest + (1,) * len(sb_rest)), sa_rest + sb_rest)
    ib = np.broadcast_to(_index(sb_rest).reshape((1,) * len(sa_rest) + sb_rest), sa_rest + sb_rest)
    if _size(out) != ia.size:
        return _no_rule(walk, node)
    return ra.take(ia.ravel()).union(rb.take(ib.ravel()))


def _outer(walk, node):
    a, b = node.operands
    m, n = node.shape
    pa, pb = walk.value(a), walk.value(b)
    ia = np.repeat(np.arange(m, dtype=np.int64), n) if _size(walk.shape(a)) == m else np.zeros(m * n, np.int64)
    ib = np.tile(np.arange(n, dtype=np.int64), m) if _size(walk.shape(b)) == n else np.zeros(m * n, np.int64)
    return pa.take(ia).union(pb.take(ib))


def _joined(walk, node, join):
    """concatenate / stack: the operands' patterns one after the other, then the joined index."""
    parts = list(node.operands)
    axis = node.params["axis"]
    indexes, patterns, offset = [], [], 0
    for part in parts:
        shape = walk.shape(part)
        indexes.append(_index(shape) + offset)
        patterns.append(walk.value(part))
        offset += _size(shape)
    try:
        joined = join(indexes, axis=axis)
    except ValueError:
        return _no_rule(walk, node)
    if joined.size != _size(node.shape):
        return _no_rule(walk, node)
    stacked = _vstack(patterns, walk.ncols)
    return stacked.take(joined.ravel())


def _vstack(patterns, ncols):
    if any(p.full for p in patterns):
        rows = [np.full(p.nrows, p.full) for p in patterns]
        if all(r.all() for r in rows):
            return Pattern(sum(p.nrows for p in patterns), ncols, full=True)
        patterns = [Pattern.from_pairs(*p.pairs(), p.nrows, ncols) for p in patterns]
    nrows = sum(p.nrows for p in patterns)
    indptr = [np.zeros(1, dtype=np.int64)]
    start = 0
    for p in patterns:
        indptr.append(p.indptr[1:] + start)
        start += p.indices.size
    indices = np.concatenate([p.indices for p in patterns]) if patterns else np.zeros(0, np.int64)
    return Pattern(nrows, ncols, np.concatenate(indptr), indices)


def _concatenate(walk, node):
    return _joined(walk, node, np.concatenate)


def _stack(walk, node):
    return _joined(walk, node, np.stack)


def _elementwise_operands(walk, node):
    """An operation whose every output element depends on the same element of its operands
    (after broadcasting): the union of their broadcast patterns."""
    found = [walk.fit(a, node.shape) for a in node.operands if isinstance(a, sympy.Basic)]
    return found[0].union(*found[1:])


RULES = {
    arrays.GetItem: _get_item,
    arrays.Scatter: _scatter,
    arrays.ScatterItems: _scatter_items,
    arrays.Take: _take,
    arrays.AddAt: _add_at,
    arrays.Reshape: _same,
    arrays.Transpose: _transpose,
    arrays.BroadcastTo: _broadcast_to,
    arrays.Unbroadcast: _unbroadcast,
    arrays.ExpandTo: _expand_to,
    arrays.ArraySum: _reduction,
    arrays.ArrayMax: _reduction,
    arrays.ArrayMin: _reduction,
    arrays.ArrayProd: _reduction,
    arrays.CumSum: _along_axis,
    arrays.RevCumSum: _along_axis,
    arrays.MatMul: _matmul,
    arrays.Outer: _outer,
    arrays.ExtremeGrad: _lines,
    arrays.ProdOthers: _lines,
    arrays.ProdOthersJvp: _lines,
    arrays.Concatenate: _concatenate,
    arrays.Stack: _stack,
}


def colour_rows(pattern):
    """Curtis-Powell-Reid greedy colouring of ``pattern``'s rows: two rows that share a column
    get different colours (rows in natural order, each the smallest colour its neighbours leave
    free). Returns one colour per row (ints from 0)."""
    n = pattern.nrows
    if pattern.full:
        return np.arange(n, dtype=np.int64)
    by_column = pattern.transpose()  # column -> the rows that have it
    counts = np.diff(by_column.indptr)
    if counts.size and (counts.max() == n or float(np.dot(counts, counts)) > 5e7):
        return np.arange(n, dtype=np.int64)  # a column in every row (or nearly): all differ
    colours = np.full(n, -1, dtype=np.int64)
    indptr, indices = pattern.indptr, pattern.indices
    cptr, crows = by_column.indptr, by_column.indices
    for i in range(n):
        cols = indices[indptr[i]:indptr[i + 1]]
        if cols.size == 0:
            colours[i] = 0
            continue
        if cols.size == 1:
            c = cols[0]
            neighbours = crows[cptr[c]:cptr[c + 1]]
        else:
            neighbours = np.concatenate([crows[cptr[c]:cptr[c + 1]] for c in cols.tolist()])
        used = colours[neighbours]
        used = np.unique(used[used >= 0])
        gaps = np.flatnonzero(used != np.arange(used.size))  # the smallest colour not used
        colours[i] = int(gaps[0]) if gaps.size else used.size
    return colours





class Compression:
    """How to compute a Jacobian of ``pattern`` from one reverse pass per colour of its rows.

    ``seeds[c]``: the output's adjoint for colour ``c`` (ones at the rows of that colour, of
    ``output_shape``); pass ``c`` gives row ``c`` of the compressed matrix ``R`` (``colours``
    x ``ncols``), whose entry ``(c, j)`` is ``J[i, j]`` for the one row ``i`` of colour ``c``
    that has column ``j``. ``gather``: for each entry of the pattern (row by row, as
    ``indptr``/``indices`` list them), its place in ``R`` raveled; ``flat``: its place in the
    dense ``nrows`` x ``ncols`` matrix raveled.
    """

    def __init__(self, pattern, output_shape, symmetric=False):
        self.pattern = pattern
        self.nrows, self.ncols = pattern.nrows, pattern.ncols
        self.output_shape = tuple(output_shape)
        self.colours = colour_rows(pattern)
        self.count = int(self.colours.max()) + 1 if self.colours.size else 0
        self.own = np.zeros(self.nrows, dtype=bool)  # rows computed alone (symmetric: see below)
        if symmetric and not pattern.full and self.count > 2:
            self._split_dense_rows()
        self._listing = None
        self._seeds = None
        self._columns = None

    def _split_dense_rows(self):
        """A symmetric matrix with a few dense rows (an arrowhead: a parameter every term
        shares): each dense row gets a pass of its own, which gives its column too, and the
        other rows are coloured without those columns — 2 passes for an arrowhead, not n.
        Kept where it needs fewer passes than the plain colouring."""
        counts = np.diff(self.pattern.indptr)
        n = self.nrows
        for threshold in sorted({max(n // 2, 2), max(n // 8, 2), max(2 * math.isqrt(n), 2)}):
            dense = counts > threshold
            if not dense.any() or dense.all():
                continue
            rows, cols = self.pattern.pairs()
            keep = ~dense[rows] & ~dense[cols]
            rest = Pattern.from_pairs(rows[keep], cols[keep], n, self.ncols)
            colours = colour_rows(rest)
            base = int(colours[~dense].max()) + 1 if (~dense).any() else 0
            colours[dense] = base + np.arange(int(dense.sum()))
            count = base + int(dense.sum())
            if count < self.count:
                self.colours, self.count, self.own = colours, count, dense

    @property
    def useful(self):
        """Whether fewer passes than rows are needed."""
        return self.count < self.nrows

    def _listed(self):
        if self._listing is None:
            rows, cols = self.pattern.pairs()
            if self.pattern.full:
                indptr = np.arange(0, (self.nrows + 1) * self.ncols, self.ncols, dtype=np.int64)
            else:
                indptr = self.pattern.indptr
            # entry (i, j) is read from the pass of i's colour, at j; where j is a row computed
            # alone (and i is not), from j's own pass at i (the matrix is symmetric)
            gather = self.colours[rows] * self.ncols + cols
            if self.own.any():
                swap = self.own[cols] & ~self.own[rows]
                gather = np.where(swap, self.colours[cols] * self.ncols + rows, gather)
            if max(self.nrows, self.ncols, cols.size) < 2 ** 31 - 1:  # scipy's own index type
                indptr, cols = indptr.astype(np.int32), cols.astype(np.int32)  # (faster to check)
            self._listing = (indptr, cols, gather, rows * self.ncols + cols)
        return self._listing

    indptr = property(lambda self: self._listed()[0])
    indices = property(lambda self: self._listed()[1])
    gather = property(lambda self: self._listed()[2])
    flat = property(lambda self: self._listed()[3])

    def columns(self):
        """The other way round (forward passes): ``(colours of the columns, their number,
        gather)`` — columns of one colour share no row, so one Jacobian-vector product with
        the sum of their unit vectors gives all of them; ``gather`` places each entry of the
        pattern (in CSR order) in the compressed ``colours`` x ``nrows`` matrix raveled."""
        if self._columns is None:
            colours = colour_rows(self.pattern.transpose())
            count = int(colours.max()) + 1 if colours.size else 0
            rows, cols = self.pattern.pairs()
            self._columns = (colours, count, colours[cols] * self.nrows + rows)
        return self._columns

    @property
    def seeds(self):
        if self._seeds is None:
            seeds = []
            for c in range(self.count):
                seed = np.zeros(_size(self.output_shape))
                seed[self.colours == c] = 1.0
                seeds.append(seed.reshape(self.output_shape) if self.output_shape else 1.0)
            self._seeds = seeds
        return self._seeds

    def __repr__(self):
        return f"<Compression of {self.pattern}: {self.count} passes for {self.nrows} rows>"


def compression(program, wrt_names, hessian=False):
    """The ``Compression`` of d ``program.output`` / d ``wrt_names`` (``hessian``: the program is
    a gradient, and its Jacobian symmetric: the pattern is made symmetric)."""
    pattern = jacobian_pattern(program, wrt_names)
    if hessian and pattern.nrows == pattern.ncols:
        pattern = symmetric(pattern)
    return Compression(pattern, program.shapes.get(program.output, ()),
                       symmetric=hessian and pattern.nrows == pattern.ncols)


__all__ = ["Compression", "FULL_LIMIT", "Pattern", "colour_rows", "columns_of", "compression",
           "jacobian_pattern", "symmetric"]
