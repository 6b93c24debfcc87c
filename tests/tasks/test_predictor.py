"""SequencePredictor: wiring of template layers, masking up to the loss, compile defaults,
config round trip and errors."""

import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo import registry
from rnnzoo.tasks import SequencePredictor


def lstm(units=6, **kwargs):
    return rnnzoo.layers.LSTM(units, seed=1, **kwargs)


def test_registered():
    assert registry.TASKS.get("sequence_predictor") is SequencePredictor


@pytest.mark.parametrize("per_step, shape", [(False, (3, 2)), (True, (3, 5, 2))])
def test_output_shapes_and_templates_are_rewired(per_step, shape):
    # The template says return_sequences=False/True the wrong way round on purpose.
    template = lstm(return_sequences=not per_step, return_state=True)
    model = SequencePredictor([lstm(return_sequences=False), template], output_dim=2,
                              input_shape=(None, 4), per_step=per_step)
    assert tuple(model(np.ones((3, 5, 4), "float32")).shape) == shape
    # The templates themselves are kept unchanged (that is what the config stores).
    assert model.backbone_layers[1].return_state is True


def test_fixed_length_and_stack_of_zoo_layers():
    model = SequencePredictor([rnnzoo.get_layer("indrnn")(4, seed=1),
                               rnnzoo.get_layer("peephole_lstm")(3, seed=2)],
                              output_dim=1, input_shape=(7, 2))
    assert tuple(model(np.zeros((2, 7, 2), "float32")).shape) == (2, 1)


def test_compile_defaults_follow_loss():
    mse = SequencePredictor(lstm(), output_dim=1, input_shape=(None, 2))
    mse.compile()
    assert isinstance(mse.loss, keras.losses.MeanSquaredError)
    bce = SequencePredictor(lstm(), output_dim=3, input_shape=(None, 2), per_step=True,
                            loss="binary_crossentropy")
    bce.compile()
    assert isinstance(bce.loss, keras.losses.BinaryCrossentropy)
    assert bce.loss.get_config()["from_logits"] is True and bce.from_logits
    sig = SequencePredictor(lstm(), output_dim=3, input_shape=(None, 2), per_step=True,
                            loss="binary_crossentropy", output_activation="sigmoid")
    sig.compile(optimizer=keras.optimizers.SGD(0.1))
    assert sig.loss.get_config()["from_logits"] is False
    assert isinstance(sig.optimizer, keras.optimizers.SGD)


def test_many_to_one_mask_gives_last_real_step():
    model = SequencePredictor(lstm(), output_dim=1, input_shape=(None, 2), mask_value=0.0)
    rng = np.random.default_rng(0)
    short = rng.normal(size=(1, 4, 2)).astype("float32")
    padded = np.concatenate([short, np.zeros((1, 3, 2), "float32")], axis=1)
    np.testing.assert_allclose(model.predict(padded, verbose=0), model.predict(short, verbose=0),
                               atol=1e-6)


def test_padded_steps_do_not_count_in_per_step_loss():
    keras.utils.set_random_seed(0)
    model = SequencePredictor(lstm(), output_dim=3, input_shape=(None, 3), per_step=True,
                              loss="binary_crossentropy", mask_value=0.0)
    model.compile()
    rng = np.random.default_rng(1)
    real = rng.normal(size=(1, 4, 3)).astype("float32")
    targets = (rng.random((1, 4, 3)) < 0.5).astype("float32")
    padded = np.concatenate([real, np.zeros((1, 5, 3), "float32")], axis=1)
    # Deliberately wrong targets on the padding: they must change nothing.
    padded_targets = np.concatenate([targets, np.ones((1, 5, 3), "float32")], axis=1)
    expected = model.evaluate(real, targets, verbose=0, return_dict=True)
    got = model.evaluate(padded, padded_targets, verbose=0, return_dict=True)
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert got["accuracy"] == pytest.approx(expected["accuracy"], rel=1e-5)
    # Without the mask the padding would count (the check above is not vacuous).
    unmasked = SequencePredictor(lstm(), output_dim=3, input_shape=(None, 3), per_step=True,
                                 loss="binary_crossentropy")
    unmasked.compile()
    unmasked.set_weights(model.get_weights())
    other = unmasked.evaluate(padded, padded_targets, verbose=0, return_dict=True)
    assert other["loss"] != pytest.approx(expected["loss"], rel=1e-3)


def test_per_step_learns_a_small_pattern():
    # Predict whether the current input bit equals the previous one (needs memory).
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    bits = (rng.random((64, 8)) < 0.5).astype("float32")
    targets = np.concatenate([np.zeros((64, 1)), bits[:, 1:] == bits[:, :-1]], axis=1)
    model = SequencePredictor(lstm(12), output_dim=1, input_shape=(None, 1), per_step=True,
                              loss="binary_crossentropy")
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    first = model.evaluate(bits[..., None], targets[..., None], verbose=0)[0]
    model.fit(bits[..., None], targets[..., None], epochs=40, batch_size=64, verbose=0)
    last = model.evaluate(bits[..., None], targets[..., None], verbose=0)[0]
    assert last < 0.5 * first


