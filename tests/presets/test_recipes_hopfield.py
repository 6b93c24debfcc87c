"""The `set_classifier` recipe handler (digit bags, modern Hopfield pooling) on a tiny run."""

import textwrap

import numpy as np
import pytest

from rnnzoo.data.digits import load_digits_split
from rnnzoo.presets import load
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, read_recipe, run_recipe
from rnnzoo.presets.recipes.hopfield import auc, make_bags

TINY = """
name: modern_hopfield_set_classifier.tiny
seed: 0
task: set_classifier
data: {name: digit_bags, max_bag_size: 6, mean_bag_size: 4, num_train: 8, num_eval: 10}
model:
  encoder_units: 4
  pooling: {layer: modern_hopfield, units: 3, args: {mode: pooling, num_queries: 2}}
  mean_pooling_baseline: true
training: {epochs: 1, batch_size: 4}
reference:
  source: none, a test
  numbers: {chance_accuracy: 0.5}
"""
DATA = {"name": "digit_bags", "target_digit": 9, "mean_bag_size": 5, "std_bag_size": 2,
        "min_bag_size": 2, "max_bag_size": 8, "seed": 3}


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_bags_are_balanced_labelled_and_reproducible():
    bags, labels, sizes = make_bags(DATA, "test", 40, 1)
    assert bags.shape == (40, 8, 64) and labels.sum() == 20
    assert sizes.min() >= 2 and sizes.max() <= 8
    images, digits = load_digits_split("test")
    nines = images[digits == 9].reshape(-1, 64).astype("float32") / 16.0
    for bag, label, size in zip(bags, labels, sizes):
        assert not bag[size:].any() and np.all(bag[:size].any(axis=1))  # padding only after
        contains = any(np.any(np.all(nines == row, axis=1)) for row in bag[:size])
        assert contains == bool(label)
    again, _, _ = make_bags(DATA, "test", 40, 1)
    np.testing.assert_array_equal(again, bags)


def test_auc():
    labels = np.array([0, 0, 1, 1])
    assert auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5


def test_tiny_recipe_trains_baselines_and_reevaluates(tmp_path):
    out = tmp_path / "preset"
    metadata = run_recipe(write(tmp_path, TINY), out, verbose=0)
    assert set(metadata["metrics"]) == {"accuracy", "auc"}
    assert set(metadata["baselines"]) == {"mean_pooling"}
    assert metadata["backbone"] == ["modern_hopfield"]
    result = evaluate_preset(str(out))
    assert abs(result["measured"] - result["recorded"]) <= result["tolerance"]
    model = load(str(out))
    assert model.input_shape == (None, 6, 64)


def test_schema_refuses_a_bad_recipe(tmp_path):
    with pytest.raises(RecipeError, match="mean_bag_size"):
        bad = TINY.replace("mean_bag_size: 4", "mean_bag_size: 9")
        run_recipe(write(tmp_path, bad), tmp_path / "x", verbose=0)
    with pytest.raises(RecipeError, match="lstn"):
        bad = TINY.replace("mean_pooling_baseline: true",
                           "baselines: [{layer: lstn, units: 2}]")
        run_recipe(write(tmp_path, bad), tmp_path / "x", verbose=0)
    with pytest.raises(RecipeError, match="pooling"):
        read_recipe(write(tmp_path, TINY.replace("pooling: {layer", "pool: {layer")))
