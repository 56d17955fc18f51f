"""structured: the whole Jacobian of array code from one forward pass, its tangents kept in the
structure known when the code is generated.

Takes: a traced ``Program`` (``vector_output``: its output a number or an array) and the names of
the parameters to differentiate (float arrays and numbers). Returns: a new ``Program`` (the
given one is not changed) whose output is the Jacobian itself — a 2-D array, rows the output
flattened, columns the differentiated numbers in ``wrt`` order — computed with the forward pass in
one generated function. Raises ``NoRule`` naming the first construct with no structured rule
(the caller then takes one pass per colour, ``ad.sparsity``).

Each value's tangent (its Jacobian with respect to all the columns) is a sum of terms whose
shapes are fixed at generation time, each a few arrays of the value's size, never n x n:

- ``Pick(places, values, block)``: one entry per row, row i's at column ``places[i]`` (a
  concrete int array of the value's shape): a parameter's own tangent (the identity), an
  elementwise map of it (a diagonal), a slice of one (a shifted diagonal: ``x[1:] - x[:-1]``).
- ``Rank1(factors, row, block)``: row i is ``factors[i] * row`` (``row`` of a parameter's
  shape): a reduction to a number (a row), a number broadcast over an array (an outer product).
- ``Dense(matrix, block)``: the rows of a 1-D value (``A @ x`` with ``A`` not differentiated).

Each statement's terms come from the same local partial derivatives the reverse pass uses
(``ad.reverse.local_partial``: branches of ``np.where`` and their conventions included), scaled
row by row; structural operations have rules here (sum, matmul and dot, indexing with a
concrete key). The output's terms are assembled at the end by one ``Assemble`` (the generated
``_jacobian`` helper): zeros, the rank-one blocks added, the picks added at their places.
"""

from dataclasses import dataclass, replace

import numpy as np
import sympy

from ..ir import Origin, Statement
from ..primitives import arrays
from ..primitives.nodes import real_symbol
from .reverse import local_partial

MAX_TERMS = 12  # terms one value may carry (more: no rule, the per-colour passes take over)


class NoRule(Exception):
    """A construct the structured Jacobian has no rule for (its message says which)."""


@dataclass(frozen=True)
class Block:
    """The columns of one differentiated parameter: ``start:start + size``, ``shape`` its own."""

    start: int
    size: int
    shape: tuple


@dataclass(frozen=True)
class Pick:
    places: object  # int ndarray of the value's shape: each row's one column
    values: sympy.Expr  # broadcasts to the value's shape
    block: Block
    rows: object = None  # bool ndarray of the value's shape: the rows that have an entry (None: all)
    inner: object = None  # a padded pick (``_placed``): the values before padding, one per such row


@dataclass(frozen=True)
class Rank1:
    factors: sympy.Expr  # broadcasts to the value's shape
    row: sympy.Expr  # of the block's shape (or a number: the same in every column)
    block: Block


@dataclass(frozen=True)
class Dense:
    matrix: sympy.Expr  # (value size, block size); the value is 1-D
    block: Block


class Assemble(arrays.ArrayOp):
    """The Jacobian matrix of ``shape`` from structured terms: operands are the terms' arrays in
    order, ``layout`` says what each term is (``("pick",)``: places, values; ``("rank1", start,
    stop)``: factors, row; ``("dense", start, stop)``: matrix)."""

    printed = "jacobian"

    def vjp(self, bar, shapes):
        raise NotImplementedError("Assemble")


class Entries(arrays.ArrayOp):
    """The ``data`` of a sparse Jacobian from picks: operands, for each pick, the positions of its
    entries in ``data`` (unless ``layout`` gives them as a slice), its values, and (``layout``
    ``("some", ...)``) the rows that have one. ``layout`` also says whether the pick is written
    (no earlier pick shares its entries) or added; ``zeros``: whether ``data`` starts as zeros."""

    printed = "entries"

    def vjp(self, bar, shapes):
        raise NotImplementedError("Entries")


def _size(shape):
    return int(np.prod(shape)) if shape else 1


