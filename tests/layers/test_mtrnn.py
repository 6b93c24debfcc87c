"""MTRNN layer: equations against a NumPy reference, the paper's connectivity,
its equivalence with a one-step Euler CTRNN, unit groups, argument
validation and a cued sine-generation learning check.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import CTRNN, MTRNN, MTRNNCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")

# The documented split of an int `units` (earlier groups take the remainder),
# written out for the UNITS = 5 the shared helpers build.
SPLIT_OF_5 = {1: (5,), 2: (3, 2), 3: (2, 2, 1)}

# Yamashita & Tani's connections between groups (io = 0, fast = 1, slow = 2):
# io <-> fast <-> slow and each group with itself; no io <-> slow.
PAPER_PAIRS = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)}


def mtrnn_reference(x, p, sizes, timescales, connectivity, activation="tanh", u0=None):
    """Plain float64 loop over time for the MTRNN.

    u_t = (1 - 1/tau) u_{t-1} + (1/tau) (y_{t-1} U' + x_t W' + b),  y = act(u),
    where U' keeps U[j, i] only when group(j) and group(i) are connected and
    W' keeps the input weights of the first group only ("adjacent"; the
    paper's), or both are full ("full").
    Returns (outputs of every step, final state u).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    group = [g for g, size in enumerate(sizes) for _ in range(size)]
    units = len(group)
    U, W = p["U"].copy(), p["W"].copy()
    if connectivity == "adjacent":
        assert len(sizes) == 3, "the reference knows the paper's three groups"
        for j in range(units):
            for i in range(units):
                if (group[j], group[i]) not in PAPER_PAIRS:
                    U[j, i] = 0.0
            if group[j] != 0:
                W[:, j] = 0.0
    tau = np.array([timescales[g] for g in group], np.float64)
    u = ref.first_state(u0, x.shape[0], units)
    outputs = []
    for t in range(x.shape[1]):
        target = act(u) @ U + x[:, t] @ W + p.get("b", 0.0)
        u = (1.0 - 1.0 / tau) * u + target / tau
        outputs.append(act(u))
    return np.stack(outputs, axis=1), u


