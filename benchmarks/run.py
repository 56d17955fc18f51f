#!/usr/bin/env python3
"""symdiff against its peers, side by side in one run.

    python benchmarks/run.py            # full run (several minutes)
    python benchmarks/run.py --quick    # under 2 minutes: fewer repeats, smaller sizes
    python benchmarks/run.py --smoke    # seconds, no peers: keeps this script from rotting
    python benchmarks/run.py --output benchmarks/RESULTS.md

Prints markdown tables of ratios. Timing: every contender's value is checked against the closed
form first (a mismatch is shown as FAILED and not timed); then each contender gets an inner loop
count calibrated so that one sample lasts about the same wall time; then, for each repeat, every
contender is timed once in turn (the starting contender rotates), and the tables report medians.
Peers that are not installed are reported as "absent". Section D builds in fresh subprocesses.
"""

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import importlib.util
import itertools
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
if os.path.isdir(os.path.join(ROOT, "symdiff")) and ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # measure the checkout this script lives in

import bench_functions as bf  # noqa: E402

MODES = {
    "full": dict(
        repeats=15, sample_ms=20.0, b_size=10**6, b_repeats=15,
        c_sizes=(10, 100, 1000), c_loop_sizes=(10, 100, 1000), c_repeats=9, c_sympy_sizes=(10, 100, 1000), jax_loop_max=1000,
        d_sizes=(100, 200, 400, 800, 1600), d_repeats=5, naive_sizes=(100, 200, 400, 800, 1600),
        probe_sizes=(2, 4, 6, 8, 10, 12), limit_s=60.0, peers=True,
    ),
    "quick": dict(
        repeats=7, sample_ms=5.0, b_size=10**6, b_repeats=5,
        c_sizes=(10, 100, 1000), c_loop_sizes=(10, 100), c_repeats=5, c_sympy_sizes=(10,), jax_loop_max=100,
        d_sizes=(50, 100, 200, 400), d_repeats=2, naive_sizes=(),
        probe_sizes=(2, 4, 6), limit_s=10.0, peers=True,
    ),
    "smoke": dict(
        repeats=3, sample_ms=0.5, b_size=10**4, b_repeats=3,
        c_sizes=(10,), c_loop_sizes=(10,), c_repeats=3, c_sympy_sizes=(10,), jax_loop_max=10,
        d_sizes=(5, 10), d_repeats=1, naive_sizes=(),
        probe_sizes=(2, 3), limit_s=10.0, peers=False, e_steps=200, e_checkpoint_steps=2000, g_size=50, h_rows=100,
    ),
}

RTOL, ATOL = 1e-9, 1e-12


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


