"""arrays: numpy arrays as single symbolic values — shapes, and the structural operations.

Takes: SymPy expressions whose symbols may stand for whole arrays (their shapes are known at trace
time). Returns: ``ArrayOp`` nodes for the few operations that are not elementwise (sum, max,
matmul, indexing, reshape, transpose, concatenate, stack, ...), each knowing its output ``shape``,
its vector-Jacobian product (``vjp``: the adjoint rule) and how it prints as numpy code. Elementwise
arithmetic and ufuncs stay ordinary SymPy expressions: SymPy's own derivatives apply to them.
"""

from dataclasses import dataclass

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE
from ..errors import SymdiffError

class Params(sympy.Atom):
    """The Python-side parameters of one structural operation (axes, index keys, shapes): its
    node's last argument. The node holds them, so they live and go with the expressions of the
    build that made them (no table shared between builds); nodes with equal parameters are equal
    (value numbering), by the parameters' ``repr``."""

    is_commutative = True  # an argument of a commutative node (SymPy asks its arguments)

    def __new__(cls, items):
        obj = super().__new__(cls)
        obj.items = items  # ((name, value), ...), sorted by name
        obj.key = repr(items)
        return obj

    def __getnewargs__(self):
        return (self.items,)

    def _hashable_content(self):
        return (self.key,)

    def _sympystr(self, printer):
        return f"Params({self.key})"

    _sympyrepr = _sympystr


def broadcast(*shapes):
    """numpy's broadcast of ``shapes``; raises ``ValueError`` when they do not fit."""
    return tuple(np.broadcast_shapes(*shapes)) if shapes else ()


def shape_of(expr, shapes, memo=None):
    """The shape of ``expr``'s value, given ``shapes`` of its symbols (absent: a scalar).

    ``memo``: a dict of shapes already found, for a caller that asks about many expressions
    sharing subexpressions (the tracer); valid while no symbol in it changes shape.
    """
    if isinstance(expr, ArrayOp):
        return expr.shape
    if expr.is_Symbol:
        return shapes.get(expr, ())
    if expr.is_Atom or not expr.args:
        return ()
    if memo is not None:
        found = memo.get(expr)
        if found is not None:
            return found
    if isinstance(expr, sympy.Piecewise):
        parts = [shape_of(e, shapes, memo) for e, _ in expr.args]
        parts += [shape_of(c, shapes, memo) for _, c in expr.args if isinstance(c, sympy.Basic)]
    else:
        parts = [shape_of(arg, shapes, memo) for arg in expr.args]
    found = broadcast(*[p for p in parts if p])
    if memo is not None:
        memo[expr] = found
    return found


class ArrayOp(sympy.Function):
    """A structural numpy operation: ``args`` are its operands, then its ``Params``."""

    printed = "op"

    def _eval_is_real(self):
        return True

    @classmethod
    def make(cls, *operands, **params):
        return cls(*operands, Params(tuple(sorted(params.items()))))

    @property
    def operands(self):
        return self.args[:-1]

    @property
    def params(self):
        return dict(self.args[-1].items)

    @property
    def shape(self):
        return self.params["shape"]

    def vjp(self, bar, shapes):
        """``[(operand, contribution to its adjoint)]`` given the adjoint ``bar`` of this value."""
        raise NotImplementedError(type(self).__name__)

    def _eval_derivative(self, symbol):  # structural ops are differentiated by their vjp only
        raise TypeError(f"{type(self).__name__} is differentiated through its vjp, not sympy.diff")

    operand_precedence = None  # operands binding looser than this are parenthesised

    def _sympystr(self, printer):
        if self.operand_precedence is None:
            return self.display([printer._print(a) for a in self.operands])
        return self.display([printer.parenthesize(a, self.operand_precedence, strict=True)
                             for a in self.operands])

    def _latex(self, printer):
        return r"\operatorname{%s}\left(%s\right)" % (
            self.printed, ", ".join(printer._print(a) for a in self.operands))

    def display(self, operands):
        return f"{self.printed}({', '.join(operands)})"


def fit(expr, shape, shapes):
    """``expr`` summed down to ``shape`` over the axes it was broadcast along.

    A value that is smaller than ``shape`` is left as it is: it broadcasts wherever it is used
    (``full`` makes it exactly ``shape`` where that matters).
    """
    have = shape_of(expr, shapes)
    if have == tuple(shape):
        return expr
    if _broadcasts_to(shape, have):  # expr is bigger: sum over the axes it was broadcast along
        return Unbroadcast.make(expr, shape=tuple(shape), source=have)
    return expr


def full(expr, shape, actual):
    """``expr`` as an array of exactly ``shape`` (``actual``: the shapes values really have)."""
    if shape_of(expr, actual) == tuple(shape):
        return expr
    return BroadcastTo.make(expr, shape=tuple(shape))


