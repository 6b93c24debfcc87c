"""Serve and training throughput of every step-wise zoo layer against Keras' built-ins.

Measures, in one process, each registered layer whose class is a
`keras.layers.RNN` subclass and the two references `keras.layers.SimpleRNN`
and `keras.layers.LSTM`:

- serve: one forward pass `model(x, training=False)` inside a traced
  `tf.function` (no XLA);
- train: one `model.train_on_batch(x, y)` step (SGD, mean squared error
  against zeros; `jit_compile=False`, which is also what Keras picks on CPU).
  `--jit-compile` compiles both with XLA instead, for every model alike.
  The ESN has no trainable weights (its readout is a separate layer), so its
  training columns read n/a and its verdict rests on serving.

The model is `Input((T, D)) -> layer(units=H)`, returning the last output
(`--return-sequences`: the outputs of all steps), at
B=64, T=100, D=32, H=128 (`--quick`: B=4, T=5, D=3, H=8). Every layer gets
`units=H` plus the arguments in `EXTRA_ARGS` (Jordan needs `output_units`;
H there too, so its state is H wide) and otherwise its defaults: e.g. `mtrnn`
splits its H units into three groups, `rmlp` is one H-unit layer, `fir` has 2
delays, `ctrnn` one Euler step.

Keras' `GRU` is timed as a further row (not part of the reference line)
whenever the zoo's `gru` is, since the zoo's `gru` is that very layer.

Time is the process's CPU time by default (`--clock cpu`: with one
TensorFlow thread it is the work done, which other jobs on a busy machine
inflate far less than elapsed time; `--clock wall` times elapsed time).

Every model is built, traced and run `--warmup` times before timing. Then
`--rounds` rounds visit every layer in turn (a fresh random order per round);
a visit is one block per mode in which the layer, SimpleRNN and LSTM are
each called `--repeats` times back to back (who goes first drawn at random)
and the fastest call of each is kept: a warm call, whose caches hold that
model's own weights. (Until 2026-12-04 the three took turns call by call, so
each call found the caches filled by another model, and the layer more often
after LSTM's larger working set than SimpleRNN was: SimpleRNN timed against
itself read 1.08 in serving on a host with AVX-512; see README.md.)
Timings on a shared machine drift by 2x within minutes, so the table reports
ratios formed *within a block* (the layer's time over the references' times
measured within the same second or so), the median over rounds, and their
min-max over rounds in brackets. The reference rows are timed like any layer
(SimpleRNN against itself), so their spread shows the noise. TensorFlow runs
on one thread (`--threads 1`, the default) so that a busy machine perturbs
the timings less; the comparison is between equally configured layers.

Equal-FLOPs reference. A cell's work per step is estimated as its
multiply-adds: B times the number of entries of every weight with two or
more axes (kernels, recurrent kernels, 3-D tensors; vectors such as biases,
IndRNN's diagonal recurrence or time constants are left out, and so is all
element-wise work), times the number of sub-steps where a cell applies its
recurrent kernel more than once (`ctrnn` with `integration_steps` > 1 or
RK4). SimpleRNN costs B (D H + H^2) and LSTM 4 B (D H + H^2). Within each
block, the time of "a built-in with the same multiply-adds" is read off the
straight line through (MACs, time) of SimpleRNN and LSTM at the zoo cell's
MACs (the line is flat in a block where LSTM came out faster than
SimpleRNN). Outside that range a line would have to be extrapolated, which
flatters a cell above LSTM's size (a large matmul runs more efficiently per
FLOP) and is harsh below SimpleRNN's (the fixed cost of a loop step does not
shrink). So there the built-in of equal MACs is built and timed instead: a
`SimpleRNN(u)` below the range and an `LSTM(u)` above it, with `u` the whole
number of units whose MACs come nearest the cell's (`indrnn` at H=128 gets
`SimpleRNN(50)`, 0.1% more MACs). It is timed in the same blocks as the
cell, gets a row of its own (its ratio there is to the extrapolated line,
never taken below half the faster built-in, which shows how far the line
would be off), and the column "equal-FLOPs reference" names it ("line" for
the interpolation). The issue's target is a ratio of at most 1.1 to that
reference, for serving and for training, for every zoo cell.
The zoo's `lstm` and `gru` are Keras' own layers under zoo names (the issue
asks for exactly that): their cells are built-ins, so their verdict reads
"(Keras' LSTM)" / "(Keras' GRU)" and their ratios show the noise and where
Keras' GRU itself sits against the line.

Usage:
    python benchmarks/throughput.py                      # all layers, about 5 minutes
    python benchmarks/throughput.py --rounds 9 --layers elman,lstm,gru
    python benchmarks/throughput.py --quick --rounds 1 --layers elman   # smoke test
    python benchmarks/throughput.py --count-nodes --layers gru,hierarchical  # loop sizes
    python benchmarks/throughput.py --layers layer_norm_lstm --against 5a6c036  # before/after
    python benchmarks/throughput.py --jit-compile --layers ctrnn,elman   # under XLA

Before and after. `--against REV` adds a row `name@REV` for every named
layer: the same layer as its module was at git revision REV (read with `git
show` and run against today's `rnnzoo.layers.base`), timed in the same
interleaved rounds. Processes started one after the other differ by more
than most changes do (the machine is shared), so an old and a new cell are
only compared within one process.
"""

