"""Echo state network: a fixed random leaky-integrator reservoir.

The reservoir's input, recurrent and bias weights are drawn once and never
trained; they are non-trainable weights, so they are saved, loaded and
exported with the model. Only a readout on top of the states is fitted, in
closed form by `rnnzoo.training.fit_ridge_readout` or by gradient like any
Keras layer.
"""

import keras
from keras import ops

from rnnzoo.initializers import SparseRandom, SpectralRadius
from rnnzoo.layers.base import ZooCell, ZooRNN, input_drive, serializable, zoo_layer

# Which vocabulary arguments an explicit initializer replaces.
_REPLACED_BY = {
    "kernel": ("input_scaling", "input_connectivity"),
    "recurrent": ("spectral_radius", "connectivity"),
    "bias": ("bias_scaling",),
}
_DEFAULTS = {
    "leak_rate": 1.0,
    "spectral_radius": 0.9,
    "input_scaling": 1.0,
    "connectivity": 0.1,
    "input_connectivity": 1.0,
    "bias_scaling": 1.0,
}


def _check_number(owner, argument, value, low, high, low_open, expected):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, expected "
            f"{expected}, got {value!r}."
        )
    return float(value)


@serializable
class ESNCell(ZooCell):
    """One step of a leaky-integrator echo state network (the reservoir).

    Equations, for input `u_t` and reservoir state `x_t` (`x_0 = 0`):

        x~_t = activation(u_t W_in + x_{t-1} W + b)
        x_t  = (1 - leak_rate) * x_{t-1} + leak_rate * x~_t

    The output is the state `x_t`. The weights are fixed at build time:

    - `W_in` (input_dim, units): a fraction `input_connectivity` of entries
      non-zero, drawn from U(-input_scaling, input_scaling);
    - `W` (units, units): a fraction `connectivity` non-zero, drawn from
      U(-1, 1) and rescaled so its spectral radius (largest absolute
      eigenvalue, computed in float64) equals `spectral_radius`;
    - `b` (units,): U(-bias_scaling, bias_scaling).

    All three are non-trainable weights.

    Args:
        units: int, the number of reservoir units.
        leak_rate: float in (0, 1], the leak rate `a`; 1 (default) gives the
            plain, non-leaky ESN.
        spectral_radius: positive float, the spectral radius of `W`.
            Default 0.9. (Values near or below 1 give the echo state property
            for most inputs; with a leak rate below 1 the effective radius of
            the linearised update is that of `(1 - a) I + a W`.)
        input_scaling: positive float, the half-width of the input weights'
            distribution. Default 1.0.
        connectivity: float in (0, 1], the fraction of non-zero recurrent
            weights. Default 0.1.
        input_connectivity: float in (0, 1], the fraction of non-zero input
            weights. Default 1.0 (dense).
        bias_scaling: non-negative float, the half-width of the bias
            distribution. Default 1.0; 0 gives a zero bias.
        activation: the reservoir nonlinearity `f`. Default `"tanh"`.
        use_bias: bool, whether the reservoir has the bias `b`. Default True.
        kernel_initializer, recurrent_initializer, bias_initializer: optional
            initializers replacing the default draws of `W_in`, `W` and `b`
            (for example a published reservoir's distribution). An explicit
            initializer is used as given, so the arguments it replaces
            (`input_scaling`/`input_connectivity`, `spectral_radius`/
            `connectivity`, `bias_scaling`) must keep their defaults.
        seed: optional int; the same seed draws the same reservoir.

    Regularizers and constraints are refused: they act on trainable weights
    only, and a reservoir has none.

    State: `[x]` with shape `(batch, units)`.
    """

    def __init__(
        self,
        units,
        leak_rate=1.0,
        spectral_radius=0.9,
        input_scaling=1.0,
        connectivity=0.1,
        input_connectivity=1.0,
        bias_scaling=1.0,
        kernel_initializer=None,
        recurrent_initializer=None,
        bias_initializer=None,
        **kwargs,
    ):
        owner = type(self).__name__
        for key, value in list(kwargs.items()):
            if key.endswith(("_regularizer", "_constraint")) and value is not None:
                raise ValueError(
                    f"Received an invalid value for argument `{key}` of {owner}: the "
                    "reservoir weights are fixed (non-trainable), so regularizers and "
                    f"constraints do not apply; expected None, got {value!r}."
                )
        self.leak_rate = _check_number(
            owner, "leak_rate", leak_rate, 0.0, 1.0, True, "a float in (0, 1]"
        )
        self.spectral_radius = _check_number(
            owner, "spectral_radius", spectral_radius, 0.0, None, True, "a positive float"
        )
        self.input_scaling = _check_number(
            owner, "input_scaling", input_scaling, 0.0, None, True, "a positive float"
        )
        self.connectivity = _check_number(
            owner, "connectivity", connectivity, 0.0, 1.0, True, "a float in (0, 1]"
        )
        self.input_connectivity = _check_number(
            owner, "input_connectivity", input_connectivity, 0.0, 1.0, True,
            "a float in (0, 1]",
        )
        self.bias_scaling = _check_number(
            owner, "bias_scaling", bias_scaling, 0.0, None, False, "a non-negative float"
        )
        explicit = {
            "kernel": kernel_initializer,
            "recurrent": recurrent_initializer,
            "bias": bias_initializer,
        }
        for role, initializer in explicit.items():
            if initializer is None:
                continue
            for argument in _REPLACED_BY[role]:
                if getattr(self, argument) != _DEFAULTS[argument]:
                    raise ValueError(
                        f"Received both `{role}_initializer` and `{argument}` for {owner}; "
                        f"an explicit `{role}_initializer` defines the weights itself, so "
                        f"`{argument}` must keep its default {_DEFAULTS[argument]!r}, got "
                        f"{getattr(self, argument)!r}."
                    )
        self._explicit = {role: value is not None for role, value in explicit.items()}
        if self.bias_scaling > 0:
            default_bias = keras.initializers.RandomUniform(-self.bias_scaling, self.bias_scaling)
        else:
            default_bias = keras.initializers.Zeros()
        super().__init__(
            units,
            kernel_initializer=kernel_initializer
            or SparseRandom(self.input_connectivity, "uniform", self.input_scaling),
            recurrent_initializer=recurrent_initializer
            or SpectralRadius(self.spectral_radius, self.connectivity, "uniform"),
            bias_initializer=bias_initializer or default_bias,
            **kwargs,
        )
        self.state_size = self.units
        self.output_size = self.units

    def _fixed_weight(self, name, shape, role):
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=self._seeded(self.initializers[role]),
            trainable=False,
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self._fixed_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self._fixed_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self._fixed_weight("bias", (self.units,), "bias") if self.use_bias else None

    def call(self, inputs, states, training=False):
        previous = states[0]
        pre = input_drive(inputs, self.kernel, self.bias) + ops.matmul(
            previous, self.recurrent_kernel
        )
        update = self.activation(pre)
        if self.leak_rate == 1.0:
            state = update
        else:
            state = (1.0 - self.leak_rate) * previous + self.leak_rate * update
        return state, [state]

    def get_config(self):
        config = super().get_config()
        for argument in _DEFAULTS:
            config[argument] = getattr(self, argument)
        # Default draws are rebuilt from the vocabulary arguments; only an
        # explicit initializer is part of the config.
        for role, explicit in self._explicit.items():
            if not explicit:
                config[f"{role}_initializer"] = None
        return config


