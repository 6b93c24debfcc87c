"""Dynamical-system series: the Mackey-Glass delay equation and NARMA.

Pure NumPy generators, registered in the dataset catalog at import:

- `mackey_glass`: configs `tau17` and `tau30` follow the protocol of Jaeger
  (2001), section 6: the delay equation integrated with Euler steps of 0.1 and
  subsampled by 10 (one sample per time unit); a `train` split of one
  3,000-step run and a `test` split of consecutive windows of one other run,
  each `warmup + horizon` = 1,000 + 84 steps long (20 windows for tau = 17, 50
  for tau = 30, as averaged in the paper). Features: `inputs` (T, 1) = s(n) and
  `targets` (T, 1) = s(n + 1), for one-step-ahead prediction (teacher forcing);
  the NRMSE84 of the paper is the error of the 84th free-running step after
  the warmup, normalised by the signal's standard deviation. The values are
  the raw signal (about 0.2 to 1.4); Jaeger fed `squash(s) = tanh(s - 1)` to
  his network and measured errors after `unsquash`.
- `narma`: config `narma10`, the tenth-order NARMA system of Atiya & Parlos
  (2000) driven by i.i.d. U(0, 0.5) input; `train` (2,000 steps) and `test`
  (3,000 steps) are independent runs. Features `inputs` (T, 1) = u(t) and
  `targets` (T, 1) = y(t + 1).

Every split is drawn from `split_seed(seed, split)`, so train and test never
share a trajectory.

Example:
    >>> s = mackey_glass(500, tau=17, seed=0)
    >>> s.shape, bool(0.1 < s.min() and s.max() < 1.5)
    ((500,), True)
    >>> u, y = narma(300, seed=0)
    >>> u.shape, y.shape
    ((300,), (300,))
"""

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, register_dataset, split_seed

JAEGER_CITATION = (
    "H. Jaeger. The \"echo state\" approach to analysing and training recurrent "
    "neural networks. GMD Report 148, German National Research Center for "
    "Information Technology, 2001 (section 6, the Mackey-Glass system)."
)
MACKEY_GLASS_CITATION = (
    "M. C. Mackey and L. Glass. Oscillation and chaos in physiological control "
    "systems. Science 197(4300):287-289, 1977. " + JAEGER_CITATION
)
NARMA_CITATION = (
    "A. F. Atiya and A. G. Parlos. New results on recurrent network training: "
    "unifying the algorithms and accelerating convergence. IEEE Transactions on "
    "Neural Networks 11(3):697-709, 2000. H. Jaeger. Adaptive nonlinear system "
    "identification with echo state networks. NIPS 2002."
)

METHODS = ("euler", "rk4")


def _check_number(owner, argument, value, positive=True):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > 0 if positive else True)
    if not ok:
        kind = "a positive number" if positive else "a finite number"
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected {kind}, "
            f"got {value!r}."
        )
    return float(value)


