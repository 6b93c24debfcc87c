"""The LSTM family: Keras' own LSTM in the zoo, peephole LSTM, layer-normalised LSTM.

`LSTM` is `keras.layers.LSTM` with the zoo's early input checks and seeded
initializers (it keeps Keras' fused and cuDNN paths). `PeepholeLSTM` and
`LayerNormLSTM` are zoo cells on the shared gate layout of Keras' LSTM
(one `kernel` (features, 4 units), one `recurrent_kernel` (units, 4 units) and
one `bias` (4 units), gates in the order i, f, c, o), so weights move between
the three layers unchanged.
"""

import keras
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_positive_int,
    input_drive,
    serializable,
    unrolled_if_one_step,
    zoo_layer,
)

# Initializer arguments of Keras' LSTM and GRU, with their Keras defaults.
_KERAS_INITIALIZERS = (
    ("kernel_initializer", "glorot_uniform"),
    ("recurrent_initializer", "orthogonal"),
    ("bias_initializer", "zeros"),
)


def _seeded(initializer, seed, offset):
    """A copy of `initializer` seeded with `seed * 1000 + offset` (as ZooCell does)."""
    get_config = getattr(initializer, "get_config", None)
    if seed is None or get_config is None or "seed" not in get_config():
        return initializer
    config = get_config()
    config["seed"] = seed * 1000 + offset
    return initializer.__class__.from_config(config)


