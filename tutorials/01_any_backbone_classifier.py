"""Tutorial 1: one task, any recurrent backbone, from training to a phone.

Trains a `SequenceClassifier` on UCR ItalyPowerDemand (it ships inside
rnnzoo) with each of the zoo's step-wise layers as backbone, compares their test
accuracy, saves the best as a `.keras` file and exports it to TFLite.

    python tutorials/01_any_backbone_classifier.py --epochs 60 --out /tmp/tutorial1
    python tutorials/01_any_backbone_classifier.py --layers elman,lstm,esn   # a few
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import rnnzoo  # noqa: E402
from rnnzoo.data.ucr import load_ucr  # noqa: E402


def backbone_names(layers=None):
    """The backbones to compare: `layers` (zoo names), default every step-wise layer."""
    stepwise = rnnzoo.list_layers(kind="stepwise")
    if layers is None:
        return stepwise
    unknown = [name for name in layers if name not in stepwise]
    if unknown or not layers:
        raise ValueError(
            f"Expected step-wise zoo layers (any of {stepwise}); got {list(layers)}"
            + (f", where {unknown} are not." if unknown else ", which is empty.")
        )
    return list(layers)


def main(epochs=60, out="tutorial1_out", units=32, layers=None):
    train, test = load_ucr("ItalyPowerDemand", "train"), load_ucr("ItalyPowerDemand", "test")
    print(f"train {train.x.shape}, test {test.x.shape}, classes {train.class_names}")

    results = {}
    for name in backbone_names(layers):
        keras.utils.set_random_seed(0)
        # Jordan networks feed their output layer back, so they need its size.
        extra = {"output_units": 8} if name == "jordan" else {}
        backbone = rnnzoo.get_layer(name)(units, **extra)
        model = rnnzoo.tasks.SequenceClassifier(
            backbone, num_classes=len(train.class_names), input_shape=(None, 1), dropout=0.1
        )
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(train.x, train.y, epochs=epochs, batch_size=16, verbose=0)
        accuracy = model.evaluate(test.x, test.y, verbose=0)[1]
        results[name] = (accuracy, model)
        print(f"{name:16s} test accuracy {accuracy:.4f}")

    best = max(results, key=lambda n: results[n][0])
    model = results[best][1]
    os.makedirs(out, exist_ok=True)
    model.save(os.path.join(out, f"{best}.keras"))
    report = rnnzoo.export(model, os.path.join(out, f"{best}.tflite"))
    print(f"best backbone: {best}; TFLite parity {report.max_abs_diff:.1e}")
    return {name: float(acc) for name, (acc, _) in results.items()}, report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="tutorial1_out")
    parser.add_argument("--units", type=int, default=32, help="hidden units of every backbone")
    parser.add_argument("--layers", default=None,
                        help="comma-separated zoo names (default: every step-wise layer)")
    args = parser.parse_args()
    layers = None if args.layers is None else args.layers.split(",")
    try:
        names = backbone_names(layers)
    except ValueError as error:
        parser.error(str(error))
    main(args.epochs, args.out, args.units, names)
