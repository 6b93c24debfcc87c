"""The `esn_generator` recipe handler on a tiny Mackey-Glass run (seconds)."""

import textwrap

import numpy as np
import pytest

from rnnzoo.presets import load, read_metadata
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, read_recipe, run_recipe

TINY = """
name: esn_generator.tiny
seed: 0
task: esn_generator
data:
  name: mackey_glass
  config: tau17
  overrides: {train_steps: 600, test_windows: 3, warmup: 200}
model:
  reservoir:
    layer: esn
    units: 50
    args: {leak_rate: 0.4, spectral_radius: 0.9, input_scaling: 0.5, connectivity: 0.2}
  dtype: float64
training: {washout: 100, ridge: 1.0e-10, networks: 2}
reference:
  source: none, a test
  numbers: {nrmse84_3000_steps: 2.8e-4}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_esn_recipe_trains_saves_loads_and_reevaluates(tmp_path):
    out = tmp_path / "esn_generator.tiny"
    metadata = run_recipe(write(tmp_path, TINY), out, verbose=0)
    score = metadata["metrics"]["nrmse84"]
    # 50 units and 500 fitted steps: far from the paper, but a real forecast
    # (always predicting the mean scores 1.0).
    assert 0.0 < score < 0.5, metadata["metrics"]
    assert metadata["primary_metric"] == "nrmse84"
    assert metadata["dataset"]["num_examples"] == 3
    assert metadata["dataset"]["warmup"] == 200 and metadata["dataset"]["horizon"] == 84
    assert len(metadata["training"]["candidates"]) == 2
    chosen = metadata["training"]["reservoir_seed"]
    best = min(metadata["training"]["candidates"], key=lambda c: c["validation_nrmse84"])
    assert chosen == best["reservoir_seed"]
    assert metadata["ours_over_reference"]["nrmse84_3000_steps"] == pytest.approx(score / 2.8e-4)

    model = load(out)  # a plain functional keras.Model: deserialized and compiled
    assert model.count_params() == read_metadata(out)["parameter_count"]
    assert model.inputs[0].dtype == "float64"
    result = evaluate_preset(out)
    assert result["higher_is_better"] is False
    assert result["measured"] == pytest.approx(score, rel=1e-6)
    assert result["tolerance"] == pytest.approx(0.05 * score)
    # The readout was fitted: its kernel is not the random initial one.
    assert np.any(model.get_layer("readout").get_weights()[0] != 0)


@pytest.mark.parametrize(
    "change, message",
    [
        (("washout: 100", "washout: -1"), "training.washout"),
        (("dtype: float64", "dtype: float16"), "model.dtype"),
        (("networks: 2", "networks: 0"), "training.networks"),
        (("config: tau17", "config: tau17\n  extra: 1"), "data.extra"),
    ],
)
def test_bad_esn_recipes_are_refused_before_training(tmp_path, change, message):
    text = TINY.replace(*change)
    assert text != TINY
    with pytest.raises(RecipeError, match=message):
        read_recipe(write(tmp_path, text))


def test_unknown_reservoir_layer_and_config_are_refused(tmp_path):
    with pytest.raises(RecipeError, match="Did you mean"):
        run_recipe(write(tmp_path, TINY.replace("layer: esn", "layer: esnn")),
                   tmp_path / "out", verbose=0)
    with pytest.raises(RecipeError, match="tau18"):
        run_recipe(write(tmp_path, TINY.replace("config: tau17", "config: tau18")),
                   tmp_path / "out", verbose=0)
