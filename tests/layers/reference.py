"""What the per-variant layer tests share: sizes, the tolerance, NumPy
activations, random inputs and weights, loading weights into a cell, and the
checks that compare a layer with its variant's NumPy reference.

Each variant's reference loop (its equations, written out independently of
the layer) stays in that variant's test file: `test_elman.py`,
`test_jordan.py`, `test_fully_recurrent.py`, `test_indrnn.py`.

The comparison checks take a *variant* (made by `variant`), a dict with
four entries:

    "layer":          the layer class, e.g. `Elman`;
    "random_params":  `(rng, kwargs) -> params`, fixed random weights (a dict
                      keyed as in `WEIGHT_ATTRIBUTES`) for a layer built with
                      constructor arguments `kwargs`;
    "reference":      `(x, params, kwargs, initial_state=None) -> (outputs,
                      final state)`, the variant's NumPy reference run with
                      the equations that `kwargs` select;
    "cases":          the constructor arguments each shared test below uses,
                      keyed "go_backwards", "unroll" and "initial_state".

A variant's test file names its variant `VARIANT` and imports the tests at
the end of this module; pytest collects them there, under that file's name,
and the `variant` fixture (`conftest.py`) hands them the file's `VARIANT`.

Every layer is built with `UNITS` units, `return_sequences=True` and
`return_state=True`, on inputs of shape `(BATCH, TIME, FEATURES)`.
"""

import keras
import numpy as np
import pytest

BATCH, TIME, FEATURES, UNITS = 3, 7, 4, 5
ATOL = 1e-5

ACTIVATIONS = {
    "linear": lambda z: z,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}

# Parameter name in the reference equations -> weight attribute of the cell.
WEIGHT_ATTRIBUTES = {
    "W": "kernel",
    "U": "recurrent_kernel",
    "u": "recurrent_kernel",  # IndRNN: a vector, element-wise recurrence
    "b": "bias",
    "V": "output_kernel",
    "by": "output_bias",
}

# The tests at the end of this module, by the key of their case in a variant.
SHARED_TESTS = ("go_backwards", "unroll", "initial_state")


def variant(layer, random_params, reference, case, **cases):
    """A variant (see above) whose shared tests all run with the constructor
    arguments `case`, except those that `cases` name (`unroll={...}`, ...)."""
    unknown = set(cases) - set(SHARED_TESTS)
    if unknown:
        raise TypeError(f"No shared tests {sorted(unknown)}; they are {SHARED_TESTS}.")
    return {
        "layer": layer,
        "random_params": random_params,
        "reference": reference,
        "cases": {**dict.fromkeys(SHARED_TESTS, case), **cases},
    }


def float64(x, params):
    """The inputs and the parameters as float64 arrays, for a reference loop."""
    params = {key: np.asarray(value, np.float64) for key, value in params.items()}
    return np.asarray(x, np.float64), params


def first_state(state0, batch, size):
    """The state a reference loop starts from: `state0`, else zeros."""
    return np.zeros((batch, size)) if state0 is None else np.asarray(state0, np.float64)


def inputs(rng):
    return rng.standard_normal((BATCH, TIME, FEATURES)).astype("float32")


def draw(rng, *shape):
    """Random float32 weights of `shape`, drawn from N(0, 0.5**2)."""
    return rng.normal(0.0, 0.5, shape).astype("float32")


def assign(layer, params):
    """Loads reference parameters into the weights of `layer.cell`."""
    for key, value in params.items():
        getattr(layer.cell, WEIGHT_ATTRIBUTES[key]).assign(value)


def make_layer(variant, x, rng, **kwargs):
    """A `variant` layer built on `x` whose weights are fixed random values.

    Returns the layer and its parameters.
    """
    layer = variant["layer"](UNITS, return_sequences=True, return_state=True, **kwargs)
    layer(x)
    params = variant["random_params"](rng, kwargs)
    assign(layer, params)
    return layer, params


def assert_matches(actual, expected):
    """`actual` and `expected` are both (outputs of every step, final state)."""
    np.testing.assert_allclose(actual[0], expected[0], atol=ATOL)
    np.testing.assert_allclose(actual[1], expected[1], atol=ATOL)


