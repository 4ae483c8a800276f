"""Kernel choices: measured once per machine and framework version, cached, overridable, and
never a slower kernel than the plain one unless it is clearly faster."""

from __future__ import annotations

import json

import pytest

from dlcore import ConfigError, tuning
from dlcore.tuning import choices


@pytest.fixture
def timings(monkeypatch):
    """Fake measurements: set ``timings.seconds``; ``timings.calls`` counts measurements."""

    class Timings:
        seconds: dict[str, float] = {}
        calls = 0

    def measure(candidates, rounds=7):
        Timings.calls += 1
        assert set(candidates) == set(Timings.seconds)
        return dict(Timings.seconds)

    monkeypatch.setattr(choices, "measure", measure)
    return Timings


def candidates(*names):
    def refuse():
        raise AssertionError("a candidate ran although the choice was cached or overridden")
    return {name: refuse for name in names}


def test_the_clearly_faster_kernel_is_chosen_once_and_then_read_from_the_cache(tmp_path, timings):
    timings.seconds = {"plain": 2.0, "fast": 1.0}
    first = tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={"fw": "1.0"})
    assert (first.kernel, first.source, timings.calls) == ("fast", "measured", 1)
    again = tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={"fw": "1.0"})
    assert (again.kernel, again.source, timings.calls) == ("fast", "cache", 1), "the cached choice was measured again"
    assert again.seconds == {"plain": 2.0, "fast": 1.0}
    assert tuning.chosen()["fw.op"] == again
    assert "fw.op=fast (cache: fast 1000.00 ms, plain 2000.00 ms)" == str(again)


def test_the_plain_kernel_stays_unless_another_beats_it_by_the_margin(timings):
    timings.seconds = {"plain": 1.00, "other": 0.97}
    assert tuning.choose("fw.close", candidates("plain", "other"), plain="plain", versions={}).kernel == "plain"
    timings.seconds = {"plain": 1.00, "other": 1.50}
    assert tuning.choose("fw.slower", candidates("plain", "other"), plain="plain", versions={}).kernel == "plain"


def test_a_new_framework_version_or_thread_count_measures_again(timings):
    timings.seconds = {"plain": 2.0, "fast": 1.0}
    tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={"fw": "1.0", "threads": "2"})
    timings.seconds = {"plain": 1.0, "fast": 2.0}
    for versions in ({"fw": "1.1", "threads": "2"}, {"fw": "1.0", "threads": "1"}):
        assert tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions=versions).kernel == "plain"
    assert timings.calls == 3
    # each is cached beside the others
    assert tuning.choose("fw.op", candidates("plain", "fast"), plain="plain",
                         versions={"fw": "1.0", "threads": "2"}).kernel == "fast"


def test_the_environment_overrides_without_measuring(monkeypatch, timings):
    monkeypatch.setenv("DLCORE_KERNELS", "other.op=x, fw.op=plain")
    choice = tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={})
    assert (choice.kernel, choice.source, timings.calls) == ("plain", "override", 0)


@pytest.mark.parametrize("value, message", [("fw.op=slowest", "fw.op has the kernels fast, plain"),
                                            ("fw.op", "is not name=kernel"), ("=fast", "is not name=kernel")])
def test_a_wrong_override_names_the_kernels_there_are(monkeypatch, timings, value, message):
    monkeypatch.setenv("DLCORE_KERNELS", value)
    with pytest.raises(ConfigError, match=message):
        tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={})


def test_a_damaged_cache_is_measured_again_and_rewritten(tmp_path, monkeypatch, timings):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    for damage in (b"\x00\xff not json", b'{"entries": []}', b'{"entries": {"x": 1}}', b"[1, 2]"):
        (tmp_path / "kernels.json").write_bytes(damage)
        timings.seconds = {"plain": 2.0, "fast": 1.0}
        assert tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={}).source == "measured"
        entries = json.loads((tmp_path / "kernels.json").read_text())["entries"]
        assert [e["kernel"] for e in entries.values() if isinstance(e, dict)] == ["fast"]


def test_a_cached_kernel_that_no_longer_exists_is_measured_again(tmp_path, monkeypatch, timings):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    timings.seconds = {"plain": 2.0, "gone": 1.0}
    tuning.choose("fw.op", candidates("plain", "gone"), plain="plain", versions={})
    timings.seconds = {"plain": 2.0, "new": 1.5}
    choice = tuning.choose("fw.op", candidates("plain", "new"), plain="plain", versions={})
    assert (choice.kernel, choice.source) == ("new", "measured")


def test_an_unwritable_cache_still_gives_the_measured_choice(tmp_path, monkeypatch, timings):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(blocked))
    timings.seconds = {"plain": 2.0, "fast": 1.0}
    assert tuning.choose("fw.op", candidates("plain", "fast"), plain="plain", versions={}).kernel == "fast"


def test_measure_times_every_candidate_alternately_after_a_warm_up():
    order = []
    best = tuning.measure({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3)
    assert order == ["a", "b"] * 4
    assert set(best) == {"a", "b"} and all(0 <= s < 0.1 for s in best.values())


def test_the_machine_names_the_cpu_and_its_count():
    import os

    assert tuning.machine().endswith(f", {os.cpu_count()} CPUs") and len(tuning.machine()) > len(" CPUs") + 3
