"""Every notebook in notebooks/ runs top to bottom in a fresh kernel without an error.

The kernel must be this interpreter (the one with symdiff's dependencies): when the ``python3``
kernelspec Jupyter finds would start another Python, a temporary kernelspec pointing at
``sys.executable`` takes its place. Notebooks are committed with their outputs cleared.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _kernel_python(argv):
    """The interpreter a kernelspec's argv starts (jupyter_client maps bare ``python`` to ours)."""
    name = argv[0]
    if name in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
        return sys.executable
    return shutil.which(name) or name


@pytest.fixture(scope="module")
def kernel_environment(tmp_path_factory):
    """Environment for the kernel: symdiff importable, Agg plots, ``python3`` = this interpreter."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.environ["MPLBACKEND"] = "Agg"
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        same = os.path.realpath(_kernel_python(spec.argv)) == os.path.realpath(sys.executable)
    except NoSuchKernel:
        same = False
    if not same:
        folder = tmp_path_factory.mktemp("jupyter") / "kernels" / "python3"
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (symdiff tests)", "language": "python",
        }))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [str(folder.parent.parent), os.environ.get("JUPYTER_PATH")]))
        spec = KernelSpecManager().get_kernel_spec("python3")
        assert spec.argv[0] == sys.executable
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_chain_rule.ipynb", "02_optimisation.ipynb",
                                          "03_neural_network.ipynb", "04_loops.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_environment):
    notebook = nbformat.read(path, as_version=4)
    # A last cell (not in the file) reports which Python and which symdiff the kernel ran.
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import sys as _sys, symdiff as _symdiff\nprint(_sys.executable)\nprint(_symdiff.__file__)"))
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=60,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs  # (a stream may
                      if o.output_type == "stream" and o.get("name") == "stdout")  # come in parts)
    executable, module = printed.splitlines()
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    assert Path(module) == ROOT / "symdiff" / "__init__.py"
