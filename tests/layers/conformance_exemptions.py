"""The one reviewed list of conformance checks a registered layer may skip.

Key: (registry name, check name). Value: the reason a reviewer accepted.
Checks: shapes, symbolic_shapes, config, masking, go_backwards, stateful,
bidirectional, stacking, one_loop, keras_save, gradients, fit, xla,
mixed_precision, distributed, one_step, seed, bad_input, saved_model,
tflite. A layer absent from this list must pass every check.
"""

def exempted_params(names, check):
    """`pytest.param`s over layer `names` for `check`, skipping only listed pairs."""
    import pytest

    params = []
    for name in names:
        reason = EXEMPTIONS.get((name, check))
        marks = [pytest.mark.skip(reason=f"exempt: {reason}")] if reason else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


EXEMPTIONS = {
    ("bam", "seed"): "a BAM has nothing random: no random weights (store() writes the "
    "correlation matrix) and deterministic recall, so it takes no seed",
    ("stochastic_bam", "saved_model"): "samples with keras.random and a SeedGenerator whose "
    "state variable advances at every call; the exporter freezes variables into constants, "
    "which a stateful sampler cannot be",
    ("stochastic_bam", "tflite"): "samples with keras.random and a SeedGenerator (a stateful "
    "variable the exporter cannot freeze); LiteRT has no generator reproducing TensorFlow's "
    "Philox stream, so Keras-vs-LiteRT parity cannot hold for a sampled chain",
    ("stochastic_bam", "mixed_precision"): "its recall samples each unit against a uniform "
    "draw; float16 probabilities move units across that draw, so its outputs under mixed "
    "precision differ from float32 in sampled signs, not by a tolerance",
    ("history_compressor", "gradients"): "the prediction readouts (prediction_kernel_k/"
    "bias_k) shape the outputs only through the non-differentiable surprise gates; they "
    "learn from the prediction loss the layer adds with add_loss, which this check's "
    "output-only loss leaves out. test_history_compressor.py checks that the outputs' "
    "gradient reaches every other weight and the added loss's gradient reaches the readouts",
}

# Constructor arguments a layer needs beyond `units` (required arguments only).
LAYER_ARGS = {
    "jordan": {"output_units": 3},
}

# Layers whose own weights are all non-trainable by design; the gradient check
# then requires gradients to flow through them to the input instead.
NO_TRAINABLE_WEIGHTS = {
    "esn": "the reservoir and input weights of an echo state network are fixed "
    "random matrices by definition; only a readout (a separate layer) is trained",
    "hopfield": "a classic Hopfield network's weights are written by a storage rule "
    "(`store`), not trained; its outputs are signs (zero gradient almost everywhere)",
    "bam": "a BAM's correlation matrix is written by `store` (sum of x_k^T y_k), not "
    "trained; its outputs are signs (zero gradient almost everywhere)",
    "stochastic_bam": "as for bam: the correlation matrix is written by `store`; the "
    "outputs are sampled signs, with no gradient",
}

# Layers that run without a time loop when no mask is given; the TFLite check
# then requires the exported graph to have no WHILE op (all others must have one).
LOOP_FREE = {
    "fir": "an FIR layer's outputs read a fixed window of inputs, never earlier "
    "outputs, so without a mask FIR.inner_loop computes them as one causal "
    "convolution; the step-wise cell runs only under a mask or in StackedRNN",
}
