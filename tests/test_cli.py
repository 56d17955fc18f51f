"""The ``symdiff`` command through real subprocesses: exit codes, stdout and stderr."""

import math
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
    assert result.returncode == 2 and result.stderr == f"symdiff: {out} exists; pass --force to overwrite it\n"
    assert out.read_text() == emit(demo.u, language="c")  # untouched
    result = run("emit", "symdiff/demo.py:u", "-o", out, "--lang", "python", "--force")
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


# ---- never over the user's source; importing runs the file (issue 11, item 22) ----


def test_emit_never_writes_over_its_input_file(model):
    before = model.read_text()
    for extra in ((), ("--force",)):
        result = run("emit", f"{model}:loss", "-o", model, *extra)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr == f"symdiff: refusing to write {model}: it is the input file {model}\n"
        assert model.read_text() == before
    link = model.parent / "link.py"
    link.symlink_to(model)
    result = run("emit", f"{model}:loss", "-o", link, "--force")
    assert result.returncode == 2 and "it is the input file" in result.stderr
    assert model.read_text() == before


def test_emit_refuses_an_existing_output_without_force(model, tmp_path):
    out = tmp_path / "loss_grad.py"
    out.write_text("# the user's own file\n")
    result = run("emit", f"{model}:loss", "-o", out)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"symdiff: {out} exists; pass --force to overwrite it\n"
    assert out.read_text() == "# the user's own file\n"
    result = run("emit", f"{model}:loss", "-o", out, "--force")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == result_of_emit(model, "loss")


def result_of_emit(path, name):
    """The module ``symdiff emit PATH:NAME`` prints (stdout only)."""
    result = run("emit", f"{path}:{name}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_module_that_exits_or_is_interrupted_at_import(tmp_path):
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(3)\n\ndef f(x):\n    return x\n")
    for command in ("show", "emit"):
        result = run(command, f"{exits}:f")
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr == f"symdiff: cannot import {exits}: its top-level code called sys.exit(3)\n"
    interrupted = tmp_path / "interrupted.py"
    interrupted.write_text("raise KeyboardInterrupt\n")
    result = run("show", f"{interrupted}:f")
    assert result.returncode == 130 and result.stdout == ""
    assert result.stderr == "symdiff: interrupted\n"  # no traceback


def test_what_the_module_prints_at_import_stays_out_of_the_emitted_module(tmp_path):
    chatty = tmp_path / "chatty.py"
    chatty.write_text("import math\nprint('hello from chatty')\n\ndef f(x):\n    return math.sin(x) * x\n")
    result = run("emit", f"{chatty}:f")
    assert result.returncode == 0 and result.stderr == "hello from chatty\n"
    namespace = {}
    exec(compile(result.stdout, "emitted", "exec"), namespace)
    x = 0.7
    assert namespace["f_grad"](x) == pytest.approx(math.sin(x) + x * math.cos(x), rel=1e-15)


def test_help_says_show_and_emit_import_the_file():
    assert "show and emit import FILE: its top-level code runs" in run("--help").stdout
    for command in ("show", "emit"):
        assert "FILE is imported: its top-level code runs." in run(command, "--help").stdout
    assert "--force" in run("emit", "--help").stdout
