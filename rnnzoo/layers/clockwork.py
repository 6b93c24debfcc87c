"""Clockwork RNN: a hierarchical multi-rate RNN whose slower modules update less often."""

import collections
import math

import numpy as np
from keras import ops

from rnnzoo.layers.base import ZooCell, ZooRNN, input_drive, serializable, split_evenly, zoo_layer


def _check_periods(owner, periods):
    values = tuple(periods) if isinstance(periods, (list, tuple)) else ()
    valid = all(isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in values)
    if not values or not valid or any(a >= b for a, b in zip(values, values[1:])):
        raise ValueError(
            f"Received an invalid value for argument `periods` of {owner}, "
            "expected a non-empty, strictly increasing tuple of positive "
            f"integers (one clock period per module), got {periods!r}."
        )
    return values


@serializable
class ClockworkRNNCell(ZooCell):
    """One step of a Clockwork RNN (CW-RNN).

    The hidden units are split into modules `1..g` with clock periods
    `T_1 < T_2 < ... < T_g`. The step index `t` (0 at the first step) is part
    of the state. At step `t` only the modules with `t mod T_i == 0` update;
    the others keep their previous values:

        a_t = activation(x_t W + h_{t-1} (M * U) + b)
        h_t[i] = a_t[i]  if t mod T_i == 0  else  h_{t-1}[i]     (per module i)
        t <- (t + 1) mod lcm(T_1, ..., T_g)

    `M` is a fixed block mask: module `i` receives the modules `j` with
    `T_j >= T_i` (itself and every slower one), so slower modules feed faster
    ones and never the reverse. Koutnik et al. write the recurrent matrix for
    column vectors, `h = f(W_H h + W_I x)`, where this is block-upper-
    triangular; here, with row vectors (`h U`), `M * U` is its transpose,
    block-lower-triangular. Every module reads the input.

    The counter wraps at the least common multiple of the periods (the
    schedule repeats with it), so it stays small and exact. Because it is a
    state, masked steps do not advance it, `go_backwards` starts the clock at
    the first step processed, and `stateful` layers resume the schedule.
    A `ClockworkRNN` layer works the schedule out for the whole sequence
    before its time loop (`schedule`); a bare cell counts step by step.
    All modules are computed at every step and the inactive ones discarded,
    which keeps the step a few dense ops (no speed-up from skipped modules).

    Args:
        units: int, hidden units, split across the modules as evenly as
            possible (faster modules take the remainder); at least one per
            module.
        periods: strictly increasing tuple of positive ints, one clock
            period per module. Default `(1, 2, 4, 8)`, the paper's
            exponential series `T_i = 2**(i-1)`.
        activation: default `"tanh"`.
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell`.

    State: `[h, t]` with shapes `(batch, units)` and `(batch, 1)`.
    """

    def __init__(self, units, periods=(1, 2, 4, 8), **kwargs):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.periods = _check_periods(owner, periods)
        if self.units < len(self.periods):
            raise ValueError(
                f"Received an invalid value for argument `units` of {owner}, "
                f"expected at least {len(self.periods)} units (one per module), "
                f"got {self.units!r}."
            )
        self.module_sizes = split_evenly(self.units, len(self.periods))
        self.cycle = math.lcm(*self.periods)
        self.state_size = [self.units, 1]
        self.output_size = self.units
        # Set by `ClockworkRNN` around its time loop: the inputs carry the
        # tick flags and the step index is not advanced (see `schedule`).
        object.__setattr__(self, "_scheduled", False)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (self.units, self.units), "recurrent"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None
        module = np.repeat(np.arange(len(self.periods)), self.module_sizes)
        # Row j (source) feeds column i (target) when j's module is as slow or slower.
        self.recurrent_mask = (module[:, None] >= module[None, :]).astype(self.compute_dtype)
        self.unit_periods = np.repeat(self.periods, self.module_sizes).astype(self.compute_dtype)
        # The clock table: row t has 1.0 for the units that tick at step t (mod the cycle).
        ticks = np.arange(self.cycle)[:, None] % self.unit_periods[None, :] == 0
        self.clock_table = ticks.astype(self.compute_dtype)
        # Zeroed so that the weights read back show the real connectivity.
        self.recurrent_kernel.assign(self.recurrent_kernel * self.recurrent_mask)

    def loop_constants(self):
        # Masked once per layer call (the mask also keeps the gradient of the
        # masked entries at zero); the other weights are read once per call
        # too, which spares a variable read per step.
        return {
            "recurrent": self.recurrent_kernel * self.recurrent_mask,
            **self.read_weights("kernel", "bias"),
        }

    def schedule(self, start_step, mask, timesteps, go_backwards=False):
        """The clock for a whole sequence at once, before the time loop.

        The step index is a counter of the unmasked steps processed, so its
        value at every step follows from the start and the mask alone:
        `t_k = t_0 + (unmasked steps processed before k)`. Returns the
        `(batch, timesteps, units)` tick flags (1.0 for a unit that ticks at
        that step, else 0.0; in the order of the sequence as given, also for
        `go_backwards`) and the final step index `(batch, 1)`.
        """
        # Counted in integers: a float16 counter is exact only up to 2048.
        if mask is None:
            counts = ops.ones((ops.shape(start_step)[0], timesteps), "int32")
        else:
            counts = ops.cast(mask, "int32")
        if go_backwards:
            counts = ops.flip(counts, axis=1)
        before = ops.cumsum(counts, axis=1) - counts
        start = ops.cast(ops.floor(ops.mod(start_step, float(self.cycle))), "int32")
        ticking = ops.take(self.clock_table, ops.mod(start + before, self.cycle), axis=0)
        if go_backwards:
            ticking = ops.flip(ticking, axis=1)
        elapsed = ops.mod(ops.sum(counts, axis=1, keepdims=True), self.cycle)
        final_step = ops.mod(start_step + ops.cast(elapsed, start_step.dtype), float(self.cycle))
        return ticking, ops.stop_gradient(final_step)

    def call(self, inputs, states, training=False):
        hidden, step = states
        if self._scheduled:
            # `ClockworkRNN` pairs each step's input with its tick flags.
            inputs, ticking = inputs
        else:
            # One table lookup per example instead of `t mod T_i == 0` per unit.
            tick = ops.cast(ops.mod(ops.reshape(step, (-1,)), float(self.cycle)), "int32")
            ticking = ops.take(self.clock_table, tick, axis=0)  # (batch, units)
            # The clock carries no gradient; cutting it keeps the backward loop lean.
            step = ops.stop_gradient(ops.mod(step + 1.0, float(self.cycle)))
        constants = self.step_constants()
        pre = input_drive(inputs, constants["kernel"], constants.get("bias")) + ops.matmul(
            hidden, constants["recurrent"]
        )
        # `ticking` is 0.0 or 1.0: a unit that does not tick keeps its value
        # exactly, one that ticks takes the new one (up to rounding). On CPU
        # this blend costs less per step than a select (scalar on bools).
        hidden = hidden + ticking * (self.activation(pre) - hidden)
        return hidden, [hidden, step]

    def get_config(self):
        config = super().get_config()
        config["periods"] = list(self.periods)
        return config


