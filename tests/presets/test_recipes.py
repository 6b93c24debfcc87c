import textwrap

import pytest

from rnnzoo.presets import load, read_metadata
from rnnzoo.presets.recipes import RecipeError, read_recipe, run_recipe

GOOD = """
name: elman_classifier.unittest
seed: 3
task: sequence_classifier
data: {source: ucr, name: ItalyPowerDemand}
model:
  backbone:
    - {layer: elman, units: 8}
training: {epochs: 2, batch_size: 32, learning_rate: 0.01}
reference:
  source: none, a test
  numbers: {chance: 0.5}
"""


def write(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_recipe_trains_and_writes_a_loadable_preset(tmp_path):
    out = tmp_path / "elman_classifier.unittest"
    metadata = run_recipe(write(tmp_path, GOOD), out, verbose=0)
    assert 0.0 <= metadata["metrics"]["accuracy"] <= 1.0
    assert metadata["dataset"]["num_examples"] == 1029
    assert read_metadata(out)["weights_sha256"] == metadata["weights_sha256"]
    assert load(out).count_params() == metadata["parameter_count"]


@pytest.mark.parametrize(
    "change, message",
    [
        (("training: {epochs: 2,", "training: {epochs: 2, epochz: 3,"), "epochz"),
        (("epochs: 2", "epochs: two"), "training.epochs"),
        (("epochs: 2", "epochs: 2.5"), "training.epochs"),
        (("units: 8", "units: 0"), "units"),
        (("source: ucr", "source: web"), "data.source"),
        (("seed: 3", "seed: 3\nextra_key: 1"), "extra_key"),
        (("name: elman_classifier.unittest", "name: ../evil"), "name"),
        (("task: sequence_classifier", "task: sequence_classifierr"), "Did you mean"),
        (("task: sequence_classifier\n", ""), "task: Field required"),
    ],
)
def test_bad_recipes_are_refused_before_training(tmp_path, change, message):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(RecipeError, match=message):
        read_recipe(write(tmp_path, text))


def test_unknown_layer_refused_before_training(tmp_path):
    path = write(tmp_path, GOOD.replace("layer: elman", "layer: elmann"))
    with pytest.raises(RecipeError, match="Did you mean 'elman'"):
        run_recipe(path, tmp_path / "out", verbose=0)
    assert not (tmp_path / "out").exists()


def test_bad_layer_argument_is_a_recipe_error(tmp_path):
    path = write(tmp_path, GOOD.replace("{layer: elman, units: 8}",
                                        "{layer: elman, units: 8, args: {output_units: -1}}"))
    with pytest.raises(RecipeError, match="output_units"):
        run_recipe(path, tmp_path / "out", verbose=0)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_recipe(tmp_path / "absent.yaml")
    with pytest.raises(RecipeError, match="not valid YAML"):
        read_recipe(write(tmp_path, "a: [1, 2"))
    with pytest.raises(RecipeError, match="mapping"):
        read_recipe(write(tmp_path, "- 1\n- 2\n"))


def test_shipped_recipes_validate(repo_root):
    recipes = sorted((repo_root / "zoo_configs").glob("*.yaml"))
    assert recipes
    for path in recipes:
        assert read_recipe(path).name == path.name[: -len(".yaml")]
