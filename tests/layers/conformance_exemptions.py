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
