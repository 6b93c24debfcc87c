"""What every step-wise zoo variant shares: registration, a cell base, a thin RNN layer.

A variant module writes its `<Variant>Cell` on top of `ZooCell` (which resolves
the usual Keras arguments: activation, initializers, regularizers, constraints,
seed) and its `<Variant>` layer as a subclass of `ZooRNN` that only names the
cell class. `ZooRNN` is a `keras.layers.RNN`, so `return_sequences`,
`return_state`, `go_backwards`, `stateful`, masking, `Bidirectional` and
stacking behave as they do for `keras.layers.SimpleRNN`.
"""

import contextlib

import keras
from keras import ops

from rnnzoo import registry

PACKAGE = "rnnzoo"


def zoo_layer(name, aliases=()):
    """Class decorator: registers a layer for Keras serialization and in the zoo.

    The Keras name is `rnnzoo>ClassName`; the zoo name (`name`) is what
    `rnnzoo.list_layers()` shows and `rnnzoo.get_layer()` takes.
    """

    def decorate(cls):
        keras.saving.register_keras_serializable(package=PACKAGE)(cls)
        registry.LAYERS.register(name, cls, aliases=aliases)
        cls.zoo_name = name
        return cls

    return decorate


def serializable(cls):
    """Registers a helper class (cell, constraint) for Keras serialization only."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


def check_choice(owner, argument, value, choices):
    """Returns `value` if it is one of `choices`, else raises a `ValueError`."""
    if value not in choices:
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, "
            f"expected one of {list(choices)}, got {value!r}."
        )
    return value


def layer_owner(layer):
    """How error messages name a layer: `layer 'name' (ClassName)`."""
    return f"layer '{layer.name}' ({type(layer).__name__})"


def check_rank(layer, shape, axes, what=None):
    """Raises a `ValueError` unless `shape` has one dimension per name in `axes`."""
    if len(shape) != len(axes):
        subject = f"Input {what}" if what else "Input"
        raise ValueError(
            f"{subject} of {layer_owner(layer)} must be a {len(axes)}-D tensor "
            f"({', '.join(axes)}), got a {len(shape)}-D input with shape {tuple(shape)}."
        )


def cast_numeric(layer, tensor):
    """`tensor` in the layer's compute dtype; strings are refused by name."""
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if dtype == "string":
        raise ValueError(
            f"Input of {layer_owner(layer)} must be numeric, got dtype {dtype}."
        )
    if dtype != layer.compute_dtype:
        tensor = ops.cast(tensor, layer.compute_dtype)
    return tensor


def check_positive_int(owner, argument, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, "
            f"expected a positive integer, got {value!r}."
        )
    return value


def check_fraction(owner, argument, value, high_inclusive=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and 0.0 <= value and (value <= 1.0 if high_inclusive else value < 1.0)
    if not ok:
        bound = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, "
            f"expected a float in {bound}, got {value!r}."
        )
    return float(value)


def input_drive(inputs, kernel, bias=None):
    """`inputs @ kernel + bias` (no bias if None): a step's affine input term.

    Add a step's recurrent term to this sum, not before the bias: on CPU
    TensorFlow fuses a product followed by the add of a vector into one
    kernel (`_FusedMatMul`, as in Keras' `SimpleRNNCell`), which a bias
    added after the recurrent term misses (serving 3-6% slower,
    `benchmarks/README.md`).
    """
    drive = ops.matmul(inputs, kernel)
    return drive if bias is None else ops.add(drive, bias)


def counted_loop(count, body, initial):
    """`value = body(i, value)` for `i` in `range(count)`, as one loop with a bound.

    `keras.ops.fori_loop` leaves its `while` loop unbounded, and XLA (which
    Keras uses for `fit` on a GPU by default) cannot compile the gradient of
    an unbounded loop; the bound `maximum_iterations=count` lets it. `count`
    is an int or a scalar tensor.
    """
    _, value = ops.while_loop(
        lambda i, _: i < count,
        lambda i, value: (i + 1, body(i, value)),
        (0, initial),
        maximum_iterations=count,
    )
    return value


