"""Neural network pushdown automaton: a recurrent controller driving a differentiable stack.

`NNPDACell` couples an Elman or LSTM controller to a continuous stack of
`stack_depth` slots of `stack_width` values. Two stack forms are offered:

- `stack="grefenstette"` (default): the neural stack of Grefenstette et al.
  (2015), the modern form of Sun et al.'s (1993) continuous stack. Every step
  pushes one value vector `v_t` with a push strength `d_t` in (0, 1) after
  popping a total strength `u_t` in (0, 1) off the top; the read is the
  strength-weighted sum of the values that make up the top unit of strength.
- `stack="joulin"`: the stack of Joulin & Mikolov (2015): a softmax over
  push / pop / no-op mixes the three shifted copies of the whole stack.

The state is carried flat (controller state, stack values, strengths, last
read), so the layer is a plain `keras.layers.RNN` and works with masking,
`stateful`, `Bidirectional`, stacking, saving and builtins-only TFLite export.
"""

import numpy as np

import keras
from keras import ops

from rnnzoo.layers.base import (
    ZooCell,
    ZooRNN,
    check_choice,
    check_positive_int,
    serializable,
    zoo_layer,
)

CONTROLLERS = ("lstm", "elman")
STACKS = ("grefenstette", "joulin")


@serializable
class NNPDACell(ZooCell):
    """One step of a neural network pushdown automaton (controller + continuous stack).

    Stack slots are numbered from the top: slot 0 holds the newest value,
    slot `stack_depth - 1` the oldest. `V_t` is `(stack_depth, stack_width)`,
    `s_t` `(stack_depth,)`; `[a, b]` is concatenation; `above_t[i] =
    sum_{j < i} s_t[j]` is the strength lying above slot i (an exclusive sum
    from the top, computed as a product with a constant triangular matrix).

    Controller, reading the input and the previous read `r_{t-1}`:

        h_t = elman or lstm step on [x_t, r_{t-1}]          (size `units`)

    Grefenstette et al. (2015) stack (`stack="grefenstette"`):

        d_t = sigmoid(h_t W_d + b_d)        push strength, scalar
        u_t = sigmoid(h_t W_u + b_u)        pop strength, scalar
        v_t = tanh(h_t W_v + b_v)           value pushed, (stack_width,)
        s'[i] = relu(s_{t-1}[i] - relu(u_t - above_{t-1}[i]))        pop
        V_t = [v_t, V_{t-1}[0 : D-1]],  s_t = [d_t, s'[0 : D-1]]     push
        r_t = sum_i min(s_t[i], relu(1 - above_t[i])) V_t[i]         read

    Joulin & Mikolov (2015) stack (`stack="joulin"`; `s_t` is not used):

        (a_push, a_pop, a_noop) = softmax(h_t W_a + b_a)
        v_t = tanh(h_t W_v + b_v)
        V_t = a_push [v_t, V_{t-1}[0 : D-1]] + a_pop [V_{t-1}[1 : D], 0]
              + a_noop V_{t-1}
        r_t = V_t[0]

    Output, from the controller and the read after this step's stack update:

        y_t = activation([h_t, r_t] W_o + b_o)              (size `units`)

    Fixed depth: Keras recurrent state has a fixed size, so the stack holds
    `stack_depth` slots (`D`). The Grefenstette stack writes one slot per step
    (a push of strength `d_t`, however small), so it keeps the values of the
    last `D` steps: the value written `D` steps ago falls off the bottom with
    its remaining strength. For sequences of at most `D` steps the stack is
    exactly the unbounded stack of the paper. The Joulin stack moves only when
    it pushes: a push drops the bottom slot, a pop brings in a zero vector
    (the empty-stack value), so `D` bounds the nesting depth, not the length.

    Args:
        units: int, controller units and output size.
        stack_depth: int, stack slots `D`. Default 16.
        stack_width: int, size of each stack value. Default 8.
        controller: `"lstm"` (default; Keras gate order i, f, c, o) or
            `"elman"` (`h_t = activation([x_t, r_{t-1}] W + h_{t-1} U + b)`).
        stack: `"grefenstette"` (default) or `"joulin"`.
        activation: the controller's cell/hidden activation and the output
            activation, default `"tanh"`.
        recurrent_activation: the LSTM gates' activation, default `"sigmoid"`.
        use_bias, *_initializer, *_regularizer, *_constraint, seed: as in
            `keras.layers.LSTMCell`; the stack-control and output weights use
            the `kernel` and `bias` settings.

    State: `[h]` (elman) or `[h, c]` (lstm), each `(batch, units)`; then the
    values `(batch, D * stack_width)` (slot-major), the strengths
    `(batch, D)` (grefenstette only) and the last read `(batch, stack_width)`.
    """

    def __init__(
        self,
        units,
        stack_depth=16,
        stack_width=8,
        controller="lstm",
        stack="grefenstette",
        recurrent_activation="sigmoid",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        self.stack_depth = check_positive_int(owner, "stack_depth", stack_depth)
        self.stack_width = check_positive_int(owner, "stack_width", stack_width)
        self.controller = check_choice(owner, "controller", controller, CONTROLLERS)
        self.stack = check_choice(owner, "stack", stack, STACKS)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        controller_sizes = [units, units] if controller == "lstm" else [units]
        stack_sizes = [self.stack_depth * self.stack_width]
        if self.stack == "grefenstette":
            stack_sizes.append(self.stack_depth)
        self.state_size = controller_sizes + stack_sizes + [self.stack_width]
        self.output_size = self.units
        # above = s @ strictly_upper: the strength in the slots above each slot.
        self._above = np.triu(np.ones((self.stack_depth, self.stack_depth), "float32"), k=1)

    @property
    def num_controller_states(self):
        return 2 if self.controller == "lstm" else 1

    def build(self, input_shape):
        super().build(input_shape)
        gates = 4 if self.controller == "lstm" else 1
        width, units = self.stack_width, self.units
        self.kernel = self.add_role_weight(
            "kernel", (self.input_dim + width, gates * units), "kernel"
        )
        self.recurrent_kernel = self.add_role_weight(
            "recurrent_kernel", (units, gates * units), "recurrent"
        )
        self.bias = (
            self.add_role_weight("bias", (gates * units,), "bias") if self.use_bias else None
        )
        controls = 2 if self.stack == "grefenstette" else 3
        self.stack_kernel = self.add_role_weight(
            "stack_kernel", (units, controls + width), "kernel"
        )
        self.stack_bias = (
            self.add_role_weight("stack_bias", (controls + width,), "bias")
            if self.use_bias
            else None
        )
        self.output_kernel = self.add_role_weight("output_kernel", (units + width, units), "kernel")
        self.output_bias = (
            self.add_role_weight("output_bias", (units,), "bias") if self.use_bias else None
        )

    def _affine(self, inputs, kernel, bias):
        out = ops.matmul(inputs, kernel)
        return out + bias if bias is not None else out

    def _controller_step(self, inputs, states):
        pre = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
        if self.use_bias:
            pre = pre + self.bias
        if self.controller == "elman":
            hidden = self.activation(pre)
            return hidden, [hidden]
        i, f, g, o = ops.split(pre, 4, axis=-1)
        cell = self.recurrent_activation(f) * states[1] + self.recurrent_activation(
            i
        ) * self.activation(g)
        hidden = self.recurrent_activation(o) * self.activation(cell)
        return hidden, [hidden, cell]

    def _push(self, values, value):
        """[v, V[0 : D-1]]: the new value on top, the bottom slot dropped."""
        if self.stack_depth == 1:
            return value[:, None, :]
        return ops.concatenate([value[:, None, :], values[:, :-1]], axis=1)

    def _grefenstette(self, controls, values, strengths):
        above_matrix = ops.convert_to_tensor(self._above, dtype=strengths.dtype)
        push = ops.sigmoid(controls[:, 0:1])
        pop = ops.sigmoid(controls[:, 1:2])
        value = ops.tanh(controls[:, 2:])
        above = ops.matmul(strengths, above_matrix)
        popped = ops.relu(strengths - ops.relu(pop - above))
        values = self._push(values, value)
        if self.stack_depth == 1:
            strengths = push
        else:
            strengths = ops.concatenate([push, popped[:, :-1]], axis=1)
        above = ops.matmul(strengths, above_matrix)
        weights = ops.minimum(strengths, ops.relu(1.0 - above))
        read = ops.sum(weights[:, :, None] * values, axis=1)
        return values, strengths, read

    def _joulin(self, controls, values):
        actions = ops.softmax(controls[:, :3], axis=-1)
        value = ops.tanh(controls[:, 3:])
        pushed = self._push(values, value)
        if self.stack_depth == 1:
            popped = ops.zeros_like(values)
        else:
            popped = ops.concatenate([values[:, 1:], ops.zeros_like(values[:, :1])], axis=1)
        values = (
            actions[:, 0:1, None] * pushed
            + actions[:, 1:2, None] * popped
            + actions[:, 2:3, None] * values
        )
        return values, values[:, 0]

    def call(self, inputs, states, training=False):
        count = self.num_controller_states
        read = states[-1]
        hidden, controller_states = self._controller_step(
            ops.concatenate([inputs, read], axis=-1), states[:count]
        )
        depth, width = self.stack_depth, self.stack_width
        values = ops.reshape(states[count], (-1, depth, width))
        controls = self._affine(hidden, self.stack_kernel, self.stack_bias)
        if self.stack == "grefenstette":
            values, strengths, read = self._grefenstette(controls, values, states[count + 1])
            stack_states = [ops.reshape(values, (-1, depth * width)), strengths]
        else:
            values, read = self._joulin(controls, values)
            stack_states = [ops.reshape(values, (-1, depth * width))]
        output = self.activation(
            self._affine(
                ops.concatenate([hidden, read], axis=-1), self.output_kernel, self.output_bias
            )
        )
        return output, controller_states + stack_states + [read]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stack_depth": self.stack_depth,
                "stack_width": self.stack_width,
                "controller": self.controller,
                "stack": self.stack,
                "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            }
        )
        return config


