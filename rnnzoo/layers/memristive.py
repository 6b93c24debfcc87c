"""Memristive circuit as a recurrent layer: memristor memory states driven by the input.

The state is the vector of internal memory variables `w` of the memristors of a
fixed circuit (one memristor, in series with a voltage source, on every edge
of a graph). The input sequence drives the sources; the memories evolve by the
Caravelli-Traversa-Di Ventra equation, integrated with explicit Euler steps.
The layer is step-wise (a `keras.layers.RNN` over `MemristiveCell`).
"""

import numpy as np
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_positive_int,
    counted_loop,
    serializable,
    zoo_layer,
)


def _check_float(owner, argument, value, low, low_open, high=None, expected="a positive float"):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, expected "
            f"{expected}, got {value!r}."
        )
    return float(value)


def random_circuit(num_edges, num_nodes, rng):
    """A connected multigraph: a random recursive tree plus random extra edges."""
    edges = [[int(rng.integers(0, i)), i] for i in range(1, num_nodes)]
    while len(edges) < num_edges:
        u, v = rng.choice(num_nodes, size=2, replace=False)
        edges.append([int(u), int(v)])
    return edges


def cycle_projector(edges, num_nodes=None):
    """Omega: the orthogonal projector on the cycle (loop) space of a graph.

    With B the node-edge incidence matrix, the cut space is B's row space, so
    Omega = I - B^+ B (computed in float64).
    """
    edges = np.asarray(edges, dtype=int)
    num_nodes = int(edges.max()) + 1 if num_nodes is None else num_nodes
    incidence = np.zeros((num_nodes, len(edges)))
    incidence[edges[:, 0], np.arange(len(edges))] = 1.0
    incidence[edges[:, 1], np.arange(len(edges))] = -1.0
    return np.eye(len(edges)) - np.linalg.pinv(incidence) @ incidence


def solve_spd(matrix, rhs):
    """Solves `matrix x = rhs` for symmetric positive definite `(batch, n, n)` matrices.

    Gauss-Jordan elimination without pivoting (stable for SPD matrices),
    unrolled over the static size n so it exports with builtin ops only.
    """
    n = matrix.shape[-1]
    for k in range(n):
        pivot = matrix[:, k, k]
        row = matrix[:, k, :] / pivot[:, None]
        rhs_k = rhs[:, k] / pivot
        factor = matrix[:, :, k] - ops.one_hot(k, n, dtype=matrix.dtype)[None, :]
        matrix = matrix - factor[:, :, None] * row[:, None, :]
        rhs = rhs - factor * rhs_k[:, None]
    return rhs


@serializable
class MemristiveCell(ZooCell):
    """One input step of a memristive circuit (see `Memristive` for the equations).

    Args:
        units: int, the number of memristors (edges of the circuit graph).
        num_nodes: int >= 2, nodes of the random circuit graph (at most
            `units + 1`). Default `units // 2 + 1`.
        edges: optional list of `units` node pairs `[u, v]` defining the
            circuit instead of a random graph.
        alpha: non-negative float, the memory's linear rate `alpha`. Default 0.1.
        beta: positive float, the memory's time scale `beta`. Default 1.0.
        xi: non-negative float, `(R_off - R_on) / R_on`. Default 10.0.
        dt: positive float, the Euler step. Default 0.1.
        substeps: positive int, Euler steps per input step. Default 1.
        initial_memory: float in [0, 1], the initial memory state. Default 0.5.
        activation: applied to the sources `u W_in + b`. Default linear.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, kernel_constraint, bias_constraint, seed: as in
            `ZooCell` (`seed` also draws the random circuit).

    State: `[w]` with shape `(batch, units)`, memories in [0, 1].
    """

    default_activation = "linear"

    def __init__(self, units, num_nodes=None, edges=None, alpha=0.1, beta=1.0, xi=10.0,
                 dt=0.1, substeps=1, initial_memory=0.5, **kwargs):
        kwargs.pop("recurrent_initializer", None)
        for key in ("recurrent_regularizer", "recurrent_constraint"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"Received an invalid value for argument `{key}` of "
                    f"{type(self).__name__}: the circuit has no recurrent weights; expected "
                    f"None, got {kwargs[key]!r}."
                )
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        if edges is not None:
            edges = [[int(u), int(v)] for u, v in np.asarray(edges, dtype=int).tolist()]
            if len(edges) != self.units or any(u == v or min(u, v) < 0 for u, v in edges):
                raise ValueError(
                    f"Received an invalid value for argument `edges` of {owner}, expected "
                    f"{self.units} pairs [u, v] of distinct non-negative node ids, got "
                    f"{edges!r}."
                )
            num_nodes = max(max(pair) for pair in edges) + 1
        elif num_nodes is None:
            num_nodes = self.units // 2 + 1
        self.num_nodes = check_positive_int(owner, "num_nodes", num_nodes)
        if self.num_nodes < 2 or self.num_nodes > self.units + 1:
            raise ValueError(
                f"Received an invalid value for argument `num_nodes` of {owner}, expected "
                f"an int in [2, units + 1 = {self.units + 1}] (a connected graph), got "
                f"{num_nodes!r}."
            )
        self.edges = edges
        self.alpha = _check_float(owner, "alpha", alpha, 0.0, False,
                                  expected="a non-negative float")
        self.beta = _check_float(owner, "beta", beta, 0.0, True)
        self.xi = _check_float(owner, "xi", xi, 0.0, False, expected="a non-negative float")
        self.dt = _check_float(owner, "dt", dt, 0.0, True)
        self.substeps = check_positive_int(owner, "substeps", substeps)
        self.initial_memory = _check_float(owner, "initial_memory", initial_memory, 0.0,
                                           False, 1.0, "a float in [0, 1]")
        self.state_size = self.units
        self.output_size = self.units

    def circuit_edges(self):
        """The circuit's edges: `edges`, or the random graph drawn from `seed`."""
        if self.edges is not None:
            return self.edges
        seed = None if self.seed is None else self.seed + 500 * self.seed_stream
        rng = np.random.default_rng(seed)
        return random_circuit(self.units, self.num_nodes, rng)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight("kernel", (self.input_dim, self.units), "kernel")
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None
        projector = cycle_projector(self.circuit_edges(), self.num_nodes)
        self.cycle_projector = self.add_weight(
            shape=(self.units, self.units), name="cycle_projector", trainable=False,
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(projector, dtype),
        )

    def get_initial_state(self, batch_size=None):
        return [ops.full((batch_size, self.units), self.initial_memory, dtype=self.compute_dtype)]

    def derivative(self, memory, sources):
        """dw/dt = alpha w - (1/beta) (I + xi Omega W)^-1 Omega S."""
        omega = self.cycle_projector
        eye = ops.eye(self.units, dtype=memory.dtype)
        # (I + xi Omega W)^-1 Omega S = K^-1 Omega S with the SPD matrix
        # K = Omega D Omega + (I - Omega), D = I + xi W (both sides of the
        # solution lie in Omega's range).
        resistances = 1.0 + self.xi * memory
        # (batch, n, n) @ (n, n) as one 2-D product: the 3-D form goes through
        # `tensordot`, whose gradient inside the time loop XLA cannot compile.
        scaled = ops.reshape(omega[None] * resistances[:, None, :], (-1, self.units))
        spd = ops.reshape(ops.matmul(scaled, omega), (-1, self.units, self.units))
        spd = spd + (eye - omega)[None]
        currents = solve_spd(spd, ops.matmul(sources, omega))
        return self.alpha * memory - currents / self.beta

    def call(self, inputs, states, training=False):
        memory = states[0]
        sources = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            sources = sources + self.bias
        sources = self.activation(sources)
        def euler(_, w):
            return ops.clip(w + self.dt * self.derivative(w, sources), 0.0, 1.0)

        if self.substeps == 1:
            memory = euler(0, memory)
        else:
            memory = counted_loop(self.substeps, euler, memory)
        return memory, [memory]

    def get_config(self):
        config = super().get_config()
        for key in ("recurrent_initializer", "recurrent_regularizer", "recurrent_constraint"):
            config.pop(key, None)
        config.update(
            {
                "num_nodes": self.num_nodes,
                "edges": self.edges,
                "alpha": self.alpha,
                "beta": self.beta,
                "xi": self.xi,
                "dt": self.dt,
                "substeps": self.substeps,
                "initial_memory": self.initial_memory,
            }
        )
        return config


