"""Closed-form readout training for reservoirs, and closed-loop generation.

`fit_ridge_readout` runs a model up to its `keras.layers.Dense` readout (in
batches, in inference mode, no gradients), solves the ridge regression for the
readout in float64 NumPy and writes the solution into the Dense layer. The
model stays an ordinary Keras model: it saves, exports and fine-tunes by
gradient (`model.fit`) like any other.

Why float64: the normal equations square the condition number of the state
matrix. Reservoir states are strongly correlated, so in float32 (7 digits) the
solution of `(X'X + ridge I) W = X'Y` is often mostly rounding error; in
float64 (16 digits) it is accurate for condition numbers of X up to ~1e6
(`solver="lstsq"` avoids squaring it altogether).

`generate` runs a trained one-step predictor in closed loop: after a
teacher-forced warmup, each prediction is fed back as the next input, using
a stateful copy of the model (the original is left untouched).
"""

import weakref

import keras
import numpy as np

SOLVERS = ("auto", "normal", "lstsq")
# Readout activations whose inverse maps targets into the regression's space
# (Jaeger 2001, eq. 10: fit f_out^-1(y) linearly).
_INVERSES = {
    "linear": (None, lambda y: y),
    "tanh": ((-1.0, 1.0), np.arctanh),
    "sigmoid": ((0.0, 1.0), lambda y: np.log(y) - np.log1p(-y)),
}


def _check_non_negative_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected a "
            f"non-negative integer, got {value!r}."
        )
    return int(value)


def _check_positive_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected a "
            f"positive integer, got {value!r}."
        )
    return int(value)


