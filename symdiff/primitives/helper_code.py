"""helper_code: the functions generated code defines for itself, as ``registry.Helper`` records.

Takes: nothing. Returns: nothing; each helper (digamma, the step, Python's ``//`` and ``%`` in C,
numpy's adjoint helpers ``_scatter`` & co.) is one ``Helper`` record in the registry: its Python
source (a ``def _<name>``, reading ``math``/``numpy`` by those names), the module that source
needs, its C definition (formatted with its C name as ``{name}``) and the helpers it calls.
A record's ``printed`` names a helper for a target (see ``scalar``); the printers include the
source of each helper they call.
"""

from . import registry
from .registry import Helper

# ---------------------------------------------------------------------------------------------
# Python sources
# ---------------------------------------------------------------------------------------------

DIGAMMA_SOURCE = '''\
def _digamma(x):
    """The digamma function psi(x) = d lgamma(x)/dx (recurrence, then asymptotic series)."""
    if not math.isfinite(x):  # psi(inf) = inf; at -inf and nan there is none
        return x if x > 0 else math.nan
    if x <= 0 and x == int(x):
        return math.nan
    result = 0.0
    if x < 0.5:  # reflection: psi(1 - x) - psi(x) = pi / tan(pi x)
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    t = inv * inv
    series = t * (1 / 12 - t * (1 / 120 - t * (1 / 252 - t * (1 / 240 - t * (
        1 / 132 - t * (691 / 32760 - t / 12))))))
    return result + math.log(x) - 0.5 * inv - series
'''

POLYGAMMA_SOURCE = '''\
def _polygamma(n, x):
    """polygamma(n, x) = d^(n+1) lgamma(x)/dx^(n+1) for n >= 1 (recurrence, then asymptotic series)."""
    if not math.isfinite(x):  # psi_n(inf) = 0; at -inf and nan there is none
        return 0.0 if x > 0 else math.nan
    if x <= 0 and x == int(x):
        return math.nan
    factorial = math.factorial(n)
    result = 0.0
    while x < 15.0:  # psi_n(x) = psi_n(x + 1) + (-1)**(n+1) n! / x**(n+1)
        result += factorial / x ** (n + 1)
        x += 1.0
    series = math.factorial(n - 1) / x ** n + factorial / (2.0 * x ** (n + 1))
    for k, bernoulli in enumerate((1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6), 1):
        series += bernoulli * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
    return (result + series) if n % 2 else -(result + series)
'''


SCATTER_SOURCE = '''\
def _scatter(value, shape, key, dtype=None):
    """An array of zeros with ``value`` at ``key`` (the adjoint of indexing), in the dtype
    numpy gives ``value`` computed with arrays of ``dtype``."""
    out = numpy.zeros(shape, numpy.result_type(value) if dtype is None else numpy.result_type(dtype, value))
    out[key] = value
    return out
'''

ADD_AT_SOURCE = '''\
def _add_at(value, shape, key, dtype=None):
    """An array of zeros with ``value`` added at ``key`` (int arrays in it: a repeated index
    adds up, numpy.add.at), in the dtype numpy gives ``value`` with arrays of ``dtype``."""
    out = numpy.zeros(shape, numpy.result_type(value) if dtype is None else numpy.result_type(dtype, value))
    numpy.add.at(out, key, value)
    return out
'''

SET_ITEM_SOURCE = '''\
def _set_item(array, key, value):
    """A copy of ``array`` with ``value`` at ``key``: numpy's ``array[key] = value`` (the
    value broadcast and cast to the array's dtype), leaving ``array`` as it was. Floats into an
    int or bool array would be truncated (a derivative of 0 the gradient does not follow): an error."""
    if array.dtype.kind in "iub" and numpy.result_type(value).kind == "f":
        raise TypeError("symdiff: a float assigned into an int array would be truncated; make the array float")
    out = array.copy()
    out[key] = value
    return out
'''

LOGSUMEXP_SOURCE = '''\
def _logsumexp(a, axis=None, b=None):
    """log(sum(b*exp(a))) over ``axis``, shifted by the maximum so that exp never overflows
    (scipy.special.logsumexp; a maximum that is not finite shifts by 0)."""
    shift = numpy.max(a, axis=axis, keepdims=True)
    shift = numpy.where(numpy.isfinite(shift), shift, 0.0)
    terms = numpy.exp(a - shift) if b is None else b * numpy.exp(a - shift)
    with numpy.errstate(divide="ignore"):  # log(0) is -inf, as scipy gives it
        total = numpy.log(numpy.sum(terms, axis=axis, keepdims=True))
    return numpy.squeeze(total + shift, axis=axis) if axis is not None else (total + shift).reshape(())[()]
'''