def _broadcasts_to(small, big):
    try:
        return broadcast(small, big) == tuple(big) and tuple(small) != tuple(big)
    except ValueError:
        return False


def matmul_shape(sa, sb):
    """The shape of ``a @ b`` for 1-D and 2-D shapes, from the shapes alone (no arithmetic on
    placeholder data: that is slow for big arrays and warns on whatever memory it reads).
    Raises ``ValueError`` when the inner dimensions differ."""
    inner_a = sa[-1]
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: inner dimensions {inner_a} and {inner_b} differ")
    return tuple(sa[:-1]) + tuple(sb[:-2]) + tuple(sb[-1:] if len(sb) > 1 else ())


def reduced_shape(shape, axes):
    """The shape of a reduction of ``shape`` over the normalised ``axes`` (None: all of them)."""
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _normal_axes(axis, ndim):
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


# ---- reductions ----
class ArraySum(ArrayOp):
    """``numpy.sum(x, axis)``."""

    printed = "sum"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        p = self.params
        if p["axis"] is None:
            return [(x, bar)]  # a scalar: broadcasts wherever it is used
        return [(x, ExpandTo.make(bar, axis=p["axis"], shape=shape_of(x, shapes)))]

    def display(self, operands):
        axis = self.params["axis"]
        return f"sum({operands[0]})" if axis is None else f"sum({operands[0]}, axis={axis})"


class ArrayMax(ArrayOp):
    """``numpy.max(x, axis)`` (``ArrayMin`` for min); ties share the derivative equally."""

    printed = "max"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        p = self.params
        return [(x, ExtremeGrad.make(x, self, bar, axis=p["axis"], shape=shape_of(x, shapes)))]

    def display(self, operands):
        axis = self.params["axis"]
        return f"{self.printed}({operands[0]})" if axis is None else f"{self.printed}({operands[0]}, axis={axis})"


class ArrayMin(ArrayMax):
    printed = "min"


class ArrayProd(ArrayOp):
    """``numpy.prod(x, axis)``. Its derivative is, at each element, the product of the other
    elements along the axis (``ProdOthers``): exact where elements are 0, never a division by x."""

    printed = "prod"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, ProdOthers.make(x, self, bar, axis=self.params["axis"], shape=shape_of(x, shapes)))]

    def display(self, operands):
        axis = self.params["axis"]
        return f"prod({operands[0]})" if axis is None else f"prod({operands[0]}, axis={axis})"


class LogSumExp(ArrayOp):
    """``scipy.special.logsumexp(a, axis, b=b)``: ``log(sum(b*exp(a)))`` over ``axis`` (None: all),
    computed shifted by the maximum (no overflow). Operands ``a`` and, when given, ``b`` (it
    broadcasts against ``a``, no bigger). The adjoint of ``a`` is ``bar * b * exp(a - lse)`` (the
    softmax weights, each at most 1 for b = 1), of ``b`` ``bar * exp(a - lse)``."""

    printed = "logsumexp"

    def vjp(self, bar, shapes):
        a, *b = self.operands
        axis = self.params["axis"]
        shape = shape_of(a, shapes)
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        if axis is None:
            lse, spread = self, bar
        else:  # with the reduced axes kept as length 1: they broadcast against a
            kept = tuple(1 if i in axis else n for i, n in enumerate(shape))
            lse, spread = Reshape.make(self, shape=kept), Reshape.make(bar, shape=kept)
        weights = sympy.exp(a - lse)
        if not b:
            return [(a, spread * weights)]
        return [(a, fit(spread * b[0] * weights, shape, shapes)),
                (b[0], fit(spread * weights, shape_of(b[0], shapes), shapes))]

    def display(self, operands):
        axis = self.params["axis"]
        extra = "" if axis is None else f", axis={axis}"
        if len(operands) > 1:
            extra += f", b={operands[1]}"
        return f"logsumexp({operands[0]}{extra})"


