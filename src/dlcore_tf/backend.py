"""The TensorFlow backend: devices and versions."""

from __future__ import annotations

import platform

from dlcore import Backend, Device
from dlcore.frameworks import import_tensorflow

tf = import_tensorflow()

from .trainer import TFTrainer  # noqa: E402


class TFBackend(Backend):
    name = "tensorflow"
    trainer_class = TFTrainer

    def devices(self) -> list[Device]:
        devices = [Device("tensorflow", "cpu", 0, "CPU", platform.processor() or platform.machine())]
        for i, gpu in enumerate(tf.config.list_physical_devices("GPU")):
            details = tf.config.experimental.get_device_details(gpu)
            devices.append(Device("tensorflow", "gpu", i, f"GPU:{i}", details.get("device_name", gpu.name)))
        return devices

    def versions(self) -> dict[str, str]:
        import keras

        return {"tensorflow": tf.__version__, "keras": keras.__version__}