def check_matches_reference(variant, rng, kwargs):
    """The layer built with `kwargs` against the reference on random inputs.

    Returns the layer, its (outputs, state) and the expected (outputs, state)
    for further variant-specific checks.
    """
    x = inputs(rng)
    layer, params = make_layer(variant, x, rng, **kwargs)
    actual = layer(x)
    expected = variant["reference"](x, params, kwargs)
    assert_matches(actual, expected)
    return layer, actual, expected


def constant_initializers(value):
    """Constructor arguments that set every weight and bias to `value`."""
    constant = keras.initializers.Constant(value)
    return {
        "kernel_initializer": constant,
        "recurrent_initializer": constant,
        "bias_initializer": constant,
    }


# Constructor arguments for a layer that returns every step and its final state.
SEQUENCES_AND_STATE = {"return_sequences": True, "return_state": True}


# --- argument validation ---------------------------------------------------

invalid_units = pytest.mark.parametrize(
    "units", [0, -1, 2.5, True], ids=["zero", "negative", "float", "bool"]
)


def layer_and_cell(layer, cell):
    """Parametrizes `cls` over a variant's layer and its cell."""
    return pytest.mark.parametrize("cls", [layer, cell], ids=["layer", "cell"])


def assert_rejects(argument, cls, *args, **kwargs):
    """`cls(*args, **kwargs)` raises a ValueError that names `argument`;
    returns the `pytest.raises` info for checks on the message."""
    with pytest.raises(ValueError, match=f"`{argument}`") as info:
        cls(*args, **kwargs)
    return info


# --- tests shared by every variant's test file ------------------------------
# Collected where they are imported; `variant` is that file's `VARIANT`.


def test_go_backwards_matches_reference_on_reversed_input(variant, rng):
    """`go_backwards=True` equals the reference run on the reversed input."""
    kwargs = variant["cases"]["go_backwards"]
    x = inputs(rng)
    layer, params = make_layer(variant, x, rng, go_backwards=True, **kwargs)
    assert_matches(layer(x), variant["reference"](x[:, ::-1], params, kwargs))


def test_unroll_matches_reference(variant, rng):
    """An unrolled layer inside a functional model equals the reference."""
    kwargs = variant["cases"]["unroll"]
    x = inputs(rng)
    layer = variant["layer"](
        UNITS, return_sequences=True, return_state=True, unroll=True, **kwargs
    )
    sequences = keras.Input((TIME, FEATURES))
    model = keras.Model(sequences, layer(sequences))
    params = variant["random_params"](rng, kwargs)
    assign(layer, params)
    assert_matches(model(x), variant["reference"](x, params, kwargs))


def test_initial_state_matches_reference(variant, rng):
    """An explicit initial state is used, and it matters."""
    kwargs = variant["cases"]["initial_state"]
    x = inputs(rng)
    layer, params = make_layer(variant, x, rng, **kwargs)
    state0 = rng.standard_normal((BATCH, layer.cell.state_size)).astype("float32")
    expected = variant["reference"](x, params, kwargs, state0)
    assert_matches(layer(x, initial_state=[state0]), expected)
    # Without the initial state the result differs.
    assert not np.allclose(layer(x)[0], expected[0], atol=ATOL)


# --- continuous-time variants (CTRNN) --------------------------------------

# CTRNN's learnable time constants, stored as log(tau).
WEIGHT_ATTRIBUTES["log_tau"] = "log_time_constant"


# --- LSTM family, RMLP (test_lstm.py, test_rmlp.py) --------------------------

