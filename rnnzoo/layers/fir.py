"""Finite-impulse-response (FIR) network: a time-delay layer over a tapped delay line."""

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
class FIRCell(ZooCell):
    """One step of a finite-impulse-response (time-delay) layer.

    The state is a tapped delay line holding the previous `D = delays`
    inputs, oldest first, carried flat. Each step reads the window of the
    current and the `D` previous inputs through one weight matrix per tap:

        y_t = activation(sum_{k=0..D} x_{t-k} W_k + b)
        line_t = [x_{t-D+1}, ..., x_t]

    with `x_s = 0` before the first step. Outputs are never fed back, so
    the impulse response is finite: `y_t` no longer depends on `x_s` once
    `t > s + D`.

    The kernel has shape `(D + 1, features, units)` ordered oldest tap first
    (`kernel[j]` is `W_{D-j}`), exactly a causal `keras.layers.Conv1D`
    kernel; see `FIR.to_conv1d`.

    Args:
        units: int, output units.
        delays: int, the number of past inputs each output sees (`D >= 1`);
            the window spans `D + 1` steps. Default 2 (Waibel's first TDNN
            layer: a window of three frames).
        activation: default `"tanh"`.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, kernel_constraint, bias_constraint, seed: as in
            `keras.layers.Conv1D`. There are no recurrent weights.

    State: `[line]` with shape `(batch, delays * features)`, known once the
    cell is built (the state holds inputs, so its size follows the input).
    """

    def __init__(
        self,
        units,
        delays=2,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        recurrent = sorted(key for key in kwargs if key.startswith("recurrent_"))
        if recurrent:
            raise ValueError(
                f"Received an invalid argument `{recurrent[0]}` for "
                f"{type(self).__name__}: an FIR layer has no recurrent weights "
                "(its state is a delay line of past inputs)."
            )
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            seed=seed,
            **kwargs,
        )
        owner = type(self).__name__
        self.delays = check_positive_int(owner, "delays", delays)
        self.output_size = self.units

    @property
    def state_size(self):
        # `keras.layers.RNN` reads the size when constructed, before the
        # feature size is known; `FIR.build` reads it again once built.
        return self.delays * (self.input_dim or 0)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight(
            "kernel", (self.delays + 1, self.input_dim, self.units), "kernel"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None

    def call(self, inputs, states, training=False):
        window = ops.concatenate([states[0], inputs], axis=-1)
        kernel = ops.reshape(self.kernel, ((self.delays + 1) * self.input_dim, self.units))
        output = input_drive(window, kernel, self.bias)
        return self.activation(output), [window[:, self.input_dim :]]

    def get_config(self):
        config = super().get_config()
        for key in [k for k in config if k.startswith("recurrent_")]:
            del config[key]
        config["delays"] = self.delays
        return config


@zoo_layer("fir")
class FIR(ZooRNN):
    """Finite-impulse-response network layer (a time-delay neural network layer).

    Each output unit is an FIR filter: a weighted sum of the current input
    and the `delays` previous ones, then the activation. The state is the
    delay line of past inputs, not past outputs, so an input stops affecting
    the output after `delays` steps, unlike an Elman network whose feedback
    keeps every input in play. Stack `FIR` layers (return_sequences=True) to
    build Waibel's TDNN or Wan's FIR multilayer network; the receptive
    fields add up.

    Unrolled, the layer is a feed-forward causal convolution: with a zero
    initial state, no mask and `go_backwards=False`,
    `FIR(u, delays=D, return_sequences=True)(x)` equals
    `Conv1D(u, D + 1, padding="causal")(x)` with the same kernel and bias;
    `to_conv1d()` returns that layer. The layer runs that way itself: without
    a mask it has no time loop (one convolution over the initial delay line
    and the input, over the last window only with `return_sequences=False`),
    several times faster than stepping; with a mask it steps
    through time, as a masked step holds the delay line still. Both give
    the same numbers as the cell stepped by `keras.layers.RNN`.

    Args:
        units: int, output units.
        delays: int >= 1, past inputs in the window. Default 2.
        activation (default `"tanh"`), use_bias, kernel and bias
            initializers, regularizers and constraints, seed: passed to
            `FIRCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the delay line
            `(batch, delays * features)`: the previous inputs, oldest first
            (for streaming, pass the last inputs of the previous chunk).
        mask: optional boolean `(batch, timesteps)`; masked steps do not
            enter the delay line.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final delay line `(batch, delays * features)`
    follows.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((4, 10, 3)).astype("float32")
    >>> fir = FIR(8, delays=2, return_sequences=True)
    >>> tuple(fir(x).shape), fir.cell.state_size
    ((4, 10, 8), 6)
    >>> conv = fir.to_conv1d()
    >>> float(np.max(np.abs(conv(x) - fir(x)))) < 1e-5
    True

    Reference:
        Waibel, A., Hanazawa, T., Hinton, G., Shikano, K. & Lang, K. (1989).
        Phoneme recognition using time-delay neural networks. IEEE Trans.
        ASSP 37(3), 328-339.
        Wan, E. A. (1990). Temporal backpropagation for FIR neural networks.
        IJCNN 1990, vol. 1, 575-580.
    """

    cell_class = FIRCell

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # Without a mask every step reads a full window, so the whole run is
        # one causal convolution over the delay line followed by the input:
        # no time loop at all. (A mask holds the line still at masked steps,
        # which only the step-wise loop does.)
        if mask is not None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        delays, features = cell.delays, cell.input_dim
        line = ops.reshape(initial_state[0], (ops.shape(sequences)[0], delays, features))
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        history = ops.concatenate([ops.cast(line, sequences.dtype), sequences], axis=1)
        final_line = ops.reshape(history[:, -delays:], (-1, delays * features))
        if not self.return_sequences:  # only the last window is needed
            history = history[:, -(delays + 1):]
        outputs = ops.conv(history, cell.kernel, padding="valid", data_format="channels_last")
        if cell.use_bias:
            outputs = ops.add(outputs, cell.bias)
        outputs = cell.activation(outputs)
        last_output = outputs[:, -1]
        return last_output, outputs, [final_line]

    @property
    def delays(self):
        return self.cell.delays

    def to_conv1d(self):
        """The equivalent feed-forward `keras.layers.Conv1D` (causal), built.

        Shares no variables with this layer: it holds copies of the current
        kernel and bias. Its output equals this layer's `return_sequences`
        output for a zero initial state, no mask and `go_backwards=False`.

        Raises:
            ValueError: if the layer is not built yet.
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' (FIR) must be built (called on data) "
                "before `to_conv1d()`; its kernel depends on the input features."
            )
        cell = self.cell
        conv = keras.layers.Conv1D(
            cell.units,
            cell.delays + 1,
            padding="causal",
            activation=cell.activation,
            use_bias=cell.use_bias,
            dtype=self.dtype_policy,
            name=f"{self.name}_conv1d",
        )
        conv.build((None, None, cell.input_dim))
        conv.set_weights(cell.get_weights())
        return conv
