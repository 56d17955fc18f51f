"""The ``symdiff`` command through real subprocesses: exit codes, stdout and stderr."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from symdiff import demo, emit

ROOT = Path(__file__).resolve().parents[1]

MODEL = """\
import math

RATE = 0.5


def loss(x, y):
    r = x * y - RATE
    return math.log1p(r * r) + math.cos(y)


def uses_import(x):
    import os
    return math.sin(x) * len(os.sep)


NOT_A_FUNCTION = 3
"""


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "symdiff", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd or ROOT)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


def test_help_lists_commands_and_examples():
    result = run("--help")
    assert result.returncode == 0 and result.stderr == ""
    for text in ("{demo,show,emit}", "symdiff show model.py:loss --wrt x,y",
                 "symdiff emit model.py:loss -o loss_grad.c", "exit status: 0 on success"):
        assert text in result.stdout
    emit_help = run("emit", "--help")
    assert emit_help.returncode == 0 and "--lang {python,c}" in emit_help.stdout
    assert "symdiff emit model.py:loss --lang c --wrt x" in emit_help.stdout


def test_emit_prints_the_module():
    result = run("emit", "symdiff/demo.py:u")
    assert result.returncode == 0, result.stderr
    assert result.stdout == emit(demo.u) and result.stderr == ""


def test_emit_writes_c_by_suffix_and_python_by_flag(tmp_path):
    out = tmp_path / "u_grad.c"
    result = run("emit", f"{ROOT / 'symdiff' / 'demo.py'}:u", "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out} (c: u_grad, u_value_and_grad)\n"
    assert out.read_text() == emit(demo.u, language="c")
    result = run("emit", "symdiff/demo.py:u", "-o", out, "--lang", "python")
    assert result.returncode == 0 and out.read_text() == emit(demo.u)


def test_emit_wrt_and_constants(model):
    result = run("emit", f"{model}:loss", "--wrt", "y", "--lang", "c")
    assert result.returncode == 0, result.stderr
    assert "static const double RATE = 0.5;" in result.stdout
    assert "\ndouble loss_grad(double x, double y)\n" in result.stdout


def test_error_in_the_function_is_located_on_stderr(model):
    result = run("emit", f"{model}:uses_import")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"symdiff: {model}:12:5: import statement is not supported in a differentiated function",
        "        import os",
        "        ^",
        "hint: import at module level; symdiff reads module globals",
    ]


@pytest.mark.parametrize("target, message", [
    ("missing.py:loss", "symdiff: no such file: missing.py"),
    ("{model}:nothere", "symdiff: {model} has no function 'nothere'"),
    ("{model}:NOT_A_FUNCTION", "symdiff: {model}: 'NOT_A_FUNCTION' is not a function (its type is int)"),
    ("{model}", "symdiff: expected FILE:FUNC, got '{model}'"),
])
def test_bad_targets_are_one_line_errors(model, tmp_path, target, message):
    result = run("emit", target.format(model=model), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == message.format(model=model) + "\n"


def test_bad_wrt_and_unwritable_output(model, tmp_path):
    result = run("emit", f"{model}:loss", "--wrt", "z")
    assert result.returncode == 2
    assert result.stderr == "symdiff: wrt='z' names no parameter of 'loss'; its parameters are ('x', 'y')\n"
    result = run("emit", f"{model}:loss", "-o", tmp_path / "no" / "dir.py")
    assert result.returncode == 2
    assert result.stderr == f"symdiff: cannot write {tmp_path / 'no' / 'dir.py'}: No such file or directory\n"


def test_show_with_wrt(model):
    result = run("show", f"{model}:loss", "--wrt", "x")
    assert result.returncode == 0, result.stderr
    assert "dloss/dx = 2*y*(-RATE + x*y)/((-RATE + x*y)**2 + 1)" in result.stdout
    assert "dloss/dy" not in result.stdout.split("Chain rule")[0]
