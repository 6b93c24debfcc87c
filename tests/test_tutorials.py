"""Every tutorial runs, with small settings, into a temporary folder."""

import importlib.util
import pathlib

import pytest

TUTORIALS = sorted((pathlib.Path(__file__).parent.parent / "tutorials").glob("[0-9]*.py"))


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tutorials_exist():
    assert TUTORIALS


@pytest.mark.slow
def test_tutorial_1_any_backbone(tmp_path):
    tutorial = load(TUTORIALS[0])
    # Small backbones of every kind the loop must handle: plain, one that
    # needs an extra argument (jordan), one with nothing trainable but the
    # head (esn), one with two states (hierarchical) and one with an external
    # memory (nnpda). Each compared backbone costs four traces (fit and
    # evaluate, full and last batch), about 100 s for all step-wise layers;
    # that every step-wise layer trains in a compiled model is the
    # conformance sweep's "fit" check.
    layers = ["elman", "jordan", "esn", "hierarchical", "nnpda"]
    accuracies, report = tutorial.main(epochs=3, out=str(tmp_path), units=8, layers=layers)
    assert list(accuracies) == layers
    assert all(0.0 <= a <= 1.0 for a in accuracies.values())
    best = max(accuracies, key=accuracies.get)
    assert pathlib.Path(report.path).name == f"{best}.tflite"
    assert report.max_abs_diff <= 1e-5 and (tmp_path / f"{best}.keras").exists()


def test_tutorial_1_compares_every_stepwise_layer_by_default():
    import rnnzoo

    tutorial = load(TUTORIALS[0])
    assert tutorial.backbone_names() == rnnzoo.list_layers(kind="stepwise")
    assert tutorial.backbone_names(["gru", "elman"]) == ["gru", "elman"]
    for bad in (["hopfield"], ["elman", "no_such_layer"], []):
        with pytest.raises(ValueError, match="step-wise zoo layers"):
            tutorial.backbone_names(bad)
