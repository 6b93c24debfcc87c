"""Mackey-Glass and NARMA generators: checked against independent integrations
and recurrences, determinism, argument errors, and the registered datasets."""

import numpy as np
import pytest

from rnnzoo.data import load_numpy
from rnnzoo.data.catalog import DATASETS
from rnnzoo.data.dynamics import mackey_glass, narma, squash, unsquash


def adaptive_reference(tau, horizon, x0=1.2):
    """Mackey-Glass by the method of steps with SciPy's DOP853 (rtol 1e-11).

    On each interval [k tau, (k+1) tau] the delayed term is a known function
    (the previous interval's dense output), so the delay equation becomes an
    ODE; an entirely different integrator from the generator's fixed-step RK4.
    Returns a function t -> x(t) for 0 <= t <= horizon.
    """
    from scipy import integrate  # a dependency (setup.cfg)

    pieces = []  # (start, dense solution)

    def history(t):
        for start, solution in reversed(pieces):
            if t >= start:
                return float(solution(t)[0])
        return x0

    start, value = 0.0, x0
    while start < horizon:
        end = min(start + tau, horizon)

        def rhs(t, x):
            delayed = history(t - tau)
            return 0.2 * delayed / (1.0 + delayed**10) - 0.1 * x

        solution = integrate.solve_ivp(rhs, (start, end), [value], method="DOP853",
                                       rtol=1e-11, atol=1e-13, dense_output=True)
        pieces.append((start, solution.sol))
        start, value = end, solution.y[0, -1]
    return history


@pytest.fixture(scope="module")
def reference_17():
    history = adaptive_reference(17.0, 300.0)
    return np.array([history(t) for t in range(1, 301)])


def test_rk4_matches_adaptive_reference(reference_17):
    series = mackey_glass(300, tau=17, discard=0, dt=0.1, subsample=10, method="rk4")
    # Measured: 3e-9 over 300 time units; the attractor's values are ~0.2-1.4.
    np.testing.assert_allclose(series, reference_17, atol=1e-7, rtol=0)


def test_rk4_is_fourth_order(reference_17):
    errors = [
        np.max(np.abs(mackey_glass(100, 17, discard=0, dt=dt, subsample=round(1 / dt),
                                   method="rk4") - reference_17[:100]))
        for dt in (0.1, 0.05)
    ]
    # Halving the step of a fourth-order scheme divides the error by ~16.
    assert errors[0] / errors[1] > 10, errors


def test_euler_is_jaeger_equation_23_and_converges(reference_17):
    # Jaeger (2001) eq. (23), written independently: a NumPy array indexed by
    # grid step, history x0 = 1.2 before t = 0.
    dt, lag, steps = 0.1, 170, 500 * 10
    x = np.full(lag + 1 + steps, 1.2)
    for k in range(lag, lag + steps):
        d = x[k - lag]
        x[k + 1] = x[k] + dt * (0.2 * d / (1 + d**10) - 0.1 * x[k])
    expected = x[lag + 10 :: 10][:500]
    np.testing.assert_allclose(mackey_glass(500, 17, discard=0, method="euler"), expected,
                               rtol=0, atol=1e-12)
    # A first-order scheme: ten times smaller steps, about ten times smaller error.
    coarse = np.abs(mackey_glass(100, 17, discard=0, method="euler") - reference_17[:100])
    fine = np.abs(mackey_glass(100, 17, discard=0, dt=0.01, subsample=100, method="euler")
                  - reference_17[:100])
    assert fine.max() < coarse.max() / 5, (fine.max(), coarse.max())


def test_mackey_glass_deterministic_and_seeded():
    a = mackey_glass(200, 17, seed=3)
    np.testing.assert_array_equal(a, mackey_glass(200, 17, seed=3))
    assert not np.allclose(a, mackey_glass(200, 17, seed=4))
    # discard drops exactly the leading samples of the same run.
    np.testing.assert_array_equal(mackey_glass(150, 17, seed=3, discard=1050), a[50:])


def test_mackey_glass_on_the_attractor():
    series = mackey_glass(3000, tau=17, seed=0)
    # The tau=17 attractor stays in about [0.4, 1.35] with std ~0.23.
    assert 0.3 < series.min() and series.max() < 1.45
    assert 0.2 < series.std() < 0.26
    wild = mackey_glass(3000, tau=30, seed=0)
    assert wild.std() > 0.2 and np.all(np.isfinite(wild))


