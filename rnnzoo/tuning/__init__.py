"""Keras Tuner search spaces for every task, and tuners ready to run.

One `keras_tuner.HyperModel` per task (`SequenceClassifierHyperModel`,
`CaptionerHyperModel`, `AnomalyDetectorHyperModel`, `Seq2SeqHyperModel`,
`CTCRecognizerHyperModel`, `ForecasterHyperModel`, `CharGeneratorHyperModel`,
and `SequencePredictorHyperModel` for the generic predictor)
searches `cell_type` over the registered step-wise variants, `units`,
`num_layers` (stacked right), `bidirectional` where the task takes it,
`dropout`, `learning_rate` and each variant's own knobs under conditional
scopes (`rnnzoo.tuning.space`). Defaults are the zoo's defaults: building
with an empty `keras_tuner.HyperParameters()` gives the default model (LSTM,
64 units, one layer, the task's dropout and learning rate).

    import rnnzoo
    tuner = rnnzoo.tuning.classifier_search(input_shape=(None, 3), num_classes=5,
                                            max_trials=20, directory="runs")
    tuner.search(x, y, validation_split=0.2, epochs=20)
    best = tuner.get_best_models(1)[0]

From the shell, `rnnzoo tune RECIPE.yaml` runs a search a YAML recipe
describes (see `rnnzoo.presets.tuning_recipe`; examples in `zoo_configs/tuning/`).

Distributed search (Keras Tuner's chief/worker mode): start the same search
once per process with these environment variables; the chief serves the
oracle over gRPC and runs no trials, each worker asks it for trials until the
budget is spent. All processes must see the same output folder (for the
chief to load the best model's checkpoint).

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        rnnzoo tune recipe.yaml --distributed-timeout 600
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        rnnzoo tune recipe.yaml
    KERASTUNER_TUNER_ID=tuner1 ...   (one distinct id per worker)

Keras Tuner's chief waits until every worker has finished; a worker that
dies mid-trial would keep it waiting forever. `rnnzoo.tuning.search(tuner,
...)` (used by `rnnzoo tune`) bounds that wait: when no worker has sent the
oracle any request (asked for the space or a trial, reported or ended one)
for `distributed_timeout` seconds (default 3600; it must exceed the longest
trial, since a worker is silent while it trains), the chief stops with
`DistributedSearchTimeout`, naming the trials still running and their
workers (`rnnzoo tune` prints that one line and exits with status 1). The
oracle's state stays in the output folder; restarted on it, Keras Tuner
reloads the oracle and hands the interrupted trial out again. (A worker
whose chief disappears gives up after Keras Tuner's own gRPC timeout, 60 min.)

Names load on first use (PEP 562), so importing this package costs nothing
until a HyperModel or tuner is touched.
"""

import importlib

_PUBLIC = {
    "AnomalyDetectorHyperModel": "rnnzoo.tuning.hypermodels",
    "CaptionerHyperModel": "rnnzoo.tuning.hypermodels",
    "CharGeneratorHyperModel": "rnnzoo.tuning.hypermodels",
    "CTCRecognizerHyperModel": "rnnzoo.tuning.hypermodels",
    "ForecasterHyperModel": "rnnzoo.tuning.hypermodels",
    "HYPERMODELS": "rnnzoo.tuning.hypermodels",
    "Seq2SeqHyperModel": "rnnzoo.tuning.hypermodels",
    "SequenceClassifierHyperModel": "rnnzoo.tuning.hypermodels",
    "SequencePredictorHyperModel": "rnnzoo.tuning.hypermodels",
    "TaskHyperModel": "rnnzoo.tuning.hypermodels",
    "DistributedSearchTimeout": "rnnzoo.tuning.tuners",
    "anomaly_detector_search": "rnnzoo.tuning.tuners",
    "captioner_search": "rnnzoo.tuning.tuners",
    "char_generator_search": "rnnzoo.tuning.tuners",
    "classifier_search": "rnnzoo.tuning.tuners",
    "ctc_recognizer_search": "rnnzoo.tuning.tuners",
    "forecaster_search": "rnnzoo.tuning.tuners",
    "make_tuner": "rnnzoo.tuning.tuners",
    "search": "rnnzoo.tuning.tuners",
    "seq2seq_search": "rnnzoo.tuning.tuners",
    "sequence_predictor_search": "rnnzoo.tuning.tuners",
    "supported_cell_types": "rnnzoo.tuning.space",
    "VARIANT_PARAMS": "rnnzoo.tuning.space",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'rnnzoo.tuning' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
