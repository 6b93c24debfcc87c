"""The `tree_classifier` recipe handler (recursive / RNTN presets) on a tiny run."""

import textwrap

import numpy as np
import pytest

from rnnzoo.presets import load
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, read_recipe, run_recipe
from rnnzoo.presets.recipes.base import TASK_RECIPES

TINY = """
name: rntn_tree_classifier.tiny
seed: 0
task: tree_classifier
data:
  name: boolean_trees
  config: d3
  overrides: {num_train: 24, num_validation: 8, num_test: 12}
model:
  tree: {layer: rntn, units: 4}
  baseline: [{layer: lstm, units: 4}]
  baseline_embedding: 3
training: {epochs: 1, batch_size: 8}
reference:
  source: none, a test
  numbers: {accuracy: 1.0}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_recipe_trains_tree_model_and_baseline_and_reevaluates(tmp_path):
    out = tmp_path / "preset"
    metadata = run_recipe(write(tmp_path, TINY), out, verbose=0)
    metrics = metadata["metrics"]
    assert set(metrics) == {"accuracy", "validation_accuracy", "lstm_baseline_accuracy",
                            "lstm_baseline_validation_accuracy"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    # the evaluation split is deeper than anything seen in training
    assert metadata["dataset"]["train_depths"][1] < metadata["dataset"]["eval_depths"][0]
    assert set(metadata["accuracy_by_depth"]) <= {"4", "5", "6"}
    assert metadata["backbone"] == ["rntn"]
    result = evaluate_preset(str(out))
    assert result["measured"] == result["recorded"]
    # a loaded preset fine-tunes with plain `fit` on the handler's batch
    model = load(str(out))
    x, y = TASK_RECIPES.get("tree_classifier").fine_tune_batch(metadata, 4)
    assert [a.shape[0] for a in x] == [4] * 4 and y.shape == (4, 2)
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][-1])


@pytest.mark.parametrize("edit,message", [
    (("name: boolean_trees", "name: copy"), "boolean_trees"),
    (("layer: rntn", "layer: rntm"), "rntn"),
    (("units: 4}", "units: 4, args: {depth: 2}}"), "depth"),
])
def test_bad_recipes_are_refused(tmp_path, edit, message):
    path = write(tmp_path, TINY.replace(*edit))
    with pytest.raises(RecipeError, match=message):
        run_recipe(path, tmp_path / "out", verbose=0)


def test_shipped_tree_recipes_read(repo_root):
    for layer in ("rntn", "recursive"):
        recipe = read_recipe(repo_root / f"zoo_configs/{layer}_tree_classifier.boolean.yaml")
        assert recipe.model.tree.layer == layer and recipe.data.name == "boolean_trees"
