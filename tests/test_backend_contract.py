"""dlcore's backends pass the contract suite that any backend runs (dlcore.testing), on the test
device (DLCORE_TEST_DEVICE, tox's gpu factor), skipped where a backend or device is missing; each
section of the suite runs alone, as a backend that offers only some takes them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from collections import Counter

import pytest

from conftest import BACKENDS, NUMPY_BACKEND, entry_point
from dlcore.testing import BackendTestBase, BackendTests


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
class TestTorch(BackendTests):
    backend = "torch"


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
class TestTensorFlow(BackendTests):
    backend = "tensorflow"


@pytest.mark.parametrize("backend", [b for b in ("torch", "tensorflow") if b in BACKENDS])
def test_deterministic_turns_on_the_frameworks_mode_and_off_again(backend):
    """The suite's deterministic test trains twice alike, which a CPU run does anyway; this checks
    the framework's own switch."""
    from dlcore import Trainer, get_backend

    def enabled() -> bool:
        if backend == "torch":
            import torch

            return torch.are_deterministic_algorithms_enabled()
        from tensorflow.python.framework.config import is_op_determinism_enabled

        return is_op_determinism_enabled()

    assert not enabled()
    Trainer(backend, deterministic=True, device="cpu")
    try:
        assert enabled(), f"Trainer(deterministic=True) left {backend}'s deterministic mode off"
    finally:
        get_backend(backend).set_deterministic(False)
    assert not enabled()


@pytest.mark.core_env
def test_each_section_of_the_suite_runs_alone_and_a_backend_takes_the_ones_it_offers(tmp_path):
    """The numpy backend's contract tests (tests/numpy_backend/contract_tests.py) take the
    sections it offers, one class each or two in one class; the sections it leaves out run alone
    beside them. Each class collects its sections' tests and no other, together they are
    BackendTests, each test once; none fails, and each class of the backend passes tests."""
    def tests(cls: type) -> set[str]:
        return {name for name in dir(cls) if name.startswith("test_")} - set(dir(BackendTestBase))

    sections = BackendTests.__bases__
    assert sum(len(tests(section)) for section in sections) == len(tests(BackendTests)), "a test is in two sections"
    spec = importlib.util.spec_from_file_location("contract_tests", NUMPY_BACKEND / "contract_tests.py")
    offered = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offered)
    classes = {name: cls for name, cls in vars(offered).items() if name.startswith("Test")}
    taken = [section for cls in classes.values() for section in cls.__bases__]
    assert len(taken) == len(set(taken)) and set(taken) < set(sections)
    assert any(len(cls.__bases__) > 1 for cls in classes.values()), "no class groups two sections"
    left_out = [section for section in sections if section not in taken]
    (tmp_path / "test_left_out.py").write_text("from dlcore import testing\n" + "".join(textwrap.dedent(f"""
        class Test{section.__name__}(testing.{section.__name__}):
            backend = "numpy"
            text_models = False
        """) for section in left_out))
    classes.update({f"Test{section.__name__}": section for section in left_out})
    site = tmp_path / "site"  # the numpy backend installed by its entry point, as pip would
    site.mkdir()
    if "numpy" not in BACKENDS:
        entry_point(site, "numpy", "dlcore_numpy")
    paths = os.pathsep.join(filter(None, [str(site), str(NUMPY_BACKEND), os.environ.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml",
                          str(tmp_path / "report.xml"), str(NUMPY_BACKEND / "contract_tests.py"),
                          str(tmp_path / "test_left_out.py")], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": paths})
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
    ran: dict[str, set[str]] = {name: set() for name in classes}
    passed: Counter[str] = Counter()
    for case in ElementTree.parse(tmp_path / "report.xml").iter("testcase"):
        name = case.get("classname").rsplit(".", 1)[-1]
        ran[name].add(case.get("name").split("[")[0])
        passed[name] += not any(child.tag in ("skipped", "failure", "error") for child in case)
    for name, cls in classes.items():
        assert ran[name] == tests(cls), f"{name} ran other tests than its section's"
        assert passed[name] or cls in left_out, f"{name}: the numpy backend offers this section but passed no test"