class _Forward:
    def __init__(self, program, wrt_names):
        self.program = program
        self.shapes = program.shapes
        self.tangents = {}  # symbol -> [terms]
        self.body = []
        params = {p.name: p for p in program.params}
        start = 0
        self.blocks = []
        for name in wrt_names:
            param = params[name]
            if param.tree is not None:
                raise NoRule(f"the container argument {name!r}")
            shape = tuple(self.shapes.get(param.symbol, ()))
            block = Block(start, _size(shape), shape)
            self.blocks.append(block)
            places = start + np.arange(block.size).reshape(shape)
            if shape:
                self.tangents[param.symbol] = [Pick(places, sympy.Integer(1), block)]
            else:
                self.tangents[param.symbol] = [Rank1(sympy.Integer(1), sympy.Integer(1), block)]
            start += block.size
        self.ncols = start

    # ---- naming: every new array a statement of its own (small expressions, shared) ----
    def shape(self, expr):
        return tuple(arrays.shape_of(expr, self.shapes))

    def named(self, expr, stmt, hint):
        if expr.is_Atom:
            return expr
        target = real_symbol(self.program.namer.fresh(hint))
        shape = self.shape(expr)
        if shape:
            self.shapes[target] = shape
        self.body.append(Statement(target, expr, origin=stmt.origin))
        return target

    def constant(self, values, hint):
        symbol = real_symbol(self.program.namer.fresh(hint))
        self.program.constants[symbol] = values
        self.shapes[symbol] = tuple(values.shape)
        return symbol

    def full(self, expr, shape):
        """``expr`` as an array of exactly ``shape`` where it is an array of another shape."""
        have = self.shape(expr)
        if have == tuple(shape) or not have:
            return expr
        return arrays.BroadcastTo.make(expr, shape=tuple(shape))

    # ---- the pass ----
    def run(self, listing=None):
        from ..ir import Branch, Loop
        for item in self.program.body:
            if type(item) is not Statement:
                kind = "a loop" if isinstance(item, Loop) else "an if on data" if isinstance(
                    item, Branch) else type(item).__name__
                raise NoRule(f"{kind} (line {item.lineno})")
            self.body.append(item)
            terms = self.statement(item)
            if terms:
                if len(terms) > MAX_TERMS:
                    raise NoRule(f"more than {MAX_TERMS} kinds of term (line {item.lineno})")
                self.tangents[item.target] = [self.name_term(t, item) for t in terms]
        return self.assemble(listing)

    def name_term(self, term, stmt):
        if isinstance(term, Pick):
            return replace(term, values=self.named(term.values, stmt, "diagonal"))  # (inner named)
        if isinstance(term, Rank1):
            return Rank1(self.named(term.factors, stmt, "factors"), self.named(term.row, stmt, "row"),
                         term.block)
        return Dense(self.named(term.matrix, stmt, "block"), term.block)

    def statement(self, stmt):
        expr = stmt.expr
        active = [s for s in expr.free_symbols if s in self.tangents]
        if not active:
            return []
        active.sort(key=lambda s: s.name)
        shape = tuple(self.shapes.get(stmt.target, ()))
        if isinstance(expr, arrays.ArrayOp):
            rule = RULES.get(type(expr))
            if rule is None:
                raise NoRule(f"numpy's {expr.printed} (line {stmt.lineno})")
            return merged(rule(self, expr, shape))
        terms = []
        for symbol in active:
            partial = local_partial(stmt, symbol)
            if partial == 0:
                continue
            terms += self.scaled(self.tangents[symbol], partial, self.shape(symbol), shape, stmt)
        return merged(terms)

    def scaled(self, terms, factor, source, shape, stmt):
        """``diag(factor) @ terms``: the rows of a value of ``source`` shape scaled elementwise
        and broadcast to ``shape``."""
        if source != shape and source:
            raise NoRule(f"broadcasting an array of shape {source} to {shape} (line {stmt.lineno})")
        out = []
        for term in terms:
            if isinstance(term, Pick):  # (source == shape here: a number's terms are rows)
                out.append(replace(term, values=factor * term.values, inner=None))
            elif isinstance(term, Rank1):
                out.append(Rank1(factor * term.factors, term.row, term.block))
            else:
                fshape = self.shape(factor)
                if fshape:
                    factor = arrays.Reshape.make(self.full(factor, shape), shape=(_size(shape), 1))
                out.append(Dense(factor * term.matrix, term.block))
        return out

    # ---- the output ----
    def assemble(self, listing=None):
        if listing is not None:
            return self.entries(listing)
        program = self.program
        output = program.output
        shape = tuple(self.shapes.get(output, ()))
        nrows = _size(shape)
        terms = self.tangents.get(output, []) if isinstance(output, sympy.Symbol) else None
        if terms is None:
            raise NoRule("an output that is not one value")
        operands, layout = [], []
        for term in terms:
            block = term.block
            if isinstance(term, Pick):
                rows = np.arange(nrows, dtype=np.int64)
                flat = rows * self.ncols + np.ravel(term.places).astype(np.int64)
                operands += [self.constant(flat, "places"), term.values]
                layout.append(("pick",))
            elif isinstance(term, Rank1):
                operands += [term.factors, term.row]
                layout.append(("rank1", block.start, block.start + block.size))
            else:
                operands += [term.matrix]
                layout.append(("dense", block.start, block.start + block.size))
        jacobian = real_symbol(program.namer.fresh("jacobian"))
        expr = Assemble.make(*operands, layout=tuple(layout), shape=(nrows, self.ncols))
        origin = Origin(None, program.output_lineno, "")
        self.body.append(Statement(jacobian, expr, origin=origin))
        self.shapes[jacobian] = (nrows, self.ncols)
        return jacobian


    def entries(self, listing):
        """The output's Jacobian as the ``data`` of a CSR matrix whose entries, row by row, are
        at the raveled places ``listing``: every term a pick, every pick inside the listing."""
        program = self.program
        output = program.output
        shape = tuple(self.shapes.get(output, ()))
        nrows = _size(shape)
        terms = self.tangents.get(output, []) if isinstance(output, sympy.Symbol) else None
        if terms is None or not shape:
            raise NoRule("an output that is not one array")
        listing = np.asarray(listing, dtype=np.int64)
        order = np.argsort(listing, kind="stable")
        ordered = listing[order]
        operands, layout = [], []
        seen = np.zeros(listing.size, dtype=bool)  # entries a pick has written so far
        zeros = False  # whether some entry is first added to (or never written): zeros first
        for term in terms:
            if not isinstance(term, Pick):
                raise NoRule("a sparse result with a term that is not a pick")
            rows = np.arange(nrows, dtype=np.int64)
            kept = None if term.rows is None else np.flatnonzero(np.ravel(term.rows))
            if kept is not None:
                rows = rows[kept]
            flat = rows * self.ncols + np.ravel(term.places).astype(np.int64)[rows]
            found = np.searchsorted(ordered, flat)
            if flat.size and (found.max() >= ordered.size or not np.array_equal(ordered[found], flat)):
                raise NoRule("an entry outside the sparsity pattern")
            places = order[found]
            assign = not seen[places].any()  # disjoint from the picks before: written, not added
            zeros = zeros or not assign and not seen[places].all()
            seen[places] = True
            steps = np.diff(places)
            if places.size > 1 and steps[0] > 0 and np.all(steps == steps[0]):  # a slice of data
                at = (int(places[0]), int(places[-1]) + 1, int(steps[0]))
            else:
                at = None
                operands.append(self.constant(places, "positions"))
            if term.inner is not None:  # the values before padding: one per row that has one
                operands.append(term.inner)
                layout.append(("all", assign, at))
            elif kept is not None and kept.size < nrows:
                operands += [term.values, self.constant(kept, "rows")]
                layout.append(("some", assign, at))
            else:
                operands.append(term.values)
                layout.append(("all", assign, at))
        zeros = zeros or not seen.all()
        data = real_symbol(program.namer.fresh("data"))
        expr = Entries.make(*operands, layout=tuple(layout), zeros=zeros, shape=(listing.size,))
        self.body.append(Statement(data, expr, origin=Origin(None, program.output_lineno, "")))
        self.shapes[data] = (listing.size,)
        return data


