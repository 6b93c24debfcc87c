"""Echo state network on Mackey-Glass: Jaeger (2001)'s NRMSE84, and fit time vs reservoirpy.

Part 1 (`--part jaeger`) reproduces section 6 of Jaeger's GMD Report 148 with
`rnnzoo.layers.ESN` + `rnnzoo.training.fit_ridge_readout` + `generate`:

- data: the delay equation integrated with Euler steps of 0.1, subsampled by
  10 (`rnnzoo.data.dynamics.mackey_glass(method="euler")`), squashed by
  `tanh(s - 1)`; one training run of `--train-steps` (3000 or 21000) steps and
  one test run cut into consecutive 1084-step windows (20 for tau = 17, 50 for
  tau = 30, as in the paper);
- network: 400 units; recurrent weights 0/+-0.4 with 1.25% density rescaled to
  |lambda_max| = 0.79; leaky-integrator update with delta = 1, C = 0.44,
  a = 0.9; a constant input 0.2 with weights 0/+-0.14 (probabilities 0.5,
  0.25, 0.25); output feedback weights U(-0.56, 0.56). Jaeger's update
  x(n+1) = (1 - Ca) x(n) + C f(W x(n) + W_in u + W_back y(n)) is exactly our
  leaky ESN with leak_rate = Ca = 0.396, spectral radius 0.79 / a, bias
  0.2 W_in and input = the previous output y(n) (W_back is our input kernel),
  up to a constant factor a on the states that a linear readout absorbs;
- training: teacher forcing from the zero state, the first 1000 states
  discarded, a linear readout on [states; y(n); 1] fitted by least squares
  (`--ridge 0`: the minimum-norm solution, as Mathematica's Fit), state noise
  U(-nu, nu) inside f for tau = 30 (1e-5, or 1e-8 with 21000 steps);
- test: per window, 1000 teacher-forced steps from the zero state, then 84
  free-running steps; NRMSE84 = sqrt(mean_i (y_i(n+84) - yhat_i(n+84))^2 /
  sigma^2) in the original coordinates (`arctanh(v) + 1`), sigma^2 the
  variance of the original series.

The paper reports one hand-made network; here `--networks` independent
reservoirs (seeds 0, 1, ...) are drawn and each one's NRMSE84 is printed, with
their median and geometric mean.

Part 2 (`--part reservoirpy`) times the ESN fit (run the reservoir over the
training series, then solve the ridge readout) against reservoirpy on the
*same* reservoir weights: Mackey-Glass, 10,000 training steps, 500 units,
one-step-ahead prediction, `ridge=1e-6`, in one process with interleaved
rounds, and prints both test NRMSEs. rnnzoo runs the reservoir as one
XLA-compiled loop (`fit_ridge_readout`'s `jit_compile="auto"` compiles at
this length; the compile happens in the untimed warm-up call, whose time is
printed as "first call"). Times are the process's CPU time by default
(`--clock cpu`, all threads counted), which a busy machine inflates far less
than elapsed time (`--clock wall`). Under the CPU clock NumPy's BLAS runs on
one thread for both libraries (`--blas-threads 1`, the default there): with
two, the float64 Gram matrix cost 0.081 s of CPU time against 0.052 s on one
(0.060 s and 0.052 s elapsed, on the busy machine), the difference being
threads spinning while they wait, not work; with `--clock wall` BLAS keeps
its own default (all cores). TensorFlow (rnnzoo's reservoir run) gets the
same number of threads (`--tf-threads`, default: as `--blas-threads`).
reservoirpy is optional (not a dependency of rnnzoo): `pip install reservoirpy`.

Part 3 (`--part floor`) times, apart from everything else, the two costs
under every rnnzoo fit of part 2: the recurrent product in a bare XLA loop
(against the same loop without it) and the float64 Gram matrix.

Usage:
    python benchmarks/esn_mackey_glass.py --part jaeger --tau 17 --networks 10
    python benchmarks/esn_mackey_glass.py --part jaeger --tau 17 --train-steps 21000
    python benchmarks/esn_mackey_glass.py --part reservoirpy --rounds 5
    python benchmarks/esn_mackey_glass.py --part floor --rounds 7 --floatx float32
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import host  # noqa: E402  (same folder)


def _blas_threads(argv):
    """The `--blas-threads` setting, applied before NumPy loads its BLAS (it reads it once)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--blas-threads", default=None)
    early.add_argument("--clock", default="cpu")
    known, _ = early.parse_known_args(argv)
    value = known.blas_threads or ("default" if known.clock == "wall" else "1")
    if value != "default":
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = value
    return value