def test_config_round_trip_and_save(tmp_path):
    model = SequencePredictor([lstm(return_sequences=True), rnnzoo.get_layer("gru")(4, seed=3)],
                              output_dim=4, input_shape=(None, 4), per_step=True,
                              loss="binary_crossentropy", dropout=0.1, mask_value=0.0,
                              name="tagger")
    config = json.loads(json.dumps(model.get_config()))
    clone = SequencePredictor.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    model.compile()
    path = tmp_path / "predictor.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.ones((2, 5, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    assert isinstance(loaded.loss, keras.losses.BinaryCrossentropy)


@pytest.mark.parametrize("kwargs, word", [
    ({"output_dim": 0}, "output_dim"),
    ({"output_dim": True}, "output_dim"),
    ({"per_step": 1}, "per_step"),
    ({"loss": "mae"}, "loss"),
    ({"dropout": 1.0}, "dropout"),
    ({"mask_value": "pad"}, "mask_value"),
    ({"input_shape": (None,)}, "input_shape"),
])
def test_bad_arguments(kwargs, word):
    arguments = dict(output_dim=1, input_shape=(None, 2))
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=word):
        SequencePredictor(lstm(), **arguments)


def test_bad_backbone():
    with pytest.raises(ValueError, match="backbone"):
        SequencePredictor("lstm", output_dim=1, input_shape=(None, 2))


# --- the recipe criteria (rnnzoo/presets/recipes/predictor.py), checked by hand


def test_adding_1997_criterion():
    from rnnzoo.presets.recipes.predictor import adding_metrics

    targets = np.array([[0.5], [0.5], [0.5], [0.5]], "float32")
    predictions = np.array([[0.5], [0.539], [0.45], [0.6]], "float32")
    metrics = adding_metrics(predictions, targets)
    assert metrics["wrong"] == 2 and metrics["accuracy"] == 0.5 and metrics["num_test"] == 4
    assert metrics["mse"] == pytest.approx((0.039**2 + 0.05**2 + 0.1**2) / 4, rel=1e-4)


def test_next_symbol_criterion_counts_only_real_steps():
    from rnnzoo.data.languages import counting_example
    from rnnzoo.presets.recipes.predictor import next_symbol_metrics

    strings = [counting_example(n, 3) for n in (11, 12, 13)]
    steps = max(len(s["targets"]) for s in strings)
    targets = np.zeros((3, steps, 4), "float32")
    for k, s in enumerate(strings):
        targets[k, : len(s["targets"])] = s["targets"]
    lengths = np.array([len(s["targets"]) for s in strings])
    probabilities = np.where(targets > 0.5, 0.9, 0.1)
    probabilities[0, -1] = 0.9  # garbage on n=11's padding: ignored
    metrics = next_symbol_metrics(probabilities, targets, lengths, [11, 12, 13], 10)
    assert metrics == {"max_n": 13.0, "accuracy": 1.0, "first_wrong_n": -1.0, "max_test_n": 13.0}
    probabilities[1, 5, 2] = 0.6  # n=12 predicts an illegal c among the a's
    metrics = next_symbol_metrics(probabilities, targets, lengths, [11, 12, 13], 10)
    assert metrics["max_n"] == 11 and metrics["first_wrong_n"] == 12
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    probabilities[0, 0, 0] = 0.4  # a legal a after S under 0.5: n=11 fails, nothing generalises
    assert next_symbol_metrics(probabilities, targets, lengths, [11, 12, 13], 10)["max_n"] == 10


def test_recipe_trains_and_re_evaluates(tmp_path):
    from rnnzoo.presets.recipes import evaluate_preset, run_recipe

    recipe = tmp_path / "lstm_sequence_predictor.tiny.yaml"
    recipe.write_text(
        "name: lstm_sequence_predictor.tiny\n"
        "task: sequence_predictor\n"
        "data: {name: adding, config: t100, params: {length: 8, num_train: 16, num_test: 8},\n"
        "       criterion: adding_1997}\n"
        "model: {backbone: [{layer: lstm, units: 4}], mask_value: 0.0}\n"
        "training: {epochs: 1, batch_size: 8, schedule: cosine}\n"
        "reference: {source: test, numbers: {wrong: 1}}\n"
    )
    metadata = run_recipe(recipe, tmp_path / "preset", verbose=0)
    assert metadata["primary_metric"] == "accuracy"
    assert metadata["dataset"]["num_examples"] == 8 and metadata["metrics"]["num_test"] == 8
    result = evaluate_preset(tmp_path / "preset")
    assert result["measured"] == pytest.approx(result["recorded"], abs=1 / 8)
    assert result["all_measured"]["mse"] == pytest.approx(metadata["metrics"]["mse"], rel=1e-4)
