"""blocks: the one walker of scheduled code that every backend prints through.

Takes: ``Line`` s and ``IfBlock`` s (what a generated function needs of a ``Schedule``) and a
backend's ``BlockPrinter`` subclass, which says how one line, one ``if`` and one comment look.
Returns: source lines, indented, each run of lines from one of the user's lines under one comment
that names it.
"""

from ..ir import Visitor


class _Scope:
    """One block being printed: its indent, whether it is an arm of an ``if`` (``nested``) and
    the user's line the last comment named (``current``: ``(lineno, reverse, filename)``)."""

    __slots__ = ("indent", "nested", "current")

    def __init__(self, indent, nested, current):
        self.indent = indent
        self.nested = nested
        self.current = current


class BlockPrinter(Visitor):
    """Prints blocks of ``Line`` s and ``IfBlock`` s (``block``); a backend fills in the hooks:
    ``comment_text``, ``line`` and the parts of an ``if`` (``opening``, ``empty_arm``,
    ``else_line``, ``closing``)."""

    stage = "backends"
    step = "    "  # one more level of indentation
    # whether an arm's first line from the ``if``'s own user line goes without a comment of its own
    arm_keeps_comment = True

    def block(self, lines, indent, nested=False, current=None):
        """Source lines for ``lines`` at ``indent`` (``nested``: inside an ``if``)."""
        scope = _Scope(indent, nested, current)
        out = []
        for line in lines:
            self.visit(line, scope, out)
        return out

    def _comment(self, line, scope, out):
        tag = (line.lineno, line.reverse, line.filename)
        if tag != scope.current and line.lineno is not None:
            out.append(scope.indent + self.comment_text(line))
            scope.current = tag
        return tag

    def visit_Line(self, line, scope, out):
        self._comment(line, scope, out)
        out += self.line(line, scope.indent, scope.nested)

    def visit_IfBlock(self, block, scope, out):
        tag = self._comment(block, scope, out)
        indent = scope.indent
        arm = tag if self.arm_keeps_comment else None
        out += self.opening(block, indent, scope.nested)
        out += self.block(block.then, indent + self.step, True, arm) or self.empty_arm(indent + self.step)
        if block.orelse:
            out += self.else_line(indent)
            out += self.block(block.orelse, indent + self.step, True, arm)
        out += self.closing(indent)
        scope.current = None

    # ---- the hooks ----
    def comment_text(self, line):
        """The comment naming the user's line ``line`` comes from."""
        raise NotImplementedError

    def line(self, line, indent, nested):
        """The source lines of one ``Line``."""
        raise NotImplementedError

    def opening(self, block, indent, nested):
        """What comes before an ``if``'s first arm (its test)."""
        raise NotImplementedError

    def empty_arm(self, indent):
        """An arm with no lines."""
        return []

    def else_line(self, indent):
        """Between the arms."""
        raise NotImplementedError

    def closing(self, indent):
        """After the last arm."""
        return []


__all__ = ["BlockPrinter"]
