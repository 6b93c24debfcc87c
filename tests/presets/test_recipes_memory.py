"""The `algorithmic_predictor` recipe handler (NTM tasks) on a tiny run (seconds)."""

import textwrap

import numpy as np
import pytest

from rnnzoo.presets import load, read_metadata
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, run_recipe
from rnnzoo.presets.recipes.memory import MemoryTaskRecipe, batch, measure

TINY = """
name: ntm_sequence_predictor.tiny
seed: 0
task: algorithmic_predictor
data: {name: copy, num_bits: 3, min_size: 2, max_size: 2, eval_sizes: [2, 3], num_eval: 4}
model:
  backbone: [{layer: ntm, units: 6, args: {memory_rows: 5, memory_width: 4}}]
  baseline: [{layer: lstm, units: 6}]
training: {steps: 3, batch_size: 4, log_every: 1}
reference:
  source: none, a test
  numbers: {ntm_generalises_to_length: 120}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run (an NTM and its LSTM baseline) shared by the tests below."""
    folder = tmp_path_factory.mktemp("memory_recipe")
    out = folder / "preset"
    return out, run_recipe(write(folder, TINY), out, verbose=0)


def test_recipe_trains_both_models_and_reevaluates(trained):
    out, metadata = trained
    metrics = metadata["metrics"]
    assert metadata["primary_metric"] == "bit_accuracy"
    assert metrics["bit_accuracy"] == metrics["bit_accuracy_2"]
    for size in (2, 3):
        assert 0.0 <= metrics[f"bit_accuracy_{size}"] <= 1.0
        assert metrics[f"bit_errors_{size}"] <= 3 * size  # at most every scored bit
    assert set(metadata["baseline"]["metrics"]) == set(metrics)
    assert metadata["training"]["episodes"] == 12
    assert metadata["backbone"] == ["ntm"]
    result = evaluate_preset(str(out))
    assert abs(result["measured"] - result["recorded"]) <= result["tolerance"]


def test_measure_counts_wrong_bits_only_on_scored_steps():
    data = {"name": "copy", "num_bits": 3, "item_length": 3, "eval_sizes": [2],
            "num_eval": 5, "eval_seed": 1}
    inputs, targets, mask = batch(data, np.random.default_rng([1, 2]), 2, 5)

    class Oracle:
        """Answers with the targets, except one flipped bit on one unscored and,
        optionally, one scored step."""

        def __init__(self, scored_error):
            self.scored_error = scored_error

        def predict_on_batch(self, x):
            logits = np.where(targets > 0.5, 5.0, -5.0)
            logits[0, 0, 0] *= -1  # an input step: not scored
            if self.scored_error:
                logits[1, -1, 2] *= -1
            return logits

    assert measure(Oracle(False), data)["bit_errors_2"] == 0.0
    scored = measure(Oracle(True), data)
    assert scored["bit_errors_2"] == pytest.approx(1 / 5)
    assert scored["sequence_accuracy_2"] == pytest.approx(4 / 5)
    assert scored["bit_accuracy_2"] == pytest.approx(1 - 1 / (5 * 2 * 3))


def test_recall_needs_two_items_and_eval_starts_at_training_max(tmp_path):
    bad = TINY.replace("eval_sizes: [2, 3]", "eval_sizes: [3]")
    with pytest.raises(RecipeError, match="eval_sizes"):
        run_recipe(write(tmp_path, bad), tmp_path / "out", verbose=0)
    bad = TINY.replace("name: copy", "name: associative_recall").replace("min_size: 2",
                                                                         "min_size: 1")
    with pytest.raises(RecipeError, match="min_size"):
        run_recipe(write(tmp_path, bad), tmp_path / "out", verbose=0)


def test_loaded_preset_fits(trained):
    out, _ = trained
    model = load(str(out))
    x, y = MemoryTaskRecipe().fine_tune_batch(read_metadata(str(out)), num_examples=4)
    assert x.shape == (4, 5, 4) and y.shape == (4, 5, 3)  # length 2: 2 * 2 + 1 steps
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][-1])


REPEAT = TINY.replace(
    "data: {name: copy, num_bits: 3, min_size: 2, max_size: 2, eval_sizes: [2, 3], num_eval: 4}",
    "data: {name: repeat_copy, num_bits: 3, min_size: 1, max_size: 2, eval_sizes: [2, 3],\n"
    "       min_repeats: 1, max_repeats: 2, eval_repeats: [2, 4], num_eval: 4}",
).replace("  baseline: [{layer: lstm, units: 6}]\n", "")


def test_repeat_copy_measures_length_and_repeat_generalisation_apart(tmp_path):
    out = tmp_path / "preset"
    metadata = run_recipe(write(tmp_path, REPEAT), out, verbose=0)
    metrics = metadata["metrics"]
    # Each size at the training maximum of repeats, then the first size at each further count.
    assert {key[len("bit_errors_"):] for key in metrics if key.startswith("bit_errors_")} == {
        "2x2", "3x2", "2x4"}
    assert metrics["bit_accuracy"] == metrics["bit_accuracy_2x2"]
    # Scored bits: the repeated vectors and the end marker, 4 channels each.
    assert metrics["bit_errors_2x4"] <= (2 * 4 + 1) * 4
    assert metadata["dataset"]["num_examples"] == 3 * 4
    x, y = MemoryTaskRecipe().fine_tune_batch(read_metadata(str(out)), num_examples=2)
    # length 2, 2 repeats: 2 inputs + delimiter + 4 outputs + end marker; bits + 2 in, + 1 out.
    assert x.shape == (2, 8, 5) and y.shape == (2, 8, 4)
    result = evaluate_preset(str(out))
    assert abs(result["measured"] - result["recorded"]) <= result["tolerance"]


@pytest.mark.parametrize("change, message", [
    (("eval_repeats: [2, 4]", "eval_repeats: [4]"), "eval_repeats must start"),
    (("max_repeats: 2, ", ""), "needs data.max_repeats"),
    (("min_repeats: 1", "min_repeats: 3"), "below data.min_repeats"),
])
def test_repeat_copy_settings_are_checked(tmp_path, change, message):
    with pytest.raises(RecipeError, match=message):
        run_recipe(write(tmp_path, REPEAT.replace(*change)), tmp_path / "out", verbose=0)


def test_repeat_settings_are_refused_for_other_tasks(tmp_path):
    bad = TINY.replace("num_eval: 4}", "num_eval: 4, max_repeats: 3}")
    with pytest.raises(RecipeError, match="repeat_copy only"):
        run_recipe(write(tmp_path, bad), tmp_path / "out", verbose=0)
