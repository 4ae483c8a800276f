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


CHECKPOINT = "src/dlcore/io/checkpoint.py"
FILES = "src/dlcore/io/files.py"
IDX = "src/dlcore/data/idx.py"
DATASETS = "src/dlcore/data/fashion_mnist.py"
DOWNLOAD = "src/dlcore/data/download.py"
LOOP = "src/dlcore/training/_loop.py"
STATE = "src/dlcore/training/_state.py"
LABELS = "src/dlcore/training/labels.py"
CONTRACT_STEPS = "src/dlcore/contract/backend.py"
PLUGINS = "src/dlcore/plugins/manager.py"
TORCH_FORMATS = "src/dlcore_torch/formats.py"
TORCH_BACKEND = "src/dlcore_torch/backend.py"
TORCH_KERNELS = "src/dlcore_torch/kernels.py"
TORCH_MODELS = "src/dlcore_torch/models.py"
TF_FORMATS = "src/dlcore_tf/formats.py"
TF_BACKEND = "src/dlcore_tf/backend.py"
TF_KERNELS = "src/dlcore_tf/kernels.py"
TF_MODELS = "src/dlcore_tf/models.py"

JAX_CACHE = "plugins/dlcore-jax/src/dlcore_jax/compile_cache.py"
HOSTILE = "tests/test_hostile.py"
CONTRACT = ("tests/test_backend_contract.py",)

