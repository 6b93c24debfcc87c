"""Recipe options added for the CTRNN/MTRNN/Clockwork/FIR/RMLP presets (tiny runs, seconds).

List-valued `units` and layer arguments, the classifier's length curriculum,
and the sequence predictor's `train_window`, `nrmse` criterion and linear
baseline.
"""

import textwrap

import numpy as np
import pytest

import rnnzoo.data
from rnnzoo.presets.recipes import RecipeError, evaluate_preset, read_recipe, run_recipe
from rnnzoo.presets.recipes.base import LayerSpec, build_layers
from rnnzoo.presets.recipes.predictor import (
    linear_baseline_nrmse,
    nrmse_metrics,
    train_windows,
)

TOMITA_CURRICULUM = """
name: second_order_classifier.curriculum
seed: 1
task: sequence_classifier
data:
  source: catalog
  name: tomita
  config: t5
  overrides: {max_length: 4, test_max_length: 6, test_per_class: 3}
  class_names: [rejected, accepted]
model:
  backbone:
    - {layer: second_order, units: 3}
  mask_value: 0.0
training:
  curriculum:
    - {max_length: 2, epochs: 1}
  epochs: 1
  batch_size: 8
reference:
  source: none, a test
  numbers: {grammars_learned_of_7: 7}
"""

NARMA_FIR = """
name: fir_sequence_predictor.tiny
seed: 1
task: sequence_predictor
data:
  name: narma
  config: narma10
  params: {train_steps: 230, test_steps: 120, discard: 20}
  inputs: inputs
  targets: targets
  criterion: nrmse
  train_window: 50
  washout: 10
model:
  backbone:
    - {layer: fir, units: 3, args: {delays: 2}}
  per_step: true
  linear_baseline_delays: 4
training: {epochs: 1, batch_size: 4}
reference:
  source: none, a test
  numbers: {mean_predictor_nrmse: 1.0}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_list_units_and_list_arguments_reach_the_layer():
    spec = LayerSpec(layer="rmlp", units=[5, 3])
    (layer,) = build_layers([spec], seed=1)
    assert list(layer.cell.layer_units) == [5, 3]
    spec = LayerSpec(layer="hierarchical", units=6, args={"periods": [1, 3]})
    (layer,) = build_layers([spec], seed=1)
    assert list(layer.cell.periods) == [1, 3]


@pytest.mark.parametrize("units", [0, [], [3, 0], 2.0, [2.5]])
def test_bad_units_are_refused(units):
    with pytest.raises(ValueError):
        LayerSpec(layer="rmlp", units=units)


def test_classifier_curriculum_runs_and_is_recorded(tmp_path):
    metadata = run_recipe(write(tmp_path, TOMITA_CURRICULUM), tmp_path / "out", verbose=0)
    assert metadata["training"]["curriculum"] == [{"max_length": 2, "epochs": 1}]
    assert 0.0 <= metadata["metrics"]["accuracy"] <= 1.0


def test_curriculum_needs_lengths(tmp_path):
    text = TOMITA_CURRICULUM.replace("  source: catalog\n  name: tomita\n  config: t5\n"
                                     "  overrides: {max_length: 4, test_max_length: 6, "
                                     "test_per_class: 3}\n  class_names: [rejected, accepted]\n",
                                     "  source: ucr\n  name: ItalyPowerDemand\n")
    assert "ItalyPowerDemand" in text
    with pytest.raises(RecipeError, match="curriculum needs"):
        run_recipe(write(tmp_path, text), tmp_path / "out", verbose=0)


def test_curriculum_stage_schema(tmp_path):
    text = TOMITA_CURRICULUM.replace("{max_length: 2, epochs: 1}", "{max_length: 0, epochs: 1}")
    with pytest.raises(RecipeError, match="max_length"):
        read_recipe(write(tmp_path, text))


def test_train_windows_cut_consecutive_pieces():
    x = np.arange(14, dtype="float32").reshape(2, 7, 1)
    y = x + 100
    wx, wy, lengths = train_windows(x, y, np.array([7, 5]), 3)
    # sequence 0: steps 0-2, 3-5 (tail 6 dropped); sequence 1 (length 5): steps 0-2
    np.testing.assert_array_equal(wx[..., 0], [[0, 1, 2], [3, 4, 5], [7, 8, 9]])
    np.testing.assert_array_equal(wy, wx + 100)
    assert lengths.tolist() == [3, 3, 3]
    with pytest.raises(RecipeError, match="longer than every"):
        train_windows(x, y, np.array([7, 5]), 8)
    with pytest.raises(RecipeError, match="per-step"):
        train_windows(x, y[:, 0], np.array([7, 5]), 3)


def test_nrmse_by_hand():
    targets = np.array([[[1.0], [3.0], [5.0], [7.0]]])
    predictions = targets + np.array([[[9.0], [1.0], [-1.0], [1.0]]])
    scored = np.array([[False, True, True, True]])  # washout 1
    metrics = nrmse_metrics(predictions, targets, scored)
    # errors 1, -1, 1 -> RMSE 1; targets 3, 5, 7 -> std sqrt(8/3)
    assert metrics["mse"] == pytest.approx(1.0)
    assert metrics["nrmse"] == pytest.approx(1.0 / np.sqrt(8.0 / 3.0))
    assert metrics["neg_nrmse"] == -metrics["nrmse"]


def test_linear_baseline_recovers_a_linear_filter(monkeypatch):
    def fake_load_numpy(name, split, config=None, seed=0, **params):
        u = np.random.default_rng(0 if split == "train" else 1).normal(size=(1, 300, 1))
        y = 0.5 * u + 0.25 * np.roll(u, 2, axis=1) - 1.0
        y[:, :2] = -1.0 + 0.5 * u[:, :2]  # the zero-padded start, as the filter sees it
        return {"u": u.astype("float32"), "y": y.astype("float32")}

    monkeypatch.setattr(rnnzoo.data, "load_numpy", fake_load_numpy)
    dataset = {"name": "fake", "inputs": "u", "targets": "y", "train_split": "train",
               "split": "test", "washout": 0}
    assert linear_baseline_nrmse(dataset, 2) < 1e-5
    assert linear_baseline_nrmse(dataset, 1) > 0.1  # a window too short misses the lag


@pytest.mark.parametrize("change, message", [
    (("criterion: nrmse", "criterion: mse"), "linear_baseline_delays needs"),
    (("per_step: true", "per_step: false"), "train_window needs"),
])
def test_predictor_options_checked_before_training(tmp_path, change, message):
    with pytest.raises(RecipeError, match=message):
        run_recipe(write(tmp_path, NARMA_FIR.replace(*change)), tmp_path / "out", verbose=0)
    assert not (tmp_path / "out").exists()


def test_fir_narma_recipe_trains_and_reevaluates(tmp_path):
    out = tmp_path / "fir"
    metadata = run_recipe(write(tmp_path, NARMA_FIR), out, verbose=0)
    assert metadata["primary_metric"] == "neg_nrmse"
    metrics = metadata["metrics"]
    assert metrics["neg_nrmse"] == -metrics["nrmse"] and metrics["nrmse"] > 0
    assert metrics["linear_baseline_nrmse"] > 0
    assert metadata["linear_baseline_delays"] == 4
    result = evaluate_preset(out)
    assert result["measured"] == pytest.approx(metrics["neg_nrmse"], abs=1e-4)


ADDING_CURRICULUM = """
name: indrnn_sequence_predictor.tiny
seed: 1
task: sequence_predictor
data:
  name: adding
  config: t1000
  params: {length: 12, num_train: 8, num_validation: 2, num_test: 4}
  criterion: adding_1997