class ProdOthers(ArrayOp):
    """``scale`` (of the reduced shape: one number per product) spread back over ``axis``, times
    the product of the other elements along ``axis`` (None: of all the others) at each element
    of ``x``: the adjoint of x from ``prod(x, axis)`` when ``scale`` is the product's adjoint.

    Operands: ``x``, its product (``ArrayProd``, which the code has computed already) and
    ``scale``. Where the product is a normal number, ``scale*prod/x`` is the answer; elsewhere
    (an element 0, inf or nan, or an underflow) exclusive cumulative products from both ends give
    it exactly, in O(n). The value depends on ``x`` and ``scale`` only: the product operand just
    picks how it is computed, and no adjoint flows to it."""

    printed = "prod_others"

    def vjp(self, bar, shapes):
        """To x: ``scale`` times ``ProdOthersJvp(x, bar)``; to ``scale`` (it is linear in it):
        the sum along the axis of ``bar`` times the products of the others."""
        x, prod, scale = self.operands
        axis, shape = self.params["axis"], self.params["shape"]
        second = ProdOthersJvp.make(x, bar, prod, axis=axis, shape=shape)
        if scale.is_Number:
            return [(x, scale * second if scale != 1 else second)]
        spread = scale if axis is None else ExpandTo.make(scale, axis=axis, shape=shape)
        others = ProdOthers.make(x, prod, sympy.Integer(1), axis=axis, shape=shape)
        total = ArraySum.make(bar * others, axis=axis, shape=reduced_shape(shape, axis))
        return [(x, spread * second), (scale, fit(total, shape_of(scale, shapes), shapes))]

    def display(self, operands):
        x, _, scale = operands
        axis = self.params["axis"]
        text = f"prod_others({x})" if axis is None else f"prod_others({x}, axis={axis})"
        return text if self.operands[2] == 1 else f"{text}*{scale}"

    def _latex(self, printer):
        x, _, scale = self.operands
        text = r"\operatorname{%s}\left(%s\right)" % (self.printed, printer._print(x))
        if scale == 1:
            return text
        return text + r" \cdot " + printer.parenthesize(scale, PRECEDENCE["Mul"])


class ProdOthersJvp(ArrayOp):
    """At each element k of ``x``: the sum over the other elements i (along ``axis``) of
    ``b[i]`` times the product of the elements other than i and k — the second derivative of
    prod(x) applied to ``b``, i.e. d/dx of sum(b * ProdOthers(x)). Operands: ``x``, ``b`` (of
    x's shape) and x's product. Exact where elements are 0 (by how many zeros share the axis);
    elsewhere ``prod/x * (sum(b/x) - b/x)``, as the division rule gave before."""

    printed = "prod_others_jvp"

    def vjp(self, bar, shapes):
        """Linear in ``b`` and symmetric: the adjoint of ``b`` is ``ProdOthersJvp(x, bar)``. The
        third derivative (to ``x``) divides by x, so it is nan where an element is exactly 0."""
        x, b, prod = self.operands
        p = self.params
        axis, shape = p["axis"], p["shape"]
        out = [(b, fit(ProdOthersJvp.make(x, bar, prod, axis=axis, shape=shape),
                       shape_of(b, shapes), shapes))]
        reduced = reduced_shape(shape, axis)
        mixed = bar * self
        weighted = bar * ProdOthers.make(x, prod, sympy.Integer(1), axis=axis, shape=shape)
        spread = [ExpandTo.make(ArraySum.make(part, axis=axis, shape=reduced), axis=axis, shape=shape)
                  if axis is not None else ArraySum.make(part, axis=None, shape=())
                  for part in (mixed, weighted)]
        out.append((x, (spread[0] - mixed) / x - b * (spread[1] - weighted) / x ** 2))
        return out

    def display(self, operands):
        axis = self.params["axis"]
        text = f"prod_others_jvp({operands[0]}, {operands[1]}"
        return text + (")" if axis is None else f", axis={axis})")

    def _latex(self, printer):
        return r"\operatorname{%s}\left(%s\right)" % (
            self.printed, ", ".join(printer._print(a) for a in self.operands[:2]))


# ---- linear algebra ----
class MatMul(ArrayOp):
    """``a @ b`` for 1-D and 2-D operands (``numpy.dot``, ``numpy.matmul``)."""

    printed = "matmul"
    operand_precedence = PRECEDENCE["Mul"] + 1  # (2*x) @ y, A @ (b + c)

    def vjp(self, bar, shapes):
        a, b = self.operands
        sa, sb = shape_of(a, shapes), shape_of(b, shapes)
        if len(sa) == 1 and len(sb) == 1:
            return [(a, bar * b), (b, bar * a)]
        if len(sa) == 2 and len(sb) == 1:
            return [(a, Outer.make(bar, b, shape=sa)), (b, matmul(transpose(a, shapes), bar, shapes))]
        if len(sa) == 1 and len(sb) == 2:
            return [(a, matmul(b, bar, shapes)), (b, Outer.make(a, bar, shape=sb))]
        return [(a, matmul(bar, transpose(b, shapes), shapes)),
                (b, matmul(transpose(a, shapes), bar, shapes))]

    def display(self, operands):
        return f"({operands[0]} @ {operands[1]})"