class Report:
    """Prints markdown as it goes and keeps it for ``--output``."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    def table(self, header, rows):
        self("| " + " | ".join(header) + " |")
        self("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self("| " + " | ".join(str(c) for c in row) + " |")
        self()

    def text(self):
        return "\n".join(self.lines) + "\n"


def fmt_time(ns):
    if ns is None:
        return ""
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.3g} ms"
    return f"{ns / 1e9:.3g} s"


def fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return ""
    return f"{r:.2f}×" if r < 100 else f"{r:.0f}×"


def first_line(exc):
    text = getattr(exc, "message", None) or str(exc) or ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {line}"[:160]


def verdict(ok):
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


@dataclass
class Timed:
    """One contender: ``fn(arg)`` is timed; its result must match ``expected``."""

    label: str
    fn: object = None
    arg: object = None
    expected: object = None
    before: object = None  # called (untimed) before every sample, e.g. to set torch threads
    status: str = ""  # non-empty: not timed ("absent", "unsupported (...)", "FAILED (...)")
    setup_ns: float = None  # one-off cost: build / trace / compile (single shot, not interleaved)
    reference: bool = False  # timed for context only, no value check
    inner: int = 0
    samples: list = field(default_factory=list)

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else None

    @property
    def spread(self):
        """Half the interquartile range, relative to the median (noise indicator)."""
        if len(self.samples) < 4:
            return None
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / 2 / self.median

    def cell(self):
        """Time cell: the median, or the status."""
        if self.status:
            return self.status
        return fmt_time(self.median)

    def ok(self):
        return not self.status and bool(self.samples)


def compare(got, expected, rtol=RTOL, atol=ATOL):
    """'' when ``got`` matches ``expected``, else the FAILED status text."""
    try:
        g = np.asarray(got, dtype=float)
    except Exception as exc:  # noqa: BLE001
        return f"FAILED (returned {type(got).__name__}: {first_line(exc)})"
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return f"FAILED (shape {g.shape}, expected {e.shape})"
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(all="ignore"):
            err = np.nanmax(np.abs(g - e) / np.maximum(np.abs(e), atol))
        return f"FAILED (max rel. error {err:.2e})"
    return ""


def _run(fn, arg, n):
    reps = itertools.repeat(None, n)
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in reps:
            fn(arg)
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def check(item):
    if item.status or item.reference:
        return
    try:
        if item.before:
            item.before()
        got = item.fn(item.arg)
    except Exception as exc:  # noqa: BLE001
        item.status = f"FAILED ({first_line(exc)})"
        return
    item.status = compare(got, item.expected)


def calibrate(item, sample_ns):
    if item.before:
        item.before()
    item.fn(item.arg)  # warm-up
    n = 1
    while True:
        elapsed = _run(item.fn, item.arg, n)
        if elapsed >= min(sample_ns / 10, 2e6) or n >= 10**7:
            break
        n *= 10
    per_call = max(elapsed / n, 1.0)
    item.inner = max(1, int(sample_ns / per_call))


def measure(items, repeats, sample_ms):
    """Check, calibrate, then time all live items interleaved; fills ``samples``."""
    for item in items:
        check(item)
    live = [t for t in items if not t.status]
    for item in live:
        try:
            calibrate(item, sample_ms * 1e6)
        except Exception as exc:  # noqa: BLE001
            item.status = f"FAILED ({first_line(exc)})"
    live = [t for t in live if not t.status]
    for r in range(repeats):
        k = r % len(live) if live else 0
        for item in live[k:] + live[:k]:
            if item.before:
                item.before()
                item.fn(item.arg)  # untimed: the first call after a setting change (thread pool) is not the steady state
            item.samples.append(_run(item.fn, item.arg, item.inner) / item.inner)


def timed_setup(build):
    """Run ``build()`` once; returns (result, ns)."""
    start = time.perf_counter_ns()
    result = build()
    return result, time.perf_counter_ns() - start


# ---------------------------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------------------------


class Peers:
    """Optional peers, imported once: absent when not installed, skipped when disabled."""

    def __init__(self, enabled, reason="not run in this mode"):
        self.enabled = enabled
        self.reason = reason
        self.torch = self.jax = self.jnp = self.autograd = self.anp = None
        self.missing = {}
        self.torch_threads = None
        if not enabled:
            return
        try:
            import torch

            self.torch = torch
            self.torch_threads = torch.get_num_threads()
        except ImportError as exc:
            self.missing["torch"] = str(exc)
        try:
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            self.jax, self.jnp = jax, jnp
        except ImportError as exc:
            self.missing["jax"] = str(exc)
        try:
            import autograd
            import autograd.numpy as anp

            self.autograd, self.anp = autograd, anp
        except ImportError as exc:
            self.missing["autograd"] = str(exc)

    def status(self, name):
        """'' when the peer can run, else the text for its rows."""
        if not self.enabled:
            return f"skipped ({self.reason})"
        return "" if getattr(self, name) is not None else "absent"

    def torch_threads_setter(self, n):
        torch = self.torch
        return lambda: torch.set_num_threads(n)


def peer_item(peers, name, label, make, arg, expected, before=None, setup=True):
    """A Timed for a peer; ``make()`` returns the function (its cost is the setup time)."""
    status = peers.status(name)
    if status:
        return Timed(label, status=status)
    try:
        if setup:
            fn, ns = timed_setup(make)
        else:
            fn, ns = make(), None
    except Exception as exc:  # noqa: BLE001
        return Timed(label, status=f"FAILED ({first_line(exc)})")
    return Timed(label, fn, arg, expected, before=before, setup_ns=ns)


# ---------------------------------------------------------------------------------------------
# A. scalar seed gradient
# ---------------------------------------------------------------------------------------------


def section_a(out, cfg, peers):
    import sympy

    import symdiff

    x = 2.0
    expected = bf.expected_du(x)
    out("## A. Scalar seed gradient: d/dx exp(sin(x²)) at x = 2.0")
    out()
    items = [Timed("hand-written `math` derivative (floor)", bf.du_hand, x, expected)]

    def empty(v):
        return v

    ref = Timed("(reference: empty Python function call)", empty, x, reference=True)
    items.append(ref)
    try:
        (g, _), setup = timed_setup(lambda: (lambda g: (g, g(x)))(symdiff.grad(bf.u)))
        items.append(Timed("symdiff generated function (`g._default.grad_fn`)", g._default.grad_fn, x, expected))
        items.append(Timed("symdiff end-to-end `g(2.0)`", g, x, expected, setup_ns=setup))
    except Exception as exc:  # noqa: BLE001
        items.append(Timed("symdiff", status=f"FAILED ({first_line(exc)})"))

    def sympy_build():
        X = sympy.Symbol("x")
        return sympy.lambdify(X, sympy.diff(sympy.exp(sympy.sin(X**2)), X), modules="math", cse=True)

    fn, ns = timed_setup(sympy_build)
    items.append(Timed("SymPy `diff` + `lambdify(cse=True)`", fn, x, expected, setup_ns=ns))

    def torch_make():
        torch = peers.torch

        def torch_grad(v):
            t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
            y = torch.exp(torch.sin(t**2))
            (gt,) = torch.autograd.grad(y, t)
            return gt.item()

        return torch_grad

    items.append(peer_item(peers, "torch", "PyTorch autograd (forward + backward, `.item()`)", torch_make, x, expected,
                           before=peers.torch and peers.torch_threads_setter(peers.torch_threads), setup=False))

    def jax_make():
        jax, jnp = peers.jax, peers.jnp
        jg = jax.jit(jax.grad(lambda v: jnp.exp(jnp.sin(v**2))))
        jg(x).block_until_ready()  # trace + compile
        return lambda v: float(jg(v))

    items.append(peer_item(peers, "jax", "JAX `jit(grad)` (`float()` of the result)", jax_make, x, expected))

    def autograd_make():
        anp = peers.anp
        return peers.autograd.grad(lambda v: anp.exp(anp.sin(v**2)))

    items.append(peer_item(peers, "autograd", "HIPS autograd `grad`", autograd_make, x, expected, setup=False))

    measure(items, cfg["repeats"], cfg["sample_ms"])
    floor = items[0].median
    rows = []
    for t in items:
        ratio = t.median / floor if t.ok() and floor else None
        rows.append([t.label, t.cell(), _spread(t), fmt_ratio(ratio), fmt_time(t.setup_ns),
                     "reference" if t.reference else ("ok" if t.ok() else "")])
    out.table(["contender", "time / call (median)", "spread", "× floor", "setup (once)", "check"], rows)
    gen = _find(items, "symdiff generated")
    e2e = _find(items, "symdiff end-to-end")
    targets = [
        ("generated function ≤ 1.1× floor", gen, 1.1),
        ("end-to-end call ≤ 1.5× floor", e2e, 1.5),
    ]
    out.table(["target (A)", "measured", "result"], [_target_row(name, t, floor, limit) for name, t, limit in targets])
    out("Setup: symdiff = decorate + first call; SymPy = diff + lambdify; JAX = jit trace + compile "
        "(first call). PyTorch and autograd trace on every call. `spread` = half the interquartile "
        "range of the repeats, relative to the median.")
    out()
    return {"floor": floor, "generated": _ratio(gen, floor), "end_to_end": _ratio(e2e, floor)}


def _find(items, prefix):
    for t in items:
        if t.label.startswith(prefix):
            return t
    return None


def _ratio(t, floor):
    if t is None or not t.ok() or not floor:
        return None
    return t.median / floor


def _spread(t):
    s = t.spread if t.ok() else None
    return "" if s is None else f"±{100 * s:.0f}%"


def _target_row(name, t, floor, limit):
    r = _ratio(t, floor)
    if r is None:
        why = t.status if t is not None else "not measured"
        return [name, why, "MISS"]
    return [name, f"{r:.3f}×", verdict(r <= limit)]


# ---------------------------------------------------------------------------------------------
# B. elementwise over an array
# ---------------------------------------------------------------------------------------------


def section_b(out, cfg, peers):
    import sympy

    import symdiff

    n = cfg["b_size"]
    x = np.random.default_rng(0).uniform(-2.0, 2.0, n)
    expected = bf.expected_du_np(x)
    out(f"## B. The same derivative elementwise over {n:,} float64 values")
    out()
    items = [Timed("hand-written numpy (floor)", bf.du_np_hand, x, expected)]
    try:
        (g, _), setup = timed_setup(lambda: (lambda g: (g, g(x)))(symdiff.grad(bf.u_np)))
        items.append(Timed("symdiff generated function (`g._shown.grad_fn`, the array specialisation)", g._shown.grad_fn, x, expected))
        items.append(Timed("symdiff end-to-end `g(x)`", g, x, expected, setup_ns=setup))
    except Exception as exc:  # noqa: BLE001
        items.append(Timed("symdiff", status=f"FAILED ({first_line(exc)})"))

    def sympy_build():
        X = sympy.Symbol("x")
        return sympy.lambdify(X, sympy.diff(sympy.exp(sympy.sin(X**2)), X), modules="numpy", cse=True)

    fn, ns = timed_setup(sympy_build)
    items.append(Timed("SymPy `lambdify(modules='numpy', cse=True)`", fn, x, expected, setup_ns=ns))

    def jax_make():
        jax, jnp = peers.jax, peers.jnp
        jg = jax.jit(jax.vmap(jax.grad(lambda v: jnp.exp(jnp.sin(v**2)))))
        jg(x).block_until_ready()
        return lambda v: np.asarray(jg(v))

    items.append(peer_item(peers, "jax", "JAX `jit(vmap(grad))` (numpy in, numpy out)", jax_make, x, expected))

    def torch_make():
        torch = peers.torch

        def torch_grad(v):
            t = torch.from_numpy(v).requires_grad_(True)
            y = torch.exp(torch.sin(t**2))
            (gt,) = torch.autograd.grad(y.sum(), t)
            return gt.numpy()

        return torch_grad

    if peers.torch is not None:
        one = peers.torch_threads_setter(1)
        default = peers.torch_threads_setter(peers.torch_threads)
        threads = peers.torch_threads
    else:
        one = default = None
        threads = None
    items.append(peer_item(peers, "torch", "PyTorch autograd, 1 thread", torch_make, x, expected, before=one, setup=False))
    default_label = f"{threads} threads (default)" if threads else "default threads"
    items.append(peer_item(peers, "torch", f"PyTorch autograd, {default_label}", torch_make, x, expected,
                           before=default, setup=False))

    def autograd_make():
        anp = peers.anp
        return peers.autograd.elementwise_grad(lambda v: anp.exp(anp.sin(v**2)))

    items.append(peer_item(peers, "autograd", "HIPS autograd `elementwise_grad`", autograd_make, x, expected, setup=False))

    measure(items, cfg["b_repeats"], max(cfg["sample_ms"], 1.0))
    if peers.torch is not None:
        peers.torch.set_num_threads(peers.torch_threads)
    floor = items[0].median
    rows = []
    for t in items:
        rows.append([t.label, t.cell(), _spread(t), fmt_ratio(_ratio(t, floor)), fmt_time(t.setup_ns),
                     "ok" if t.ok() else ""])
    out.table(["contender", "time / call (median)", "spread", "× floor", "setup (once)", "check"], rows)
    gen = _find(items, "symdiff generated")
    e2e = _find(items, "symdiff end-to-end")
    targets = [
        ("symdiff end-to-end ≤ 1.0× floor", e2e, 1.0),
        ("symdiff generated function ≤ 1.0× floor", gen, 1.0),
    ]
    out.table(["target (B)", "measured", "result"], [_target_row(name, t, floor, limit) for name, t, limit in targets])
    out("Every contender takes the numpy array and returns a numpy array (conversions included).")
    out()
    return {"floor": floor, "generated": _ratio(gen, floor), "end_to_end": _ratio(e2e, floor)}


# ---------------------------------------------------------------------------------------------
# C. Rosenbrock
# ---------------------------------------------------------------------------------------------


@dataclass
class Pair:
    """One contender in section C: its f and its gradient, timed side by side."""

    label: str
    f: Timed
    g: Timed
    build_ns: float = None
    build_note: str = ""


def _symdiff_pair(fun, arg, expected_f, expected_g, f_label):
    import symdiff

    label = "symdiff"
    f_item = Timed(f_label, fun, arg, expected_f)
    try:
        start = time.perf_counter_ns()
        g = symdiff.grad(fun)
        g(arg)
        build = time.perf_counter_ns() - start
    except symdiff.SymdiffError as exc:
        status = f"unsupported ({first_line(exc)})"
        return Pair(label, Timed(label, status=status), Timed(label, status=status))
    except Exception as exc:  # noqa: BLE001
        status = f"FAILED ({first_line(exc)})"
        return Pair(label, Timed(label, status=status), Timed(label, status=status))
    return Pair(label, f_item, Timed(label, g, arg, expected_g), build_ns=build)


def _sympy_rosen_worker(n):
    """Build (diff + lambdify) SymPy's gradient of the loop version over n symbols; prints JSON."""
    import sympy

    start = time.perf_counter_ns()
    xs = sympy.symbols(f"x0:{n}")
    expr = bf.rosen_loop(list(xs))
    grads = [sympy.diff(expr, v) for v in xs]
    sympy.lambdify([xs], grads, modules="numpy", cse=True)
    return {"ok": True, "seconds": (time.perf_counter_ns() - start) / 1e9}


