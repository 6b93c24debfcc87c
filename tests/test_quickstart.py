import subprocess
import sys


def test_quickstart_runs_offline_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnnzoo.cli", "quickstart", "--work-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "Done in"):
        assert step in out
    assert (tmp_path / "model.tflite").stat().st_size > 0
    parity = float(out.split("max |tflite - keras| = ")[1].split()[0])
    assert parity <= 1e-5


def test_quickstart_numbers(tmp_path):
    from rnnzoo.quickstart import run

    lines = []
    result = run(work_dir=str(tmp_path), fine_tune_epochs=10, out=lines.append)
    assert result["held_out_accuracy"] > 0.9
    assert result["after"] > result["before"]  # fine-tuning on the new sensor helps
    assert result["tflite_max_abs_diff"] <= 1e-5
    assert len(lines) >= 8
