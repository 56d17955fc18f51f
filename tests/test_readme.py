"""The README shows what the code gives: every shown output is re-made here and compared.

The README says where its examples ran (``/tmp/example/seed.py``, ``/tmp/example/model.py``,
...). Each example is written to a file of that name in a temporary folder, and ``/tmp/example``
in the shown text stands for that folder. What is checked:

- every Python block with ``# value`` comments: the block runs as a module (its own file), and
  each top-level expression's value must print as its comment shows (``repr``, whitespace aside:
  floats at full repr match exactly; numpy's shortened digits match as numpy prints them); a
  comment that shows an exception (``symdiff.errors.X: ...``, possibly wrapped over comment
  lines) must be the exception raised, message, source line and caret included. Comments that do
  not start like a value (``# one derivative per parameter``) are prose and are not compared;
- the seed's ``print(u.source)``, ``explain()`` and ``latex()``; the located error of ``bad.py``;
  ``print(g.source)`` of ``rosen`` and of ``rnn`` (a loop over arrays); the formulas of
  ``newton_sqrt`` (a loop's recurrences); the C of ``u``, of ``rosen`` and of ``decay`` (a loop), the
  C prototypes;
- the module ``symdiff emit model.py:loss`` prints (lines shown as ``...`` are elided there);
- the console sessions: ``symdiff ...`` commands run in-process through ``symdiff.cli.main``,
  ``python -c "import symdiff ..."`` in-process, other commands (``python -I``, ``ruff``, ``cc``)
  in a shell, in the example folder; their output must be what is shown.

A README edit that adds a value comment is checked without changing this file; a new listing
needs a line here.
"""

import ast
import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import symdiff
from symdiff import cli

README = Path(__file__).resolve().parents[1] / "README.md"
SHOWN_DIR = "/tmp/example"  # where the README says its examples ran

# The file each Python example block ran as, keyed by a line that identifies the block.
EXAMPLE_FILES = {
    "def u(x):": "seed.py",                      # 'this ran as /tmp/example/seed.py'
    "def f(x, y, k=2.0):": "readme_api.py",
    "def huber(r, delta=1.0):": "readme_branches.py",
    "def moments(x, n):": "readme_lists.py",    # its error message names readme_lists.py
    "def softplus(x):": "readme_register.py",
    "def rosen(x):": "arrays.py",               # 'from /tmp/example/arrays.py:6'
    "def loss(params, X, y):": "containers.py",  # 'from /tmp/example/containers.py:5'
    "def chained(x):": "sparse.py",
    "def scaled_sqrt(a, b):": "readme_second.py",
    "def field(x):": "onepass.py",
    "def outer(x):": "readme_nested.py",
    "RATE = 0.5": "model.py",
    "def newton_sqrt(a):": "readme_while.py",
    "def fill(x):": "readme_inplace.py",        # its error message names readme_inplace.py
    "def mlp_loss(params, X, y):": "mlp.py",
    "def decay(x, a):": "readme_c_loop.py",
    "def pendulum(theta, omega, g, T):": "readme_checkpoint.py",
    "def first_over(x, c):": "readme_while_return.py",
    "def rnn(W, U, h0, X):": "readme_rnn.py",
    "def shrink(v):": "readme_while_arrays.py",
}
# Shown in the README only through their error message and its line/column: bad.py:5:12.
BAD_PY = "import math\n\n\ndef bad(x):\n    return math.remainder(x, 2.0) * x\n"
# 'model.py as above plus, on lines 11-12, def bad(x): / return math.remainder(x, 2.0) * x'
MODEL_BAD = "\n\ndef bad(x):\n    return math.remainder(x, 2.0) * x\n"
# The C prototypes' third function, as its comment says: np.dot(w, np.sin(x)) + c*np.sum(x**2)
ENERGY_PY = ("import numpy as np\n\n\ndef energy(x, w, c):\n"
             "    return np.dot(w, np.sin(x)) + c * np.sum(x ** 2)\n")


@dataclass
class Block:
    lang: str
    text: str
    line: int  # README line of the block's first line of text