SVD_VALUES_ADJOINT_SOURCE = '''\
def _svd_values_adjoint(a, s_bar):
    """U diag(s_bar) V.T of the thin SVD of a (the adjoint of numpy.linalg.svd's singular values)."""
    u, _, vt = numpy.linalg.svd(a, full_matrices=False)
    return (u * s_bar) @ vt
'''

EIGH_ADJOINT_SOURCE = '''\
def _eigh_adjoint(w, v, w_bar, v_bar):
    """V (diag(w_bar) + F * (V.T v_bar)) V.T with F[i, j] = 1/(w[j] - w[i]) off the diagonal (the
    adjoint of numpy.linalg.eigh for a symmetric perturbation; w_bar, v_bar may be 0)."""
    gap = w[numpy.newaxis, :] - w[:, numpy.newaxis]
    numpy.fill_diagonal(gap, numpy.inf)
    inner = numpy.diag(numpy.broadcast_to(w_bar, w.shape)) + (v.T @ numpy.broadcast_to(v_bar, v.shape)) / gap
    return v @ inner @ v.T
'''

SCATTER_ITEMS_SOURCE = '''\
def _scatter_items(shape, keys, values, dtype=None):
    """An array of zeros with ``values[i]`` added at ``keys[i]`` (in the values' dtype)."""
    out = numpy.zeros(shape, numpy.result_type(*values) if dtype is None else numpy.result_type(dtype, *values))
    for key, value in zip(keys, values):
        out[key] += value
    return out
'''

EXTREME_GRAD_SOURCE = '''\
def _extreme_grad(x, best, bar, axis):
    """d max(x)/dx times ``bar``: shared equally by the elements equal to the max."""
    if axis is not None:
        best = numpy.expand_dims(best, axis)
        if numpy.ndim(bar):
            bar = numpy.expand_dims(bar, axis)
    hit = x == best
    return hit * (bar / numpy.sum(hit, axis=axis, keepdims=True, dtype=numpy.result_type(x, bar)))
'''

JACOBIAN_SOURCE = '''\
def _jacobian(shape, picks=(), outers=(), blocks=()):
    """The Jacobian matrix of ``shape`` from its parts (their structure known when the code
    was generated): ``picks``, pairs (places, values): one entry per row, at the raveled
    ``places``; ``outers``, (start, stop, factors, row): row i of columns start:stop is
    ``factors[i] * row``; ``blocks``, (start, stop, matrix): columns start:stop. Where the
    outers and blocks cover every column, each range's first part is written, not added to
    zeros (one pass over the matrix, not two)."""
    parts = [*outers, *[(start, stop, None, matrix) for start, stop, matrix in blocks]]
    ranges = sorted({(start, stop) for start, stop, _, _ in parts})
    covered = bool(ranges) and ranges[0][0] == 0 and ranges[-1][1] == shape[1] and all(
        a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    jacobian = numpy.empty(shape) if covered else numpy.zeros(shape)
    written = set()
    for start, stop, factors, row in parts:
        part = jacobian[:, start:stop]
        first = covered and (start, stop) not in written
        written.add((start, stop))
        if factors is None:  # a block: row is its matrix
            if first:
                part[...] = row
            else:
                part += row
        elif numpy.ndim(factors) == 0:
            if first:
                part[...] = numpy.ravel(factors * row)
            else:
                part += numpy.ravel(factors * row)
        elif first:
            numpy.multiply(numpy.reshape(factors, (-1, 1)), numpy.ravel(row), out=part)
        else:
            part += numpy.reshape(factors, (-1, 1)) * numpy.ravel(row)
    flat = jacobian.reshape(-1)
    for places, values in picks:
        flat[places] += numpy.ravel(values)
    return jacobian
'''

ENTRIES_SOURCE = '''\
def _entries(size, picks, zeros=True):
    """The ``data`` of a sparse Jacobian (``size`` entries, in the CSR order of its pattern) from
    its parts: ``picks``, (positions, values, written, rows): ``values`` (raveled; at ``rows``
    only, where given) written at ``positions`` (an index array or a slice), or added where
    ``written`` is False (an earlier pick has entries there). ``zeros``: start from zeros (some
    entry is added to before it is written, or never written)."""
    data = numpy.zeros(size) if zeros else numpy.empty(size)
    for positions, values, written, *rows in picks:
        values = numpy.ravel(values)
        if rows and values.size > 1:
            values = values[rows[0]]
        if written:
            data[positions] = values
        else:
            data[positions] += values
    return data
'''