import argparse
import datetime
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # each model has its own tf.function; no retracing

import rnnzoo  # noqa: E402

import host  # noqa: E402  (same folder)

FULL = {"batch": 64, "timesteps": 100, "features": 32, "units": 128}
QUICK = {"batch": 4, "timesteps": 5, "features": 3, "units": 8}
TARGET = 1.1

# Arguments beyond `units` (tests/layers/conformance_exemptions.py LAYER_ARGS
# names the required ones); "H" is replaced by the benchmark's units.
EXTRA_ARGS = {"jordan": {"output_units": "H"}}

REFERENCES = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM}
# Further built-ins timed like the zoo layers (not used for the equal-FLOPs
# line): Keras' GRU, to show that the zoo's `gru` costs what it does.
BUILTINS = {**REFERENCES, "GRU": keras.layers.GRU}


def step_wise_layers():
    """Registry names of the layers that are `keras.layers.RNN` subclasses."""
    names = []
    for name in rnnzoo.list_layers():
        cls = rnnzoo.get_layer(name)
        if isinstance(cls, type) and issubclass(cls, keras.layers.RNN):
            names.append(name)
    return names


# Layers as they were at an earlier revision (`--against`), by row name `name@REV`.
EARLIER = {}


def load_earlier(names, revision):
    """Loads each named layer's module as of git `revision` into `EARLIER`.

    The old module runs against today's `rnnzoo.layers.base`, with its
    registration decorators replaced, so nothing is registered (with the zoo
    or with Keras) and today's classes stay untouched. Returns the row names.
    """
    import rnnzoo.layers.base as base

    root = Path(__file__).resolve().parent.parent
    loaded = {}  # module name -> {zoo name: class}
    rows = []
    for name in names:
        module = rnnzoo.get_layer(name).__module__
        if module not in loaded:
            path = module.replace(".", "/") + ".py"
            shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=root,
                                   capture_output=True, text=True)
            if shown.returncode:
                raise SystemExit(f"--against {revision}: cannot read {path} there "
                                 f"({shown.stderr.strip()})")
            found = {}

            def zoo_layer(zoo_name, aliases=(), found=found):
                def keep(cls):
                    found[zoo_name] = cls
                    cls.zoo_name = zoo_name
                    return cls
                return keep

            saved = base.zoo_layer, base.serializable
            base.zoo_layer, base.serializable = zoo_layer, lambda cls: cls
            try:
                exec(compile(shown.stdout, f"{revision}:{path}", "exec"),
                     {"__name__": f"{module}@{revision}"})
            finally:
                base.zoo_layer, base.serializable = saved
            loaded[module] = found
        if name not in loaded[module]:
            raise SystemExit(f"--against {revision}: no layer {name!r} in {module} there")
        EARLIER[f"{name}@{revision}"] = loaded[module][name]
        rows.append(f"{name}@{revision}")
    return rows


