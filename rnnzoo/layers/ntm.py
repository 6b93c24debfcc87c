"""Neural Turing machine (NTM): a recurrent controller with an addressable external memory.

`MemoryControllerCell` holds what the NTM and the DNC (`dnc.py`) share: the
controller (a feed-forward layer or the cell of any registered step-wise zoo
layer), the interface and output projections and the argument checks.
`NTMCell` adds the NTM's heads; `NTM` is the thin `keras.layers.RNN` layer.
The memory operations themselves are the pure functions of
`memory_addressing.py`.
"""

import keras
from keras import ops

from rnnzoo import registry
from rnnzoo.layers import memory_addressing as mem
from rnnzoo.layers.base import ZooCell, ZooRNN, check_positive_int, serializable, zoo_layer

# The NTM's memory starts as this constant in every cell (see NTMCell).
MEMORY_INIT = 1e-6
# Seeds of the controller's own initializers are offset from the cell's seed.
_CONTROLLER_SEED_OFFSET = 7919


def _sizes(size):
    return list(size) if isinstance(size, (list, tuple)) else [size]


class MemoryControllerCell(ZooCell):
    """Base of the memory-augmented cells: controller, interface and output.

    Each step the controller reads the input concatenated with the previous
    step's read vectors; a dense `interface` projection of the controller
    output gives the heads' parameters; the cell output is
    `activation([h_t, r_t] W_y + b_y)`, the controller output and this step's
    read vectors projected to `units`.

    Args:
        units: int, output size.
        memory_rows: int `N`, number of memory slots.
        memory_width: int `W`, size of each slot.
        num_read_heads: int `R`.
        controller: `"dense"` (feed-forward, `tanh`) or the registered name of
            any step-wise zoo layer (`"lstm"`, `"gru"`, `"elman"`, ...), whose
            cell is used. Default `"lstm"`.
        controller_units: int, controller size; default `None` means `units`.
        controller_args: optional dict of extra constructor arguments for the
            controller layer (JSON-serializable, e.g. `{"activation": "relu"}`).
        activation: of the output projection, default `"tanh"`.
        use_bias, initializers, regularizers, constraints, seed: as in
            `ZooCell`; `seed` also seeds the controller.
    """

    interface_role = "kernel"

    def __init__(
        self,
        units,
        memory_rows=16,
        memory_width=8,
        num_read_heads=1,
        controller="lstm",
        controller_units=None,
        controller_args=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.memory_rows = check_positive_int(owner, "memory_rows", memory_rows)
        self.memory_width = check_positive_int(owner, "memory_width", memory_width)
        self.num_read_heads = check_positive_int(owner, "num_read_heads", num_read_heads)
        self.controller_units = check_positive_int(
            owner, "controller_units", units if controller_units is None else controller_units
        )
        if controller_args is not None and not isinstance(controller_args, dict):
            raise ValueError(
                f"Received an invalid value for argument `controller_args` of {owner}, "
                f"expected a dict or None, got {controller_args!r}."
            )
        self.controller_args = dict(controller_args or {})
        self.controller = self._check_controller(owner, controller)
        self.controller_cell = None
        probe = self._make_controller(stream=0) if self.controller != "dense" else None
        self.controller_state_sizes = [] if probe is None else _sizes(probe.state_size)
        if probe is not None and probe.output_size != self.controller_units:
            raise ValueError(
                f"Received controller={controller!r} for {owner}: its output size "
                f"{probe.output_size} differs from controller_units={self.controller_units}."
            )

    def _check_controller(self, owner, controller):
        if controller == "dense":
            return controller
        import rnnzoo.layers  # noqa: F401  (registers every layer)

        expected = "'dense' or the registered name of a step-wise zoo layer"
        if not isinstance(controller, str) or controller not in registry.LAYERS:
            raise ValueError(
                f"Received an invalid value for argument `controller` of {owner}, "
                f"expected {expected}, got {controller!r}."
            )
        layer_class = registry.LAYERS.get(controller)
        if not issubclass(layer_class, keras.layers.RNN) or controller in ("ntm", "dnc"):
            raise ValueError(
                f"Received an invalid value for argument `controller` of {owner}, "
                f"expected {expected} (not a memory layer), got {controller!r}."
            )
        return controller

    def _make_controller(self, stream):
        """The cell of a fresh controller layer (`stream` 1 for a backward copy)."""
        layer_class = registry.LAYERS.get(self.controller)
        seed = None if self.seed is None else self.seed + _CONTROLLER_SEED_OFFSET
        try:
            layer = layer_class(
                self.controller_units,
                seed=seed,
                go_backwards=bool(stream),
                dtype=self.dtype_policy,
                **self.controller_args,
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{type(self).__name__} could not build its controller "
                f"{self.controller!r} with controller_args={self.controller_args!r}: {error}"
            ) from None
        return layer.cell

    @property
    def read_size(self):
        return self.num_read_heads * self.memory_width

    @property
    def interface_size(self):
        raise NotImplementedError

    def build(self, input_shape):
        super().build(input_shape)
        controller_input = self.input_dim + self.read_size
        if self.controller == "dense":
            self.controller_kernel = self.add_role_weight(
                "controller_kernel", (controller_input, self.controller_units), "kernel"
            )
            self.controller_bias = self.add_role_weight(
                "controller_bias", (self.controller_units,), "bias"
            )
        else:
            self.controller_cell = self._make_controller(self.seed_stream)
            self.controller_cell.build((None, controller_input))
        self.interface_kernel = self.add_role_weight(
            "interface_kernel", (self.controller_units, self.interface_size), "kernel"
        )
        self.interface_bias = self.add_role_weight(
            "interface_bias", (self.interface_size,), "bias"
        )
        output_input = self.controller_units + self.read_size
        self.output_kernel = self.add_role_weight(
            "output_kernel", (output_input, self.units), "kernel"
        )
        self.output_bias = (
            self.add_role_weight("output_bias", (self.units,), "bias") if self.use_bias else None
        )

    def run_controller(self, inputs, previous_reads, controller_states, training):
        """`(h_t, new controller states, interface vector)` for one step."""
        joined = ops.concatenate([inputs, previous_reads], axis=-1)
        if self.controller == "dense":
            hidden = ops.tanh(ops.matmul(joined, self.controller_kernel) + self.controller_bias)
            new_states = []
        else:
            hidden, new_states = self.controller_cell(
                joined, list(controller_states), training=training
            )
            new_states = (
                list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            )
        interface = ops.matmul(hidden, self.interface_kernel) + self.interface_bias
        return hidden, list(new_states), interface

    def output(self, hidden, reads):
        """`activation([h_t, r_t] W_y + b_y)`."""
        y = ops.matmul(ops.concatenate([hidden, reads], axis=-1), self.output_kernel)
        if self.use_bias:
            y = y + self.output_bias
        return self.activation(y)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "memory_rows": self.memory_rows,
                "memory_width": self.memory_width,
                "num_read_heads": self.num_read_heads,
                "controller": self.controller,
                "controller_units": self.controller_units,
                "controller_args": dict(self.controller_args),
            }
        )
        return config


