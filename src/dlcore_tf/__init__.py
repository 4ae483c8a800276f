"""dlcore's TensorFlow backend, a pluggy plugin. Importing this module does not import TF."""

from dlcore import BackendInfo, hookimpl


def _load():
    from .backend import TFBackend

    return TFBackend()


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [
        BackendInfo(
            name="tensorflow",
            load=_load,
            requires=("tensorflow",),
            extra="tf",
            aliases=("tf", "keras"),
            priority=20,
            description="TensorFlow 2 / Keras 3: CPU, GPU:N",
        )
    ]
