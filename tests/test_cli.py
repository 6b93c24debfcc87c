"""The `rnnzoo` command, run as a user runs it (a subprocess) where it matters."""

import os
import subprocess
import sys

import pytest

from rnnzoo import cli


def run_cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "rnnzoo.cli", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from rnnzoo import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "quickstart" in result.stdout and "export" in result.stdout


def test_list_layers_and_presets(capsys):
    assert cli.main(["list", "layers"]) == 0
    import rnnzoo

    assert capsys.readouterr().out.split() == rnnzoo.list_layers()
    assert cli.main(["list", "presets", "indrnn*"]) == 0
    out = capsys.readouterr().out
    assert "indrnn_classifier.gunpoint" in out and "GunPoint/test: accuracy" in out


def test_list_datasets_prints_descriptions_without_tensorflow():
    code = (
        "import sys\n"
        "from rnnzoo import cli\n"
        "assert cli.main(['list', 'datasets']) == 0\n"
        "assert cli.main(['list', 'datasets', 'tomi*']) == 0\n"
        "bad = [m for m in ('tensorflow', 'tensorflow_datasets', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from rnnzoo.data import describe, list_datasets

    lines = result.stdout.strip().splitlines()
    names = list_datasets()
    assert [line.split()[0] for line in lines] == names + ["tomita"]
    for line, name in zip(lines, names):
        assert line.split(None, 1)[1] == describe(name).description


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "no_such_preset"], "Unknown preset 'no_such_preset'"),
        (["evaluate", "../x"], "path separators"),
        (["train", "missing.yaml"], "does not exist"),
        (["export", "missing.keras", "--out", "x.tflite"], "does not exist"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(args, message, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_recipe_is_one_line_exit_2(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: elman_classifier.x\ntask: sequence_classifier\ndata: {name: GunPoint}\n"
                      "model: {backbone: [{layer: elman, units: 4}]}\ntraining: {epochs: many}\n")
    result = run_cli("train", str(recipe))
    assert result.returncode == 2
    assert "training.epochs" in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    result = run_cli("list", "nonsense")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.slow
def test_evaluate_and_export_a_preset(tmp_path, capsys):
    assert cli.main(["evaluate", "elman_classifier.italypowerdemand"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "published" in out
    target = tmp_path / "ipd.tflite"
    assert cli.main(["export", "elman_classifier.italypowerdemand", "--format", "tflite",
                     "--out", str(target)]) == 0
    assert target.stat().st_size > 0 and "max |exported - keras|" in capsys.readouterr().out


@pytest.mark.slow
def test_export_decoding_step_of_a_preset(tmp_path, capsys):
    target = tmp_path / "step.tflite"
    assert cli.main(["export", "lstm_char_generator.shakespeare", "--step",
                     "--out", str(target)]) == 0
    assert target.stat().st_size > 0
    from rnnzoo.export import run_tflite
    import numpy as np

    # One step: a char id and the LSTM's two states in; log-probs and states out.
    outputs = run_tflite(str(target), [np.ones((1, 1), "int32"), np.zeros((1, 128), "float32"),
                                       np.zeros((1, 128), "float32")])
    assert outputs[0].shape[-1] == 80 and len(outputs) == 3  # 79 characters + unknown (id 0)
    assert cli.main(["export", "indrnn_classifier.gunpoint", "--step", "--out",
                     str(tmp_path / "x.tflite")]) == 2
    assert "--step" in capsys.readouterr().err


def test_export_a_preset_for_streaming(tmp_path, capsys):
    target = tmp_path / "stream.tflite"
    assert cli.main(["export", "elman_classifier.italypowerdemand", "--streaming",
                     "--timesteps", "6", "--out", str(target)]) == 0
    assert "max |exported - keras|" in capsys.readouterr().out
    from rnnzoo.export import run_tflite, start_states, streaming_model
    from rnnzoo.presets import load
    import numpy as np

    # ItalyPowerDemand has 24 steps: four chunks of 6 give the whole-series logits.
    model = load("elman_classifier.italypowerdemand")
    x = np.random.default_rng(0).standard_normal((1, 24, 1)).astype("float32")
    states = start_states(streaming_model(model))
    for start in range(0, 24, 6):
        logits, *states = run_tflite(str(target), [x[:, start:start + 6], *states])
    np.testing.assert_allclose(logits, model(x), atol=1e-5)
    assert cli.main(["export", "elman_classifier.italypowerdemand", "--streaming", "--step",
                     "--out", str(tmp_path / "x.tflite")]) == 2
    assert "--streaming" in capsys.readouterr().err
