"""CTRNN layer: equations against a NumPy reference (Euler and RK4), the
integration error against the exact solution of a linear CTRNN,
hand-computed values, time-constant initialisation, argument validation and
a sine-generation learning check.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest
import scipy.linalg

from rnnzoo.layers import CTRNN, CTRNNCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def ctrnn_reference(x, p, activation="tanh", dt=1.0, steps=1, method="euler", x0=None):
    """Plain float64 loop over time for the CTRNN.

    tau dv/dt = -v + act(v) U + x_t W + b, the input held over each step,
    integrated in `steps` sub-steps of dt / steps; y_t = act(v_t).
    Returns (outputs of every step, final potentials).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    W, U, b = p["W"], p["U"], p.get("b", 0.0)
    tau = np.exp(p["log_tau"])
    v = ref.first_state(x0, x.shape[0], U.shape[0])
    h = dt / steps
    outputs = []
    for t in range(x.shape[1]):
        drive = x[:, t] @ W + b

        def f(v):
            return (-v + act(v) @ U + drive) / tau

        for _ in range(steps):
            if method == "euler":
                v = v + h * f(v)
            else:
                k1 = f(v)
                k2 = f(v + h / 2 * k1)
                k3 = f(v + h / 2 * k2)
                k4 = f(v + h * k3)
                v = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        outputs.append(act(v))
    return np.stack(outputs, axis=1), v


def random_params(rng, kwargs):
    """W, U, b (unless `use_bias=False`) and per-unit time constants in [0.5, 4]."""
    p = {
        "W": ref.draw(rng, FEATURES, UNITS),
        "U": ref.draw(rng, UNITS, UNITS),
        "log_tau": np.log(rng.uniform(0.5, 4.0, UNITS)).astype("float32"),
    }
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, x0=None):
    """`ctrnn_reference` for a layer built with the arguments `kwargs`."""
    return ctrnn_reference(
        x,
        p,
        kwargs.get("activation", "tanh"),
        kwargs.get("dt", 1.0),
        kwargs.get("integration_steps", 1),
        kwargs.get("method", "euler"),
        x0,
    )


CASES = {
    "euler_default": {},
    "euler_substeps_sigmoid_no_bias": {
        "dt": 2.0,
        "integration_steps": 4,
        "activation": "sigmoid",
        "use_bias": False,
    },
    "rk4_substeps": {"method": "rk4", "dt": 0.5, "integration_steps": 3},
}

