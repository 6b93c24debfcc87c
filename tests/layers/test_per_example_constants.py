"""Loop constants held per example (`ZooCell.per_example_constants`).

A `ZooRNN` (and a `StackedRNN`) broadcasts the loop constants its cell names
in `per_example_constants` to `(batch, ...)` before the time loop. These
tests check that the names are real loop constants, that the held tensors
really have the batch axis during a call, and that the numbers (outputs and
gradients, with a mask) are those of the bare cell, which never broadcasts.
"""

import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers import CTRNN, MTRNN, IndRNN, StackedRNN, ZooCell
from tests.layers import reference as ref
from tests.layers.conformance_exemptions import LAYER_ARGS
from tests.layers.reference import BATCH, UNITS

pytestmark = pytest.mark.usefixtures("keras_seed")

LAYERS = {
    "ctrnn": lambda **kw: CTRNN(UNITS, time_constant=(1.0, 4.0), seed=1, **kw),
    "ctrnn_rk4": lambda **kw: CTRNN(UNITS, method="rk4", integration_steps=2, seed=1, **kw),
    "mtrnn": lambda **kw: MTRNN((2, 2, 1), seed=1, **kw),
    "indrnn": lambda **kw: IndRNN(UNITS, seed=1, **kw),
}


def held_shapes(cell, run, x):
    """The shapes of `cell`'s per-example constants as its steps see them during `run(x)`."""
    seen = {}
    step = type(cell).call

    def spy(self, *args, **kwargs):
        constants = self.step_constants()
        for name in self.per_example_constants:
            if name in constants:
                seen[name] = tuple(constants[name].shape)
        return step(self, *args, **kwargs)

    cell.call = spy.__get__(cell)
    try:
        run(x)
    finally:
        del cell.call
    return seen


def test_named_constants_are_loop_constants_of_every_registered_cell():
    # A misspelt name would silently leave its constant as a vector.
    x = np.zeros((2, 3, 4), "float32")
    named = set()
    for name in rnnzoo.list_layers(kind="stepwise"):
        layer = rnnzoo.get_layer(name)(UNITS, **LAYER_ARGS.get(name, {}))
        layer(x)
        cell = getattr(layer, "cell", None)
        if isinstance(cell, ZooCell) and cell.per_example_constants:
            keys = set(cell.loop_constants())
            if name == "ctrnn":  # its Euler and RK4 steps hold different constants
                rk4 = CTRNN(UNITS, method="rk4")
                rk4(x)
                keys |= set(rk4.cell.loop_constants())
            assert set(cell.per_example_constants) <= keys, name
            named.add(name)
    assert {"ctrnn", "mtrnn", "indrnn"} <= named


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_held_with_the_batch_axis(kind, rng):
    layer = LAYERS[kind](return_sequences=True)
    x = ref.inputs(rng)
    layer(x)
    seen = held_shapes(layer.cell, layer, x)
    assert seen, "no per-example constant reached the step"
    for name, shape in seen.items():
        assert shape[0] == BATCH and len(shape) == 2, (name, shape)
    # A bare cell (no layer around it) keeps its vectors as they are.
    constants = layer.cell.loop_constants()
    for name in seen:
        assert len(constants[name].shape) == 1, name


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_held_with_the_batch_axis_in_a_stack(kind, rng):
    stack = StackedRNN([IndRNN(3, seed=2), LAYERS[kind]()], return_sequences=True)
    x = ref.inputs(rng)
    stack(x)
    seen = held_shapes(stack.cells[1], stack, x)
    assert seen, "no per-example constant reached the step"
    for name, shape in seen.items():
        assert shape[0] == BATCH and len(shape) == 2, (name, shape)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_equals_bare_cell_with_a_mask(kind, rng):
    layer = LAYERS[kind](return_sequences=True)
    x = ref.inputs(rng)
    layer(x)
    mask = np.ones(x.shape[:2], bool)
    mask[1, -2:] = False
    ref.assert_layer_equals_bare_cell(layer, x, mask=mask)
