"""`rnnzoo tune RECIPE`: a small search end to end, and bad recipes refused early."""

import json
import subprocess
import sys
import textwrap

import pytest

from rnnzoo import cli
from rnnzoo.presets import load, read_metadata
from rnnzoo.presets.recipes import read_recipe
from rnnzoo.presets.tuning_recipe import RecipeError, read_tune_recipe

RECIPE = """
name: elman_search.unittest
seed: 2
task: sequence_classifier
data: {source: ucr, name: ItalyPowerDemand, validation_split: 0.25}
space:
  cell_types: [elman, gru]
  fixed: {units: 8, num_layers: 1}
tuner: RandomSearch
budget: {max_trials: 1, epochs: 1, batch_size: 64}
baseline: true
save_preset: tuned_classifier.unittest
"""


def write(tmp_path, text=RECIPE):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_tune_runs_a_recipe_and_saves_the_best_model(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["tune", write(tmp_path), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "1/1 trials completed" in printed and "default configuration" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["COMPLETED"]
    assert summary["best"]["hyperparameters"]["units"] == 8
    assert summary["default"]["hyperparameters"]["cell_type"] == "elman"  # first of the list
    assert 0.0 <= summary["best"]["accuracy"] <= 1.0
    assert summary["dataset"]["num_examples"] == 1029
    preset = out / "tuned_classifier.unittest"
    metadata = read_metadata(preset)
    assert metadata["metrics"]["accuracy"] == summary["best"]["accuracy"]
    assert metadata["recipe"] == "recipe.yaml"
    assert load(preset).count_params() == metadata["parameter_count"]


@pytest.mark.parametrize(
    "change, message",
    [
        (("tuner: RandomSearch", "tuner: GridSearch"), "tuner"),
        (("max_trials: 1, ", ""), "max_trials is required"),
        (("tuner: RandomSearch", "tuner: Hyperband"), "does not apply to Hyperband"),
        (("epochs: 1", "epochs: 0"), "budget.epochs"),
        (("validation_split: 0.25", "validation_split: 1.5"), "validation_split"),
        (("task: sequence_classifier", "task: captioner"), "no data reader"),
        (("seed: 2", "seed: 2\nextra: 1"), "extra"),
        (("save_preset: tuned_classifier.unittest", "save_preset: ../evil"), "preset name"),
    ],
)
def test_bad_recipes_are_refused_before_any_data(tmp_path, change, message):
    text = RECIPE.replace(*change)
    assert text != RECIPE
    with pytest.raises(RecipeError, match=message):
        read_tune_recipe(write(tmp_path, text))


@pytest.mark.parametrize("change, message", [
    (("[elman, gru]", "[elman, gruu]"), "Did you mean 'gru'"),
    (("units: 8, num_layers: 1", "unitz: 8"), "space.fixed.unitz"),
    (("baseline: true", "baseline: true\ntask_args: {mask_valu: 0.0}"), "mask_valu"),
])
def test_cli_user_errors_are_one_line_exit_2(tmp_path, capsys, change, message):
    path = write(tmp_path, RECIPE.replace(*change))
    assert cli.main(["tune", path, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_missing_recipe_and_tune_help_without_tensorflow(tmp_path, capsys):
    assert cli.main(["tune", str(tmp_path / "absent.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    code = ("import sys\nfrom rnnzoo import cli\n"
            "try:\n    cli.main(['tune', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--distributed-timeout" in result.stdout


def test_tuning_recipes_are_not_preset_recipes(repo_root):
    """Worked tuning recipes live in zoo_configs/tuning/, out of the preset recipes' glob."""
    recipes = sorted((repo_root / "zoo_configs" / "tuning").glob("*.yaml"))
    assert recipes
    for path in recipes:
        recipe, _ = read_tune_recipe(path)
        assert recipe.name == path.name[: -len(".yaml")]
        with pytest.raises(RecipeError):
            read_recipe(path)


FORECAST = """
name: forecaster_search.unittest
task: forecaster
data: {source: series, name: nile, window: 8, horizon: 2, test_fraction: 0.2}
space:
  cell_types: [gru]
  fixed: {units: 8}
task_args: {mode: autoregressive}
tuner: RandomSearch
budget: {max_trials: 1, epochs: 1, batch_size: 64}
"""


def test_tune_a_forecaster(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["tune", write(tmp_path, FORECAST), "--out", str(out), "--quiet"]) == 0
    assert "rmse" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == "rmse" and summary["objective"] == "val_loss"
    assert summary["best"]["rmse"] > 0 and summary["default"]["rmse"] > 0
    assert summary["dataset"]["num_examples"] == 19  # 20 test values, horizon 2
    with pytest.raises(RecipeError, match="data.source"):
        read_tune_recipe(write(tmp_path, FORECAST.replace("source: series",
                                                          "source: mackey_glass")))