def _check_count(owner, argument, value):
    """A non-negative integer (a number of discarded steps may be zero)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected a "
            f"non-negative integer, got {value!r}."
        )
    return int(value)


# ----------------------------------------------------------------- Mackey-Glass


def mackey_glass(
    num_steps,
    tau=17,
    seed=None,
    discard=1000,
    dt=0.1,
    subsample=10,
    method="rk4",
    initial=None,
    beta=0.2,
    gamma=0.1,
    power=10,
):
    """A Mackey-Glass series, one sample every `dt * subsample` time units.

    Integrates the delay differential equation

        dx/dt = beta * x(t - tau) / (1 + x(t - tau) ** power) - gamma * x(t)

    from a constant history `x(t) = x0` for `t <= 0`, keeps every `subsample`-th
    point of the integration grid and drops the first `discard` samples (the
    transient before the attractor). `tau` must be a whole multiple of `dt`, so
    delayed values fall on the grid.

    Schemes:
      - `"euler"`: x(k+1) = x(k) + dt * f(x(k), x(k - tau/dt)), exactly
        equation (23) of Jaeger (2001); with dt = 0.1, subsample = 10 it is the
        series of his Mackey-Glass experiments (a first-order scheme: the
        series is a slightly different chaotic map than the exact solution).
      - `"rk4"` (default): classic fourth-order Runge-Kutta. The delayed value
        at a stage's half step is a cubic Hermite interpolant between grid
        points (it uses the stored derivatives), which keeps the scheme fourth
        order; with dt = 0.1 it agrees with a tight-tolerance adaptive
        integration to about 1e-7 over the first few hundred time units.

    Args:
        num_steps: int, number of samples returned.
        tau: positive number, the delay (17: mildly chaotic; 30: wilder).
        seed: optional int; draws `x0` uniformly from [0.5, 1.5] when `initial`
            is not given (None: 1.2, the customary value).
        discard: int >= 0, samples dropped at the start. Default 1000.
        dt: positive number, the integration step. Default 0.1.
        subsample: int, grid points per returned sample. Default 10.
        method: `"rk4"` (default) or `"euler"`.
        initial: optional positive number, the constant history `x0`.
        beta, gamma, power: the equation's parameters (0.2, 0.1, 10 throughout
            the chaotic-modelling literature).

    Returns:
        float64 array of shape `(num_steps,)`.

    Raises:
        ValueError: for non-positive sizes, an unknown method, or a `tau`
            that is not a whole multiple of `dt`.
    """
    owner = "mackey_glass"
    num_steps = check_positive(owner, "num_steps", num_steps)
    subsample = check_positive(owner, "subsample", subsample)
    discard = _check_count(owner, "discard", discard)
    tau = _check_number(owner, "tau", tau)
    dt = _check_number(owner, "dt", dt)
    beta = _check_number(owner, "beta", beta)
    gamma = _check_number(owner, "gamma", gamma)
    power = _check_number(owner, "power", power)
    if method not in METHODS:
        raise ValueError(
            f"Received an invalid value for `method` of {owner}, expected one of "
            f"{list(METHODS)}, got {method!r}."
        )
    lag = int(round(tau / dt))
    if lag < 1 or abs(lag * dt - tau) > 1e-9 * max(1.0, tau):
        raise ValueError(
            f"Received an invalid value for `tau` of {owner}: it must be a positive whole "
            f"multiple of `dt` ({dt!r}), got tau={tau!r}."
        )
    if initial is None:
        initial = 1.2 if seed is None else float(np.random.default_rng(seed).uniform(0.5, 1.5))
    x0 = _check_number(owner, "initial", initial)

    grid_steps = (num_steps + discard) * subsample
    integrate = _euler if method == "euler" else _rk4
    grid = integrate(x0, lag, dt, grid_steps, beta, gamma, power)
    return np.asarray(grid[subsample::subsample][discard:], dtype=np.float64)


def _euler(x0, lag, dt, steps, beta, gamma, power):
    # Plain Python floats: a scalar recurrence runs several times faster this
    # way than through NumPy scalars.
    x = [x0] * (lag + 1) + [0.0] * steps  # x[lag] is t = 0; before it, the history
    for k in range(lag, lag + steps):
        delayed = x[k - lag]
        x[k + 1] = x[k] + dt * (beta * delayed / (1.0 + delayed**power) - gamma * x[k])
    return x[lag:]


def _rk4(x0, lag, dt, steps, beta, gamma, power):
    def f(value, delayed):
        return beta * delayed / (1.0 + delayed**power) - gamma * value

    half = 0.5 * dt
    x = [x0] * (lag + 1) + [0.0] * steps
    # Derivatives on the grid, for the Hermite interpolation of delayed values;
    # the constant history has derivative zero.
    d = [0.0] * (lag + 1 + steps)
    d[lag] = f(x0, x0)
    for k in range(lag, lag + steps):
        a, b = k - lag, k - lag + 1  # delayed grid points of t and t + dt
        if b <= lag:  # both in the constant history (t - tau + dt <= 0)
            mid = x0
        else:
            mid = 0.5 * (x[a] + x[b]) + 0.125 * dt * (d[a] - d[b])
        xk = x[k]
        k1 = f(xk, x[a])
        k2 = f(xk + half * k1, mid)
        k3 = f(xk + half * k2, mid)
        k4 = f(xk + dt * k3, x[b])
        x[k + 1] = xk + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        d[k + 1] = f(x[k + 1], x[b])
    return x[lag:]


def squash(series):
    """Jaeger's (2001) input transform `tanh(s - 1)`, into (-1, 1)."""
    return np.tanh(np.asarray(series, np.float64) - 1.0)


def unsquash(values):
    """Inverse of `squash`: `arctanh(v) + 1` (values clipped into (-1, 1))."""
    values = np.clip(np.asarray(values, np.float64), -1.0 + 1e-15, 1.0 - 1e-15)
    return np.arctanh(values) + 1.0


def _mg_check(params):
    owner = "dataset 'mackey_glass'"
    for argument in ("train_steps", "test_windows", "warmup", "horizon", "subsample"):
        check_positive(owner, argument, params[argument])
    _check_count(owner, "discard", params["discard"])
    # The generator validates tau, dt and method; fail here, before a long run.
    mackey_glass(1, tau=params["tau"], dt=params["dt"], subsample=params["subsample"],
                 method=params["method"], discard=0)


def _mg_splits(params):
    _mg_check(params)
    return {"train": 1, "test": params["test_windows"]}


def _mg_features(params):
    _mg_check(params)
    return {"inputs": ((None, 1), "float32"), "targets": ((None, 1), "float32")}


def _mg_series(params, split, seed, num_steps):
    return mackey_glass(
        num_steps, tau=params["tau"], seed=split_seed(seed, split), discard=params["discard"],
        dt=params["dt"], subsample=params["subsample"], method=params["method"],
    )