def sized_name(macs, shape, simple_macs, lstm_macs):
    """The built-in of `macs` multiply-adds per step outside the references'
    range, as a row name ("SimpleRNN(50)"), or None inside it.

    SimpleRNN(u) costs B (D u + u^2) and LSTM(u) four times that; `u` is the
    whole number of units whose MACs come nearest `macs`.
    """
    if simple_macs <= macs <= lstm_macs:
        return None
    kind, gates = ("SimpleRNN", 1) if macs < simple_macs else ("LSTM", 4)
    features, per_unit = shape["features"], macs / (gates * shape["batch"])
    root = (-features + (features**2 + 4 * per_unit) ** 0.5) / 2
    units = min((max(1, int(root)), int(root) + 1),
                key=lambda u: abs(u * (features + u) - per_unit))
    return f"{kind}({units})"


def parse_sized(name):
    """`(kind, units)` of a sized reference's row name ("LSTM(346)"), else None."""
    kind, _, rest = name.partition("(")
    if kind in REFERENCES and rest.endswith(")") and rest[:-1].isdigit():
        return kind, int(rest[:-1])
    return None


def is_reference(name):
    """SimpleRNN, LSTM and the sized references ("SimpleRNN(50)")."""
    return name in REFERENCES or parse_sized(name) is not None


def make_layer(name, units, return_sequences=False):
    if name in BUILTINS:
        return BUILTINS[name](units, return_sequences=return_sequences)
    sized = parse_sized(name)
    if sized:
        kind, size = sized
        return REFERENCES[kind](size, return_sequences=return_sequences)
    zoo_name = name.split("@")[0]
    extra = {k: units if v == "H" else v for k, v in EXTRA_ARGS.get(zoo_name, {}).items()}
    cls = EARLIER[name] if name in EARLIER else rnnzoo.get_layer(name)
    return cls(units, return_sequences=return_sequences, **extra)


def macs_per_step(layer, batch):
    """Estimated multiply-adds of one step of the layer's cell (see module docstring)."""
    cell = layer.cell
    total = 0
    for weight in cell.weights:
        shape = tuple(weight.shape)
        if len(shape) >= 2:
            size = int(np.prod(shape))
            if "recurrent" in weight.path.split("/")[-1]:
                size *= getattr(cell, "integration_steps", 1) * (
                    4 if getattr(cell, "method", "euler") == "rk4" else 1
                )
            total += size
    return batch * total


class Bench:
    """One model with its traced forward function and compiled training step."""

    def __init__(self, name, shape, seed):
        keras.utils.set_random_seed(seed)
        batch, steps = shape["batch"], shape["timesteps"]
        features, units = shape["features"], shape["units"]
        self.name = name
        self.layer = make_layer(name, units, shape.get("return_sequences", False))
        inputs = keras.Input((steps, features), batch_size=batch)
        self.model = keras.Model(inputs, self.layer(inputs))
        self.model.compile(
            optimizer=keras.optimizers.SGD(1e-4), loss="mse", jit_compile=shape.get("jit", False)
        )
        rng = np.random.default_rng(seed)
        self.x = tf.constant(rng.standard_normal((batch, steps, features)).astype("float32"))
        self.y = tf.zeros(self.model.output_shape, "float32")
        model = self.model
        self.forward = tf.function(lambda x: model(x, training=False),
                                   jit_compile=shape.get("jit", False))
        self.macs = macs_per_step(self.layer, batch)
        # An ESN reservoir is fixed: its layer has nothing to train.
        self.trainable = bool(self.model.trainable_weights)

    def serve(self):
        return self.forward(self.x).numpy()

    def train(self):
        return self.model.train_on_batch(self.x, self.y)


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = CLOCKS["cpu"]


def loop_nodes(bench):
    """Graph nodes in the time loop's body: forward (serve) and backward (train).

    Counts every node of the `while` body functions of the traced serve
    function and of a traced gradient (Const and Identity nodes included), a
    rough measure of the per-step dispatch work beside the MACs.
    """
    def bodies(function, *args):
        graph = function.get_concrete_function(*args).graph.as_graph_def()
        return {f.signature.name: len(f.node_def) for f in graph.library.function
                if "while_body" in f.signature.name}

    forward = bodies(bench.forward, bench.x)
    serve = max(forward.values(), default=0)
    if not bench.trainable:
        return serve, None
    model = bench.model

    @tf.function
    def gradient(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True)))
        return tape.gradient(loss, model.trainable_weights)

    backward = [n for name, n in bodies(gradient, bench.x).items() if "_grad" in name]
    return serve, max(backward, default=0)


