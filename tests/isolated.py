"""Run a test's work in a forked child, so that a segmentation fault is a counted failure.

``in_child(fn, *args)`` returns ``fn(*args)`` (pickled back through a pipe) or raises
``ChildFailed`` with the child's exception (type, message and traceback as text) or the signal
that killed it. Fork only: the child starts with this process's imports and SymPy cache, so a
child costs milliseconds. Skips the test where ``os.fork`` does not exist.
"""

import os
import pickle
import select
import signal
import time
import traceback

import pytest


class ChildFailed(AssertionError):
    """The child raised (``died`` is None) or was killed by the signal ``died``."""

    def __init__(self, message, died=None):
        super().__init__(message)
        self.died = died


def in_child(fn, *args, timeout=300):
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        status = 0
        try:
            try:
                payload = ("ok", fn(*args))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                payload = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            data = pickle.dumps(payload)
        except BaseException as exc:  # noqa: BLE001 - an unpicklable result
            data = pickle.dumps(("error", f"cannot send the result back: {exc!r}"))
        try:
            with os.fdopen(write, "wb") as out:
                out.write(data)
        except BaseException:  # noqa: BLE001 - the parent sees no result
            status = 1
        os._exit(status)
    os.close(write)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read, "rb", buffering=0) as inp:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([inp], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ChildFailed(f"the child process ran for more than {timeout} s", died=signal.SIGKILL)
            chunk = inp.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        raise ChildFailed(f"the child process died with signal {number} "
                          f"({signal.Signals(number).name})", died=number)
    kind, value = pickle.loads(data) if data else ("error", f"no result (exit status {status})")
    if kind == "error":
        raise ChildFailed(value)
    return value
