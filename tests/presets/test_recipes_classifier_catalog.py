"""The `sequence_classifier` recipe with `source: catalog` (tiny Tomita run, seconds)."""

import textwrap

import numpy as np
import pytest

import rnnzoo.data
from rnnzoo.presets import load
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, read_recipe, run_recipe
from rnnzoo.presets.recipes.classifier import load_split

TINY = """
name: second_order_classifier.tiny
seed: 2
task: sequence_classifier
data:
  source: catalog
  name: tomita
  config: t4
  overrides: {max_length: 5, test_max_length: 7, test_per_class: 4}
  class_names: [rejected, accepted]
model:
  backbone:
    - {layer: second_order, units: 4}
  mask_value: 0.0
  baseline:
    - {layer: lstm, units: 4}
training: {epochs: 2, batch_size: 16, learning_rate: 0.01}
reference:
  source: none, a test
  numbers: {grammars_learned_of_7: 7}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_catalog_recipe_trains_baseline_and_reevaluates(tmp_path):
    out = tmp_path / "second_order_classifier.tiny"
    metadata = run_recipe(write(tmp_path, TINY), out, verbose=0)
    dataset = metadata["dataset"]
    assert dataset["source"] == "catalog" and dataset["config"] == "t4"
    assert dataset["class_names"] == ["rejected", "accepted"]
    assert dataset["train_lengths"] == [1, 5] and dataset["eval_lengths"] == [6, 7]
    # Lengths 6 and 7: at most 4 accepted and 4 rejected strings each.
    assert dataset["num_examples"] == 16
    assert set(metadata["accuracy_by_length"]) == {"6", "7"}
    for key in ("accuracy", "lstm_baseline_accuracy"):
        assert 0.0 <= metadata["metrics"][key] <= 1.0
    assert metadata["baseline"]["backbone"][0]["layer"] == "lstm"
    assert metadata["backbone"] == ["second_order"]

    model = load(out)
    assert model.mask_value == 0.0
    result = evaluate_preset(out)
    assert result["measured"] == pytest.approx(metadata["metrics"]["accuracy"])
    assert result["tolerance"] == pytest.approx(1 / 16, abs=1e-6)


def test_token_inputs_are_one_hot_with_zero_padding(monkeypatch):
    def fake_load_numpy(name, split, config=None, seed=0, **overrides):
        assert (name, split, config, seed, overrides) == ("fake", "train", "c", 3, {"n": 2})
        return {
            "tokens": np.array([[2, 1, 0], [1, 0, 0]], np.int32),
            "tokens_length": np.array([3, 1], np.int32),
            "y": np.array([1, 0], np.int32),
        }

    monkeypatch.setattr(rnnzoo.data, "load_numpy", fake_load_numpy)
    data = {"source": "catalog", "name": "fake", "config": "c", "seed": 3,
            "overrides": {"n": 2}, "inputs": "tokens", "label": "y", "one_hot": 3}
    split = load_split(data, "train")
    expected = np.array([[[0, 0, 1], [0, 1, 0], [1, 0, 0]],
                         [[0, 1, 0], [0, 0, 0], [0, 0, 0]]], np.float32)
    np.testing.assert_array_equal(split.x, expected)
    assert split.class_names == ["0", "1"] and split.lengths.tolist() == [3, 1]
    with pytest.raises(RecipeError, match="one_hot=2"):
        load_split(dict(data, one_hot=2), "train")
    with pytest.raises(RecipeError, match="no feature 'label'"):
        load_split(dict(data, label="label"), "train")


@pytest.mark.parametrize(
    "change, message",
    [
        (("source: catalog", "source: web"), "data.source"),
        (("source: catalog", "source: ucr"), "apply to `source: catalog` only"),
        (("class_names: [rejected, accepted]", "one_hot: 1"), "data.one_hot"),
        (("mask_value: 0.0", "mask_value: zero"), "model.mask_value"),
        (("units: 4}\ntraining", "units: 0}\ntraining"), "units"),
    ],
)
def test_bad_catalog_recipes_are_refused_before_training(tmp_path, change, message):
    text = TINY.replace(*change)
    assert text != TINY
    with pytest.raises(RecipeError, match=message):
        read_recipe(write(tmp_path, text))


def test_unknown_catalog_dataset_is_refused(tmp_path):
    with pytest.raises(RecipeError, match="tomitaa"):
        run_recipe(write(tmp_path, TINY.replace("name: tomita", "name: tomitaa")),
                   tmp_path / "out", verbose=0)
