"""Jordan network: the state units are fed from the output layer, not the hidden layer."""

import keras
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_fraction,
    check_positive_int,
    input_drive,
    serializable,
    zoo_layer,
)


@serializable
class JordanCell(ZooCell):
    """One step of a Jordan network.

    Equations, for input `x_t` and state units `s_{t-1}` (`s_0 = 0`):

        h_t = activation(x_t W + s_{t-1} U + b)
        y_t = output_activation(h_t V + b_y)
        s_t = context_decay * s_{t-1} + y_t

    Jordan's state units copy the output layer and hold a decaying trace of
    it through their self-connections (`context_decay`, 0 gives a plain copy).

    Args:
        units: int, hidden units.
        output_units: int, output (and state) units. Required.
        context_decay: float in [0, 1), self-connection of the state units.
            Default 0.
        activation: hidden activation, default `"tanh"`.
        output_activation: output activation, default linear.
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`; the output layer uses the `kernel`
            and `bias` settings.

    State: `[s]` with shape `(batch, output_units)`.
    """

    def __init__(
        self, units, output_units=None, context_decay=0.0, output_activation=None, **kwargs
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        if output_units is None:
            raise ValueError(
                f"Received no value for argument `output_units` of {owner}: a "
                "Jordan network feeds its output layer back, so expected a "
                "positive integer."
            )
        self.output_units = check_positive_int(owner, "output_units", output_units)
        self.context_decay = check_fraction(owner, "context_decay", context_decay)
        self.output_activation = keras.activations.get(output_activation)
        self.state_size = self.output_units
        self.output_size = self.output_units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.output_units, self.units), "recurrent"
        )
        self.output_kernel = self.add_role_weight(
            "output_kernel", (self.units, self.output_units), "kernel"
        )
        self.bias = self.output_bias = None
        if self.use_bias:
            self.bias = self.add_role_weight("bias", (self.units,), "bias")
            self.output_bias = self.add_role_weight("output_bias", (self.output_units,), "bias")

    def call(self, inputs, states, training=False):
        state = states[0]
        pre = input_drive(inputs, self.kernel, self.bias) + ops.matmul(
            state, self.recurrent_kernel
        )
        hidden = self.activation(pre)
        output = ops.matmul(hidden, self.output_kernel)
        if self.use_bias:
            output = output + self.output_bias
        output = self.output_activation(output)
        new_state = output if self.context_decay == 0.0 else self.context_decay * state + output
        return output, [new_state]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_units": self.output_units,
                "context_decay": self.context_decay,
                "output_activation": keras.activations.serialize(self.output_activation),
            }
        )
        return config


@zoo_layer("jordan")
class Jordan(ZooRNN):
    """Jordan network layer: recurrence through the output layer's state units.

    Args:
        units: int, hidden units.
        output_units: int, output and state units (required).
        context_decay: float in [0, 1), self-connection of the state units.
        activation, output_activation, use_bias, initializers, regularizers,
            constraints, seed: passed to `JordanCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the state units `(batch, output_units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, output_units)` or `(batch, timesteps, output_units)`;
    with `return_state=True` the final state `(batch, output_units)` follows.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(Jordan(16, output_units=2, context_decay=0.5)(x).shape)
    (4, 2)

    Reference:
        Jordan, M. I. (1986). Serial order: a parallel distributed processing
        approach. ICS Report 8604, UC San Diego.
    """

    cell_class = JordanCell