def _sympy_pair(n, x, expected_f, expected_g, limit_s, allowed):
    """SymPy over n scalar symbols; the build is tried in a subprocess first, under the time limit."""
    import sympy

    label = "SymPy (diff per symbol + lambdify numpy, cse)"
    if not allowed:
        status = "skipped (size not run in this mode)"
        return Pair(label, Timed(label, status=status), Timed(label, status=status))
    probe = run_worker(["sympy-rosen", str(n)], limit_s)
    if not probe.get("ok"):
        status = probe.get("status", "FAILED")
        if probe.get("timeout"):
            return Pair(label, Timed(label, status="not built"), Timed(label, status="not built"),
                        build_note=f"{status}, in a subprocess")
        return Pair(label, Timed(label, status=status), Timed(label, status=status))

    def build():
        xs = sympy.symbols(f"x0:{n}")
        expr = bf.rosen_loop(list(xs))
        f = sympy.lambdify([xs], expr, modules="numpy")
        grads = [sympy.diff(expr, v) for v in xs]
        return f, sympy.lambdify([xs], grads, modules="numpy", cse=True)

    (f, gfun), ns = timed_setup(build)
    return Pair(label, Timed(label, f, x, expected_f),
                Timed(label, lambda v: np.asarray(gfun(v)), x, expected_g), build_ns=ns)


def section_c(out, cfg, peers):
    out("## C. Rosenbrock: f, gradient, grad/f, ratio to the hand-written numpy gradient, build")
    out()
    rng = np.random.default_rng(1)
    results = {}
    rows = []
    for n in cfg["c_sizes"]:
        x = rng.uniform(-2.0, 2.0, n)
        xl = x.tolist()
        ef, eg = bf.expected_rosen(xl), bf.expected_rosen_grad(xl)
        for version in ("numpy slices", "explicit loop"):
            loop = version == "explicit loop"
            if loop and n not in cfg["c_loop_sizes"]:
                continue
            # the floor is re-timed beside every group, so each ratio is side by side
            pairs = [Pair("hand-written numpy gradient (floor)", Timed("hand f", bf.rosen, x, ef),
                          Timed("hand grad", bf.rosen_grad_hand, x, eg))]
            if loop:
                pairs.append(Pair("hand-written loop gradient (Python, list)", Timed("f", bf.rosen_loop, xl, ef),
                                  Timed("g", bf.rosen_loop_grad_hand, xl, eg)))
            fun = bf.rosen_loop if loop else bf.rosen
            arg = xl if loop else x
            pairs.append(_symdiff_pair(fun, arg, ef, eg, "symdiff f"))
            if loop:
                pairs.append(_sympy_pair(n, x, ef, eg, cfg["limit_s"], n in cfg["c_sympy_sizes"]))
            pairs += _peer_pairs(peers, n, x, ef, eg, loop, cfg)
            items = [item for p in pairs for item in (p.f, p.g)]
            measure(items, cfg["c_repeats"], max(cfg["sample_ms"], 1.0))
            floor = pairs[0].g.median
            for p in pairs:
                gf = p.g.median / p.f.median if p.g.ok() and p.f.ok() else None
                note = p.build_note or (fmt_time(p.build_ns) if p.build_ns is not None else "—")
                if p.g.status and not p.build_note:
                    note = ""
                f_cell = "—" if p.f.status and p.f.status == p.g.status else p.f.cell()
                rows.append([version, n, p.label, f_cell, p.g.cell(), _spread(p.g),
                             fmt_ratio(gf), fmt_ratio(_ratio(p.g, floor)), note])
                results[(version, n, p.label)] = (p, floor)
    rows.sort(key=lambda row: row[0] != "numpy slices")  # stable: slices first, then the loop version
    out.table(["version", "n", "contender", "f", "grad", "grad spread", "grad/f", "grad ÷ hand numpy grad", "build"],
              rows)

    key = ("numpy slices", 1000, "symdiff")
    if key in results:
        p, floor = results[key]
        if p.g.ok():
            r = p.g.median / floor
            gf = p.g.median / p.f.median
            b = p.build_ns / 1e6
            trows = [["n = 1000 grad ≤ 1.2× hand-written", f"{r:.3f}×", verdict(r <= 1.2)],
                     ["n = 1000 grad/f ≤ 1.5", f"{gf:.3f}", verdict(gf <= 1.5)],
                     ["n = 1000 build ≤ 50 ms", f"{b:.1f} ms", verdict(b <= 50)]]
        else:
            trows = [[name, p.g.status, "MISS"] for name in
                     ("n = 1000 grad ≤ 1.2× hand-written", "n = 1000 grad/f ≤ 1.5", "n = 1000 build ≤ 50 ms")]
    else:
        trows = [["numpy version, n = 1000", "not run in this mode", "—"]]
    out.table(["target (C, symdiff, numpy version)", "measured", "result"], trows)
    out("f: the function as each contender runs it (symdiff: the user's own Python function; PyTorch: "
        "forward under `no_grad`; JAX: `jit(f)`; SymPy: the lambdified expression). Build: symdiff = "
        "decorate + first call; JAX = trace + compile of `jit(grad)` (first call); SymPy = diff + "
        "lambdify. The explicit-loop version takes a list for symdiff and the plain-Python rows, and "
        "each peer's own array type otherwise. The hand-written floor is re-timed beside each group.")
    out()
    return results


def _peer_pairs(peers, n, x, ef, eg, loop, cfg):
    pairs = []
    # PyTorch
    label = "PyTorch autograd"
    status = peers.status("torch")
    if status:
        pairs.append(Pair(label, Timed(label, status=status), Timed(label, status=status)))
    else:
        torch = peers.torch
        before = peers.torch_threads_setter(peers.torch_threads)
        fun = bf.rosen_loop if loop else (lambda t: torch.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2))

        def torch_f(v, fun=fun):
            with torch.no_grad():
                return float(fun(torch.from_numpy(v)))

        def torch_g(v, fun=fun):
            t = torch.from_numpy(v).requires_grad_(True)
            (gt,) = torch.autograd.grad(fun(t), t)
            return gt.numpy()

        pairs.append(Pair(label, Timed(label, torch_f, x, ef, before=before),
                          Timed(label, torch_g, x, eg, before=before)))
    # JAX
    label = "JAX `jit(grad)`"
    status = peers.status("jax")
    if not status and loop and n > cfg["jax_loop_max"]:
        status = "skipped (compile of the unrolled loop is slow; not run in this mode)"
    if status:
        pairs.append(Pair(label, Timed(label, status=status), Timed(label, status=status)))
    else:
        jax, jnp = peers.jax, peers.jnp
        fun = bf.rosen_loop if loop else (lambda t: jnp.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2))
        try:
            jf = jax.jit(fun)
            jf(x).block_until_ready()
            jg = jax.jit(jax.grad(fun))
            start = time.perf_counter_ns()
            jg(x).block_until_ready()
            build = time.perf_counter_ns() - start
            pairs.append(Pair(label, Timed(label, lambda v: float(jf(v)), x, ef),
                              Timed(label, lambda v: np.asarray(jg(v)), x, eg), build_ns=build))
        except Exception as exc:  # noqa: BLE001
            s = f"FAILED ({first_line(exc)})"
            pairs.append(Pair(label, Timed(label, status=s), Timed(label, status=s)))
    # autograd
    label = "HIPS autograd `grad`"
    status = peers.status("autograd")
    if status:
        pairs.append(Pair(label, Timed(label, status=status), Timed(label, status=status)))
    else:
        anp = peers.anp
        fun = bf.rosen_loop if loop else (lambda t: anp.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2))
        ag = peers.autograd.grad(fun)
        pairs.append(Pair(label, Timed(label, lambda v: float(fun(v)), x, ef), Timed(label, ag, x, eg)))
    return pairs


# ---------------------------------------------------------------------------------------------
# D. build time of a chain of N dependent statements (fresh subprocesses)
# ---------------------------------------------------------------------------------------------


