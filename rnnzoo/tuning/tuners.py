"""Tuners for the task HyperModels, and a search that never waits forever.

`classifier_search(input_shape=..., num_classes=...)` and its siblings return
a ready Keras Tuner tuner (`RandomSearch` by default, `Hyperband` or
`BayesianOptimization` on request) watching the task's objective. Run it with
`tuner.search(...)` as usual, or with `search(tuner, ...)`, which adds the
bounded wait of the distributed chief described in `rnnzoo.tuning`.
"""

import os
import threading
import time

import keras_tuner

from rnnzoo.tuning.hypermodels import (
    AnomalyDetectorHyperModel,
    CaptionerHyperModel,
    CharGeneratorHyperModel,
    CTCRecognizerHyperModel,
    ForecasterHyperModel,
    Seq2SeqHyperModel,
    SequenceClassifierHyperModel,
    SequencePredictorHyperModel,
    TaskHyperModel,
)

TUNERS = ("RandomSearch", "Hyperband", "BayesianOptimization")
DEFAULT_DISTRIBUTED_TIMEOUT = 3600.0


class DistributedSearchTimeout(TimeoutError):
    """The chief saw no progress from its workers for longer than its timeout."""


def make_tuner(hypermodel, tuner="RandomSearch", objective=None, max_trials=10,
               max_epochs=None, seed=None, directory=None, project_name=None, overwrite=False,
               **kwargs):
    """A Keras Tuner tuner over a task HyperModel.

    Args:
        hypermodel: a `TaskHyperModel` (e.g. `SequenceClassifierHyperModel(...)`).
        tuner: "RandomSearch" (default), "Hyperband" or "BayesianOptimization".
        objective: default the HyperModel's (`val_accuracy` for classifiers,
            `val_loss` otherwise).
        max_trials: int, trials of RandomSearch and BayesianOptimization.
        max_epochs: int, Hyperband's most epochs per model (required there).
        seed, directory, project_name, overwrite, **kwargs: passed to the tuner.

    Returns:
        a `keras_tuner.Tuner`.
    """
    if not isinstance(hypermodel, TaskHyperModel):
        raise ValueError(
            "Received an invalid value for argument `hypermodel` of make_tuner, expected "
            f"an rnnzoo.tuning task HyperModel, got {type(hypermodel).__name__}."
        )
    if tuner not in TUNERS:
        raise ValueError(
            f"Received an invalid value for argument `tuner` of make_tuner, expected one of "
            f"{list(TUNERS)}, got {tuner!r}."
        )
    common = dict(objective=objective or hypermodel.objective, seed=seed,
                  directory=directory, project_name=project_name, overwrite=overwrite,
                  **kwargs)
    if tuner == "Hyperband":
        if max_epochs is None:
            raise ValueError("Hyperband needs `max_epochs` (the most epochs one model trains).")
        return keras_tuner.Hyperband(hypermodel, max_epochs=max_epochs, **common)
    tuner_class = getattr(keras_tuner, tuner)
    return tuner_class(hypermodel, max_trials=max_trials, **common)


def _factory(hypermodel_class, doc):
    def factory(*args, cell_types=None, tuner="RandomSearch", max_trials=10, max_epochs=None,
                seed=None, directory=None, project_name=None, overwrite=False,
                tuner_kwargs=None, **contract):
        hypermodel = hypermodel_class(*args, cell_types=cell_types, seed=seed, **contract)
        return make_tuner(hypermodel, tuner=tuner, max_trials=max_trials,
                          max_epochs=max_epochs, seed=seed, directory=directory,
                          project_name=project_name or hypermodel_class.task_class.__name__,
                          overwrite=overwrite, **(tuner_kwargs or {}))

    factory.__doc__ = f"""A tuner over `{hypermodel_class.__name__}` ({doc}).

    Args:
        *args, **contract: the HyperModel's contract and task arguments.
        cell_types: optional subset of step-wise layer names for `cell_type`.
        tuner, max_trials, max_epochs: see `make_tuner`.
        seed, directory, project_name, overwrite: passed to the tuner (the seed
            also seeds the layers).
        tuner_kwargs: optional dict of further tuner arguments.
    """
    return factory


classifier_search = _factory(SequenceClassifierHyperModel, "input_shape, num_classes")
sequence_predictor_search = _factory(SequencePredictorHyperModel,
                                     "output_dim, input_shape, per_step")
captioner_search = _factory(CaptionerHyperModel, "vocabulary, image_shape")
anomaly_detector_search = _factory(AnomalyDetectorHyperModel, "window, num_features, mode")
seq2seq_search = _factory(
    Seq2SeqHyperModel, "source_vocabulary_size, target_vocabulary_size, max_source_length")
ctc_recognizer_search = _factory(CTCRecognizerHyperModel, "num_classes, input_shape")
forecaster_search = _factory(ForecasterHyperModel, "window, horizon, num_features, mode")
char_generator_search = _factory(CharGeneratorHyperModel, "vocabulary")
for _name, _function in list(globals().items()):
    if _name.endswith("_search") and callable(_function):
        _function.__name__ = _function.__qualname__ = _name


