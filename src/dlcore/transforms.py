"""Transforms for the image sources and random augmentation of training images, framework-neutral
(the code lives in :mod:`dlcore.data.transforms` and :mod:`dlcore.data.augment`)."""

from .data.augment import (RandomAffine, RandomCrop, RandomErasing, RandomHorizontalFlip, RandomRotation,
                           RandomTranslation, RandomVerticalFlip)
from .data.transforms import Compose, Normalize, OneHot, PadSequences, Resize, ToTensor

__all__ = ["Compose", "Normalize", "OneHot", "PadSequences", "RandomAffine", "RandomCrop", "RandomErasing",
           "RandomHorizontalFlip", "RandomRotation", "RandomTranslation", "RandomVerticalFlip", "Resize", "ToTensor"]