def random_params(rng, kwargs):
    """W, U, b drawn over every entry, masked ones included: the layer must
    ignore those itself."""
    p = {"W": ref.draw(rng, FEATURES, UNITS), "U": ref.draw(rng, UNITS, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, u0=None):
    """`mtrnn_reference` for a layer of UNITS units built with `kwargs`."""
    timescales = kwargs.get("timescales", (2, 5, 70))
    return mtrnn_reference(
        x,
        p,
        SPLIT_OF_5[len(timescales)],
        timescales,
        kwargs.get("connectivity", "adjacent"),
        kwargs.get("activation", "tanh"),
        u0,
    )


CASES = {
    "paper_default": {},
    # Short timescales so every group moves visibly within TIME steps.
    "adjacent_fast_sigmoid": {"timescales": (1, 2, 4), "activation": "sigmoid"},
    "two_groups_full_no_bias": {"timescales": (1.5, 3), "connectivity": "full", "use_bias": False},
}

VARIANT = ref.variant(MTRNN, random_params, reference, CASES["adjacent_fast_sigmoid"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, (outputs, _), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, UNITS)
    assert layer.group_sizes == SPLIT_OF_5[len(kwargs.get("timescales", (2, 5, 70)))]


def test_paper_connectivity_delays_the_input_by_group():
    # The input reaches only the io group, io reaches slow only through fast:
    # from a zero state (tanh(0) = 0, no bias) io moves at step 1, fast at
    # step 2, slow at step 3, and the built weights show the same masks.
    layer = MTRNN((2, 3, 2), timescales=(2, 5, 70), use_bias=False, return_sequences=True)
    x = np.ones((1, 4, 3), "float32")
    y = np.asarray(layer(x))[0]
    io, fast, slow = y[:, :2], y[:, 2:5], y[:, 5:]
    assert np.all(io[0] != 0) and np.all(fast[0] == 0) and np.all(slow[:2] == 0)
    assert np.all(fast[1] != 0) and np.all(slow[2] != 0)
    kernel, recurrent = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
    assert np.all(kernel[:, 2:] == 0) and np.all(kernel[:, :2] != 0)
    assert np.all(recurrent[:2, 5:] == 0) and np.all(recurrent[5:, :2] == 0)
    assert np.all(recurrent[2:5, :] != 0) and np.all(recurrent[:, 2:5] != 0)


def test_full_connectivity_equals_one_euler_step_ctrnn(rng):
    # An MTRNN is a CTRNN taken one Euler step of length 1 per input step,
    # with fixed per-group time constants.
    x = ref.inputs(rng)
    mtrnn = MTRNN((2, 3), timescales=(1.5, 6), connectivity="full", **ref.SEQUENCES_AND_STATE)
    ctrnn = CTRNN(UNITS, dt=1.0, method="euler", **ref.SEQUENCES_AND_STATE)
    mtrnn(x)
    ctrnn(x)
    p = random_params(rng, {})
    ref.assign(mtrnn, p)
    ref.assign(ctrnn, {**p, "log_tau": np.log([1.5, 1.5, 6, 6, 6]).astype("float32")})
    ref.assert_matches(mtrnn(x), ctrnn(x))


def test_units_as_sizes_or_total():
    layer = MTRNN(7, timescales=(2, 5, 70))
    assert layer.group_sizes == (3, 2, 2) and layer.units == 7
    assert layer.get_config()["units"] == [3, 2, 2]
    sized = MTRNN((4, 10, 2), timescales=[2, 5, 70])
    assert sized.units == 16 and sized.timescales == (2.0, 5.0, 70.0)
    assert tuple(sized(np.zeros((2, 3, 1), "float32")).shape) == (2, 16)
    config = sized.get_config()
    assert MTRNN.from_config(config).get_config() == config


@ref.invalid_units
@ref.layer_and_cell(MTRNN, MTRNNCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize("units", [2, (3, 3), (3, 0, 2), (3, 2.0, 2), (3, True, 2)])
def test_invalid_group_sizes(units):
    info = ref.assert_rejects("units", MTRNN, units, timescales=(2, 5, 70))
    assert "MTRNNCell" in str(info.value)


@pytest.mark.parametrize("timescales", [(), (2, 0.5, 70), (2, "slow"), 5, None, (2, float("inf"))])
def test_invalid_timescales(timescales):
    ref.assert_rejects("timescales", MTRNN, 6, timescales=timescales)


def test_invalid_connectivity():
    ref.assert_rejects("connectivity", MTRNN, 6, connectivity="sparse")


def cued_sine_generation(rng, batch, time):
    """A one-hot cue at the first step only selects one of three frequencies;
    the target is sin(omega * t) for the whole sequence, so the choice must be
    held in context while the oscillation is generated."""
    omegas = np.array([0.2, 0.35, 0.5])
    cue = rng.integers(0, 3, batch)
    x = np.zeros((batch, time, 3), "float32")
    x[np.arange(batch), 0, cue] = 1.0
    t = np.arange(1, time + 1)
    y = np.sin(omegas[cue][:, None] * t[None, :])[..., None].astype("float32")
    return x, y


def test_learns_cued_sine_generation():
    rng = np.random.default_rng(0)
    time = 40
    x, y = cued_sine_generation(rng, 192, time)
    model = keras.Sequential(
        [
            keras.Input((time, 3)),
            MTRNN((6, 10, 4), timescales=(2, 5, 70), return_sequences=True, seed=1),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=32, epochs=40, verbose=0)
    x_test, y_test = cued_sine_generation(rng, 192, time)
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    # Predicting zero scores about 0.5; a trained MTRNN (6, 10, 4) reaches
    # 2e-4 to 4e-3 over five seeds, an Elman(20) on the same budget 0.19 to
    # 0.21. Require better than 0.02.
    assert mse < 0.02, mse


def test_layer_equals_bare_cell_in_keras_rnn(rng):
    # The layer computes the loop constants (masked, rate-scaled kernels) once per call, outside
    # the time loop; a bare cell in keras.layers.RNN computes them at every
    # step. Same outputs and same gradients.
    layer = MTRNN(UNITS, timescales=(2, 5), return_sequences=True, seed=1)
    layer(ref.inputs(rng))
    ref.assert_layer_equals_bare_cell(layer, ref.inputs(rng))


def test_lagged_last_output_equals_the_step_wise_loop(rng):
    # A last-output MTRNN returns y_{t-1} from each step (computed for the
    # recurrence anyway) and forms y_T once after the loop.
    ref.assert_lagged_output_equals_bare_cell(
        lambda **options: MTRNN(UNITS, timescales=(2, 5), seed=1, **options), rng
    )