# The shared tests imported above run with the RK4 case.
VARIANT = ref.variant(CTRNN, random_params, reference, CASES["rk4_substeps"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    _, (outputs, potentials), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, UNITS)
    # The output is the firing rate act(x), not the potential x.
    activation = ACTIVATIONS[kwargs.get("activation", "tanh")]
    np.testing.assert_allclose(outputs[:, -1], activation(potentials), atol=ref.ATOL)


def exact_linear_ctrnn(x, p, dt):
    """Exact solution of a linear CTRNN (act = identity) with the input held
    over each step: v' = A v + c per step, solved with one matrix exponential
    of the augmented system [[A, c], [0, 0]]."""
    x, p = ref.float64(x, p)
    rate = np.exp(-p["log_tau"])
    units = p["U"].shape[0]
    A = rate[:, None] * (p["U"].T - np.eye(units))  # column-vector form
    v = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        c = rate * (x[:, t] @ p["W"] + p["b"])
        for i in range(x.shape[0]):
            M = np.zeros((units + 1, units + 1))
            M[:units, :units], M[:units, units] = A, c[i]
            v[i] = (scipy.linalg.expm(M * dt) @ np.append(v[i], 1.0))[:units]
    return v


def test_integration_error_against_exact_solution(rng):
    # A linear CTRNN has a closed-form solution. RK4 must be far closer to it
    # than Euler with the same sub-steps; halving the step must halve Euler's
    # error (first order) and cut RK4's by more than 8 (fourth order: 16;
    # measured 6.3e-5 -> 3.8e-6). A wrong RK4 stage or a missing 1/tau
    # breaks these.
    x = ref.inputs(rng)
    p = random_params(rng, {})
    exact = exact_linear_ctrnn(x, p, dt=1.0)
    errors = {}
    for method, steps in (("euler", 4), ("euler", 8), ("rk4", 4), ("rk4", 8)):
        layer = CTRNN(
            UNITS, activation="linear", method=method, integration_steps=steps, return_state=True
        )
        layer(x)
        ref.assign(layer, p)
        _, potentials = layer(x)
        errors[method, steps] = float(np.max(np.abs(np.asarray(potentials) - exact)))
    assert errors["rk4", 4] < 2e-4, errors
    assert errors["rk4", 8] < errors["rk4", 4] / 8, errors
    assert errors["euler", 4] > 100 * errors["rk4", 4], errors
    assert 0.35 < errors["euler", 8] / errors["euler", 4] < 0.65, errors


def test_constant_weights_hand_computed():
    # One input, one unit, linear activation, W = U = b = 0.5, tau = 2, dt = 1,
    # Euler, input x = [1, 2]:
    #   v_1 = 0   + (1/2)(-0   + 0.5*0   + 0.5*1 + 0.5) = 0.5
    #   v_2 = 0.5 + (1/2)(-0.5 + 0.5*0.5 + 0.5*2 + 0.5) = 1.125
    common = dict(activation="linear", time_constant=2.0, **ref.constant_initializers(0.5))
    x = np.array([[[1.0], [2.0]]], "float32")
    outputs, potentials = CTRNN(1, **common, **ref.SEQUENCES_AND_STATE)(x)
    np.testing.assert_allclose(outputs, [[[0.5], [1.125]]], rtol=1e-6)
    np.testing.assert_allclose(potentials, [[1.125]], rtol=1e-6)
    # dt = 0.5 in one Euler step moves a quarter of the way:
    #   v_1 = 0 + (0.5/2)(1.0) = 0.25;  v_2 = 0.25 + 0.25(-0.25 + 0.125 + 1.5) = 0.59375
    outputs = CTRNN(1, dt=0.5, **common, return_sequences=True)(x)
    np.testing.assert_allclose(outputs, [[[0.25], [0.59375]]], rtol=1e-6)


def test_time_constant_initialisation():
    x = np.zeros((1, 2, 3), "float32")
    fixed = CTRNN(4, time_constant=3.0)
    fixed(x)
    np.testing.assert_allclose(np.exp(fixed.cell.log_time_constant.numpy()), 3.0, rtol=1e-6)
    spread = CTRNN(64, time_constant=(1.0, 10.0), seed=5)
    spread(x)
    tau = np.exp(spread.cell.log_time_constant.numpy())
    assert np.all((tau >= 1.0 - 1e-5) & (tau <= 10.0 + 1e-5))
    # Log-uniform: about half of the units lie below the geometric mean sqrt(10).
    assert 16 < np.sum(tau < np.sqrt(10.0)) < 48
    assert spread.cell.log_time_constant.trainable


def test_config_round_trip_with_time_constant_range():
    layer = CTRNN(3, time_constant=(0.5, 8.0), dt=0.25, integration_steps=2, method="rk4")
    config = layer.get_config()
    assert config["time_constant"] == [0.5, 8.0] and config["method"] == "rk4"
    assert CTRNN.from_config(config).get_config() == config


@ref.invalid_units
@ref.layer_and_cell(CTRNN, CTRNNCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize(
    "time_constant", [0, -1.0, float("inf"), True, "slow", (3.0, 1.0), (0.0, 1.0), (1, 2, 3)]
)
def test_invalid_time_constant(time_constant):
    ref.assert_rejects("time_constant", CTRNN, 4, time_constant=time_constant)


@pytest.mark.parametrize("dt", [0, -0.5, float("nan"), True, "1"])
def test_invalid_dt(dt):
    info = ref.assert_rejects("dt", CTRNNCell, 4, dt=dt)
    assert "CTRNNCell" in str(info.value) and "positive number" in str(info.value)


@pytest.mark.parametrize("steps", [0, -1, 1.5, True])
def test_invalid_integration_steps(steps):
    ref.assert_rejects("integration_steps", CTRNN, 4, integration_steps=steps)


@pytest.mark.parametrize("method", ["rk2", "Euler", None])
def test_invalid_method(method):
    ref.assert_rejects("method", CTRNN, 4, method=method)


def sine_generation(rng, batch, time):
    """A one-hot cue (held at every step) selects one of three frequencies;
    the target is sin(omega * t), which the network must generate itself."""
    omegas = np.array([0.2, 0.35, 0.5])
    cue = rng.integers(0, 3, batch)
    x = np.zeros((batch, time, 3), "float32")
    x[np.arange(batch), :, cue] = 1.0
    t = np.arange(1, time + 1)
    y = np.sin(omegas[cue][:, None] * t[None, :])[..., None].astype("float32")
    return x, y


def test_learns_sine_generation():
    rng = np.random.default_rng(0)
    time = 40
    x, y = sine_generation(rng, 192, time)
    model = keras.Sequential(
        [
            keras.Input((time, 3)),
            CTRNN(16, time_constant=(1.0, 4.0), return_sequences=True, seed=1),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=32, epochs=40, verbose=0)
    x_test, y_test = sine_generation(rng, 192, time)
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    # Predicting zero scores the sine's power, about 0.5; a trained CTRNN(16)
    # reaches 3e-4 to 7e-3 over five seeds. Require better than 0.02.
    assert mse < 0.02, mse


def test_layer_equals_bare_cell_in_keras_rnn(rng):
    # The layer computes the loop constants (rates and rate-scaled kernels) once per call, outside
    # the time loop; a bare cell in keras.layers.RNN computes them at every
    # step. Same outputs and same gradients.
    layer = CTRNN(UNITS, time_constant=(1.0, 4.0), return_sequences=True, seed=1)
    layer(ref.inputs(rng))
    ref.assert_layer_equals_bare_cell(layer, ref.inputs(rng))


def test_layer_equals_bare_cell_in_keras_rnn_rk4(rng):
    # The layer computes the loop constants (rates and rate-scaled kernels) once per call, outside
    # the time loop; a bare cell in keras.layers.RNN computes them at every
    # step. Same outputs and same gradients.
    layer = CTRNN(UNITS, method="rk4", integration_steps=2, return_sequences=True, seed=1)
    layer(ref.inputs(rng))
    ref.assert_layer_equals_bare_cell(layer, ref.inputs(rng))


@pytest.mark.parametrize(
    "kwargs", [{}, {"integration_steps": 3}, {"method": "rk4", "integration_steps": 2}]
)
def test_lagged_last_output_equals_the_step_wise_loop(kwargs, rng):
    # A last-output CTRNN returns sigma(x_{t-1}) from each step (computed for
    # the recurrence anyway) and forms sigma(x_T) once after the loop.
    ref.assert_lagged_output_equals_bare_cell(
        lambda **options: CTRNN(UNITS, time_constant=(1.0, 4.0), seed=1, **kwargs, **options),
        rng,
    )