def test_squash_round_trip():
    series = mackey_glass(100, 17, seed=1)
    np.testing.assert_allclose(unsquash(squash(series)), series, atol=1e-12)
    assert np.all(np.abs(squash(series)) < 1)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_steps": 0}, "num_steps"),
        ({"num_steps": -5}, "num_steps"),
        ({"num_steps": 10, "tau": 17.05}, "tau"),
        ({"num_steps": 10, "tau": 0}, "tau"),
        ({"num_steps": 10, "dt": -0.1}, "dt"),
        ({"num_steps": 10, "method": "heun"}, "method"),
        ({"num_steps": 10, "discard": -1}, "discard"),
        ({"num_steps": 10, "subsample": 0}, "subsample"),
        ({"num_steps": 10, "initial": 0.0}, "initial"),
    ],
)
def test_mackey_glass_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        mackey_glass(**kwargs)


# ----------------------------------------------------------------------- NARMA


def test_narma_follows_the_recurrence_step_by_step():
    order = 10
    u, y = narma(400, order=order, seed=5)
    assert np.all((0 <= u) & (u <= 0.5))
    # y[t] = y(t+1), u[t] = u(t):
    # y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i<order} y(t-i) + 1.5 u(t-order+1) u(t) + 0.1
    for t in range(order, 400):
        previous = y[t - 1]
        window = y[t - order : t].sum()
        expected = 0.3 * previous + 0.05 * previous * window + 1.5 * u[t - order + 1] * u[t] + 0.1
        assert y[t] == pytest.approx(expected, rel=1e-12, abs=1e-15), t


def test_narma_start_and_determinism():
    u, y = narma(30, order=10, seed=1, discard=0)
    # From rest: y(1) = 0.1 (no delayed input yet), then 0.3*0.1 + 0.05*0.1*0.1 + 0.1.
    assert y[0] == pytest.approx(0.1)
    assert y[1] == pytest.approx(0.3 * 0.1 + 0.05 * 0.1 * 0.1 + 0.1)
    u2, y2 = narma(30, order=10, seed=1, discard=0)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(u, u2)
    assert not np.allclose(narma(30, seed=2)[1], narma(30, seed=1)[1])


def test_narma_bad_arguments_and_divergence():
    for kwargs, argument in (({"num_steps": 0}, "num_steps"), ({"num_steps": 5, "order": 0},
                                                                "order"),
                             ({"num_steps": 5, "discard": -2}, "discard")):
        with pytest.raises(ValueError, match=f"`{argument}`"):
            narma(**kwargs)
    with pytest.raises(ValueError, match="diverged"):
        narma(500, order=30, seed=0)


# -------------------------------------------------------------------- datasets


def test_datasets_registered_with_configs():
    assert list(DATASETS.get("mackey_glass").configs) == ["tau17", "tau30"]
    assert list(DATASETS.get("narma").configs) == ["narma10"]
    with pytest.raises(ValueError, match="tau17"):
        load_numpy("mackey_glass", "test", config="tau18")
    with pytest.raises(ValueError, match="train"):
        load_numpy("narma", "validation")


def test_mackey_glass_dataset_splits():
    test = load_numpy("mackey_glass", "test", config="tau17", test_windows=3)
    assert test["inputs"].shape == (3, 1084, 1) and test["inputs"].dtype == np.float32
    # One-step-ahead targets, and windows cut consecutively from one run.
    np.testing.assert_array_equal(test["targets"][:, :-1], test["inputs"][:, 1:])
    np.testing.assert_array_equal(test["targets"][:-1, -1], test["inputs"][1:, 0])
    train = load_numpy("mackey_glass", "train", config="tau17", train_steps=500)
    assert train["inputs"].shape == (1, 500, 1)
    np.testing.assert_array_equal(train["targets"][0, :-1], train["inputs"][0, 1:])
    assert not np.allclose(train["inputs"][0, :100], test["inputs"][0, :100])
    again = load_numpy("mackey_glass", "train", config="tau17", train_steps=500)
    np.testing.assert_array_equal(again["inputs"], train["inputs"])
    # The config's integration is Jaeger's Euler scheme.
    assert DATASETS.get("mackey_glass").configs["tau30"]["method"] == "euler"
    assert load_numpy("mackey_glass", "test", config="tau30", test_windows=2)["inputs"].shape == (
        2, 1084, 1)


def test_narma_dataset():
    data = load_numpy("narma", "train", train_steps=300)
    assert data["inputs"].shape == (1, 300, 1) and data["targets"].shape == (1, 300, 1)
    u, y = data["inputs"][0, :, 0].astype(np.float64), data["targets"][0, :, 0]
    t = 50  # the recurrence holds on the stored (float32) values to float32 rounding
    expected = (0.3 * y[t - 1] + 0.05 * y[t - 1] * y[t - 10 : t].sum()
                + 1.5 * u[t - 9] * u[t] + 0.1)
    assert y[t] == pytest.approx(expected, rel=1e-5)
    test = load_numpy("narma", "test", test_steps=100)
    assert test["inputs"].shape == (1, 100, 1)
    assert not np.allclose(test["inputs"][0, :50], data["inputs"][0, :50])
