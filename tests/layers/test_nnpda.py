"""NNPDA layer: the stack operations and whole steps against an independent NumPy
reference, the paper's worked example, the fixed-depth rule and argument checks.

The reference keeps the Grefenstette stack as the paper writes it: two growing
Python lists indexed from the bottom, with explicit loops for the pop and the
read. The layer instead keeps a fixed number of slots indexed from the top and
uses triangular matrix products; the two agree while a sequence is no longer
than `stack_depth`, and with the bottom entries dropped beyond it.
Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import NNPDA, NNPDACell

pytestmark = pytest.mark.usefixtures("keras_seed")

ATOL = 1e-5


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logit(p):
    return float(np.log(p / (1.0 - p)))


# --------------------------------------------------------------------------- NumPy reference

def stack_step(values, strengths, push, pop, value, depth=None):
    """One step of the neural stack (Grefenstette et al. 2015, eqs. 1-3).

    `values`, `strengths`: lists, index 0 = bottom. Pops `pop` strength from
    the top down, pushes `value` with strength `push`, reads the top unit.
    With `depth`, only the newest `depth` entries are kept.
    """
    strengths = list(strengths)
    for i in range(len(strengths)):
        above = sum(strengths[i + 1:])
        strengths[i] = max(0.0, strengths[i] - max(0.0, pop - above))
    values = list(values) + [np.asarray(value, np.float64)]
    strengths = strengths + [float(push)]
    if depth is not None:
        values, strengths = values[-depth:], strengths[-depth:]
    read = np.zeros_like(values[-1])
    for i in range(len(strengths)):
        above = sum(strengths[i + 1:])
        read = read + min(strengths[i], max(0.0, 1.0 - above)) * values[i]
    return values, strengths, read


def joulin_step(stack, actions, value):
    """One step of the Joulin & Mikolov (2015) stack; `stack` (depth, width), row 0 = top."""
    depth = stack.shape[0]
    pushed = np.concatenate([value[None], stack[: depth - 1]], axis=0)
    popped = np.concatenate([stack[1:], np.zeros_like(stack[:1])], axis=0)
    return actions[0] * pushed + actions[1] * popped + actions[2] * stack


def nnpda_reference(x, p, controller, stack, depth, width):
    """Whole-layer reference for one example: a plain loop over time, float64."""
    units = p["U"].shape[0]
    h, c = np.zeros(units), np.zeros(units)
    values, strengths, read = [], [], np.zeros(width)
    joulin = np.zeros((depth, width))
    outputs = []
    for x_t in x.astype(np.float64):
        pre = np.concatenate([x_t, read]) @ p["W"] + h @ p["U"] + p["b"]
        if controller == "elman":
            h = np.tanh(pre)
        else:
            i, f, g, o = np.split(pre, 4)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        controls = h @ p["Ws"] + p["bs"]
        if stack == "grefenstette":
            values, strengths, read = stack_step(
                values, strengths, sigmoid(controls[0]), sigmoid(controls[1]),
                np.tanh(controls[2:]), depth=depth)
        else:
            actions = np.exp(controls[:3] - controls[:3].max())
            joulin = joulin_step(joulin, actions / actions.sum(), np.tanh(controls[3:]))
            read = joulin[0]
        outputs.append(np.tanh(np.concatenate([h, read]) @ p["Wo"] + p["bo"]))
    return np.stack(outputs), read


def random_weights(layer, rng):
    p = {}
    for attribute, key in (("kernel", "W"), ("recurrent_kernel", "U"), ("bias", "b"),
                           ("stack_kernel", "Ws"), ("stack_bias", "bs"),
                           ("output_kernel", "Wo"), ("output_bias", "bo")):
        weight = getattr(layer.cell, attribute)
        p[key] = rng.uniform(-1.0, 1.0, tuple(weight.shape)).astype("float32")
        weight.assign(p[key])
    return p


def cell_stack(depth, width=2, stack="grefenstette"):
    cell = NNPDACell(3, stack_depth=depth, stack_width=width, stack=stack)
    cell.build((None, 2))
    return cell


def run_stack(cell, operations):
    """Drives the layer's stack with given (push, pop, value) steps; returns reads."""
    depth, width = cell.stack_depth, cell.stack_width
    values = keras.ops.zeros((1, depth, width))
    strengths = keras.ops.zeros((1, depth))
    reads = []
    for push, pop, value in operations:
        value = np.clip(np.asarray(value, np.float64), -0.999999, 0.999999)
        controls = np.concatenate([[logit(push), logit(pop)], np.arctanh(value)])
        values, strengths, read = cell._grefenstette(
            keras.ops.convert_to_tensor(controls[None].astype("float32")), values, strengths)
        reads.append(keras.ops.convert_to_numpy(read)[0])
    return reads, keras.ops.convert_to_numpy(strengths)[0]


