"""Elman simple recurrent network: a hidden layer whose copy (the context) feeds back."""

import keras
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_positive_int,
    input_drive,
    serializable,
    zoo_layer,
)


@serializable
class ElmanCell(ZooCell):
    """One step of an Elman network (hidden layer, context units, optional output layer).

    Equations, for input `x_t`, context `c_t` (a copy of the previous hidden
    layer, `c_1 = 0`):

        h_t = activation(x_t W + c_t U + b)
        c_{t+1} = h_t
        y_t = output_activation(h_t V + b_y)   if output_units else  y_t = h_t

    Args:
        units: int, hidden (and context) units.
        output_units: optional int; size of Elman's output layer. `None`
            (default) returns the hidden layer itself, leaving the readout to
            the task head.
        activation: hidden activation, default `"tanh"`.
        output_activation: output-layer activation, default linear.
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`; the output layer uses the `kernel`
            and `bias` settings.

    State: `[c]` with shape `(batch, units)`.
    """

    def __init__(self, units, output_units=None, output_activation=None, **kwargs):
        super().__init__(units, **kwargs)
        self.output_units = check_positive_int(
            type(self).__name__, "output_units", output_units, allow_none=True
        )
        self.output_activation = keras.activations.get(output_activation)
        self.state_size = self.units
        self.output_size = self.output_units or self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None
        if self.output_units:
            self.output_kernel = self.add_role_weight(
                "output_kernel", (self.units, self.output_units), "kernel"
            )
            self.output_bias = (
                self.add_role_weight("output_bias", (self.output_units,), "bias")
                if self.use_bias
                else None
            )

    def call(self, inputs, states, training=False):
        context = states[0]
        pre = input_drive(inputs, self.kernel, self.bias) + ops.matmul(
            context, self.recurrent_kernel
        )
        hidden = self.activation(pre)
        output = hidden
        if self.output_units:
            output = ops.matmul(hidden, self.output_kernel)
            if self.use_bias:
                output = ops.add(output, self.output_bias)
            output = self.output_activation(output)
        return output, [hidden]

    def get_config(self):
        config = super().get_config()
        config["output_units"] = self.output_units
        config["output_activation"] = keras.activations.serialize(self.output_activation)
        return config


@zoo_layer("elman")
class Elman(ZooRNN):
    """Elman simple recurrent network (SRN) layer.

    The hidden layer is copied into context units, which feed it back at the
    next step; an optional output layer reads the hidden layer (see
    `ElmanCell` for the equations and all cell arguments).

    Args:
        units: int, hidden/context units.
        output_units: optional int, size of the output layer (default: none,
            the layer returns the hidden state).
        activation, output_activation, use_bias, initializers, regularizers,
            constraints, seed: passed to `ElmanCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the context `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state (and, by default, repeat the previous output).
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, output_units or units)`, or
    `(batch, timesteps, output_units or units)` with `return_sequences=True`;
    with `return_state=True` the final context `(batch, units)` follows.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(Elman(8)(x).shape)
    (4, 8)
    >>> y, context = Elman(8, output_units=2, return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(context.shape)
    ((4, 10, 2), (4, 8))

    Reference:
        Elman, J. L. (1990). Finding structure in time. Cognitive Science 14(2).
    """

    cell_class = ElmanCell