def merged(terms):
    """Terms of the same structure added: picks at the same places, rank-one terms with the same
    row (or the same factors), dense blocks of the same columns."""
    out = []
    for term in terms:
        for i, have in enumerate(out):
            if type(have) is not type(term) or have.block != term.block:
                continue
            if isinstance(term, Pick) and (have.places is term.places or np.array_equal(have.places, term.places)):
                rows = None if have.rows is None or term.rows is None else have.rows | term.rows
                out[i] = Pick(have.places, have.values + term.values, term.block, rows)
                break
            if isinstance(term, Rank1) and have.row == term.row:
                out[i] = Rank1(have.factors + term.factors, term.row, term.block)
                break
            if isinstance(term, Rank1) and have.factors == term.factors:
                out[i] = Rank1(term.factors, have.row + term.row, term.block)
                break
            if isinstance(term, Dense):
                out[i] = Dense(have.matrix + term.matrix, term.block)
                break
        else:
            out.append(term)
    return out


# ---- structural rules: (walk, expr, shape of the result) -> terms ----
def _identity_places(walk, term, shape):
    """Whether a pick is its block's identity layout (the value has the parameter's shape and
    row i is at column start + i)."""
    block = term.block
    return tuple(shape) == block.shape and np.array_equal(
        np.ravel(term.places), block.start + np.arange(block.size))


