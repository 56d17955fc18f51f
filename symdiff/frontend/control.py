"""control: the tracer's ``if``, ``for`` and ``while`` (``ControlFlow``, a collaborator of ``interpreter.Tracer``).

Takes: an ``if``/``for``/``while`` statement and the tracer's state. Returns: the signal the
statement ends with (see ``signals``), having added its statements to the tracer's block. A
concrete condition is simply evaluated. A condition on a traced value becomes a ``Branch``: both
arms run from the same state and their names are joined by ``Merge`` s. An arm that returns on
every path lets the other arm run on to the end of the region; arms that return on only some
paths join a returned-flag and value, and the rest of the region runs once, under
``if returned < 0.5``. Loops with known trip counts unroll, except that a long
``for`` over a ``range`` is kept as one ``ir.Loop`` where ``loops.roll`` can trace it so.
"""

import ast
import builtins
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..errors import ShapeError, SymdiffError, UnsupportedSyntaxError
from ..ir import Branch, Merge
from ..primitives.faithful import Raising
from ..primitives.nodes import real_symbol
from . import loops
from .parse import located
from .signals import (
    _UNBOUND_MISSING,
    NeedsConcrete,
    BREAK,
    CONTINUE,
    _MaybeBreak,
    _MaybeReturn,
    _Return,
    _same,
    _truth,
    _Unbound,
)
from .values import describe_value as _describe_value
from .values import is_number, to_sympy

MAX_LOOP_STEPS = 100_000  # iterations of one 'while' loop with a concrete condition