def timed(fn):
    start = _clock()
    fn()
    return _clock() - start


def equal_flops_time(macs, simple, lstm):
    """Time of a built-in with `macs` multiply-adds: the line through (MACs, time) of the two."""
    (f_s, t_s), (f_l, t_l) = simple, lstm
    # A block where noise made LSTM faster than SimpleRNN gets a flat line,
    # not a falling one (which could reach zero above LSTM's size).
    slope = max(t_l - t_s, 0.0) / (f_l - f_s)
    return max(t_s + slope * (macs - f_s), 0.5 * min(t_s, t_l))


def measure(names, shape, rounds, repeats, warmup, seed=0):
    """Builds and warms every model, then times interleaved blocks.

    Returns the models, the sized reference of each layer outside the
    references' MACs (`{layer: reference row name}`, see `sized_name`), and,
    per layer and mode, one tuple of seconds per round: `(layer, SimpleRNN,
    LSTM)`, plus the sized reference where the layer has one, each the
    fastest of `repeats` back-to-back calls, the models one after another, so
    that the references are timed within a second of the layer they are
    compared with.
    """
    benches = {}

    def add(name):
        bench = Bench(name, shape, seed)
        for _ in range(warmup):
            bench.serve()
            if bench.trainable:
                bench.train()
        benches[name] = bench

    extra = ["GRU"] if "gru" in names else []
    for name in ["SimpleRNN", "LSTM"] + extra + [n for n in names if n not in BUILTINS]:
        add(name)
    sized = {}
    for name in [n for n in benches if n not in BUILTINS]:
        reference = sized_name(benches[name].macs, shape, benches["SimpleRNN"].macs,
                               benches["LSTM"].macs)
        if reference:
            sized[name] = reference
            if reference not in benches:
                add(reference)
    blocks = {name: {"serve": [], "train": []} for name in benches}
    order = list(benches)
    shuffler = random.Random(seed)
    for _ in range(rounds):
        shuffler.shuffle(order)
        for name in order:
            group = [benches[name], benches["SimpleRNN"], benches["LSTM"]]
            if name in sized:
                group.append(benches[sized[name]])
            for mode in ("serve", "train") if group[0].trainable else ("serve",):
                best = [float("inf")] * len(group)
                first = shuffler.randrange(len(group))  # who goes first
                for k in range(len(group)):
                    i = (k + first) % len(group)
                    # Back-to-back calls: the first one finds the caches
                    # holding the previous model's weights and activations;
                    # the fastest is a warm call for every model alike.
                    for _ in range(repeats):
                        best[i] = min(best[i], timed(getattr(group[i], mode)))
                blocks[name][mode].append(tuple(best))
    return benches, sized, blocks


def summarise(benches, sized, blocks):
    """Per layer and mode: median time and per-block ratios to the references."""
    rows = {}
    f_s, f_l = benches["SimpleRNN"].macs, benches["LSTM"].macs
    for name, bench in benches.items():
        # A zoo name for a Keras layer itself (`lstm`, `gru`): its cell is a
        # built-in, not a zoo cell, so the target does not apply to it.
        row = {"macs": bench.macs, "reference": sized.get(name, "line"),
               "keras_layer": next((key for key, cls in BUILTINS.items()
                                    if not is_reference(name) and name not in BUILTINS
                                    and isinstance(bench.layer, cls)), None)}
        for mode in ("serve", "train"):
            groups = blocks[name][mode]
            if not groups:
                row[mode] = None
                continue
            row[mode] = {
                "ms": 1e3 * statistics.median(group[0] for group in groups),
                "simple": [own / simple for own, simple, *_ in groups],
                "lstm": [own / lstm for own, _, lstm, *_ in groups],
                # The sized built-in where there is one, else the line.
                "equal": [
                    own / (rest[0] if rest else
                           equal_flops_time(bench.macs, (f_s, simple), (f_l, lstm)))
                    for own, simple, lstm, *rest in groups
                ],
            }
        rows[name] = row
    return rows


