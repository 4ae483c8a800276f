"""dlcore as a dependency: the built wheel and sdist hold what they should, and a downstream
project installs the wheel by its real name with the torch extra, trains through
``from dlcore import Trainer``, and type-checks its use of it.

Building and installing take minutes (a virtual environment with torch): these tests run when
DLCORE_PACKAGE_TESTS=1, as tox's ``package`` environment (part of CI) sets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "dlcore-ml"

pytestmark = pytest.mark.skipif(os.environ.get("DLCORE_PACKAGE_TESTS") != "1",
                                reason="builds and installs packages: set DLCORE_PACKAGE_TESTS=1 (tox -e package)")


def run(*command: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: int = 900):
    out = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, f"{' '.join(map(str, command))}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and sdist, built from this checkout by ``python -m build``."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


def test_wheel_holds_the_package_both_backends_entry_points_and_types(dist):
    (wheel,) = dist.glob("dlcore_ml-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    for required in ("dlcore/__init__.py", "dlcore/py.typed", "dlcore/contract/backend.py", "dlcore/testing/suite.py",
                     "dlcore_torch/backend.py", "dlcore_tf/backend.py"):
        assert required in names, required
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "mutation/"))]
    assert f"Name: {DISTRIBUTION}\n" in metadata and "License-Expression: Apache-2.0" in metadata
    assert "Description-Content-Type: text/markdown" in metadata and "# dlcore\n" in metadata
    assert "Provides-Extra: torch" in metadata and "Provides-Extra: tf" in metadata
    assert "[dlcore]\ntensorflow = dlcore_tf\ntorch = dlcore_torch" in entry_points
    assert "dlcore = dlcore.cli:main" in entry_points


def test_sdist_holds_the_sources_and_no_tests_or_benchmarks(dist):
    (sdist,) = dist.glob("dlcore_ml-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    for required in ("LICENSE", "README.md", "pyproject.toml", "src/dlcore/py.typed", "src/dlcore_torch/backend.py"):
        assert required in names, required
    assert not [n for n in names if n.startswith(("tests", "benchmarks", "mutation", ".ci"))]


DOWNSTREAM = '''
"""A project that depends on dlcore: one epoch on a small problem."""
import numpy as np

from dlcore import History, Trainer, models


def main() -> float:
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (4, 20)).astype(np.float32)
    labels = rng.integers(0, 4, 1000)
    features = (centers[labels] + rng.normal(0, 0.5, (1000, 20))).astype(np.float32)
    trainer = Trainer(epochs=1, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
    spec = models.mlp(20, [16], 4)
    history: History = trainer.fit(spec, (features, labels))
    metrics: dict[str, float] = trainer.evaluate(spec, (features, labels))
    print("BACKEND", trainer.backend_name)
    print("LOSS", history["loss"][-1])
    return metrics["accuracy"]
'''


def test_a_downstream_project_installs_the_wheel_trains_and_type_checks(dist, tmp_path):
    project = tmp_path / "downstream"
    (project / "src" / "downstream").mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=77"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "downstream"
        version = "1.0"
        dependencies = ["{DISTRIBUTION}[torch]"]
    '''))
    (project / "src" / "downstream" / "__init__.py").write_text(DOWNSTREAM)
    (project / "src" / "downstream" / "py.typed").write_text("")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    alone = {"PYTHONPATH": ""}  # the downstream environment sees only what it installed
    run(python, "-m", "pip", "install", "--quiet", "--find-links", dist, project, env=alone, timeout=1800)
    installed = run(python, "-m", "pip", "show", DISTRIBUTION, env=alone).stdout
    assert f"Name: {DISTRIBUTION}" in installed and "Location: " + str(venv) in installed
    trained = run(python, "-c", "import downstream; print('ACCURACY', downstream.main())",
                  env={**alone, "DLCORE_BACKEND": "torch"}, cwd=tmp_path)
    lines = dict(line.split(" ", 1) for line in trained.stdout.splitlines() if " " in line)
    assert lines["BACKEND"].startswith("torch") and float(lines["ACCURACY"]) >= 0.9
    checked = run(sys.executable, "-m", "mypy", "--strict", "--python-executable", python, "-p", "downstream",
                  cwd=tmp_path, env={**alone, "MYPYPATH": ""})
    assert "Success: no issues found" in checked.stdout