FULL_SOURCE = '''\
def _full(value, shape, dtype):
    """The number ``value`` as an array of ``shape`` (a read-only view), in the dtype numpy gives
    ``value`` computed with arrays of ``dtype`` (float32 stays float32)."""
    return numpy.broadcast_to(numpy.asarray(value, numpy.result_type(dtype, value)), shape)
'''

EXCLUSIVE_SOURCE = '''\
def _exclusive(accumulate, x, axis):
    """``accumulate`` (numpy.cumprod or numpy.cumsum) of the elements before each element of
    ``x`` along ``axis`` (a tuple of axes, taken as one; None: all of them), and of the elements
    after it: two arrays of x's shape."""
    x = numpy.asarray(x)
    axis = tuple(range(x.ndim)) if axis is None else axis
    if len(axis) != 1:  # the axes moved last and flattened into one
        last = tuple(range(x.ndim - len(axis), x.ndim))
        moved = numpy.moveaxis(x, axis, last)
        flat = moved.reshape(moved.shape[:x.ndim - len(axis)] + (-1,))
        return tuple(numpy.moveaxis(part.reshape(moved.shape), last, axis)
                     for part in _exclusive(accumulate, flat, (flat.ndim - 1,)))
    lead = (slice(None),) * axis[0]
    start = 1 if accumulate is numpy.cumprod else 0
    before = numpy.empty(x.shape, numpy.result_type(x, 1.0))
    after = numpy.empty_like(before)
    before[lead + (slice(0, 1),)] = start
    accumulate(x[lead + (slice(None, -1),)], axis=axis[0], out=before[lead + (slice(1, None),)])
    after[lead + (slice(-1, None),)] = start
    accumulate(x[lead + (slice(None, 0, -1),)], axis=axis[0], out=after[lead + (slice(-2, None, -1),)])
    return before, after
'''

PROD_OTHERS_SOURCE = '''\
def _prod_others(x, prod, axis, scale=None):
    """d prod(x, axis)/dx (times ``scale``, one number per product, if given): at each element,
    the product of the other elements along ``axis`` (None: of all the others); ``prod`` is
    numpy.prod(x, axis). Where that is a normal number (no element 0, inf or nan, nothing lost
    to underflow): scale*prod/x. Elsewhere exclusive cumulative products from both ends, exact
    where elements are 0."""
    limits = numpy.finfo(prod.dtype if prod.dtype.kind == "f" else numpy.float64)
    if axis is None:
        normal = limits.tiny <= abs(prod) <= limits.max
    else:
        normal = ((abs(prod) >= limits.tiny) & (abs(prod) <= limits.max)).all()
    if normal:
        if scale is not None:
            prod = scale * prod
        return (prod if axis is None else numpy.expand_dims(prod, axis)) / x
    before, after = _exclusive(numpy.cumprod, x, axis)
    before *= after
    if scale is not None:
        before *= scale if axis is None else numpy.expand_dims(scale, axis)
    return before
'''

PROD_OTHERS_JVP_SOURCE = '''\
def _prod_others_jvp(x, b, prod, axis):
    """At each element k: the sum over the other elements i along ``axis`` of b[i] times the
    product of the elements other than i and k (d/dx of sum(b * d prod(x)/dx)); ``prod`` is
    numpy.prod(x, axis). Where that is a normal number: prod/x * (sum(b/x) - b/x). Elsewhere
    by the number of zeros along the axis, exact where elements are 0."""
    x = numpy.asarray(x)
    limits = numpy.finfo(prod.dtype if prod.dtype.kind == "f" else numpy.float64)
    if axis is None:
        normal = limits.tiny <= abs(prod) <= limits.max
    else:
        prod = numpy.expand_dims(prod, axis)
        normal = ((abs(prod) >= limits.tiny) & (abs(prod) <= limits.max)).all()
    if normal:
        share = b / x
        return prod / x * (numpy.sum(share, axis=axis, keepdims=True) - share)
    b = numpy.broadcast_to(b, x.shape)
    zero = x == 0
    count = numpy.sum(zero, axis=axis, keepdims=True)
    nonzero = numpy.where(zero, 1, x)
    before, after = _exclusive(numpy.cumprod, nonzero, axis)
    others = before * after  # the product of the other nonzero elements
    before, after = _exclusive(numpy.cumsum, b / nonzero, axis)
    none = others * (before + after)  # no zero: others * the sum of the other b[i]/x[i]
    before, after = _exclusive(numpy.cumsum, numpy.where(zero, b, 0), axis)
    beside = (before + after) * others  # b at the other zeros, times the nonzero elements
    inside = numpy.sum(numpy.where(zero, 0, b * others), axis=axis, keepdims=True)
    one = numpy.where(zero, inside, beside)  # one zero: at it, and elsewhere
    two = numpy.where(zero, beside, 0)  # two zeros: at each, b at the other one
    return numpy.select([count == 0, count == 1, count == 2], [none, one, two], 0)
'''

