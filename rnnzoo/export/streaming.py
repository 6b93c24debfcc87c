"""Streaming models: a network's recurrent states as explicit inputs and outputs.

A phone that runs a recurrent model over a live stream (audio frames, sensor
samples) feeds it one chunk at a time and carries the recurrent states from
one chunk to the next. `streaming_model(model)` rebuilds a model so that
every recurrent layer takes its initial states as extra model inputs and
returns its final states as extra model outputs; run chunk by chunk from zero
states, it gives the outputs of one pass over the whole sequence. It is an
ordinary Keras model, so `rnnzoo.export` turns it into builtins-only TFLite
with the states in the signature, which the exporter's parity check covers.
A new sequence starts from `start_states(stream)`, each layer's own initial
state (zero for most cells, not for all).

The rebuild goes through the model's functional config (public Keras API):
each recurrent layer is re-created with `return_state=True` and called with
`initial_state` set to new inputs; every weight is copied, nothing is shared.
"""

import copy

import keras

STATE_SUFFIX = "_state_"


def _owner_error(expected, got):
    return ValueError(
        f"Received an invalid value for argument `model` of streaming_model, expected "
        f"{expected}, got {got}."
    )


def _recurrent_inside(layer):
    """Whether a nested model `layer` holds a recurrent layer this rebuild cannot reach."""
    for inner in getattr(layer, "layers", ()):
        if isinstance(inner, (keras.layers.RNN, keras.layers.Bidirectional)):
            return True
        if _recurrent_inside(inner):
            return True
    return False


def _state_sizes(layer):
    """The sizes of a recurrent layer's states, flat, in `initial_state` order."""
    return [int(size) for size in keras.tree.flatten(layer.cell.state_size)]


def _tensor_reference(layer_name, size, dtype):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, size], "dtype": dtype, "keras_history": [layer_name, 0, 0]},
    }


def _as_list_of_references(value):
    """`input_layers`/`output_layers` of a functional config as a list of [name, 0, i]."""
    if isinstance(value, dict):
        raise _owner_error("a model with list or single inputs and outputs", "dict inputs or outputs")
    return [value] if value and isinstance(value[0], str) else list(value)


def _check_stream_layer(layer, nodes):
    if isinstance(layer, keras.layers.Bidirectional):
        raise _owner_error(
            "recurrent layers that run forwards in time",
            f"the Bidirectional layer {layer.name!r}, whose backward half needs the end of "
            "the sequence before its first output (a stream has no end)",
        )
    if layer.go_backwards:
        raise _owner_error(
            "recurrent layers that run forwards in time",
            f"{layer.name!r} with go_backwards=True",
        )
    if len(nodes) != 1:
        raise _owner_error(
            "each recurrent layer called once", f"{layer.name!r} called {len(nodes)} times"
        )
    if len(nodes[0]["args"]) != 1 or nodes[0]["kwargs"].get("initial_state") is not None:
        raise _owner_error(
            "recurrent layers that start from their own initial state",
            f"{layer.name!r}, whose initial state comes from the graph (an encoder-decoder: "
            "export its decoding step with the task's export_model() instead)",
        )


def start_states(stream, batch_size=1):
    """The states a `streaming_model` starts a new sequence from, as NumPy arrays.

    One `(batch_size, size)` array per state input of `stream`, in its input
    order: each recurrent layer's own initial state (`cell.get_initial_state`),
    which is zero for most cells but not all (the second-order RNN starts in
    a one-hot state, the memristive network at its initial memory).

    Example:

    ```python
    states = start_states(stream, batch_size=1)  # from rnnzoo.export
    ```
    """
    recurrent = {layer.name: layer for layer in stream.layers if isinstance(layer, keras.layers.RNN)}
    states = []
    for tensor in stream.inputs:
        layer_name, _, index = tensor.name.rpartition(STATE_SUFFIX)
        if layer_name not in recurrent or not index.isdigit():
            continue  # one of the original model's inputs
        initial = recurrent[layer_name].cell.get_initial_state(batch_size=batch_size)
        states.append(keras.ops.convert_to_numpy(keras.tree.flatten(initial)[int(index)]))
    return states


