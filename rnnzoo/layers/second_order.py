"""Second-order recurrent network: multiplicative state-input weights (Giles et al. 1992)."""

import numpy as np
from keras import ops

from rnnzoo.layers.base import ZooCell, ZooRNN, input_drive, serializable, zoo_layer


@serializable
class SecondOrderCell(ZooCell):
    """One step of a second-order recurrent network.

    Every weight couples one state unit with one input feature, so the input
    selects the state transition, as a symbol does in a finite automaton:

        S_i(t+1) = g( sum_{j,k} W_ijk S_j(t) I_k(t) + b_i )

    `W` is the 3-D `kernel` of shape `(units, features, units)`, indexed
    `kernel[j, k, i]` (from state unit `j` and input feature `k` to unit `i`).
    The step is one matrix product: the outer product `S(t) I(t)^T` is
    flattened to `(batch, units * features)` and multiplied by `W` reshaped to
    `(units * features, units)`, `O(units^2 * features)` per example, the same
    cost as the double sum and a single GEMM (no einsum, so it also exports
    to builtin TFLite ops).

    Giles et al. feed one-hot symbols (`I_k(t) = 1` for the current symbol);
    that encoding is the caller's choice: any real-valued features work, and
    a one-hot input makes `W[:, k, :]` the transition matrix of symbol `k`.

    Args:
        units: int, state units.
        activation: `g`, default `"sigmoid"` (the paper's choice).
        use_bias: bool, default `True`.
        kernel_initializer: for `W`, default `"glorot_uniform"` (fan-in
            `units * features`).
        bias_initializer, kernel_regularizer, bias_regularizer,
            kernel_constraint, bias_constraint, seed: as in
            `keras.layers.SimpleRNNCell`. There is no separate recurrent
            matrix, so the `recurrent_*` arguments are accepted and unused.

    State: `[S]` with shape `(batch, units)`. Unless an initial state is
    given, the cell starts from `S(0) = (1, 0, ..., 0)`: one unit on, the
    start state of the automaton. From an all-zero state every product term
    vanishes and the first input could not reach the state.
    """

    default_activation = "sigmoid"

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_role_weight(
            "kernel", (self.units, self.input_dim, self.units), "kernel"
        )
        self.bias = self.add_role_weight("bias", (self.units,), "bias") if self.use_bias else None

    def start_state(self, batch_size):
        """`(batch_size, units)` copies of the start state `(1, 0, ..., 0)`."""
        start = np.zeros((1, self.units), dtype=self.compute_dtype)
        start[0, 0] = 1.0
        return ops.broadcast_to(ops.convert_to_tensor(start), (batch_size, self.units))

    def get_initial_state(self, batch_size=None):
        return [self.start_state(batch_size)]

    def call(self, inputs, states, training=False):
        state = states[0]
        pairs = ops.expand_dims(state, 2) * ops.expand_dims(inputs, 1)
        pairs = ops.reshape(pairs, (-1, self.units * self.input_dim))
        weights = ops.reshape(self.kernel, (self.units * self.input_dim, self.units))
        pre = input_drive(pairs, weights, self.bias)
        new_state = self.activation(pre)
        return new_state, [new_state]


@zoo_layer("second_order")
class SecondOrder(ZooRNN):
    """Second-order recurrent layer (Giles et al.), the classic automaton learner.

    Each state unit is updated from products of the previous state and the
    current input, through a 3-D weight tensor `kernel` `(units, features,
    units)` and a bias: `S_i(t+1) = g(sum_jk W_ijk S_j(t) I_k(t) + b_i)` (see
    `SecondOrderCell`). With one-hot symbols as input, each symbol selects its
    own state-transition matrix, which is why such networks learn regular
    grammars (Tomita) and why automata can be extracted from them.

    Cost: a step has `units^2 * features` multiply-adds per example. On CPU
    it serves at about the cost of a Keras LSTM of the same multiply-adds
    and trains at 1.5x to 1.6x, through the shapes of its gradient's products
    (`benchmarks/second_order_products.py`, `benchmarks/README.md`).

    Args:
        units: int, state units.
        activation: default `"sigmoid"`.
        use_bias, kernel_initializer (default `"glorot_uniform"`),
            bias_initializer, regularizers, constraints, seed: passed to
            `SecondOrderCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`, typically
            one-hot symbols.
        initial_state: optional list with `S(0)` `(batch, units)`; default
            `(1, 0, ..., 0)` for every example (also after `reset_state()`).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)` (the state
    itself); the final state `(batch, units)` follows with `return_state=True`.

    Example:

    >>> import numpy as np
    >>> symbols = np.eye(2, dtype="float32")[[[0, 1, 1, 0], [1, 1, 1, 1]]]
    >>> tuple(symbols.shape)
    (2, 4, 2)
    >>> tuple(SecondOrder(6, return_sequences=True)(symbols).shape)
    (2, 4, 6)

    Reference:
        Giles, C. L., Miller, C. B., Chen, D., Chen, H. H., Sun, G. Z. &
        Lee, Y. C. (1992). Learning and extracting finite state automata with
        second-order recurrent neural networks. Neural Computation 4(3).
    """

    cell_class = SecondOrderCell

    def reset_state(self):
        # keras.layers.RNN resets to zeros; this network starts from S(0).
        if self.states is not None:
            for variable in self.states:
                variable.assign(self.cell.start_state(variable.shape[0]))
