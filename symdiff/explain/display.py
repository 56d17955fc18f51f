"""display: a gradient's formulas and code -> LaTeX and Markdown (for notebooks and docs).

Takes: the differentiated function's name, its ``{parameter: formula}`` and generated source.
Returns: LaTeX lines ``\\frac{\\partial u}{\\partial x} = ...``, a ``$$``-delimited LaTeX block and
a Markdown text (formulas in ``$$``, the code in a ``python`` block) for Jupyter's rich display.
"""

import sympy


def _name(name):
    return sympy.latex(sympy.Symbol(name))


def latex_lines(function_name, formulas):
    """``[r"\\frac{\\partial u}{\\partial x} = 2 x ...", ...]``, one per parameter; then, where
    the formulas name the sequences of a loop kept as a loop, the recurrences defining them."""
    top = _name(function_name)
    lines = [
        rf"\frac{{\partial {top}}}{{\partial {_name(param)}}} = {sympy.latex(formula)}"
        for param, formula in formulas.items()
    ]
    for recurrence in getattr(formulas, "recurrences", ()):
        lines += recurrence.latex_lines()
    return lines


def latex_block(function_name, formulas):
    """All formulas as one display-math block (aligned at ``=`` when there are several)."""
    lines = latex_lines(function_name, formulas)
    if len(lines) == 1:
        return f"$${lines[0]}$$"
    aligned = " \\\\ ".join(line.replace(" = ", " &= ", 1) for line in lines)
    return f"$$\\begin{{aligned}} {aligned} \\end{{aligned}}$$"


def markdown(function_name, formulas, source, title):
    """A title, each formula in ``$$``, then the generated code in a fenced ``python`` block."""
    parts = [title, *[f"$${line}$$" for line in latex_lines(function_name, formulas)]]
    parts.append("```python\n" + source.rstrip("\n") + "\n```")
    return "\n\n".join(parts) + "\n"