def streaming_model(model, name=None):
    """The same network with its recurrent states as inputs and outputs.

    Args:
        model: a built functional Keras model (any rnnzoo task whose graph is
            one forward pass: classifiers, predictors, anomaly detectors,
            direct forecasters, character generators), with list or single
            inputs and outputs.
        name: optional name of the new model; default `<model name>_streaming`.

    Returns:
        A `keras.Model` with inputs `[*model.inputs, *states]` and outputs
        `[*model.outputs, *new_states]`: for every recurrent layer, in graph
        order, one `(batch, size)` input `<layer>_state_<i>` per state (as in
        its `initial_state`) and the same state after the chunk as an output.
        Weights are copied from `model`. Start a sequence from
        `start_states(stream, batch_size)`.

    Raises:
        ValueError: if `model` has no recurrent layer, a `Bidirectional` or
            `go_backwards` layer (they need the end of the sequence), a
            recurrent layer called more than once or given its initial state
            by the graph, a recurrent layer inside a nested model, or dict
            inputs or outputs.

    Example:

    ```python
    from rnnzoo.export import start_states, streaming_model

    stream = streaming_model(classifier)
    states = start_states(stream, batch_size=1)
    for chunk in chunks:                       # (1, 20, features) each
        logits, *states = stream.predict_on_batch([chunk, *states])
    rnnzoo.export(stream, "stream.tflite", timesteps=20)  # states in its signature
    ```
    """
    if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
        raise _owner_error("a built functional Keras model with known inputs", repr(model))
    plain = keras.Model(model.inputs, model.outputs)
    config = copy.deepcopy(plain.get_config())
    layers = {operation.name: operation for operation in plain.operations}
    input_template = next(c for c in config["layers"] if c["class_name"] == "InputLayer")

    state_layers, state_inputs, state_outputs = [], [], []
    for layer_config in config["layers"]:
        layer = layers[layer_config["name"]]
        if isinstance(layer, keras.Model) and _recurrent_inside(layer):
            raise _owner_error(
                "recurrent layers at the top level of the model",
                f"the nested model {layer.name!r}, which holds recurrent layers",
            )
        if not isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            continue
        nodes = layer_config["inbound_nodes"]
        _check_stream_layer(layer, nodes)
        layer_config["config"].update(return_state=True, stateful=False)
        references = []
        for i, size in enumerate(_state_sizes(layer)):
            input_name = f"{layer.name}{STATE_SUFFIX}{i}"
            if input_name in layers:
                raise _owner_error("no layer named like a state input", repr(input_name))
            state = copy.deepcopy(input_template)
            state["name"] = input_name
            state["config"].update(name=input_name, batch_shape=[None, size],
                                   dtype=layer.compute_dtype)
            state_layers.append(state)
            state_inputs.append([input_name, 0, 0])
            state_outputs.append([layer.name, 0, i + 1])
            references.append(_tensor_reference(input_name, size, layer.compute_dtype))
        # In the structure of the cell's states: a stack of cells
        # (`StackedRNN`) takes one list of states per cell.
        structure = layer.cell.state_size
        nodes[0]["kwargs"]["initial_state"] = (
            keras.tree.pack_sequence_as(structure, references)
            if isinstance(structure, (list, tuple)) else references
        )
    if not state_inputs:
        raise _owner_error("a model with at least one recurrent layer", "none")

    config["layers"] = state_layers + config["layers"]
    config["input_layers"] = _as_list_of_references(config["input_layers"]) + state_inputs
    config["output_layers"] = _as_list_of_references(config["output_layers"]) + state_outputs
    config["name"] = name or f"{model.name}_streaming"
    stream = keras.Model.from_config(config)
    for layer in plain.layers:
        if layer.weights:
            stream.get_layer(layer.name).set_weights(layer.get_weights())
    return stream