class BatchMatMul(ArrayOp):
    """``a @ b`` of stacks of matrices (both at least 2-D, one more than 2-D; the leading axes
    broadcast, ``numpy.matmul``). The adjoints are ``bar @ swapaxes(b)`` and ``swapaxes(a) @
    bar``, summed over the axes a stack was broadcast along."""

    printed = "matmul"
    operand_precedence = PRECEDENCE["Mul"] + 1

    def vjp(self, bar, shapes):
        a, b = self.operands
        sa, sb = shape_of(a, shapes), shape_of(b, shapes)
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        a_bar = batch_matmul(bar, swap_last(b, sb), self.shape, tuple(sb[:-2]) + (sb[-1], sb[-2]))
        b_bar = batch_matmul(swap_last(a, sa), bar, tuple(sa[:-2]) + (sa[-1], sa[-2]), self.shape)
        return [(a, fit(a_bar, sa, shapes)), (b, fit(b_bar, sb, shapes))]

    def display(self, operands):
        return f"({operands[0]} @ {operands[1]})"


def swap_last(x, shape):
    """``x`` with its last two axes swapped."""
    axes = tuple(range(len(shape) - 2)) + (len(shape) - 1, len(shape) - 2)
    return Transpose.make(x, axes=axes, shape=tuple(shape[:-2]) + (shape[-1], shape[-2]))


def batch_matmul(a, b, sa, sb):
    """``a @ b`` of stacks of shapes ``sa`` and ``sb`` (a ``MatMul`` where both are 2-D)."""
    shape = tuple(np.matmul(np.empty(sa, dtype=np.int8), np.empty(sb, dtype=np.int8)).shape)
    if len(sa) == 2 and len(sb) == 2:
        return MatMul.make(a, b, shape=shape)
    return BatchMatMul.make(a, b, shape=shape)


def matmul(a, b, shapes):
    sa, sb = shape_of(a, shapes), shape_of(b, shapes)
    if not sa or not sb:
        return a * b
    return MatMul.make(a, b, shape=matmul_shape(sa, sb))


class Outer(ArrayOp):
    """``numpy.outer(a, b)`` of two vectors."""

    printed = "outer"

    def vjp(self, bar, shapes):
        a, b = self.operands
        return [(a, matmul(bar, b, shapes)), (b, matmul(transpose(bar, shapes), a, shapes))]


# ---- numpy.linalg (2-D matrices; the standard matrix adjoints, Giles 2008) ----
class Inv(ArrayOp):
    """``numpy.linalg.inv(A)``: the adjoint is ``-inv(A).T @ bar @ inv(A).T``."""

    printed = "inv"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        t = Transpose.make(self, axes=None, shape=self.shape)
        return [(a, -matmul(matmul(t, bar, shapes), t, shapes))]

    def display(self, operands):
        return f"inv({operands[0]})"


class Solve(ArrayOp):
    """``numpy.linalg.solve(A, b)`` (``b`` a vector or a matrix): ``x = A⁻¹ b``; the adjoints
    are ``b̄ = solve(A.T, x̄)`` and ``Ā = -b̄ xᵀ``."""

    printed = "solve"

    def vjp(self, bar, shapes):
        a, b = self.operands
        at = Transpose.make(a, axes=None, shape=shape_of(a, shapes))
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        b_bar = Solve.make(at, bar, shape=self.shape)
        if len(self.shape) == 1:
            a_bar = -Outer.make(b_bar, self, shape=shape_of(a, shapes))
        else:
            a_bar = -matmul(b_bar, Transpose.make(self, axes=None, shape=self.shape[::-1]), shapes)
        return [(a, a_bar), (b, b_bar)]

    def display(self, operands):
        return f"solve({operands[0]}, {operands[1]})"


class Pinv(ArrayOp):
    """``numpy.linalg.pinv(A)`` of an m×n matrix, X = A⁺. Where A's rank does not change (full
    rank), dX = -X dA X + X Xᵀ dAᵀ (I - A X) + (I - X A) dAᵀ Xᵀ X (Golub and Pereyra), so the
    adjoint is ``-Xᵀ Ḡ Xᵀ + (I - A X) Ḡᵀ X Xᵀ + Xᵀ X Ḡᵀ (I - X A)`` — written with products only
    (no identity matrix), exact to any order."""

    printed = "pinv"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        sa = shape_of(a, shapes)
        m, n = sa
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        x = self
        xt = Transpose.make(x, axes=None, shape=(m, n))
        gt = Transpose.make(bar, axes=None, shape=(m, n))

        def mm(p, q, shape):
            return MatMul.make(p, q, shape=shape)

        first = mm(mm(xt, bar, (m, m)), xt, (m, n))
        w = mm(mm(gt, x, (m, m)), xt, (m, n))  # Ḡᵀ X Xᵀ
        second = w - mm(a, mm(x, w, (n, n)), (m, n))
        v = mm(mm(xt, x, (m, m)), gt, (m, n))  # Xᵀ X Ḡᵀ
        third = v - mm(mm(v, x, (m, m)), a, (m, n))
        return [(a, second + third - first)]

    def display(self, operands):
        return f"pinv({operands[0]})"


