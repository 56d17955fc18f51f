"""Running one check in a forked child process, so that nothing it does can end the test run.

Takes: a callable of no arguments (it closes over the program to check) and a timeout.
Returns: an ``Outcome``: whatever the callable returned (an ``Outcome`` of its own), or, when the
child died, hung or raised, an outcome saying so: ``crash`` (killed by a signal: a segfault or a
C stack overflow; the faulthandler traceback is attached), ``timeout`` (killed after the timeout),
``error`` (an exception escaped the callable; traceback attached).

The child is a plain ``os.fork()`` of the test process: it shares SymPy's warm caches and the
loaded modules, costs a few milliseconds, and leaves by ``os._exit`` (no pytest or atexit code
runs in it). The result comes back pickled through a pipe.
"""

import faulthandler
import os
import pickle
import select
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field

# Statuses a check may end with. Only "ok" and "refused" (a located SymdiffError) pass.
PASSING = ("ok", "refused")


@dataclass
class Outcome:
    status: str  # ok | refused | wrong | crash | timeout | error
    detail: str = ""  # what differed / the refusal message / the traceback
    notes: dict = field(default_factory=dict)  # counters for the run's statistics ("skipped": ...)

    @property
    def passed(self):
        return self.status in PASSING


def _child(task, write_fd, fault_path):
    with open(fault_path, "w") as fault:
        faulthandler.enable(file=fault, all_threads=False)
        try:
            result = task()
            if not isinstance(result, Outcome):
                result = Outcome("error", f"the check returned {result!r}, not an Outcome")
        except BaseException:  # noqa: BLE001 - everything is reported to the parent
            result = Outcome("error", traceback.format_exc(limit=30))
        try:
            payload = pickle.dumps(result)
        except Exception:  # noqa: BLE001
            payload = pickle.dumps(Outcome(result.status, str(result.detail)))
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
        os.close(write_fd)


def run_isolated(task, timeout):
    """``task()`` in a forked child; its ``Outcome``, or one for its death or hang."""
    fault_fd, fault_path = tempfile.mkstemp(prefix="symdiff-fault-", suffix=".txt")
    os.close(fault_fd)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_fd)
            _child(task, write_fd, fault_path)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks, deadline, timed_out = [], time.monotonic() + timeout, False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    try:
        with open(fault_path) as handle:
            fault = handle.read()
    finally:
        os.unlink(fault_path)
    if timed_out:
        return Outcome("timeout", f"no result after {timeout:.0f} s (killed)")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return Outcome("crash", f"the child process died of {name}\n{_tail(fault)}")
    if not chunks:
        return Outcome("crash", f"the child process exited with status {os.WEXITSTATUS(status)} "
                                f"and sent no result\n{_tail(fault)}")
    return pickle.loads(b"".join(chunks))


def _tail(text, lines=40):
    """The last lines of a faulthandler dump (the innermost frames are the first ones it prints)."""
    parts = text.strip().splitlines()
    if len(parts) <= lines:
        return "\n".join(parts)
    return "\n".join(parts[:lines] + [f"... ({len(parts) - lines} more lines)"])
