"""Curated mutations: one line of src/ broken on purpose per claimed property, and the tests
that must then fail. ``python -m mutation`` applies each in a scratch copy and reports the
survivors; ``tests/test_mutations.py`` checks that every ``old`` text is still in its file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    claim: str  # what a user relies on, in the README's words
    path: str  # relative to the repository root
    old: str  # occurs exactly once in ``path``
    new: str
    tests: tuple[str, ...]  # test files (or node ids) to run
    select: str = ""  # a pytest -k expression within them


CHECKPOINT = "src/dlcore/checkpoint.py"
FILES = "src/dlcore/files.py"
IDX = "src/dlcore/idx.py"
DATASETS = "src/dlcore/datasets.py"
DOWNLOAD = "src/dlcore/download.py"
TRAINER = "src/dlcore/trainer.py"
BACKEND = "src/dlcore/backend.py"
TORCH_INTEROP = "src/dlcore_torch/interop.py"
TORCH_TRAINER = "src/dlcore_torch/trainer.py"
TORCH_MODEL = "src/dlcore_torch/model.py"
TF_INTEROP = "src/dlcore_tf/interop.py"
TF_TRAINER = "src/dlcore_tf/trainer.py"
TF_MODEL = "src/dlcore_tf/model.py"

CONTRACT = ("tests/test_backend_contract.py",)

MUTATIONS = (
    # --- checkpoints and files: no pickle, verified on load, written atomically
    Mutation("torch-load-pickle", "a .pt pickle that would run code is refused; nothing runs",
             TORCH_INTEROP, "map_location=\"cpu\", weights_only=True", "map_location=\"cpu\", weights_only=False",
             ("tests/test_checkpoints.py",), "pickle"),
    Mutation("npz-allow-pickle", "nothing in a checkpoint is unpickled",
             CHECKPOINT, "np.load(path, allow_pickle=False)", "np.load(path, allow_pickle=True)",
             ("tests/test_core.py",), "pickled"),
    Mutation("sha256-unchecked", "each array is verified against its SHA-256 on load",
             CHECKPOINT, 'if _digest(arrays[name]) != info.get("sha256"):', "if False:",
             ("tests/test_core.py", "tests/test_reliability.py")),
    Mutation("tensor-list-unchecked", "a checkpoint whose arrays are not the ones its metadata lists is refused",
             CHECKPOINT, "if set(tensors) != set(arrays):", "if False:",
             ("tests/test_core.py", "tests/test_reliability.py")),
    Mutation("checkpoint-written-in-place", "a crash while saving leaves the previous checkpoint whole",
             CHECKPOINT, 'with atomic_path(path) as tmp, open(tmp, "wb") as f:',
             'with open(path, "wb") as f:',
             ("tests/test_reliability.py",), "killed"),
    Mutation("temporary-left-behind", "a failed write leaves nothing half-written behind",
             FILES, "        tmp.unlink(missing_ok=True)", "        pass",
             ("tests/test_core.py",), "fails"),
    Mutation("keras-unsafe-mode", ".keras files are read in Keras' safe mode",
             TF_INTEROP, "safe_mode=True", "safe_mode=False",
             ("tests/test_checkpoints.py",), "lambda"),
    # --- data readers: corrupt input refused, naming the file
    Mutation("idx-length-unchecked", "an IDX file whose length disagrees with its header is refused",
             IDX, "if len(raw) != expected:", "if len(raw) < expected:",
             ("tests/test_reliability.py", "tests/test_datasets.py")),
    Mutation("idx-magic-unchecked", "bytes that are not IDX are refused",
             IDX, "if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:", "if len(raw) < 4:",
             ("tests/test_reliability.py", "tests/test_datasets.py")),
    Mutation("label-range-unchecked", "a Fashion-MNIST label outside 0..9 is refused",
             DATASETS, "if array.size and array.max() >= len(FASHION_MNIST_CLASSES):", "if False:",
             ("tests/test_datasets.py",)),
    Mutation("download-checksum-unchecked", "a download with the wrong checksum keeps nothing",
             DOWNLOAD, "if expected is not None and (got := actual(tmp)) != expected:", "if False:",
             ("tests/test_datasets.py", "tests/test_text.py",), "checksum"),
    # --- the core's loop and checks
    Mutation("no-shuffle", "with shuffle=True epoch e's order is the e-th permutation of default_rng(seed)",
             TRAINER, "order = self._rng.permutation(train_data.num_samples)", "order = None", CONTRACT, "numpy_reference"),
    Mutation("resume-rng-lost", "resume continues with the saved shuffling RNG",
             TRAINER, 'self._rng.bit_generator.state = state["rng"]', "pass",
             ("tests/test_checkpoints.py",), "bitwise"),
    Mutation("label-bound-off-by-one", "labels out of range are refused before training",
             TRAINER, "bad = (labels < 0) | (labels >= outputs)", "bad = (labels < 0) | (labels > outputs)",
             CONTRACT, "bad_data"),
    Mutation("nan-loss-unchecked", "a NaN or infinite loss stops training with a TrainingError",
             TRAINER, "        if bad.any():\n            step = int(np.argmax(bad))", "        if False:\n            step = 0",
             CONTRACT, "diverging"),
    Mutation("duplicate-backends-accepted", "two plugins registering one backend name are refused",
             BACKEND, "if info.name in infos:", "if False:",
             ("tests/test_plugins.py",), "two_plugins"),
    # --- torch backend: its training step, evaluation, resume
    Mutation("torch-resume-lr-ignored", "the resuming trainer's learning rate applies (torch)",
             TORCH_TRAINER, 'group["lr"] = self.lr', "pass",
             ("tests/test_checkpoints.py",), "learning_rate and torch"),
    Mutation("torch-optimizer-state-not-restored", "resume restores the optimizer state (torch)",
             TORCH_TRAINER, 'optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})', "pass",
             ("tests/test_checkpoints.py",), "bitwise and torch"),
    Mutation("torch-grads-not-zeroed", "each step uses its own batch's gradient (torch)",
             TORCH_TRAINER, "optimizer.zero_grad(set_to_none=True)", "pass", CONTRACT, "numpy_reference and torch"),
    Mutation("torch-step-gradient-not-averaged", "dlcore's MLP step computes autograd's gradients",
             TORCH_MODEL, "grad /= len(y)", "grad /= 1", ("tests/test_torch_fast_paths.py",)),
    Mutation("torch-relu-backward-dropped", "dlcore's MLP step computes autograd's gradients",
             "src/dlcore_torch/linear.py", "grad = activation_backward(activation, grad, out)", "pass",
             ("tests/test_torch_fast_paths.py",)),
    Mutation("torch-eval-loss-per-batch", "evaluate's loss is the mean per sample (torch)",
             TORCH_TRAINER, "loss_sum += float(loss_fn(logits, yb)) * len(yb)", "loss_sum += float(loss_fn(logits, yb)) * 7",
             CONTRACT, "small_batches and torch"),
    Mutation("torch-mean-combiner", "the mean combiner divides by the token count (torch)",
             TORCH_MODEL, "scale = counts.reciprocal()", "scale = counts.rsqrt()",
             ("tests/test_text.py",), "combiners and torch"),
    # --- TensorFlow backend
    Mutation("tf-graph-call-offset-dropped", "every batch of an epoch is trained once (tensorflow)",
             TF_TRAINER, "index = order[(first + i) * bs:(first + i + 1) * bs]", "index = order[i * bs:(i + 1) * bs]",
             CONTRACT, "numpy_reference and tensorflow"),
    Mutation("tf-resume-lr-ignored", "the resuming trainer's learning rate applies (tensorflow)",
             TF_TRAINER, "optimizer.learning_rate.assign(self.lr)", "pass",
             ("tests/test_checkpoints.py",), "learning_rate and tensorflow"),
    Mutation("tf-last-batch-weighted-as-full", "the epoch loss weights the last, smaller batch by its size (tensorflow)",
             TF_TRAINER, "sizes[-1] = n - bs * (batches - 1)", "pass", CONTRACT, "numpy_reference and tensorflow"),
    Mutation("tf-eval-loss-per-batch", "evaluate's loss is the mean per sample (tensorflow)",
             TF_TRAINER, "* tf.cast(tf.shape(yb)[0], tf.float32))", ")",
             CONTRACT, "small_batches and tensorflow"),
    Mutation("tf-adam-epsilon-keras", "Adam follows one formula on every backend (tensorflow)",
             TF_TRAINER, "epsilon = self.epsilon * tf.sqrt(1.0 - beta2_power)", "epsilon = self.epsilon",
             CONTRACT, "numpy_reference and tensorflow and adam"),
    Mutation("tf-mean-combiner", "the mean combiner divides by the token count (tensorflow)",
             TF_MODEL, '"mean": 1.0 / counts', '"mean": tf.math.rsqrt(counts)',
             ("tests/test_text.py",), "combiners and tensorflow"),
)