POW_SOURCE = '''\
def _pow(base, exponent):
    """Python's base ** exponent (its ZeroDivisionError, OverflowError; numpy's nan for numpy
    floats), but a ValueError where Python would leave the reals with a complex number."""
    result = base ** exponent
    if type(result) is complex:
        raise ValueError("math domain error")
    return result
'''


# ---------------------------------------------------------------------------------------------
# C sources, formatted with the helper's C name (``name``)
# ---------------------------------------------------------------------------------------------

C_DIGAMMA_SOURCE = """\
static double {name}(double x)
{{
    /* digamma psi(x) = d lgamma(x)/dx: reflection, recurrence, then the asymptotic series */
    double result = 0.0;
    if (x <= 0.0 && x == floor(x)) {{
        return NAN;
    }}
    if (x < 0.5) {{
        return {name}(1.0 - x) - 3.141592653589793 / tan(3.141592653589793 * x);
    }}
    while (x < 10.0) {{
        result -= 1.0 / x;
        x += 1.0;
    }}
    const double inv = 1.0 / x;
    const double t = inv * inv;
    const double series = t * (1.0 / 12 - t * (1.0 / 120 - t * (1.0 / 252 - t * (1.0 / 240 - t * (
        1.0 / 132 - t * (691.0 / 32760 - t / 12))))));
    return result + log(x) - 0.5 * inv - series;
}}
"""

C_POLYGAMMA_SOURCE = """\
static double {name}(int n, double x)
{{
    /* polygamma psi_n(x) = d^(n+1) lgamma(x)/dx^(n+1), n >= 1: recurrence, then the asymptotic
       series with the Bernoulli numbers B2 .. B14 */
    static const double bernoulli[7] = {{1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66,
                                        -691.0 / 2730, 7.0 / 6}};
    double factorial = 1.0;  /* n! */
    double result = 0.0;
    double series;
    if (x <= 0.0 && x == floor(x)) {{
        return NAN;
    }}
    for (int i = 2; i <= n; ++i) {{
        factorial *= i;
    }}
    while (x < 15.0) {{
        result += factorial / pow(x, n + 1);
        x += 1.0;
    }}
    series = factorial / n / pow(x, n) + factorial / (2.0 * pow(x, n + 1));
    {{
        double ratio = factorial / n;  /* (2k + n - 1)! / (2k)!, from k = 0 */
        for (int k = 1; k <= 7; ++k) {{
            ratio *= (double)(2 * k + n - 2) * (2 * k + n - 1) / ((2.0 * k - 1) * (2.0 * k));
            series += bernoulli[k - 1] * ratio / pow(x, 2 * k + n);
        }}
    }}
    return (n % 2) ? result + series : -(result + series);
}}
"""

C_HEAVISIDE_SOURCE = """\
static double {name}(double x)
{{
    /* the step: 1 above 0, 0 below, 1/2 at 0 (a tie of max/min shares the derivative), nan at nan */
    if (x > 0) {{
        return 1.0;
    }}
    if (x < 0) {{
        return 0.0;
    }}
    return (x == 0) ? 0.5 : NAN;
}}
"""

C_FLOORDIV_SOURCE = """\
static double {name}(double a, double b)
{{
    /* Python's a // b on floats (CPython's float_floor_div: from fmod, exact) */
    double mod = fmod(a, b);
    double div;
    double floordiv;
    if (b == 0.0) {{
        return a / b;
    }}
    div = (a - mod) / b;
    if (mod != 0.0 && ((b < 0) != (mod < 0))) {{
        div -= 1.0;
    }}
    if (div != 0.0) {{
        floordiv = floor(div);
        if (div - floordiv > 0.5) {{
            floordiv += 1.0;
        }}
    }}
    else {{
        floordiv = copysign(0.0, a / b);
    }}
    return floordiv;
}}
"""

C_MOD_SOURCE = """\
static double {name}(double a, double b)
{{
    /* Python's a % b on floats: the remainder with the sign of b (CPython's float_rem) */
    double mod = fmod(a, b);
    if (mod != 0.0) {{
        if ((b < 0) != (mod < 0)) {{
            mod += b;
        }}
    }}
    else {{
        mod = copysign(0.0, b);
    }}
    return mod;
}}
"""