class SvdValues(ArrayOp):
    """``numpy.linalg.svd(A, compute_uv=False)``: the singular values s (descending) of a 2-D
    matrix. The adjoint is ``U diag(s̄) Vᵀ`` (thin SVD; ``SvdValuesAdjoint``), exact where the
    singular values are distinct; first derivatives only."""

    printed = "svdvals"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        return [(a, SvdValuesAdjoint.make(a, bar, shape=shape_of(a, shapes)))]

    def display(self, operands):
        return f"svd({operands[0]}, compute_uv=False)"


class SvdValuesAdjoint(ArrayOp):
    """``U diag(s̄) Vᵀ`` of the thin SVD of ``A`` (operands A and s̄). Its own derivatives are
    not implemented."""

    printed = "svd_values_adjoint"

    def vjp(self, bar, shapes):
        raise SymdiffError("second derivatives through np.linalg.svd are not supported",
                           hint="differentiate the singular values once (grad)")

    def display(self, operands):
        return f"svd_values_adjoint({', '.join(operands)})"


class Det(ArrayOp):
    """``numpy.linalg.det(A)``: the adjoint is ``bar * det(A) * inv(A).T``."""

    printed = "det"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        shape = shape_of(a, shapes)
        inverse_t = Transpose.make(Inv.make(a, shape=shape), axes=None, shape=shape)
        return [(a, bar * self * inverse_t)]

    def display(self, operands):
        return f"det({operands[0]})"


class LogAbsDet(ArrayOp):
    """``numpy.linalg.slogdet(A)[1]``, log |det A|: the adjoint is ``bar * inv(A).T``. (The
    sign, ``slogdet(A)[0]``, is a step: ``SignDet``, derivative 0.)"""

    printed = "logabsdet"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        shape = shape_of(a, shapes)
        return [(a, bar * Transpose.make(Inv.make(a, shape=shape), axes=None, shape=shape))]

    def display(self, operands):
        return f"log|det({operands[0]})|"


class SignDet(ArrayOp):
    """``numpy.linalg.slogdet(A)[0]``: the sign of the determinant (derivative 0)."""

    printed = "signdet"

    def vjp(self, bar, shapes):
        return []

    def display(self, operands):
        return f"sign(det({operands[0]}))"


class LowerGradient(ArrayOp):
    """The adjoint of a square matrix numpy reads only the lower triangle of (``cholesky``,
    ``eigh``), from ``S`` with ``d f = tr(Sᵀ dA)`` for symmetric ``dA``: ``tril(S + Sᵀ, -1) +
    diag(S)`` (entries above the diagonal change nothing). Linear."""

    printed = "lower_gradient"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, LowerGradientAdjoint.make(fit(bar, self.shape, shapes), shape=self.shape))]

    def display(self, operands):
        return f"lower_gradient({operands[0]})"


class LowerGradientAdjoint(ArrayOp):
    """The adjoint of ``LowerGradient``: ``tril(Y, -1) + tril(Y, -1)ᵀ + diag(Y)``."""

    printed = "lower_gradient_adjoint"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, LowerGradient.make(fit(bar, self.shape, shapes), shape=self.shape))]

    def display(self, operands):
        return f"lower_gradient_adjoint({operands[0]})"


class HalfDiagonalTril(ArrayOp):
    """``tril(X) - diag(X)/2`` (Murray's Φ in the adjoint of the Cholesky factor); self-adjoint."""

    printed = "phi"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, HalfDiagonalTril.make(fit(bar, self.shape, shapes), shape=self.shape))]

    def display(self, operands):
        return f"phi({operands[0]})"


class Cholesky(ArrayOp):
    """``numpy.linalg.cholesky(A)`` (the lower factor L, from A's lower triangle). The adjoint
    (Murray 2016): ``S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹``, then ``LowerGradient(S)``."""

    printed = "cholesky"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        n = self.shape
        if shape_of(bar, shapes) != n:
            bar = BroadcastTo.make(bar, shape=n)
        inverse = Inv.make(self, shape=n)
        inverse_t = Transpose.make(inverse, axes=None, shape=n)
        lt = Transpose.make(self, axes=None, shape=n)
        inner = HalfDiagonalTril.make(MatMul.make(lt, bar, shape=n), shape=n)
        s = MatMul.make(MatMul.make(inverse_t, inner, shape=n), inverse, shape=n)
        return [(a, LowerGradient.make(s, shape=n))]

    def display(self, operands):
        return f"cholesky({operands[0]})"


class EighValues(ArrayOp):
    """``numpy.linalg.eigh(A)[0]``: the eigenvalues (ascending), from A's lower triangle; with
    ``EighVectors`` the adjoint is ``V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ``, ``F_ij = 1/(w_j - w_i)``
    (``EighAdjoint``), through ``LowerGradient``. First derivatives only."""

    printed = "eigvalsh"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        n = shape_of(a, shapes)
        vectors = EighVectors.make(a, shape=n)
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        s = EighAdjoint.make(self, vectors, bar, sympy.Integer(0), shape=n)
        return [(a, LowerGradient.make(s, shape=n))]

    def display(self, operands):
        return f"eigh({operands[0]})[0]"