def readme_blocks(text):
    """The fenced blocks of ``text``, their indentation (inside list items) removed."""
    found, lines, k = [], text.splitlines(), 0
    while k < len(lines):
        opening = re.match(r"^(\s*)```(\w*)\s*$", lines[k])
        if not opening:
            k += 1
            continue
        indent, lang, body, k = opening.group(1), opening.group(2), [], k + 1
        start = k + 1
        while k < len(lines) and lines[k].strip() != "```":
            body.append(lines[k].removeprefix(indent))
            k += 1
        found.append(Block(lang, "\n".join(body) + "\n", start))
        k += 1
    return found


README_TEXT = README.read_text(encoding="utf-8")
BLOCKS = readme_blocks(README_TEXT)


def block(lang, starts=None, contains=None):
    """The one README block of ``lang`` that starts with / contains the given text."""
    hits = [b for b in BLOCKS if b.lang == lang
            and (starts is None or b.text.startswith(starts))
            and (contains is None or contains in b.text)]
    assert len(hits) == 1, f"expected one {lang} block starting {starts!r} / containing " \
                           f"{contains!r} in README.md, found {len(hits)}"
    return hits[0]


def example_file(b):
    names = [name for key, name in EXAMPLE_FILES.items()
             if re.search(rf"^{re.escape(key)}\s*$", b.text, re.MULTILINE)]
    assert len(names) == 1, f"README.md:{b.line}: which file did this example run as?"
    return names[0]


# ---- comments of the example blocks ----

LOOKS_LIKE_VALUE = re.compile(r"""[-+.\d(\[{<'"]|array\(|np\.|(True|False|None|nan|inf)\b""")
LOOKS_LIKE_ERROR = re.compile(r"([A-Za-z_][\w.]*)?(Error|Exception|Warning|Interrupt)\b: ")


def comments(source):
    """Line number -> the text of the comment on that line (after '#' and one space), and the
    set of lines that hold nothing but a comment."""
    found, alone = {}, set()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            found[row] = re.sub(r"^# ?", "", tok.string)
            if not lines[row - 1][:col].strip():
                alone.add(row)
    return found, alone


def shown_output(source, stmt, found, alone):
    """The comment text shown for a top-level statement: its own line's comment, then the
    comment-only lines right after it; None when there is none."""
    parts = [found[stmt.end_lineno]] if stmt.end_lineno in found else []
    row = stmt.end_lineno + 1
    while row in alone:
        parts.append(found[row])
        row += 1
    return parts or None


def norm(text):
    return re.sub(r"\s+", " ", text).strip()


def lines_fit(shown_lines, actual):
    """Whether ``actual`` (a multi-line message) is ``shown_lines``, where a shown line may be
    one actual line wrapped over several comment lines (joined with one space)."""
    shown = list(shown_lines)
    for want in actual.splitlines():
        if not shown:
            return False
        got = shown.pop(0)
        while got != want and shown and len(got) < len(want):
            got = f"{got} {shown.pop(0)}"
        if got != want:
            return False
    return not shown


def run_example(b, folder):
    """Run block ``b`` as the module in ``folder``/its file: the statements as written, each
    top-level expression's outcome recorded. Returns (module, {line: ("ok"|"err", value)})."""
    path = folder / example_file(b)
    path.write_text(b.text, encoding="utf-8")
    tree = ast.parse(b.text, str(path))
    for k, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Expr):
            record = ast.parse(f"__readme_outcomes__[{stmt.end_lineno}] = "
                               "__readme_capture__(lambda: None)").body[0]
            record.value.args[0].body = stmt.value
            tree.body[k] = ast.copy_location(record, stmt)
    ast.fix_missing_locations(tree)

    def capture(thunk):
        try:
            return ("ok", thunk())
        except Exception as exc:  # what the README shows may be an exception
            return ("err", exc)

    module = types.ModuleType(f"_readme_{path.stem}")
    module.__file__ = str(path)
    module.__readme_outcomes__ = {}
    module.__readme_capture__ = capture
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module, module.__readme_outcomes__