C_LOGADDEXP_SOURCE = """\
static double {name}(double a, double b)
{{
    /* log(exp(a) + exp(b)) without overflow, as numpy.logaddexp computes it */
    if (a == b) {{
        return a + 0.6931471805599453;
    }}
    const double d = a - b;
    if (d > 0) {{
        return a + log1p(exp(-d));
    }}
    if (d <= 0) {{
        return b + log1p(exp(d));
    }}
    return d;
}}
"""

C_LOGADDEXP2_SOURCE = """\
static double {name}(double a, double b)
{{
    /* log2(2**a + 2**b) without overflow, as numpy.logaddexp2 computes it */
    if (a == b) {{
        return a + 1.0;
    }}
    const double d = a - b;
    if (d > 0) {{
        return a + 1.4426950408889634 * log1p(exp2(-d));
    }}
    if (d <= 0) {{
        return b + 1.4426950408889634 * log1p(exp2(d));
    }}
    return d;
}}
"""


# C has no sign function that gives nan at nan (copysign(1, nan) is 1): one readable helper
C_SIGN_SOURCE = """\
static double {name}(double x)
{{
    /* the sign: 1 above 0, -1 below, 0 at 0, nan at nan */
    if (x > 0) {{
        return 1.0;
    }}
    if (x < 0) {{
        return -1.0;
    }}
    return (x == 0) ? 0.0 : NAN;
}}
"""

POW = registry.add_helper(Helper("pow", python=POW_SOURCE))
DIGAMMA = registry.add_helper(Helper("digamma", python=DIGAMMA_SOURCE, module="math", c=C_DIGAMMA_SOURCE))
POLYGAMMA = registry.add_helper(Helper("polygamma", python=POLYGAMMA_SOURCE, module="math",
                                       c=C_POLYGAMMA_SOURCE))
HEAVISIDE = registry.add_helper(Helper("heaviside", c=C_HEAVISIDE_SOURCE))
SIGN = registry.add_helper(Helper("sign", c=C_SIGN_SOURCE))
FLOORDIV = registry.add_helper(Helper("floordiv", c=C_FLOORDIV_SOURCE))
MOD = registry.add_helper(Helper("mod", c=C_MOD_SOURCE))
LOGADDEXP = registry.add_helper(Helper("logaddexp", c=C_LOGADDEXP_SOURCE))
LOGADDEXP2 = registry.add_helper(Helper("logaddexp2", c=C_LOGADDEXP2_SOURCE))
# numpy's adjoints of structural array operations (the array printers call them)
SCATTER = registry.add_helper(Helper("scatter", python=SCATTER_SOURCE, module="numpy"))
ADD_AT = registry.add_helper(Helper("add_at", python=ADD_AT_SOURCE, module="numpy"))
LOGSUMEXP = registry.add_helper(Helper("logsumexp", python=LOGSUMEXP_SOURCE, module="numpy"))
SVD_VALUES_ADJOINT = registry.add_helper(Helper("svd_values_adjoint", python=SVD_VALUES_ADJOINT_SOURCE,
                                                module="numpy"))
SET_ITEM = registry.add_helper(Helper("set_item", python=SET_ITEM_SOURCE, module="numpy"))
EIGH_ADJOINT = registry.add_helper(Helper("eigh_adjoint", python=EIGH_ADJOINT_SOURCE, module="numpy"))
SCATTER_ITEMS = registry.add_helper(Helper("scatter_items", python=SCATTER_ITEMS_SOURCE, module="numpy"))
EXTREME_GRAD = registry.add_helper(Helper("extreme_grad", python=EXTREME_GRAD_SOURCE, module="numpy"))
ENTRIES = registry.add_helper(Helper("entries", python=ENTRIES_SOURCE, module="numpy"))
JACOBIAN = registry.add_helper(Helper("jacobian", python=JACOBIAN_SOURCE, module="numpy"))
FULL = registry.add_helper(Helper("full", python=FULL_SOURCE, module="numpy"))
EXCLUSIVE = registry.add_helper(Helper("exclusive", python=EXCLUSIVE_SOURCE, module="numpy"))
PROD_OTHERS = registry.add_helper(Helper("prod_others", python=PROD_OTHERS_SOURCE, module="numpy",
                                         needs=("exclusive",)))
PROD_OTHERS_JVP = registry.add_helper(Helper("prod_others_jvp", python=PROD_OTHERS_JVP_SOURCE, module="numpy",
                                             needs=("exclusive",)))