def role():
    """"chief", "worker" or "local", from Keras Tuner's KERASTUNER_* variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "local"
    missing = [k for k in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
               if k not in os.environ]
    if missing:
        raise ValueError(
            f"KERASTUNER_ORACLE_IP is set but {' and '.join(missing)} is not; distributed "
            "tuning needs all three (KERASTUNER_TUNER_ID=chief on the chief, tuner0, "
            "tuner1, ... on the workers)."
        )
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def _progress(oracle):
    """A snapshot that changes whenever a worker asks for, reports or ends a trial."""
    for _ in range(5):  # the server thread may change the dicts while we read them
        try:
            trials = tuple(sorted((tid, str(t.status), len(t.metrics.metrics))
                                  for tid, t in dict(oracle.trials).items()))
            ongoing = tuple(sorted((tuner_id, t.trial_id)
                                   for tuner_id, t in dict(oracle.ongoing_trials).items()))
            return trials, ongoing
        except RuntimeError:
            time.sleep(0.01)
    return None


def _stall_message(oracle, timeout):
    ongoing = dict(oracle.ongoing_trials)
    if ongoing:
        running = ", ".join(f"trial {t.trial_id} on {tuner_id}"
                            for tuner_id, t in sorted(ongoing.items()))
        what = (f"still running: {running}; a worker may have died (restart it with the same "
                "KERASTUNER_TUNER_ID to resume its trial)")
    elif not oracle.trials:
        what = ("no worker asked for a trial; start workers with the same KERASTUNER_ORACLE_IP "
                "and KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID=tuner0, tuner1, ...")
    else:
        what = "no worker asked for a new trial"
    done = sum(1 for t in oracle.trials.values() if str(t.status) == "COMPLETED")
    return (f"Distributed search stalled: no progress from the workers for {timeout:g} s "
            f"({done} trials completed); {what}. Raise the timeout "
            "(rnnzoo tune --distributed-timeout) if trials are that slow.")


def search(tuner, *fit_args, distributed_timeout=DEFAULT_DISTRIBUTED_TIMEOUT,
           poll_seconds=0.5, **fit_kwargs):
    """`tuner.search(...)` with a bounded wait on a distributed chief.

    Locally and on a worker this is exactly `tuner.search`. On the chief
    (`KERASTUNER_TUNER_ID=chief`), Keras Tuner serves the oracle until every
    worker has finished, and a worker that died mid-trial would keep it
    waiting forever; here the server runs in a background thread and the
    chief gives up with `DistributedSearchTimeout` when no worker has sent
    the oracle any request (asked for the search space or a trial, reported
    or ended one) for `distributed_timeout` seconds, which must therefore
    exceed the longest trial. The
    oracle state saved in the tuner's folder is kept, so a restarted worker
    (same `KERASTUNER_TUNER_ID`) resumes its trial under a restarted chief.

    Returns:
        the tuner.

    Raises:
        DistributedSearchTimeout: on a stalled chief (one line, naming the
            trials still running and their workers).
    """
    if role() != "chief":
        tuner.search(*fit_args, **fit_kwargs)
        return tuner
    if not isinstance(distributed_timeout, (int, float)) or distributed_timeout <= 0:
        raise ValueError(
            "Received an invalid value for argument `distributed_timeout` of search, "
            f"expected a positive number of seconds, got {distributed_timeout!r}."
        )
    failures = []

    def serve():
        try:
            tuner.search(*fit_args, **fit_kwargs)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    heard = _listen(tuner.oracle)
    server = threading.Thread(target=serve, name="rnnzoo-tuning-chief", daemon=True)
    server.start()
    last, changed = None, time.monotonic()
    while server.is_alive():
        server.join(poll_seconds)
        snapshot = (_progress(tuner.oracle), heard[0])
        if snapshot[0] is not None and _finished(tuner.oracle):
            break  # Keras Tuner's own check of this runs only every 20 s
        now = time.monotonic()
        if snapshot != last:
            last, changed = snapshot, now
        elif now - changed > distributed_timeout:
            raise DistributedSearchTimeout(_stall_message(tuner.oracle, distributed_timeout))
    if failures:
        raise failures[0]
    return tuner


# The oracle methods the chief's gRPC service calls on behalf of the workers.
_REQUESTS = ("get_space", "update_space", "create_trial", "update_trial", "end_trial",
             "get_trial")


def _listen(oracle):
    """Counts the workers' requests to the chief's oracle (any request is a heartbeat).

    Wraps the public request methods on this oracle instance; returns a
    one-item list holding the count.
    """
    heard = [0]

    def counted(method):
        def call(*args, **kwargs):
            heard[0] += 1
            return method(*args, **kwargs)

        return call

    for name in _REQUESTS:
        setattr(oracle, name, counted(getattr(oracle, name)))
    return heard


def _finished(oracle):
    """Keras Tuner's exit test of the chief: trials ran, every worker was told to stop.

    A tuner id leaves `oracle.tuner_ids` only when the oracle answers it
    STOPPED, so no ids and no running trials after some trials means done.
    """
    try:
        return bool(oracle.trials) and not oracle.ongoing_trials and not oracle.tuner_ids
    except RuntimeError:
        return False