class KerasRecurrentMixin:
    """Brings a Keras built-in recurrent layer (LSTM, GRU) under the zoo contract.

    Put it before the Keras class: `class LSTM(KerasRecurrentMixin,
    keras.layers.LSTM)`. It adds what the zoo promises and Keras lacks:

    - `seed` also seeds the weight initializers (Keras uses it for dropout
      only), so two layers with the same seed start with identical weights;
      the config keeps the initializers as the user gave them.
    - Bad input fails early with the same messages as `ZooRNN` (Keras'
      `InputSpec` would only check the rank); integer and boolean input is
      cast to the compute dtype, string input is refused.
    """

    def __init__(self, units, seed=None, **kwargs):
        owner = type(self).__name__
        check_positive_int(owner, "units", units)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"Received an invalid value for argument `seed` of {owner}, "
                f"expected an integer or None, got {seed!r}."
            )
        given = {}
        # A backward copy (Bidirectional) must not start identical to the forward one.
        stream = 500 if kwargs.get("go_backwards", False) else 0
        for offset, (argument, default) in enumerate(_KERAS_INITIALIZERS, start=1):
            initializer = keras.initializers.get(kwargs.get(argument, default))
            # Kept as objects, serialized in get_config: a config made here,
            # inside a load's object-sharing scope, could later be tagged with
            # a spurious `shared_object_id` when Python reuses the address of
            # this temporary initializer.
            given[argument] = initializer
            kwargs[argument] = _seeded(initializer, seed, stream + offset)
        super().__init__(units, seed=seed, **kwargs)
        self._given_initializers = given
        # The zoo checks the full shape itself, with clearer messages.
        self.input_spec = None
        self.cell.input_dim = None

    # Shared with every ZooRNN, so the messages cannot drift apart.
    _check_sequences = ZooRNN._check_sequences

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_sequences(sequences_shape)
        super().build(sequences_shape, initial_state_shape)
        self.cell.input_dim = int(sequences_shape[-1])

    _checked_sequences = ZooRNN._checked_sequences

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(
            self._checked_sequences(sequences),
            initial_state=initial_state,
            mask=mask,
            training=training,
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # One step (an autoregressive roll-out's): no `while` loop, as in `ZooRNN`.
        with unrolled_if_one_step(self, sequences):
            return super().inner_loop(sequences, initial_state, mask, training=training)

    def get_config(self):
        config = super().get_config()
        for argument, initializer in self._given_initializers.items():
            config[argument] = keras.initializers.serialize(initializer)
        return config


@zoo_layer("lstm")
class LSTM(KerasRecurrentMixin, keras.layers.LSTM):
    """Long short-term memory layer: `keras.layers.LSTM`, available in the zoo.

    Identical numbers and weights to `keras.layers.LSTM` (and its fused/cuDNN
    paths); the zoo adds early input validation with clear messages and a
    `seed` that also seeds the initializers. Serialized as `rnnzoo>LSTM`.

    Equations (gates in the order i, f, c, o of the `kernel`, `recurrent_kernel`
    and `bias` columns):

        i_t = sigma(x_t W_i + h_{t-1} U_i + b_i)
        f_t = sigma(x_t W_f + h_{t-1} U_f + b_f)
        g_t = tanh(x_t W_c + h_{t-1} U_c + b_c)
        o_t = sigma(x_t W_o + h_{t-1} U_o + b_o)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    Args:
        units: int, hidden units.
        activation: default `"tanh"` (for `g_t` and the output).
        recurrent_activation: default `"sigmoid"` (the gates).
        unit_forget_bias: bool, default `True`: the forget bias starts at 1.
        seed: optional int; seeds the initializers and the dropout.
        use_bias, *_initializer, *_regularizer, *_constraint, dropout,
            recurrent_dropout, return_sequences, return_state, go_backwards,
            stateful, unroll, use_cudnn: exactly as in `keras.layers.LSTM`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h, c]`, each `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool (dropout).

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final `h` and `c` follow, each `(batch, units)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(LSTM(8, seed=1)(x).shape)
    (4, 8)
    >>> y, h, c = LSTM(8, return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(h.shape), tuple(c.shape)
    ((4, 10, 8), (4, 8), (4, 8))

    Reference:
        Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory.
        Neural Computation 9(8). Forget gate: Gers, F. A., Schmidhuber, J. &
        Cummins, F. (2000). Learning to forget: continual prediction with
        LSTM. Neural Computation 12(10).
    """


class _GatedCell(ZooCell):
    """What the zoo's LSTM cells share: Keras' gate layout and its arguments.

    Weights `kernel` (features, 4 units), `recurrent_kernel` (units, 4 units)
    and `bias` (4 units), gate columns in the order i, f, c, o as in
    `keras.layers.LSTMCell`. State `[h, c]`, each `(batch, units)`.
    """

    default_activation = "tanh"

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        gates = 4 * self.units
        self.kernel = self.add_role_weight("kernel", (self.input_dim, gates), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, gates), "recurrent"
        )
        self.bias = None
        if self.use_bias:
            base, u = self._seeded(self.initializers["bias"]), self.units

            def forget_bias_one(shape, dtype=None):
                # Gers et al. (2000): start by remembering, so early gradients flow.
                ones = ops.ones((u,), dtype=dtype)
                return ops.concatenate([base((u,), dtype), ones, base((2 * u,), dtype)])

            self.bias = self.add_weight(
                shape=(gates,),
                name="bias",
                initializer=forget_bias_one if self.unit_forget_bias else base,
                regularizer=self.regularizers["bias"],
                constraint=self.constraints["bias"],
            )

    def gate_inputs(self, inputs, h_prev, weights):
        """The gate pre-activations `x W + h U + b`, split into i, f, c, o."""
        # Product, bias, then the recurrent product (see `input_drive`): this
        # order served the peephole LSTM about 5% faster.
        z = input_drive(inputs, weights["kernel"], weights.get("bias"))
        z = z + ops.matmul(h_prev, weights["recurrent_kernel"])
        return ops.split(z, 4, axis=-1)

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = keras.activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@serializable
class PeepholeLSTMCell(_GatedCell):
    """One step of an LSTM with peephole connections.

    The gates also look at the cell state through diagonal (element-wise)
    peephole weights: the input and forget gates see the previous cell state,
    the output gate sees the new one.

        i_t = sigma(x_t W_i + h_{t-1} U_i + p_i * c_{t-1} + b_i)
        f_t = sigma(x_t W_f + h_{t-1} U_f + p_f * c_{t-1} + b_f)
        c_t = f_t * c_{t-1} + i_t * tanh(x_t W_c + h_{t-1} U_c + b_c)
        o_t = sigma(x_t W_o + h_{t-1} U_o + p_o * c_t + b_o)
        h_t = o_t * tanh(c_t)

    With `p_i = p_f = p_o = 0` this is exactly `keras.layers.LSTMCell`.

    Args:
        units: int, hidden units.
        activation: default `"tanh"`; recurrent_activation: default `"sigmoid"`.
        unit_forget_bias: bool, default `True` (forget bias starts at 1).
        peephole_initializer: initializer of `p_i`, `p_f`, `p_o` (each
            `(units,)`), default `"glorot_uniform"`.
        peephole_regularizer, peephole_constraint: optional, default `None`.
        use_bias, kernel/recurrent/bias initializers, regularizers,
            constraints, seed: as in `keras.layers.LSTMCell` (seed also seeds
            the initializers).

    State: `[h, c]`, each `(batch, units)`.
    """

    def __init__(
        self,
        units,
        peephole_initializer="glorot_uniform",
        peephole_regularizer=None,
        peephole_constraint=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.peephole_regularizer = keras.regularizers.get(peephole_regularizer)
        self.peephole_constraint = keras.constraints.get(peephole_constraint)

    def build(self, input_shape):
        super().build(input_shape)
        for gate in ("input", "forget", "output"):
            weight = self.add_weight(
                shape=(self.units,),
                name=f"{gate}_peephole",
                initializer=self._seeded(self.peephole_initializer),
                regularizer=self.peephole_regularizer,
                constraint=self.peephole_constraint,
            )
            setattr(self, f"{gate}_peephole", weight)

    def loop_constants(self):
        return self.read_weights("kernel", "recurrent_kernel", "bias", "input_peephole",
                                 "forget_peephole", "output_peephole")

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states
        weights = self.step_constants()
        z_i, z_f, z_c, z_o = self.gate_inputs(inputs, h_prev, weights)
        i = self.recurrent_activation(z_i + weights["input_peephole"] * c_prev)
        f = self.recurrent_activation(z_f + weights["forget_peephole"] * c_prev)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + weights["output_peephole"] * c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["peephole_initializer"] = keras.initializers.serialize(self.peephole_initializer)
        config["peephole_regularizer"] = keras.regularizers.serialize(self.peephole_regularizer)
        config["peephole_constraint"] = keras.constraints.serialize(self.peephole_constraint)
        return config


@zoo_layer("peephole_lstm")
class PeepholeLSTM(ZooRNN):
    """LSTM layer with peephole connections from the cell state to the gates.

    Peepholes let the gates read the cell state itself (not only its squashed
    copy `h`), which Gers & Schmidhuber introduced so that LSTM can learn
    precise timing and counting. Equations in `PeepholeLSTMCell`; the weights
    `kernel`, `recurrent_kernel`, `bias` have the layout of `keras.layers.LSTM`,
    plus `input_peephole`, `forget_peephole`, `output_peephole` `(units,)`.

    Args:
        units: int, hidden units.
        activation (default `"tanh"`), recurrent_activation (default
            `"sigmoid"`), unit_forget_bias (default `True`),
            peephole_initializer (default `"glorot_uniform"`),
            peephole_regularizer, peephole_constraint, use_bias,
            initializers, regularizers, constraints, seed: passed to
            `PeepholeLSTMCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h, c]`, each `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final `h` and `c` follow, each `(batch, units)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> y, h, c = PeepholeLSTM(8, return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(h.shape), tuple(c.shape)
    ((4, 10, 8), (4, 8), (4, 8))

    Reference:
        Gers, F. A. & Schmidhuber, J. (2000). Recurrent nets that time and
        count. IJCNN 2000. Also Gers, F. A., Schraudolph, N. N. &
        Schmidhuber, J. (2002). Learning precise timing with LSTM recurrent
        networks. JMLR 3.
    """

    cell_class = PeepholeLSTMCell


def _normalized(values, gamma, epsilon, center):
    """`gamma * (v - mean(v)) / sqrt(var(v) + epsilon)` over the last axis of `v`.

    With `center=False` the mean is taken as 0 (for values centred already:
    `var(v)` is then the mean square). The gradient is written out by hand:
    with `r = 1 / sqrt(var(v) + epsilon)`, `v_hat = (v - mean) * r` and
    `G = upstream * gamma`,

        dv = r * (G - mean(G) - v_hat * mean(G * v_hat)),  dgamma = sum(upstream * v_hat)

    (no `mean(G)` term without centring). Automatic differentiation of the
    same forward pass makes more element-wise passes over the `(batch,
    4 units)` pre-activations at every time step (a `Tile` for the mean, the
    broadcasts' and the square's gradients one by one); the hand-written
    form trains the layer-normalised LSTM about 5% faster
    (`benchmarks/README.md`).
    """

    @ops.custom_gradient
    def forward(values, gamma):
        if center:
            values = values - ops.mean(values, axis=-1, keepdims=True)
        inverse_std = ops.rsqrt(ops.mean(ops.square(values), axis=-1, keepdims=True) + epsilon)
        standardized = values * inverse_std

        def backward(*args, upstream=None):
            # Keras passes the upstream gradient positionally on TensorFlow
            # and by keyword on JAX.
            upstream = args[0] if upstream is None else upstream
            leading = tuple(range(len(upstream.shape) - 1))
            d_gamma = ops.sum(upstream * standardized, axis=leading)
            g = upstream * gamma
            g_centered = g - ops.mean(g, axis=-1, keepdims=True) if center else g
            correlation = ops.mean(g * standardized, axis=-1, keepdims=True)
            return inverse_std * (g_centered - standardized * correlation), d_gamma

        return standardized * gamma, backward

    return forward(values, gamma)


@serializable
class LayerNormLSTMCell(_GatedCell):
    """One step of a layer-normalised LSTM.

    Layer normalisation `LN(v; gamma, beta) = gamma * (v - mean(v)) /
    sqrt(var(v) + epsilon) + beta`, with the mean and variance taken over the
    features of `v` for each example separately, is applied to the input
    pre-activations and the recurrent pre-activations (separately, each over
    all four gates together, as in Ba et al., eq. 20) and to the cell state
    before the output squashing:

        z_t = LN(x_t W; gamma_x) + LN(h_{t-1} U; gamma_h) + b   -> (z_i, z_f, z_c, z_o)
        c_t = sigma(z_f) * c_{t-1} + sigma(z_i) * tanh(z_c)
        h_t = sigma(z_o) * tanh(LN(c_t; gamma_c, beta_c))

    The shifts of the two pre-activation normalisations would only add to
    `b`, so they are folded into it (`b` keeps Keras' unit forget bias).

    Args:
        units: int, hidden units.
        epsilon: float > 0 added to the variance, default `1e-3` (the default
            of `keras.layers.LayerNormalization`).
        activation: default `"tanh"`; recurrent_activation: default `"sigmoid"`.
        unit_forget_bias: bool, default `True` (forget bias starts at 1).
        use_bias, kernel/recurrent/bias initializers, regularizers,
            constraints, seed: as in `keras.layers.LSTMCell` (seed also seeds
            the initializers). The gains start at 1 and `beta_c` at 0.

    State: `[h, c]`, each `(batch, units)`; `c` is kept unnormalised.
    """

    def __init__(self, units, epsilon=1e-3, **kwargs):
        super().__init__(units, **kwargs)
        ok = isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and epsilon > 0
        if not ok:
            raise ValueError(
                "Received an invalid value for argument `epsilon` of "
                f"{type(self).__name__}, expected a positive float, got {epsilon!r}."
            )
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        super().build(input_shape)
        gates = 4 * self.units
        for name, size, initializer in (
            ("input_gamma", gates, "ones"),
            ("recurrent_gamma", gates, "ones"),
            ("cell_gamma", self.units, "ones"),
            ("cell_beta", self.units, "zeros"),
        ):
            setattr(self, name, self.add_weight(shape=(size,), name=name, initializer=initializer))

    def loop_constants(self):
        # The mean of x W over its columns is x (W 1 / n) for n = 4 units, so
        # x W - mean = x (W - row means of W): kernels centred once per layer
        # call make the products come out centred, and a step skips two means
        # and two subtractions (the same numbers up to rounding).
        kernel = self.center(self.kernel)
        return {
            **self.read_weights("recurrent_gamma", "bias", "cell_gamma", "cell_beta"),
            # The mean square of x W_c over its columns is x (W_c W_c' / n) x':
            # a (features, features) quadratic form. So the input side never
            # forms x W_c unscaled: x is divided by the standard deviation
            # first, and the gain is folded into the kernel (LN(x W; g) =
            # (x / std) (W_c diag g)), sparing three (batch, 4 units) passes.
            "kernel": kernel * self.input_gamma,
            "input_gram": ops.matmul(kernel, ops.transpose(kernel)) / (4 * self.units),
            "recurrent_kernel": self.center(self.recurrent_kernel),
        }

    # The input scale needs `x` alone: a `ZooRNN` scales the whole sequence
    # before its loop (`ZooCell.prepares_inputs`), which spares a step seven
    # small ops and their gradients.
    prepares_inputs = True

    def prepare_inputs(self, inputs):
        """`x / std(x W)` per example, any leading axes (the input side of the normalisation)."""
        return inputs * self.input_scale(inputs, self.step_constants()["input_gram"])

    def center(self, values):
        """`values` minus its mean over the last axis."""
        return values - ops.mean(values, axis=-1, keepdims=True)

    def input_scale(self, inputs, gram):
        """`1 / sqrt(var(x W) + epsilon)` per example, from `gram = W_c W_c' / n`."""
        variance = ops.sum(ops.matmul(inputs, gram) * inputs, axis=-1, keepdims=True)
        # Never below 0 (rounding could take a near-zero quadratic form there);
        # `relu` costs one node each way in the loop, `maximum` several.
        return ops.rsqrt(ops.relu(variance) + self.epsilon)

    def scale(self, centered, gamma):
        """Divides already centred `centered` by its standard deviation, times `gamma`."""
        return _normalized(centered, gamma, self.epsilon, center=False)

    def normalize(self, values, gamma, beta=None):
        """Layer normalisation of `values` over its last axis, then gain and shift."""
        normalized = _normalized(values, gamma, self.epsilon, center=True)
        return normalized if beta is None else normalized + beta

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states
        constants = self.step_constants()
        # Input product, bias, then the recurrent term (see `input_drive`).
        z = input_drive(self.step_inputs(inputs), constants["kernel"], constants.get("bias"))
        z = z + self.scale(ops.matmul(h_prev, constants["recurrent_kernel"]),
                           constants["recurrent_gamma"])
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(self.normalize(c, constants["cell_gamma"], constants["cell_beta"]))
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config


@zoo_layer("layer_norm_lstm")
class LayerNormLSTM(ZooRNN):
    """Layer-normalised LSTM layer.

    Layer normalisation of the input and recurrent pre-activations and of the
    cell state (before the output tanh) keeps the gate statistics steady
    across time steps, which speeds up and stabilises training (Ba et al.).
    Equations and details in `LayerNormLSTMCell`; weights `kernel`,
    `recurrent_kernel`, `bias` have the layout of `keras.layers.LSTM`, plus
    the gains `input_gamma`, `recurrent_gamma` `(4 units,)`, `cell_gamma` and
    the shift `cell_beta` `(units,)`.

    Cost: on CPU, without XLA, a step costs about 1.2x Keras' LSTM of the
    same size to serve and 1.3x to train; the normalisations are the whole
    difference (`benchmarks/component_cost.py`, `benchmarks/README.md`).

    Args:
        units: int, hidden units.
        epsilon: float > 0, default `1e-3`.
        activation (default `"tanh"`), recurrent_activation (default
            `"sigmoid"`), unit_forget_bias (default `True`), use_bias,
            initializers, regularizers, constraints, seed: passed to
            `LayerNormLSTMCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h, c]`, each `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final `h` and `c` follow, each `(batch, units)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(LayerNormLSTM(8, return_sequences=True)(x).shape)
    (4, 10, 8)

    Reference:
        Ba, J. L., Kiros, J. R. & Hinton, G. E. (2016). Layer normalization.
        arXiv:1607.06450 (section 3.1 and eqs. 20-22 for the LSTM).
    """

    cell_class = LayerNormLSTMCell