BLAS_THREADS = _blas_threads(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402

PAPER = {(17, 3000): 2.8e-4, (17, 21000): 1.2e-4, (30, 3000): 0.11, (30, 21000): 0.032}
WARMUP, HORIZON = 1000, 84


def jaeger_esn(seed, units=400):
    from rnnzoo.initializers import SparseRandom, SpectralRadius
    from rnnzoo.layers import ESN

    a, c = 0.9, 0.44
    return ESN(
        units,
        leak_rate=c * a,
        input_scaling=0.56,  # W_back ~ U(-0.56, 0.56), dense
        recurrent_initializer=SpectralRadius(0.79 / a, connectivity=0.0125,
                                             distribution="bernoulli"),
        bias_initializer=SparseRandom(0.5, "bernoulli", scale=0.2 * 0.14),
        seed=seed,
        return_sequences=True,
    )


def reservoir_states(esn, inputs, noise, rng, batch_size=32):
    """States of `esn` on `inputs`, with U(-noise, noise) added inside f.

    The noise enters as extra input channels with identity weights, so it is
    added to the pre-activation exactly as in Jaeger's eq. (24), on a twin
    layer that shares the reservoir's weights.
    """
    from rnnzoo.layers import ESN

    if noise == 0:
        model = keras.Sequential([keras.Input((None, inputs.shape[-1])), esn])
        return model.predict(inputs, batch_size=batch_size, verbose=0)
    units = esn.units
    twin = ESN.from_config({**esn.get_config(), "stateful": False})
    nu = rng.uniform(-noise, noise, inputs.shape[:2] + (units,)).astype(inputs.dtype)
    twin(np.concatenate([inputs[:, :1], nu[:, :1]], axis=-1))
    kernel, recurrent, bias = (np.asarray(w) for w in esn.get_weights())
    twin.set_weights([np.concatenate([kernel, np.eye(units, dtype=kernel.dtype)]), recurrent,
                      bias])
    model = keras.Sequential([keras.Input((None, inputs.shape[-1] + units)), twin])
    return model.predict(np.concatenate([inputs, nu], axis=-1), batch_size=batch_size, verbose=0)


def nrmse84_run(tau, train_steps, seed, ridge, noise, data_seed=0):
    from rnnzoo.data.dynamics import mackey_glass, squash, unsquash
    from rnnzoo.training import fit_ridge_readout, generate, ridge_readout_model, ridge_regression

    floatx = keras.config.floatx()
    windows = 20 if tau == 17 else 50
    train = mackey_glass(train_steps + 1, tau, seed=data_seed, method="euler")
    test = mackey_glass(windows * (WARMUP + HORIZON) + 1, tau, seed=data_seed + 1,
                        method="euler")
    sigma2 = float(np.var(test))
    x = squash(train).astype(floatx)[None, :, None]
    esn = jaeger_esn(seed)
    model = ridge_readout_model(esn, 1, 1, include_inputs=True)
    if noise == 0:
        fit_ridge_readout(model, x[:, :-1], x[:, 1:], washout=WARMUP, ridge=ridge)
    else:
        states = reservoir_states(esn, x[:, :-1], noise, np.random.default_rng(seed))
        features = np.concatenate([states, x[:, :-1]], axis=-1)[0, WARMUP:]
        weights, bias = ridge_regression(features, x[0, WARMUP + 1:], ridge=ridge)
        model.layers[-1].set_weights([weights.astype(floatx), bias.astype(floatx)])
    s = squash(test).astype(floatx)
    cut = np.stack([s[k * (WARMUP + HORIZON):(k + 1) * (WARMUP + HORIZON)]
                    for k in range(windows)])[:, :, None]
    predicted = generate(model, cut[:, :WARMUP], HORIZON)[:, -1, 0]
    truth = cut[:, -1, 0]
    return float(np.sqrt(np.mean((unsquash(predicted) - unsquash(truth)) ** 2) / sigma2))


def part_jaeger(args):
    noise = args.noise
    if noise is None:
        noise = 0.0 if args.tau == 17 else (1e-5 if args.train_steps <= 3000 else 1e-8)
    print(f"Mackey-Glass tau={args.tau}, {args.train_steps} training steps, 400 units, "
          f"floatx={keras.config.floatx()}, ridge={args.ridge:g}, state noise={noise:g}")
    scores = []
    for seed in range(args.networks):
        start = time.perf_counter()
        score = nrmse84_run(args.tau, args.train_steps, seed, args.ridge, noise)
        scores.append(score)
        elapsed = time.perf_counter() - start
        print(f"  network seed {seed}: NRMSE84 = {score:.3e}  ({elapsed:.1f} s)", flush=True)
    paper = PAPER.get((args.tau, args.train_steps))
    finite = [s for s in scores if np.isfinite(s) and s > 0]
    geo = float(np.exp(np.mean(np.log(finite)))) if finite else float("nan")
    print(f"NRMSE84 over {len(scores)} networks: median {statistics.median(scores):.3e}, "
          f"geometric mean {geo:.3e}, best {min(scores):.3e}, worst {max(scores):.3e}")
    if paper is not None:
        below = sum(s <= paper for s in scores)
        print(f"paper (Jaeger 2001): {paper:.2g}; networks at or below it: {below}/{len(scores)}")


# ------------------------------------------------------------------ reservoirpy

# Parts 2 and 3: reservoir size, training steps, washout and ridge penalty.
UNITS, STEPS, WASHOUT, RIDGE = 500, 10000, 100, 1e-6
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def timed_esn():
    """The built reservoir that parts 2 and 3 time (its weights are given to reservoirpy)."""
    from rnnzoo.layers import ESN

    esn = ESN(UNITS, leak_rate=0.3, spectral_radius=1.25, input_scaling=1.0,
              connectivity=0.1, seed=0, return_sequences=True)
    esn(np.zeros((1, 2, 1), keras.config.floatx()))
    return esn


def part_reservoirpy(args):
    try:
        import reservoirpy
        from reservoirpy.nodes import Reservoir, Ridge
    except ImportError:
        print("reservoirpy is not installed (pip install reservoirpy); skipping part 2.")
        return
    import scipy.sparse

    from rnnzoo.data.dynamics import mackey_glass
    from rnnzoo.training import fit_ridge_readout

    units, steps, washout, ridge = UNITS, STEPS, WASHOUT, RIDGE
    series = mackey_glass(steps + 2001, 17, seed=0)
    series = ((series - series.mean()) / series.std()).astype(keras.config.floatx())
    x_train, y_train = series[:steps, None], series[1:steps + 1, None]
    x_test, y_test = series[steps:-1, None], series[steps + 1:, None]

    esn = timed_esn()
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in esn.get_weights())

    def ours():
        model = fit_ridge_readout(esn, x_train[None], y_train[None], washout=washout,
                                  ridge=ridge, solver="normal")
        return model

    def theirs(sparse):
        W = scipy.sparse.csr_matrix(recurrent.T) if sparse else recurrent.T.copy()
        reservoir = Reservoir(units, lr=0.3, W=W, Win=kernel.T.copy(), bias=bias.copy())
        model = reservoir >> Ridge(ridge=ridge)
        model.fit(x_train.astype(np.float64), y_train.astype(np.float64), warmup=washout)
        return model

    def nrmse(prediction):
        prediction = np.asarray(prediction, np.float64).reshape(-1)
        truth = y_test.astype(np.float64).reshape(-1)
        return float(np.sqrt(np.mean((prediction[washout:] - truth[washout:]) ** 2))
                     / truth.std())

    clock = CLOCKS[args.clock]
    runs = {"rnnzoo": ours, "reservoirpy (dense W)": lambda: theirs(False),
            "reservoirpy (sparse W)": lambda: theirs(True)}
    times = {name: [] for name in runs}
    first = {}
    fitted = {}
    for name, fn in runs.items():  # one warm-up each (imports, first trace, XLA compile)
        start = clock()
        fitted[name] = fn()
        first[name] = clock() - start
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = clock()
            fitted[name] = fn()
            times[name].append(clock() - start)
    # Where rnnzoo's time goes: the ridge solve alone (float64 Gram matrix +
    # solve) on the harvested states, timed with the same clock.
    from rnnzoo.training import ridge_regression

    states = keras.Model(fitted["rnnzoo"].inputs, fitted["rnnzoo"].layers[-1].input)
    states = np.asarray(states.predict_on_batch(x_train[None]))[0, washout:]
    solve_times = []
    for _ in range(3):
        start = clock()
        ridge_regression(states, y_train[washout:], ridge=ridge, solver="normal")
        solve_times.append(clock() - start)
    scores = {
        "rnnzoo": nrmse(fitted["rnnzoo"].predict(x_test[None], verbose=0)),
    }
    for name in runs:
        if name.startswith("reservoirpy"):
            fitted[name].reset()  # start the test from the zero state, as rnnzoo does
            scores[name] = nrmse(fitted[name].run(x_test.astype(np.float64)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {host.describe()}")
    print(f"ESN fit, Mackey-Glass tau=17, {steps} steps, {units} units, ridge={ridge:g}, "
          f"floatx={keras.config.floatx()}, reservoirpy {reservoirpy.__version__}, "
          f"{args.rounds} interleaved rounds, {args.clock} clock, BLAS threads "
          f"{BLAS_THREADS}, TensorFlow threads {args.tf_threads} (median s; load "
          f"average {load:.1f} at the end):")
    base = statistics.median(times["rnnzoo"])
    for name in runs:
        median = statistics.median(times[name])
        print(f"  {name:24s} {median:7.3f} s  ({median / base:5.2f}x rnnzoo, range "
              f"{min(times[name]):.3f}-{max(times[name]):.3f}, first call "
              f"{first[name]:.3f} s)  test NRMSE {scores[name]:.3e}")
    print(f"  of rnnzoo's fit, the float64 ridge solve alone (Gram matrix + solve, "
          f"best of 3): {min(solve_times):.3f} s")


# ------------------------------------------------------------------ floor


def part_floor(args):
    """Times the two costs every fit of part 2 pays, apart from everything else.

    The reservoir's recurrent product (the 500 x 500 float32 matrix of part 2
    times the state) in a bare XLA `while` loop of 10,000 steps, against the
    same loop without the product, and the float64 Gram matrix of 9,900 x 501
    states (NumPy's BLAS, `--blas-threads`). Same clock as part 2.
    """
    import tensorflow as tf

    units, steps = UNITS, STEPS
    recurrent = tf.constant(np.asarray(timed_esn().cell.recurrent_kernel))
    drive = tf.constant(np.random.default_rng(0).standard_normal((steps, units)), recurrent.dtype)

    def loop(with_product):
        @tf.function(jit_compile=True)
        def run(drive):
            def body(t, state, outputs):
                pre = drive[t][None] + (tf.matmul(state, recurrent) if with_product else state)
                state = 0.7 * state + 0.3 * tf.tanh(pre)
                return t + 1, state, outputs.write(t, state[0])

            outputs = tf.TensorArray(recurrent.dtype, steps)
            _, _, outputs = tf.while_loop(lambda t, *_: t < steps, body,
                                          [0, tf.zeros((1, units), recurrent.dtype), outputs])
            return outputs.stack()
        return run

    clock = CLOCKS[args.clock]
    states = np.random.default_rng(1).standard_normal((steps - WASHOUT, units + 1))
    runs = {"loop with the recurrent product": loop(True),
            "loop without it": loop(False)}
    times = {name: [] for name in [*runs, "float64 Gram matrix"]}
    for run in runs.values():
        run(drive).numpy()  # compile
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = clock()
            run(drive).numpy()
            times[name].append(clock() - start)
        start = clock()
        _ = states.T @ states
        times["float64 Gram matrix"].append(clock() - start)
    print(f"# {host.describe()}")
    print(f"Floor of an ESN fit ({steps} steps, {units} units, floatx={keras.config.floatx()}, "
          f"{args.clock} clock, BLAS threads {BLAS_THREADS}, TensorFlow threads "
          f"{args.tf_threads}; best of {args.rounds} rounds):")
    for name, values in times.items():
        per_step = f" ({min(values) / steps * 1e6:.1f} us per step)" if name in runs else ""
        print(f"  {name:34s} {min(values):.3f} s{per_step}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("jaeger", "reservoirpy", "floor"), default="jaeger")
    parser.add_argument("--tau", type=int, choices=(17, 30), default=17)
    parser.add_argument("--train-steps", type=int, default=3000)
    parser.add_argument("--networks", type=int, default=5)
    parser.add_argument("--ridge", type=float, default=0.0)
    parser.add_argument("--noise", type=float, default=None,
                        help="state noise half-width (default: the paper's)")
    parser.add_argument("--floatx", choices=("float32", "float64"), default="float64",
                        help="precision of the whole model (Jaeger used double precision)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu",
                        help="reservoirpy part: cpu (default), the process's CPU time "
                        "(all threads; other jobs on a busy machine do not inflate it), "
                        "or wall, elapsed time")
    parser.add_argument("--blas-threads", default=None,
                        help="threads of NumPy's BLAS (the Gram matrix of both "
                        "libraries): default 1 with --clock cpu (the CPU time of idle "
                        "BLAS threads spinning for work is not work) and the library's "
                        "own choice ('default', all cores) with --clock wall")
    parser.add_argument("--tf-threads", default=None,
                        help="TensorFlow's intra- and inter-op threads (rnnzoo's "
                        "reservoir run): default the same as --blas-threads, so that "
                        "under --clock cpu both libraries run on one thread")
    args = parser.parse_args()
    tf_threads = args.tf_threads or BLAS_THREADS
    if tf_threads != "default":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(tf_threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(tf_threads))
    args.tf_threads = tf_threads
    keras.config.set_floatx(args.floatx)
    if args.part == "jaeger":
        part_jaeger(args)
    elif args.part == "floor":
        part_floor(args)
    else:
        part_reservoirpy(args)


if __name__ == "__main__":
    main()
