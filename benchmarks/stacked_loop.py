"""Two stacked recurrent layers against the same cells in one loop (`StackedRNN`).

For each named layer, builds `Input -> layer(H, return_sequences) -> layer(H)`
twice, with the same seeds (so the same weights): once as two separate
layers, each with its own time loop, and once as `rnnzoo.layers.StackedRNN`
over the two layers, which runs both cells in one loop. Times, in one
process, one training step (`train_on_batch`, Adam, mean squared error) and
one forward pass (traced `tf.function`) of each, and prints the ratio
one-loop / separate (below 1: the single loop is faster), the median over
interleaved rounds with the min-max in brackets. Each round calls both
models in turn `--repeats` times and keeps the fastest call of each; time is
the process's CPU time on one TensorFlow thread (as in `throughput.py`).

Shapes (`--shape`):
- `issue`: B=64, T=100, D=32, H=128, the throughput benchmark's shape;
- `adding`: B=64, T=1100 of which the last 50 steps are masked padding,
  D=2, H=64: the IndRNN adding-problem preset at T=1000;
- `quick`: B=4, T=6, D=3, H=8 (a smoke test).

Usage:
    python benchmarks/stacked_loop.py --shape adding --layers indrnn
    python benchmarks/stacked_loop.py --shape issue --layers elman,indrnn,layer_norm_lstm,gru
"""

import argparse
import datetime
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

import rnnzoo  # noqa: E402
from rnnzoo.layers import StackedRNN  # noqa: E402

SHAPES = {
    "issue": {"batch": 64, "timesteps": 100, "features": 32, "units": 128, "padding": 0},
    "adding": {"batch": 64, "timesteps": 1100, "features": 2, "units": 64, "padding": 50},
    "quick": {"batch": 4, "timesteps": 6, "features": 3, "units": 8, "padding": 2},
}


def build(name, shape, one_loop):
    keras.utils.set_random_seed(0)
    layer = rnnzoo.get_layer(name)
    first = layer(shape["units"], seed=1, return_sequences=True)
    second = layer(shape["units"], seed=2)
    inputs = keras.Input((None, shape["features"]))
    hidden = keras.layers.Masking(0.0)(inputs) if shape["padding"] else inputs
    outputs = StackedRNN([first, second])(hidden) if one_loop else second(first(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-4), "mse", jit_compile=False)
    return model


class Bench:
    def __init__(self, name, shape, one_loop):
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (shape["batch"], shape["timesteps"], shape["features"]))
        if shape["padding"]:
            x[:, shape["timesteps"] - shape["padding"]:] = 0.0
        self.x = x.astype("float32")
        self.y = np.zeros((shape["batch"], shape["units"]), "float32")
        self.model = build(name, shape, one_loop)
        self.forward = tf.function(lambda x: self.model(x, training=False))

    def serve(self):
        self.forward(self.x).numpy()

    def train(self):
        self.model.train_on_batch(self.x, self.y)


def timed(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=tuple(SHAPES), default="issue")
    parser.add_argument("--layers", default="indrnn", help="comma-separated registry names")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    stepwise = rnnzoo.list_layers(kind="stepwise")
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    unknown = [n for n in names if n not in stepwise]
    if not names or unknown:
        parser.error(f"--layers: expected step-wise registry names from {stepwise}, "
                     f"got {args.layers!r}")
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be >= 1")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    shape = SHAPES[args.shape]
    started = time.perf_counter()
    rows = []
    for name in names:
        pair = [Bench(name, shape, one_loop) for one_loop in (False, True)]
        np.testing.assert_allclose(pair[1].forward(pair[1].x), pair[0].forward(pair[0].x),
                                   rtol=1e-4, atol=1e-5)  # the same network
        for bench in pair:
            bench.serve()
            bench.train()
        row = [name]
        for mode in ("serve", "train"):
            ratios, times = [], []
            for _ in range(args.rounds):
                best = [float("inf")] * 2
                for repeat in range(args.repeats):
                    for k in (repeat % 2, 1 - repeat % 2):  # alternate who goes first
                        best[k] = min(best[k], timed(getattr(pair[k], mode)))
                ratios.append(best[1] / best[0])
                times.append(best)
            separate = statistics.median(t[0] for t in times)
            one = statistics.median(t[1] for t in times)
            row.append(f"{1000 * separate:.1f} / {1000 * one:.1f}")
            row.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        rows.append(row)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}, load average {load:.1f}; "
          "B={batch} T={timesteps} (masked padding {padding}) D={features} H={units}; ".format(
              **shape)
          + f"{args.rounds} rounds x {args.repeats} repeats, one TF thread, CPU time; "
          f"{time.perf_counter() - started:.0f} s in all")
    print()
    print("| layer (two stacked) | serve ms: separate / one loop | serve ratio "
          "| train ms: separate / one loop | train ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