@zoo_layer("nnpda")
class NNPDA(ZooRNN):
    """Neural network pushdown automaton (stack-augmented RNN) layer.

    A recurrent controller (LSTM or Elman) reads the input and the stack's
    last read, then pushes onto and pops off a continuous, differentiable
    stack of `stack_depth` slots; the output combines the controller and the
    new read (see `NNPDACell` for the equations, the fixed-depth rule and all
    cell arguments).

    Args:
        units: int, controller units and output size.
        stack_depth: int, stack slots, default 16. The default Grefenstette
            stack keeps the last `stack_depth` steps' pushes, so set it to the
            longest sequence for the paper's unbounded stack; the Joulin stack
            needs only the deepest nesting.
        stack_width: int, size of each stack value, default 8.
        controller: `"lstm"` (default) or `"elman"`.
        stack: `"grefenstette"` (default, Grefenstette et al. 2015) or
            `"joulin"` (Joulin & Mikolov 2015).
        activation, recurrent_activation, use_bias, initializers,
            regularizers, constraints, seed: passed to `NNPDACell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list of tensors shaped like the state (see
            `NNPDACell`); by default an empty stack and zero controller.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state (stack included) and repeat the previous output.
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; with `return_state=True` the final states follow:
    controller `h` (and `c` for lstm) `(batch, units)`, stack values
    `(batch, stack_depth * stack_width)`, strengths `(batch, stack_depth)`
    (grefenstette only) and the last read `(batch, stack_width)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 7, 3), "float32")
    >>> tuple(NNPDA(6, stack_depth=4, stack_width=2)(x).shape)
    (2, 6)
    >>> y, h, c, values, strengths, read = NNPDA(
    ...     6, stack_depth=4, stack_width=2, return_sequences=True, return_state=True)(x)
    >>> tuple(y.shape), tuple(values.shape), tuple(strengths.shape), tuple(read.shape)
    ((2, 7, 6), (2, 8), (2, 4), (2, 2))
    >>> y, h, values, read = NNPDA(6, stack_depth=4, stack_width=2, controller="elman",
    ...                            stack="joulin", return_state=True)(x)
    >>> tuple(y.shape), tuple(values.shape), tuple(read.shape)
    ((2, 6), (2, 8), (2, 2))

    References:
        Sun, G. Z., Giles, C. L., Chen, H. H. & Lee, Y. C. (1993). The neural
        network pushdown automaton: model, stack and learning simulations.
        UMIACS-TR-93-77, University of Maryland.
        Grefenstette, E., Hermann, K. M., Suleyman, M. & Blunsom, P. (2015).
        Learning to transduce with unbounded memory. NeurIPS 2015.
        Joulin, A. & Mikolov, T. (2015). Inferring algorithmic patterns with
        stack-augmented recurrent nets. NeurIPS 2015.
    """

    cell_class = NNPDACell

    @property
    def stack_depth(self):
        return self.cell.stack_depth

    @property
    def stack_width(self):
        return self.cell.stack_width