def fmt_ratio(values, spread):
    text = f"{statistics.median(values):.2f}"
    if spread and len(values) > 1:
        text += f" ({min(values):.2f}-{max(values):.2f})"
    return text


def table(rows):
    lines = [
        "| layer | MMAC/step | equal-FLOPs reference | serve ms | serve / SimpleRNN "
        "| serve / LSTM | serve / equal-FLOPs built-in | train ms | train / SimpleRNN "
        f"| train / LSTM | train / equal-FLOPs built-in | within {TARGET}x |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        cells = [name, f"{row['macs'] / 1e6:.3g}", row["reference"]]
        meets = True
        for mode in ("serve", "train"):
            data = row[mode]
            if data is None:
                cells += ["n/a"] * 4
                continue
            cells += [
                f"{data['ms']:.1f}",
                fmt_ratio(data["simple"], False),
                fmt_ratio(data["lstm"], False),
                fmt_ratio(data["equal"], True),
            ]
            meets = meets and statistics.median(data["equal"]) <= TARGET
        if is_reference(name):
            cells.append("(reference)")
        elif name in BUILTINS:
            cells.append("(built-in)")
        elif row["keras_layer"]:
            cells.append(f"(Keras' {row['keras_layer']})")
        else:
            cells.append("yes" if meets else "**no**")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument(
        "--repeats", type=int, default=5, help="calls per layer and round (fastest kept)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per layer first")
    parser.add_argument(
        "--layers", default="",
        help="comma-separated registry names (default: every step-wise layer)",
    )
    parser.add_argument(
        "--threads", type=int, default=1,
        help="TensorFlow intra- and inter-op threads (default 1; 0: TensorFlow's choice)",
    )
    parser.add_argument(
        "--clock", choices=tuple(CLOCKS), default="cpu",
        help="cpu (default): the process's CPU time, which other jobs on a busy "
        "machine do not inflate; wall: elapsed time",
    )
    parser.add_argument(
        "--count-nodes", action="store_true",
        help="only print the graph nodes in each layer's loop body (forward, backward)",
    )
    parser.add_argument(
        "--against", metavar="REV", default=None,
        help="also time each named layer as it was at git revision REV (rows name@REV)",
    )
    parser.add_argument(
        "--return-sequences", action="store_true",
        help="every model returns the output of every step, not only the last",
    )
    parser.add_argument(
        "--jit-compile", action="store_true",
        help="compile serving and training with XLA (every model alike; Keras' "
        "default on CPU is not to)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    if args.rounds < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error("--rounds and --repeats must be >= 1, --warmup >= 0")

    available = step_wise_layers()
    names = [n.strip() for n in args.layers.split(",") if n.strip()] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"not step-wise registered layers: {unknown}; choose from {available}")
    if args.against:
        if not args.layers:
            parser.error("--against needs --layers (the layers to compare)")
        earlier = load_earlier(names, args.against)  # each module read once
        names = [row for pair in zip(names, earlier) for row in pair]
    shape = dict(QUICK if args.quick else FULL, return_sequences=args.return_sequences,
                 jit=args.jit_compile)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    if args.count_nodes:
        print("| layer | loop-body nodes, forward | loop-body nodes, backward |")
        print("|---|---|---|")
        extra = ["GRU"] if "gru" in names else []
        for name in ["SimpleRNN", "LSTM"] + extra + [n for n in names if n not in BUILTINS]:
            serve, train = loop_nodes(Bench(name, shape, 0))
            print(f"| {name} | {serve} | {'n/a' if train is None else train} |")
        return

    started = time.perf_counter()
    benches, sized, blocks = measure(names, shape, args.rounds, args.repeats, args.warmup)
    rows = summarise(benches, sized, blocks)
    elapsed = time.perf_counter() - started

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{host.describe()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
        + (f", load average {load[0]:.1f} at the end" if load else "")
    )
    print(
        "# B={batch} T={timesteps} D={features} H={units}; ".format(**shape)
        + ("all steps' outputs; " if args.return_sequences else "")
        + ("XLA (jit_compile=True); " if args.jit_compile else "")
        + f"{args.rounds} rounds x {args.repeats} repeats, {args.warmup} warm-up calls, "
        + f"{args.threads or 'default'} TF threads; "
        + f"{elapsed:.0f} s in all"
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