class EighVectors(ArrayOp):
    """``numpy.linalg.eigh(A)[1]``: the eigenvectors (columns); see ``EighValues``."""

    printed = "eigvecsh"

    def vjp(self, bar, shapes):
        (a,) = self.operands
        n = self.shape
        values = EighValues.make(a, shape=(n[0],))
        if shape_of(bar, shapes) != n:
            bar = BroadcastTo.make(bar, shape=n)
        s = EighAdjoint.make(values, self, sympy.Integer(0), bar, shape=n)
        return [(a, LowerGradient.make(s, shape=n))]

    def display(self, operands):
        return f"eigh({operands[0]})[1]"


class EighAdjoint(ArrayOp):
    """``V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ`` of eigenvalues ``w``, eigenvectors ``V`` and their
    adjoints (either may be 0). Its own derivatives are not implemented."""

    printed = "eigh_adjoint"

    def vjp(self, bar, shapes):
        raise SymdiffError("second derivatives through np.linalg.eigh are not supported",
                           hint="differentiate eigh once (grad), or write the eigen-decomposition "
                           "out of the differentiated function")

    def display(self, operands):
        return f"eigh_adjoint({', '.join(operands)})"


def einsum_parts(spec):
    """``"ij,jk->ik"`` -> ``(["ij", "jk"], "ik")``; an implicit output (``"ij,jk"``) is numpy's:
    the letters that appear once, in alphabetical order."""
    spec = spec.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    parts = inputs.split(",")
    if not arrow:
        letters = "".join(parts)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return parts, output


class Einsum(ArrayOp):
    """``numpy.einsum(spec, *operands)`` (no ``...``, no letter twice in one operand), and
    ``numpy.tensordot(a, b, axes)`` as the same contraction (``via``: printed as the function
    the user called, which computes the value). The adjoint of each operand is the contraction
    of the output's adjoint with the other operands (an einsum too)."""

    printed = "einsum"

    def vjp(self, bar, shapes):
        inputs, output = einsum_parts(self.params["spec"])
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        out = []
        for i, x in enumerate(self.operands):
            others = [(s, o) for j, (s, o) in enumerate(zip(inputs, self.operands)) if j != i]
            available = set(output) | set("".join(s for s, _ in others))
            letters = inputs[i]
            kept = "".join(c for c in letters if c in available)
            x_shape = shape_of(x, shapes)
            sizes = dict(zip(letters, x_shape))
            spec = ",".join([output] + [s for s, _ in others]) + "->" + kept
            piece = Einsum.make(bar, *[o for _, o in others], spec=spec, via=None,
                                shape=tuple(sizes[c] for c in kept))
            if kept != letters:  # letters summed in x alone: the adjoint is the same along them
                ones = tuple(sizes[c] if c in kept else 1 for c in letters)
                piece = BroadcastTo.make(Reshape.make(piece, shape=ones), shape=tuple(x_shape))
            out.append((x, piece))
        return out

    def display(self, operands):
        return f"einsum({self.params['spec']!r}, {', '.join(operands)})"


class Transpose(ArrayOp):
    """``x.T`` / ``numpy.transpose(x, axes)``."""

    printed = "transpose"
    operand_precedence = PRECEDENCE["Func"]  # (x + y).T

    def vjp(self, bar, shapes):
        (x,) = self.operands
        axes = self.params["axes"]
        inverse = tuple(int(a) for a in np.argsort(axes)) if axes is not None else None
        return [(x, Transpose.make(bar, axes=inverse, shape=shape_of(x, shapes)))]

    def display(self, operands):
        return f"{operands[0]}.T" if self.params["axes"] is None else f"transpose({operands[0]}, {self.params['axes']})"


def transpose(x, shapes, axes=None):
    shape = shape_of(x, shapes)
    if len(shape) < 2:
        return x
    new = tuple(np.transpose(np.empty(shape), axes).shape)
    return Transpose.make(x, axes=None if axes is None else tuple(int(a) for a in axes), shape=new)


class Reshape(ArrayOp):
    """``x.reshape(shape)``."""

    printed = "reshape"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, Reshape.make(bar, shape=shape_of(x, shapes)))]


class ArgSort(ArrayOp):
    """``numpy.argsort(x, axis)``: ints (the permutation that sorts), with no derivative."""

    printed = "argsort"

    def vjp(self, bar, shapes):
        return []

    def display(self, operands):
        return f"argsort({operands[0]}, axis={self.params['axis']})"


