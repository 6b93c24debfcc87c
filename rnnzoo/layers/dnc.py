"""Differentiable neural computer (DNC): dynamic memory allocation and temporal links.

`DNCCell` builds on the controller, interface and output of
`MemoryControllerCell` (`ntm.py`) and the memory operations of
`memory_addressing.py`; `DNC` is the thin `keras.layers.RNN` layer.
"""

from keras import ops

from rnnzoo.layers import memory_addressing as mem
from rnnzoo.layers.base import ZooRNN, serializable, zoo_layer
from rnnzoo.layers.ntm import MemoryControllerCell, split_heads


def oneplus(x):
    """`1 + softplus(x)`: the DNC's key strengths, in [1, inf)."""
    return 1.0 + ops.softplus(x)


@serializable
class DNCCell(MemoryControllerCell):
    """One step of a differentiable neural computer.

    The interface vector of the controller output `h_t` gives, for `R` read
    heads and one write head: read keys `k^r_i` and strengths
    `beta^r_i = oneplus(.)`, a write key `k^w` and strength `beta^w`, an erase
    vector `e = sigmoid(.)`, a write vector `v`, free gates `f_i = sigmoid(.)`,
    an allocation gate `g^a` and a write gate `g^w` (sigmoid), and read modes
    `pi_i = softmax(.)` over (backward, content, forward). Keys and write
    vector have no squashing, as in the paper.

        psi_t    = prod_i (1 - f_i w^r_{t-1,i})                          retention
        u_t      = (u_{t-1} + w^w_{t-1} - u_{t-1} * w^w_{t-1}) * psi_t   usage
        a_t      = allocation(u_t)        (least used slot first, see memory_addressing)
        c^w_t    = softmax(beta^w cos(k^w, M_{t-1}))
        w^w_t    = g^w (g^a a_t + (1 - g^a) c^w_t)                       write weighting
        M_t      = M_{t-1} * (1 - w^w_t e^T) + w^w_t v^T
        L_t[i,j] = (1 - w^w_i - w^w_j) L_{t-1}[i,j] + w^w_i p_{t-1,j},  L_t[i,i] = 0
        p_t      = (1 - sum_i w^w_i) p_{t-1} + w^w_t                      precedence
        f_i = L_t w^r_{t-1,i},  b_i = L_t^T w^r_{t-1,i},  c^r_i = softmax(beta^r_i cos(k^r_i, M_t))
        w^r_i    = pi_i[0] b_i + pi_i[1] c^r_i + pi_i[2] f_i
        r_i      = w^r_i M_t
        y_t      = activation([h_t, r_1 .. r_R] W_y + b_y)

    The controller input is `[x_t, r_{t-1}]`. Everything starts at zero
    (memory, usage, links, precedence, weightings, reads), as in the paper;
    content addressing of a zero memory gives uniform weights.

    Args:
        units, memory_rows (default 16), memory_width (default 8),
            num_read_heads (default 1), controller (default `"lstm"`),
            controller_units, controller_args, activation (default `"tanh"`),
            use_bias, initializers, regularizers, constraints, seed: see
            `MemoryControllerCell`.

    State (flat): the controller's states, then `memory` `(N * W)`, `usage`
    `(N)`, `links` `(N * N)`, `precedence` `(N)`, `read_weights` `(R * N)`,
    `write_weights` `(N)`, `reads` `(R * W)`.
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        n, w, r = self.memory_rows, self.memory_width, self.num_read_heads
        self.state_size = self.controller_state_sizes + [n * w, n, n * n, n, r * n, n, r * w]
        self.output_size = self.units

    @property
    def read_head_sizes(self):
        return (self.memory_width, 1, 1, 3)  # key, strength, free gate, read modes

    @property
    def write_sizes(self):
        w = self.memory_width
        return (w, 1, w, w, 1, 1)  # key, strength, erase, write vector, alloc gate, write gate

    @property
    def interface_size(self):
        return sum(self.write_sizes) + self.num_read_heads * sum(self.read_head_sizes)

    def call(self, inputs, states, training=False):
        k = len(self.controller_state_sizes)
        controller_states = states[:k]
        memory, usage, links, precedence, read_weights, write_weights, reads = states[k:]
        n, w, r = self.memory_rows, self.memory_width, self.num_read_heads
        memory = ops.reshape(memory, (-1, n, w))
        links = ops.reshape(links, (-1, n, n))
        read_weights = ops.reshape(read_weights, (-1, r, n))

        hidden, controller_states, interface = self.run_controller(
            inputs, reads, controller_states, training
        )
        write_part = sum(self.write_sizes)
        write_key, write_strength, erase, vector, alloc_gate, write_gate = split_heads(
            interface[:, :write_part], 1, self.write_sizes
        )
        read_keys, read_strengths, free_gates, modes = split_heads(
            interface[:, write_part:], r, self.read_head_sizes
        )

        # Dynamic allocation: free what was read (if the free gates say so), then
        # allocate the least used slots.
        psi = mem.retention(ops.sigmoid(free_gates), read_weights)
        usage = mem.update_usage(usage, write_weights, psi)
        allocation = mem.allocation_weighting(usage)
        content = mem.content_weights(memory, write_key, oneplus(write_strength))[:, 0]
        alloc_gate = ops.sigmoid(alloc_gate[:, 0])
        write_weights = ops.sigmoid(write_gate[:, 0]) * (
            alloc_gate * allocation + (1.0 - alloc_gate) * content
        )
        memory = mem.write(
            memory, write_weights[:, None], ops.sigmoid(erase), vector
        )

        # Temporal links, then reading by content or along the links.
        links = mem.update_links(links, write_weights, precedence)
        precedence = mem.update_precedence(precedence, write_weights)
        forward, backward = mem.directional_weights(links, read_weights)
        content = mem.content_weights(memory, read_keys, oneplus(read_strengths))
        modes = ops.softmax(modes, axis=-1)
        read_weights = (
            modes[..., 0:1] * backward + modes[..., 1:2] * content + modes[..., 2:3] * forward
        )
        reads = ops.reshape(mem.read(memory, read_weights), (-1, r * w))

        output = self.output(hidden, reads)
        new_states = controller_states + [
            ops.reshape(memory, (-1, n * w)),
            usage,
            ops.reshape(links, (-1, n * n)),
            precedence,
            ops.reshape(read_weights, (-1, r * n)),
            write_weights,
            reads,
        ]
        return output, new_states


@zoo_layer("dnc")
class DNC(ZooRNN):
    """Differentiable neural computer layer: an NTM-like memory with allocation and links.

    A controller (feed-forward, or the cell of any registered step-wise zoo
    layer) writes to an external memory through one write head that either
    looks a slot up by content or takes the least used free slot (dynamic
    allocation with usage and free gates), and reads through `num_read_heads`
    heads that look up by content or follow the temporal link matrix forwards
    or backwards in the order the slots were written. Equations in `DNCCell`.

    The output at each step is `activation([h_t, r_t] W_y + b_y)` (controller
    output and this step's reads projected to `units`, `tanh` by default).

    The allocation weighting needs the slots ordered by usage; it is computed
    with an `N x N` comparison instead of a sort (identical values, builtin
    TFLite ops only), see `memory_addressing.allocation_weighting`.

    Args:
        units: int, output size.
        memory_rows: int `N`, default 16. memory_width: int `W`, default 8.
        num_read_heads: int, default 1.
        controller: `"lstm"` (default), `"dense"` or any registered step-wise
            zoo layer name. controller_units: int, default `units`.
        controller_args: optional dict of arguments for the controller layer.
        activation (default `"tanh"`), use_bias, initializers,
            regularizers, constraints, seed: passed to `DNCCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list of the flat states (see `DNCCell`).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final states follow: the controller's, then
    memory `(batch, N * W)`, usage `(batch, N)`, links `(batch, N * N)`,
    precedence `(batch, N)`, read weightings `(batch, R * N)`, write
    weighting `(batch, N)` and reads `(batch, R * W)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 7, 8), "float32")
    >>> tuple(DNC(16, memory_rows=10, num_read_heads=2, return_sequences=True)(x).shape)
    (2, 7, 16)
    >>> y, *states = DNC(16, controller="dense", return_state=True)(x)
    >>> [tuple(s.shape)[1] for s in states]  # memory, usage, links, precedence, ...
    [128, 16, 256, 16, 16, 16, 8]

    Reference:
        Graves, A., Wayne, G., Reynolds, M., Harley, T., Danihelka, I. et al.
        (2016). Hybrid computing using a neural network with dynamic external
        memory. Nature 538, 471-476.
    """

    cell_class = DNCCell
