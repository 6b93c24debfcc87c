"""Smoke tests of the benchmark scripts: they run and print their table (no timings asserted)."""

import os
import re
import subprocess
import sys

import pytest


def run_script(repo_root, tmp_path, script, *args):
    """Runs `benchmarks/<script>` with `args` in an empty folder: (return code, stdout, stderr)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    return result.returncode, result.stdout, result.stderr


def table_rows(stdout):
    """The rows of a printed Markdown table, by first cell, as lists of cells."""
    return {cells[0]: cells for cells in (
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| layer |")
    )}


def test_throughput_quick_prints_a_row(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "throughput.py", "--quick", "--rounds", "1",
                                "--layers", "elman,gru,indrnn", "--return-sequences")
    assert code == 0, err[-2000:]
    assert "all steps' outputs" in out
    rows = table_rows(out)
    assert set(rows) == {"SimpleRNN", "LSTM", "GRU", "elman", "gru", "indrnn", "SimpleRNN(4)"}
    cells = rows["elman"]
    assert len(cells) == 12
    assert cells[2] == "line"  # elman has SimpleRNN's MACs: on the references' line
    assert cells[-1] in ("yes", "**no**")
    assert all(float(cells[i].split()[0]) > 0 for i in (1, *range(3, 11)))
    # The zoo's `gru` is Keras' own layer: the target for zoo cells does not apply.
    assert rows["gru"][-1] == "(Keras' GRU)"
    # IndRNN has fewer MACs than SimpleRNN(H): it is compared with a SimpleRNN
    # of its own MACs, timed in its blocks and shown as a reference row. At
    # the quick shape (B=4, D=3, H=8) IndRNN has 4*3*8 = 96 MACs per step,
    # SimpleRNN(4) 4*(3*4 + 4*4) = 112 (SimpleRNN(3): 72).
    assert rows["indrnn"][2] == "SimpleRNN(4)" and rows["indrnn"][-1] in ("yes", "**no**")
    assert rows["SimpleRNN(4)"][-1] == "(reference)" and rows["SimpleRNN(4)"][1] == "0.000112"
    assert all(float(rows["indrnn"][i].split()[0]) > 0 for i in range(3, 11))
    assert not list(tmp_path.iterdir())  # writes nothing
    # The header names the host: ratios move with its caches (benchmarks/README.md).
    code, host, err = run_script(repo_root, tmp_path, "host.py")
    assert code == 0, err[-2000:]
    assert host.strip() and host.strip() in out.splitlines()[0]


def test_host_names_the_cpus_and_the_l2(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "host.py")
    assert code == 0, err[-2000:]
    assert f"{os.cpu_count()} CPUs" in out
    if os.path.exists("/sys/devices/system/cpu/cpu0/cache/index2/size"):
        assert re.search(r"L2 \d+[KM] per core", out), out


def test_throughput_under_xla_prints_a_row(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "throughput.py", "--quick", "--rounds", "1",
                                "--repeats", "1", "--layers", "ctrnn", "--jit-compile")
    assert code == 0, err[-2000:]
    assert "XLA (jit_compile=True)" in out
    cells = table_rows(out)["ctrnn"]
    assert len(cells) == 12 and all(float(cells[i].split()[0]) > 0 for i in range(3, 11))
    assert not list(tmp_path.iterdir())  # writes nothing


def import_benchmark(repo_root, name):
    """`benchmarks/<name>.py` imported as a module (its `main(argv)` runs in-process)."""
    import importlib

    sys.path.insert(0, str(repo_root / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(repo_root / "benchmarks"))


@pytest.fixture
def throughput(repo_root):
    """`benchmarks/throughput.py` imported as a module."""
    return import_benchmark(repo_root, "throughput")


def rejected_arguments(repo_root, capsys, script, *args):
    """Runs `script`'s `main(args)` in this process: (exit code, stderr) of its
    argument error. The argument checks come before the scripts configure
    TensorFlow, so this spares a subprocess and its TensorFlow import."""
    with pytest.raises(SystemExit) as exit_info:
        import_benchmark(repo_root, script).main(list(args))
    return exit_info.value.code, capsys.readouterr().err


def test_sized_built_ins_match_the_cells_macs(throughput):
    full = throughput.FULL  # B=64, D=32, H=128: SimpleRNN 1,310,720 MACs, LSTM 4x that
    simple, lstm = 64 * (32 * 128 + 128**2), 4 * 64 * (32 * 128 + 128**2)
    assert throughput.sized_name(64 * 32 * 128, full, simple, lstm) == "SimpleRNN(50)"
    assert throughput.sized_name(64 * 128 * 32 * 128, full, simple, lstm) == "LSTM(346)"
    for inside in (simple, lstm, (simple + lstm) / 2):
        assert throughput.sized_name(inside, full, simple, lstm) is None
    assert throughput.sized_name(1, full, simple, lstm) == "SimpleRNN(1)"
    layer = throughput.make_layer("LSTM(346)", 128, return_sequences=True)
    assert layer.units == 346 and layer.return_sequences


def test_stacked_loop_quick_prints_a_row(repo_root, tmp_path, capsys):
    code, out, err = run_script(repo_root, tmp_path, "stacked_loop.py", "--shape", "quick",
                                "--rounds", "1", "--repeats", "1", "--layers", "indrnn")
    assert code == 0, err[-2000:]
    cells = table_rows(out)["indrnn"]
    assert len(cells) == 5 and all(float(cells[i].split()[0]) > 0 for i in (2, 4))
    assert not list(tmp_path.iterdir())  # writes nothing
    code, err = rejected_arguments(repo_root, capsys, "stacked_loop", "--layers", "hopfield")
    assert code == 2 and "step-wise registry names" in err


def test_step_profile_quick_prints_kernels(repo_root, tmp_path, capsys):
    code, out, err = run_script(repo_root, tmp_path, "step_profile.py", "--quick",
                                "--layers", "SimpleRNN(4),elman", "--calls", "1", "--top", "5",
                                "--return-sequences")
    assert code == 0, err[-2000:]
    assert "all steps' outputs" in out
    tables = out.split("| kernel |")[1:]
    assert len(tables) == 2
    for table in tables:
        rows = [line for line in table.splitlines() if line.startswith("| ") and ":" in line]
        assert 1 <= len(rows) <= 5
        assert all(float(row.split("|")[2]) > 0 for row in rows)
    assert any("MatMul" in row for row in out.splitlines())
    assert not list(tmp_path.iterdir())  # the trace's folder is removed
    code, err = rejected_arguments(repo_root, capsys, "step_profile", "--layers", "nope")
    assert code == 2 and "unknown layers" in err


def test_esn_floor_prints_the_two_costs(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "esn_mackey_glass.py", "--part", "floor",
                                "--rounds", "1", "--floatx", "float32")
    assert code == 0, err[-2000:]
    assert "TensorFlow threads 1" in out  # follows the one BLAS thread of the CPU clock
    rows = [re.match(r"  (.+?)\s+([\d.]+) s", line) for line in out.splitlines()]
    seconds = {row.group(1): float(row.group(2)) for row in rows if row}
    assert set(seconds) == {"loop with the recurrent product", "loop without it",
                            "float64 Gram matrix"}
    assert all(value > 0 for value in seconds.values())
    assert not list(tmp_path.iterdir())  # writes nothing


def test_component_cost_prints_each_form_and_its_cost(repo_root, tmp_path, capsys):
    code, out, err = run_script(repo_root, tmp_path, "component_cost.py", "--quick",
                                "--rounds", "1", "--repeats", "1")
    assert code == 0, err[-2000:]
    first, second = out.split("| layer without |")
    rows = table_rows(first)
    forms = {"layer_norm_lstm", "layer_norm_lstm@automatic_gradient",
             "layer_norm_lstm@without_normalization", "hierarchical",
             "hierarchical@without_clock", "ctrnn", "ctrnn@without_leak", "mtrnn",
             "mtrnn@without_leak"}
    assert set(rows) == {"SimpleRNN", "LSTM", *forms}
    for form in forms:
        assert len(rows[form]) == 12 and all(float(rows[form][i].split()[0]) > 0
                                             for i in range(3, 11))
    costs = [[cell.strip() for cell in line.split("|")[1:-1]]
             for line in second.splitlines()[2:] if line.startswith("| ")]
    assert {(cells[0], cells[2]) for cells in costs} == {
        (form, mode) for form in forms if "@without" in form for mode in ("serve", "train")}
    for cells in costs:
        shipped, without, cost = float(cells[3]), float(cells[4]), float(cells[5])
        assert abs(shipped - without - cost) < 0.011 and cells[6] == "0.10"
    assert not list(tmp_path.iterdir())  # writes nothing
    code, err = rejected_arguments(repo_root, capsys, "component_cost", "--layers", "elman")
    assert code == 2 and "--layers must name some of" in err


def test_second_order_products_prints_products_and_whole_steps(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "second_order_products.py", "--quick",
                                "--rounds", "1", "--layouts")
    assert code == 0, err[-2000:]
    first, second = out.split("| second_order arrangement |")
    products = [[cell.strip() for cell in line.split("|")[1:-1]]
                for line in first.splitlines()
                if line.startswith("| ") and not line.startswith("| layer |")]
    kinds = {(cells[0], cells[1]) for cells in products}
    assert {("second_order", "as it is"), ("second_order", "kernel transposed"),
            ("second_order", "2 chunks"), ("second_order", "whole step")} <= kinds
    assert sum(1 for name, kind in kinds if kind == "whole step") == 2
    assert all(float(cells[3]) > 0 for cells in products)
    summary = table_rows(second)
    assert set(summary) == {"as it is", "kernel transposed", "2 chunks",
                            "weight gradient over all steps",
                            "weight gradient over all steps, P' stored"}
    assert all(float(cells[i]) > 0 for cells in summary.values() for i in (1, 2, 3))
    assert not list(tmp_path.iterdir())  # writes nothing


def test_rollout_trace_times_both_forms_with_the_same_forecasts(repo_root, tmp_path):
    code, out, err = run_script(repo_root, tmp_path, "rollout_trace.py", "--quick",
                                "--layer", "elman")
    assert code == 0, err[-2000:]
    assert "largest forecast difference 0.0e+00" in out  # same seed, same numbers
    rows = table_rows(out)
    assert rows.pop("one-step calls")[1] == "first fit epoch s"  # the header
    assert set(rows) == {"unrolled (shipped)", "while loop (before)"}
    assert all(float(cell) > 0 for cells in rows.values() for cell in cells[1:])
    assert not list(tmp_path.iterdir())  # writes nothing


def test_throughput_against_a_revision_adds_rows_and_registers_nothing(throughput):
    # `--against REV` loads a layer's module as it was at REV (here HEAD) next
    # to today's; nothing may be registered with the zoo or with Keras.
    import keras
    import numpy as np

    import rnnzoo

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