class CumSum(ArrayOp):
    """``numpy.cumsum(x, axis)`` (``axis`` an int; a flattened ``x`` for None is a reshape
    first). Its adjoint is the cumulative sum from the other end (``RevCumSum``)."""

    printed = "cumsum"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, RevCumSum.make(fit(bar, self.shape, shapes), axis=self.params["axis"], shape=self.shape))]

    def display(self, operands):
        return f"cumsum({operands[0]}, axis={self.params['axis']})"


class RevCumSum(ArrayOp):
    """The cumulative sum of ``x`` along ``axis`` from its last element back (the adjoint of
    ``CumSum``): ``flip(cumsum(flip(x, axis), axis), axis)``."""

    printed = "revcumsum"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, CumSum.make(fit(bar, self.shape, shapes), axis=self.params["axis"], shape=self.shape))]

    def display(self, operands):
        return f"revcumsum({operands[0]}, axis={self.params['axis']})"


# ---- indexing and joining ----
class GetItem(ArrayOp):
    """``x[key]`` with a concrete key (ints and slices)."""

    printed = "getitem"
    operand_precedence = PRECEDENCE["Func"]  # (x + y)[1:]

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, Scatter.make(bar, key=self.params["key"], shape=shape_of(x, shapes)))]

    def display(self, operands):
        return f"{operands[0]}[{format_key(self.params['key'])}]"


class Scatter(ArrayOp):
    """An array of ``shape`` that is 0 except ``out[key] = value`` (the adjoint of indexing)."""

    printed = "scatter"

    def vjp(self, bar, shapes):
        (value,) = self.operands
        return [(value, _gather(bar, self.params["key"], self.shape, value, shapes))]


class ScatterItems(ArrayOp):
    """Zeros of ``shape`` with ``out[key_i] += value_i`` for each part: all the adjoints that
    indexing sends to one array, added in place in one pass (linear in their number)."""

    printed = "scatter_items"

    def vjp(self, bar, shapes):
        return [(v, _gather(bar, k, self.shape, v, shapes))
                for v, k in zip(self.operands, self.params["keys"])]


@dataclass(frozen=True)
class Slot:
    """In the key of ``Take``/``AddAt``: the place of index operand ``k`` (an int array)."""

    k: int

    def __repr__(self):
        return f"Slot({self.k})"


def key_with(key, indices):
    """``key`` with each ``Slot(k)`` replaced by ``indices[k]``."""
    return tuple(indices[p.k] if isinstance(p, Slot) else p for p in key)


class Take(ArrayOp):
    """``x[key]`` where parts of ``key`` are int arrays (``logp[np.arange(n), y]``, ``x[idx]``,
    numpy's integer-array indexing): the operands are ``x`` and then the index arrays, which
    ``key`` places with ``Slot(k)``. Indices are not differentiated (they are ints)."""

    printed = "take"
    operand_precedence = PRECEDENCE["Func"]

    def vjp(self, bar, shapes):
        x, *indices = self.operands
        return [(x, AddAt.make(bar, *indices, key=self.params["key"], shape=shape_of(x, shapes)))]

    def display(self, operands):
        x, *indices = operands
        return f"{x}[{format_key(key_with(self.params['key'], indices))}]"


class AddAt(ArrayOp):
    """Zeros of ``shape`` with ``value`` added at ``key`` — ``numpy.add.at``, so that an index
    repeated adds up (the adjoint of ``Take``): operands ``value`` and the index arrays."""

    printed = "add_at"

    def vjp(self, bar, shapes):
        value, *indices = self.operands
        key = self.params["key"]
        dummy = key_with(key, [np.zeros(shape_of(i, shapes), dtype=int) for i in indices])
        piece = Take.make(bar, *indices, key=key, shape=tuple(np.empty(self.shape)[dummy].shape))
        return [(value, fit(piece, shape_of(value, shapes), shapes))]

    def display(self, operands):
        value, *indices = operands
        return f"add_at(zeros{self.shape}, [{format_key(key_with(self.params['key'], indices))}], {value})"


class SetItem(ArrayOp):
    """numpy's in-place update ``x[key] = value`` as a function: a copy of ``x`` with ``value``
    (broadcast, cast to x's dtype) at ``key``. Operands: ``x``, ``value`` and the int index
    arrays that ``key`` places with ``Slot(k)`` (none for ints and slices; indices given here
    never repeat). The adjoint zeroes the slot for ``x`` and gathers it for ``value``."""

    printed = "set_item"

    def vjp(self, bar, shapes):
        x, value, *indices = self.operands
        key = self.params["key"]
        if shape_of(bar, shapes) != self.shape:
            bar = BroadcastTo.make(bar, shape=self.shape)
        cleared = SetItem.make(bar, sympy.Integer(0), *indices, key=key, shape=self.shape)
        if indices:
            dummy = key_with(key, [np.zeros(shape_of(i, shapes), dtype=int) for i in indices])
            piece = Take.make(bar, *indices, key=key, shape=tuple(np.empty(self.shape)[dummy].shape))
            piece = fit(piece, shape_of(value, shapes), shapes)
        else:
            piece = _gather(bar, key, self.shape, value, shapes)
        return [(x, cleared), (value, piece)]

    def display(self, operands):
        x, value, *indices = operands
        return f"set_item({x}, [{format_key(key_with(self.params['key'], indices))}], {value})"