def _row_of_pick(walk, term, shape, weights=1):
    """The row ``sum_i weights[i] * pick[i, :]`` of a pick on a value of ``shape``: an array of
    the block's shape (or a number, the same in every column)."""
    values = weights * term.values
    if _identity_places(walk, term, shape):
        return values
    places = walk.constant(np.ravel(term.places) - term.block.start, "columns")
    flat = arrays.BroadcastTo.make(values, shape=tuple(shape)) if walk.shape(values) != tuple(shape) else values
    if len(shape) != 1:
        flat = arrays.Reshape.make(flat, shape=(_size(shape),))
    row = arrays.AddAt.make(flat, places, key=(arrays.Slot(0),), shape=(term.block.size,))
    if term.block.shape != (term.block.size,):
        row = arrays.Reshape.make(row, shape=term.block.shape)
    return row


def _sum(walk, expr, shape):
    (x,) = expr.operands
    source = walk.shape(x)
    axis = expr.params.get("axis")
    if axis is not None and set(axis) != set(range(len(source))):
        raise NoRule("a sum over some of the axes")
    out = []
    for term in walk.tangents[x]:
        if isinstance(term, Pick):
            out.append(Rank1(sympy.Integer(1), _row_of_pick(walk, term, source), term.block))
        elif isinstance(term, Rank1):
            factors = term.factors
            total = arrays.ArraySum.make(walk.full(factors, source), axis=None, shape=()) \
                if walk.shape(factors) or not source else factors * _size(source)
            out.append(Rank1(total, term.row, term.block))
        else:
            out.append(Rank1(sympy.Integer(1), arrays.ArraySum.make(term.matrix, axis=(0,),
                                                                   shape=(term.block.size,)), term.block))
    return out


def _matmul(walk, expr, shape):
    a, b = expr.operands
    sa, sb = walk.shape(a), walk.shape(b)
    out = []
    for operand, other, side in ((a, b, "left"), (b, a, "right")):
        if operand not in walk.tangents:
            if operand.free_symbols & set(walk.tangents):
                raise NoRule("a matmul of an expression")
            continue
        so, sother = walk.shape(operand), walk.shape(other)
        if len(so) != 1:
            raise NoRule("a matmul whose differentiated operand is not a vector")
        if len(sother) == 1:  # a dot product: a number
            for term in walk.tangents[operand]:
                if isinstance(term, Pick):
                    out.append(Rank1(sympy.Integer(1), _row_of_pick(walk, term, so, other), term.block))
                elif isinstance(term, Rank1):
                    dot = arrays.MatMul.make(other, walk.full(term.factors, so), shape=())
                    out.append(Rank1(dot, term.row, term.block))
                else:
                    out.append(Rank1(sympy.Integer(1), arrays.MatMul.make(
                        other, term.matrix, shape=(term.block.size,)), term.block))
            continue
        if len(sother) != 2:
            raise NoRule("a matmul of more than two axes")
        matrix = other if side == "right" else arrays.Transpose.make(other, axes=None, shape=sother[::-1])
        rows = (walk.shape(matrix)[0],)
        for term in walk.tangents[operand]:
            if isinstance(term, Pick):
                if not _identity_places(walk, term, so):
                    raise NoRule("a matmul of a slice")
                out.append(Dense(matrix * term.values, term.block))
            elif isinstance(term, Rank1):
                out.append(Rank1(arrays.MatMul.make(matrix, walk.full(term.factors, so), shape=rows),
                                 term.row, term.block))
            else:
                out.append(Dense(arrays.MatMul.make(matrix, term.matrix, shape=rows + (term.block.size,)),
                                 term.block))
    return out


def _get_item(walk, expr, shape):
    (x,) = expr.operands
    key = expr.params["key"]
    source = walk.shape(x)
    if any(part is None or part is Ellipsis for part in key):
        raise NoRule("indexing with None or ...")
    out = []
    for term in walk.tangents.get(x, ()):
        if isinstance(term, Pick):
            places = np.asarray(term.places[key])
            values = term.values
            if walk.shape(values):
                values = arrays.GetItem.make(walk.full(values, source), key=key, shape=tuple(shape))
            rows = None if term.rows is None else np.asarray(term.rows[key])
            if shape:
                out.append(Pick(places, values, term.block, rows))
            elif rows is None or rows:  # one element: a row with one entry
                block = term.block
                row = np.zeros(block.size)
                row[int(places) - block.start] = 1.0
                out.append(Rank1(values, walk.constant(row.reshape(block.shape), "unit"), block))
        elif isinstance(term, Rank1):
            factors = term.factors
            if walk.shape(factors):
                factors = arrays.GetItem.make(walk.full(factors, source), key=key, shape=tuple(shape))
            out.append(Rank1(factors, term.row, term.block))
        else:
            if len(key) != 1:
                raise NoRule("indexing a dense block")
            matrix = arrays.GetItem.make(term.matrix, key=key + (slice(None),),
                                         shape=tuple(shape) + (term.block.size,))
            if not shape:
                out.append(Rank1(sympy.Integer(1), matrix, term.block))
            else:
                out.append(Dense(matrix, term.block))
    return out


