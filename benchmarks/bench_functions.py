"""The functions the benchmarks differentiate, their hand-written gradients and closed forms.

symdiff reads a function's source, so every function it is asked to differentiate lives here, at
module level, written the way a user would write it. The hand-written gradients are the floors the
tables divide by; the ``expected_*`` functions are the closed forms, written out by hand, that every
contender's value is checked against before it is timed.
"""

import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# A. the seed function, scalar (math module)
# ---------------------------------------------------------------------------------------------


def u(x):
    return math.exp(math.sin(x**2))


def du_hand(x):
    """Hand-written derivative of ``u``: the floor of section A."""
    t = x * x
    return 2.0 * x * math.cos(t) * math.exp(math.sin(t))


def expected_du(x):
    """d/dx exp(sin(x^2)) = 2 x cos(x^2) exp(sin(x^2))."""
    return 2.0 * x * math.cos(x**2) * math.exp(math.sin(x**2))


# ---------------------------------------------------------------------------------------------
# B. the same function written with numpy, applied elementwise
# ---------------------------------------------------------------------------------------------


def u_np(x):
    return np.exp(np.sin(x**2))


def du_np_hand(x):
    """Hand-written numpy derivative of ``u_np``: the floor of section B."""
    t = x * x
    return 2.0 * x * np.cos(t) * np.exp(np.sin(t))


def expected_du_np(x):
    return np.array([expected_du(v) for v in np.asarray(x, dtype=float).tolist()])


# ---------------------------------------------------------------------------------------------
# C. Rosenbrock: numpy-slice version and explicit-loop version
# ---------------------------------------------------------------------------------------------


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosen_grad_hand(x):
    """Hand-written numpy gradient of ``rosen``: the floor of section C."""
    xm = x[:-1]
    t = x[1:] - xm * xm
    g = np.zeros_like(x)
    g[:-1] = -400.0 * t * xm - 2.0 * (1.0 - xm)
    g[1:] += 200.0 * t
    return g


def rosen_loop_grad_hand(x):
    """Hand-written gradient of ``rosen_loop`` over a list, in plain Python."""
    n = len(x)
    g = [0.0] * n
    for i in range(n - 1):
        t = x[i + 1] - x[i] * x[i]
        g[i] += -400.0 * t * x[i] - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * t
    return g