def ridge_regression(features, targets, ridge=0.0, use_bias=True, solver="auto"):
    """Solves `min ||X W + b - Y||^2 + ridge * ||W||^2` in float64.

    The bias `b` is not penalised: with `use_bias`, `X` and `Y` are centred
    first and `b = mean(Y) - mean(X) W`.

    Args:
        features: array `(samples, features)` (cast to float64).
        targets: array `(samples, outputs)` or `(samples,)`.
        ridge: non-negative float, the L2 penalty (Tikhonov regularisation).
        use_bias: bool, fit an unpenalised intercept. Default True.
        solver: `"normal"` (normal equations `(X'X + ridge I) W = X'Y`, one
            float64 solve: the fast choice), `"lstsq"` (SVD least squares of the
            ridge-augmented system `[X; sqrt(ridge) I] W = [Y; 0]`: slower, but
            never squares the condition number; with `ridge=0` it returns the
            minimum-norm solution), or `"auto"` (default: `"normal"` when
            `ridge > 0`, else `"lstsq"`).

    Returns:
        `(weights, bias)`: float64 arrays `(features, outputs)` and
        `(outputs,)` (`bias` is None without `use_bias`); for 1-D targets the
        output axis is dropped.

    Raises:
        ValueError: for mismatched shapes, non-finite values, a negative
            `ridge` or an unknown solver.
    """
    # Copies (centring below is in place and must not touch the caller's arrays).
    X = np.array(features, np.float64)
    Y = np.array(targets, np.float64)
    vector = Y.ndim == 1
    if vector:
        Y = Y[:, None]
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
        raise ValueError(
            "Expected `features` (samples, features) and `targets` (samples, outputs) "
            f"with the same, non-zero number of samples; got {X.shape} and "
            f"{np.shape(targets)}."
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ValueError("`features` and `targets` must be finite (found NaN or inf).")
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
        raise ValueError(
            f"Received an invalid value for argument `ridge`, expected a non-negative "
            f"float, got {ridge!r}."
        )
    if solver not in SOLVERS:
        raise ValueError(
            f"Received an invalid value for argument `solver`, expected one of "
            f"{list(SOLVERS)}, got {solver!r}."
        )
    if solver == "auto":
        solver = "normal" if ridge > 0 else "lstsq"
    if use_bias:
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        X -= x_mean
        Y -= y_mean
    num_features = X.shape[1]
    if solver == "normal":
        gram = X.T @ X
        gram[np.diag_indices(num_features)] += ridge
        try:
            W = np.linalg.solve(gram, X.T @ Y)
        except np.linalg.LinAlgError:
            raise ValueError(
                "The normal equations are singular; use ridge > 0 or solver='lstsq'."
            ) from None
    else:
        if ridge > 0:
            X = np.concatenate([X, np.sqrt(ridge) * np.eye(num_features)])
            Y = np.concatenate([Y, np.zeros((num_features, Y.shape[1]))])
        W = np.linalg.lstsq(X, Y, rcond=None)[0]
    bias = (y_mean - x_mean @ W) if use_bias else None
    if vector:
        W = W[:, 0]
        bias = None if bias is None else bias[0]
    return W, bias


def ridge_readout_model(reservoir, input_dim, output_dim, include_inputs=False,
                        use_bias=True, activation=None, name="ridge_readout"):
    """`Input -> reservoir -> [concatenate the inputs] -> Dense readout`, a Keras model.

    Args:
        reservoir: a recurrent layer (an `rnnzoo.layers.ESN`, or any layer
            mapping `(batch, time, input_dim)` to `(batch, time, units)` or
            `(batch, units)`); it is used as given.
        input_dim: int, the number of input features.
        output_dim: int, the number of outputs.
        include_inputs: bool, feed the readout `[states; inputs]` (the
            direct input-to-output connections of Jaeger 2001). Needs a
            reservoir that returns sequences. Default False.
        use_bias: bool, the readout's bias. Default True.
        activation: the readout's output function: None/"linear" (default),
            "tanh" or "sigmoid" (fitted on the inverse-transformed targets).
        name: the model's name.

    Returns:
        An unfitted `keras.Model`; its last layer is the `Dense` readout.
    """
    input_dim = _check_positive_int("input_dim", input_dim)
    output_dim = _check_positive_int("output_dim", output_dim)
    inputs = keras.Input((None, input_dim), name="inputs")
    states = reservoir(inputs)
    if include_inputs:
        if len(states.shape) != 3:
            raise ValueError(
                "`include_inputs=True` needs a reservoir that returns sequences "
                f"(return_sequences=True); its output has shape {tuple(states.shape)}."
            )
        states = keras.layers.Concatenate(name="states_and_inputs")([states, inputs])
    readout = keras.layers.Dense(output_dim, activation=activation, use_bias=use_bias,
                                 name="readout")
    return keras.Model(inputs, readout(states), name=name)


def _readout_of(model):
    readout = model.layers[-1] if getattr(model, "layers", None) else None
    if not isinstance(readout, keras.layers.Dense):
        raise ValueError(
            "Expected a Keras model whose last layer is a `keras.layers.Dense` readout "
            f"(see `ridge_readout_model`), got a last layer {readout!r}."
        )
    name = keras.activations.serialize(readout.activation)
    name = name if isinstance(name, str) else getattr(readout.activation, "__name__", str(name))
    if name not in _INVERSES:
        raise ValueError(
            f"The readout's activation {name!r} has no inverse for the closed-form fit; "
            f"expected one of {list(_INVERSES)}."
        )
    return readout, name


# Compiled feature functions, weakly keyed by the model (or by the reservoir
# layer when a layer is fitted): they go with it.
_COMPILED_FEATURES = weakref.WeakKeyDictionary()
# `jit_compile="auto"` compiles runs at least this long (steps per sequence):
# a compile (about 0.4 s) costs what the compiled run saves over roughly
# 5,000 steps of a 500-unit reservoir (`benchmarks/esn_mackey_glass.py`).
AUTO_JIT_STEPS = 8192


def _compiled_features(key, variant, function):
    """The XLA-compiled `function` cached under `(key, variant)`."""
    import tensorflow as tf

    per_key = _COMPILED_FEATURES.setdefault(key, {})
    if variant not in per_key:
        per_key[variant] = tf.function(function, jit_compile=True, reduce_retracing=True)
    return per_key[variant]


def _run_features(features_model, compiled, inputs, batch_size):
    """The features model's outputs on `inputs`, in batches, as one NumPy array.

    `compiled` (or None) is an XLA-compiled call of the same model: a
    reservoir run is one small matrix-vector product per step, which as one
    XLA loop costs a few microseconds of dispatch per step instead of a few
    dozen in the TensorFlow graph executor (4x faster for 500 units at batch
    1). Where XLA cannot compile the model, the plain path is used.
    """
    chunks = []
    for start in range(0, inputs.shape[0], batch_size):
        batch = inputs[start:start + batch_size]
        if compiled is not None:
            try:
                chunks.append(np.asarray(compiled(batch)))
                continue
            except Exception:  # an op XLA cannot compile: the plain path from now on
                compiled = None
        # predict_on_batch: one compiled call per batch, without the tf.data
        # pipeline that `predict` sets up (which costs more than a short run).
        chunks.append(np.asarray(features_model.predict_on_batch(batch)))
    return np.concatenate(chunks)


def fit_ridge_readout(model_or_layer, inputs, targets, washout=0, ridge=1e-6,
                      include_inputs=False, use_bias=True, batch_size=32, solver="auto",
                      jit_compile="auto"):
    """Fits a model's `Dense` readout in closed form (ridge regression, float64).

    Runs everything below the readout on `inputs` (batches of `batch_size`
    sequences, inference mode, no gradient), drops the first `washout` steps of
    every sequence (the reservoir's initial transient), solves the ridge
    regression from the collected features to `targets` in float64 (see
    `ridge_regression`) and assigns the solution to the readout's kernel and
    bias. With a `tanh`/`sigmoid` readout the regression targets are
    `arctanh(targets)`/`logit(targets)`.

    Args:
        model_or_layer: a `keras.Model` whose last layer is a `Dense` readout
            (its input are the features), or a reservoir layer, for which a
            model is built with `ridge_readout_model(layer, ...)`.
        inputs: float array `(batch, time, features)`.
        targets: float array `(batch, time, outputs)` for sequence outputs,
            or `(batch, outputs)` for a many-to-one model.
        washout: int, leading steps of each sequence left out of the fit.
            Default 0. Only for sequence outputs.
        ridge: non-negative float, the L2 penalty. Default 1e-6.
        include_inputs, use_bias: used only when a layer is given; see
            `ridge_readout_model`.
        batch_size: int, sequences per reservoir run. Default 32.
        solver: `"auto"`, `"normal"` or `"lstsq"`, see `ridge_regression`.
        jit_compile: bool or `"auto"` (default): run the reservoir as one
            XLA-compiled loop (TensorFlow backend). It is compiled once per
            model (or reservoir layer) and input shape and reused by later
            fits; `"auto"` compiles for sequences of at least
            `AUTO_JIT_STEPS` (8192) steps, where the faster run repays the
            compile.

    Returns:
        The fitted `keras.Model` (the given one, or the one built around the
        layer).

    Raises:
        ValueError: for shapes that do not match, a washout that leaves no
            step, a readout that cannot be fitted in closed form, or targets
            outside the readout activation's range.

    Example:

    >>> import numpy as np, rnnzoo
    >>> t = np.arange(301, dtype="float32")
    >>> wave = np.sin(t / 8)[None, :, None]
    >>> model = fit_ridge_readout(rnnzoo.layers.ESN(50, seed=0, return_sequences=True),
    ...                           wave[:, :-1], wave[:, 1:], washout=50)
    >>> tuple(model.predict(wave[:, :-1], verbose=0).shape)
    (1, 300, 1)
    """
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    washout = _check_non_negative_int("washout", washout)
    batch_size = _check_positive_int("batch_size", batch_size)
    if not any(jit_compile is value for value in (True, False)) and jit_compile != "auto":
        raise ValueError(
            "Received an invalid value for argument `jit_compile`, expected True, "
            f"False or 'auto', got {jit_compile!r}."
        )
    if inputs.ndim != 3:
        raise ValueError(
            f"Expected `inputs` of shape (batch, time, features), got shape {inputs.shape}."
        )
    if isinstance(model_or_layer, keras.Model):
        model = model_or_layer
    elif isinstance(model_or_layer, keras.layers.Layer):
        output_dim = targets.shape[-1] if targets.ndim >= 2 else 0
        model = ridge_readout_model(model_or_layer, inputs.shape[-1], output_dim,
                                    include_inputs=include_inputs, use_bias=use_bias)
    else:
        raise ValueError(
            "Received an invalid value for argument `model_or_layer`, expected a Keras "
            f"model with a Dense readout or a reservoir layer, got {model_or_layer!r}."
        )
    readout, activation = _readout_of(model)
    features_model = keras.Model(model.inputs, readout.input)
    if jit_compile == "auto":
        jit_compile = inputs.shape[1] >= AUTO_JIT_STEPS
    compiled = None
    if jit_compile and keras.backend.backend() == "tensorflow":
        if model is model_or_layer:
            compiled = _compiled_features(model, "model", features_model)
        else:
            # A new model around the same layer: reuse the layer's compiled run
            # (which holds the layer weakly, so the cache entry can go with it).
            layer = weakref.ref(model_or_layer)

            def reservoir_features(x):
                states = layer()(x, training=False)
                return keras.ops.concatenate([states, x], axis=-1) if include_inputs else states

            compiled = _compiled_features(model_or_layer, ("layer", bool(include_inputs)),
                                          reservoir_features)
    features = _run_features(features_model, compiled, inputs, batch_size)

    if targets.shape[:-1] != features.shape[:-1] or targets.shape[-1] != readout.units:
        raise ValueError(
            f"Expected `targets` of shape {features.shape[:-1] + (readout.units,)} "
            f"(the model's output for these inputs), got {targets.shape}."
        )
    if features.ndim == 3:
        if washout >= features.shape[1]:
            raise ValueError(
                f"Received an invalid value for argument `washout`: {washout} leaves no "
                f"step of sequences with {features.shape[1]} steps."
            )
        features, targets = features[:, washout:], targets[:, washout:]
    elif washout:
        raise ValueError(
            "`washout` applies to sequence outputs only; this model returns one "
            f"vector per sequence (features of shape {features.shape})."
        )
    X = features.reshape(-1, features.shape[-1])
    Y = targets.reshape(-1, targets.shape[-1]).astype(np.float64)
    bounds, inverse = _INVERSES[activation]
    if bounds is not None:
        low, high = bounds
        if not (np.all(Y > low) and np.all(Y < high)):
            raise ValueError(
                f"A {activation} readout needs targets strictly inside {bounds}; got "
                f"values in [{Y.min():.3g}, {Y.max():.3g}]."
            )
        Y = inverse(Y)
    weights, bias = ridge_regression(X, Y, ridge=ridge, use_bias=readout.use_bias,
                                     solver=solver)
    readout.kernel.assign(weights.astype(readout.kernel.dtype))
    if readout.use_bias:
        readout.bias.assign(bias.astype(readout.bias.dtype))
    return model


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _stateful_copy(model, batch, input_dim):
    """A copy of `model` whose recurrent layers are stateful, with the same weights."""

    def clone(layer):
        if isinstance(layer, keras.layers.Bidirectional):
            raise ValueError(
                "`generate` runs a model forward in time, one step after another; a "
                "Bidirectional layer needs the future and cannot."
            )
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config["stateful"] = True
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(
        model,
        input_tensors=keras.Input(batch_shape=(batch, None, input_dim)),
        clone_function=clone,
    )
    copy.set_weights(model.get_weights())
    return copy


def generate(model, warmup_inputs, steps):
    """Closed-loop (generative) prediction: outputs are fed back as inputs.

    The model is first driven by `warmup_inputs` (teacher forcing); its output
    after the last warmup step is the first prediction. Each further
    prediction is the model's output for the previous prediction as input.
    The model must map `(batch, time, d)` to `(batch, time, d)` (a one-step
    predictor of its own input). A stateful copy of the model carries the
    recurrent states between steps; `model` itself is not changed.

    Args:
        model: a `keras.Model` with one sequence input and one sequence output
            of the same feature size.
        warmup_inputs: float array `(batch, time, d)` (or `(time, d)`).
        steps: int, the number of predictions.

    Returns:
        float array `(batch, steps, d)` (or `(steps, d)` for 2-D warmup): the
        predictions of the `steps` values that follow the warmup.

    Raises:
        ValueError: for a model whose output cannot be fed back as its input,
            or bad shapes.
    """
    steps = _check_positive_int("steps", steps)
    warmup = np.asarray(warmup_inputs, dtype="float32")
    single = warmup.ndim == 2
    if single:
        warmup = warmup[None]
    if warmup.ndim != 3 or warmup.shape[1] == 0:
        raise ValueError(
            "Expected `warmup_inputs` of shape (batch, time, features) or (time, "
            f"features) with at least one step, got shape {np.shape(warmup_inputs)}."
        )
    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            "Expected a Keras model with one input and one output, got "
            f"{type(model).__name__}."
        )
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) != 3 or len(out_shape) != 3 or out_shape[-1] != in_shape[-1]:
        raise ValueError(
            "`generate` feeds the model's outputs back as inputs, so the model must map "
            f"(batch, time, d) to (batch, time, d); got input {in_shape} and output "
            f"{out_shape}."
        )
    if warmup.shape[-1] != in_shape[-1]:
        raise ValueError(
            f"Expected `warmup_inputs` with {in_shape[-1]} features, got shape "
            f"{warmup.shape}."
        )
    copy = _stateful_copy(model, warmup.shape[0], in_shape[-1])
    for layer in _all_layers(copy):
        if isinstance(layer, keras.layers.RNN):
            layer.reset_state()
    last = np.asarray(copy.predict_on_batch(warmup))[:, -1:]
    predictions = [last]
    for _ in range(steps - 1):
        last = np.asarray(copy.predict_on_batch(last))
        predictions.append(last)
    out = np.concatenate(predictions, axis=1)
    return out[0] if single else out
