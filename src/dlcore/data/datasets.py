"""Datasets by name: every dataset a plugin registers through the ``dlcore_datasets`` hook
(dlcore's own: ``fashion-mnist`` and ``imdb``), for ``load(name)`` and ``dlcore train NAME``,
and the further sources registered for them (``dlcore_dataset_sources``)."""

from __future__ import annotations

import os
from typing import Any

from ..contract.records import DatasetInfo, DatasetSource
from ..plugins.manager import registry


def registered() -> dict[str, DatasetInfo]:
    """Every registered dataset, by name.

    >>> from dlcore import datasets
    >>> "fashion-mnist" in datasets.registered()
    True
    """
    return {info.name: info for info in registry().datasets}


def info(name: str) -> DatasetInfo:
    """The registered dataset ``name`` (ConfigError listing the others if there is none).

    >>> from dlcore import datasets
    >>> datasets.info("fashion-mnist").description
    "Zalando's Fashion-MNIST: 60000/10000 28x28 images, 10 classes"
    """
    return registry().datasets.find(name)


def load(name: str, path: str | os.PathLike[str] | None = None, **options: Any) -> tuple[Any, Any]:
    """``(train, test)`` of the registered dataset ``name``: ``load("fashion-mnist")``.

    Example::

        train, test = datasets.load("fashion-mnist")              # as datasets.fashion_mnist()
        train, test = datasets.load("imdb", "~/data/aclImdb")     # the dataset's own path argument
    """
    dataset = info(name)
    splits: tuple[Any, Any] = registry().datasets.load(dataset, "load")(path, **options)
    return splits


def sources(dataset: str) -> list[DatasetSource]:
    """The registered extra sources of ``dataset``, in registration order.

    Example::

        for source in datasets.sources("imdb"):
            print(source.name, source.description)  # tensorflow-datasets: a prepared imdb_reviews ...
    """
    return [source for source in registry().dataset_sources if source.dataset == dataset]


def read_from_sources(dataset: str) -> tuple[Any, Any] | None:
    """``(train, test)`` from the first registered source of ``dataset`` that finds its files."""
    records = registry().dataset_sources
    for source in sources(dataset):
        location = records.load(source, "find")()
        if location is not None:
            splits: tuple[Any, Any] = records.load(source, "read")(location)
            return splits
    return None


__all__ = ["info", "load", "read_from_sources", "registered", "sources"]
