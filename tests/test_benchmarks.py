"""Smoke tests of the benchmark scripts: they run and print their table (no timings asserted)."""

import os
import subprocess
import sys

import pytest


def test_throughput_quick_prints_a_row(repo_root, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [
            sys.executable,
            str(repo_root / "benchmarks" / "throughput.py"),
            "--quick", "--rounds", "1", "--layers", "elman,gru", "--return-sequences",
        ],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all steps' outputs" in result.stdout
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| layer")}
    assert set(rows) == {"SimpleRNN", "LSTM", "GRU", "elman", "gru"}
    cells = [cell.strip() for cell in rows["elman"].strip("|").split("|")]
    assert len(cells) == 11
    assert cells[-1] in ("yes", "**no**")
    assert all(float(cells[i].split()[0]) > 0 for i in range(1, 10))
    # The zoo's `gru` is Keras' own layer: the target for zoo cells does not apply.
    assert rows["gru"].strip("|").split("|")[-1].strip() == "(Keras' GRU)"
    assert not list(tmp_path.iterdir())  # writes nothing


def test_stacked_loop_quick_prints_a_row(repo_root, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks" / "stacked_loop.py"),
         "--shape", "quick", "--rounds", "1", "--repeats", "1", "--layers", "indrnn"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("| indrnn")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert len(cells) == 5 and all(float(cells[i].split()[0]) > 0 for i in (2, 4))
    assert not list(tmp_path.iterdir())  # writes nothing
    bad = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks" / "stacked_loop.py"), "--layers", "hopfield"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert bad.returncode == 2 and "step-wise registry names" in bad.stderr


def test_throughput_against_a_revision_adds_rows_and_registers_nothing(repo_root):
    # `--against REV` loads a layer's module as it was at REV (here HEAD) next
    # to today's; nothing may be registered with the zoo or with Keras.
    import keras
    import numpy as np

    import rnnzoo

    sys.path.insert(0, str(repo_root / "benchmarks"))
    try:
        import throughput
    finally:
        sys.path.remove(str(repo_root / "benchmarks"))
    today = rnnzoo.get_layer("elman")  # imports the layer module (rnnzoo loads it lazily)
    assert keras.saving.get_registered_object("rnnzoo>Elman") is today
    rows = throughput.load_earlier(["elman"], "HEAD")
    assert rows == ["elman@HEAD"]
    earlier = throughput.EARLIER["elman@HEAD"]
    assert earlier is not today and earlier.__name__ == "Elman"
    assert rnnzoo.get_layer("elman") is today
    assert keras.saving.get_registered_object("rnnzoo>Elman") is today
    assert "elman@HEAD" not in rnnzoo.list_layers()
    x = np.zeros((2, 3, 4), "float32")
    assert throughput.make_layer("elman@HEAD", 5)(x).shape == (2, 5)
    with pytest.raises(SystemExit, match="cannot read"):
        throughput.load_earlier(["elman"], "no-such-revision")