def _placed(walk, part, key, shape):
    """The terms of ``part`` placed at ``key`` in zeros of ``shape``: each padded with zeros."""
    pshape = walk.shape(part)
    out = []

    def padded(values, trailing=()):
        if not trailing:
            values = walk.full(values, pshape)
        return arrays.Scatter.make(values, key=key, shape=tuple(shape) + trailing)

    for term in walk.tangents[part]:
        if isinstance(term, Pick):
            places = np.full(shape, term.block.start, dtype=np.int64)
            places[key] = term.places
            rows = np.zeros(shape, dtype=bool)
            rows[key] = True if term.rows is None else term.rows
            order = np.ravel(np.arange(_size(shape)).reshape(shape)[key])
            inner = term.values if term.rows is None and np.all(np.diff(order) > 0) else None
            out.append(Pick(places, padded(term.values), term.block, rows, inner))
        elif isinstance(term, Rank1):
            out.append(Rank1(padded(term.factors), term.row, term.block))
        else:
            if len(shape) != 1:
                raise NoRule("a dense block placed in an array of several axes")
            out.append(Dense(padded(term.matrix, (term.block.size,)), term.block))
    return out


def _active_part(walk, part, what):
    if part in walk.tangents:
        return True
    if part.free_symbols & set(walk.tangents):
        raise NoRule(f"numpy's {what} of an expression")
    return False


def _joined(walk, expr, shape):
    """``np.concatenate`` of vectors and ``np.stack`` of numbers into a vector (a function's
    tuple of outputs, ``np.array([...])``): each part's terms padded with zeros to the whole."""
    if len(shape) != 1 or expr.params["axis"] not in (0, -1):
        raise NoRule(f"numpy's {expr.printed} into an array of {len(shape)} axes")
    out, offset = [], 0
    for part in expr.operands:
        pshape = walk.shape(part)
        size = _size(pshape)
        if _active_part(walk, part, expr.printed):
            key = (slice(offset, offset + size),) if pshape else (offset,)
            out += _placed(walk, part, key, shape)
        offset += size
    return out


def _scatter(walk, expr, shape):
    """Zeros with parts at concrete keys (the reverse pass's adjoints of indexing: a Hessian)."""
    keys = expr.params["keys"] if isinstance(expr, arrays.ScatterItems) else (expr.params["key"],)
    out = []
    for part, key in zip(expr.operands, keys):
        if any(k is None or k is Ellipsis for k in key):
            raise NoRule("a scatter with None or ...")
        if _active_part(walk, part, expr.printed):
            out += _placed(walk, part, key, shape)
    return out


RULES = {
    arrays.Scatter: _scatter,
    arrays.ScatterItems: _scatter,
    arrays.Concatenate: _joined,
    arrays.Stack: _joined,
    arrays.ArraySum: _sum,
    arrays.MatMul: _matmul,
    arrays.GetItem: _get_item,
}


def jacobian_program(program, wrt_names, listing=None):
    """A copy of ``program`` whose output is its Jacobian with respect to ``wrt_names`` (see the
    module docstring); ``listing`` (the raveled places of a sparse matrix's entries, row by row):
    the ``data`` of that CSR matrix instead. Raises ``NoRule``."""
    from copy import copy
    if not any(program.shapes.get(p.symbol) for p in program.params if p.name in wrt_names):
        raise NoRule("no array argument is differentiated")
    new = copy(program)
    new.shapes = dict(program.shapes)
    new.constants = dict(program.constants)
    walk = _Forward(new, wrt_names)
    new.output = walk.run(listing)
    new.body = _pruned(walk.body, new.output, new.shapes)
    return new


def _pruned(body, output, shapes):
    """``body`` without the array statements nothing the Jacobian needs reads (the function's own
    value, mostly); statements of numbers stay (one may raise, as the function does)."""
    needed = {output}
    kept = []
    for stmt in reversed(body):
        if stmt.target in needed or not shapes.get(stmt.target):
            needed |= stmt.expr.free_symbols
            kept.append(stmt)
    return kept[::-1]


__all__ = ["Assemble", "Entries", "NoRule", "jacobian_program"]