class _Scheduled(collections.namedtuple("_Scheduled", ["inputs", "ticking"])):
    """The input sequence and its tick flags, stepped through together.

    `keras.layers.RNN` steps through nested inputs, and reads the number of
    steps from `sequences.shape[1]`, which this forwards.
    """

    @property
    def shape(self):
        return self.inputs.shape


@zoo_layer("hierarchical", aliases=("clockwork_rnn",))
class ClockworkRNN(ZooRNN):
    """Clockwork RNN layer: modules that tick at different rates (registered as "hierarchical").

    A hierarchical multi-rate RNN: the hidden layer is split into modules
    with clock periods `T_i` (default 1, 2, 4, 8); module `i` updates only at
    steps where `t mod T_i == 0` and otherwise holds its value, and slower
    modules feed the faster ones. Slow modules see only every `T_i`-th step
    and summarise long stretches, so memories reach further with fewer
    multiplications along the gradient path. See `ClockworkRNNCell` for the
    equations and the direction of the connections.

    Args:
        units: int, hidden units, split evenly across the modules.
        periods: strictly increasing tuple of positive ints. Default
            `(1, 2, 4, 8)`.
        activation (default `"tanh"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `ClockworkRNNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h, t]`: hidden `(batch, units)` and the
            step index `(batch, 1)` to start the clock at (usually zeros).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            hidden state and do not advance the clock, so a padded sequence
            gives the same result as the unpadded one.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final `h` `(batch, units)` and step index
    `(batch, 1)` follow.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 40, 3), "float32")
    >>> layer = ClockworkRNN(12, periods=(1, 2, 4, 8, 16, 32), return_state=True)
    >>> y, h, t = layer(x)
    >>> tuple(y.shape), tuple(h.shape), float(t[0, 0])
    ((4, 12), (4, 12), 8.0)

    Reference:
        Koutnik, J., Greff, K., Gomez, F. & Schmidhuber, J. (2014). A
        Clockwork RNN. ICML 2014, PMLR 32(2), 1863-1871.
    """

    cell_class = ClockworkRNNCell

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # The whole schedule is known before the loop (`ClockworkRNNCell.
        # schedule`): the tick flags ride along with the input, the step
        # index stays put inside the loop and is set once after it, which
        # takes the counter's update, wrap and look-up out of every step.
        hidden, start_step = initial_state
        ticking, final_step = self.cell.schedule(
            start_step, mask, ops.shape(sequences)[1], self.go_backwards
        )
        scheduled = _Scheduled(sequences, ticking)
        object.__setattr__(self.cell, "_scheduled", True)
        try:
            last_output, outputs, states = super().inner_loop(
                scheduled, [hidden, start_step], mask, training=training
            )
        finally:
            object.__setattr__(self.cell, "_scheduled", False)
        return last_output, outputs, [states[0], final_step]

    @property
    def periods(self):
        return self.cell.periods