def split_heads(vector, heads, sizes):
    """Splits `(B, heads * sum(sizes))` into a list of `(B, heads, size)` pieces."""
    per_head = ops.reshape(vector, (-1, heads, sum(sizes)))
    pieces, start = [], 0
    for size in sizes:
        pieces.append(per_head[..., start : start + size])
        start += size
    return pieces


@serializable
class NTMCell(MemoryControllerCell):
    """One step of a neural Turing machine.

    For every head (write heads first, then read heads), from the interface
    vector: key `k = tanh(.)`, strength `beta = softplus(.)`, gate
    `g = sigmoid(.)`, shift distribution `s = softmax(.)` over the offsets
    `-shift_range .. shift_range`, sharpening `gamma = 1 + softplus(.)`; a write
    head also gives erase `e = sigmoid(.)` and add `a = tanh(.)` vectors.

        w^c = softmax_i(beta cos(k, M_{t-1,i}))                    content
        w^g = g w^c + (1 - g) w_{t-1}                               interpolation
        w~  = circular_conv(w^g, s)                                 shift
        w_t = w~^gamma / sum(w~^gamma)                              sharpening
        M_t = M_{t-1} * prod_h (1 - w_h e_h^T) + sum_h w_h a_h^T   write heads
        r_t = w_t M_t                                               read heads
        y_t = activation([h_t, r_t] W_y + b_y)

    The writes happen before the reads of the same step, so a read can see
    what was just written. The controller input is `[x_t, r_{t-1}]`.

    Initial state (what a zero state stands for, so `reset_state` and masking
    keep it): every memory cell holds the small constant `1e-6` (Collier &
    Beel 2018 compared constant, learned and random memory initialisations
    and found the small constant the fastest and most reliable to train; it
    costs no weights and keeps every row's norm non-zero), every head's
    weighting is concentrated on row 0 (a definite start for location-based
    moves such as the copy task's `+1` shifts), and the read vectors are 0.
    The state therefore carries `M - 1e-6` and `w - onehot(0)`.

    Args:
        units, memory_rows (default 16), memory_width (default 8),
            num_read_heads (default 1), controller (default `"lstm"`),
            controller_units, controller_args, activation (default `"tanh"`),
            use_bias, initializers, regularizers, constraints, seed: see
            `MemoryControllerCell`.
        num_write_heads: int, default 1.
        shift_range: int `r >= 0`, default 1 (shifts -1, 0, +1); `2 r + 1`
            must not exceed `memory_rows`.

    State (flat): the controller's states, then `memory` `(N * W)`, `reads`
    `(R * W)`, `read_weights` `(R * N)`, `write_weights` `(num_write_heads * N)`.
    """

    def __init__(self, units, num_write_heads=1, shift_range=1, **kwargs):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.num_write_heads = check_positive_int(owner, "num_write_heads", num_write_heads)
        ok = isinstance(shift_range, int) and not isinstance(shift_range, bool)
        if not ok or shift_range < 0 or 2 * shift_range + 1 > self.memory_rows:
            raise ValueError(
                f"Received an invalid value for argument `shift_range` of {owner}, "
                f"expected an integer r >= 0 with 2 r + 1 <= memory_rows={self.memory_rows}, "
                f"got {shift_range!r}."
            )
        self.shift_range = shift_range
        n, w = self.memory_rows, self.memory_width
        self.state_size = self.controller_state_sizes + [
            n * w,
            self.read_size,
            self.num_read_heads * n,
            self.num_write_heads * n,
        ]
        self.output_size = self.units

    @property
    def read_head_sizes(self):
        w = self.memory_width
        return (w, 1, 1, 2 * self.shift_range + 1, 1)

    @property
    def write_head_sizes(self):
        return self.read_head_sizes + (self.memory_width, self.memory_width)

    @property
    def interface_size(self):
        return self.num_write_heads * sum(self.write_head_sizes) + self.num_read_heads * sum(
            self.read_head_sizes
        )

    def _start(self):
        """One-hot on row 0: the weighting a zero state stands for, `(1, 1, N)`."""
        return ops.reshape(
            ops.one_hot(ops.zeros((1,), "int32"), self.memory_rows, dtype=self.compute_dtype),
            (1, 1, self.memory_rows),
        )

    def address(self, memory, previous, key, strength, gate, shift, gamma):
        """Content then location addressing (NTM section 3.3), all heads at once."""
        content = mem.content_weights(memory, ops.tanh(key), ops.softplus(strength))
        gated = mem.interpolate(content, previous, ops.sigmoid(gate))
        shifted = mem.circular_shift(gated, ops.softmax(shift, axis=-1))
        return mem.sharpen(shifted, 1.0 + ops.softplus(gamma))

    def call(self, inputs, states, training=False):
        k = len(self.controller_state_sizes)
        controller_states, (memory, reads, read_weights, write_weights) = states[:k], states[k:]
        n, w, r, hw = self.memory_rows, self.memory_width, self.num_read_heads, self.num_write_heads
        start = self._start()
        memory = ops.reshape(memory, (-1, n, w)) + MEMORY_INIT
        read_weights = ops.reshape(read_weights, (-1, r, n)) + start
        write_weights = ops.reshape(write_weights, (-1, hw, n)) + start

        hidden, controller_states, interface = self.run_controller(
            inputs, reads, controller_states, training
        )
        write_part = hw * sum(self.write_head_sizes)
        key, strength, gate, shift, gamma, erase, add = split_heads(
            interface[:, :write_part], hw, self.write_head_sizes
        )
        write_weights = self.address(memory, write_weights, key, strength, gate, shift, gamma)
        memory = mem.write(memory, write_weights, ops.sigmoid(erase), ops.tanh(add))
        key, strength, gate, shift, gamma = split_heads(
            interface[:, write_part:], r, self.read_head_sizes
        )
        read_weights = self.address(memory, read_weights, key, strength, gate, shift, gamma)
        reads = ops.reshape(mem.read(memory, read_weights), (-1, r * w))

        output = self.output(hidden, reads)
        new_states = controller_states + [
            ops.reshape(memory - MEMORY_INIT, (-1, n * w)),
            reads,
            ops.reshape(read_weights - start, (-1, r * n)),
            ops.reshape(write_weights - start, (-1, hw * n)),
        ]
        return output, new_states

    def get_config(self):
        config = super().get_config()
        config["num_write_heads"] = self.num_write_heads
        config["shift_range"] = self.shift_range
        return config


