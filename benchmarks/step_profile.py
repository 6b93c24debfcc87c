"""Where a recurrent layer's time step goes: the kernels TensorFlow runs, per step.

Traces a few serving calls (`model(x, training=False)` in a `tf.function`)
or training steps (`train_on_batch`) of `Input((T, D)) -> layer(H)`, the
throughput benchmark's models (`throughput.Bench`, same shapes), with the
TensorFlow profiler (`host_tracer_level=3`, one TensorFlow thread, no XLA, as
`throughput.py` runs them) and prints, per layer, the kernels that took the
most time: microseconds per time step and calls per time step, summed over
the traced calls and divided by their steps. The trace goes to a temporary
folder that is removed afterwards.

The profiler records a kernel only when the executor traces it: kernels
that run inline and quickly may be missing, and the row "ExecutorState::Process"
(the executor's scheduling rounds, with everything they ran) is the best
measure of a step's whole cost. Times are the profiler's, with its overhead;
compare layers within one run, not across runs.

Usage:
    python benchmarks/step_profile.py --layers SimpleRNN,ctrnn
    python benchmarks/step_profile.py --layers LSTM,layer_norm_lstm --mode train --top 15
    python benchmarks/step_profile.py --layers "LSTM(346),second_order" --mode train
    python benchmarks/step_profile.py --layers SimpleRNN,ctrnn --return-sequences
    python benchmarks/step_profile.py --quick --layers elman      # smoke test
"""

import argparse
import collections
import glob
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

import rnnzoo  # noqa: E402
# The models, shapes and layer arguments of the throughput benchmark (same folder).
from throughput import BUILTINS, FULL, QUICK, Bench, is_reference  # noqa: E402


def kernel_times(run, calls):
    """{kernel label: (total microseconds, count)} over `calls` traced calls of `run`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = collections.defaultdict(lambda: [0.0, 0])
    with tempfile.TemporaryDirectory() as folder:
        options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=3)
        tf.profiler.experimental.start(folder, options=options)
        try:
            for _ in range(calls):
                run()
        finally:
            tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True)
        space = xplane_pb2.XSpace()
        with open(path, "rb") as file:
            space.ParseFromString(file.read())
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor's threads
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                # "scope/.../node:OpType" -> "node:OpType"
                label = name.rsplit("/", 1)[-1] if ":" in name else name
                totals[label][0] += event.duration_ps / 1e6
                totals[label][1] += 1
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default="SimpleRNN,ctrnn",
                        help="comma-separated: SimpleRNN, LSTM, GRU or zoo registry names")
    parser.add_argument("--mode", choices=("serve", "train"), default="serve")
    parser.add_argument("--calls", type=int, default=3, help="traced calls per layer")
    parser.add_argument("--top", type=int, default=10, help="kernels printed per layer")
    parser.add_argument("--return-sequences", action="store_true",
                        help="the model returns every step's output, not only the last")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.top < 1:
        parser.error("--calls and --top must be >= 1")
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    unknown = [n for n in names
               if n not in BUILTINS and n not in rnnzoo.list_layers() and not is_reference(n)]
    if unknown:
        parser.error(f"unknown layers {unknown}; use {sorted(BUILTINS)}, a sized "
                     "reference such as 'LSTM(346)', or zoo registry names")
    shape = dict(QUICK if args.quick else FULL, return_sequences=args.return_sequences)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    print(f"# {args.mode}, B={shape['batch']} T={shape['timesteps']} D={shape['features']} "
          f"H={shape['units']}, " + ("all steps' outputs, " if args.return_sequences else "")
          + f"{args.calls} traced calls, TensorFlow {tf.__version__}")
    for name in names:
        bench = Bench(name, shape, 0)
        run = bench.serve if args.mode == "serve" else bench.train
        for _ in range(3):  # trace, build and warm up outside the profile
            run()
        totals = kernel_times(run, args.calls)
        steps = args.calls * shape["timesteps"]
        print(f"\n{name}\n\n| kernel | us per step | calls per step |\n|---|---|---|")
        for label, (micros, count) in sorted(totals.items(), key=lambda item: -item[1][0])[
                :args.top]:
            print(f"| {label} | {micros / steps:.2f} | {count / steps:.2f} |")


if __name__ == "__main__":
    main()
