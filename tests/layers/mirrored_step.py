"""One training step of each named layer under `tf.distribute.MirroredStrategy`.

Run by `test_conformance.py::test_mirrored_strategy_step_equals_one_device` in
a process of its own, because the two logical CPUs the strategy mirrors over
must be declared before TensorFlow runs anything, and one strategy serves
every layer (a fresh one per layer broke the next one's collectives in TF
2.21).

    python -m tests.layers.mirrored_step elman lstm ...

Prints one JSON line per layer: its name and either an `error` or the loss
and largest weight difference against the same step on one device.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

from tests.layers.test_conformance import data, tiny_model

GLOBAL_BATCH = 4  # two examples per replica


def one_step(name, strategy):
    x, targets = data(8, batch=GLOBAL_BATCH), np.ones((GLOBAL_BATCH, 2), "float32")
    reference = tiny_model(name)
    start = reference.get_weights()
    reference.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    reference_loss = float(reference.train_on_batch(x, targets))
    with strategy.scope():
        model = tiny_model(name)
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    # `fit` splits each global batch of the dataset over the replicas and
    # sums their gradients.
    batches = tf.data.Dataset.from_tensor_slices((x, targets)).batch(GLOBAL_BATCH)
    loss = model.fit(batches, shuffle=False, verbose=0).history["loss"][0]
    weight_diff = max(
        float(np.max(np.abs(np.array(a) - np.array(b))))
        for a, b in zip(model.weights, reference.weights)
    )
    return {"loss": float(loss), "reference_loss": reference_loss, "weight_diff": weight_diff}


def main(names):
    # Before anything runs on TensorFlow (importing this module for its
    # doctests, as pytest does, must not split the importer's CPU).
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name in names:
        try:
            result = {"name": name, **one_step(name, strategy)}
        except Exception as error:  # reported per layer; the test fails on it
            result = {"name": name, "error": f"{type(error).__name__}: {str(error)[:500]}"}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
