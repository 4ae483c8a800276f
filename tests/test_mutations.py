"""The curated mutation list (mutation/curated.py, run by ``python -m mutation``) stays
applicable: each mutation's text is in its file exactly once, and its tests exist."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mutation.curated import MUTATIONS  # noqa: E402


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mutation_applies_to_the_current_source(mutation):
    text = (ROOT / mutation.path).read_text()
    assert text.count(mutation.old) == 1, f"{mutation.old!r} is not in {mutation.path} exactly once"
    assert mutation.new != mutation.old
    for test in mutation.tests:
        assert (ROOT / test.split("::")[0]).is_file(), test


def test_names_are_unique():
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
