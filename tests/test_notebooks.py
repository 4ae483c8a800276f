"""The notebooks of examples/ run top to bottom (on tiny generated data, switched by
DLCORE_EXAMPLE_DATA), so they cannot rot: each draws its plots and reaches a learned model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import BACKENDS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))


def test_every_notebook_is_tested():
    assert NOTEBOOKS == ["fashion_mnist_quickstart.ipynb", "imdb_quickstart.ipynb"]


@pytest.mark.skipif(BACKENDS[:1] != ["torch"], reason="the torch env runs them (the notebooks' default backend)")
@pytest.mark.slow  # the torch env runs it, `all` need not
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_notebook_runs_top_to_bottom_and_draws_its_plots(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from dlcore.testing.data import write_fashion_mnist
    from text_fixtures import write_acl_imdb, write_glove

    data = tmp_path / "data"
    if name.startswith("fashion"):
        write_fashion_mnist(data)
    else:
        write_acl_imdb(data / "aclImdb", n=120)
        write_glove(data / "glove.txt")
    monkeypatch.setenv("DLCORE_EXAMPLE_DATA", str(data))
    monkeypatch.setenv("DLCORE_BACKEND", BACKENDS[0])
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == (4 if name.startswith("fashion") else 3)  # samples (images only), curves, confusion, top losses
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert re.search(r"Epoch 2/\d+: loss", text), "the fit's one line per epoch (no ipywidgets here)"
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", text).group(1))
    assert accuracy >= (90 if name.startswith("fashion") else 60)
