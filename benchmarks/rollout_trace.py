"""An autoregressive `Forecaster`'s first `fit` and `predict`, one-step calls unrolled or looped.

Each roll-out step of `Forecaster(mode="autoregressive")` calls the backbone
on a one-step sequence. `rnnzoo.layers.base.unrolled_if_one_step` runs such a
call unrolled, with no `while` loop. This script builds the same forecaster
twice in one process, once as shipped and once with that switch turned off
(every one-step call then builds its own loop, as before), and times on each
the first `fit` epoch (tracing included), the first `predict`, and a later
epoch. Wall-clock seconds; the model is small, so most of the first epoch is
tracing.

Usage:
    python benchmarks/rollout_trace.py                 # lstm, 32 units, horizon 20
    python benchmarks/rollout_trace.py --layer elman --horizon 10
    python benchmarks/rollout_trace.py --quick         # smoke test
"""

import argparse
import contextlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import rnnzoo  # noqa: E402
import rnnzoo.layers.base as base  # noqa: E402
import rnnzoo.layers.lstm as lstm  # noqa: E402
import rnnzoo.layers.stacked as stacked  # noqa: E402
from rnnzoo.tasks import Forecaster  # noqa: E402


@contextlib.contextmanager
def looped_one_step_calls():
    """Turns the one-step unrolling off (where the layers look it up) while the block runs."""
    def never(layer, sequences):
        return contextlib.nullcontext()

    modules = (base, lstm, stacked)
    saved = [module.unrolled_if_one_step for module in modules]
    for module in modules:
        module.unrolled_if_one_step = never
    try:
        yield
    finally:
        for module, original in zip(modules, saved):
            module.unrolled_if_one_step = original


def timings(layer, units, window, horizon, batch):
    """Seconds of the first fit epoch, the first predict and a later epoch."""
    keras.utils.set_random_seed(0)
    model = Forecaster(rnnzoo.get_layer(layer)(units), window=window, horizon=horizon,
                       mode="autoregressive")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, window, 1)).astype("float32")
    y = rng.standard_normal((batch, horizon, 1)).astype("float32")
    result = {}
    for label, run in (("first fit epoch", lambda: model.fit(x, y, epochs=1, verbose=0)),
                       ("first predict", lambda: model.predict(x, verbose=0)),
                       ("later fit epoch", lambda: model.fit(x, y, epochs=1, verbose=0))):
        start = time.perf_counter()
        run()
        result[label] = time.perf_counter() - start
    return result, model.predict(x, verbose=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layer", default="lstm", help="registry name of the backbone")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--horizon", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    if args.layer not in rnnzoo.list_layers(kind="stepwise"):
        parser.error(f"--layer must be a step-wise registry name, got {args.layer!r}")
    if min(args.units, args.window, args.horizon) < 1:
        parser.error("--units, --window and --horizon must be >= 1")
    if args.quick:
        args.units, args.window, args.horizon = 4, 5, 3
    batch = 8 if args.quick else 64

    unrolled, first = timings(args.layer, args.units, args.window, args.horizon, batch)
    with looped_one_step_calls():
        looped, second = timings(args.layer, args.units, args.window, args.horizon, batch)
    # Same seed, same weights: the two forms must forecast the same numbers.
    difference = float(np.max(np.abs(first - second)))
    print(f"# {args.layer}({args.units}), window {args.window}, horizon {args.horizon}, "
          f"batch {batch}; largest forecast difference {difference:.1e}")
    print()
    print("| one-step calls | first fit epoch s | first predict s | later fit epoch s |")
    print("|---|---|---|---|")
    for label, result in (("unrolled (shipped)", unrolled), ("while loop (before)", looped)):
        cells = " | ".join(f"{result[key]:.2f}" for key in
                           ("first fit epoch", "first predict", "later fit epoch"))
        print(f"| {label} | {cells} |")


if __name__ == "__main__":
    main()
