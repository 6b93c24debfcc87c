"""Continuous-time recurrent networks: the CTRNN and the multiple-timescale RNN (MTRNN).

Both integrate the same leaky dynamics, `tau dx/dt = -x + sigma(x) W + input`.
The MTRNN is the CTRNN taken one Euler step of length 1 per input step, with
fixed time constants shared by groups of units and sparse connections between
the groups, which is why the two live in one family module.
"""

import math

import keras
import numpy as np
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_positive_int,
    input_drive,
    serializable,
    split_evenly,
    zoo_layer,
)

METHODS = ("euler", "rk4")
CONNECTIVITIES = ("adjacent", "full")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_positive_number(owner, argument, value):
    if not _is_number(value) or not value > 0 or not math.isfinite(value):
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, "
            f"expected a positive number, got {value!r}."
        )
    return float(value)


def _check_time_constant(owner, value):
    """A positive number, or a `(low, high)` range with `0 < low <= high`."""
    if _is_number(value):
        return _check_positive_number(owner, "time_constant", value)
    pair = tuple(value) if isinstance(value, (list, tuple)) else ()
    if (
        len(pair) != 2
        or not all(_is_number(v) and math.isfinite(v) for v in pair)
        or not 0 < pair[0] <= pair[1]
    ):
        raise ValueError(
            f"Received an invalid value for argument `time_constant` of {owner}, "
            "expected a positive number or a pair (low, high) with "
            f"0 < low <= high, got {value!r}."
        )
    return (float(pair[0]), float(pair[1]))