def _contains(nodes, kinds):
    """Whether any statement in ``nodes`` (not inside nested functions) is one of ``kinds``."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _raises(stmts):
    """Whether ``stmts`` end in ``raise`` after plain statements only (assignments, a docstring,
    ``pass``): the arm of an ``if`` that checks the arguments."""
    plain = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Pass, ast.Expr)
    return bool(stmts) and isinstance(stmts[-1], ast.Raise) and stmts[-1].exc is not None \
        and all(isinstance(s, plain) for s in stmts[:-1])


def _always_returns(stmts):
    """Whether every path through ``stmts`` ends in ``return`` or ``raise`` (read from the syntax;
    a condition known while tracing may make it true where this says False)."""
    for stmt in stmts:
        if isinstance(stmt, (ast.Return, ast.Raise)):
            return True
        if isinstance(stmt, ast.If) and _always_returns(stmt.body) and _always_returns(stmt.orelse):
            return True
    return False


def _loop_exits_of(nodes, kind):
    """Whether ``nodes`` hold a ``kind`` (``ast.Break`` / ``ast.Continue``, or both) of *this*
    loop level (not a nested loop's)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            return True
        if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
            stack.extend(node.orelse if isinstance(node, (ast.For, ast.While)) else [])
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _loop_exits(nodes):
    """Whether ``nodes`` hold a ``break``/``continue`` of *this* loop level (not a nested loop's)."""
    return _loop_exits_of(nodes, (ast.Break, ast.Continue))


@dataclass
class PendingBranch:
    """A ``Branch`` being built: both arms have run (``_fork``), the joins are being collected
    (``merges``), and ``_finish_branch`` appends it to the block being traced."""

    test: object  # the condition on data
    stmt: ast.AST  # the statement the branch is for (its line)
    then: list  # the statements of the arm where ``test`` holds
    orelse: list  # and of the other arm
    merges: list = field(default_factory=list)


class ControlFlow:
    """``if``/``for``/``while``/``break``/``continue`` for one trace, and their joins.

    Receives the interpreter (``tracer``), of which it uses: ``exec_block``, ``condition``,
    ``assign``, ``emit``, ``result_name``, ``source_line``, ``filename_tag``, the checks
    ``check_deferrable``/``check_deferrable_condition``/``on_deferrable_only`` and
    ``branch_on_deferrable``, and the execution position it saves and restores around each arm
    (``frame.env``, ``block``, ``current``); and the array collaborator (``arrays``: ``shape``,
    ``shapes``, ``constant``, ``own``, ``iterate``, and ``op_memo``/``arm``, swapped per arm).
    Its own state: ``path`` (the (condition, taken) literals of the arms being traced),
    ``open_forks``/``deferrable_forks`` (branches whose arms are running), ``flags`` (the
    returned/broken flags of the joins, for ``Program.flags``) and ``pending`` (the
    ``PendingBranch`` being joined).
    """

    def __init__(self, tracer, arrays):
        self.tracer = tracer
        self.arrays = arrays
        self.namer = tracer.namer
        self.path = frozenset()  # (condition, taken) of each 'if' on data whose arm is being traced
        self.flags = set()  # the returned-flags of joins after partial returns
        self.open_forks = 0  # branches on data being traced (arms running), see ``calls.Calls._too_deep``
        self.deferrable_forks = 0  # such branches on deferrable parameters only (see ``interpreter._trace``)
        self.pending = None  # the PendingBranch being joined

    def __repr__(self):
        return f"ControlFlow({len(self.path)} conditions on the path, {len(self.flags)} flags)"

    # ---- if ----
    def exec_If(self, stmt, rest, cont):
        test = self.tracer.condition(stmt.test)
        truth = _truth(test)
        if truth is None and self.arrays.shape(test):
            raise located(
                ShapeError,
                f"'if' on an array of shape {self.arrays.shape(test)}: its truth value is ambiguous",
                self.tracer.frame.parsed, stmt.test,
                hint="select elementwise with np.where(condition, a, b)",
            )
        if truth is not None:
            arm = stmt.body if truth else stmt.orelse
            return self.tracer.exec_block(arm, None if cont is None else [*rest, *cont])
        # A condition on int parameters only (not differentiated) is concrete at the call.
        self.tracer.check_deferrable_condition(test)
        raising = [k for k, arm in enumerate((stmt.body, stmt.orelse)) if _raises(arm)]
        if len(raising) == 1:  # if x < 0: raise ValueError(...): a check, then the other arm
            return self._raise_where(test, stmt, raising[0], rest, cont)
        if _loop_exits(stmt.body + stmt.orelse):
            arms = stmt.body + stmt.orelse
            kinds = {kind for kind, node in ((BREAK, ast.Break), (CONTINUE, ast.Continue))
                     if _loop_exits_of(arms, node)}
            if len(kinds) > 1 or _contains(arms, ast.Return) or cont is None:
                raise located(
                    UnsupportedSyntaxError,
                    "'break' and 'continue' (or either beside a 'return') under a condition on a "
                    "differentiated value",
                    self.tracer.frame.parsed, stmt.test,
                    hint="use one way out of the loop; put the rest of the body under 'if'",
                )
            # 'break'/'continue' on some paths: a flag joins the arms; the rest of the body (and
            # after a break, the later iterations and the loop's 'else') run where it is 0
            results = self._fork(test, stmt, stmt.body, stmt.orelse, cont=[])
            return self._join_breaks(results, stmt, done=False, kind=kinds.pop())
        if _contains(stmt.body + stmt.orelse, ast.Return):
            if _always_returns(stmt.body) or _always_returns(stmt.orelse):
                # The other arm runs on to the end of the region (its continuation), so that only
                # the statements of the path taken are executed, and each of them once.
                after = [*rest, *cont]
                results = self._fork(test, stmt, stmt.body + after, stmt.orelse + after, cont=[])
                return self._join_returns(results, stmt, done=True)
            # Both arms may go on: the rest runs once, after the branch, where nothing returned
            # (running it in each arm would double it at every such 'if').
            results = self._fork(test, stmt, stmt.body, stmt.orelse, cont=[])
            return self._join_returns(results, stmt, done=False)
        self._branch(test, stmt, stmt.body, stmt.orelse)
        return None

    def _branch(self, test, stmt, then_arm, else_arm):
        """A ``Branch`` of two arms that go on after it (statements, or functions that run them):
        the names they set joined, as the code after the ``if`` reads them."""
        (then_env, _), (else_env, _) = self._fork(test, stmt, then_arm, else_arm, cont=None)
        self.tracer.frame.env = self._merge_envs(then_env, else_env, stmt)
        self._finish_branch()

    def _raise_where(self, test, stmt, k, rest, cont):
        """``if test:`` whose arm ``k`` (0: the body, 1: the else) raises: a ``Branch`` whose arm
        ``k`` is the one statement ``raise ...`` (a ``Raising`` value: the generated code raises
        the same exception there), then the other arm, as if ``test`` were known to take it."""
        raised = (stmt.body, stmt.orelse)[k][-1]
        value = Raising.raising(self._exception_text(raised))
        target = real_symbol(self.namer.fresh("_raised"))

        def raising_arm():
            self.tracer.emit(target, value, raised)

        arms = [raising_arm, lambda: None] if k == 0 else [lambda: None, raising_arm]
        self._branch(test, stmt, *arms)
        arm = stmt.orelse if k == 0 else stmt.body
        return self.tracer.exec_block(arm, None if cont is None else [*rest, *cont])

    def _exception_text(self, raised):
        """The Python text of what ``raise`` raises: a builtin exception class, called with
        constant arguments or not at all; anything else is a located error."""
        exc = raised.exc
        call = exc if isinstance(exc, ast.Call) else None
        name = (call.func if call else exc)
        found = None
        if isinstance(name, ast.Name) and not (call and call.keywords):
            try:
                found = self.tracer.lookup(name.id, name)
            except SymdiffError:
                found = None
        builtin = isinstance(found, type) and issubclass(found, BaseException) \
            and getattr(builtins, found.__name__, None) is found
        args = call.args if call else []
        if not builtin or raised.cause is not None or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, (str, int, float, bool, type(None)))
                for a in args):
            raise located(
                UnsupportedSyntaxError,
                "a 'raise' under a condition on a differentiated value, of something other than a "
                "builtin exception with constant arguments",
                self.tracer.frame.parsed, raised,
                hint="raise a builtin exception with a constant message "
                     "(raise ValueError('x must be positive'))",
            )
        return f"{found.__name__}({', '.join(repr(a.value) for a in args)})"

    def _fork(self, test, stmt, then_stmts, else_stmts, cont, one_live_arm=False):
        """Run both arms from the same state; returns ``[(env, signal), (env, signal)]``.

        An arm is statements or a function that runs them. ``one_live_arm``: the else arm is
        where a return was taken already (nothing runs there), so the then arm may change the
        lists built before the branch.
        """
        tracer, arrays = self.tracer, self.arrays
        start_env, start_block, start_memo = tracer.frame.env, tracer.block, arrays.op_memo
        results, blocks = [], []
        start_arm, start_path = arrays.arm, self.path
        self.open_forks += 1  # (a recursion that opens one per call depends on the data)
        deferrable = tracer.branch_on_deferrable and tracer.on_deferrable_only(test)
        self.deferrable_forks += deferrable
        try:
            for taken, arm in ((True, then_stmts), (False, else_stmts)):
                self.path = start_path | {(test, taken)}
                tracer.frame.env = dict(start_env)
                tracer.block = []
                arrays.op_memo = dict(start_memo)
                if not one_live_arm:
                    arrays.arm = object()  # lists built before this arm are shared with the other one
                signal = arm() if callable(arm) else tracer.exec_block(arm, cont)
                results.append((tracer.frame.env, signal))
                blocks.append(tracer.block)
        finally:
            self.open_forks -= 1
            self.deferrable_forks -= deferrable
            self.path = start_path
        tracer.block, arrays.op_memo, arrays.arm = start_block, start_memo, start_arm
        self.pending = PendingBranch(test, stmt, *blocks)
        return results

    def _merge_values(self, then_sig, else_sig):
        """Join two returned values after a ``Branch``: the value the function returns."""
        a, b, node = then_sig.value, else_sig.value, then_sig.node
        if a is b or (type(a) is type(b) and not isinstance(a, (list, tuple)) and _same(a, b)):
            self._finish_branch()
            return a
        if is_number(a) and is_number(b):
            pending = self.pending
            a = self._named_in(pending.then, to_sympy(a), then_sig.node)
            b = self._named_in(pending.orelse, to_sympy(b), else_sig.node)
            target = real_symbol(self.tracer.result_name())
            self._merged_shape(target, a, b, node, "the returned value")
            pending.merges.append(Merge(target, a, b))
            self._finish_branch()
            return target
        raise located(
            SymdiffError,
            f"the two branches give {_describe_value(a)} and {_describe_value(b)}: symdiff can only "
            "join numbers",
            self.tracer.frame.parsed, node,
            hint="make both branches produce a number",
        )

    def _join_returns(self, results, stmt, done):
        """After an 'if' on data whose arms returned on some paths: the joined environment, and
        ``_Return`` (every path returned) or ``_MaybeReturn`` (a returned-flag and value)."""
        (then_env, then_sig), (else_env, else_sig) = results
        if isinstance(then_sig, _MaybeBreak) or isinstance(else_sig, _MaybeBreak):
            raise located(
                UnsupportedSyntaxError,
                "a 'return' and a 'break' under conditions on differentiated values in one loop",
                self.tracer.frame.parsed, stmt,
                hint="use one way out of the loop; put the rest of the body under 'if'",
            )
        then_sig, else_sig, exit = self._loop_exit(then_sig, else_sig, stmt)
        if isinstance(then_sig, _Return) and isinstance(else_sig, _Return):
            value = self._merge_values(then_sig, else_sig)
            return _Return(value, then_sig.node if then_sig.node is else_sig.node else stmt)
        if then_sig is None and else_sig is None:  # the returns were on paths not taken
            self.tracer.frame.env = self._merge_envs(then_env, else_env, stmt)
            self._finish_branch()
            return exit
        for sig in (then_sig, else_sig):
            if isinstance(sig, _Return) and not is_number(sig.value):
                raise located(
                    SymdiffError,
                    f"a branch returns {_describe_value(sig.value)} while another path goes on: "
                    "symdiff can only join numbers",
                    self.tracer.frame.parsed, sig.node, hint="return a number on every path",
                )
        # A returning arm never gets past the 'if', but the joined names must hold a value on
        # its paths too (the code after the join reads them there): its own, or a stand-in.
        if isinstance(then_sig, _Return):
            then_env = self._stand_ins(then_env, else_env)
        elif isinstance(else_sig, _Return):
            else_env = self._stand_ins(else_env, then_env)
        env = self._merge_envs(then_env, else_env, stmt)
        pending = self.pending
        flags, values = [], []
        for sig, block in ((then_sig, pending.then), (else_sig, pending.orelse)):
            if isinstance(sig, _Return):
                flags.append(sympy.Integer(1))
                values.append(self._named_in(block, to_sympy(sig.value), sig.node))
            elif isinstance(sig, _MaybeReturn):
                flags.append(sig.flag)
                values.append(sig.value)
            else:
                flags.append(sympy.Integer(0))
                values.append(None)
        node = (then_sig if isinstance(then_sig, (_Return, _MaybeReturn)) else else_sig).node
        shapes = {self.arrays.shape(v) for v in values if v is not None}
        if len(shapes) > 1:
            raise located(ShapeError, "the returned value has different shapes on different paths",
                          self.tracer.frame.parsed, node, hint="return values of one shape")
        # where nothing returned, the value is never read: any number of the right shape will do
        values = [sympy.Integer(0) if v is None else v for v in values]
        flag = real_symbol(self.namer.version("returned"))
        self.flags.add(flag)
        value = real_symbol(self.tracer.result_name())
        pending.merges.append(Merge(flag, *flags))
        pending.merges.append(Merge(value, *values))
        if shapes and next(iter(shapes)):
            self.arrays.shapes[value] = next(iter(shapes))
        self.tracer.frame.env = env
        self._finish_branch()
        return _MaybeReturn(flag, value, node, stmt, done, exit)

    def _loop_exit(self, then_sig, else_sig, stmt):
        """A loop body's arm that went on may end in a (concrete) break/continue; the loop obeys
        it on the paths that did not return (on the others, nothing runs any more). Returns the
        two signals (an arm's ``BREAK``/``CONTINUE`` taken out: None) and that exit, or None."""
        exits = set()
        for i, sig in enumerate((then_sig, else_sig)):
            if sig is BREAK or sig is CONTINUE:
                exits.add(sig)
                then_sig, else_sig = (None, else_sig) if i == 0 else (then_sig, None)
            elif isinstance(sig, _MaybeReturn) and sig.exit is not None:
                exits.add(sig.exit)
        if len(exits) > 1:
            raise located(
                UnsupportedSyntaxError,
                "'break' on some paths and 'continue' on others of an 'if' on a differentiated "
                "value: the loop's trip count would depend on the value",
                self.tracer.frame.parsed, stmt, hint="loop a fixed number of times and select results with 'if'",
            )
        return then_sig, else_sig, exits.pop() if exits else None

    def _stand_ins(self, returned_env, live_env):
        """Values for the names of ``live_env`` on paths that returned (never read there): the
        returned arm's own where it has one of the same kind, else zeros of the same shape."""
        def stand_in(value):
            if is_number(value):
                shape = self.arrays.shape(value)
                return self.arrays.constant(np.zeros(shape)) if shape else sympy.Integer(0)
            if isinstance(value, (tuple, list)) and all(is_number(v) for v in value):
                return type(value)(stand_in(v) for v in value)
            return value  # not a value of the generated code (a function, a module, ...)

        def fits(mine, value):
            if is_number(mine) and is_number(value):
                return self.arrays.shape(mine) == self.arrays.shape(value)
            return (isinstance(mine, (tuple, list)) and type(mine) is type(value)
                    and len(mine) == len(value) and all(map(fits, mine, value)))

        def concrete(value):  # the same on every path: no join needed
            if isinstance(value, (tuple, list)):
                return all(map(concrete, value))
            return not isinstance(value, sympy.Basic) or not value.free_symbols

        env = {}
        for name, value in live_env.items():
            mine = returned_env.get(name, _UNBOUND_MISSING)
            if concrete(value) and not isinstance(value, list):
                env[name] = value  # a loop counter stays a known int after the join
            else:
                env[name] = mine if fits(mine, value) else stand_in(value)
        return env

    def unless_returned(self, signal, rest):
        """The rest of the region, in branches taken where ``signal``'s paths did not return.

        One branch per stretch of statements up to the next one that may return, each at this
        level: stages that each return on some paths stay flat instead of nesting."""
        while rest:
            end = next((k for k, stmt in enumerate(rest) if _contains([stmt], ast.Return)),
                       len(rest) - 1)
            stretch, rest = rest[:end + 1], rest[end + 1:]
            signal = self._guarded(signal, stretch)
            if not isinstance(signal, _MaybeReturn) or signal.exit is not None:
                return signal  # every path returned, or a loop body ended (break/continue)
        return _MaybeReturn(signal.flag, signal.value, signal.node, signal.stmt, True)

    def _join_breaks(self, results, stmt, done, kind=BREAK):
        """After an 'if' on data where some paths left the loop body (``kind``: ``BREAK`` or
        ``CONTINUE``): the joined names (the paths that left keep theirs) and ``kind``,
        ``_MaybeBreak`` or None."""
        (then_env, then_sig), (else_env, else_sig) = results
        if kind is BREAK:  # an iteration that ended with 'continue' simply ended
            then_sig, else_sig = (
                None if sig is CONTINUE or isinstance(sig, _MaybeBreak) and sig.kind is CONTINUE
                else sig for sig in (then_sig, else_sig))
        for sig in (then_sig, else_sig):
            if sig is not None and sig is not kind and not (
                    isinstance(sig, _MaybeBreak) and sig.kind is kind):
                raise located(
                    UnsupportedSyntaxError,
                    "'break' under a condition on a differentiated value, with 'continue' or "
                    "'return' on other paths of the same loop",
                    self.tracer.frame.parsed, stmt,
                    hint="use one way out of the loop; put the rest of the body under 'if'",
                )
        self.tracer.frame.env = self._merge_envs(then_env, else_env, stmt)
        merges = self.pending.merges
        flags = [sympy.Integer(1) if sig is kind else sig.flag if isinstance(sig, _MaybeBreak)
                 else sympy.Integer(0) for sig in (then_sig, else_sig)]
        if then_sig is kind and else_sig is kind:
            self._finish_branch()
            return kind
        if then_sig is None and else_sig is None:
            self._finish_branch()
            return None
        flag = real_symbol(self.namer.version("broken" if kind is BREAK else "skipped"))
        self.flags.add(flag)
        merges.append(Merge(flag, *flags))
        self._finish_branch()
        return _MaybeBreak(flag, stmt, done, kind)

    def unless_broken(self, signal, run):
        """``run`` (statements, or a function running them) where ``signal``'s paths did not
        break out: ``BREAK`` (all broke by its end), ``_MaybeBreak`` (done) or None."""
        if not run:
            return _MaybeBreak(signal.flag, signal.stmt, True, signal.kind)
        test = sympy.StrictLessThan(signal.flag, sympy.Float(0.5))
        # The paths that left go on with what they have: the else arm is live (empty), so lists
        # built before may not change in the other (see ArrayValues.mutable).
        kind = signal.kind
        results = self._fork(test, signal.stmt, run, [], cont=[])
        (then_env, then_sig), (else_env, _) = results
        if kind is CONTINUE and (then_sig is BREAK or isinstance(then_sig, _MaybeBreak)
                                 and then_sig.kind is BREAK):
            # the rest of a body after a 'continue' broke out on some paths: a break, for the
            # later iterations, on those paths only (the skipped ones did not break)
            return self._join_breaks([(then_env, then_sig), (else_env, None)], signal.stmt, True)
        joined = self._join_breaks([(then_env, then_sig), (else_env, kind)], signal.stmt, True, kind)
        return joined if joined is kind else _MaybeBreak(joined.flag, signal.stmt, True, kind)

    def _guarded(self, signal, run):
        """``run`` (statements, or a function running them) where ``signal``'s paths did not
        return: the joined signal (``_Return`` when every path has returned by its end)."""
        test = sympy.StrictLessThan(signal.flag, sympy.Float(0.5))
        returned = _Return(signal.value, signal.node)
        (then_env, then_sig), (else_env, _) = self._fork(test, signal.stmt, run, [], cont=[],
                                                         one_live_arm=True)
        return self._join_returns([(then_env, then_sig), (else_env, returned)], signal.stmt,
                                  done=True)

    def _named_in(self, block, value, node):
        """``value`` as a name assigned at the end of ``block`` (its 'return' line)."""
        if value.is_Atom:
            return value
        target = real_symbol(self.tracer.result_name())
        saved = self.tracer.block
        self.tracer.block = block
        self.tracer.emit(target, value, node)
        self.tracer.block = saved
        return target

    def _merge_envs(self, then_env, else_env, stmt):
        merged = {}
        test, merges = self.pending.test, self.pending.merges
        paths = (self.path | {(test, True)}, self.path | {(test, False)})

        def bindings(*values):
            """Where each arm's value holds (read later under the same conditions, it is that)."""
            found = []
            for value, path in zip(values, paths):
                if isinstance(value, _Unbound):  # what held before, where this arm ran
                    found += [(literals | path, bound) for literals, bound in value.bindings]
                elif is_number(value) or isinstance(value, tuple) and all(map(is_number, value)):
                    found.append((path, value))
            return found

        for name in {*then_env, *else_env}:
            a = then_env.get(name, _UNBOUND_MISSING)
            b = else_env.get(name, _UNBOUND_MISSING)
            if a is b or (type(a) is type(b) and _same(a, b)):
                merged[name] = a
            elif a is _UNBOUND_MISSING or b is _UNBOUND_MISSING or isinstance(a, _Unbound) or isinstance(b, _Unbound):
                merged[name] = _Unbound(stmt.lineno, bindings=bindings(a, b))
            elif is_number(a) and is_number(b) and self.arrays.shape(a) != self.arrays.shape(b):
                merged[name] = _Unbound(stmt.lineno, shapes=(self.arrays.shape(a), self.arrays.shape(b)),
                                        bindings=bindings(a, b))
            elif is_number(a) and is_number(b):
                target = real_symbol(self.namer.version(name))
                self._merged_shape(target, a, b, stmt, repr(name))
                merges.append(Merge(target, to_sympy(a), to_sympy(b)))
                merged[name] = target
            elif isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) \
                    and all(is_number(x) and is_number(y) for x, y in zip(a, b)):
                items = []
                for k, (x, y) in enumerate(zip(a, b)):
                    if type(x) is type(y) and _same(x, y):
                        items.append(x)
                        continue
                    target = real_symbol(self.namer.version(f"{name}_{k}"))
                    merges.append(Merge(target, to_sympy(x), to_sympy(y)))
                    items.append(target)
                merged[name] = self.arrays.own(items) if isinstance(a, list) else tuple(items)
            else:
                merged[name] = _Unbound(stmt.lineno, bindings=bindings(a, b))
        return merged

    def _merged_shape(self, target, a, b, node, what):
        """The joined value of an array in both arms has that array's shape (recorded for
        ``target``); arms giving different shapes would make the shape depend on the data."""
        sa, sb = self.arrays.shape(a), self.arrays.shape(b)
        if sa != sb:
            raise located(
                ShapeError,
                f"{what} has shape {sa} in one branch and {sb} in the other",
                self.tracer.frame.parsed, node,
                hint="give it the same shape in both branches (np.where selects elementwise)",
            )
        if sa:
            self.arrays.shapes[target] = sa

    def _finish_branch(self):
        pending, tracer = self.pending, self.tracer
        tracer.block.append(Branch(
            cond=pending.test, then=tuple(pending.then), orelse=tuple(pending.orelse),
            merges=tuple(pending.merges), lineno=pending.stmt.lineno,
            source=tracer.source_line(pending.stmt.lineno), filename=tracer.filename_tag(),
        ))
        self.pending = None

    # ---- loops ----
    def exec_For(self, stmt):
        count = loops.count_of(self.tracer, stmt)
        if count is not None:  # range(n), n an int parameter traced as a symbol
            if loops.roll(self.tracer, stmt, count):
                return None
            if count.of_counters:  # range(i) of an enclosing loop's counter: that loop unrolls
                raise loops.CounterTrip(str(count.trip))
            raise NeedsConcrete([str(count.trip)])  # (its build specialises on n instead)
        on_data = loops.data_range(self.tracer, stmt)
        if on_data is not None:  # range(int(x)): a trip count of data, kept as a loop
            kept = loops.roll_range_on_data(self.tracer, stmt, *on_data)
            if not isinstance(kept, str):
                return kept  # (None, or the _MaybeReturn of a body returning on some paths)
            raise located(
                UnsupportedSyntaxError,
                f"range() over a differentiated value (an int of it): {kept}",
                self.tracer.frame.parsed, stmt.iter,
                hint="use grad/value_and_grad of a loop of numbers (a break, continue or return "
                "on data inside works); or loop a fixed number of times and stop changing the "
                "result once done",
            )
        found = []  # (stmt.iter evaluated once, where it is evaluated)

        def iterable():
            if not found:
                found.append(self.tracer.eval(stmt.iter))
            return found[0]

        if self.tracer.rolled and loops.roll_rows(self.tracer, stmt, iterable):
            return None  # for row in X (zip, enumerate): kept as one ``ir.Loop`` over X's rows
        if self.tracer.rolled and isinstance(iterable(), range) and loops.roll(self.tracer, stmt, iterable()):
            return None  # kept as one ``ir.Loop`` (see ``loops``)
        if self.tracer.rolled and isinstance(iterable(), range):
            kept = loops.roll_range_with_exits(self.tracer, stmt, iterable())
            if kept is not False:  # a break/continue/return on data: a while-kind loop
                return kept
        items = self.arrays.iterate(iterable(), stmt.iter)

        def iteration(item):
            def run():
                self.tracer.current = stmt
                self.tracer.assign(stmt.target, item)
                return self.tracer.exec_block(stmt.body, cont=[])  # the body is a region of its own
            return run

        return self._loop(stmt, (iteration(item) for item in items))

    def _loop(self, stmt, iterations):
        """Run a loop's ``iterations`` (functions, each running the body once) and its ``else``.

        Once a return is taken on some paths (a ``_MaybeReturn``), each later iteration runs in a
        branch where it was not (one ``if returned < 0.5:`` per iteration, at the loop's level),
        and so does the code after the loop."""
        pending = None  # a _MaybeReturn: later iterations run where nothing returned
        broke = None  # a _MaybeBreak: later iterations (and 'else') run where nothing broke
        for run in iterations:
            if pending is not None:
                signal = self._guarded(pending, run)
            elif broke is not None:
                signal = self.unless_broken(broke, run)
            else:
                signal = run()
            if isinstance(signal, _Return):
                return signal
            if isinstance(signal, _MaybeReturn):
                pending, signal = signal, signal.exit
            if isinstance(signal, _MaybeBreak) and signal.kind is BREAK:
                broke, signal = signal, None
            elif isinstance(signal, _MaybeBreak):  # continue: the next iteration runs everywhere
                signal = None
            if pending is not None and broke is not None:
                raise located(
                    UnsupportedSyntaxError,
                    "a 'return' and a 'break' under conditions on differentiated values in one loop",
                    self.tracer.frame.parsed, stmt,
                    hint="use one way out of the loop; put the rest of the body under 'if'",
                )
            if signal is BREAK:
                break
        else:
            if stmt.orelse:
                def orelse():
                    return self.tracer.exec_block(stmt.orelse, cont=[])

                if broke is not None:
                    self.unless_broken(broke, orelse)
                else:
                    signal = orelse() if pending is None else self._guarded(pending, orelse)
                    if isinstance(signal, (_Return, _MaybeReturn)):
                        pending = signal
        if isinstance(pending, _Return):
            return pending
        if pending is not None:  # the code after the loop runs where nothing returned
            return _MaybeReturn(pending.flag, pending.value, pending.node, pending.stmt, False)
        return None

    def exec_While(self, stmt):
        return self._loop(stmt, self._while_iterations(stmt))

    def _while_iterations(self, stmt):
        """A ``while`` loop's iterations while its (concrete) condition holds; then its ``else``."""
        steps = 0
        while True:
            self.tracer.current = stmt
            test = self.tracer.condition(stmt.test)
            truth = _truth(test)
            if truth is None:
                self.tracer.check_deferrable(test)
                # (the iterations traced so far, while the condition was known, stay unrolled:
                # the rest is a while loop from their state, run as one more "iteration" where
                # none of them returned or broke out)
                yield lambda: self._rolled_while(stmt)
                return
            if not truth:
                return
            steps += 1
            if steps > MAX_LOOP_STEPS:
                raise located(
                    SymdiffError, f"this 'while' loop ran {MAX_LOOP_STEPS} times without ending",
                    self.tracer.frame.parsed, stmt, hint="check the loop's condition",
                )
            yield lambda: self.tracer.exec_block(stmt.body, cont=[])

    def _rolled_while(self, stmt):
        """The rest of a ``while`` whose condition depends on data, kept as one ``ir.Loop``
        (``loops.roll_while``): the signal it ends with (None, or a ``_MaybeReturn`` where its
        body returns on some paths); else a located refusal."""
        kept = loops.roll_while(self.tracer, stmt)
        if not isinstance(kept, str):
            return kept
        raise located(
            UnsupportedSyntaxError,
            f"a 'while' loop whose condition depends on a differentiated value: {kept}",
            self.tracer.frame.parsed, stmt.test,
            hint="use grad/value_and_grad of a while loop of numbers and arrays (put the rest of "
            "the body under 'if'); or loop a fixed number of times (for k in range(n)) and stop changing "
            "the result once done, e.g. with 'if'",
        )

    def exec_Break(self, stmt):
        return BREAK

    def exec_Continue(self, stmt):
        return CONTINUE
