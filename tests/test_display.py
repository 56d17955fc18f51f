"""LaTeX and Jupyter rich display of a Gradient: exact text for the seed and a two-parameter function."""

from symdiff import demo, grad, value_and_grad

from .corpus import poly2

SEED_LATEX = (
    r"\frac{\partial u}{\partial x} = 2 x e^{\sin{\left(x^{2} \right)}} \cos{\left(x^{2} \right)}"
)


def test_latex_of_the_seed():
    g = grad(demo.u)
    assert g.latex() == SEED_LATEX
    assert g._repr_latex_() == f"$${SEED_LATEX}$$"


def test_latex_lines_per_parameter_and_aligned_block():
    g = grad(poly2)
    lines = [
        r"\frac{\partial poly_{2}}{\partial x} = 9 x^{2} - 2 y",
        r"\frac{\partial poly_{2}}{\partial y} = - 2 x + \frac{y}{2}",
    ]
    assert g.latex() == "\n".join(lines)
    assert g._repr_latex_() == (
        r"$$\begin{aligned} \frac{\partial poly_{2}}{\partial x} &= 9 x^{2} - 2 y \\ "
        r"\frac{\partial poly_{2}}{\partial y} &= - 2 x + \frac{y}{2} \end{aligned}$$"
    )
    assert grad(poly2, wrt="y").latex() == lines[1]


def test_markdown_shows_formulas_and_code():
    g = grad(demo.u)
    assert g._repr_markdown_() == (
        "**Gradient of `u` with respect to `x`** (symdiff)\n\n"
        f"$${SEED_LATEX}$$\n\n"
        f"```python\n{g.source}```\n"
    )
    vg = value_and_grad(demo.u)._repr_markdown_()
    assert vg.startswith("**Value and gradient of `u`") and "def u_value_and_grad(x):" in vg


def test_lambda_is_shown_as_f():
    assert grad(lambda x: x ** 3).latex() == r"\frac{\partial f}{\partial x} = 3 x^{2}"
