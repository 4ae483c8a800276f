"""Shared fixtures: isolated environment, tiny IDX files, installed backends, the test device."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import signal
import sys
from pathlib import Path
from typing import Iterator

import pytest

from dlcore.testing.data import blobs, idx_bytes, learnable_images, write_fashion_mnist  # noqa: F401

# Every installed backend: dlcore's own, and plugins' (such as plugins/dlcore-jax) when installed.
BACKENDS = [info.name for info in __import__("dlcore").backend_infos() if info.available]
BOTH = {"torch", "tensorflow"} <= set(BACKENDS)  # dlcore's two built-in backends, for parity tests
if BOTH:  # in one process torch comes first (dlcore_torch.framework), whichever test imports a framework first
    importlib.import_module("dlcore_torch.framework").import_torch()
# DLCORE_TEST_ACROSS_ONLY=1 (tox's all env) selects this run's tests (pytest_collection_modifyitems),
# not those of the pytest runs that tests start (a backend's contract suite, run by its test).
ACROSS_ONLY = os.environ.pop("DLCORE_TEST_ACROSS_ONLY", None) == "1"
# DLCORE_TEST_FRAMEWORK_ENV=1 (tox's torch, tensorflow and jax envs) leaves out the tests marked
# `core_env`, which the core env ran already and which no installed framework changes.
FRAMEWORK_ENV = os.environ.pop("DLCORE_TEST_FRAMEWORK_ENV", None) == "1"
# DLCORE_TEST_DEVICE=gpu (tox's gpu factor) runs the suite on each backend's first GPU.
TEST_DEVICE = os.environ.get("DLCORE_TEST_DEVICE", "cpu")
# Processes the tests start import the same dlcore as the tests (a checkout, or the scratch
# copy a mutation run tests), not whichever one is installed.
SOURCES = Path(importlib.util.find_spec("dlcore").origin).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SOURCES), os.environ.get("PYTHONPATH")) if p)


NUMPY_BACKEND = Path(__file__).parent / "numpy_backend"


@contextlib.contextmanager
def numpy_backend() -> Iterator[None]:
    """The registry with the numpy test backend, found by its entry point where it is installed
    (or its build metadata lies beside it), else registered here."""
    from dlcore.plugins import Registry, load_plugins, use_registry

    if "numpy" in BACKENDS:
        yield
        return
    sys.path.insert(0, str(NUMPY_BACKEND))
    try:
        pm, broken = load_plugins()
        if pm.get_plugin("numpy") is None:
            pm.register(importlib.import_module("dlcore_numpy"), name="numpy")
        old = use_registry(Registry.collect(pm, broken))
        try:
            yield
        finally:
            use_registry(old)
    finally:
        sys.path.remove(str(NUMPY_BACKEND))


def takes_ctrl_c() -> None:
    """A ``Popen(preexec_fn=...)``: the child takes Ctrl+C (SIGINT) as a terminal's foreground
    process does, also where the tests themselves were started in the background by a script
    (which starts them with SIGINT ignored, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def entry_point(folder: Path, name: str, module: str) -> None:
    """Make ``folder`` (a directory on the path) hold a distribution whose ``dlcore`` entry point
    ``name`` is the module ``module``, as pip would install it."""
    dist = folder / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[dlcore]\n{name} = {module}\n")


def pytest_configure(config):
    config.addinivalue_line("markers", "across: needs several frameworks in one process (the all env runs it) "
                                       "though its own code names no BACKENDS, OTHERS or BOTH")
    config.addinivalue_line("markers", "core_env: needs no framework and runs the same beside any (the numpy "
                                       "backend alone): the core env runs it, a framework's env leaves it out")


# BACKENDS, but not where a test asks for one backend: `BACKENDS[0]` (or [-1], [:1]), `if (not) BACKENDS`,
# `"torch" in BACKENDS`.
ONE_OF_BACKENDS = r"""(?<!if )(?<!not )(?<!" in )\bBACKENDS\b(?!\[(0|-1|:1)\])"""


def _names_other_backends(item) -> bool:
    """Whether a test's own code reaches the other installed backends (a checkpoint read by each;
    not ``BACKENDS[0]``, the default backend alone), or its decorators ask for several
    (``skipif(not BOTH)``; ``"torch" not in BACKENDS`` asks for one)."""
    source = inspect.getsource(item.function)
    decorators, _, body = source.partition("\ndef ")
    decorators, body = (decorators, body) if body else ("", source)
    return (bool(re.search(r"\b(OTHERS|BOTH)\b|" + ONE_OF_BACKENDS, body))
            or any(name in decorators for name in ("OTHERS", "BOTH", "len(BACKENDS)")))


def across(item) -> bool:
    """Whether a test needs several frameworks in one process: marked ``across``, or its own code
    reaches the other installed backends, or its decorators ask for several."""
    return item.get_closest_marker("across") is not None or _names_other_backends(item)


def pytest_collection_modifyitems(config, items):
    """Under DLCORE_TEST_ACROSS_ONLY=1 (tox's `all` env) keep only the tests that need several
    frameworks in one process (:func:`across`): every other test ran in the env of its one
    backend (torch, tensorflow, jax), or, needing no framework, in each env already. Under
    DLCORE_TEST_FRAMEWORK_ENV=1 leave out the tests marked `core_env`."""
    if ACROSS_ONLY:
        alone = [item for item in items if not across(item)]
    elif FRAMEWORK_ENV:
        alone = [item for item in items if item.get_closest_marker("core_env") is not None]
    else:
        return
    if alone:
        config.hook.pytest_deselected(items=alone)
        kept = set(items) - set(alone)
        items[:] = [item for item in items if item in kept]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test sees the user's backend choice, data directories, cache or run folders."""
    monkeypatch.delenv("DLCORE_BACKEND", raising=False)
    monkeypatch.delenv("DLCORE_DATA_DIR", raising=False)
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("DLCORE_RUN_DIR", str(tmp_path_factory.mktemp("runs")))  # dlcore train's run folders
    # torch threads that follow the machine's load can change MKL's last bits between two runs
    # the tests compare bitwise; the tests of that feature turn it back on
    monkeypatch.setenv("DLCORE_ADAPT_THREADS", "0")


def device_on(backend: str) -> str:
    """The test device's name on ``backend``; skips the test where the backend has no such device."""
    from dlcore import DeviceError, get_backend

    if TEST_DEVICE == "cpu":
        return "cpu"
    try:
        return get_backend(backend).device(TEST_DEVICE).name
    except DeviceError:
        pytest.skip(f"{backend} has no {TEST_DEVICE} device here")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Each installed backend in turn (skipped where it has no test device)."""
    device_on(request.param)
    return request.param


@pytest.fixture
def device(backend) -> str:
    """The test device on the test's backend."""
    return device_on(backend)


@pytest.fixture
def fashion_dir(tmp_path) -> Path:
    return write_fashion_mnist(tmp_path / "fmnist")
