"""Keras Tuner's chief/worker mode through `rnnzoo tune`, on 127.0.0.1.

Each process is a real `python -m rnnzoo.cli tune` with the KERASTUNER_*
variables. Workers start first and announce on stderr when they are about
to reach the oracle (they wait for it); the chief starts after, so both
workers take trials. Ports are picked free at run time.

Time: about 30-40 s per test on an idle 2-core machine (three TensorFlow
imports dominate); the waits allow minutes because a shared, loaded machine
can be ten times slower.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

RECIPE = """
name: distributed_search.unittest
seed: 1
task: sequence_classifier
data: {{source: ucr, name: ItalyPowerDemand, validation_split: 0.25}}
space:
  cell_types: [elman, gru]
  fixed: {{units: 4, num_layers: 1}}
tuner: RandomSearch
budget: {{max_trials: {trials}, epochs: {epochs}, batch_size: 64}}
baseline: false
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tuner_id, recipe, out, port, log, *extra):
    env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
               KERASTUNER_ORACLE_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1")
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnzoo.cli", "tune", str(recipe), "--out", str(out), "--quiet",
         *extra], env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
    process.log = log
    return process


def wait_for(condition, timeout, what, processes):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            for process in processes:
                process.kill()
            logs = "\n".join(f"--- {p.log}\n{open(p.log).read()[-2000:]}" for p in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def ready(process):
    return " ready, oracle at " in open(process.log).read()


def setup(tmp_path, trials, epochs):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(textwrap.dedent(RECIPE.format(trials=trials, epochs=epochs)))
    return recipe, tmp_path / "out", free_port()


def test_chief_and_two_workers_finish_every_trial(tmp_path):
    recipe, out, port = setup(tmp_path, trials=3, epochs=1)
    workers = [start(f"tuner{i}", recipe, out, port, tmp_path / f"tuner{i}.log")
               for i in range(2)]
    wait_for(lambda: all(ready(w) for w in workers), 300, "the workers to start", workers)
    chief = start("chief", recipe, out, port, tmp_path / "chief.log")
    everyone = [chief, *workers]
    wait_for(lambda: all(p.poll() is not None for p in everyone), 300, "the search", everyone)
    for process in everyone:
        assert process.returncode == 0, open(process.log).read()[-3000:]
    assert "3/3 trials completed" in open(chief.log).read()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["role"] == "chief"
    assert len(summary["trials"]) == 3
    assert all(t["status"] == "COMPLETED" and t["score"] is not None
               for t in summary["trials"])
    for worker in workers:
        assert "finished" in open(worker.log).read()


def test_a_dead_worker_does_not_hang_the_chief(tmp_path):
    # A long trial (many epochs) that the worker never finishes: it is killed mid-trial.
    recipe, out, port = setup(tmp_path, trials=2, epochs=500)
    worker = start("tuner0", recipe, out, port, tmp_path / "tuner0.log")
    wait_for(lambda: ready(worker), 300, "the worker to start", [worker])
    chief = start("chief", recipe, out, port, tmp_path / "chief.log",
                  "--distributed-timeout", "10")
    trial = out / "search" / "trial_0"
    wait_for(trial.exists, 300, "the first trial", [worker, chief])
    assert chief.poll() is None, open(chief.log).read()  # the worker is still heard from
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = time.monotonic()
    wait_for(lambda: chief.poll() is not None, 120, "the chief to give up", [chief])
    waited = time.monotonic() - killed
    log = open(chief.log).read()
    assert chief.returncode == 1, log
    lines = [line for line in log.splitlines() if line.startswith("rnnzoo: error:")]
    assert len(lines) == 1 and "stalled" in lines[0] and "trial 0 on tuner0" in lines[0], log
    assert waited < 120