@zoo_layer("esn")
class ESN(ZooRNN):
    """Echo state network layer: a fixed random reservoir returning its states.

    Feeds a sequence through a leaky-integrator reservoir whose weights are
    drawn once (see `ESNCell` for the update equations and every argument)
    and are non-trainable. Add a readout (a `keras.layers.Dense`) on top and
    fit it with `rnnzoo.training.fit_ridge_readout` (closed form) or `fit`.

    Args:
        units: int, reservoir size.
        leak_rate: float in (0, 1], default 1.0.
        spectral_radius: positive float, default 0.9.
        input_scaling: positive float, default 1.0.
        connectivity: float in (0, 1], recurrent density, default 0.1.
        input_connectivity: float in (0, 1], input density, default 1.0.
        bias_scaling: non-negative float, default 1.0.
        activation (default `"tanh"`), use_bias (default True),
            kernel_initializer, recurrent_initializer, bias_initializer,
            seed: passed to `ESNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the state `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state (and, by default, repeat the previous output).
        training: bool (the reservoir behaves the same either way).

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; the final state `(batch, units)` follows with
    `return_state=True`.

    Update equations (`a` = leak_rate, `f` = activation):

        x_t = (1 - a) * x_{t-1} + a * f(u_t W_in + x_{t-1} W + b)

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> esn = ESN(50, leak_rate=0.3, spectral_radius=0.9, seed=0, return_sequences=True)
    >>> tuple(esn(x).shape)
    (4, 10, 50)
    >>> len(esn.trainable_weights), len(esn.non_trainable_weights)
    (0, 3)

    Reference:
        Jaeger, H. (2001). The "echo state" approach to analysing and training
        recurrent neural networks. GMD Report 148, German National Research
        Center for Information Technology.
        Jaeger, H., Lukosevicius, M., Popovici, D. & Siewert, U. (2007).
        Optimization and applications of echo state networks with
        leaky-integrator neurons. Neural Networks 20(3).
    """

    cell_class = ESNCell

    @property
    def leak_rate(self):
        return self.cell.leak_rate

    @property
    def spectral_radius(self):
        return self.cell.spectral_radius

    @property
    def input_scaling(self):
        return self.cell.input_scaling

    @property
    def connectivity(self):
        return self.cell.connectivity

    @property
    def input_connectivity(self):
        return self.cell.input_connectivity

    @property
    def bias_scaling(self):
        return self.cell.bias_scaling