def split_evenly(total, parts):
    """`total` units in `parts` groups whose sizes differ by at most one, larger first."""
    return tuple(total // parts + (1 if i < total % parts else 0) for i in range(parts))


_ROLES = ("kernel", "recurrent", "bias")


class ZooCell(keras.layers.Layer):
    """Base of the zoo's recurrent cells: holds the standard Keras arguments.

    Subclasses set `state_size` and `output_size` in `__init__`, create their
    weights in `build` with `self.add_role_weight(...)`, and implement
    `call(inputs, states, training=False) -> (output, new_states)`.

    Work that depends on the weights alone (a masked kernel, rates from
    learned time constants) can be taken out of the time loop: a cell that
    overrides `loop_constants()` reads them in `call` with
    `self.step_constants()`. Run by `ZooRNN` (or `StackedRNN`), they are
    computed once per layer call, before the loop (and their gradient is
    formed once, after it);
    called on its own (or in a plain `keras.layers.RNN`, `StackedRNNCells`),
    the cell computes them at every step. The numbers are the same either way.

    Loop constants named in `per_example_constants` (vectors that scale the
    state element-wise) are broadcast to `(batch, ...)` before the loop; see
    the comment there.

    A cell whose output is a function of its new state that the next step
    computes again (the CTRNN's `sigma(x_t)`) may set `can_lag_output` and
    implement `output_of_states`; see the comment at `can_lag_output`. A
    cell whose step starts with work on its input alone may set
    `prepares_inputs`; see the comment there.

    Args:
        units: int, the number of hidden units.
        activation: hidden activation. Default `"tanh"`.
        use_bias: bool, whether the hidden units have a bias. Default `True`.
        kernel_initializer, recurrent_initializer, bias_initializer:
            initializers of the input, recurrent and bias weights.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            optional regularizers, same roles.
        kernel_constraint, recurrent_constraint, bias_constraint:
            optional constraints, same roles.
        seed: optional int; seeds every initializer that takes a seed, so
            two cells built with the same seed have identical weights.
    """

    default_activation = "tanh"
    default_recurrent_initializer = "orthogonal"

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = check_positive_int(owner, "units", units)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"Received an invalid value for argument `seed` of {owner}, "
                f"expected an integer or None, got {seed!r}."
            )
        self.seed = seed
        self.activation = keras.activations.get(
            self.default_activation if activation is None else activation
        )
        self.use_bias = bool(use_bias)
        if recurrent_initializer is None:
            recurrent_initializer = self.default_recurrent_initializer
        self.initializers = {
            "kernel": keras.initializers.get(kernel_initializer),
            "recurrent": keras.initializers.get(recurrent_initializer),
            "bias": keras.initializers.get(bias_initializer),
        }
        self.regularizers = {
            "kernel": keras.regularizers.get(kernel_regularizer),
            "recurrent": keras.regularizers.get(recurrent_regularizer),
            "bias": keras.regularizers.get(bias_regularizer),
        }
        self.constraints = {
            "kernel": keras.constraints.get(kernel_constraint),
            "recurrent": keras.constraints.get(recurrent_constraint),
            "bias": keras.constraints.get(bias_constraint),
        }
        self.input_dim = None
        self._seed_offset = 0
        # Set by ZooRNN around its time loop (see `step_constants`); not tracked.
        object.__setattr__(self, "_hoisted", None)
        object.__setattr__(self, "_lagging_output", False)  # see `can_lag_output`
        object.__setattr__(self, "_inputs_prepared", False)  # see `prepares_inputs`
        # 1 for a layer running backwards: Bidirectional copies the config
        # (seed included), and both directions must not start identical.
        self.seed_stream = 0

    def _seeded(self, initializer):
        """A copy of `initializer` seeded from `self.seed` (one offset per weight)."""
        if self.seed is None:
            return initializer
        config = initializer.get_config()
        if "seed" not in config:
            return initializer
        self._seed_offset += 1
        config["seed"] = self.seed * 1000 + 500 * self.seed_stream + self._seed_offset
        return initializer.__class__.from_config(config)

    def add_role_weight(self, name, shape, role, initializer=None):
        """Adds a weight that uses the initializer/regularizer/constraint of `role`."""
        if role not in _ROLES:
            raise ValueError(f"Unknown weight role {role!r}; expected one of {_ROLES}.")
        initializer = self.initializers[role] if initializer is None else initializer
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=self._seeded(keras.initializers.get(initializer)),
            regularizer=self.regularizers[role],
            constraint=self.constraints[role],
        )

    def build(self, input_shape):
        self.input_dim = int(input_shape[-1])
        self._seed_offset = 0

    def loop_constants(self):
        """Tensors a step needs that depend on the weights only (default: none)."""
        return {}

    def read_weights(self, *names):
        """The named weights (attributes; None ones left out) as tensors.

        For `loop_constants`: a weight read there is read once per layer
        call, where a read inside the time loop is a node at every step.
        """
        return {name: ops.copy(getattr(self, name)) for name in names
                if getattr(self, name) is not None}

    # Loop constants (by name), vectors that a step multiplies element-wise
    # with its `(batch, n)` state: the CTRNN's and MTRNN's leak, the IndRNN's
    # recurrent weights. A `ZooRNN` (and a `StackedRNN`) holds them broadcast
    # to `(batch, n)`, once before its loop. The numbers are the same; a step
    # is cheaper both ways on CPU: TensorFlow multiplies equal shapes faster
    # than it broadcasts a vector, and the backward loop no longer sums each
    # step's gradient of the vector over the batch (with its shape
    # bookkeeping) but keeps one running `(batch, n)` sum, reduced once after
    # the loop. Measured: CTRNN training 1.07x the equal-FLOPs built-in
    # instead of 1.11x, IndRNN training 0.84x instead of 0.89x
    # (`benchmarks/README.md`). Not for a bias added to `x W` (TensorFlow
    # fuses that add into the product), and the peephole LSTM's and the
    # LN-LSTM's vectors measured no faster this way.
    per_example_constants = ()

    def step_constants(self):
        """The loop constants: those of the running `ZooRNN` loop, else fresh ones."""
        if self._hoisted is not None:
            return self._hoisted
        return self.loop_constants()

    # A cell whose output is a function of its new state that its next step
    # computes again anyway (the CTRNN's output is sigma(x_t), and the next
    # step's recurrence needs sigma(x_t)) can set this and implement
    # `output_of_states`: while `self._lagging_output` is set, its step returns
    # that recomputed value, the *previous* step's output, as its output, and
    # `ZooRNN` (for a last-output run without a mask) forms the last output
    # once after the loop from the final states. One activation per step fewer.
    can_lag_output = False

    def output_of_states(self, states):
        """The step's output from its new `states`, for `can_lag_output` cells.

        Default: the activation of the first state (the CTRNN's `sigma(x_t)`).
        """
        return self.activation(states[0])

    # A cell whose step starts by transforming its input alone (neither the
    # state nor the step's position enters: the LN-LSTM's per-example input
    # scale) can set this and implement `prepare_inputs`: `ZooRNN` (and a
    # `StackedRNN`, for its first cell) then applies it to the whole sequence
    # before the loop, a few batched ops in place of as many per step, and
    # the step reads its input through `step_inputs`. A bare cell prepares
    # each step's input itself; the numbers are the same either way.
    prepares_inputs = False

    def prepare_inputs(self, inputs):
        """The transformed input, for `prepares_inputs` cells; any leading axes."""
        return inputs

    def step_inputs(self, inputs):
        """`inputs` as prepared: by the running `ZooRNN` before its loop, else here."""
        return inputs if self._inputs_prepared else self.prepare_inputs(inputs)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "seed": self.seed,
            }
        )
        for role in _ROLES:
            config[f"{role}_initializer"] = keras.initializers.serialize(self.initializers[role])
            config[f"{role}_regularizer"] = keras.regularizers.serialize(self.regularizers[role])
            config[f"{role}_constraint"] = keras.constraints.serialize(self.constraints[role])
        return config