def expected_rosen(x):
    """The value, term by term: sum of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    x = [float(v) for v in x]
    return math.fsum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def expected_rosen_grad(x):
    """Closed form, component by component:

    d/dx[i] = -400 x[i] (x[i+1] - x[i]^2) - 2 (1 - x[i])   (i < n-1)
              + 200 (x[i] - x[i-1]^2)                       (i > 0)
    """
    x = [float(v) for v in x]
    n = len(x)
    out = []
    for i in range(n):
        g = 0.0
        if i < n - 1:
            g += -400.0 * x[i] * (x[i + 1] - x[i] ** 2) - 2.0 * (1.0 - x[i])
        if i > 0:
            g += 200.0 * (x[i] - x[i - 1] ** 2)
        out.append(g)
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# F. the call path: a five-parameter scalar function (called with an int among its arguments)
# ---------------------------------------------------------------------------------------------


def damped(t, a, w, phi, b):
    """A damped oscillation a e^(-b t) cos(w t + phi), a model one fits five parameters of."""
    return a * math.exp(-b * t) * math.cos(w * t + phi)


def damped_grad_hand(t, a, w, phi, b):
    """Hand-written gradient of ``damped`` with respect to all five parameters: the floor of F."""
    e = math.exp(-b * t)
    arg = w * t + phi
    c = math.cos(arg)
    s = math.sin(arg)
    ae = a * e
    return (-ae * (b * c + w * s), e * c, -ae * s * t, -ae * s, -ae * c * t)


def expected_damped_grad(t, a, w, phi, b):
    """Closed form, term by term (product and chain rule written out)."""
    t, a, w, phi, b = (float(v) for v in (t, a, w, phi, b))
    e, c, s = math.exp(-b * t), math.cos(w * t + phi), math.sin(w * t + phi)
    return (a * (-b) * e * c - a * e * s * w, e * c, -a * e * s * t, -a * e * s, -t * a * e * c)


# ---------------------------------------------------------------------------------------------
# D. a chain of N dependent statements (the source is written to a file by run.py)
# ---------------------------------------------------------------------------------------------

CHAIN_STATEMENT = "x = math.sin(x) * x + x ** 2"


def chain_source(n):
    """Module source defining ``chain(x)``: ``n`` copies of ``CHAIN_STATEMENT``, then ``return x``."""
    body = "".join(f"    {CHAIN_STATEMENT}\n" for _ in range(n))
    return (
        "import math\n\n\n"
        "def warm(x):\n    return math.sin(x) * x + x ** 2\n\n\n"
        f"def chain(x):\n{body}    return x\n"
    )


def expected_chain_grad(x, n):
    """Forward-mode by hand: d x_{k+1}/d x_k = x cos(x) + sin(x) + 2 x."""
    d = 1.0
    for _ in range(n):
        d *= x * math.cos(x) + math.sin(x) + 2.0 * x
        x = math.sin(x) * x + x * x
    return d


# ---------------------------------------------------------------------------------------------
# E. a long loop: explicit Euler integration of the Lorenz system (issue 13)
# ---------------------------------------------------------------------------------------------

LORENZ_POINT = (1.0, 1.2, 0.8, 10.0, 28.0, 8.0 / 3.0)  # x, y, z, sigma, rho, beta


def lorenz(x, y, z, s, r, b, T):
    """``T`` explicit Euler steps (dt = 0.001) of the Lorenz system; returns x + y + z."""
    dt = 0.001
    for _ in range(T):
        dx = s * (y - x)
        dy = x * (r - z) - y
        dz = x * y - b * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return x + y + z


def lorenz_grad_hand(x, y, z, s, r, b, T):
    """The hand-written adjoint loop of ``lorenz``: the floor of section E (the states on a list,
    then the reverse sweep). Returns d/d(x, y, z, sigma, rho, beta)."""
    dt = 0.001
    states = [None] * T
    for k in range(T):
        states[k] = (x, y, z)
        x, y, z = x + dt * (s * (y - x)), y + dt * (x * (r - z) - y), z + dt * (x * y - b * z)
    xb = yb = zb = 1.0
    sb = rb = bb = 0.0
    for k in range(T - 1, -1, -1):
        x, y, z = states[k]
        dxb, dyb, dzb = dt * xb, dt * yb, dt * zb
        sb += (y - x) * dxb
        rb += x * dyb
        bb -= z * dzb
        xb, yb, zb = (xb - s * dxb + (r - z) * dyb + y * dzb,
                      yb + s * dxb - dyb + x * dzb,
                      zb - x * dyb - b * dzb)
    return xb, yb, zb, sb, rb, bb


def expected_lorenz_grad(T):
    """The reference for ``lorenz``'s gradient at ``LORENZ_POINT``: forward-mode (tangent)
    propagation of all six directions in floats, written out independently of the adjoint."""
    x, y, z, s, r, b = LORENZ_POINT
    dt = 0.001
    # d(x, y, z)/d(x0, y0, z0, s, r, b), one row per state variable
    dx, dy, dz = [1.0, 0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0, 0], [0, 0, 1.0, 0, 0, 0]
    for _ in range(T):
        ds, dr, db = [0, 0, 0, 1.0, 0, 0], [0, 0, 0, 0, 1.0, 0], [0, 0, 0, 0, 0, 1.0]
        nx = [dx[i] + dt * (ds[i] * (y - x) + s * (dy[i] - dx[i])) for i in range(6)]
        ny = [dy[i] + dt * (dx[i] * (r - z) + x * (dr[i] - dz[i]) - dy[i]) for i in range(6)]
        nz = [dz[i] + dt * (dx[i] * y + x * dy[i] - db[i] * z - b * dz[i]) for i in range(6)]
        x, y, z = x + dt * (s * (y - x)), y + dt * (x * (r - z) - y), z + dt * (x * y - b * z)
        dx, dy, dz = nx, ny, nz
    return tuple(dx[i] + dy[i] + dz[i] for i in range(6))


# ---------------------------------------------------------------------------------------------
# E. a loop over arrays: a small RNN over T steps (issue 13)
# ---------------------------------------------------------------------------------------------

RNN_HIDDEN, RNN_INPUT, RNN_STEPS = 64, 8, 400


def rnn_point(T=RNN_STEPS, seed=0):
    """``(W, U, h0, X)``: a contracting recurrence (W scaled to keep tanh off saturation)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(RNN_HIDDEN, RNN_HIDDEN)) * (0.9 / np.sqrt(RNN_HIDDEN))
    U = rng.normal(size=(RNN_HIDDEN, RNN_INPUT)) * 0.3
    h0 = rng.normal(size=RNN_HIDDEN) * 0.5
    X = rng.normal(size=(T, RNN_INPUT))
    return W, U, h0, X