def _one_step(series):
    column = series.astype(np.float32)[:, None]
    return {"inputs": column[:-1], "targets": column[1:]}


def _mg_generate(split, params, seed):
    """`train`: one run of `train_steps` steps; `test`: `test_windows`
    consecutive windows of `warmup + horizon` steps cut from one other run."""
    _mg_check(params)
    if split == "train":
        yield _one_step(_mg_series(params, split, seed, params["train_steps"] + 1))
        return
    window = params["warmup"] + params["horizon"]
    count = params["test_windows"]
    series = _mg_series(params, split, seed, count * window + 1)
    for k in range(count):
        yield _one_step(series[k * window : (k + 1) * window + 1])


def _mg_config(tau, test_windows):
    return {
        "tau": tau, "train_steps": 3000, "test_windows": test_windows, "warmup": 1000,
        "horizon": 84, "dt": 0.1, "subsample": 10, "method": "euler", "discard": 1000,
    }


MACKEY_GLASS = register_dataset(DatasetSpec(
    name="mackey_glass",
    description="Mackey-Glass chaotic series for one-step and 84-step-ahead prediction.",
    citation=MACKEY_GLASS_CITATION,
    configs={"tau17": _mg_config(17, 20), "tau30": _mg_config(30, 50)},
    splits=_mg_splits,
    features=_mg_features,
    generate=_mg_generate,
    supervised_keys=("inputs", "targets"),
))


# ----------------------------------------------------------------------- NARMA

_NARMA_LIMIT = 1e3  # |y| beyond this means the recursion has blown up


def narma(num_steps, order=10, seed=None, discard=200):
    """A NARMA series of the given order driven by i.i.d. U(0, 0.5) input.

    The system (Atiya & Parlos 2000; NARMA10 for `order=10`):

        y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0}^{order-1} y(t-i)
                 + 1.5 u(t-order+1) u(t) + 0.1

    starting from y = 0 and u = 0 before t = 0. The first `discard` steps are
    dropped, so the returned pair starts on the stationary regime.

    Args:
        num_steps: int, the number of returned steps.
        order: int, the memory of the system. Default 10. Orders far above 10
            with these coefficients can diverge; that raises ValueError.
        seed: optional int seeding the input draw.
        discard: int >= 0, initial steps dropped. Default 200.

    Returns:
        `(u, y)`, two float64 arrays of shape `(num_steps,)`, aligned as input
        and target: `y[t]` is the system's output one step after input `u[t]`.

    Raises:
        ValueError: for invalid sizes, or if the series diverges.
    """
    owner = "narma"
    num_steps = check_positive(owner, "num_steps", num_steps)
    order = check_positive(owner, "order", order)
    discard = _check_count(owner, "discard", discard)
    total = num_steps + discard
    u = np.random.default_rng(seed).uniform(0.0, 0.5, total)
    # y_next[t] = y(t + 1); y(t) for t <= 0 is zero.
    y = [0.0] * (total + 1)  # y[t] = y(t), with y[0] = y(0) = 0
    window = 0.0  # running sum of y(t - order + 1) .. y(t)
    uu = u.tolist()
    for t in range(total):
        window += y[t] - (y[t - order] if t >= order else 0.0)
        delayed = uu[t - order + 1] if t >= order - 1 else 0.0
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * delayed * uu[t] + 0.1
        if not abs(y[t + 1]) < _NARMA_LIMIT:
            raise ValueError(
                f"NARMA{order} diverged at step {t + 1} (|y| exceeded {_NARMA_LIMIT:g}) "
                f"with seed={seed!r}; use a lower `order` or another seed."
            )
    targets = np.asarray(y[1:], np.float64)
    return u[discard:], targets[discard:]


def _narma_check(params):
    owner = "dataset 'narma'"
    for argument in ("order", "train_steps", "test_steps"):
        check_positive(owner, argument, params[argument])
    _check_count(owner, "discard", params["discard"])


def _narma_splits(params):
    _narma_check(params)
    return {"train": 1, "test": 1}


def _narma_features(params):
    _narma_check(params)
    return {"inputs": ((None, 1), "float32"), "targets": ((None, 1), "float32")}


def _narma_generate(split, params, seed):
    _narma_check(params)
    steps = params["train_steps"] if split == "train" else params["test_steps"]
    u, y = narma(steps, params["order"], seed=split_seed(seed, split), discard=params["discard"])
    yield {"inputs": u.astype(np.float32)[:, None], "targets": y.astype(np.float32)[:, None]}


NARMA = register_dataset(DatasetSpec(
    name="narma",
    description="NARMA10 system identification: predict y(t+1) from the input history.",
    citation=NARMA_CITATION,
    configs={"narma10": {"order": 10, "train_steps": 2000, "test_steps": 3000, "discard": 200}},
    splits=_narma_splits,
    features=_narma_features,
    generate=_narma_generate,
    supervised_keys=("inputs", "targets"),
))
