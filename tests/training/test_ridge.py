"""Ridge readout: the float64 solver, the fit of a Keras readout, washout,
closed-loop generation, and small ESN reproductions (sine, Mackey-Glass)."""

import keras
import numpy as np
import pytest

from rnnzoo.data.dynamics import mackey_glass, squash, unsquash
from rnnzoo.layers import ESN
from rnnzoo.training import fit_ridge_readout, generate, ridge_readout_model, ridge_regression


def sine(steps, period=8.0, amplitude=0.5):
    t = np.arange(steps, dtype=np.float64)
    return (amplitude * np.sin(t / period)).astype("float32")[None, :, None]


# ------------------------------------------------------------------- solver


@pytest.mark.parametrize("solver", ["normal", "lstsq"])
def test_ridge_equals_closed_form(solver):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 2))
    lam = 0.7
    # Without bias: W = (X'X + lam I)^-1 X'Y.
    W, b = ridge_regression(X, Y, ridge=lam, use_bias=False, solver=solver)
    np.testing.assert_allclose(W, np.linalg.inv(X.T @ X + lam * np.eye(4)) @ X.T @ Y, atol=1e-12)
    assert b is None
    # With an unpenalised bias: the same formula on centred data.
    W, b = ridge_regression(X, Y, ridge=lam, solver=solver)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    expected = np.linalg.inv(Xc.T @ Xc + lam * np.eye(4)) @ Xc.T @ Yc
    np.testing.assert_allclose(W, expected, atol=1e-12)
    np.testing.assert_allclose(b, Y.mean(0) - X.mean(0) @ expected, atol=1e-12)
    # 1-D targets drop the output axis.
    w1, b1 = ridge_regression(X, Y[:, 0], ridge=lam, solver=solver)
    assert w1.shape == (4,) and np.ndim(b1) == 0
    np.testing.assert_allclose(w1, expected[:, 0], atol=1e-12)


def test_float64_solves_what_float32_normal_equations_cannot():
    # Nearly collinear features: cond(X) ~ 1e5, so cond(X'X) ~ 1e10, beyond
    # float32's 7 digits but well inside float64's 16.
    rng = np.random.default_rng(1)
    base = rng.standard_normal((500, 1))
    X = np.concatenate([base, base + 1e-5 * rng.standard_normal((500, 1)),
                        rng.standard_normal((500, 1))], axis=1).astype(np.float32)
    w_true = np.array([[1.0], [-2.0], [0.5]])
    Y = X.astype(np.float64) @ w_true
    W, _ = ridge_regression(X, Y, ridge=0.0, use_bias=False, solver="normal")
    np.testing.assert_allclose(W, w_true, rtol=1e-4)
    W, _ = ridge_regression(X, Y, ridge=0.0, use_bias=False, solver="lstsq")
    np.testing.assert_allclose(W, w_true, rtol=1e-4)
    # The same normal equations in float32 lose the answer entirely.
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    W32 = np.linalg.solve(X32.T @ X32, X32.T @ Y32)
    assert np.max(np.abs(W32 - w_true)) > 0.1


def test_solver_argument_errors():
    X, Y = np.ones((5, 2)), np.ones((5, 1))
    with pytest.raises(ValueError, match="`ridge`"):
        ridge_regression(X, Y, ridge=-1.0)
    with pytest.raises(ValueError, match="`solver`"):
        ridge_regression(X, Y, solver="cg")
    with pytest.raises(ValueError, match="same, non-zero number of samples"):
        ridge_regression(X, Y[:4])
    with pytest.raises(ValueError, match="finite"):
        ridge_regression(np.full((5, 2), np.nan), Y)
    with pytest.raises(ValueError, match="singular"):
        ridge_regression(X, Y, ridge=0.0, solver="normal")


# --------------------------------------------------------------- the readout


def test_fit_writes_the_float64_solution_and_respects_washout():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (3, 40, 2)).astype("float32")
    y = rng.standard_normal((3, 40, 1)).astype("float32")
    esn = ESN(10, seed=0, return_sequences=True)
    model = fit_ridge_readout(esn, x, y, washout=15, ridge=1e-3, include_inputs=True)
    assert [type(layer).__name__ for layer in model.layers[1:]] == ["ESN", "Concatenate",
                                                                      "Dense"]
    states = keras.ops.convert_to_numpy(esn(x))
    features = np.concatenate([states, x], axis=-1)[:, 15:].reshape(-1, 12)
    W, b = ridge_regression(features, y[:, 15:].reshape(-1, 1), ridge=1e-3)
    kernel, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(kernel, W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, b, rtol=1e-4, atol=1e-5)
    # Without the washout the solution differs: the first steps did count.
    W0, _ = ridge_regression(np.concatenate([states, x], axis=-1).reshape(-1, 12),
                             y.reshape(-1, 1), ridge=1e-3)
    assert not np.allclose(W0, W, atol=1e-3)


