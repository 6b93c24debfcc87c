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
    # Small backbones: every step-wise layer still trains and is evaluated
    # (the best one saved and exported), and the memristive circuit's
    # per-step solve stays cheap (at 32 units it took 41 of the about 120 s
    # that all backbones took together; 127 s for the test, 99 s now).
    accuracies, report = tutorial.main(epochs=3, out=str(tmp_path), units=8)
    import rnnzoo

    assert set(accuracies) == set(rnnzoo.list_layers(kind="stepwise"))
    assert all(0.0 <= a <= 1.0 for a in accuracies.values())
    assert report.max_abs_diff <= 1e-5 and (tmp_path / pathlib.Path(report.path).name).exists()