def rnn(W, U, h0, X):
    """An Elman RNN over the rows of ``X`` (T = 400 steps); returns the squared final state."""
    h = h0
    for t in range(400):
        h = np.tanh(W @ h + U @ X[t])
    return np.sum(h * h)


def rnn_grad_hand(W, U, h0, X):
    """Hand-written backpropagation through time of ``rnn``, as numpy code is usually written
    (the states on a list, then the reverse sweep with ``+=`` into the weight gradients): the
    floor of section E's RNN rows. Returns d/d(W, U)."""
    T = X.shape[0]
    hs = [h0]
    h = h0
    for t in range(T):
        h = np.tanh(W @ h + U @ X[t])
        hs.append(h)
    dW = np.zeros_like(W)
    dU = np.zeros_like(U)
    dh = 2.0 * h
    WT = W.T
    for t in range(T - 1, -1, -1):
        da = dh * (1.0 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, X[t])
        dh = WT @ da
    return dW, dU


# ---------------------------------------------------------------------------------------------
# E. while loops on data (issue 13): Newton's method and bisection for sqrt(a)
# ---------------------------------------------------------------------------------------------

NEWTON_POINT = 2.0


def newton_sqrt(a):
    """Newton's method for sqrt(a), until the residual is below 1e-12."""
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def newton_sqrt_grad_hand(a):
    """The hand-written derivative of ``newton_sqrt``: the same loop carrying dx/da beside x
    (forward mode; one input)."""
    x, dx = a, 1.0
    while abs(x * x - a) > 1e-12:
        x, dx = 0.5 * (x + a / x), 0.5 * (dx + 1.0 / x - a * dx / (x * x))
    return dx


def bisect_sqrt(a):
    """Bisection for sqrt(a) over the constant bracket [0, 4] (0 <= a <= 16)."""
    lo = 0.0
    hi = 4.0
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def bisect_sqrt_value_and_grad_hand(a):
    """The hand-written value and derivative of ``bisect_sqrt``: a step function of a, so the
    derivative is 0; the value still needs the loop."""
    return bisect_sqrt(a), 0.0


# ---------------------------------------------------------------------------------------------
# E. a loop in a loop (issue 13): 100 x 100 steps of x + 1e-4 sin(x)
# ---------------------------------------------------------------------------------------------

NESTED_POINT = 0.3


def nested_steps(x):
    """100 outer steps of 100 inner steps each (both kept as loops by symdiff)."""
    for i in range(100):
        for j in range(100):
            x = x + 0.0001 * np.sin(x)
    return x


def nested_steps_grad_recompute(x):
    """The hand-written adjoint, symdiff's strategy: the outer state taped; each outer reverse
    step runs the inner loop forward again (an inner tape of 100), then backward."""
    sin, cos = np.sin, np.cos
    outer = [None] * 100
    for i in range(100):
        outer[i] = x
        for j in range(100):
            x = x + sin(x) * 0.0001
    x_bar = 1.0
    inner = [None] * 100
    for i in range(99, -1, -1):
        y = outer[i]
        for j in range(100):
            inner[j] = y
            y = y + sin(y) * 0.0001
        for j in range(99, -1, -1):
            x_bar = x_bar * (cos(inner[j]) * 0.0001 + 1)
    return x_bar


def nested_steps_grad_taped(x):
    """The hand-written adjoint keeping every inner tape (100 x 100 values): the inner forward
    loop runs once."""
    sin, cos = np.sin, np.cos
    tapes = [None] * 100
    for i in range(100):
        inner = [None] * 100
        for j in range(100):
            inner[j] = x
            x = x + sin(x) * 0.0001
        tapes[i] = inner
    x_bar = 1.0
    for i in range(99, -1, -1):
        inner = tapes[i]
        for j in range(99, -1, -1):
            x_bar = x_bar * (cos(inner[j]) * 0.0001 + 1)
    return x_bar


def expected_nested_steps_grad(x):
    """d/dx by forward mode (tangent) in floats: the product of 1 + 1e-4 cos(x_k)."""
    dx = 1.0
    for _ in range(10_000):
        dx *= 1 + 0.0001 * math.cos(x)
        x = x + 0.0001 * math.sin(x)
    return dx


# G. Jacobians and Hessians: exact sparsity, one pass per colour
# ---------------------------------------------------------------------------------------------


def rosen_hess_bands(x):
    """Rosenbrock's Hessian by hand: its diagonal and its off-diagonal (it is tridiagonal)."""
    xm = x[:-1]
    diagonal = np.zeros_like(x)
    diagonal[:-1] = 1200.0 * xm * xm - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    return diagonal, -400.0 * xm