@serializable
class CTRNNCell(ZooCell):
    """One input step of a continuous-time recurrent neural network (CTRNN).

    The hidden potentials `x` follow, with the input `u` held constant over
    the step (zero-order hold),

        tau * dx/dt = -x + sigma(x) W + u W_in + b

    integrated over a duration `dt` in `integration_steps` equal sub-steps of
    `h = dt / integration_steps`, with `f(x) = (-x + sigma(x) W + u W_in + b) / tau`:

        euler:  x <- x + h f(x)
        rk4:    k1 = f(x), k2 = f(x + h k1 / 2), k3 = f(x + h k2 / 2),
                k4 = f(x + h k3),  x <- x + h (k1 + 2 k2 + 2 k3 + k4) / 6

    The output is the firing rate `y_t = sigma(x_t)`; the state is `x_t`.

    This is Beer's (1995) CTRNN, `tau dy/dt = -y + sum_j w_j sigma(y_j + theta_j) + I`,
    written for `x = y + theta` so that the bias sits outside the
    nonlinearity (the two forms are equivalent for constant `theta`); Beer's
    per-unit gain is fixed at 1 (fold it into `W_in`, `W` and `b`).

    Time constants are learnable and kept positive by storing their
    logarithm: `tau = exp(log_time_constant)`. Euler integration of the leak
    is stable only while `h < 2 tau`; raise `integration_steps` (or use
    `"rk4"`) when time constants may shrink below the step.

    Args:
        units: int, hidden units.
        time_constant: float, initial `tau` of every unit, or a pair
            `(low, high)` to draw each unit's `tau` log-uniformly in that
            range (seeded). Default 2.0.
        dt: float, the duration one input step covers. Default 1.0.
        integration_steps: int, sub-steps per input step. Default 1.
        method: `"euler"` (default) or `"rk4"`.
        activation: `sigma`, default `"tanh"` (Beer uses the logistic
            `"sigmoid"`).
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`; `W_in` is the kernel, `W` the
            recurrent kernel.

    State: `[x]` with shape `(batch, units)`.
    """

    def __init__(
        self,
        units,
        time_constant=2.0,
        dt=1.0,
        integration_steps=1,
        method="euler",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.time_constant = _check_time_constant(owner, time_constant)
        self.dt = _check_positive_number(owner, "dt", dt)
        self.integration_steps = check_positive_int(owner, "integration_steps", integration_steps)
        if method not in METHODS:
            raise ValueError(
                f"Received an invalid value for argument `method` of {owner}, "
                f"expected one of {METHODS}, got {method!r}."
            )
        self.method = method
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None
        if isinstance(self.time_constant, tuple):
            low, high = (math.log(v) for v in self.time_constant)
            initializer = keras.initializers.RandomUniform(low, high)
        else:
            initializer = keras.initializers.Constant(math.log(self.time_constant))
        self.log_time_constant = self.add_weight(
            shape=(self.units,),
            name="log_time_constant",
            initializer=self._seeded(initializer),
        )

    def loop_constants(self):
        # With r = 1/tau, f(x) = sigma(x) (W r) - r x + (u W_in + b) r: the
        # rates are folded into the kernels' columns once per layer call, so
        # the per-step work is Elman's plus the leak. For Euler, with the
        # sub-step h: x + h f(x) = (1 - h r) x + sigma(x) (W h r) + u (W_in h r) + b h r.
        rate = ops.exp(-self.log_time_constant)  # 1 / tau
        if self.method == "euler":
            scale = (self.dt / self.integration_steps) * rate
            constants = {"keep": 1.0 - scale}
        else:
            scale = rate
            constants = {"rate": rate}
        constants["kernel"] = self.kernel * scale
        constants["recurrent"] = self.recurrent_kernel * scale
        constants["bias"] = self.bias * scale if self.use_bias else None
        return constants

    can_lag_output = True  # its output is sigma(x_t), see `ZooCell.output_of_states`
    per_example_constants = ("keep", "rate")  # learned, and they scale the state

    def call(self, inputs, states, training=False):
        potential = states[0]
        # sigma(x_{t-1}): the recurrence's input, and the previous step's output.
        firing = self.activation(potential)
        constants = self.step_constants()
        # The input's drive, held over the step (scaled as in `loop_constants`).
        drive = input_drive(inputs, constants["kernel"], constants["bias"])
        recurrent = constants["recurrent"]
        if self.method == "euler":
            keep = constants["keep"]
            for substep in range(self.integration_steps):
                rates = firing if substep == 0 else self.activation(potential)
                potential = keep * potential + ops.matmul(rates, recurrent) + drive
        else:
            rate = constants["rate"]
            h = self.dt / self.integration_steps

            def derivative(x, rates=None):
                rates = self.activation(x) if rates is None else rates
                return ops.matmul(rates, recurrent) - rate * x + drive

            for substep in range(self.integration_steps):
                k1 = derivative(potential, firing if substep == 0 else None)
                k2 = derivative(potential + (0.5 * h) * k1)
                k3 = derivative(potential + (0.5 * h) * k2)
                k4 = derivative(potential + h * k3)
                potential = potential + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if self._lagging_output:
            return firing, [potential]
        return self.activation(potential), [potential]

    def get_config(self):
        config = super().get_config()
        time_constant = self.time_constant
        config.update(
            {
                "time_constant": list(time_constant)
                if isinstance(time_constant, tuple)
                else time_constant,
                "dt": self.dt,
                "integration_steps": self.integration_steps,
                "method": self.method,
            }
        )
        return config


@zoo_layer("ctrnn")
class CTRNN(ZooRNN):
    """Continuous-time recurrent neural network (CTRNN) layer, Beer's form.

    Each input step integrates `tau dx/dt = -x + sigma(x) W + u W_in + b`
    over a duration `dt` (Euler or RK4 sub-steps) with learnable, positive
    per-unit time constants `tau = exp(log_time_constant)`; the layer
    returns the firing rates `sigma(x)`. See `CTRNNCell` for the integration
    formulas.

    Args:
        units: int, hidden units.
        time_constant: float or `(low, high)`, the initial time constants
            (a range draws them log-uniformly per unit). Default 2.0.
        dt: float, time covered by one input step. Default 1.0.
        integration_steps: int, sub-steps per input step. Default 1.
        method: `"euler"` (default) or `"rk4"`.
        activation (default `"tanh"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `CTRNNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the potentials `x` `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous potentials (no time passes).
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; with `return_state=True` the final potentials
    `x` `(batch, units)` follow (the output is `sigma(x)`, not `x`).

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> tuple(CTRNN(8, time_constant=(1.0, 10.0), dt=0.5, method="rk4")(x).shape)
    (4, 8)
    >>> y, potentials = CTRNN(8, return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(potentials.shape)
    ((4, 10, 8), (4, 8))

    Reference:
        Beer, R. D. (1995). On the dynamics of small continuous-time
        recurrent neural networks. Adaptive Behavior 3(4), 469-509.
        Funahashi, K. & Nakamura, Y. (1993). Approximation of dynamical
        systems by continuous time recurrent neural networks. Neural
        Networks 6(6).
    """

    cell_class = CTRNNCell



def _check_groups(owner, units, timescales):
    """Resolves `units` (int or sizes) and `timescales` into two equal-length tuples."""
    scales = tuple(timescales) if isinstance(timescales, (list, tuple)) else ()
    if not scales or not all(_is_number(s) and math.isfinite(s) and s >= 1 for s in scales):
        raise ValueError(
            f"Received an invalid value for argument `timescales` of {owner}, "
            "expected a non-empty tuple of numbers >= 1 (one time constant per "
            f"group), got {timescales!r}."
        )
    if isinstance(units, (list, tuple)):
        sizes = tuple(units)
        valid = all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
        if not valid or len(sizes) != len(scales):
            raise ValueError(
                f"Received an invalid value for argument `units` of {owner}, "
                f"expected {len(scales)} positive integers (one group size per "
                f"timescale) or one integer, got {units!r}."
            )
        return sizes, tuple(float(s) for s in scales)
    check_positive_int(owner, "units", units)
    if units < len(scales):
        raise ValueError(
            f"Received an invalid value for argument `units` of {owner}, "
            f"expected at least {len(scales)} units (one per timescale), got {units!r}."
        )
    return split_evenly(units, len(scales)), tuple(float(s) for s in scales)


@serializable
class MTRNNCell(ZooCell):
    """One step of a multiple-timescale recurrent neural network (MTRNN).

    Units form groups (the paper's input-output, fast context and slow
    context) with fixed time constants `tau_g`. With internal states `u`,
    activations `y_t = sigma(u_t)` and `1/tau` the per-unit rate of its group:

        u_t = (1 - 1/tau) * u_{t-1} + (1/tau) * (y_{t-1} (M * W) + x_t (m * W_in) + b)

    This is a CTRNN integrated with one Euler step of length 1. `M` and `m`
    are fixed 0/1 masks. With `connectivity="adjacent"` (the paper's), the
    input reaches only the first group and a group connects with itself and
    its neighbours only: io <-> fast <-> slow, never io <-> slow. With
    `"full"`, every unit receives the input and every other unit. Masked
    weights are zeroed when built, stay out of every update and receive no
    gradient.

    Args:
        units: int, or one positive int per group (e.g. `(io, fast, slow)`).
            An int is split across the groups as evenly as possible, earlier
            groups taking the remainder.
        timescales: tuple of numbers >= 1, the time constant of each group,
            fastest (input-output) first. Default `(2, 5, 70)`, the paper's.
        connectivity: `"adjacent"` (default) or `"full"`.
        activation: `sigma`, default `"tanh"` (the paper uses the logistic
            `"sigmoid"`).
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`.

    State: `[u]` with shape `(batch, units)`, groups in order.
    """

    def __init__(self, units, timescales=(2, 5, 70), connectivity="adjacent", **kwargs):
        owner = type(self).__name__
        self.group_sizes, self.timescales = _check_groups(owner, units, timescales)
        if connectivity not in CONNECTIVITIES:
            raise ValueError(
                f"Received an invalid value for argument `connectivity` of {owner}, "
                f"expected one of {CONNECTIVITIES}, got {connectivity!r}."
            )
        self.connectivity = connectivity
        super().__init__(sum(self.group_sizes), **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def _masks(self):
        """(recurrent mask `(units, units)`, input mask `(units,)`, rate `(units,)`)."""
        group = np.repeat(np.arange(len(self.group_sizes)), self.group_sizes)
        if self.connectivity == "full":
            recurrent = np.ones((self.units, self.units))
            to_input = np.ones(self.units)
        else:
            recurrent = np.abs(group[:, None] - group[None, :]) <= 1
            to_input = group == 0
        rate = 1.0 / np.repeat(self.timescales, self.group_sizes)
        dtype = self.compute_dtype
        return recurrent.astype(dtype), to_input.astype(dtype), rate.astype(dtype)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None
        self.recurrent_mask, self.input_mask, self.rate = self._masks()
        # Zeroed so that the weights read back show the real connectivity.
        self.kernel.assign(self.kernel * self.input_mask)
        self.recurrent_kernel.assign(self.recurrent_kernel * self.recurrent_mask)

    def loop_constants(self):
        # The masks (which also keep the masked entries' gradients at zero)
        # and the rates, folded into the kernels once per layer call:
        # u_t = (1 - r) u + y (M * W * r) + r (x (m * W_in) + b).
        return {
            "keep": ops.convert_to_tensor(1.0 - self.rate, dtype=self.compute_dtype),
            "recurrent": self.recurrent_kernel * (self.recurrent_mask * self.rate),
            "kernel": self.kernel * (self.input_mask * self.rate),
            "bias": self.bias * self.rate if self.use_bias else None,
        }

    per_example_constants = ("keep",)

    can_lag_output = True  # its output is sigma(x_t), see `ZooCell.output_of_states`

    def call(self, inputs, states, training=False):
        potential = states[0]
        firing = self.activation(potential)  # y_{t-1}, the previous step's output
        constants = self.step_constants()
        drive = input_drive(inputs, constants["kernel"], constants["bias"])
        potential = (
            constants["keep"] * potential
            + ops.matmul(firing, constants["recurrent"])
            + drive
        )
        if self._lagging_output:
            return firing, [potential]
        return self.activation(potential), [potential]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": list(self.group_sizes),
                "timescales": list(self.timescales),
                "connectivity": self.connectivity,
            }
        )
        return config


