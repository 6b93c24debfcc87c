"""Independently recurrent neural network (IndRNN): element-wise recurrent weights."""

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
class RecurrentMaxAbs(keras.constraints.Constraint):
    """Clips every weight into `[-max_value, max_value]`.

    IndRNN uses it with `max_value = 2 ** (1 / T)` so that a ReLU unit's
    gradient over `T` steps can neither explode nor (with a matching lower
    initialisation) vanish.
    """

    def __init__(self, max_value):
        if isinstance(max_value, bool) or not isinstance(max_value, (int, float)) or max_value <= 0:
            raise ValueError(
                "Received an invalid value for argument `max_value` of "
                f"RecurrentMaxAbs, expected a positive number, got {max_value!r}."
            )
        self.max_value = float(max_value)

    def __call__(self, w):
        return ops.clip(w, -self.max_value, self.max_value)

    def get_config(self):
        return {"max_value": self.max_value}


@serializable
class IndRNNCell(ZooCell):
    """One step of an IndRNN.

    Each hidden unit has one recurrent weight (a vector `u`, not a matrix),
    so units are independent in time and only mix across layers:

        h_t = activation(x_t W + u * h_{t-1} + b)

    Args:
        units: int, hidden units.
        activation: default `"relu"` (the paper's choice).
        max_timesteps: optional int `T`; when given, the recurrent weights are
            constrained to `|u| <= 2 ** (1 / T)` (Li et al. 2018, section 3.1)
            and initialised uniformly in `[0, 2 ** (1 / T)]`.
        recurrent_initializer: default uniform in `[0, 1]` (or as above).
        use_bias, kernel_initializer, bias_initializer, *_regularizer,
            *_constraint, seed: as in `keras.layers.SimpleRNNCell`. An explicit
            `recurrent_constraint` replaces the `max_timesteps` clip.

    State: `[h]` with shape `(batch, units)`.
    """

    default_activation = "relu"

    def __init__(self, units, max_timesteps=None, **kwargs):
        owner = "IndRNNCell"
        self.max_timesteps = check_positive_int(
            owner, "max_timesteps", max_timesteps, allow_none=True
        )
        bound = 1.0 if max_timesteps is None else 2.0 ** (1.0 / max_timesteps)
        if kwargs.get("recurrent_initializer") is None:
            kwargs["recurrent_initializer"] = keras.initializers.RandomUniform(0.0, bound)
        if max_timesteps is not None and kwargs.get("recurrent_constraint") is None:
            kwargs["recurrent_constraint"] = RecurrentMaxAbs(bound)
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight("recurrent_kernel", (self.units,), "recurrent")
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None

    def loop_constants(self):
        return self.read_weights("kernel", "recurrent_kernel", "bias")

    per_example_constants = ("recurrent_kernel",)  # a vector that scales the state

    def call(self, inputs, states, training=False):
        weights = self.step_constants()
        pre = input_drive(inputs, weights["kernel"], weights.get("bias"))
        pre = pre + weights["recurrent_kernel"] * states[0]
        hidden = self.activation(pre)
        return hidden, [hidden]

    def get_config(self):
        config = super().get_config()
        config["max_timesteps"] = self.max_timesteps
        return config


@zoo_layer("indrnn")
class IndRNN(ZooRNN):
    """Independently recurrent layer (IndRNN), ReLU-friendly and able to run long.

    Args:
        units: int, hidden units.
        max_timesteps: optional int `T`, clips recurrent weights to
            `|u| <= 2 ** (1 / T)`.
        activation (default `"relu"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `IndRNNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with `h` `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; the final
    state `(batch, units)` follows with `return_state=True`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 100, 2), "float32")
    >>> tuple(IndRNN(32, max_timesteps=100, return_sequences=True)(x).shape)
    (4, 100, 32)

    Reference:
        Li, S., Li, W., Cook, C., Zhu, C. & Gao, Y. (2018). Independently
        recurrent neural network (IndRNN): building a longer and deeper RNN.
        CVPR 2018.
    """

    cell_class = IndRNNCell
