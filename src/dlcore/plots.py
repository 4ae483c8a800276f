"""Plots of datasets and runs with matplotlib (``pip install 'dlcore-ml[plots]'``): the code
lives in :mod:`dlcore.runs.plots`.

Example::

    from dlcore import datasets, plots
    train, test = datasets.fashion_mnist()
    plots.samples(train)      # a 3 x 3 grid with class names, inline in a notebook
"""

from .runs.plots import confusion_matrix, learning_curves, samples, save, top_losses

__all__ = ["confusion_matrix", "learning_curves", "samples", "save", "top_losses"]