def check_outcome(b, folder, source, stmt, shown, outcome):
    """A message when the shown comment is not what the statement gave, else None."""
    where = f"README.md:{b.line + stmt.lineno - 1}: {ast.get_source_segment(source, stmt)}"
    kind, value = outcome
    text = " ".join(shown) if shown else ""
    if shown and LOOKS_LIKE_ERROR.match(shown[0]):
        expected = [line.replace(SHOWN_DIR, str(folder)) for line in shown]
        if kind != "err":
            return f"{where}\n  shows an exception, gives {value!r}"
        name = type(value).__qualname__
        if expected[0].startswith(f"{type(value).__module__}.{name}:"):
            name = f"{type(value).__module__}.{name}"
        actual = f"{name}: {value}"
        if not lines_fit(expected, actual):
            return f"{where}\n  shows:\n{chr(10).join(expected)}\n  gives:\n{actual}"
        return None
    if kind == "err":
        return f"{where}\n  raises {type(value).__name__}: {value}"
    if not shown or not LOOKS_LIKE_VALUE.match(text):
        return None  # prose, not a value
    want, got = norm(text.replace(SHOWN_DIR, str(folder))), norm(repr(value))
    if not (want == got or want.startswith(got + " ")):
        return f"{where}\n  shows  {text}\n  gives  {value!r}"
    return None


