"""Cost per step of the memory-augmented cells (NTM, DNC) relative to an LSTM controller.

Each variant is `Input((T, D)) -> layer(units=H, controller="lstm",
controller_units=H, memory_rows=N, memory_width=W)`, returning every step's
output; the reference is `keras.layers.LSTM(H)` (the zoo's `lstm`), i.e. the
controller alone. For every variant and the reference:

- serve: one forward pass inside a traced `tf.function`;
- train: one `train_on_batch` step (SGD, mean squared error against zeros).

After `--warmup` calls, `--rounds` rounds time every model in turn (fastest of
`--repeats` calls per round); the table reports the median time per sequence
step in milliseconds and the median over rounds of the ratio to the LSTM
timed in the same round (so machine drift cancels), with the min-max of that
ratio in brackets. The state column is the number of floats each example
carries from step to step (the flat state), and the parameter column the
trainable weights.

Usage:
    python benchmarks/memory_cells.py                       # N x W = 32 x 12, about 2 minutes
    python benchmarks/memory_cells.py --memory 128x20 --heads 1
    python benchmarks/memory_cells.py --quick               # smoke test
"""

import argparse
import os
import platform
import statistics
import time


def parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", default="32x12", help="N x W, e.g. 32x12")
    parser.add_argument("--heads", type=int, default=1, help="read heads (NTM and DNC)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--features", type=int, default=9)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round")
    args = parser.parse_args()
    if args.quick:
        args.memory, args.batch, args.steps, args.units = "8x4", 2, 5, 8
        args.rounds, args.repeats, args.warmup = 1, 1, 1
    rows, width = (int(v) for v in args.memory.lower().split("x"))
    args.rows, args.width = rows, width
    return args


def build_models(args):
    import keras

    import rnnzoo

    memory = {"memory_rows": args.rows, "memory_width": args.width,
              "num_read_heads": args.heads, "controller": "lstm",
              "controller_units": args.units}
    layers = {
        "lstm (controller alone)": rnnzoo.layers.LSTM(args.units, return_sequences=True, seed=1),
        "ntm": rnnzoo.layers.NTM(args.units, return_sequences=True, seed=1, **memory),
        "dnc": rnnzoo.layers.DNC(args.units, return_sequences=True, seed=1, **memory),
    }
    models = {}
    for name, layer in layers.items():
        inputs = keras.Input((args.steps, args.features))
        model = keras.Model(inputs, layer(inputs))
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse", jit_compile=False)
        state = sum(int(s) for s in layer.cell.state_size) if isinstance(
            layer.cell.state_size, (list, tuple)) else int(layer.cell.state_size)
        models[name] = (model, state)
    return models


def timed(call, repeats):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def main():
    args = parse()
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(args.threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(args.threads))
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    models = build_models(args)
    x = np.random.default_rng(0).standard_normal(
        (args.batch, args.steps, args.features)).astype("float32")
    y = np.zeros((args.batch, args.steps, args.units), "float32")
    calls = {}
    for name, (model, _) in models.items():
        serve = tf.function(lambda v, m=model: m(v, training=False))
        calls[name] = {
            "serve": lambda s=serve: s(x).numpy(),
            "train": lambda m=model: m.train_on_batch(x, y),
        }
        for _ in range(args.warmup):
            calls[name]["serve"]()
            calls[name]["train"]()
    times = {name: {"serve": [], "train": []} for name in models}
    reference = "lstm (controller alone)"
    for _ in range(args.rounds):
        for mode in ("serve", "train"):
            for name in models:
                times[name][mode].append(timed(calls[name][mode], args.repeats) / args.steps)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"TF {tf.__version__}, threads {args.threads}, load {os.getloadavg()[0]:.1f}")
    print(f"B={args.batch} T={args.steps} D={args.features} H={args.units} "
          f"memory {args.rows}x{args.width}, read heads {args.heads}, rounds {args.rounds}")
    print("| layer | params | state floats | serve ms/step | serve x LSTM | "
          "train ms/step | train x LSTM |")
    print("|---|---|---|---|---|---|---|")
    for name, (model, state) in models.items():
        cells = []
        for mode in ("serve", "train"):
            ratios = [t / r for t, r in zip(times[name][mode], times[reference][mode])]
            cells.append(f"{1e3 * statistics.median(times[name][mode]):.3f}")
            cells.append(f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
        print(f"| {name} | {model.count_params():,} | {state:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
