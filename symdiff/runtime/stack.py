"""stack: run deep work where the C stack holds the recursion limit it runs under.

Takes: a function and its arguments (a build, a trace). Returns: what the function returns (or
raises what it raises), having run it on a worker thread with a large C stack of its own, under a
recursion limit that stack can hold. Calls made from inside such a thread run inline.

Why: tracing a function executes it over SymPy values, so the user's nesting (helpers calling
helpers, recursion with a concrete depth) becomes Python recursion in the tracer: about 12-15
Python frames per nested call. The default limit (1,000) stops at ~70 nested calls, so the limit
must be raised; but Python's recursion limit does not know how big the C stack is. Raised past
what the stack holds, runaway recursion in C-heavy code (SymPy's constructors) overflows the C
stack before Python can raise ``RecursionError``, and the process dies with a segmentation
fault. Measured on CPython 3.11 (``tests/test_robustness.py`` repeats the worst case): the
C-heaviest recursion patterns (``__getattr__`` chains, properties, SymPy's evaluation) use up to
~760 bytes of C stack per level of the recursion limit; the main thread's stack is often 8 MiB
(1 MiB on Windows). ``STACK_BYTES`` / ``RECURSION_LIMIT`` leaves more than 5x that per level.
"""

import sys
import threading

RECURSION_LIMIT = 100_000  # levels of Python recursion allowed on a worker thread
STACK_BYTES = 512 * 1024 * 1024  # C stack of a worker thread (reserved, touched only as used)
_FALLBACK_STACKS = (256 * 1024 * 1024, 64 * 1024 * 1024)  # if the platform refuses the first
_BYTES_PER_LEVEL = STACK_BYTES // RECURSION_LIMIT

_local = threading.local()
_limit = {"lock": threading.Lock(), "users": 0, "saved": None}
_stack_lock = threading.Lock()  # threading.stack_size is process-wide


def on_deep_stack():
    """Whether this thread is a worker made by ``deep`` (its recursion limit is safe)."""
    return getattr(_local, "deep", False)


def deep(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` on a thread with a big C stack and a recursion limit it holds.

    Inline when already on such a thread. If no such thread can be started (a platform that
    refuses big stacks or threads), inline under the caller's own recursion limit: deep input is
    then a ``RecursionError`` (turned into a located error by the caller), never a crash.
    """
    if on_deep_stack():
        return fn(*args, **kwargs)
    outcome = {}

    def work():
        _local.deep = True
        _raise_limit(outcome["levels"])
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            outcome["error"] = exc
        finally:
            _restore_limit()

    thread = _start(work, outcome)
    if thread is None:
        return fn(*args, **kwargs)
    thread.join()
    if "error" in outcome:
        error = outcome.pop("error")
        try:
            raise error
        finally:
            del error
    return outcome["value"]


def _start(work, outcome):
    """A started worker thread with the biggest stack the platform gives, or None."""
    with _stack_lock:
        for size in (STACK_BYTES, *_FALLBACK_STACKS):
            try:
                previous = threading.stack_size(size)
            except (ValueError, RuntimeError):
                continue
            try:
                thread = threading.Thread(target=work, name="symdiff-build", daemon=True)
                outcome["levels"] = min(RECURSION_LIMIT, size // _BYTES_PER_LEVEL)
                thread.start()
                return thread
            except (RuntimeError, MemoryError):
                continue
            finally:
                threading.stack_size(previous)
    return None


def _raise_limit(levels):
    """The recursion limit (one per interpreter) is ``levels`` while any worker runs."""
    state = _limit
    with state["lock"]:
        if state["users"] == 0:
            state["saved"] = sys.getrecursionlimit()
        state["users"] += 1
        sys.setrecursionlimit(max(levels, 1000) if state["users"] == 1 else
                              min(sys.getrecursionlimit(), max(levels, 1000)))


def _restore_limit():
    state = _limit
    with state["lock"]:
        state["users"] -= 1
        if state["users"] == 0:
            sys.setrecursionlimit(state["saved"])


__all__ = ["RECURSION_LIMIT", "STACK_BYTES", "deep", "on_deep_stack"]