VALUE_BLOCKS = [b for b in BLOCKS if b.lang == "python" and any(
    isinstance(stmt, ast.Expr) for stmt in ast.parse(b.text).body)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("example").resolve()


@pytest.fixture(scope="module")
def examples(folder):
    """Each value block run once, in README order: file name -> (module, outcomes)."""
    ran = {}
    try:
        for b in VALUE_BLOCKS:
            ran[example_file(b)] = run_example(b, folder)
        yield ran
    finally:  # the register example's rules must not outlive this module
        registered = ran.get("readme_register.py")
        if registered is not None:
            import scipy.special

            symdiff.unregister(registered[0].softplus)
            symdiff.unregister(scipy.special.erf)


def test_the_value_blocks_are_found():
    names = {example_file(b) for b in VALUE_BLOCKS}
    assert {"seed.py", "readme_api.py", "readme_branches.py", "readme_lists.py",
            "readme_register.py", "arrays.py"} <= names


@pytest.mark.parametrize("b", VALUE_BLOCKS, ids=example_file)
def test_values_in_comments_are_what_the_code_gives(b, examples, folder):
    _, outcomes = examples[example_file(b)]
    found, alone = comments(b.text)
    problems, compared = [], 0
    for stmt in ast.parse(b.text).body:
        if not isinstance(stmt, ast.Expr):
            continue
        shown = shown_output(b.text, stmt, found, alone)
        problem = check_outcome(b, folder, b.text, stmt, shown, outcomes[stmt.end_lineno])
        if problem:
            problems.append(problem)
        compared += 1
    assert not problems, "\n\n".join(problems)
    assert compared


def test_the_minimisation_takes_the_iterations_shown(examples):
    match = re.search(r"^res\.x .*# .* after (\d+) iterations$", README_TEXT, re.MULTILINE)
    assert match, "README.md: the line 'res.x  # array(...) after N iterations'"
    assert examples["arrays.py"][0].res.nit == int(match.group(1))


# ---- listings ----

def shown(text, folder):
    return text.replace(SHOWN_DIR, str(folder))


def test_seed_source_explain_and_latex(examples, folder):
    u = examples["seed.py"][0].u
    assert u.source.rstrip("\n") == shown(block("python", starts="def u_grad(x):").text,
                                          folder).rstrip("\n")
    assert u.explain().rstrip("\n") == shown(block("text", starts="Chain rule for u(x)").text,
                                             folder).rstrip("\n")
    assert u.latex().rstrip("\n") == block("text", starts="\\frac{\\partial u}").text.rstrip("\n")


def test_located_error_of_bad_py(folder):
    path = folder / "bad.py"
    path.write_text(BAD_PY, encoding="utf-8")
    namespace = {"__name__": "_readme_bad", "__file__": str(path)}
    exec(compile(BAD_PY, str(path), "exec"), namespace)
    with pytest.raises(symdiff.SymdiffError) as info:
        symdiff.grad(namespace["bad"])(1.0)
    expected = shown(block("text", starts="UnknownFunctionError:").text, folder)
    assert f"{type(info.value).__name__}: {info.value}" == expected.rstrip("\n")


def test_rosen_source_after_a_call_with_a_3_vector(examples, folder):
    import numpy as np

    g = symdiff.grad(examples["arrays.py"][0].rosen)
    g(np.array([0.5, 1.0, 1.5]))
    assert g.source.rstrip("\n") == shown(block("python", starts="def rosen_grad(x):").text,
                                          folder).rstrip("\n")


def test_rnn_source_keeps_the_loop(examples, folder):
    g = examples["readme_rnn.py"][0].g  # (called in the example)
    assert g.source.rstrip("\n") == shown(block("python", starts="def rnn_grad(W, U, h0, X):").text,
                                          folder).rstrip("\n")


def test_formulas_of_the_newton_loop(examples):
    g = examples["readme_while.py"][0].g  # (called in the example)
    assert repr(g.formulas) == block("text", starts="{'a': xbar[0] + Sum(").text.rstrip("\n")


def test_container_gradient_source(examples, folder):
    module = examples["containers.py"][0]
    g = symdiff.grad(module.loss, wrt="params")
    g(module.params, module.X, module.y)
    assert g.source.rstrip("\n") == shown(block("python", starts="def loss_grad(params, X, y):").text,
                                          folder).rstrip("\n")


def test_c_of_the_seed(examples, folder):
    text = symdiff.emit(examples["seed.py"][0].u.fun, language="c")
    listing = block("c", starts="/* Gradient of u with respect to x. */").text
    assert shown(listing, folder) in text


def test_c_of_a_rolled_loop(examples, folder):
    text = examples["readme_c_loop.py"][0].c
    assert text == symdiff.emit(examples["readme_c_loop.py"][0].decay, language="c")
    listing = block("c", starts="/* Gradient of decay with respect to x, a. */").text
    assert shown(listing, folder) in text


def test_c_prototypes(examples, folder):
    import numpy as np

    path = folder / "energy.py"
    path.write_text(ENERGY_PY, encoding="utf-8")
    namespace = {"__name__": "_readme_energy", "__file__": str(path)}
    exec(compile(ENERGY_PY, str(path), "exec"), namespace)
    texts = symdiff.emit(examples["arrays.py"][0].rosen, language="c", args=(np.zeros(5),)) + \
        symdiff.emit(namespace["energy"], language="c", args=(np.zeros(5), np.zeros(5), 1.0))
    defined = {norm(m.group(1)) for m in re.finditer(r"^((?:void|double) \w+\([^)]*\))", texts,
                                                       re.MULTILINE)}
    listing = block("c", starts="void rosen_grad(").text
    prototypes = [norm(p) for p in re.findall(r"((?:void|double) \w+\([^)]*\));", listing)]
    assert len(prototypes) == 3
    for prototype in prototypes:
        assert prototype in defined, prototype


def fits_with_elisions(listing, actual):
    """Whether ``actual`` is ``listing`` where each line that is only ``...`` stands for one or
    more lines left out."""
    chunks = re.split(r"(?m)^[ \t]*\.\.\.[ \t]*\n", listing)
    if not actual.startswith(chunks[0]):
        return False
    at = len(chunks[0])
    for chunk in chunks[1:]:
        if not chunk:  # the listing ends with '...'
            return at < len(actual)
        found = actual.find(chunk, at + 1)
        while found != -1 and actual[found - 1] != "\n":
            found = actual.find(chunk, found + 1)
        if found == -1:
            return False
        at = found + len(chunk)
    return at == len(actual)


def test_fits_with_elisions():
    assert fits_with_elisions("a\n    ...\nc\n", "a\nb\nb2\nc\n")
    assert not fits_with_elisions("a\n    ...\nc\n", "a\nc\n")
    assert not fits_with_elisions("a\n    ...\nc\n", "a\nb\nc\nd\n")
    assert fits_with_elisions("a\n...\n", "a\nb\n")
    assert not fits_with_elisions("a\n...\n", "a\n")


# ---- console sessions ----

def console_steps(text):
    """``(command, shown output)`` pairs of a console block."""
    steps = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append([line[2:], []])
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1][1].append(line)
    return [(command, "".join(f"{line}\n" for line in out)) for command, out in steps]


