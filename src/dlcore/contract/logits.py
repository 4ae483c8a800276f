"""What the backends say when a user's own model ends in a softmax or sigmoid and trains with a
cross-entropy, which takes logits: the one list of such losses and the one message."""

from __future__ import annotations

LOGIT_LOSSES = (None, "cross_entropy", "binary_cross_entropy")  # None: one of the two, chosen by the labels


def squashed_twice(what: str, activation: str, loss: str | None, fix: str) -> str:
    """The warning for a model whose output (``what``, e.g. "your Sequential ends in nn.Softmax")
    applies ``activation`` before ``loss``; ``fix`` says what to remove, in the framework's words.

    >>> squashed_twice("your Sequential ends in nn.Softmax", "softmax", None, "remove the final nn.Softmax")[:40]
    'your Sequential ends in nn.Softmax, but '
    """
    return (f"{what}, but dlcore's {loss or 'cross-entropy'} loss takes logits (the raw outputs) and applies the "
            f"{activation} itself, so it would be applied twice and training stalls: {fix}; trainer.predict gives "
            "logits, dlcore.runs.probabilities turns them into probabilities")