# Strengths a sigmoid can reach to float32 precision stand in for 0 and 1.
ONE, ZERO = 1.0 - 1e-7, 1e-7


# --------------------------------------------------------------------------- stack operations

def test_push_then_read_returns_the_pushed_value():
    cell = cell_stack(depth=4)
    reads, _ = run_stack(cell, [(ONE, ZERO, [0.3, -0.6])])
    np.testing.assert_allclose(reads[0], [0.3, -0.6], atol=ATOL)


def test_pop_after_push_returns_the_value_below():
    cell = cell_stack(depth=4)
    operations = [(ONE, ZERO, [0.3, -0.6]), (ONE, ZERO, [-0.8, 0.1]),
                  (ZERO, ONE, [0.5, 0.5])]  # pop the top one; push nothing
    reads, _ = run_stack(cell, operations)
    np.testing.assert_allclose(reads[1], [-0.8, 0.1], atol=ATOL)
    np.testing.assert_allclose(reads[2], [0.3, -0.6], atol=ATOL)


def test_fractional_strengths_give_the_papers_read():
    # Grefenstette et al. (2015), Figure 1: push v1 (d=0.8); pop 0.1, push v2
    # (d=0.5); pop 0.9, push v3 (d=0.9). Reads, by hand: 0.8 v1; 0.5 v2 + 0.5 v1;
    # 0.9 v3 + 0 v2 + 0.1 v1 (the pop of 0.9 empties v2 and leaves 0.3 of v1).
    v1, v2, v3 = [0.5, 0.0], [0.0, 0.5], [-0.5, -0.5]
    reads, strengths = run_stack(cell_stack(depth=3),
                                 [(0.8, 1e-7, v1), (0.5, 0.1, v2), (0.9, 0.9, v3)])
    np.testing.assert_allclose(reads[0], 0.8 * np.array(v1), atol=ATOL)
    np.testing.assert_allclose(reads[1], 0.5 * np.array(v2) + 0.5 * np.array(v1), atol=ATOL)
    np.testing.assert_allclose(reads[2], 0.9 * np.array(v3) + 0.1 * np.array(v1), atol=ATOL)
    np.testing.assert_allclose(strengths, [0.9, 0.0, 0.3], atol=ATOL)  # top first


def test_push_half_pop_quarter_matches_reference():
    rng = np.random.default_rng(0)
    operations = [(0.5, 0.25, rng.uniform(-0.9, 0.9, 2)) for _ in range(5)]
    operations += [(p, q, rng.uniform(-0.9, 0.9, 2))
                   for p, q in rng.uniform(0.05, 0.95, (6, 2))]
    reads, strengths = run_stack(cell_stack(depth=len(operations)), operations)
    values, ref_strengths = [], []
    for (push, pop, value), read in zip(operations, reads):
        values, ref_strengths, expected = stack_step(values, ref_strengths, push, pop, value)
        np.testing.assert_allclose(read, expected, atol=ATOL)
    np.testing.assert_allclose(strengths, ref_strengths[::-1], atol=ATOL)


def test_fixed_depth_drops_the_bottom_entry():
    operations = [(ONE, ZERO, [0.1 * k, -0.1 * k]) for k in range(1, 5)]
    operations += [(ZERO, ONE, [0.0, 0.0])] * 4
    reads, _ = run_stack(cell_stack(depth=3), operations)
    # Depth 3: the zero-strength pushes of the pops also take slots, so after
    # two pops the remaining entries have fallen off and the read is empty.
    values, strengths = [], []
    for (push, pop, value), read in zip(operations, reads):
        values, strengths, expected = stack_step(values, strengths, push, pop, value, depth=3)
        np.testing.assert_allclose(read, expected, atol=ATOL)
    np.testing.assert_allclose(reads[4], [0.3, -0.3], atol=ATOL)
    np.testing.assert_allclose(reads[6], [0.0, 0.0], atol=ATOL)