def rosen_hess_hand_sparse(x):
    """The hand-written tridiagonal Hessian as the CSR matrix an optimizer takes."""
    import scipy.sparse

    diagonal, off = rosen_hess_bands(x)
    return scipy.sparse.diags([off, diagonal, off], [-1, 0, 1], format="csr")


def rosen_hess_hand_dense(x):
    diagonal, off = rosen_hess_bands(x)
    n = x.size
    H = np.zeros((n, n))
    k = np.arange(n)
    H[k, k] = diagonal
    H[k[:-1], k[1:]] = off
    H[k[1:], k[:-1]] = off
    return H


def bidiagonal(x):
    return x[1:] ** 2 - 2.0 * np.sin(x[:-1])


def bidiagonal_bands(x):
    """d bidiagonal / dx by hand: row i has -2 cos(x[i]) at column i and 2 x[i+1] at i + 1."""
    return -2.0 * np.cos(x[:-1]), 2.0 * x[1:]


def bidiagonal_jac_hand_sparse(x):
    import scipy.sparse

    main, upper = bidiagonal_bands(x)
    return scipy.sparse.diags([main, upper], [0, 1], shape=(x.size - 1, x.size), format="csr")


def bidiagonal_jac_hand_dense(x):
    main, upper = bidiagonal_bands(x)
    n = x.size
    J = np.zeros((n - 1, n))
    k = np.arange(n - 1)
    J[k, k] = main
    J[k, k + 1] = upper
    return J


def field(x):
    return np.sin(x) * x + 0.1 * np.sum(x ** 2)


def field_jac_hand(x):
    """d field / dx by hand: diag(cos(x) x + sin(x)) + 0.2 x in every row (a rank-one part)."""
    n = x.size
    J = np.empty((n, n))
    J[...] = 0.2 * x
    k = np.arange(n)
    J[k, k] += np.cos(x) * x + np.sin(x)
    return J


_CSR_STRUCTURE = {}


def _banded_structure(nrows, ncols, offsets):
    """CSR ``indptr``, ``indices`` of a banded matrix, and for each band the places of its
    entries in ``data`` (made once per size, as a careful hand-written version would)."""
    key = (nrows, ncols, offsets)
    if key not in _CSR_STRUCTURE:
        rows, cols, bands = [], [], []
        for b, k in enumerate(offsets):
            r = np.arange(max(0, -k), min(nrows, ncols - k))
            rows.append(r)
            cols.append(r + k)
            bands.append(np.full(r.size, b))
        rows, cols, bands = map(np.concatenate, (rows, cols, bands))
        order = np.lexsort((cols, rows))
        places = np.empty(order.size, dtype=np.int64)
        places[order] = np.arange(order.size)
        indptr = np.zeros(nrows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=nrows), out=indptr[1:])
        split = [places[bands == b] for b in range(len(offsets))]
        _CSR_STRUCTURE[key] = (indptr.astype(np.int32), cols[order].astype(np.int32), split)
    return _CSR_STRUCTURE[key]


def rosen_hess_hand_csr(x):
    """The hand-written tridiagonal Hessian straight into CSR (structure precomputed): the
    bands computed, placed in ``data``, one ``csr_matrix`` made."""
    import scipy.sparse

    n = x.size
    diagonal, off = rosen_hess_bands(x)
    indptr, indices, (lower, main, upper) = _banded_structure(n, n, (-1, 0, 1))
    data = np.empty(indices.size)
    data[lower] = off
    data[main] = diagonal
    data[upper] = off
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(n, n))


def bidiagonal_jac_hand_csr(x):
    import scipy.sparse

    n = x.size
    main, upper = bidiagonal_bands(x)
    indptr, indices, (at_main, at_upper) = _banded_structure(n - 1, n, (0, 1))
    data = np.empty(indices.size)
    data[at_main] = main
    data[at_upper] = upper
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(n - 1, n))


# ---- section H: the README's two-layer network, JAX-style ----
try:  # scipy: a test extra (section H needs it)
    from scipy.special import logsumexp
except ImportError:  # pragma: no cover
    logsumexp = None


def mlp_loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(X.shape[0]), y])


def mlp_backprop(params, X, y):
    """mlp_loss's gradient by hand: softmax minus one-hot, back through tanh."""
    n = X.shape[0]
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    dlogits = e / e.sum(axis=1, keepdims=True)
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    da = (dlogits @ params["W2"].T) * (1.0 - h * h)
    return {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dlogits, "b2": dlogits.sum(axis=0)}