def run_worker(args, limit_s):
    """Run ``run.py --worker ARGS`` with a wall-clock limit; returns its JSON (or a status)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *args, "--limit", str(limit_s)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s + 60)
    except subprocess.TimeoutExpired:
        return {"ok": False, "timeout": True, "status": f"> {limit_s:g} s (killed)"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return {"ok": False, "status": f"FAILED ({err})"}
    result = json.loads(lines[-1])
    if result.get("timeout"):
        result["status"] = f"> {limit_s:g} s (killed)"
    return result


def _worker(kind, n, limit_s):
    """Child side of ``run_worker``: one measurement, one JSON line on stdout."""

    def on_alarm(signum, frame):
        print(json.dumps({"ok": False, "timeout": True}), flush=True)
        os._exit(0)

    if kind == "sympy-rosen":
        import sympy  # noqa: F401  (imported before the clock starts)

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        print(json.dumps(_sympy_rosen_worker(n)), flush=True)
        return
    x0 = 0.5
    expected = bf.expected_chain_grad(x0, n)
    tmp = tempfile.mkdtemp(prefix="symdiff_bench_")
    path = os.path.join(tmp, f"chain_{n}.py")
    with open(path, "w") as fh:
        fh.write(bf.chain_source(n))
    spec = importlib.util.spec_from_file_location(f"chain_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if kind == "symdiff-chain":
        import symdiff

        symdiff.grad(module.warm)(x0)  # first-use costs (lazy imports) are not the chain's
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        start = time.perf_counter_ns()
        g = symdiff.grad(module.chain)
        value = g(x0)
        ns = time.perf_counter_ns() - start
    elif kind == "naive-chain":
        import sympy

        X = sympy.Symbol("x")
        sympy.lambdify(X, sympy.diff(sympy.sin(X) * X, X), modules="math", cse=True)(x0)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        start = time.perf_counter_ns()
        e = X
        for _ in range(n):
            e = sympy.sin(e) * e + e**2
        f = sympy.lambdify(X, sympy.diff(e, X), modules="math", cse=True)
        value = f(x0)
        ns = time.perf_counter_ns() - start
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    signal.setitimer(signal.ITIMER_REAL, 0)
    status = compare(value, expected, rtol=1e-8, atol=1e-300)
    print(json.dumps({"ok": not status, "status": status, "seconds": ns / 1e9, "value": float(value),
                      "expected": expected}), flush=True)


def section_d(out, cfg):
    sizes, repeats, limit = cfg["d_sizes"], cfg["d_repeats"], cfg["limit_s"]
    out(f"## D. Build time of a chain of N dependent statements `{bf.CHAIN_STATEMENT}`")
    out()
    sym = {n: [] for n in sizes}
    sym_status = {}
    for _ in range(repeats):  # interleaved: each repeat builds every N once, in a fresh process
        for n in sizes:
            if n in sym_status:
                continue
            r = run_worker(["symdiff-chain", str(n)], max(limit, 600.0))
            if r.get("ok"):
                sym[n].append(r["seconds"])
            else:
                sym_status[n] = r.get("status", "FAILED")
    naive = {}
    exceeded = None
    for n in cfg["naive_sizes"]:
        if exceeded is not None:
            naive[n] = f"skipped (exceeded {limit:g} s at N = {exceeded})"
            continue
        r = run_worker(["naive-chain", str(n)], limit)
        naive[n] = fmt_time(r["seconds"] * 1e9) if r.get("ok") else r.get("status", "FAILED")
        if r.get("timeout"):
            exceeded = n
    rows = []
    med = {n: statistics.median(v) for n, v in sym.items() if v and n not in sym_status}
    growth = []
    for i, n in enumerate(sizes):
        if n in med:
            t = med[n]
            cell, per = fmt_time(t * 1e9), f"{t / n * 1e3:.2f}"
        else:
            cell, per = sym_status.get(n, ""), ""
        ratio = ""
        if i > 0 and sizes[i - 1] * 2 == n and n in med and sizes[i - 1] in med:
            r = med[n] / med[sizes[i - 1]]
            growth.append(r)
            ratio = f"{r:.2f}"
        rows.append([n, cell, per, ratio, naive.get(n, "skipped (not run in this mode)")])
    out.table(["N", "symdiff decorate + first call (median)", "ms / statement", "t(2N)/t(N)",
               "naive SymPy (inline, diff, lambdify)"], rows)
    # small N: where the naive pipeline still finishes
    prow = []
    exceeded = None
    for n in cfg["probe_sizes"]:
        s = run_worker(["symdiff-chain", str(n)], max(limit, 600.0))
        s_cell = fmt_time(s["seconds"] * 1e9) if s.get("ok") else s.get("status")
        if exceeded is not None:
            v_cell = f"skipped (exceeded {limit:g} s at N = {exceeded})"
        else:
            v = run_worker(["naive-chain", str(n)], limit)
            v_cell = fmt_time(v["seconds"] * 1e9) if v.get("ok") else v.get("status")
            if v.get("timeout"):
                exceeded = n
        prow.append([n, s_cell, v_cell])
    out("Small N, where the naive pipeline can still finish (one build each):")
    out()
    out.table(["N", "symdiff decorate + first call", "naive SymPy (inline, diff, lambdify)"], prow)
    biggest = max(med) if med else None
    trows = []
    if biggest is None:
        trows.append(["≤ 1 ms / statement at N = 1600", "not measured", "MISS"])
    else:
        per = med[biggest] / biggest * 1e3
        where = "N = 1600" if biggest == 1600 else f"N = {biggest} (largest N of this mode)"
        trows.append([f"≤ 1 ms / statement at {where}", f"{per:.2f} ms", verdict(biggest == 1600 and per <= 1.0)
                      if biggest == 1600 else f"{verdict(per <= 1.0)} (at N = {biggest})"])
    if growth:
        trows.append(["t(2N)/t(N) ≤ 2.3 throughout", f"max {max(growth):.2f}", verdict(max(growth) <= 2.3)])
    out.table(["target (D)", "measured", "result"], trows)
    out(f"Each build runs in a fresh Python process (imports and a one-statement warm-up build excluded), "
        f"{repeats} repeat(s) per N, interleaved over N. The gradient is checked against a hand-written "
        f"forward recurrence at x = 0.5 (for N ≥ ~20 the orbit collapses to 0, so large N compare 0 with 0; "
        f"the small-N table checks non-zero values). Naive SymPy: one attempt per N, killed at {limit:g} s; "
        f"after the first N that exceeds it, larger N are skipped.")
    out()
    return {"median_s": med, "growth": growth, "naive": naive}


def section_e(out, cfg, peers=None):
    """Lorenz explicit Euler, ``for _ in range(T)`` with T an int argument: symdiff's rolled
    loop (forward loop with a tape, reverse loop) beside a hand-written adjoint loop."""
    import symdiff

    T = cfg.get("e_steps", 10_000)
    out(f"## E. A long loop: Lorenz explicit Euler, T = {T:,} steps, gradient wrt 6 inputs")
    out()
    wrt = (0, 1, 2, 3, 4, 5)
    warm = symdiff.grad(bf.lorenz, wrt=wrt)  # imports and first-use costs, not timed
    warm(*bf.LORENZ_POINT, 64)
    builds = []
    for _ in range(cfg["repeats"]):
        g = symdiff.grad(bf.lorenz, wrt=wrt)
        start = time.perf_counter_ns()
        got = g(*bf.LORENZ_POINT, T)
        builds.append(time.perf_counter_ns() - start)
    expected = bf.expected_lorenz_grad(T)
    status = compare(np.array(got), np.array(expected), rtol=1e-8)
    hand = bf.lorenz_grad_hand(*bf.LORENZ_POINT, T)
    hand_status = compare(np.array(hand), np.array(expected), rtol=1e-8)
    lines = len(g.source.splitlines())
    args = (*bf.LORENZ_POINT, T)
    # (values checked above, a tuple against the tangent reference: ``status`` holds a failure)
    items = [Timed("symdiff (rolled loop, list tape)", lambda a: g(*a), args, status=status),
             Timed("hand-written adjoint loop (floor)", lambda a: bf.lorenz_grad_hand(*a), args,
                   status=hand_status)]
    live = [i for i in items if not i.status]
    for item in live:
        calibrate(item, cfg["sample_ms"] * 1e6)
    for r in range(cfg["repeats"]):
        for item in live[r % len(live):] + live[:r % len(live)]:
            item.samples.append(_run(item.fn, item.arg, item.inner) / item.inner)
    floor = statistics.median(items[1].samples) if items[1].samples else None
    rows = []
    for item in items:
        if item.status:
            rows.append([item.label, item.status, ""])
            continue
        t = statistics.median(item.samples)
        rows.append([item.label, fmt_time(t), f"{t / floor:.2f}×" if floor else ""])
    out.table(["contender", "time / call (median)", "÷ hand-written"], rows)
    build = statistics.median(builds)
    out.table(["symdiff build (trace, derive, generate, compile, first call)", "generated lines"],
              [[fmt_time(build), lines]])
    out(f"Values checked against a forward-mode (tangent) recurrence in floats at rtol 1e-8 "
        f"({'ok' if not status else status}). Build: median of {len(builds)} fresh `grad` objects "
        f"in this process (a warm-up build at T = 64 first). The tape is a Python list of "
        f"(x, y, z) tuples, preallocated for T.")
    out()
    result = {"build_s": build / 1e9, "per_call_ratio": (statistics.median(items[0].samples) / floor)
              if floor and items[0].samples else None}
    result["while"] = _while_rows(out, cfg)
    result["rnn"] = _rnn_rows(out, cfg, peers or Peers(False))
    result["checkpoints"] = _checkpoint_rows(out, cfg)
    result["nested"] = _nested_rows(out, cfg)
    return result


def _nested_rows(out, cfg):
    """Section E's loop in a loop (``bf.nested_steps``, 100 x 100): symdiff's gradient (the
    inner loop run again in each outer reverse step) beside the same strategy by hand and a
    hand-written adjoint keeping every inner tape; the peak memory of a call (tracemalloc)."""
    import tracemalloc

    import symdiff

    x = bf.NESTED_POINT
    out("### A loop in a loop: 100 x 100 steps of `x = x + 0.0001*np.sin(x)`")
    out()
    start = time.perf_counter_ns()
    g = symdiff.grad(bf.nested_steps)
    got = g(x)
    build = time.perf_counter_ns() - start
    expected = bf.expected_nested_steps_grad(x)
    items = [Timed("symdiff grad (both loops kept)", g, x, status=compare(got, expected, rtol=1e-10)),
             Timed("hand-written, the inner loop run again (floor)", bf.nested_steps_grad_recompute, x,
                   status=compare(bf.nested_steps_grad_recompute(x), expected, rtol=1e-10)),
             Timed("hand-written, every inner tape kept", bf.nested_steps_grad_taped, x,
                   status=compare(bf.nested_steps_grad_taped(x), expected, rtol=1e-10))]
    peaks = {}
    for item in items:
        tracemalloc.start()
        try:
            item.fn(x)
            peaks[item.label] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    live = [i for i in items if not i.status]
    for item in live:
        calibrate(item, cfg["sample_ms"] * 1e6)
    for r in range(cfg["repeats"]):
        for item in live[r % len(live):] + live[:r % len(live)]:
            item.samples.append(_run(item.fn, item.arg, item.inner) / item.inner)
    floor = statistics.median(items[1].samples) if items[1].samples else None
    rows, result = [], {"build_s": build / 1e9, "lines": len(g.source.splitlines())}
    for item in items:
        if item.status:
            rows.append([item.label, item.status, "", ""])
            continue
        t = statistics.median(item.samples)
        rows.append([item.label, fmt_time(t), f"{t / floor:.2f}×" if floor else "",
                     f"{peaks[item.label]:,}"])
        result[item.label] = t / floor if floor else None
    out.table(["contender", "time / call (median)", "÷ floor", "peak memory (bytes)"], rows)
    out(f"symdiff build (trace, derive, generate, compile, first call): {fmt_time(build)}, "
        f"{result['lines']} generated lines. Values checked against a forward-mode (tangent) "
        "recurrence in floats at rtol 1e-10.")
    out()
    return result


def _checkpoint_rows(out, cfg):
    """Section E's checkpointed Lorenz loop (``grad(f, checkpoint=K)``): the peak memory of a
    call (tracemalloc, bytes per step) and its time, beside the same gradient with a tape entry
    per step, at T = 100,000 (``e_checkpoint_steps``)."""
    import tracemalloc

    import symdiff

    T = cfg.get("e_checkpoint_steps", 100_000)
    out(f"### Checkpointing: Lorenz, T = {T:,} steps, `grad(lorenz, checkpoint=K)`")
    out()
    wrt = (0, 1, 2, 3, 4, 5)
    args = (*bf.LORENZ_POINT, T)
    expected = np.array(bf.expected_lorenz_grad(T))
    settings = [None, 100, 1000, "sqrt"]
    items, peaks = [], {}
    for k in settings:
        g = symdiff.grad(bf.lorenz, wrt=wrt, checkpoint=k)
        got = g(*args)  # (built, warmed up, checked)
        tracemalloc.start()
        try:
            g(*args)
            peaks[k] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        label = "no checkpoint (a tape entry per step)" if k is None else f"checkpoint={k!r}"
        items.append(Timed(label, lambda a, g=g: g(*a), args,
                           status=compare(np.array(got), expected, rtol=1e-8)))
    live = [i for i in items if not i.status]
    for item in live:
        calibrate(item, cfg["sample_ms"] * 1e6)
    for r in range(cfg["repeats"]):
        for item in live[r % len(live):] + live[:r % len(live)]:
            item.samples.append(_run(item.fn, item.arg, item.inner) / item.inner)
    floor = statistics.median(items[0].samples) if items[0].samples else None
    rows, result = [], {}
    for k, item in zip(settings, items):
        per_step = peaks[k] / T
        if item.status:
            rows.append([item.label, f"{per_step:.1f}", item.status, ""])
            continue
        t = statistics.median(item.samples)
        ratio = t / floor if floor else None
        result[str(k)] = {"bytes_per_step": per_step, "time_ratio": ratio}
        rows.append([item.label, f"{per_step:.1f}", fmt_time(t), f"{ratio:.2f}×" if ratio else ""])
    out.table(["setting", "peak memory / step (bytes)", "time / call (median)",
               "÷ no checkpoint"], rows)
    out("Peak memory: tracemalloc over one call (the tape, the checkpoints and one segment). "
        "With K, the forward loop keeps every K-th state and the reverse sweep runs each "
        "segment forward again from its checkpoint before its adjoints; 'sqrt' doubles K as "
        "the loop runs (T is an argument), keeping it between sqrt(T) and 2 sqrt(T). Values "
        "checked against the forward-mode (tangent) recurrence at rtol 1e-8.")
    out()
    return result


def _flat(grads):
    """A tuple of gradient arrays as one float64 vector (numpy, JAX or torch arrays)."""
    return np.concatenate([np.asarray(g, dtype=float).ravel() for g in grads])


def _rnn_rows(out, cfg, peers):
    """Section E's loop over arrays: an Elman RNN over T = 400 steps (64 hidden, 8 inputs),
    gradient wrt W and U: symdiff's rolled loop (a tape of arrays) beside hand-written BPTT in
    numpy, JAX (``lax.scan`` under ``jit``) and PyTorch (eager autograd)."""
    import symdiff

    args = bf.rnn_point()
    T = args[3].shape[0]
    out(f"### A loop over arrays: an RNN, T = {T} steps, {bf.RNN_HIDDEN} hidden, "
        f"{bf.RNN_INPUT} inputs, gradient wrt W and U")
    out()
    hand = _flat(bf.rnn_grad_hand(*args))
    # the floor itself, checked by central differences along two random directions
    rng = np.random.default_rng(7)
    hand_status = ""
    for _ in range(2):
        dW, dU = rng.normal(size=args[0].shape), rng.normal(size=args[1].shape)
        eps = 1e-6
        plus = bf.rnn(args[0] + eps * dW, args[1] + eps * dU, *args[2:])
        minus = bf.rnn(args[0] - eps * dW, args[1] - eps * dU, *args[2:])
        hand_status = hand_status or compare((plus - minus) / (2 * eps),
                                             hand @ np.concatenate([dW.ravel(), dU.ravel()]), rtol=1e-6)
    builds = []
    for _ in range(max(3, cfg["repeats"] // 3)):
        start = time.perf_counter_ns()
        g = symdiff.grad(bf.rnn, wrt=(0, 1))
        g(*args)
        builds.append(time.perf_counter_ns() - start)
    build = statistics.median(builds)
    items = [Timed("symdiff (rolled loop, list tape of arrays)", lambda a: _flat(g(*a)), args, hand),
             Timed("hand-written BPTT in numpy (floor)", lambda a: _flat(bf.rnn_grad_hand(*a)), args, hand,
                   status=hand_status)]

    def jax_make():
        jax, jnp = peers.jax, peers.jnp

        def loss(W, U, h0, X):
            def step(h, x):
                return jnp.tanh(W @ h + U @ x), None
            h, _ = jax.lax.scan(step, h0, X)
            return jnp.sum(h * h)
        jg = jax.jit(jax.grad(loss, argnums=(0, 1)))
        jg(*args)[0].block_until_ready()  # (compiled in the setup time)
        return lambda a: _flat(jg(*a))

    items.append(peer_item(peers, "jax", "JAX `jit(grad)` of `lax.scan` (numpy out)", jax_make, args, hand))

    def torch_make():
        torch = peers.torch

        def torch_grad(a):
            W, U = (torch.tensor(v, requires_grad=True) for v in a[:2])
            h, X = torch.from_numpy(a[2]), torch.from_numpy(a[3])
            for t in range(X.shape[0]):
                h = torch.tanh(W @ h + U @ X[t])
            gW, gU = torch.autograd.grad(torch.sum(h * h), (W, U))
            return _flat((gW.numpy(), gU.numpy()))
        return torch_grad

    items.append(peer_item(peers, "torch", "PyTorch eager autograd (float64)", torch_make, args, hand,
                           before=peers.torch and peers.torch_threads_setter(1), setup=False))
    measure(items, cfg["repeats"], cfg["sample_ms"])
    floor = items[1].median
    rows = []
    for item in items:
        ratio = f"{item.median / floor:.2f}×" if item.ok() and floor else ""
        setup = fmt_time(item.setup_ns) if item.setup_ns else ""
        rows.append([item.label, item.cell(), ratio, setup])
    rows[0][3] = fmt_time(build)
    out.table(["contender", "time / call (median)", "÷ hand BPTT", "build / compile"], rows)
    ratio = items[0].median / floor if items[0].ok() and floor else None
    out.table(["target (E, RNN)", "measured", "result"], [
        ["symdiff build ≤ 0.5 s", fmt_time(build), verdict(build <= 0.5e9)],
        ["per call ≤ 1.1× hand BPTT", f"{ratio:.2f}×" if ratio else "not measured",
         verdict(ratio is not None and ratio <= 1.1)],
    ])
    out(f"Every contender's gradient is checked against the hand-written BPTT (rtol {RTOL:g}), "
        "which is itself checked by central differences along two random directions. symdiff's "
        f"build: median of {len(builds)} fresh `grad` objects (trace, derive, generate, compile, "
        f"first call; {len(g.source.splitlines())} generated lines). The tape is a list of "
        "(h, X[t], tanh) tuples of references (no copies); the reverse loop adds into W's and "
        "U's gradients in place. PyTorch runs on one thread; JAX's compile time is its first call.")
    out()
    return {"build_s": build / 1e9, "per_call_ratio": ratio}


def _while_rows(out, cfg):
    """Section E's while loops on data: Newton's method and bisection for sqrt(a), a forward
    ``while`` with a list tape and a count, then the reverse loop, beside hand-written
    derivatives."""
    import math

    import symdiff

    a = bf.NEWTON_POINT
    out(f"### While loops on data: sqrt({a:g}) by Newton's method and by bisection")
    out()
    newton = symdiff.grad(bf.newton_sqrt)
    bisect = symdiff.value_and_grad(bf.bisect_sqrt)
    exact = 1 / (2 * math.sqrt(a))
    newton_error = abs(newton(a) - exact) / exact
    items = [
        Timed("Newton: symdiff grad (while loop, list tape)", lambda v: newton(v), a,
              status=compare(newton(a), exact, rtol=1e-10)),
        Timed("Newton: hand-written derivative (dx/da in the same loop)",
              bf.newton_sqrt_grad_hand, a, status=compare(bf.newton_sqrt_grad_hand(a), exact, rtol=1e-10)),
        Timed("bisection: symdiff value_and_grad", lambda v: bisect(v), a,
              status=compare(np.array(bisect(a)), np.array([bf.bisect_sqrt(a), 0.0]))),
        Timed("bisection: hand-written (value, 0.0)", bf.bisect_sqrt_value_and_grad_hand, a),
    ]
    live = [i for i in items if not i.status]
    for item in live:
        calibrate(item, cfg["sample_ms"] * 1e6)
    for r in range(cfg["repeats"]):
        for item in live[r % len(live):] + live[:r % len(live)]:
            item.samples.append(_run(item.fn, item.arg, item.inner) / item.inner)
    rows, ratios = [], {}
    for k, item in enumerate(items):
        if item.status:
            rows.append([item.label, item.status, ""])
            continue
        t = statistics.median(item.samples)
        floor = items[k | 1].samples and statistics.median(items[k | 1].samples)
        ratio = t / floor if floor else None
        if k % 2 == 0 and ratio:
            ratios["newton" if k == 0 else "bisection"] = ratio
        rows.append([item.label, fmt_time(t), f"{ratio:.2f}×" if ratio else ""])
    out.table(["contender", "time / call (median)", "÷ hand-written"], rows)
    out(f"Newton: the gradient's relative error against 1/(2 sqrt a) is {newton_error:.1e} "
        f"({len(newton.source.splitlines())} generated lines). Bisection over the constant bracket "
        "[0, 4] is a step function of a: its gradient is 0 (symdiff's reverse pass is pruned "
        "away; the value still runs the loop).")
    out()
    return {"newton_ratio": ratios.get("newton"), "bisection_ratio": ratios.get("bisection"),
            "newton_error": newton_error}


# ---------------------------------------------------------------------------------------------
# Machine information and main
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# F. the call path: ints, keywords, further shapes
# ---------------------------------------------------------------------------------------------


def section_f(out, cfg):
    import symdiff

    out("## F. The call path: an int argument, keywords, a second array length")
    out()
    point = (2.0, 1.5, 3.0, 0.25, 0.4)
    with_int = (2,) + point[1:]
    expected = bf.expected_damped_grad(*point)

    def star(fn):
        return lambda args: fn(*args)

    def keywords(fn):
        return lambda args: fn(args[0], args[1], w=args[2], phi=args[3], b=args[4])

    g = symdiff.grad(bf.damped)
    g(*point)
    scalar = [
        Timed("hand-written gradient, floats (floor)", star(bf.damped_grad_hand), point, expected),
        Timed("symdiff `g(2.0, 1.5, 3.0, 0.25, 0.4)`", star(g), point, expected),
        Timed("hand-written gradient, `t = 2` an int (floor)", star(bf.damped_grad_hand), with_int, expected),
        Timed("symdiff `g(2, 1.5, 3.0, 0.25, 0.4)`", star(g), with_int, expected),
        Timed("hand-written gradient, `w, phi, b` by keyword (floor)", keywords(bf.damped_grad_hand), point, expected),
        Timed("symdiff `g(2.0, 1.5, w=3.0, phi=0.25, b=0.4)`", keywords(g), point, expected),
    ]
    repeats = 3 * cfg["repeats"]  # sub-microsecond calls: more repeats steady the medians
    measure(scalar, repeats, cfg["sample_ms"])
    floats, ints, named = scalar[0].median, scalar[2].median, scalar[4].median
    floors = [floats, floats, ints, ints, named, named]
    rows = [[t.label, t.cell(), _spread(t), fmt_ratio(_ratio(t, f))] for t, f in zip(scalar, floors)]
    out("A five-parameter scalar gradient (`damped(t, a, w, phi, b) = a·exp(−b·t)·cos(w·t + phi)`, all "
        "five differentiated), each call ÷ the hand-written gradient called with the same arguments:")
    out()
    out.table(["call", "time / call (median)", "spread", "÷ hand"], rows)

    n, other = 100, 50
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-2.0, 2.0, n), rng.uniform(-2.0, 2.0, other)
    eg = bf.expected_rosen_grad(x.tolist())
    first = symdiff.grad(bf.rosen)
    first(x)  # n = 100 is the length the guarded entry was made for
    second = symdiff.grad(bf.rosen)
    second(y)  # n = 50 first: n = 100 is the second length
    second(x)
    arrays = [
        Timed("hand-written numpy gradient (floor)", bf.rosen_grad_hand, x, eg),
        Timed("symdiff, n = 100 the first length called", first, x, eg),
        Timed("symdiff, n = 100 after n = 50 (a second length)", second, x, eg),
    ]
    measure(arrays, repeats, cfg["sample_ms"])
    floor = arrays[0].median
    out(f"Rosenbrock (numpy slices), n = {n}, ÷ the hand-written numpy gradient:")
    out()
    out.table(["call", "time / call (median)", "spread", "÷ hand"],
              [[t.label, t.cell(), _spread(t), fmt_ratio(_ratio(t, floor))] for t in arrays])
    targets = [
        _target_row("5 parameters, one an int, ≤ 1.5× hand", scalar[3], ints, 1.5),
        _target_row("Rosenbrock n = 100 after a second length ≤ 1.15× hand", arrays[2], floor, 1.15),
    ]
    out.table(["target (F)", "measured", "result"], targets)
    out("Both sides of each ratio take the same arguments (`fn(*args)` for the five-parameter rows), "
        "interleaved in this one run (three times the section's usual repeats).")
    out()
    return {"int": _ratio(scalar[3], ints), "second_length": _ratio(arrays[2], floor)}


# ---------------------------------------------------------------------------------------------
# G. Jacobians and Hessians: exact sparsity, one reverse pass per colour
# ---------------------------------------------------------------------------------------------


def _checked(label, fn, arg, expected, rtol=1e-9):
    """A Timed whose value (a dense array, or a scipy.sparse matrix: compared densely, outside
    the timing) is checked here against ``expected``."""
    try:
        got = fn(arg)
        if hasattr(got, "toarray"):
            got = got.toarray()
        status = compare(got, expected, rtol=rtol, atol=1e-9)
    except Exception as exc:  # noqa: BLE001
        status = f"FAILED ({first_line(exc)})"
    return Timed(label, fn, arg, status=status, reference=True)


def _jax_item(peers, label, make, x, expected):
    status = peers.status("jax")
    if status:
        return Timed(label, status=status)
    try:
        fn = make(peers.jax, peers.jnp)
        fn(x).block_until_ready()
    except Exception as exc:  # noqa: BLE001
        return Timed(label, status=f"FAILED ({first_line(exc)})")
    return _checked(label, lambda v: fn(v).block_until_ready(), x, expected)


def _torch_item(peers, label, make, x, expected):
    status = peers.status("torch")
    if status:
        return Timed(label, status=status)
    torch = peers.torch
    try:
        fn = make(torch)
    except Exception as exc:  # noqa: BLE001
        return Timed(label, status=f"FAILED ({first_line(exc)})")
    item = _checked(label, lambda v: fn(torch.from_numpy(v)).numpy(), x, expected)
    item.before = peers.torch_threads_setter(peers.torch_threads)
    return item


def section_g(out, cfg, peers):
    import symdiff

    n = cfg.get("g_size", 1000)
    out(f"## G. Jacobians and Hessians, n = {n}: exact sparsity, one structured forward pass")
    out()
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.5, 1.5, n)
    groups, targets, summary = [], [], {}

    # Rosenbrock's Hessian (tridiagonal)
    H_dense = bf.rosen_hess_hand_dense(x)
    hd, hs = symdiff.hessian(bf.rosen), symdiff.hessian(bf.rosen, sparse=True)
    hd(x), hs(x)

    def route(matrix, v):  # how symdiff computes it: one structured pass, or passes per colour
        built = matrix.build_for(v)
        return "one pass" if built.structured else f"{built.compression.count} passes"

    def jax_hessian(jax, jnp):
        return jax.jit(jax.hessian(lambda t: jnp.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2)))

    def torch_hessian(torch):
        from torch.func import hessian as torch_hess
        return torch_hess(lambda t: torch.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2))

    items = [
        _checked("hand-written tridiagonal Hessian, bands only (numpy)", lambda v: np.stack(
            [np.append(b, 0.0) if b.size < v.size else b for b in bf.rosen_hess_bands(v)]), x,
            np.stack([np.diag(H_dense), np.append(np.diag(H_dense, 1), 0.0)])),
        _checked("hand-written tridiagonal Hessian as CSR (`scipy.sparse.diags`)",
                 bf.rosen_hess_hand_sparse, x, H_dense),
        _checked("hand-written tridiagonal Hessian straight into CSR (structure precomputed)",
                 bf.rosen_hess_hand_csr, x, H_dense),
        _checked("hand-written Hessian, dense (numpy)", bf.rosen_hess_hand_dense, x, H_dense),
        _checked(f"symdiff `hessian(rosen, sparse=True)` ({route(hs, x)})", hs, x, H_dense),
        _checked(f"symdiff `hessian(rosen)` dense ({route(hd, x)})", hd, x, H_dense),
        _jax_item(peers, "JAX `jit(hessian)`", jax_hessian, x, H_dense),
        _torch_item(peers, "PyTorch `torch.func.hessian`", torch_hessian, x, H_dense),
    ]
    groups.append(("Rosenbrock Hessian (tridiagonal)", items))

    # a bidiagonal Jacobian
    J_dense = bf.bidiagonal_jac_hand_dense(x)
    jd, js = symdiff.jacobian(bf.bidiagonal), symdiff.jacobian(bf.bidiagonal, sparse=True)
    jd(x), js(x)

    def jax_bidiagonal(jax, jnp):
        return jax.jit(jax.jacfwd(lambda t: t[1:] ** 2 - 2.0 * jnp.sin(t[:-1])))

    bitems = [
        _checked("hand-written bidiagonal Jacobian as CSR (`scipy.sparse.diags`)",
                 bf.bidiagonal_jac_hand_sparse, x, J_dense),
        _checked("hand-written bidiagonal Jacobian straight into CSR (structure precomputed)",
                 bf.bidiagonal_jac_hand_csr, x, J_dense),
        _checked("hand-written bidiagonal Jacobian, dense (numpy)", bf.bidiagonal_jac_hand_dense, x, J_dense),
        _checked(f"symdiff `jacobian(f, sparse=True)` ({route(js, x)})", js, x, J_dense),
        _checked(f"symdiff `jacobian(f)` dense ({route(jd, x)})", jd, x, J_dense),
        _jax_item(peers, "JAX `jit(jacfwd)`", jax_bidiagonal, x, J_dense),
    ]
    groups.append(("bidiagonal Jacobian of `x[1:]**2 - 2 sin(x[:-1])`", bitems))

    # a dense Jacobian
    F_dense = bf.field_jac_hand(x)
    fd, ff = symdiff.jacobian(bf.field), symdiff.jacfwd(bf.field)
    fd(x), ff(x)

    def jax_field(jax, jnp):
        return jax.jit(jax.jacfwd(lambda t: jnp.sin(t) * t + 0.1 * jnp.sum(t ** 2)))

    def torch_field(torch):
        from torch.func import jacfwd
        return jacfwd(lambda t: torch.sin(t) * t + 0.1 * torch.sum(t ** 2))

    fitems = [
        _checked("hand-written Jacobian (diagonal plus rank one, numpy)", bf.field_jac_hand, x, F_dense),
        _checked(f"symdiff `jacobian(f)` ({route(fd, x)}: the pattern is dense)", fd, x, F_dense),
        _checked("symdiff `jacfwd(f)` (the same route)", ff, x, F_dense),
        _jax_item(peers, "JAX `jit(jacfwd)`", jax_field, x, F_dense),
        _torch_item(peers, "PyTorch `torch.func.jacfwd`", torch_field, x, F_dense),
    ]
    groups.append(("dense Jacobian of `sin(x)*x + 0.1*sum(x**2)`", fitems))

    # forward mode: one directional derivative, one Hessian-vector product (no matrix)
    v = np.cos(np.arange(n) * 0.7)
    jv_hand = lambda t: (np.sin(t) + t * np.cos(t)) * v + 0.2 * np.dot(t, v)  # noqa: E731
    jv, hv = symdiff.jvp(bf.field), symdiff.hvp(bf.rosen)
    jv(x, v), hv(x, v)

    def hv_hand(t):
        diagonal, off = bf.rosen_hess_bands(t)
        out = diagonal * v
        out[:-1] += off * v[1:]
        out[1:] += off * v[:-1]
        return out

    def jax_jvp(jax, jnp):
        f = jax.jit(lambda t, w: jax.jvp(lambda u: jnp.sin(u) * u + 0.1 * jnp.sum(u ** 2), (t,), (w,))[1])
        return lambda t: f(t, v)

    def jax_hvp(jax, jnp):
        g = jax.grad(lambda u: jnp.sum(100 * (u[1:] - u[:-1] ** 2) ** 2 + (1 - u[:-1]) ** 2))
        f = jax.jit(lambda t, w: jax.jvp(g, (t,), (w,))[1])
        return lambda t: f(t, v)

    vitems = [
        _checked("hand-written J·v of `sin(x)*x + 0.1*sum(x**2)` (numpy)", jv_hand, x, jv_hand(x)),
        _checked("symdiff `jvp(f)(x, v)` (one generated function)", lambda t: jv(t, v), x, jv_hand(x)),
        _jax_item(peers, "JAX `jit(jvp)`", jax_jvp, x, jv_hand(x)),
    ]
    groups.append(("J·v, n outputs, no Jacobian", vitems))
    hitems = [
        _checked("hand-written Rosenbrock H·v from the bands (numpy)", hv_hand, x, hv_hand(x)),
        _checked("symdiff `hvp(rosen)(x, v)` (one generated function)", lambda t: hv(t, v), x, hv_hand(x)),
        _jax_item(peers, "JAX `jit(jvp(grad))`", jax_hvp, x, hv_hand(x)),
    ]
    groups.append(("H·v, no Hessian", hitems))

    for title, items in groups:
        measure(items, cfg["repeats"], max(cfg["sample_ms"], 1.0))
    rows = []
    for title, items in groups:
        floor = items[0].median if items[0].ok() else None
        for item in items:
            rows.append([title, item.label, item.cell(), _spread(item), fmt_ratio(_ratio(item, floor))])
    out.table(["matrix", "contender", "time / call (median)", "spread", "÷ first row of its group"], rows)

    def find(items, prefix):
        return next(i for i in items if i.label.startswith(prefix))

    jax_h, jax_f = find(items_of(groups, 0), "JAX"), find(items_of(groups, 2), "JAX")

    def against_peer(name, item, peer, limit):
        if not peer.ok():
            return [name, f"JAX {peer.status or 'not measured'}", "—"]
        return _target_row(name, item, peer.median, limit)

    targets = [
        against_peer("Rosenbrock Hessian dense ≤ 1.5× JAX `jit(hessian)`",
                     find(items_of(groups, 0), "symdiff `hessian(rosen)`"), jax_h, 1.5),
        _target_row("Rosenbrock Hessian sparse ≤ 2× hand-written CSR (structure precomputed)",
                    find(items_of(groups, 0), "symdiff `hessian(rosen, sparse"),
                    find(items_of(groups, 0), "hand-written tridiagonal Hessian straight").median, 2.0),
        _target_row("bidiagonal Jacobian sparse ≤ 3× hand-written CSR (structure precomputed)",
                    find(items_of(groups, 1), "symdiff `jacobian(f, sparse"),
                    find(items_of(groups, 1), "hand-written bidiagonal Jacobian straight").median, 3.0),
        against_peer("dense Jacobian ≤ 1.5× JAX `jit(jacfwd)`", find(items_of(groups, 2), "symdiff"),
                     jax_f, 1.5),
    ]
    out.table(["target (G)", "measured", "result"], targets)
    out("Every value is checked against the hand-written matrix (rtol 1e-9) before timing; a sparse "
        "result is compared densely, outside the timing. symdiff's calls are the specialisation "
        "made for this n (its build, the pattern and the colouring are made once, at the first "
        "call). JAX and PyTorch return dense matrices.")
    out()
    for title, items in groups:
        for item in items:
            summary[item.label] = item.median
    return summary


def section_h(out, cfg, peers):
    """The two-layer network of the README, JAX-style (issue 14), at the size of sklearn's digits."""
    import symdiff

    n, d, k, c = cfg.get("h_rows", 1797), 64, 32, 10
    out(f"## H. A two-layer network, JAX-style: params a dict, integer labels, logsumexp (n = {n})")
    out()
    rng = np.random.default_rng(5)
    X, y = rng.uniform(0.0, 1.0, (n, d)), rng.integers(0, c, n)
    params = {"W1": rng.normal(size=(d, k)) / 8.0, "b1": rng.normal(size=k) * 0.1,
              "W2": rng.normal(size=(k, c)) / np.sqrt(k), "b2": rng.normal(size=c) * 0.1}
    keys = ("W1", "b1", "W2", "b2")

    def flat(g):
        return np.concatenate([np.ravel(np.asarray(g[key])) for key in keys])

    expected = flat(bf.mlp_backprop(params, X, y))
    g = symdiff.grad(bf.mlp_loss, wrt="params")
    g(params, X, y)

    def torch_grad():
        torch = peers.torch
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        tp = {key: torch.from_numpy(v.copy()).requires_grad_(True) for key, v in params.items()}

        def run(_):
            for v in tp.values():
                v.grad = None
            h = torch.tanh(tX @ tp["W1"] + tp["b1"])
            logits = h @ tp["W2"] + tp["b2"]
            logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
            loss = -logp[torch.arange(n), ty].mean()
            loss.backward()
            return np.concatenate([tp[key].grad.numpy().ravel() for key in keys])

        return run

    def jax_grad():
        jax, jnp = peers.jax, peers.jnp
        from jax.scipy.special import logsumexp as jlse

        def loss(p, X, y):
            h = jnp.tanh(X @ p["W1"] + p["b1"])
            logits = h @ p["W2"] + p["b2"]
            logp = logits - jlse(logits, axis=1, keepdims=True)
            return -jnp.mean(logp[jnp.arange(X.shape[0]), y])

        fn = jax.jit(jax.grad(loss))
        jp = {key: jnp.asarray(v) for key, v in params.items()}
        jX, jy = jnp.asarray(X), jnp.asarray(y)
        fn(jp, jX, jy)
        return lambda _: np.concatenate([np.asarray(fn(jp, jX, jy)[key]).ravel() for key in keys])

    def autograd_grad():
        ag, anp = peers.autograd, peers.anp
        from autograd.scipy.special import logsumexp as alse

        def loss(p, X, y):
            h = anp.tanh(anp.dot(X, p["W1"]) + p["b1"])
            logits = anp.dot(h, p["W2"]) + p["b2"]
            logp = logits - alse(logits, axis=1, keepdims=True)
            return -anp.mean(logp[anp.arange(X.shape[0]), y])

        fn = ag.grad(loss)
        return lambda _: flat(fn(params, X, y))

    items = [
        Timed("hand-written numpy backprop (floor)", lambda _: flat(bf.mlp_backprop(params, X, y)), None, expected),
        Timed("symdiff `grad(loss, wrt=\"params\")`", lambda _: flat(g(params, X, y)), None, expected),
        peer_item(peers, "torch", "PyTorch float64 `loss.backward()`", torch_grad, None, expected, setup=False),
        peer_item(peers, "jax", "JAX float64 `jit(grad(loss))`", jax_grad, None, expected, setup=False),
        peer_item(peers, "autograd", "HIPS autograd `grad(loss)`", autograd_grad, None, expected, setup=False),
    ]
    measure(items, cfg["repeats"], max(cfg["sample_ms"], 2.0))
    floor = items[0].median
    out(f"{n} × {d} inputs, {k} hidden units (tanh), {c} classes; each call returns the four "
        "gradients (flattened into one vector the same way for every contender); every value is "
        "checked against the backprop before timing:")
    out()
    out.table(["contender", "time / call (median)", "spread", "÷ hand"],
              [[t.label, t.cell(), _spread(t), fmt_ratio(_ratio(t, floor))] for t in items])
    out.table(["target (H)", "measured", "result"],
              [_target_row("per step ≤ 1.2× hand-written numpy backprop", items[1], floor, 1.2)])
    if items[2].ok():  # the same gradient as PyTorch's, to what tolerance
        mine, theirs = flat(g(params, X, y)), items[2].fn(None)
        out(f"symdiff's gradient against PyTorch float64's: max |difference| "
            f"{np.max(np.abs(mine - theirs)):.1e} (max |gradient| {np.max(np.abs(theirs)):.1e}).")
        out()
    return {"mlp": _ratio(items[1], floor)}


