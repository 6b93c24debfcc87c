"""`rnnzoo quickstart`: the whole path a user takes, offline, in about a minute.

List the zoo, load a pretrained preset, measure it on held-out data, fine-tune
it with plain `model.fit` on data from a new (simulated) sensor, export it to
builtins-only TFLite and run that in the LiteRT interpreter. Everything it
reads ships inside the package.
"""

import os
import tempfile
import time

import numpy as np

PRESET = "elman_classifier.italypowerdemand"
_SHIFT_GAIN, _SHIFT_OFFSET, _SHIFT_NOISE = 1.8, 0.9, 0.15


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=256, verbose=0), -1) == y))


def new_sensor_data(x, seed=0):
    """The held-out series as a different sensor would record them.

    Gain, offset and noise change; the labels do not. This stands in for "your
    own data" in the tour and is documented as simulated.
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, _SHIFT_NOISE, size=x.shape)
    return (_SHIFT_GAIN * x + _SHIFT_OFFSET + noise).astype("float32")


def run(work_dir=None, preset=PRESET, fine_tune_epochs=30, out=print):
    """Runs the tour and returns its measured numbers as a dict.

    Args:
        work_dir: folder for the exported model (default: a temporary folder).
        preset: the preset to load.
        fine_tune_epochs: epochs of fine-tuning on the new-sensor data.
        out: function used to print progress lines.
    """
    started = time.perf_counter()
    import keras

    import rnnzoo
    from rnnzoo.data.ucr import load_ucr
    from rnnzoo.export import run_tflite
    from rnnzoo.presets import read_metadata

    out(f"[1/5] The zoo: {len(rnnzoo.list_layers())} layers: {', '.join(rnnzoo.list_layers())}")
    for name in rnnzoo.list_presets():
        metadata = read_metadata(name)
        metric = metadata.get("primary_metric") or next(iter(metadata["metrics"]))
        out(f"      preset {name}: {metric} {metadata['metrics'][metric]:.4g}")

    out(f"[2/5] Loading preset {preset!r} and its held-out test split")
    metadata = read_metadata(preset)
    model = rnnzoo.load(preset)
    test = load_ucr(metadata["dataset"]["name"], metadata["dataset"]["split"])
    held_out = _accuracy(model, test.x, test.y)
    out(f"      test accuracy {held_out:.4f} on {len(test.y)} series "
        f"(recorded in metadata: {metadata['metrics']['accuracy']:.4f})")

    out("[3/5] Fine-tuning with model.fit on data from a new sensor "
        "(simulated: gain, offset and noise applied to the test split)")
    shifted = new_sensor_data(test.x)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(test.y))
    tune, check = order[: len(order) // 2], order[len(order) // 2 :]
    before = _accuracy(model, shifted[check], test.y[check])
    keras.utils.set_random_seed(0)
    model.fit(shifted[tune], test.y[tune], epochs=fine_tune_epochs, batch_size=32,
              verbose=0, callbacks=[_epoch_printer(out, every=10)])
    after = _accuracy(model, shifted[check], test.y[check])
    out(f"      new-sensor accuracy on {len(check)} unseen series: "
        f"before {before:.4f} -> after {after:.4f}")

    out("[4/5] Exporting to TFLite (builtin ops only, static batch of 1)")
    work_dir = work_dir or tempfile.mkdtemp(prefix="rnnzoo_quickstart_")
    path = os.path.join(work_dir, "model.tflite")
    report = rnnzoo.export(model, path, batch_size=1)
    out(f"      wrote {path} ({report.size_bytes} bytes, {len(report.ops)} op types: "
        f"{', '.join(report.ops)})")

    out("[5/5] Running the TFLite model in the LiteRT interpreter")
    samples = shifted[check[:20]]
    lite = np.concatenate([run_tflite(path, [s[None]])[0] for s in samples])
    keras_out = model.predict(samples, verbose=0)
    parity = float(np.max(np.abs(lite - keras_out)))
    agree = float(np.mean(np.argmax(lite, -1) == np.argmax(keras_out, -1)))
    out(f"      max |tflite - keras| = {parity:.2e} over {len(samples)} series; "
        f"predicted classes agree on {agree:.0%}")
    seconds = time.perf_counter() - started
    out(f"Done in {seconds:.0f} s.")
    return {
        "held_out_accuracy": held_out,
        "before": before,
        "after": after,
        "tflite_max_abs_diff": parity,
        "tflite_path": path,
        "seconds": seconds,
    }


def _epoch_printer(out, every):
    """A Keras callback that prints one progress line every `every` epochs."""
    import keras

    class EpochPrinter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every == 0:
                logs = logs or {}
                out(f"      epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.4f}, "
                    f"accuracy {logs.get('accuracy', float('nan')):.4f}")

    return EpochPrinter()
