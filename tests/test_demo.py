"""``symdiff demo`` (the README's first command) through a real subprocess."""

import math
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "symdiff", *args], capture_output=True, text=True, timeout=120)


def test_demo_prints_formula_explanation_code_and_value():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "du/dx = 2*x*exp(sin(x**2))*cos(x**2)" in out
    assert "dz/dy = cos(y)" in out and "du/dz = exp(z)" in out
    assert "def u_grad(x):" in out and "# line" in out
    value = float(out.strip().splitlines()[-1].split(":")[-1])
    assert value == math.exp(math.sin(4.0)) * math.cos(4.0) * 4.0


def test_show_and_errors(tmp_path):
    good = tmp_path / "model.py"
    good.write_text("import math\n\ndef f(x, y):\n    return math.sin(x) * y\n\ndef bad(x):\n    return open(x)\n")
    result = run("show", f"{good}:f", "--wrt", "y")
    assert result.returncode == 0, result.stderr
    assert "df/dy = sin(x)" in result.stdout
    result = run("show", f"{good}:bad")
    assert result.returncode == 2
    assert f"{good}:7" in result.stderr and "open" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("show", f"{tmp_path}/missing.py:f")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    result = run("show", f"{good}:nothere")
    assert result.returncode == 2 and "no function 'nothere'" in result.stderr