model:
  backbone:
    - {layer: indrnn, units: 3}
  mask_value: 0.0
training:
  curriculum:
    - {config: t100, params: {length: 4}, epochs: 1}
    - {params: {length: 8}, epochs: 2}
  epochs: 1
  batch_size: 4
  schedule: cosine
reference:
  source: none, a test
  numbers: {lstm1997_wrong_t1000: 1}
"""


def test_predictor_curriculum_trains_each_stage_on_its_own_data(tmp_path, monkeypatch):
    import keras

    seen = []
    fit = keras.Model.fit

    def recording_fit(self, x, y, epochs=1, **kwargs):
        seen.append((x.shape[1], epochs))
        return fit(self, x, y, epochs=epochs, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    metadata = run_recipe(write(tmp_path, ADDING_CURRICULUM), tmp_path / "out", verbose=0)
    # Adding sequences run T..T + T/10 steps: the stages' lengths 4 and 8, then the main 12.
    assert [epochs for _, epochs in seen] == [1, 2, 1]
    assert [length for length, _ in seen] == sorted(length for length, _ in seen)
    assert seen[0][0] <= 4 and 8 <= seen[1][0] < 12 <= seen[2][0]
    assert metadata["training"]["curriculum"] == [
        {"config": "t100", "params": {"length": 4}, "epochs": 1, "batch_size": None,
         "learning_rate": None},
        {"config": None, "params": {"length": 8}, "epochs": 2, "batch_size": None,
         "learning_rate": None}]
    assert metadata["dataset"]["params"]["length"] == 12  # evaluation: the main data



def test_predictor_curriculum_stage_must_give_the_main_features():
    from rnnzoo.presets.recipes.predictor import PredictorStage, curriculum_splits

    dataset = {"name": "adding", "config": "t100", "params": {"length": 6, "num_train": 2},
               "inputs": "inputs", "targets": "target"}
    stage = PredictorStage(params={"length": 4}, epochs=1)
    x, y = np.zeros((2, 6, 2), "float32"), np.zeros((2, 1), "float32")
    ((_, (stage_x, stage_y, _)),) = curriculum_splits(dataset, [stage], "train", x, y)
    assert stage_x.shape[1] <= 4 and stage_y.shape == (2, 1)
    with pytest.raises(RecipeError, match="the main data has 3 and"):
        curriculum_splits(dataset, [stage], "train", np.zeros((2, 6, 3), "float32"), y)
    with pytest.raises(RecipeError, match="targets of shape"):
        curriculum_splits(dataset, [stage], "train", x, np.zeros((2, 2), "float32"))


def test_staged_rate_holds_stage_rates_and_runs_the_cosine_over_the_rest():
    from rnnzoo.presets.recipes.predictor import staged_rate

    segments = [(3, 0.5), (4, None), (2, 0.1), (4, None)]
    schedule = staged_rate(segments, 1.0, "cosine")
    got = [float(schedule(step)) for step in range(15)]
    cosine = [0.5 * (1 + np.cos(np.pi * min(clock / 8, 1.0))) for clock in range(10)]
    want = [0.5] * 3 + cosine[0:4] + [0.1] * 2 + cosine[4:8] + cosine[8:10]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    constant = staged_rate([(2, 0.3), (3, None)], 0.02, "constant")
    np.testing.assert_allclose([float(constant(step)) for step in range(5)],
                               [0.3, 0.3, 0.02, 0.02, 0.02], rtol=1e-6)


def test_predictor_curriculum_stage_batch_size_and_rate(tmp_path, monkeypatch):
    import keras

    seen = []
    fit = keras.Model.fit

    def recording_fit(self, x, y, epochs=1, batch_size=None, **kwargs):
        rate = self.optimizer.learning_rate  # the schedule's value at the current step
        seen.append((batch_size, float(rate)))
        return fit(self, x, y, epochs=epochs, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    recipe = ADDING_CURRICULUM.replace(
        "{config: t100, params: {length: 4}, epochs: 1}",
        "{config: t100, params: {length: 4}, epochs: 1, batch_size: 2, learning_rate: 0.05}")
    recipe = recipe.replace("  schedule: cosine\n", "  schedule: cosine\n  learning_rate: 0.01\n")
    metadata = run_recipe(write(tmp_path, recipe), tmp_path / "out", verbose=0)
    # 8 sequences: 4 steps at batch 2 and rate 0.05, then the cosine from 0.01
    # over the 4 steps of the second stage (2 epochs) and the 2 of the main epoch.
    assert [batch for batch, _ in seen] == [2, 4, 4]
    assert seen[0][1] == pytest.approx(0.05)
    assert seen[1][1] == pytest.approx(0.01)
    assert seen[2][1] == pytest.approx(0.5 * 0.01 * (1 + np.cos(np.pi * 4 / 6)), rel=1e-4)
    assert metadata["training"]["curriculum"][0] == {
        "config": "t100", "params": {"length": 4}, "epochs": 1, "batch_size": 2,
        "learning_rate": 0.05}


def test_predictor_schedule_refuses_reduce_lr_on_plateau(tmp_path):
    recipe = ADDING_CURRICULUM.replace("  schedule: cosine\n",
                                       "  schedule: cosine\n  reduce_lr_patience: 2\n")
    with pytest.raises(RecipeError, match="reduce_lr_patience needs a constant"):
        run_recipe(write(tmp_path, recipe), tmp_path / "out", verbose=0)


def test_one_loop_trains_the_same_network_as_the_stacked_layers(tmp_path):
    two_layers = ADDING_CURRICULUM.replace(
        "    - {layer: indrnn, units: 3}\n",
        "    - {layer: indrnn, units: 3}\n    - {layer: indrnn, units: 2}\n")
    metrics, configs = {}, {}
    for one_loop in (False, True):
        recipe = two_layers.replace("  mask_value: 0.0\n",
                                    f"  mask_value: 0.0\n  one_loop: {str(one_loop).lower()}\n")
        out = tmp_path / f"one_loop_{one_loop}"
        metrics[one_loop] = run_recipe(write(tmp_path, recipe), out, verbose=0)["metrics"]
        configs[one_loop] = (out / "config.json").read_text()
        assert evaluate_preset(out)["measured"] == pytest.approx(
            metrics[one_loop]["accuracy"], abs=1e-6)
    assert metrics[True] == pytest.approx(metrics[False], rel=1e-4, abs=1e-6)
    assert "StackedRNN" in configs[True] and "StackedRNN" not in configs[False]


def test_one_loop_builds_one_stacked_layer():
    from rnnzoo.layers import StackedRNN

    specs = [LayerSpec(layer="indrnn", units=3), LayerSpec(layer="elman", units=2)]
    (stack,) = build_layers(specs, seed=1, one_loop=True)
    assert isinstance(stack, StackedRNN) and not stack.return_sequences
    assert [cell.units for cell in stack.cells] == [3, 2]
    (single,) = build_layers(specs[:1], seed=1, one_loop=True)
    assert not isinstance(single, StackedRNN)