@zoo_layer("memristive")
class Memristive(ZooRNN):
    """Recurrent layer whose state is a memristive circuit's memory, driven by the input.

    A circuit graph has one memristor in series with a voltage source on each
    of its `units` edges. Memristor `i` has resistance
    `R_i = R_on (1 - w_i) + R_off w_i` with internal memory `w_i` in [0, 1].
    The input at step t sets the sources, `S_t = activation(u_t W_in + b)`
    (trainable `W_in`, `b`), and the memories follow the
    Caravelli-Traversa-Di Ventra equation

        dw/dt = alpha w - (1/beta) (I + xi Omega W)^-1 Omega S_t

    with `W = diag(w)`, `xi = (R_off - R_on) / R_on`, and `Omega` the
    orthogonal projector on the circuit's cycle space (Kirchhoff's laws), a
    non-trainable weight computed once from the graph (`Omega = I - B^+ B`
    for the incidence matrix B). Each input step takes `substeps` Euler steps

        w <- clip(w + dt * dw/dt, 0, 1)

    The linear solve uses the symmetric positive definite form
    `(Omega D Omega + I - Omega)^-1 Omega S` (`D = I + xi W`, the same vector)
    and an unrolled Gauss-Jordan elimination, so the layer exports to TFLite
    with builtin ops; its cost grows as `units^3` per step, so keep circuits
    small (tens of memristors). The output is the memory vector `w_t`.

    Args:
        units: int, the number of memristors.
        num_nodes: nodes of the random circuit graph, default `units // 2 + 1`
            (`units - num_nodes + 1` independent loops).
        edges: optional explicit circuit, `units` pairs `[u, v]`.
        alpha: float >= 0, default 0.1. beta: float > 0, default 1.0.
        xi: float >= 0, default 10.0. dt: float > 0, default 0.1.
        substeps: int, Euler steps per input step, default 1.
        initial_memory: float in [0, 1], the initial state, default 0.5.
        activation (default linear), use_bias (default True),
            kernel_initializer, bias_initializer, regularizers, constraints,
            seed: passed to `MemristiveCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list with the memories `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the state.
        training: bool (no effect).

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; the final memories follow with `return_state=True`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 5, 3), "float32")
    >>> layer = Memristive(6, seed=0, return_sequences=True)
    >>> tuple(layer(x).shape)          # (batch, timesteps, units)
    (2, 5, 6)

    Reference:
        Caravelli, F., Traversa, F. L. & Di Ventra, M. (2017). Complex
        dynamics of memristive circuits: analytical results and universal slow
        relaxation. Physical Review E 95, 022140.
    """

    cell_class = MemristiveCell

    def __init__(self, units, **kwargs):
        kwargs.pop("recurrent_initializer", None)
        super().__init__(units, **kwargs)

    def reset_state(self):
        """Resets a stateful layer's memories to `initial_memory` (not to zero)."""
        if self.states is not None:
            for state in self.states:
                state.assign(ops.full_like(state.value, self.cell.initial_memory))
