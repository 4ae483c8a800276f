"""The contract suite's reproducibility: the same seed trains the same weights, bit for bit,
in one process and in two fresh ones, and in the backend's deterministic mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

from ... import TrainingCheckpoint, models
from ..data import blobs
from .base import BackendTestBase


class ReproducibilityTests(BackendTestBase):
    """A seeded run gives the same bytes every time.

    Example::

        from dlcore.testing import ReproducibilityTests

        class TestMyBackendReproducibility(ReproducibilityTests):
            backend = "mybackend"
    """

    def test_same_seed_gives_same_training(self, device):
        x, y = blobs(300)
        runs = []
        for _ in range(2):
            trainer = self.trainer(device, epochs=2)
            spec = models.mlp(20, [8], 4)
            trainer.fit(spec, (x, y))
            runs.append(trainer.build(spec).get_weights())
        assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])

    def test_same_seed_gives_the_same_bytes_in_two_processes(self, device, tmp_path):
        """Two fresh processes (different hash seeds) save bit-identical weights and optimizer state."""
        code = textwrap.dedent(f'''
            import sys
            from pathlib import Path
            from dlcore import Trainer, embeddings, models
            from dlcore.testing.data import blobs, reviews, write_glove
            out = Path(sys.argv[1])
            x, y = blobs(700)
            runs = [("mlp", models.mlp(20, [16], 4), (x, y))]
            if {self.text_models!r}:
                texts, labels = reviews(200)
                emb = embeddings.load(str(write_glove(out / "glove.txt")), vocabulary=texts)
                runs.append(("text", models.text_classifier(emb), (texts, labels)))
            for name, spec, data in runs:
                trainer = Trainer(backend={self.backend!r}, epochs=2, batch_size=32, optimizer={self.optimizers[0]!r},
                                  lr=1e-2, seed=7, device={device!r}, progress=False)
                trainer.fit(spec, data)
                trainer.save(spec, out / (name + ".npz"))
        ''')
        names = ("mlp", "text") if self.text_models else ("mlp",)
        runs = []
        for hash_seed in ("1", "2"):
            folder = tmp_path / hash_seed
            folder.mkdir()
            out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                                 timeout=300, env={**os.environ, "PYTHONHASHSEED": hash_seed})
            assert out.returncode == 0, out.stderr[-3000:]
            runs.append({name: TrainingCheckpoint.load(folder / f"{name}.npz") for name in names})
        for name in names:
            for section in ("weights", "optimizer"):
                a, b = getattr(runs[0][name], section), getattr(runs[1][name], section)
                assert a.keys() == b.keys() and (a or section == "optimizer")
                for key in a:
                    assert a[key].tobytes() == b[key].tobytes(), f"{name} {section} {key} differs between processes"

    def test_deterministic_mode_trains_the_same_twice_where_offered(self, device):
        x, y = blobs(300)
        runs = []
        for _ in range(2):
            trainer = self.supported(device, epochs=2, deterministic=True)
            spec = models.mlp(20, [8], 4)
            trainer.fit(spec, (x, y))
            runs.append(trainer.build(spec).get_weights())
        trainer.backend.set_deterministic(False)  # the mode is the process's: leave it as it was
        assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])


__all__ = ["ReproducibilityTests"]
