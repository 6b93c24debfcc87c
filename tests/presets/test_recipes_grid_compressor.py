"""The `grid_classifier` (MDRNN on images) and `compressor_classifier` (history
compressor) recipe handlers: schema checks, the models they build, and a tiny
end-to-end compressor run with its pass-rate metrics."""

import textwrap

import pytest

from rnnzoo.presets.recipes import RecipeError, read_recipe, run_recipe
from rnnzoo.presets.recipes.base import TASK_RECIPES

TINY_COMPRESSOR = """
name: history_compressor_classifier.tiny
seed: 2
task: compressor_classifier
data:
  source: catalog
  name: surprises
  config: t20
  overrides: {length: 6, num_train: 16, num_test: 8}
  one_hot: 10
model:
  backbone:
    - {layer: history_compressor, units: 3, args: {surprise: argmax}}
training: {epochs: 1, batch_size: 8, learning_rate: 0.01}
reference:
  source: none, a test
  numbers: {chance_accuracy: 0.5}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_recipes_validate(repo_root):
    grid = read_recipe(repo_root / "zoo_configs/mdrnn_classifier.digits.yaml")
    assert grid.task == "grid_classifier" and grid.model.backbone.layer == "mdrnn"
    compressor = read_recipe(
        repo_root / "zoo_configs/history_compressor_classifier.surprises_t100.yaml")
    assert compressor.task == "compressor_classifier"


def test_grid_classifier_builds_mdrnn_and_cnn_of_similar_size(repo_root):
    from rnnzoo.presets.recipes.grid import _cnn_layers, _grid_layers
    from rnnzoo.tasks import SequenceClassifier

    recipe = read_recipe(repo_root / "zoo_configs/mdrnn_classifier.digits.yaml")
    sizes = []
    for layers in (_grid_layers(recipe, 8, 8), _cnn_layers(recipe.model.baseline_cnn, 8, 8, 1)):
        model = SequenceClassifier(layers, num_classes=10, input_shape=(8, 8))
        assert model.output_shape == (None, 10)
        sizes.append(model.count_params())
    assert 0.8 < sizes[0] / sizes[1] < 1.25, sizes


def test_grid_and_compressor_checks_refuse_wrong_sections(tmp_path):
    grid = TASK_RECIPES.get("grid_classifier")
    ucr = write(tmp_path, """
        name: mdrnn_classifier.bad
        task: grid_classifier
        data: {source: ucr, name: GunPoint}
        model: {backbone: {layer: mdrnn, units: 2}}
        training: {epochs: 1}
    """)
    with pytest.raises(RecipeError, match="catalog"):
        grid.check(read_recipe(ucr))
    compressor = TASK_RECIPES.get("compressor_classifier")
    lstm = write(tmp_path, TINY_COMPRESSOR.replace("layer: history_compressor", "layer: lstm"))
    with pytest.raises(RecipeError, match="history_compressor"):
        compressor.check(read_recipe(lstm))


def test_tiny_compressor_run_records_pass_rates(tmp_path):
    metadata = run_recipe(write(tmp_path, TINY_COMPRESSOR), tmp_path / "preset", verbose=0)
    metrics = metadata["metrics"]
    assert 0.0 <= metrics["pass_rate_level1"] <= 1.0
    # Marker and chain start are surprises: at least 2 of the 6 steps, by construction.
    assert metrics["true_surprise_rate"] >= 2 / 6
    assert 0.0 <= metrics["accuracy"] <= 1.0
