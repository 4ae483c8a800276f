"""Per-sample transforms for the image sources, framework-neutral (the code lives in
:mod:`dlcore.data.transforms`)."""

from .data.transforms import Compose, Normalize, OneHot, Resize, ToTensor

__all__ = ["Compose", "Normalize", "OneHot", "Resize", "ToTensor"]