def test_washout_excludes_the_transient():
    # Targets are exactly linear in the states after step 20 and garbage
    # before; with washout=20 the fit is exact, without it it is not.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 60, 1)).astype("float32")
    esn = ESN(8, seed=1, return_sequences=True)
    states = keras.ops.convert_to_numpy(esn(x))
    y = states @ rng.standard_normal((8, 1)).astype("float32")
    y[:, :20] = rng.standard_normal((2, 20, 1)) * 10
    model = fit_ridge_readout(esn, x, y, washout=20, ridge=0.0)
    error = model.predict(x, verbose=0)[:, 20:] - y[:, 20:]
    assert np.max(np.abs(error)) < 1e-4
    model = fit_ridge_readout(ESN(8, seed=1, return_sequences=True), x, y, ridge=0.0)
    assert np.max(np.abs(model.predict(x, verbose=0)[:, 20:] - y[:, 20:])) > 0.1


def test_many_to_one_and_tanh_readout():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (64, 10, 1)).astype("float32")
    target = np.tanh(x[:, -3:, 0].sum(axis=1, keepdims=True))  # in (-1, 1)
    model = ridge_readout_model(ESN(50, seed=0), 1, 1, activation="tanh")
    fit_ridge_readout(model, x, target, ridge=1e-6)
    prediction = model.predict(x, verbose=0)
    assert np.sqrt(np.mean((prediction - target) ** 2)) < 0.1 * target.std()
    with pytest.raises(ValueError, match="strictly inside"):
        fit_ridge_readout(model, x, 2 * target + 1.5)
    with pytest.raises(ValueError, match="sequence outputs only"):
        fit_ridge_readout(model, x, target, washout=2)


def test_fit_argument_errors():
    x = np.zeros((2, 10, 1), "float32")
    esn = ESN(5, seed=0, return_sequences=True)
    with pytest.raises(ValueError, match="`washout`"):
        fit_ridge_readout(esn, x, x, washout=10)
    with pytest.raises(ValueError, match="`washout`"):
        fit_ridge_readout(esn, x, x, washout=-1)
    with pytest.raises(ValueError, match="targets"):
        fit_ridge_readout(esn, x, np.zeros((2, 9, 1), "float32"))
    with pytest.raises(ValueError, match="Dense"):
        fit_ridge_readout(keras.Sequential([keras.Input((None, 1)), esn]), x, x)
    relu = ridge_readout_model(ESN(5, seed=0, return_sequences=True), 1, 1, activation="relu")
    with pytest.raises(ValueError, match="no inverse"):
        fit_ridge_readout(relu, x, x)
    with pytest.raises(ValueError, match="return_sequences"):
        ridge_readout_model(ESN(5), 1, 1, include_inputs=True)
    with pytest.raises(ValueError, match="`jit_compile`"):
        fit_ridge_readout(esn, x, x, jit_compile="yes")