@zoo_layer("ntm")
class NTM(ZooRNN):
    """Neural Turing machine layer: a controller that reads and writes an external memory.

    A controller network (feed-forward, or the cell of any registered step-wise
    zoo layer) drives read and write heads over a memory of `memory_rows`
    slots of `memory_width` numbers. Heads find slots by content (cosine
    similarity to a key) and by location (interpolation with the previous
    weighting, a circular shift, sharpening); write heads erase then add.
    Everything is differentiable, so the whole machine trains with BPTT.
    Equations, head activations and the initial memory in `NTMCell`.

    The output at each step is `activation([h_t, r_t] W_y + b_y)`: the
    controller output and the step's read vectors projected to `units`
    (`tanh` by default, so a task head on top sees a bounded vector of a size
    that does not depend on the memory width or head count).

    Args:
        units: int, output size.
        memory_rows: int `N`, default 16. memory_width: int `W`, default 8.
        num_read_heads: int, default 1. num_write_heads: int, default 1.
        shift_range: int, default 1 (shifts of -1, 0, +1 slots).
        controller: `"lstm"` (default), `"dense"` or any registered step-wise
            zoo layer name. controller_units: int, default `units`.
        controller_args: optional dict of arguments for the controller layer.
        activation (default `"tanh"`), use_bias, initializers,
            regularizers, constraints, seed: passed to `NTMCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list of the flat states (see `NTMCell`).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final states follow: the controller's (two for
    an LSTM), then memory `(batch, N * W)`, reads `(batch, R * W)`, read
    weightings `(batch, R * N)` and write weightings `(batch, heads * N)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 7, 9), "float32")
    >>> layer = NTM(16, memory_rows=20, memory_width=6, return_sequences=True, seed=1)
    >>> tuple(layer(x).shape)
    (2, 7, 16)
    >>> y, h, c, memory, reads, read_w, write_w = NTM(16, return_state=True)(x)
    >>> tuple(memory.shape), tuple(reads.shape), tuple(read_w.shape)
    ((2, 128), (2, 8), (2, 16))

    Reference:
        Graves, A., Wayne, G. & Danihelka, I. (2014). Neural Turing machines.
        arXiv:1410.5401. Memory initialisation: Collier, M. & Beel, J. (2018).
        Implementing neural Turing machines. ICANN 2018.
    """

    cell_class = NTMCell