@zoo_layer("mtrnn")
class MTRNN(ZooRNN):
    """Multiple-timescale recurrent neural network (MTRNN) layer.

    Leaky-integrator units in groups with fixed, different time constants:
    a fast input-output group, fast context and slow context units (see
    `MTRNNCell` for the update). Slow units change little per step, so they
    hold context over long spans while fast ones follow the input;
    Yamashita & Tani found that motor primitives self-organise in the fast
    units and their sequencing in the slow ones.

    Args:
        units: int or one size per group, e.g. `(io, fast, slow)`; an int is
            split evenly. `layer.units` is the total.
        timescales: tuple of numbers >= 1, one per group, fastest first.
            Default `(2, 5, 70)`.
        connectivity: `"adjacent"` (default; input to the first group,
            io <-> fast <-> slow) or `"full"`.
        activation (default `"tanh"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `MTRNNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with `u` `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: the activations of every group, in order,
    `(batch, units)` or `(batch, timesteps, units)`; the paper's output is
    the first group, `output[..., :units[0]]`. With `return_state=True` the
    final internal state `u` `(batch, units)` follows.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> layer = MTRNN((6, 10, 4), timescales=(2, 5, 70), return_sequences=True)
    >>> tuple(layer(x).shape), layer.units
    ((4, 10, 20), 20)

    Reference:
        Yamashita, Y. & Tani, J. (2008). Emergence of functional hierarchy in
        a multiple timescale neural network model: a humanoid robot
        experiment. PLoS Computational Biology 4(11), e1000220.
    """

    cell_class = MTRNNCell

    @property
    def group_sizes(self):
        return self.cell.group_sizes

    @property
    def timescales(self):
        return self.cell.timescales