def _per_example(cell, constants, batch_size):
    """`constants` with those named in `cell.per_example_constants` broadcast to `(batch, ...)`."""
    return {
        name: ops.broadcast_to(value, (batch_size, *value.shape))
        if name in cell.per_example_constants and value is not None else value
        for name, value in constants.items()
    }


@contextlib.contextmanager
def holding_loop_constants(cells, batch_size=None):
    """Computes each zoo cell's loop constants once and holds them while the block runs.

    Inside the block a cell's `step_constants()` returns the held tensors
    (other cells are left alone); afterwards the cells compute their own again.
    Given `batch_size`, the constants a cell names in `per_example_constants`
    are held broadcast to `(batch_size, ...)`.
    """
    zoo_cells = [cell for cell in cells if isinstance(cell, ZooCell)]
    for cell in zoo_cells:
        constants = cell.loop_constants() or {}
        if batch_size is not None:
            constants = _per_example(cell, constants, batch_size)
        object.__setattr__(cell, "_hoisted", constants)
    try:
        yield
    finally:
        for cell in zoo_cells:
            object.__setattr__(cell, "_hoisted", None)


@contextlib.contextmanager
def preparing_inputs(cell, sequences):
    """Yields `sequences` as `cell` prepares them (`ZooCell.prepares_inputs`)
    and tells the cell, while the block runs, that its step inputs come
    prepared; other cells get `sequences` unchanged. Enter it inside
    `holding_loop_constants`: the preparation may read loop constants.
    """
    if not (isinstance(cell, ZooCell) and cell.prepares_inputs):
        yield sequences
        return
    prepared = cell.prepare_inputs(sequences)
    object.__setattr__(cell, "_inputs_prepared", True)
    try:
        yield prepared
    finally:
        object.__setattr__(cell, "_inputs_prepared", False)


@contextlib.contextmanager
def lagging_output(cell, lag):
    """Lets `cell` return the previous step's output while the block runs (if `lag`)."""
    object.__setattr__(cell, "_lagging_output", bool(lag))
    try:
        yield
    finally:
        object.__setattr__(cell, "_lagging_output", False)


