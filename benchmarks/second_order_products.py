"""The matrix products of a `second_order` training step, alone, against its equal-MACs LSTM's.

`second_order` is compared with `LSTM(346)`, the Keras LSTM of its multiply-adds
(`throughput.py`). A step-wise gradient of its cell (what TensorFlow builds
for any `keras.layers.RNN` loop) runs three products per time step: the
forward `P W`, with `P` the `(batch, units * features)` outer product of state
and input, the input gradient `dz W'` and the weight gradient `P' dz`.
`LSTM(346)` runs five, of the same multiply-adds in all.
This script times those products alone (one TensorFlow thread, CPU time, a
fresh operand for every call), interleaved over rounds, and, in the same
rounds, the whole training step of both layers (`throughput.Bench`), per
time step. If `second_order`'s three products alone take more than 1.1 times
`LSTM(346)`'s whole step, no step-wise arrangement of the rest can meet the
throughput target.

`--layouts` adds other arrangements of the same products: the kernel
stored transposed, `(units, units * features)`; the outer product split
along its columns into 4 or 8 chunks (as many smaller products, summed);
and the weight gradient of the whole sequence as one product over all
`T batch` rows (what a hand-written gradient of the whole loop could do;
per time step, it is that product's time over `T`), with the outer products
stored as rows or, transposed, as columns.

Usage:
    python benchmarks/second_order_products.py --rounds 7 --layouts
    python benchmarks/second_order_products.py --quick --rounds 1   # smoke test
"""

import argparse
import datetime
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

import host  # noqa: E402  (same folder)
import throughput  # noqa: E402  (same folder)

CALLS = 20  # products per timed call, each on its own operands


def second_order_products(batch, features, units, layout="as it is"):
    """{product label: function of (P, dz)} for one layout."""
    width = units * features
    kernel = tf.random.normal((width, units))
    if layout == "kernel transposed":
        transposed = tf.transpose(kernel)
        return {
            "forward P W": lambda p, dz: tf.matmul(p, transposed, transpose_b=True),
            "input gradient dz W'": lambda p, dz: tf.matmul(dz, transposed),
            "weight gradient dz' P": lambda p, dz: tf.matmul(dz, p, transpose_a=True),
        }
    chunks = 1 if layout == "as it is" else int(layout.split()[0])
    kernels = tf.split(kernel, chunks, axis=0)

    def forward(p, dz):
        return tf.add_n([tf.matmul(part, k) for part, k in zip(tf.split(p, chunks, 1), kernels)])

    def input_gradient(p, dz):
        return tf.concat([tf.matmul(dz, k, transpose_b=True) for k in kernels], axis=1)

    def weight_gradient(p, dz):
        return tf.concat([tf.matmul(part, dz, transpose_a=True)
                          for part in tf.split(p, chunks, 1)], axis=0)

    return {"forward P W": forward, "input gradient dz W'": input_gradient,
            "weight gradient P' dz": weight_gradient}


def lstm_products(batch, features, units):
    """The products of one LSTM(units) training step, Keras' arrangement."""
    kernel = tf.random.normal((features, 4 * units))
    recurrent = tf.random.normal((units, 4 * units))
    return {  # each a function of (x, h, dz), using the operands it needs
        "forward x W": lambda x, h, dz: tf.matmul(x, kernel),
        "forward h U": lambda x, h, dz: tf.matmul(h, recurrent),
        "state gradient dz U'": lambda x, h, dz: tf.matmul(dz, recurrent, transpose_b=True),
        "weight gradient h' dz": lambda x, h, dz: tf.matmul(h, dz, transpose_a=True),
        "weight gradient x' dz": lambda x, h, dz: tf.matmul(x, dz, transpose_a=True),
    }


