"""The one reviewed list of conformance checks a registered layer may skip.

Key: (registry name, check name). Value: the reason a reviewer accepted.
Checks: shapes, symbolic_shapes, config, masking, go_backwards, stateful,
bidirectional, stacking, keras_save, gradients, seed, bad_input, saved_model,
tflite. A layer absent from this list must pass every check.
"""

EXEMPTIONS = {}

# Constructor arguments a layer needs beyond `units` (required arguments only).
LAYER_ARGS = {
    "jordan": {"output_units": 3},
}

# Layers whose own weights are all non-trainable by design; the gradient check
# then requires gradients to flow through them to the input instead.
NO_TRAINABLE_WEIGHTS = {
    "esn": "the reservoir and input weights of an echo state network are fixed "
    "random matrices by definition; only a readout (a separate layer) is trained",
}
