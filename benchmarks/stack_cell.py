"""Cost per step of the NNPDA (stack-augmented RNN) against an LSTM of the controller's size.

For each stack configuration (depth x width, Grefenstette or Joulin stack)
the script times, in one process:

- serve: `model(x, training=False)` in a traced `tf.function`;
- train: one `model.train_on_batch(x, y)` (SGD, mean squared error),

of `Input((T, D)) -> layer -> last output`, for `NNPDA(H, stack_depth=N,
stack_width=W)` with an LSTM (default) or Elman controller and for
`keras.layers.LSTM(H)`, the reference. Each model is warmed up; then
`--rounds` rounds call every model in a fresh random order, `--repeats` times
each, keeping the fastest call; the ratio NNPDA / LSTM is formed within a
round and the median (min-max) over rounds is reported, so that the drift of
a shared machine cancels as far as possible. Times are per sequence of T
steps; "us/step" divides by T.

Also printed: the per-example recurrent state (floats) each model carries,
and an estimate of the multiply-adds per step per example (every weight with
two or more axes, plus the stack's two D x D triangular products for the
Grefenstette form and its D x W read).

Usage:
    python benchmarks/stack_cell.py                       # B=32, T=100, D=8, H=64
    python benchmarks/stack_cell.py --stacks 16x8,64x8,64x32 --controller elman
    python benchmarks/stack_cell.py --quick --rounds 1   # smoke test
"""

import argparse
import os
import platform
import random
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnzoo.layers import NNPDA  # noqa: E402

FULL = {"batch": 32, "timesteps": 100, "features": 8, "units": 64}
QUICK = {"batch": 4, "timesteps": 5, "features": 3, "units": 8}


def parse_stacks(text):
    stacks = []
    for item in text.split(","):
        form = "grefenstette"
        if ":" in item:
            item, form = item.split(":")
        depth, width = (int(v) for v in item.lower().split("x"))
        stacks.append((depth, width, form))
    return stacks


def build(layer, shape):
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse", jit_compile=False)
    return model


def macs(model_layer):
    """Multiply-adds per step per example: matrix weights plus the stack's products."""
    total = sum(int(np.prod(w.shape)) for w in model_layer.weights if len(w.shape) >= 2)
    cell = getattr(model_layer, "cell", None)
    if isinstance(model_layer, NNPDA):
        depth, width = cell.stack_depth, cell.stack_width
        total += (2 * depth * depth if cell.stack == "grefenstette" else 0) + depth * width
    return total


def state_floats(model_layer):
    sizes = model_layer.cell.state_size
    return int(sum(sizes)) if isinstance(sizes, (list, tuple)) else int(sizes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="16x8,64x8,64x32,16x8:joulin",
                        help="depth x width[:form] list (form grefenstette or joulin)")
    parser.add_argument("--controller", default="lstm", choices=("lstm", "elman"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    size = QUICK if args.quick else FULL
    b, t, d, h = size["batch"], size["timesteps"], size["features"], size["units"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, t, d)).astype("float32")
    y = np.zeros((b, h), "float32")

    models = {"LSTM": build(keras.layers.LSTM(h, seed=0), x.shape)}
    for depth, width, form in parse_stacks(args.stacks):
        layer = NNPDA(h, stack_depth=depth, stack_width=width, stack=form,
                      controller=args.controller, seed=0)
        models[f"nnpda {depth}x{width} {form}"] = build(layer, x.shape)
    serve = {name: tf.function(lambda v, m=model: m(v, training=False))
             for name, model in models.items()}
    for name, model in models.items():  # warm-up: trace both paths
        for _ in range(2):
            serve[name](x)
            model.train_on_batch(x, y)

    times = {name: {"serve": [], "train": []} for name in models}
    for _ in range(args.rounds):
        order = list(models)
        random.shuffle(order)
        for name in order:
            for mode in ("serve", "train"):
                best = float("inf")
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    if mode == "serve":
                        serve[name](x)
                    else:
                        models[name].train_on_batch(x, y)
                    best = min(best, time.perf_counter() - started)
                times[name][mode].append(best)

    print(f"# B={b} T={t} D={d} H={h} controller={args.controller} threads={args.threads} "
          f"rounds={args.rounds} repeats={args.repeats} tf={tf.__version__} "
          f"keras={keras.__version__} machine={platform.machine()} "
          f"load={os.getloadavg()[0]:.1f}")
    print("| model | state floats/example | MAC/step/example | serve us/step | serve / LSTM "
          "| train us/step | train / LSTM |")
    print("|---|---|---|---|---|---|---|")
    for name, model in models.items():
        layer = model.layers[1]
        row = [name, str(state_floats(layer)), str(macs(layer))]
        for mode in ("serve", "train"):
            ours, ref = times[name][mode], times["LSTM"][mode]
            ratios = [a / r for a, r in zip(ours, ref)]
            row.append(f"{1e6 * statistics.median(ours) / t:.0f}")
            row.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