MUTATIONS = (
    # --- checkpoints and files: no pickle, verified on load, written atomically
    Mutation("torch-load-pickle", "a .pt pickle that would run code is refused; nothing runs",
             TORCH_FORMATS, "map_location=\"cpu\", weights_only=True", "map_location=\"cpu\", weights_only=False",
             ("tests/test_checkpoints.py",), "pickle"),
    Mutation("npz-object-arrays-read", "nothing in a checkpoint is unpickled",
             CHECKPOINT, "if dtype.hasobject:", "if False:",
             ("tests/test_checkpoints.py", HOSTILE), "pickled"),
    Mutation("sha256-unchecked", "each array is verified against its SHA-256 on load",
             CHECKPOINT, 'if _digest(array) != promised["sha256"]:', "if False:",
             ("tests/test_checkpoints.py", "tests/test_reliability.py")),
    Mutation("tensor-list-unchecked", "a checkpoint whose arrays are not the ones its metadata lists is refused",
             CHECKPOINT, "if unlisted:", "if False:",
             ("tests/test_checkpoints.py", "tests/test_reliability.py")),
    # --- hostile files: reads bounded before they allocate, code only from a private, sealed cache
    Mutation("zip-expansion-unbounded", "a member claiming more bytes than its compressed data can hold is refused",
             CHECKPOINT, "if info.file_size > info.compress_size * EXPANSION[info.compress_type]:", "if False:",
             (HOSTILE,), "two_gib"),
    Mutation("npy-size-unchecked", "an array is read only when its header and the zip agree on its size",
             CHECKPOINT, "if info.file_size != header + nbytes:", "if False:", (HOSTILE,), "tebibyte"),
    Mutation("metadata-size-unbounded", "metadata beyond 64 MiB is refused unread",
             CHECKPOINT, "if shape[0] > MAX_METADATA_BYTES:", "if False:", (HOSTILE,), "larger_than_the_limit"),
    Mutation("metadata-nesting-unbounded", "metadata nested too deep is refused without recursion",
             CHECKPOINT, "fault = _nesting_fault(raw)", 'fault = ""', (HOSTILE,), "nested"),
    Mutation("memory-map-counted-in-memory", "a memory map given as arrays is streamed within the budget",
             "src/dlcore/data/arrays.py", "self.in_memory = not file_backed(features)", "self.in_memory = True",
             (HOSTILE,), "memory_map"),
    Mutation("cache-folder-unchecked", "compiled code is used only from a cache folder nobody else can write to",
             JAX_CACHE, "if why is not None:", "if False:", (HOSTILE,), "others_could_write or planted"),
    Mutation("cache-entries-unverified", "a compiled step planted in the cache under another's key is never run",
             JAX_CACHE, "return payload if hmac.compare_digest(mac, hmac.new(secret, head + payload, "
             "hashlib.sha256).digest()) else None", "return payload", (HOSTILE,), "planted"),
    Mutation("write-debris-kept", "the temporary file of a write cut short goes at the next write",
             FILES, "    remove_debris(path, suffix)\n", "", (HOSTILE,), "debris"),
    Mutation("every-rank-writes", "in a group of processes rank 0 alone writes the checkpoints",
             "src/dlcore/contract/strategy.py", "written = write(path) if self.is_chief else path",
             "written = write(path)", ("tests/test_distributed.py",), "rank_0_alone and TestDDP and not GPUs"),
    Mutation("checkpoint-written-in-place", "a crash while saving leaves the previous checkpoint whole",
             CHECKPOINT, 'with atomic_path(path) as tmp, open(tmp, "wb") as f:',
             'with open(path, "wb") as f:',
             ("tests/test_reliability.py",), "killed"),
    Mutation("temporary-left-behind", "a failed write leaves nothing half-written behind",
             FILES, "        tmp.unlink(missing_ok=True)", "        pass",
             ("tests/test_checkpoints.py",), "fails"),
    Mutation("keras-unsafe-mode", ".keras files are read in Keras' safe mode",
             TF_FORMATS, "safe_mode=True", "safe_mode=False",
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
             DOWNLOAD, "if (got := actual(tmp)) != expected:", "if False:",
             ("tests/test_datasets.py", "tests/test_text.py",), "checksum"),
    # --- the core's loop and checks
    Mutation("no-shuffle", "with shuffle=True epoch e's order is the e-th permutation of default_rng(seed)",
             LOOP, "order = trainer._rng.permutation(total) if blocks is None", "order = None if blocks is None",
             CONTRACT, "numpy_reference"),
    Mutation("resume-rng-lost", "resume continues with the saved shuffling RNG",
             STATE, 'trainer._rng.bit_generator.state = state["rng"]', "pass", CONTRACT, "bitwise"),
    Mutation("label-bound-off-by-one", "labels out of range are refused before training",
             LABELS, "bad = (labels < 0) | (labels >= outputs)", "bad = (labels < 0) | (labels > outputs)",
             CONTRACT, "bad_data"),
    Mutation("nan-loss-unchecked", "a NaN or infinite loss stops training with a TrainingError",
             LOOP, "if reporter is not None and bad.any():", "if False:", CONTRACT, "diverging"),
    Mutation("loss-mean-of-batch-means", "the epoch's and evaluate's loss is the mean per sample",
             LOOP, "loss_sum, count = float(step_losses @ np.asarray(sizes, np.float64)), int(np.sum(sizes))",
             "loss_sum, count = float(step_losses.mean()) * int(np.sum(sizes)), int(np.sum(sizes))",
             CONTRACT, "small_batches or numpy_reference"),
    Mutation("last-batch-weighted-as-full", "the last, smaller batch of an epoch weighs by its size",
             CONTRACT_STEPS, "max(0, min((b + 1) * self.batch_size, n) - b * self.batch_size)",
             "self.batch_size",
             CONTRACT, "numpy_reference or small_batches"),
    Mutation("resume-lr-ignored", "the resuming trainer's learning rate applies",
             LOOP, "            backend.set_learning_rate(model, float(rates))",
             "            pass", CONTRACT, "each_section"),  # the numpy backend, told the rate by set_learning_rate
    Mutation("span-rates-stale", "each training span carries the learning rate of the run, not the first one",
             LOOP, "                span.learning_rates = span_rates(rates, first, span.count)",
             "                span.learning_rates = span_rates(trainer.lr, first, span.count)",
             CONTRACT, "(plateau or learning_rate) and Torch"),
    Mutation("optimizer-state-dropped-between-fits", "a Model keeps its optimizer state from one fit to the next",
             STATE, "same = model.optimizer is not None and model.optimizer_name == trainer.optimizer", "same = False",
             CONTRACT, "continues"),
    # --- plugins
    Mutation("name-clash-unwarned", "a name two plugins register is one warning naming both, and both stay usable",
             PLUGINS, "for key, entries in self._items.items() if len(entries) > 1}",
             "for key, entries in self._items.items() if False}", ("tests/test_plugins.py",), "two_plugins or reusing"),
    Mutation("disabled-plugins-loaded", "DLCORE_DISABLED_PLUGINS keeps the named plugins from loading",
             PLUGINS, "if ep.name in disabled or ep.name in seen:", "if ep.name in seen:", ("tests/test_plugins.py",),
             "disabled"),
    # --- torch backend: its training step, resume
    Mutation("torch-set-lr-ignored", "a new learning rate applies to the model's optimizer (torch)",
             TORCH_BACKEND, 'group["lr"] = float(lr)', "pass", CONTRACT,
             "(learning_rate or per_epoch_schedule) and Torch"),
    Mutation("torch-optimizer-state-not-restored", "resume restores the optimizer state (torch)",
             TORCH_BACKEND, 'optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})',
             "pass", CONTRACT, "bitwise and Torch"),
    Mutation("torch-grads-not-zeroed", "each step uses its own batch's gradient (torch)",
             TORCH_BACKEND, "optimizer.step()\n                optimizer.zero_grad(set_to_none=True)", "optimizer.step()",
             CONTRACT, "numpy_reference and Torch"),
    Mutation("torch-loss-summed", "cross-entropy is the mean over the batch (torch)",
             TORCH_KERNELS, "return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)",
             'return F.cross_entropy(logits, labels, reduction="sum", label_smoothing=label_smoothing)', CONTRACT,
             "numpy_reference and Torch"),
    Mutation("torch-relu-backward-dropped", "dlcore's torch layers compute autograd's gradients",
             "src/dlcore_torch/linear.py", "grad = activation_backward(activation, grad, out)", "pass",
             ("tests/test_torch_fast_paths.py",)),
    Mutation("torch-mean-combiner", "the mean combiner divides by the token count (torch)",
             TORCH_MODELS, "scale = counts.reciprocal()", "scale = counts.rsqrt()", CONTRACT, "combiners and Torch"),
    # --- TensorFlow backend
    Mutation("tf-graph-call-offset-dropped", "every batch of an epoch is trained once (tensorflow)",
             TF_BACKEND, "b = first + i", "b = i",
             CONTRACT, "numpy_reference and TensorFlow"),
    Mutation("tf-set-lr-ignored", "a new learning rate applies to the model's optimizer (tensorflow)",
             TF_BACKEND, "lrs = tf.constant(span.rates(self.name), tf.float32)",
             "lrs = tf.fill([span.count], model.optimizer.learning_rate)", CONTRACT, "learning_rate and TensorFlow"),
    Mutation("tf-optimizer-state-not-restored", "resume restores the optimizer state (tensorflow)",
             TF_BACKEND, 'value = arrays.get(f"{name}/{slot}")', "value = None",
             CONTRACT, "bitwise and TensorFlow"),
    Mutation("tf-adam-epsilon-keras", "Adam follows one formula on every backend (tensorflow)",
             TF_KERNELS, "epsilon = eps * tf.sqrt(1.0 - beta2_power)", "epsilon = eps",
             CONTRACT, "numpy_reference and TensorFlow and adam"),
    # --- optimizers, schedules, gradients, portable optimizer state
    Mutation("torch-nesterov-ignored", "each optimizer setting follows the one formula (torch)",
             TORCH_KERNELS, "momentum=momentum, nesterov=nesterov,", "momentum=momentum, nesterov=False,",
             CONTRACT, "optimizer_objects and Torch"),
    Mutation("torch-accumulated-sum-not-averaged", "accumulation updates with the mean gradient (torch)",
             TORCH_BACKEND, "torch._foreach_mul_(grads, 1.0 / count)", "pass", CONTRACT, "schedule_clipping and Torch"),
    Mutation("tf-clip-norm-ignored", "gradients are clipped by their global norm (tensorflow)",
             TF_KERNELS, "scale = tf.minimum(1.0, clip_norm / (norm + 1e-6))", "scale = 1.0",
             CONTRACT, "schedule_clipping and TensorFlow"),
    Mutation("tf-per-step-rate-ignored", "a per-update schedule sets each update's rate (tensorflow)",
             TF_BACKEND, "            optimizer.learning_rate.assign(lr)\n", "", CONTRACT,
             "schedule_clipping and TensorFlow"),
    Mutation("rmsprop-centered-dropped", "RMSprop's rule centers when asked (torch's fused RMSprop says so)",
             "src/dlcore/training/rules.py", 'd = ops.sqrt(new["square_avg"] - new["grad_avg"] * new["grad_avg"]) + eps',
             'd = ops.sqrt(new["square_avg"]) + eps', ("tests/test_rules.py",), "rmsprop and torch"),
    Mutation("tf-state-not-transposed", "optimizer state is saved in the canonical layout (tensorflow)",
             TF_BACKEND, "np.ascontiguousarray(canonical(variable.numpy(), layout))", "variable.numpy()",
             ("tests/test_checkpoints.py",), "other_backend"),
    Mutation("plateau-never-lowers", "ReduceLROnPlateau lowers the learning rate",
             "src/dlcore/training/callbacks.py", "trainer.run_lr = max(trainer.run_lr * self.factor, self.min_lr)", "pass",
             CONTRACT, "plateau and Torch"),
    Mutation("tf-mean-combiner", "the mean combiner divides by the token count (tensorflow)",
             TF_MODELS, '"mean": 1.0 / counts', '"mean": tf.math.rsqrt(counts)', CONTRACT, "combiners and TensorFlow"),
)