class Zeros(ArrayOp):
    """A fresh array of zeros of ``shape`` (no operands): the start of a running sum that a
    reverse loop adds into in place (``AddInto``); never differentiated."""

    printed = "zeros"

    def display(self, operands):
        return f"zeros{self.shape}"


class AddInto(ArrayOp):
    """``x += value`` (no int index operands) or ``x[key] += value`` (operands ``x``, ``value``
    and the int indices ``key`` places with ``Slot(k)``, each one number: no index repeats):
    a reverse loop's running sum of an array, added in place into the ``Zeros`` it owns
    (``lower.schedule``). An effect on ``x``, so it is only ever the line that rebinds ``x``;
    never differentiated."""

    printed = "add_into"

    def display(self, operands):
        x, value, *indices = operands
        if self.params.get("key") is None:
            return f"{x} + {value}"
        return f"{x} + add_at(zeros{self.shape}, [{format_key(key_with(self.params['key'], indices))}], {value})"


def _gather(bar, key, shape, value, shapes):
    """The adjoint of ``value`` written into ``out[key]`` (``out`` of ``shape``): ``bar[key]``,
    summed down to ``value``'s shape where the value was broadcast into a bigger slice."""
    piece = GetItem.make(bar, key=key, shape=tuple(np.empty(shape)[key].shape))
    return fit(piece, shape_of(value, shapes), shapes)


class Concatenate(ArrayOp):
    """``numpy.concatenate([a, b, ...], axis)``."""

    printed = "concatenate"

    def vjp(self, bar, shapes):
        axis = self.params["axis"]
        out, start = [], 0
        for part in self.operands:
            shape = shape_of(part, shapes)
            size = shape[axis]
            key = (slice(None),) * (axis % len(shape)) + (slice(start, start + size),)
            out.append((part, GetItem.make(bar, key=key, shape=shape)))
            start += size
        return out


class Stack(ArrayOp):
    """``numpy.stack([a, b, ...], axis)`` (also ``numpy.array([...])`` of values)."""

    printed = "stack"

    def vjp(self, bar, shapes):
        axis = self.params["axis"]
        out = []
        for i, part in enumerate(self.operands):
            shape = shape_of(part, shapes)
            key = (slice(None),) * (axis % (len(shape) + 1)) + (i,)
            out.append((part, GetItem.make(bar, key=key, shape=shape)))
        return out


# ---- reverse-pass helpers (also differentiable, for higher derivatives) ----
class BroadcastTo(ArrayOp):
    """``numpy.broadcast_to(x, shape)`` (an adjoint brought up to its variable's shape)."""

    printed = "broadcast_to"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, fit(bar, shape_of(x, shapes), shapes))]


class Unbroadcast(ArrayOp):
    """``x`` summed over the axes it was broadcast along, down to ``shape``."""

    printed = "unbroadcast"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, BroadcastTo.make(bar, shape=self.params["source"]))]


class ExpandTo(ArrayOp):
    """A reduced value spread back over the reduced ``axis`` to ``shape``."""

    printed = "expand_to"

    def vjp(self, bar, shapes):
        (x,) = self.operands
        return [(x, ArraySum.make(bar, axis=self.params["axis"], shape=shape_of(x, shapes)))]


class ExtremeGrad(ArrayOp):
    """d max(x)/dx times the adjoint: ``bar`` shared equally among the elements equal to the max."""

    printed = "extreme_grad"

    def vjp(self, bar, shapes):
        """Linear in the adjoint it spreads (``operands[2]``); the mask of maxima is piecewise
        constant, so nothing flows to ``x`` or to the max (zero almost everywhere)."""
        x, best, spread = self.operands
        axis = self.params["axis"]
        share = ExtremeGrad.make(x, best, sympy.Integer(1), axis=axis, shape=self.shape)
        return [(spread, ArraySum.make(share * bar, axis=axis, shape=reduced_shape(self.shape, axis)))]


# ---- printing keys ----
def format_key(key):
    return ", ".join(_format_part(part) for part in key) if key else "()"


def _format_part(part):
    if isinstance(part, slice):
        text = ("" if part.start is None else str(part.start)) + ":" + (
            "" if part.stop is None else str(part.stop))
        if part.step is not None:
            text += f":{part.step}"
        return text
    if part is None:
        return "None"
    if part is Ellipsis:
        return "..."
    return str(part)

