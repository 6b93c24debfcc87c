"""Multidimensional recurrent networks: MD-LSTM and MD-RNN sweeps over 2-D grids."""

import keras
import numpy as np
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    cast_numeric,
    check_choice,
    check_rank,
    layer_owner,
    zoo_layer,
)

CELLS = ("lstm", "tanh")
MERGE_MODES = ("concat", "sum")
# Scan directions as (flip rows, flip columns): the sweep starts in the
# top-left, top-right, bottom-left and bottom-right corner respectively.
_DIRECTIONS = ((False, False), (False, True), (True, False), (True, True))


def _stacked(weights):
    """One tensor with a leading direction axis from per-direction weights."""
    return ops.concatenate([ops.expand_dims(w, 0) for w in weights], axis=0)


@zoo_layer("mdrnn", aliases=("md_lstm",))
class MDRNN(ZooCell):
    """Multidimensional (2-D) recurrent layer: MD-LSTM or tanh MD-RNN over a grid.

    Each position `(i, j)` of a 2-D input sees its input `x[i, j]` and the
    states of its upper neighbour `(i-1, j)` and its left neighbour `(i, j-1)`
    (zeros outside the grid), so the state at `(i, j)` depends on the whole
    rectangle `[0..i] x [0..j]`. With `cell="lstm"` (MD-LSTM, one forget gate
    per dimension):

        z = x[i,j] W + h[i-1,j] U_up + h[i,j-1] U_left + b
        (a, f_up, f_left, o, g) = split(z, 5)
        c[i,j] = sigmoid(f_up) * c[i-1,j] + sigmoid(f_left) * c[i,j-1]
                 + sigmoid(a) * activation(g)
        h[i,j] = sigmoid(o) * activation(c[i,j])

    and with `cell="tanh"` (the simple MD-RNN):

        h[i,j] = activation(x[i,j] W + h[i-1,j] U_up + h[i,j-1] U_left + b)

    (`sigmoid` is `recurrent_activation`.) The recurrent kernel of one
    direction is `[U_up; U_left]`, shape `(2 * units, gates * units)`. There
    are no peephole connections (the paper's MD-LSTM has them). Two forget
    gates near 1 can let `c` grow like the number of paths; `forget_bias`
    (default 0, so an initial forget gate of 0.5 per dimension) keeps the
    sum of the forget gates near 1 at initialisation.

    With `directions=4` four independent sweeps (own weights) start in the
    four corners (top-left, top-right, bottom-left, bottom-right); each is
    the forward sweep run on the grid flipped along rows and/or columns and
    its result flipped back, so every position sees context from the whole
    image. The directions are merged by `merge_mode`: `"concat"` (default,
    `4 * units` features, in the corner order above) or `"sum"` (`units`).

    Computation: the cells of one anti-diagonal `i + j = d` do not depend on
    each other, so the sweep takes `height + width - 1` steps, each a batched
    update of a whole anti-diagonal (of all directions at once, with a
    leading direction axis and batched matrix products). The loop over anti-diagonals is a static
    Python loop, so the layer needs `height` and `width` known when it is
    built (the batch size may vary) and exports to TFLite with builtin ops
    only (no TensorList/While ops); it is meant for small grids (tens of
    rows and columns), since the graph grows with `height + width`.

    Args:
        units: int, state size of each direction.
        cell: `"lstm"` (default) or `"tanh"`.
        directions: 1 (default, one sweep from the top-left corner) or 4.
        merge_mode: `"concat"` (default) or `"sum"`, how 4 directions merge.
        return_sequences: bool, default `False`. `True` returns the state of
            every grid position `(batch, height, width, features)`; `False`
            returns the state at each sweep's last position (for direction 1
            the bottom-right cell), `(batch, features)`.
        activation: default `"tanh"`; the MD-RNN's nonlinearity and the
            MD-LSTM's cell input/output activation.
        recurrent_activation: the MD-LSTM's gate activation. Default
            `"sigmoid"`.
        forget_bias: float added to both forget gates' pre-activations.
            Default 0.0.
        use_bias, kernel_initializer (default `"glorot_uniform"`),
            recurrent_initializer (default `"orthogonal"`),
            bias_initializer (default `"zeros"`), *_regularizer,
            *_constraint, seed: as in `keras.layers.LSTM`; `seed` seeds every
            weight of every direction.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)` with `height`
            and `width` known when the layer is built (integers are cast).
        training: bool (unused; no dropout).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height, width, features)` with
    `return_sequences=True`, else `(batch, features)`; `features` is `units`
    or, with `directions=4` and `merge_mode="concat"`, `4 * units`.

    Example:

    >>> import numpy as np
    >>> images = np.zeros((2, 5, 6, 3), "float32")
    >>> tuple(MDRNN(4)(images).shape)  # state of the bottom-right cell
    (2, 4)
    >>> tuple(MDRNN(4, directions=4, return_sequences=True)(images).shape)
    (2, 5, 6, 16)
    >>> tuple(MDRNN(4, cell="tanh", directions=4, merge_mode="sum")(images).shape)
    (2, 4)

    Reference:
        Graves, A., Fernandez, S. & Schmidhuber, J. (2007). Multi-dimensional
        recurrent neural networks. ICANN 2007, LNCS 4668, 549-558.
    """

    def __init__(
        self,
        units,
        cell="lstm",
        directions=1,
        merge_mode="concat",
        return_sequences=False,
        recurrent_activation="sigmoid",
        forget_bias=0.0,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.cell = check_choice(owner, "cell", cell, CELLS)
        if isinstance(directions, bool) or directions not in (1, 4):
            raise ValueError(
                f"Received an invalid value for argument `directions` of {owner}, "
                f"expected 1 or 4, got {directions!r}."
            )
        self.directions = directions
        self.merge_mode = check_choice(owner, "merge_mode", merge_mode, MERGE_MODES)
        self.return_sequences = bool(return_sequences)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
            raise ValueError(
                f"Received an invalid value for argument `forget_bias` of {owner}, "
                f"expected a float, got {forget_bias!r}."
            )
        self.forget_bias = float(forget_bias)
        self.gates = 5 if self.cell == "lstm" else 1
        self.grid_shape = None

    @property
    def output_units(self):
        """Features per position: units, or 4 * units for concatenated directions."""
        if self.directions > 1 and self.merge_mode == "concat":
            return self.directions * self.units
        return self.units

    def _check_grid(self, shape):
        owner = layer_owner(self)
        check_rank(self, shape, ("batch", "height", "width", "channels"))
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Input of {owner} must have known height, width and channels (the "
                f"sweep over anti-diagonals is unrolled when the layer is built), got "
                f"shape {tuple(shape)}."
            )
        if shape[1] == 0 or shape[2] == 0 or shape[3] == 0:
            raise ValueError(
                f"Input of {owner} has an empty axis (shape {tuple(shape)}); expected "
                "at least one row, one column and one channel."
            )
        if self.grid_shape is not None and tuple(shape[1:]) != self.grid_shape:
            raise ValueError(
                f"Input of {owner} must have (height, width, channels) = "
                f"{self.grid_shape}, as when the layer was built; got shape {tuple(shape)}."
            )

    def build(self, input_shape):
        self._check_grid(input_shape)
        super().build(input_shape)
        self.grid_shape = tuple(int(d) for d in input_shape[1:])
        width = self.gates * self.units
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for k in range(self.directions):
            self.kernels.append(
                self.add_role_weight(f"kernel_{k}", (self.input_dim, width), "kernel")
            )
            self.recurrent_kernels.append(
                self.add_role_weight(
                    f"recurrent_kernel_{k}", (2 * self.units, width), "recurrent"
                )
            )
            if self.use_bias:
                self.biases.append(self.add_role_weight(f"bias_{k}", (width,), "bias"))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], input_shape[2], self.output_units)
        return (input_shape[0], self.output_units)

    def _step(self, z, up, left, recurrent):
        """One anti-diagonal of every direction at once.

        `z`: input projections `(directions, batch, height, gates * units)`;
        `up`, `left`: `(h, c)` of the neighbours, `(directions, batch, height,
        units)`; `recurrent`: `(directions, 2 * units, gates * units)`.
        """
        h_up, c_up = up
        h_left, c_left = left
        height = z.shape[2]
        neighbours = ops.concatenate([h_up, h_left], axis=-1)
        flat = ops.reshape(neighbours, (self.directions, -1, 2 * self.units))
        pre = z + ops.reshape(
            ops.matmul(flat, recurrent), (self.directions, -1, height, self.gates * self.units)
        )
        if self.cell == "tanh":
            h = self.activation(pre)
            return h, h
        a, f_up, f_left, o, g = ops.split(pre, 5, axis=-1)
        sig = self.recurrent_activation
        c = (
            sig(f_up + self.forget_bias) * c_up
            + sig(f_left + self.forget_bias) * c_left
            + sig(a) * self.activation(g)
        )
        return sig(o) * self.activation(c), c

    def _sweep(self, x):
        """Forward sweeps (from the top-left) of `x`, `(directions, batch, H, W, C)`.

        Direction `k` uses its own weights. Returns the states of every
        position `(directions, batch, H, W, units)`, or with
        `return_sequences=False` those of the last position
        `(directions, batch, units)`.
        """
        height, width, channels = self.grid_shape
        directions, width_g = self.directions, self.gates * self.units
        kernel = _stacked(self.kernels)  # (directions, channels, gates * units)
        z = ops.matmul(ops.reshape(x, (directions, -1, channels)), kernel)
        z = ops.reshape(z, (directions, -1, height, width, width_g))
        if self.use_bias:
            z = z + ops.reshape(_stacked(self.biases), (directions, 1, 1, 1, width_g))
        recurrent = _stacked(self.recurrent_kernels)
        # Skew: row i moves i columns right, so anti-diagonal d is column d.
        diagonals = height + width - 1
        skewed = ops.stack(
            [
                ops.pad(z[:, :, i], ((0, 0), (0, 0), (i, height - 1 - i), (0, 0)))
                for i in range(height)
            ],
            axis=2,
        )  # (directions, batch, height, diagonals, gates * units)
        rows = np.arange(height)
        zeros = ops.zeros_like(skewed[:, :, :, 0, : self.units])
        h, c = zeros, zeros
        states = []
        for d in range(diagonals):
            # Rows that hold a real cell (i, d - i) on this anti-diagonal.
            valid = ((rows <= d) & (d - rows < width)).astype(self.compute_dtype)[:, None]
            # Up neighbour (i-1, j): row i-1 of the previous diagonal; left
            # neighbour (i, j-1): row i of it. Invalid rows hold zeros.
            up = tuple(ops.pad(s[:, :, :-1], ((0, 0), (0, 0), (1, 0), (0, 0))) for s in (h, c))
            h, c = self._step(skewed[:, :, :, d], up, (h, c), recurrent)
            h, c = h * valid, c * valid
            states.append(h)
        if not self.return_sequences:
            return h[:, :, -1]  # the last position (H-1, W-1) is on the last diagonal
        grid = ops.stack(states, axis=3)  # (directions, batch, height, diagonals, units)
        return ops.stack([grid[:, :, i, i : i + width] for i in range(height)], axis=2)

    def call(self, inputs, training=False):
        self._check_grid(inputs.shape)
        inputs = cast_numeric(self, inputs)
        flipped = []
        for flip_rows, flip_cols in _DIRECTIONS[: self.directions]:
            x = ops.flip(inputs, axis=1) if flip_rows else inputs
            flipped.append(ops.flip(x, axis=2) if flip_cols else x)
        # All directions run in one batched sweep (a leading direction axis).
        swept = self._sweep(ops.stack(flipped, axis=0))
        outputs = []
        for k, (flip_rows, flip_cols) in enumerate(_DIRECTIONS[: self.directions]):
            grid = swept[k]
            if self.return_sequences:  # flip each direction's grid back
                grid = ops.flip(grid, axis=1) if flip_rows else grid
                grid = ops.flip(grid, axis=2) if flip_cols else grid
            outputs.append(grid)
        if len(outputs) == 1:
            return outputs[0]
        if self.merge_mode == "sum":
            return ops.sum(ops.stack(outputs, axis=0), axis=0)
        return ops.concatenate(outputs, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell,
                "directions": self.directions,
                "merge_mode": self.merge_mode,
                "return_sequences": self.return_sequences,
                "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
                "forget_bias": self.forget_bias,
            }
        )
        return config
