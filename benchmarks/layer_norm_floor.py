"""What the three normalisations of `layer_norm_lstm` cost, against the 1.1x target.

The throughput target (`throughput.py`) compares `layer_norm_lstm` with
Keras' LSTM of the same multiply-adds, so it leaves the normalisations a
budget of 0.10 of an LSTM step. This script times, in the same interleaved
rounds as `throughput.py` (its `measure`, same shapes, one TensorFlow thread,
CPU time), three forms of the layer:

- `layer_norm_lstm`: the layer as shipped;
- `layer_norm_lstm@automatic_gradient`: the same forward pass, with the
  normalisations' gradient left to TensorFlow (the form before the
  hand-written gradient of `rnnzoo.layers.lstm._normalized`);
- `layer_norm_lstm@without_normalization`: the same cell and loop with the
  three normalisations taken out (identity in their place): an LSTM written
  as a zoo cell, which shows what the zoo's loop costs beside Keras' LSTM.

The difference between the first and the last, as a share of Keras' LSTM, is
what the normalisations cost at this shape; where it exceeds the budget,
no arrangement of the rest of the step can meet the target while the
normalisations run as separate TensorFlow kernels (no XLA, which the target
excludes).

Usage:
    python benchmarks/layer_norm_floor.py --rounds 11
    python benchmarks/layer_norm_floor.py --quick --rounds 1   # smoke test
"""

import argparse
import datetime
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

import throughput  # noqa: E402  (same folder)
from rnnzoo.layers.lstm import LayerNormLSTM, LayerNormLSTMCell  # noqa: E402

BUDGET = throughput.TARGET - 1.0


class AutomaticGradientCell(LayerNormLSTMCell):
    """The plain formulas, differentiated by TensorFlow."""

    def scale(self, centered, gamma):
        variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
        return centered * ops.rsqrt(variance + self.epsilon) * gamma

    def normalize(self, values, gamma, beta=None):
        normalized = self.scale(self.center(values), gamma)
        return normalized if beta is None else normalized + beta


class WithoutNormalizationCell(LayerNormLSTMCell):
    """The same step with the three normalisations replaced by the identity."""

    def prepare_inputs(self, inputs):
        return inputs

    def scale(self, centered, gamma):
        return centered

    def normalize(self, values, gamma, beta=None):
        return values


class AutomaticGradient(LayerNormLSTM):
    cell_class = AutomaticGradientCell


class WithoutNormalization(LayerNormLSTM):
    cell_class = WithoutNormalizationCell


FORMS = {
    "layer_norm_lstm@automatic_gradient": AutomaticGradient,
    "layer_norm_lstm@without_normalization": WithoutNormalization,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11, help="interleaved timing rounds")
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls per layer and round (fastest kept)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be >= 1")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    throughput.EARLIER.update(FORMS)
    # Without the normalisations their gains get no gradient, as intended.
    warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
    shape = dict(throughput.QUICK if args.quick else throughput.FULL,
                 return_sequences=False, jit=False)
    names = ["layer_norm_lstm", *FORMS]

    started = time.perf_counter()
    benches, sized, blocks = throughput.measure(names, shape, args.rounds, args.repeats, 2)
    rows = throughput.summarise(benches, sized, blocks)
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"TensorFlow {tf.__version__}; B={shape['batch']} T={shape['timesteps']} "
          f"D={shape['features']} H={shape['units']}; {args.rounds} rounds x "
          f"{args.repeats} repeats, 1 TF thread, CPU time; "
          f"{time.perf_counter() - started:.0f} s in all")
    print()
    print(throughput.table(rows))
    print()
    print("| mode | normalisations' cost / LSTM | budget | hand-written gradient's "
          "saving / LSTM |")
    print("|---|---|---|---|")
    for mode in ("serve", "train"):
        share = {name: statistics.median(rows[name][mode]["lstm"]) for name in names}
        cost = share["layer_norm_lstm"] - share["layer_norm_lstm@without_normalization"]
        saving = share["layer_norm_lstm@automatic_gradient"] - share["layer_norm_lstm"]
        print(f"| {mode} | {cost:.2f} | {BUDGET:.2f} | {saving:.2f} |")


if __name__ == "__main__":
    main()