# Peephole weights; layer-norm gains and the cell-state shift.
WEIGHT_ATTRIBUTES.update(
    {
        "p_i": "input_peephole",
        "p_f": "forget_peephole",
        "p_o": "output_peephole",
        "gamma_x": "input_gamma",
        "gamma_h": "recurrent_gamma",
        "gamma_c": "cell_gamma",
        "beta_c": "cell_beta",
    }
)
# RMLP: one kernel, recurrent kernel and bias per layer, "W0" -> kernel_0, ...
for _layer in range(4):
    WEIGHT_ATTRIBUTES[f"W{_layer}"] = f"kernel_{_layer}"
    WEIGHT_ATTRIBUTES[f"U{_layer}"] = f"recurrent_kernel_{_layer}"
    WEIGHT_ATTRIBUTES[f"b{_layer}"] = f"bias_{_layer}"


def adding_problem(rng, count, time):
    """The adding problem: channel 0 holds values in [0, 1), channel 1 marks
    two steps with 1. Target: the sum of the two marked values (always
    predicting its mean, 1.0, scores an MSE of 1/6)."""
    values = rng.uniform(0.0, 1.0, (count, time)).astype("float32")
    markers = np.zeros((count, time), "float32")
    for row in markers:
        row[rng.choice(time, 2, replace=False)] = 1.0
    return np.stack([values, markers], axis=-1), np.sum(values * markers, 1, keepdims=True)


def assert_layer_equals_bare_cell(layer, x, mask=None):
    """A built `ZooRNN` (return_sequences=True) and its bare cell in a plain
    `keras.layers.RNN` (running the same direction) give the same outputs
    and gradients (input and weights), under `mask` if given.

    The layer computes its cell's loop constants once per call, outside the
    time loop (and prepares its input there, `ZooCell.prepares_inputs`); the
    bare cell does both at every step.
    """
    import keras
    import tensorflow as tf

    plain = keras.layers.RNN(layer.cell, return_sequences=True, go_backwards=layer.go_backwards)
    x = tf.constant(x)
    weights = layer.trainable_weights
    names = ["input"] + [w.path for w in weights]
    results = []
    for run in (layer, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = run(x, mask=mask)
            loss = tf.reduce_sum(out * tf.cos(tf.range(out.shape[-1], dtype=out.dtype)))
        results.append((out, tape.gradient(loss, [x, *weights])))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
    for a, b, name in zip(results[0][1], results[1][1], names):
        assert a is not None, name
        np.testing.assert_allclose(a, b, atol=1e-4, err_msg=name)


def assert_lagged_output_equals_bare_cell(make_layer, rng):
    """A last-output `ZooRNN` whose cell lags its output (`can_lag_output`)
    equals its bare cell stepped by a plain `keras.layers.RNN`: last output,
    final state and gradients (input and weights), forwards and backwards,
    from a random initial state. The lag is used exactly where it applies:
    a last-output run without a mask, not `return_sequences` nor a mask.
    """
    import keras
    import tensorflow as tf

    x = tf.constant(inputs(rng))
    for go_backwards in (False, True):
        layer = make_layer(return_state=True, go_backwards=go_backwards)
        layer(x)
        assert layer.cell.can_lag_output
        state0 = tf.constant(rng.standard_normal((BATCH, layer.cell.state_size)), x.dtype)
        plain = keras.layers.RNN(layer.cell, return_state=True, go_backwards=go_backwards)
        lags = []
        output_of_states = layer.cell.output_of_states

        def spy(states):
            lags.append(True)
            return output_of_states(states)

        layer.cell.output_of_states = spy
        results = []
        for run in (layer, plain):
            with tf.GradientTape() as tape:
                tape.watch(x)
                output, state = run(x, initial_state=[state0])
                loss = tf.reduce_sum(output**2) + tf.reduce_sum(tf.sin(state))
            results.append([output, state, *tape.gradient(loss, [x, *layer.trainable_weights])])
        assert lags == [True], "the layer did not lag its output"
        for lagged, stepped in zip(*results):
            np.testing.assert_allclose(lagged, stepped, rtol=1e-5, atol=1e-5)
        mask = tf.constant(np.arange(x.shape[1])[None, :] < np.arange(1, BATCH + 1)[:, None])
        layer(x, mask=mask)
        assert lags == [True], "lagged under a mask"
        layer.return_sequences = True
        layer(x)
        assert lags == [True], "lagged with return_sequences"
        del layer.cell.output_of_states
