"""Errors symdiff raises about the user's code.

Takes: a message, the construct's location (file, absolute line, column) and a hint.
Returns: exceptions whose ``str`` shows ``file:line:col``, the source line, a caret under the
construct and what to do instead.
"""

import linecache


class SymdiffError(Exception):
    """Base of every error symdiff raises about the user's code.

    Attributes: ``filename``, ``lineno`` (absolute line in the file), ``col_offset`` (0-based
    column in that line), ``source_line`` (the line's text) and ``hint`` (what to do instead).
    """

    def __init__(self, message, filename=None, lineno=None, col_offset=None, hint=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.hint = hint
        self.source_line = None
        if filename and lineno:
            line = linecache.getline(filename, lineno)
            self.source_line = line.rstrip("\n") or None
        super().__init__(self._render())

    def _render(self):
        parts = []
        if self.filename and self.lineno:
            col = "" if self.col_offset is None else f":{self.col_offset + 1}"
            parts.append(f"{self.filename}:{self.lineno}{col}: {self.message}")
        else:
            parts.append(self.message)
        if self.source_line is not None:
            parts.append("    " + self.source_line)
            if self.col_offset is not None:
                parts.append("    " + " " * self.col_offset + "^")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedSyntaxError(SymdiffError):
    """A statement or expression symdiff cannot differentiate through."""


class UnknownFunctionError(SymdiffError):
    """A call to a function symdiff has no rule for (never treated as a constant)."""


class NoSourceError(SymdiffError, TypeError):
    """The function's source code cannot be read (builtins, ``exec``-defined functions)."""


class StaleSourceError(NoSourceError):
    """The source that can be read is not the code that runs (edited after import, or cached for
    another function defined at the same place)."""


class ShapeError(SymdiffError, ValueError):
    """A value has the wrong kind or shape (e.g. ``grad`` of a function returning a tuple)."""


class ArgumentError(SymdiffError, TypeError):
    """An argument passed to a gradient is not something symdiff can differentiate at."""


class WrtError(SymdiffError, ValueError):
    """``wrt`` names no parameter of the function."""


class ExportError(SymdiffError, ValueError):
    """A gradient that cannot be written in the requested language (or an unknown language)."""


class NestingError(SymdiffError):
    """The function nests (calls or expressions) deeper than symdiff can translate."""
