"""Fully recurrent network: every unit, output units included, feeds every unit."""

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
class FullyRecurrentCell(ZooCell):
    """One step of a fully recurrent network (Williams & Zipser 1989).

    All `units` units receive every input and every unit's previous value;
    the first `output_units` of them are the visible outputs, the rest are
    hidden. Unlike an Elman network, the outputs are recurrent units themselves.

        a_t = activation(x_t W + a_{t-1} U + b)        (all units)
        y_t = a_t[:, :output_units]

    Args:
        units: int, total number of units (visible and hidden).
        output_units: optional int <= units, visible units. Default: all units.
        activation: default `"tanh"` (the paper used the logistic function;
            pass `activation="sigmoid"` to match it).
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`.

    State: `[a]` with shape `(batch, units)`.
    """

    def __init__(self, units, output_units=None, **kwargs):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        output_units = check_positive_int(owner, "output_units", output_units, allow_none=True)
        if output_units is not None and output_units > self.units:
            raise ValueError(
                f"Received an invalid value for argument `output_units` of {owner}, "
                f"expected at most units={self.units}, got {output_units}."
            )
        self.output_units = output_units
        self.state_size = self.units
        self.output_size = output_units or self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None

    def call(self, inputs, states, training=False):
        pre = input_drive(inputs, self.kernel, self.bias) + ops.matmul(
            states[0], self.recurrent_kernel
        )
        units = self.activation(pre)
        output = units if self.output_units is None else units[:, : self.output_units]
        return output, [units]

    def get_config(self):
        config = super().get_config()
        config["output_units"] = self.output_units
        return config


@zoo_layer("fully_recurrent")
class FullyRecurrent(ZooRNN):
    """Fully recurrent network layer (all-to-all recurrence, outputs included).

    Args:
        units: int, total units.
        output_units: optional int, how many units are visible outputs.
        activation, use_bias, initializers, regularizers, constraints, seed:
            passed to `FullyRecurrentCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with all unit values `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, output_units or units)` (or per step with
    `return_sequences=True`); the final state `(batch, units)` follows with
    `return_state=True`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(FullyRecurrent(12, output_units=2, return_sequences=True)(x).shape)
    (4, 10, 2)

    Reference:
        Williams, R. J. & Zipser, D. (1989). A learning algorithm for
        continually running fully recurrent neural networks. Neural
        Computation 1(2).
    """

    cell_class = FullyRecurrentCell