def items_of(groups, k):
    return groups[k][1]


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def machine_info(mode, peers):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--", "../symdiff"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit = (commit + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = [
        ["date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")],
        ["mode", mode],
        ["CPU", cpu],
        ["cores", f"{os.cpu_count()} (usable: {affinity})"],
        ["load average at start", load],
        ["OS", platform.platform()],
        ["Python", platform.python_version()],
        ["symdiff", f"{_version('symdiff')} (commit {commit})"],
        ["numpy", np.__version__],
        ["sympy", _version("sympy")],
        ["torch", _version("torch") + (f" ({peers.torch_threads} threads by default)" if peers.torch else "")],
        ["jax / jaxlib", f"{_version('jax')} / {_version('jaxlib')}"],
        ["autograd", _version("autograd")],
    ]
    return rows


KEEP_MARKER = "<!-- end of the generated report: text below this line is kept by run.py --output -->"


def write_report(path, generated):
    """Write the report; a hand-written tail after ``KEEP_MARKER`` in an existing file is kept."""
    tail = ""
    if os.path.exists(path):
        with open(path) as fh:
            old = fh.read()
        if KEEP_MARKER in old:
            tail = old.split(KEEP_MARKER, 1)[1]
    with open(path, "w") as fh:
        fh.write(generated + "\n" + KEEP_MARKER + (tail if tail else "\n"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="under 2 minutes: fewer repeats, smaller sizes")
    mode.add_argument("--smoke", action="store_true", help="seconds, no peers: checks that the script runs")
    parser.add_argument("--no-peers", action="store_true", help="do not import PyTorch, JAX or autograd")
    parser.add_argument("--sections", default="ABCDEFGH", help="which sections to run (default ABCDEFGH)")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker[0], int(args.worker[1]), args.limit)
        return 0

    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = MODES[mode_name]
    started = time.perf_counter()
    if args.no_peers:
        peers = Peers(False, "--no-peers")
    else:
        peers = Peers(cfg["peers"], f"--{mode_name}")
    out = Report()
    out(f"# symdiff benchmarks ({mode_name} run)")
    out()
    out("Generated by `python benchmarks/run.py" + ("" if mode_name == "full" else f" --{mode_name}") +
        "`. Ratios are medians of interleaved repeats measured in this one run; lower is better.")
    out()
    out.table(["machine", ""], machine_info(mode_name, peers))
    summary = {}
    sections = args.sections.upper()
    if "A" in sections:
        summary["A"] = section_a(out, cfg, peers)
    if "B" in sections:
        summary["B"] = section_b(out, cfg, peers)
    if "C" in sections:
        summary["C"] = section_c(out, cfg, peers)
    if "D" in sections:
        summary["D"] = section_d(out, cfg)
    if "E" in sections:
        summary["E"] = section_e(out, cfg, peers)
    if "F" in sections:
        summary["F"] = section_f(out, cfg)
    if "G" in sections:
        summary["G"] = section_g(out, cfg, peers)
    if "H" in sections:
        summary["H"] = section_h(out, cfg, peers)
    out(f"_Total wall time of this run: {time.perf_counter() - started:.0f} s._")
    if args.output:
        write_report(args.output, out.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
