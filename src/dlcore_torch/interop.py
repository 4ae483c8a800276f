"""torch state_dict files: written atomically, read with weights_only=True."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from dlcore.errors import CheckpointError
from dlcore.frameworks import import_torch

torch = import_torch()


def write_state_dict(path: Path, weights: dict[str, np.ndarray]) -> Path:
    state = {name: torch.from_numpy(np.ascontiguousarray(w).copy()) for name, w in weights.items()}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path}: not a state_dict that loads safely ({str(err).splitlines()[0]})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state_dict (a dict of tensors)")
    return {name: t.detach().cpu().numpy() for name, t in state.items()}