def run_command(command, folder, monkeypatch):
    """What ``command`` prints (stdout, then stderr), run in ``folder``."""
    monkeypatch.chdir(folder)
    echo = re.fullmatch(r'(.*); echo "exit \$\?"', command)
    line = echo.group(1) if echo else command
    words = shlex.split(line)
    if words[0] == "symdiff" and not re.search(r"[;&|]", line):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(words[1:])
        text = out.getvalue() + err.getvalue()
    elif words[:2] == ["python", "-c"] and "import symdiff" in words[2] and len(words) == 3:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(words[2], "<readme>", "exec"), {"__name__": "__main__"})
        text, status = out.getvalue(), 0
    else:
        bin_dir = folder / "bin"  # 'python' is this interpreter
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "python").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        (bin_dir / "python").chmod(0o755)
        path = os.pathsep.join([str(bin_dir), os.path.dirname(sys.executable),
                                os.environ.get("PATH", "")])
        result = subprocess.run(["bash", "-c", line], check=False, cwd=folder, text=True,
                                capture_output=True, timeout=120, env=dict(os.environ, PATH=path))
        text, status = result.stdout + result.stderr, result.returncode
    return text + (f"exit {status}\n" if echo else "")


def check_console(text, folder, monkeypatch, before=None):
    for command, out in console_steps(text):
        if before:
            before(command)
        got = run_command(command, folder, monkeypatch)
        assert got == shown(out, folder), f"$ {command}\nshown:\n{out}\ngives:\n{got}"


def write_model(folder):
    """model.py as the README shows it, plus ``bad`` on lines 11-12 as the CLI session says."""
    model = block("python", starts="import math\n\nRATE = 0.5\n").text + MODEL_BAD
    assert model.splitlines()[10:12] == ["def bad(x):", "    return math.remainder(x, 2.0) * x"]
    (folder / "model.py").write_text(model, encoding="utf-8")
    return model


def test_emitted_model_module(folder, monkeypatch):
    model = write_model(folder)
    match = re.search(r"^`(symdiff emit model\.py:loss)` \(or `symdiff\.emit\(loss\)`\) prints:",
                      README_TEXT, re.MULTILINE)
    assert match
    printed = run_command(match.group(1), folder, monkeypatch)
    listing = shown(block("python", starts='"""Gradient of loss(x, y)').text, folder)
    assert fits_with_elisions(listing, printed), printed
    namespace = {"__name__": "_readme_model", "__file__": str(folder / "model.py")}
    exec(compile(model, str(folder / "model.py"), "exec"), namespace)
    assert symdiff.emit(namespace["loss"]) == printed


def test_cli_session(folder, monkeypatch):
    write_model(folder)
    assert "In `/tmp/example`, with `model.py` as above plus, on lines 11-12" in README_TEXT
    check_console(block("console", starts="$ symdiff emit model.py:bad").text, folder, monkeypatch)


def test_standalone_module_session(folder, monkeypatch):
    session = block("console", starts='$ python -c "import symdiff; from symdiff import demo')
    steps = console_steps(session.text)

    def before(command):
        if command.startswith("ruff ") and shutil.which("ruff", path=os.path.dirname(
                sys.executable) + os.pathsep + os.environ.get("PATH", "")) is None:
            pytest.skip("ruff is not installed")

    (folder / "u_grad.py").unlink(missing_ok=True)
    assert len(steps) == 3
    check_console(session.text, folder, monkeypatch, before)


def test_c_of_rosen_and_the_c_session(examples, folder, monkeypatch):
    (folder / "rosen_grad.c").unlink(missing_ok=True)
    match = re.search(r"`(symdiff emit arrays\.py:rosen --lang c --arrays x -o rosen_grad\.c)`",
                      README_TEXT)
    assert match
    assert run_command(match.group(1), folder, monkeypatch).startswith("wrote rosen_grad.c")
    listing = block("c", starts="/* Value of rosen and its gradient").text
    assert shown(listing, folder) in (folder / "rosen_grad.c").read_text(encoding="utf-8")
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    steps = console_steps(block("console", starts="$ cat main.c").text)
    assert steps[0][0] == "cat main.c"
    (folder / "main.c").write_text(steps[0][1], encoding="utf-8")
    check_console(block("console", starts="$ cat main.c").text, folder, monkeypatch)


def test_quick_start_commands():
    quick = block("bash", starts="pip install . && symdiff demo")
    assert quick.text.splitlines() == ["pip install . && symdiff demo",
                                       'pip install ".[test]" && python -m pytest']
    assert "symdiff = \"symdiff.cli:main\"" in (README.parent / "pyproject.toml").read_text()
