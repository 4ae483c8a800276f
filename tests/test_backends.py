"""Backends: found by name, alias or DLCORE_BACKEND; ``import dlcore`` loads no framework and
the core never names a backend package; a missing framework or TensorFlow imported before torch
is one clear error, and the other backend keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dlcore
from conftest import BACKENDS, BOTH
from dlcore import BackendError


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_import_dlcore_loads_no_framework():
    out = run_python(
        "import sys, dlcore; from dlcore import Trainer, datasets, models; "
        "dlcore.backend_infos(); dlcore.select_backend_name() if any(i.available for i in dlcore.backend_infos()) else None; "
        "print([m for m in ('torch', 'tensorflow', 'keras', 'torchvision') if m in sys.modules])"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_builtin_backends_are_registered_in_documented_order():
    names = [info.name for info in dlcore.backend_infos()]
    assert names[:2] == ["torch", "tensorflow"]


def test_unknown_backend_lists_installed_backends():
    with pytest.raises(BackendError, match=r"unknown backend 'mxnet'.*torch.*tensorflow"):
        dlcore.select_backend_name("mxnet")


def test_aliases_and_environment_variable_select_backend(monkeypatch):
    assert dlcore.select_backend_name("TF") == "tensorflow"
    assert dlcore.select_backend_name("pytorch") == "torch"
    monkeypatch.setenv("DLCORE_BACKEND", "tensorflow")
    assert dlcore.select_backend_name() == "tensorflow"
    assert dlcore.select_backend_name("torch") == "torch"  # explicit beats the environment
    monkeypatch.setenv("DLCORE_BACKEND", "nope")
    with pytest.raises(BackendError, match="DLCORE_BACKEND='nope'"):
        dlcore.select_backend_name()


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch as the other backend")
def test_missing_framework_names_the_extra_and_other_backend_still_works():
    blocker = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'tensorflow': raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib.util\n"
        "_orig = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] == 'tensorflow' else _orig(n, *a)\n"
    )
    code = blocker + (
        "import sys, dlcore, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "from conftest import blobs\n"
        "try:\n    dlcore.get_backend('tensorflow')\nexcept dlcore.BackendError as e:\n    print('ERR', e)\n"
        "print('DEFAULT', dlcore.select_backend_name())\n"
        "x, y = blobs()\n"
        "t = dlcore.Trainer(epochs=3, batch_size=32, optimizer='adam', lr=1e-2, seed=0, progress=False)\n"
        "spec = dlcore.models.mlp(20, [16], 4)\n"
        "t.fit(spec, (x[:1000], y[:1000]))\n"
        "print('ACCURACY', t.evaluate(spec, (x[1000:], y[1000:]))['accuracy'])\n"
    ) % str(Path(__file__).parent)
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert "ERR backend 'tensorflow' needs tensorflow" in out.stdout
    assert "pip install 'dlcore-ml[tf]'" in out.stdout
    assert "DEFAULT torch" in out.stdout
    accuracy = float(out.stdout.split("ACCURACY ")[1])
    assert accuracy >= 0.95, "the torch backend did not train while tensorflow was missing"


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_tensorflow_imported_first_gets_an_error_instead_of_a_crash():
    out = run_python(
        "import tensorflow, dlcore\n"
        "try:\n    dlcore.get_backend('torch')\nexcept dlcore.BackendError as e:\n    print('ERR', e)\n"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ERR tensorflow was imported before torch" in out.stdout


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_a_tensorflow_run_does_not_import_torch_and_torch_can_still_follow():
    """A TensorFlow-only run is not charged for torch's import (2 s or more); selecting the
    torch backend after the TensorFlow one still works, with no warning."""
    out = run_python(
        "import sys, warnings, numpy as np\n"
        "from dlcore import Trainer, get_backend, models\n"
        "warnings.simplefilter('error')\n"
        "get_backend('tensorflow')\n"
        "print('torch loaded:', 'torch' in sys.modules)\n"
        "x, y = np.random.default_rng(0).random((64, 8), dtype=np.float32), np.arange(64) % 2\n"
        "for b in ('tensorflow', 'torch'):\n"
        "    h = Trainer(b, epochs=1, progress=False, device='cpu').fit(models.mlp(8, [4], 2), (x, y))\n"
        "    print(b, np.isfinite(h['loss'][0]))\n"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["torch loaded: False", "tensorflow True", "torch True"], out.stdout


SOURCE = Path(__file__).resolve().parent.parent / "src" / "dlcore"


BACKEND_PACKAGES = ("dlcore_torch", "dlcore_tf")


def test_the_core_never_names_a_backend_package():
    """No module of the core imports, references or spells a backend package's name (not even
    in a string or a docstring): the built-in backends arrive through entry points."""
    import ast

    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            for name in names:
                if any(package in name for package in BACKEND_PACKAGES):
                    found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {name[:60]!r}")
        if any(package in path.read_text() for package in BACKEND_PACKAGES):  # comments too
            found.append(f"{path.relative_to(SOURCE.parent)}: names a backend package")
    assert not found, "the core names a backend package:\n" + "\n".join(found)
