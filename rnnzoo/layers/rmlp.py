"""Recurrent multilayer perceptron (RMLP): cascaded layers, each recurrent within itself."""

from keras import ops

from rnnzoo.layers.base import ZooCell, ZooRNN, input_drive, serializable, zoo_layer


def _layer_sizes(owner, units):
    sizes = [units] if isinstance(units, int) and not isinstance(units, bool) else units
    ok = isinstance(sizes, (list, tuple)) and len(sizes) > 0
    ok = ok and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
    if not ok:
        raise ValueError(
            f"Received an invalid value for argument `units` of {owner}, expected "
            "a positive integer or a non-empty list of positive integers (one per "
            f"layer), got {units!r}."
        )
    return tuple(sizes)


@serializable
class RMLPCell(ZooCell):
    """One step of a recurrent multilayer perceptron.

    Topology: `L` fully connected layers in cascade. Layer 1 reads the input;
    layer `l > 1` reads layer `l - 1` at the same step. Every layer also reads
    its own activations of the previous step through a full `(h_l, h_l)`
    matrix (recurrence within the layer only: no feedback between layers and
    no skip connections). The output is the last layer:

        a^1_t = act(x_t W_1 + a^1_{t-1} U_1 + b_1)
        a^l_t = act(a^{l-1}_t W_l + a^l_{t-1} U_l + b_l),   l = 2..L
        y_t = a^L_t

    The state is every layer's activations concatenated, `[a^1, ..., a^L]`,
    carried flat as one `(batch, h_1 + ... + h_L)` tensor and split inside
    the cell. A readout (Puskorius & Feldkamp's linear output node) is left to
    the task head.

    Args:
        units: int or list of ints `(h_1, ..., h_L)`, the size of each layer;
            an int is a single recurrent layer.
        activation: of every layer, default `"tanh"`.
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`, shared by all layers (the `kernel`
            settings for `W_l`, the `recurrent` ones for `U_l`).

    Weights: `kernel_l`, `recurrent_kernel_l`, `bias_l` for `l = 0..L-1`.
    State: `[a]` with shape `(batch, sum(units))`.
    """

    def __init__(self, units, **kwargs):
        self.layer_units = _layer_sizes(type(self).__name__, units)
        super().__init__(self.layer_units[-1], **kwargs)
        self.state_size = sum(self.layer_units)
        self.output_size = self.layer_units[-1]

    def build(self, input_shape):
        super().build(input_shape)
        # Each weight is also an attribute (`cell.kernel_1`), named as in the file.
        kernels, recurrent_kernels, biases = [], [], []
        fan_in = self.input_dim
        for index, size in enumerate(self.layer_units):
            kernels.append(self.add_role_weight(f"kernel_{index}", (fan_in, size), "kernel"))
            recurrent_kernels.append(
                self.add_role_weight(f"recurrent_kernel_{index}", (size, size), "recurrent")
            )
            setattr(self, f"kernel_{index}", kernels[-1])
            setattr(self, f"recurrent_kernel_{index}", recurrent_kernels[-1])
            if self.use_bias:
                biases.append(self.add_role_weight(f"bias_{index}", (size,), "bias"))
                setattr(self, f"bias_{index}", biases[-1])
            fan_in = size
        self.kernels, self.recurrent_kernels = tuple(kernels), tuple(recurrent_kernels)
        self.biases = tuple(biases)

    def call(self, inputs, states, training=False):
        state = states[0]
        if len(self.layer_units) > 1:
            bounds = [sum(self.layer_units[: i + 1]) for i in range(len(self.layer_units) - 1)]
            previous = ops.split(state, bounds, axis=-1)
        else:
            previous = [state]
        activations, below = [], inputs
        for index, prev in enumerate(previous):
            bias = self.biases[index] if self.use_bias else None
            pre = input_drive(below, self.kernels[index], bias) + ops.matmul(
                prev, self.recurrent_kernels[index]
            )
            below = self.activation(pre)
            activations.append(below)
        new_state = activations[0] if len(activations) == 1 else ops.concatenate(activations, -1)
        return below, [new_state]

    def get_config(self):
        config = super().get_config()
        sizes = self.layer_units
        config["units"] = sizes[0] if len(sizes) == 1 else list(sizes)
        return config


@zoo_layer("rmlp")
class RMLP(ZooRNN):
    """Recurrent multilayer perceptron layer: a stack of self-recurrent layers in one cell.

    Puskorius & Feldkamp's RMLP (e.g. their 1-5R-5R-1 controllers) cascades
    fully connected layers, each with full recurrence among its own units:
    `a^l_t = act(a^{l-1}_t W_l + a^l_{t-1} U_l + b_l)`, `a^0_t = x_t`; the
    output is the last layer (see `RMLPCell` for the exact topology). Unlike a
    stack of separate recurrent layers, all layers advance together in one
    step and share one flat state.

    Args:
        units: int or list of ints `(h_1, ..., h_L)`, one size per layer.
        activation (default `"tanh"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `RMLPCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the flat state `(batch, sum(units))`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, h_L)` or `(batch, timesteps, h_L)`; with
    `return_state=True` the flat state `(batch, h_1 + ... + h_L)` follows.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> y, state = RMLP([5, 5], return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(state.shape)
    ((4, 10, 5), (4, 10))

    Reference:
        Puskorius, G. V. & Feldkamp, L. A. (1994). Neurocontrol of nonlinear
        dynamical systems with Kalman filter trained recurrent networks. IEEE
        Transactions on Neural Networks 5(2).
    """

    cell_class = RMLPCell

    @property
    def layer_units(self):
        return self.cell.layer_units