def timed_calls(product, operands):
    """A traced function that runs `product` once on each operand tuple."""
    @tf.function
    def run(operands):
        return tf.stack([product(*args)[0, 0] for args in operands])

    run(operands)
    return lambda: run(operands)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--layouts", action="store_true",
                        help="also the transposed kernel and the outer product in chunks")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    shape = dict(throughput.QUICK if args.quick else throughput.FULL,
                 return_sequences=False, jit=False)
    batch, features, units = shape["batch"], shape["features"], shape["units"]

    layer = throughput.Bench("second_order", shape, 0)
    references = {name: throughput.Bench(name, shape, 0) for name in ("SimpleRNN", "LSTM")}
    sized = throughput.sized_name(layer.macs, shape, references["SimpleRNN"].macs,
                                  references["LSTM"].macs)
    lstm_units = throughput.parse_sized(sized)[1] if sized else units
    reference = throughput.Bench(sized or "LSTM", shape, 0)
    reference_name = f"LSTM({lstm_units})"

    timers, calls = {}, {}
    chunked = ["2 chunks"] if args.quick else ["4 chunks", "8 chunks"]  # tiny widths split in two
    whole = ["weight gradient over all steps", "weight gradient over all steps, P' stored"]
    layouts = ["as it is"] + (["kernel transposed", *chunked, *whole] if args.layouts else [])
    steps = shape["timesteps"]
    width = units * features
    for layout in layouts:
        products = second_order_products(batch, features, units,
                                         "as it is" if layout in whole else layout)
        for label, product in products.items():
            rows, count, shapes = batch, CALLS, ((batch, width), (batch, units))
            if layout in whole and label.startswith("weight gradient"):
                # One product over all T batch rows (about 100 MiB at the full shape).
                rows, count = steps * batch, 2
                shapes = ((rows, width), (rows, units))
                if layout == whole[1]:  # the outer products as columns: P' dz, no transpose
                    label, shapes = "weight gradient P' dz", ((width, rows), (rows, units))
                    product = tf.matmul
            operands = [tuple(tf.random.normal(s) for s in shapes) for _ in range(count)]
            timers[("second_order", layout, label)] = timed_calls(product, operands)
            calls[("second_order", layout, label)] = count * (steps if rows > batch else 1)
    for label, product in lstm_products(batch, features, lstm_units).items():
        operands = [(tf.random.normal((batch, features)), tf.random.normal((batch, lstm_units)),
                     tf.random.normal((batch, 4 * lstm_units))) for _ in range(CALLS)]
        timers[(reference_name, "Keras", label)] = timed_calls(product, operands)
    for name, bench in (("second_order", layer), (reference_name, reference)):
        bench.train()
        timers[(name, "whole step", "train_on_batch")] = bench.train

    started = time.perf_counter()
    seconds = {key: [] for key in timers}
    for _ in range(args.rounds):
        for key, timer in timers.items():
            best = float("inf")
            for _ in range(3):
                begin = time.process_time()
                timer()
                best = min(best, time.process_time() - begin)
            # Per product call, or per time step for whole steps and whole sequences.
            seconds[key].append(best / (steps if key[1] == "whole step"
                                        else calls.get(key, CALLS)))
    ms = {key: 1e3 * statistics.median(values) for key, values in seconds.items()}

    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{host.describe()}, TensorFlow {tf.__version__}; B={batch} D={features} H={units}, "
          f"{reference_name}; {args.rounds} rounds, 1 TF thread, CPU time; "
          f"{time.perf_counter() - started:.0f} s in all")
    print()
    print("| layer | arrangement | product | ms per time step |")
    print("|---|---|---|---|")
    for (name, layout, label), value in ms.items():
        print(f"| {name} | {layout} | {label} | {value:.3f} |")
    print()
    products = {layout: sum(v for (name, lay, _), v in ms.items()
                            if name == "second_order" and lay == layout) for layout in layouts}
    lstm_step = ms[(reference_name, "whole step", "train_on_batch")]
    print(f"| second_order arrangement | its products | / {reference_name}'s products "
          f"| / {reference_name}'s whole training step |")
    print("|---|---|---|---|")
    lstm_products_ms = sum(v for (name, layout, _), v in ms.items()
                           if name == reference_name and layout == "Keras")
    for layout, value in products.items():
        print(f"| {layout} | {value:.3f} | {value / lstm_products_ms:.2f} "
              f"| {value / lstm_step:.2f} |")


if __name__ == "__main__":
    main()