@pytest.mark.parametrize("include_inputs", [False, True])
def test_compiled_reservoir_run_gives_the_same_fit(include_inputs):
    # jit_compile=True runs the reservoir as one XLA loop (cached per layer or
    # model and reused by the next fit); the fit must not change.
    x = sine(120)
    esn = ESN(20, leak_rate=0.5, seed=0, return_sequences=True)
    fits = []
    for jit in (False, True, True):
        model = fit_ridge_readout(esn, x[:, :-1], x[:, 1:], washout=10, ridge=1e-4,
                                  include_inputs=include_inputs, jit_compile=jit)
        fits.append([np.asarray(w) for w in model.layers[-1].get_weights()])
    for compiled in fits[1:]:
        for a, b in zip(fits[0], compiled):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    model = ridge_readout_model(esn, 1, 1, include_inputs=include_inputs)
    fit_ridge_readout(model, x[:, :-1], x[:, 1:], washout=10, ridge=1e-4, jit_compile=True)
    for a, b in zip(fits[0], model.layers[-1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_fitted_model_saves_and_fine_tunes(tmp_path):
    wave = sine(301)
    model = fit_ridge_readout(ESN(30, seed=0, return_sequences=True), wave[:, :-1], wave[:, 1:],
                              washout=50, include_inputs=True)
    path = tmp_path / "esn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(wave[:, :-1], verbose=0),
                                  model.predict(wave[:, :-1], verbose=0))
    # Gradient fine-tuning moves the readout only.
    reservoir = [w.numpy().copy() for w in loaded.layers[1].weights]
    readout = loaded.layers[-1].kernel.numpy().copy()
    noisy = wave[:, 1:] + 0.05
    loaded.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    loss = loaded.fit(wave[:, :-1], noisy, epochs=3, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    assert not np.array_equal(readout, loaded.layers[-1].kernel.numpy())
    for before, after in zip(reservoir, loaded.layers[1].weights):
        np.testing.assert_array_equal(before, after.numpy())


# ----------------------------------------------------------- learning checks


def test_sine_one_step_and_closed_loop_generation():
    wave = sine(1001)
    model = fit_ridge_readout(ESN(100, seed=0, input_scaling=0.5, return_sequences=True),
                              wave[:, :900], wave[:, 1:901], washout=100, ridge=1e-8)
    one_step = model.predict(wave[:, :900], verbose=0)[0, 100:, 0]
    nrmse = np.sqrt(np.mean((one_step - wave[0, 101:901, 0]) ** 2)) / wave.std()
    assert nrmse < 1e-3, nrmse  # measured ~1e-6
    predicted = generate(model, wave[:, :900], 100)
    assert predicted.shape == (1, 100, 1)
    # The free run continues the sine: measured max error ~1e-5 over 100 steps
    # (two periods); a phase slip of one step would cost ~0.06.
    assert np.max(np.abs(predicted[0, :, 0] - wave[0, 900:1000, 0])) < 5e-3
    # generate works on a copy: the model is neither stateful nor changed.
    assert not model.layers[1].stateful
    np.testing.assert_allclose(model.predict(wave[:, :900], verbose=0)[0, 100:, 0], one_step)
    # 2-D warmup: one sequence without the batch axis.
    np.testing.assert_allclose(generate(model, wave[0, :900], 5), predicted[0, :5], atol=1e-6)


def test_generate_argument_errors():
    wave = sine(50)
    model = ridge_readout_model(ESN(5, seed=0, return_sequences=True), 1, 2)
    with pytest.raises(ValueError, match="feeds the model's outputs back"):
        generate(model, wave, 3)
    model = ridge_readout_model(ESN(5, seed=0, return_sequences=True), 1, 1)
    with pytest.raises(ValueError, match="`steps`"):
        generate(model, wave, 0)
    with pytest.raises(ValueError, match="1 features"):
        generate(model, np.zeros((1, 5, 2), "float32"), 3)
    with pytest.raises(ValueError, match="at least one step"):
        generate(model, np.zeros((1, 0, 1), "float32"), 3)


def test_mackey_glass_small_jaeger_protocol():
    # A scaled-down Jaeger (2001) run: 100 units (not 400), 500 training steps
    # (not 3000; washout 100), 5 test windows of 300 teacher-forced + 84 free
    # steps (not 20 x (1000 + 84)), float32. Errors in original coordinates.
    train = squash(mackey_glass(501, 17, seed=0, method="euler")).astype("float32")
    test_raw = mackey_glass(5 * 384, 17, seed=1, method="euler")
    windows = squash(test_raw).astype("float32").reshape(5, 384)[:, :, None]
    esn = ESN(100, leak_rate=0.4, spectral_radius=0.88, input_scaling=0.56, connectivity=0.05,
              bias_scaling=0.03, seed=1, return_sequences=True)
    model = fit_ridge_readout(esn, train[None, :-1, None], train[None, 1:, None], washout=100,
                              ridge=1e-8, include_inputs=True)
    one_step = model.predict(windows[:, :-1], verbose=0)[:, 300:, 0]
    nrmse1 = np.sqrt(np.mean((one_step - windows[:, 301:, 0]) ** 2)) / windows.std()
    assert nrmse1 < 5e-3, nrmse1  # measured 1.5e-3
    free = generate(model, windows[:, :300], 84)
    error = unsquash(free[:, -1, 0]) - unsquash(windows[:, -1, 0])
    nrmse84 = np.sqrt(np.mean(error**2)) / test_raw.std()
    # Predicting the mean scores ~1.0; this small network measured 0.027.
    assert nrmse84 < 0.15, nrmse84
