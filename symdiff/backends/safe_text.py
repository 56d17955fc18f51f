"""safe_text: strings from outside (file paths, function names, source lines) -> text that is safe
inside generated code.

Takes: any ``str`` — a file path (``C:\\Users\\...``, a directory named with ``\"\"\"``, a file name
with a newline), a function's ``__name__``, a line of the user's source. Returns: text that cannot
end the construct it is put in — a Python docstring or ``#`` comment, a C ``/* */`` comment — and so
can never make the generated code a SyntaxError or inject code into it. Readable text passes
through unchanged.
"""


def printable(text):
    """``text`` on one line: every character Python does not print as itself (a newline, a tab,
    U+2028, an escape character) as its backslash escape, the rest unchanged.

    >>> printable('a\\nb')
    'a\\\\nb'
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def python_docstring(text):
    """A Python string literal holding ``text``: ``\"\"\"text\"\"\"`` when that reads as ``text``
    itself, else ``repr(text)`` (a backslash, a quote or an unprintable character in it)."""
    text = str(text)
    if text.isprintable() and "\\" not in text and '"' not in text:
        return f'"""{text}"""'
    return repr(text)


def python_comment(text):
    """Text for after a ``#``: one line (a newline in it would end the comment)."""
    return printable(text)


def c_comment(text):
    """Text safe inside a C ``/* ... */`` comment: no comment delimiters, no trigraphs (``??/`` is
    a backslash in C99), no line splices, no unprintable characters (newlines are kept)."""
    lines = [printable(line) for line in str(text).split("\n")]
    text = "\n".join(lines)
    return text.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")