@contextlib.contextmanager
def unrolled_if_one_step(layer, sequences):
    """Runs a `keras.layers.RNN` unrolled while the block runs, if `sequences` has one step.

    A one-step sequence (each step of an autoregressive roll-out) needs no
    `while` loop: unrolled, Keras calls the cell once, with the same numbers.
    Tracing and running are faster: an autoregressive `Forecaster` of 20
    steps over `lstm` (32 units) takes 3.0 s instead of 10.7 s for its first
    `fit` epoch (`benchmarks/rollout_trace.py`). The layer's `unroll`
    setting is restored afterwards.
    """
    steps = sequences.shape[1]
    switch = steps == 1 and not layer.unroll
    if switch:
        layer.unroll = True
    try:
        yield
    finally:
        if switch:
            layer.unroll = False


_RNN_ARGUMENTS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
_LAYER_ARGUMENTS = ("name", "dtype", "trainable", "input_shape", "batch_size", "input_dim")


class ZooRNN(keras.layers.RNN):
    """A thin `keras.layers.RNN` around one zoo cell, with a flat config.

    Every keyword that is not an RNN or a base-layer argument goes to the cell,
    so `Elman(32, activation="relu", return_sequences=True)` reads like
    `keras.layers.SimpleRNN`. `from_config` is simply `cls(**config)`.

    Bad input fails early: a `ValueError` that names the layer, what it expected
    and what it got (wrong rank, wrong feature size, an empty time axis, string
    dtype). Integer and boolean inputs are cast to the layer's compute dtype.
    """

    cell_class = None

    def __init__(self, units, **kwargs):
        rnn_kwargs = {k: kwargs.pop(k) for k in _RNN_ARGUMENTS if k in kwargs}
        layer_kwargs = {k: kwargs.pop(k) for k in _LAYER_ARGUMENTS if k in kwargs}
        cell = self.cell_class(
            units,
            dtype=layer_kwargs.get("dtype"),
            trainable=layer_kwargs.get("trainable", True),
            name=f"{self.zoo_name}_cell",
            **kwargs,
        )
        cell.seed_stream = int(bool(rnn_kwargs.get("go_backwards", False)))
        super().__init__(cell, **rnn_kwargs, **layer_kwargs)

    @property
    def units(self):
        return self.cell.units

    def _check_sequences(self, shape):
        owner = layer_owner(self)
        check_rank(self, shape, ("batch", "timesteps", "features"))
        if shape[1] == 0:
            raise ValueError(
                f"Input of {owner} has an empty time axis (shape {tuple(shape)}); "
                "expected at least one timestep."
            )
        if shape[2] is None:
            raise ValueError(
                f"Input of {owner} must have a known feature size, got shape {tuple(shape)}."
            )
        expected = self.cell.input_dim
        if expected is not None and shape[2] != expected:
            raise ValueError(
                f"Input of {owner} must have {expected} features (last axis), "
                f"as when the layer was built; got shape {tuple(shape)}."
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_sequences(sequences_shape)
        super().build(sequences_shape, initial_state_shape)
        # Some cells know their state size only once built (a delay line holds
        # input features); refresh the copy keras.layers.RNN took at construction.
        sizes = self.cell.state_size
        self.state_size = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]

    def _checked_sequences(self, sequences):
        """Validates the input and casts integers and booleans to the compute dtype."""
        self._check_sequences(sequences.shape)
        return cast_numeric(self, sequences)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(
            self._checked_sequences(sequences),
            initial_state=initial_state,
            mask=mask,
            training=training,
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # The cell's loop constants are computed once, outside the time loop
        # (see `ZooCell.step_constants`). (Hoisting the input projection `x W`
        # for all steps as well was measured slower on CPU: the wide projected
        # sequence costs more to slice and to differentiate than it saves.)
        # Only the last output is kept and, without a mask, it is the output
        # of the final state: a cell that can lag its output skips forming it
        # at every step (see `ZooCell.can_lag_output`). Work on the input
        # alone, beside the projection, is done for all steps at once
        # (`ZooCell.prepares_inputs`).
        lag = self.cell.can_lag_output and mask is None and not self.return_sequences
        # (`sequences` is a tuple for some cells: the clockwork's inputs and tick flags.)
        batch_size = ops.shape(keras.tree.flatten(sequences)[0])[0]
        with holding_loop_constants([self.cell], batch_size), lagging_output(self.cell, lag), \
                unrolled_if_one_step(self, sequences), \
                preparing_inputs(self.cell, sequences) as sequences:
            last_output, outputs, states = super().inner_loop(
                sequences, initial_state, mask, training=training
            )
        if lag:
            last_output = self.cell.output_of_states(states)
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, states

    def get_config(self):
        config = super().get_config()
        cell_config = dict(self.cell.get_config())
        for key in ("name", "dtype", "trainable"):
            cell_config.pop(key, None)
        del config["cell"]
        config.update(cell_config)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
