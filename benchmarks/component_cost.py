"""What each variant's own computation costs, against the 1.1x throughput target.

The throughput target (`throughput.py`) compares a zoo layer with a Keras
built-in of the same multiply-adds, so it leaves whatever a variant adds
beyond those products (its normalisations, its clock, its leak) a budget of
0.10 of the built-in's step. For each named layer this script times, in the
same interleaved rounds as `throughput.py` (its `measure`, same shapes, one
TensorFlow thread, CPU time), the layer as shipped and the same layer with
that computation taken out:

- `layer_norm_lstm@without_normalization`: the three normalisations replaced
  by the identity (an LSTM written as a zoo cell). Also
  `layer_norm_lstm@automatic_gradient`: the same forward pass, with the
  normalisations' gradient left to TensorFlow (the form before the
  hand-written gradient of `rnnzoo.layers.lstm._normalized`).
- `hierarchical@without_clock`: every unit updates at every step; no tick
  flags, no blend (an Elman step that carries the clock's state along).
- `ctrnn@without_leak`, `mtrnn@without_leak`: no `(1 - dt/tau) x` term.

A form without its computation is a different network; only its time
matters here. The difference between a layer and its form without the
computation, in the target's ratio (to the equal-FLOPs built-in), is what
the computation costs at this shape. Where it exceeds the budget, no
arrangement of the rest of the step can meet the target while that
computation runs as separate TensorFlow kernels (no XLA, which the target
excludes).

Usage:
    python benchmarks/component_cost.py --rounds 11
    python benchmarks/component_cost.py --layers layer_norm_lstm --rounds 11
    python benchmarks/component_cost.py --quick --rounds 1   # smoke test
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
from rnnzoo.layers.base import ZooRNN  # noqa: E402
from rnnzoo.layers.clockwork import ClockworkRNN, ClockworkRNNCell  # noqa: E402
from rnnzoo.layers.ctrnn import CTRNN, MTRNN, CTRNNCell, MTRNNCell  # noqa: E402
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


class WithoutClockCell(ClockworkRNNCell):
    """Every unit updates at every step; the step index passes through untouched."""

    def call(self, inputs, states, training=False):
        hidden, step = states
        constants = self.step_constants()
        pre = ops.matmul(inputs, constants["kernel"])
        if self.use_bias:
            pre = ops.add(pre, constants["bias"])
        hidden = self.activation(pre + ops.matmul(hidden, constants["recurrent"]))
        return hidden, [hidden, step]


class WithoutClock(ClockworkRNN):
    cell_class = WithoutClockCell

    def inner_loop(self, sequences, initial_state, mask, training=False):
        return ZooRNN.inner_loop(self, sequences, initial_state, mask, training=training)


def without_leak(cell_class):
    """`cell_class` (CTRNN's or MTRNN's, one Euler step) without the leak term."""

    class WithoutLeakCell(cell_class):
        # The cells' own step with the leak's product taken out (not scaled
        # by zero: the kernel itself must be gone for its cost to go).
        def call(self, inputs, states, training=False):
            potential = states[0]
            firing = self.activation(potential)
            constants = self.step_constants()
            drive = ops.matmul(inputs, constants["kernel"])
            if self.use_bias:
                drive = ops.add(drive, constants["bias"])
            potential = drive + ops.matmul(firing, constants["recurrent"])
            if self._lagging_output:
                return firing, [potential]
            return self.activation(potential), [potential]

    return WithoutLeakCell


def subclass(layer_class, cell_class):
    return type(layer_class.__name__, (layer_class,), {"cell_class": cell_class})


FORMS = {  # layer: (its computation, {row name: the layer without it})
    "layer_norm_lstm": ("normalisations", {
        "layer_norm_lstm@automatic_gradient": subclass(LayerNormLSTM, AutomaticGradientCell),
        "layer_norm_lstm@without_normalization": subclass(LayerNormLSTM,
                                                          WithoutNormalizationCell),
    }),
    "hierarchical": ("clock", {"hierarchical@without_clock": WithoutClock}),
    "ctrnn": ("leak", {"ctrnn@without_leak": subclass(CTRNN, without_leak(CTRNNCell))}),
    "mtrnn": ("leak", {"mtrnn@without_leak": subclass(MTRNN, without_leak(MTRNNCell))}),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default=",".join(FORMS),
                        help=f"comma-separated, from {', '.join(FORMS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=11, help="interleaved timing rounds")
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls per layer and round (fastest kept)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    layers = [name.strip() for name in args.layers.split(",") if name.strip()]
    unknown = [name for name in layers if name not in FORMS]
    if unknown or not layers:
        parser.error(f"--layers must name some of {list(FORMS)}, got {args.layers!r}")
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be >= 1")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    names = []
    for layer in layers:
        forms = FORMS[layer][1]
        throughput.EARLIER.update(forms)
        names += [layer, *forms]
    # Without their computation some weights get no gradient, as intended.
    warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
    shape = dict(throughput.QUICK if args.quick else throughput.FULL,
                 return_sequences=False, jit=False)

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
    print("| layer without | computation | mode | layer / built-in | without it / built-in "
          "| computation's cost | budget |")
    print("|---|---|---|---|---|---|---|")
    for layer in layers:
        computation, forms = FORMS[layer]
        for form in forms:
            if "@without" not in form:
                continue
            for mode in ("serve", "train"):
                shipped = statistics.median(rows[layer][mode]["equal"])
                without = statistics.median(rows[form][mode]["equal"])
                print(f"| {form} | {computation} | {mode} | {shipped:.2f} | {without:.2f} "
                      f"| {shipped - without:.2f} | {BUDGET:.2f} |")


if __name__ == "__main__":
    main()
