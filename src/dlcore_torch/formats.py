"""torch state_dict files: written atomically, read with weights_only=True (no pickled code runs)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from dlcore.contract import CheckpointError
from dlcore.io.files import atomic_path

from .framework import import_torch

torch = import_torch()


def write_state_dict(path: Path, weights: dict[str, np.ndarray], spec=None) -> Path:
    state = {name: torch.from_numpy(np.ascontiguousarray(w).copy()) for name, w in weights.items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def read_state_dict(path: Path, spec=None) -> tuple[dict[str, np.ndarray], None]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path}: not a state_dict that loads safely ({str(err).splitlines()[0]})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state_dict (a dict of tensors)")
    return {name: t.detach().cpu().numpy() for name, t in state.items()}, None