def test_joulin_push_pop_and_bottom():
    cell = cell_stack(depth=2, stack="joulin")
    values = keras.ops.zeros((1, 2, 2))
    big = 30.0
    steps = [([big, 0, 0], [0.2, 0.4]), ([big, 0, 0], [0.6, -0.2]), ([big, 0, 0], [0.5, 0.5]),
             ([0, big, 0], [0.0, 0.0]), ([0, 0, big], [0.9, 0.9]), ([0, big, 0], [0.0, 0.0])]
    reads = []
    for actions, value in steps:
        controls = np.concatenate([actions, np.arctanh(value)])[None].astype("float32")
        values, read = cell._joulin(keras.ops.convert_to_tensor(controls), values)
        reads.append(keras.ops.convert_to_numpy(read)[0])
    np.testing.assert_allclose(reads[:3], [[0.2, 0.4], [0.6, -0.2], [0.5, 0.5]], atol=ATOL)
    np.testing.assert_allclose(reads[3], [0.6, -0.2], atol=ATOL)  # [0.2, 0.4] fell off
    np.testing.assert_allclose(reads[4], [0.6, -0.2], atol=ATOL)  # no-op
    np.testing.assert_allclose(reads[5], [0.0, 0.0], atol=ATOL)  # empty: zeros


# --------------------------------------------------------------------------- whole layer

@pytest.mark.parametrize(
    "controller, stack, depth, time",
    [("lstm", "grefenstette", 8, 8), ("elman", "grefenstette", 3, 7),
     ("lstm", "joulin", 3, 7), ("elman", "joulin", 4, 5)],
)
def test_layer_matches_reference(controller, stack, depth, time):
    rng = np.random.default_rng(1)
    width, units, features = 3, 4, 2
    x = rng.standard_normal((2, time, features)).astype("float32")
    layer = NNPDA(units, stack_depth=depth, stack_width=width, controller=controller,
                  stack=stack, return_sequences=True, return_state=True)
    layer.build((None, None, features))
    p = random_weights(layer, rng)
    outputs, *states = layer(x)
    for k in range(len(x)):
        expected, read = nnpda_reference(x[k], p, controller, stack, depth, width)
        np.testing.assert_allclose(outputs[k], expected, atol=ATOL)
        np.testing.assert_allclose(states[-1][k], read, atol=ATOL)


def test_non_default_forms_round_trip_config():
    layer = NNPDA(4, stack_depth=3, stack_width=2, controller="elman", stack="joulin", seed=3)
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype("float32")
    expected = layer(x)
    clone = NNPDA.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_allclose(clone(x), expected, atol=1e-6)
    assert [s for s in layer.cell.state_size] == [4, 6, 2]


@pytest.mark.parametrize(
    "kwargs, text",
    [({"stack_depth": 0}, "`stack_depth`"), ({"stack_width": 2.5}, "`stack_width`"),
     ({"controller": "gru"}, "`controller`"), ({"stack": "queue"}, "`stack`")],
)
def test_bad_arguments(kwargs, text):
    with pytest.raises(ValueError, match=text) as info:
        NNPDA(4, **kwargs)
    assert "NNPDACell" in str(info.value) and repr(list(kwargs.values())[0]) in str(info.value)


@pytest.mark.slow
def test_joulin_elman_form_exports_to_builtin_tflite(tmp_path):
    # The conformance sweep exports the default form; the shipped preset uses this one.
    import rnnzoo

    inputs = keras.Input((None, 3))
    layer = NNPDA(4, stack_depth=3, stack_width=2, controller="elman", stack="joulin", seed=1)
    model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
    report = rnnzoo.export(model, tmp_path / "model.tflite", batch_size=2)
    assert report.max_abs_diff <= 1e-5
    assert "WHILE" in report.ops and not [op for op in report.ops if op.startswith("CUSTOM")]
