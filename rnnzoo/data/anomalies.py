"""Periodic signals with injected, labelled anomalies (dataset "periodic_anomalies").

A normal series is a sum of sines plus Gaussian noise,

    x[t] = sum_c a_c sin(2 pi t / p_c + phi_c) + e[t],   e[t] ~ N(0, noise_std^2),

with a dominant component (a_0 = 1) and `num_components - 1` weaker ones
(a_c ~ U(0.1, 0.5)), periods p_c ~ U(min_period, max_period) samples and phases
phi_c ~ U(0, 2 pi). An anomalous series is the same series with one to
`max_anomalies` non-overlapping anomalies written over it, each in its own window
`[start, end)`:

- ``spike``: one point, `x[start] += +-spike_size` (an additive outlier,
  Fox 1972; a point outlier in the taxonomy of Lai et al. 2021);
- ``level_shift``: a temporary level shift, `x[start:end] += +-shift_size`, so the
  mean of the window moves by exactly `shift_size` (the level shift / temporary
  change of Chen & Liu 1993);
- ``frequency_change``: inside the window every component runs
  `frequency_factor` times faster, its phase continuing from the sample before the
  window; the noise is unchanged (a seasonal pattern outlier, Lai et al. 2021).

Windows of level shifts and frequency changes are `min_window` to `max_window`
long; no anomaly starts in the first `length // 8` samples, so a detector always
sees some normal context first. The per-time-step labels are 1 exactly on the
windows, that is exactly on the samples that differ from the normal series.

Splits follow the protocol of Malhotra et al. (2015) for detectors calibrated on
normal data: ``train`` holds normal series only; ``validation`` (for choosing a
threshold) and ``test`` hold exactly `round(anomaly_rate * n)` anomalous series
among their n, at positions shuffled by the seed.

References:
    Fox, A. J. (1972). Outliers in time series. JRSS B 34(3), 350-363.
    Chen, C., Liu, L.-M. (1993). Joint estimation of model parameters and outlier
    effects in time series. JASA 88(421), 284-297.
    Malhotra, P., Vig, L., Shroff, G., Agarwal, P. (2015). Long short term memory
    networks for anomaly detection in time series. ESANN 2015.
    Lai, K.-H., Zha, D., Xu, J., Zhao, Y., Wang, G., Hu, X. (2021). Revisiting time
    series outlier detection: definitions and benchmarks. NeurIPS Datasets and
    Benchmarks 2021.

This module uses only numpy and the standard library (no tensorflow / keras).

Example:
    >>> from rnnzoo.data.anomalies import periodic_series
    >>> s = periodic_series(256, seed=3, kind="level_shift")
    >>> s.series.shape, s.labels.dtype.name, s.windows.shape[1]
    ((256,), 'int32', 2)
    >>> clean = periodic_series(256, seed=3)          # the same series, no anomaly
    >>> bool(((s.series != clean.series) == (s.labels == 1)).all())
    True
"""

import dataclasses
import math

import numpy as np

from rnnzoo.data import catalog

__all__ = ["KINDS", "CONFIG_KINDS", "AnomalySeries", "periodic_series", "SPEC"]

#: The anomaly kinds; `window_kinds` features index into this tuple.
KINDS = ("spike", "level_shift", "frequency_change")
#: Values of the `kind` parameter: one kind, or "mixed" (a kind drawn per anomaly).
CONFIG_KINDS = KINDS + ("mixed",)

_NAME = "periodic_anomalies"
_OWNER = f"dataset {_NAME!r}"

_SERIES_DEFAULTS = {
    "length": 256,
    "num_components": 3,
    "min_period": 16.0,
    "max_period": 48.0,
    "noise_std": 0.1,
    "spike_size": 4.0,
    "shift_size": 2.0,
    "frequency_factor": 3.0,
    "min_window": 48,
    "max_window": 96,
    "max_anomalies": 2,
}


@dataclasses.dataclass(frozen=True, eq=False)
class AnomalySeries:
    """One generated series.

    Attributes:
        series: float32 (length,), the observed values.
        labels: int32 (length,), 1 inside an anomaly window, else 0.
        windows: int32 (k, 2), `[start, end)` of each anomaly in time order
            (k = 0 for a normal series).
        window_kinds: int32 (k,), index into `KINDS` of each window.
        periods: float64 (num_components,), the component periods in samples
            (the first is the dominant component).
        amplitudes: float64 (num_components,), the component amplitudes.
    """

    series: np.ndarray
    labels: np.ndarray
    windows: np.ndarray
    window_kinds: np.ndarray
    periods: np.ndarray
    amplitudes: np.ndarray


def _invalid(argument, expected, value, owner=_OWNER):
    return ValueError(
        f"Received an invalid value for `{argument}` of {owner}, expected {expected}, "
        f"got {value!r}."
    )


def _number(argument, value, low, high=math.inf, low_open=False, owner=_OWNER):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}"
        bound += "" if high == math.inf else f" and <= {high}"
        raise _invalid(argument, f"a number {bound}", value, owner)
    return float(value)


def _check_series_options(length, kind, opts, owner=_OWNER):
    """Validates the series parameters; returns them as clean Python numbers."""
    out = {"length": catalog.check_positive(owner, "length", length)}
    if kind is not None and kind not in CONFIG_KINDS:
        raise ValueError(
            f"Received an invalid value for `kind` of {owner}, expected one of "
            f"{list(CONFIG_KINDS)} (or None for a normal series), got {kind!r}."
        )
    for name in ("num_components", "min_window", "max_window", "max_anomalies"):
        out[name] = catalog.check_positive(owner, name, opts[name])
    out["min_period"] = _number("min_period", opts["min_period"], 2, low_open=True, owner=owner)
    out["max_period"] = _number("max_period", opts["max_period"], out["min_period"], owner=owner)
    out["noise_std"] = _number("noise_std", opts["noise_std"], 0, owner=owner)
    for name in ("spike_size", "shift_size"):
        out[name] = _number(name, opts[name], 0, low_open=True, owner=owner)
    factor = _number("frequency_factor", opts["frequency_factor"], 1, low_open=True, owner=owner)
    if factor / out["min_period"] >= 0.5:
        raise _invalid(
            "frequency_factor",
            f"a factor that keeps the fastest changed component below the Nyquist "
            f"frequency (frequency_factor / min_period < 0.5, min_period={out['min_period']})",
            opts["frequency_factor"], owner)
    out["frequency_factor"] = factor
    if out["max_window"] < out["min_window"]:
        raise _invalid("max_window", f"an integer >= min_window={out['min_window']}",
                       opts["max_window"], owner)
    slot = (out["length"] - out["length"] // 8) // out["max_anomalies"]
    if slot < out["max_window"] + 1:
        raise _invalid(
            "max_window",
            f"at most {slot - 1} so that max_anomalies={out['max_anomalies']} windows fit, "
            f"apart, in the last 7/8 of length={out['length']}",
            opts["max_window"], owner)
    return out


def periodic_series(length=256, seed=0, kind=None, **options):
    """Generates one periodic series, normal or with injected anomalies.

    The normal part is drawn first from the seed, so the same `seed` with
    `kind=None` gives the very series the anomalies were written into.

    Args:
        length: int, number of time steps (default 256).
        seed: int, sequence of ints or `numpy.random.Generator` (default 0).
        kind: None for a normal series, one of `KINDS`, or "mixed" (each anomaly's
            kind drawn uniformly from `KINDS`). Default None.
        **options: the other series parameters, defaults in brackets:
            `num_components` (3), `min_period` (16.0) and `max_period` (48.0) in
            samples, `noise_std` (0.1), `spike_size` (4.0), `shift_size` (2.0),
            `frequency_factor` (3.0), `min_window` (48), `max_window` (96),
            `max_anomalies` (2; the count per anomalous series is uniform in
            1..max_anomalies).

    Returns:
        An `AnomalySeries`.

    Raises:
        ValueError: for an unknown option or kind, or values out of range (the
            message names the argument, the expectation and the value).

    Example:
        >>> s = periodic_series(128, seed=0, kind="spike", min_window=8, max_window=16)
        >>> s.windows.tolist(), [KINDS[k] for k in s.window_kinds]
        ([[46, 47], [73, 74]], ['spike', 'spike'])
    """
    unknown = sorted(set(options) - set(_SERIES_DEFAULTS) - {"length"})
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown} for periodic_series; expected some of "
            f"{sorted(set(_SERIES_DEFAULTS) - {'length'})}."
        )
    opts = {**_SERIES_DEFAULTS, **options}
    p = _check_series_options(length, kind, opts, owner="periodic_series")
    return _generate_series(p, kind, np.random.default_rng(seed))


def _generate_series(p, kind, rng):
    length, count_c = p["length"], p["num_components"]
    two_pi = 2.0 * np.pi
    periods = rng.uniform(p["min_period"], p["max_period"], count_c)
    amplitudes = np.concatenate([[1.0], rng.uniform(0.1, 0.5, count_c - 1)])
    phases = rng.uniform(0.0, two_pi, count_c)
    noise = rng.normal(0.0, p["noise_std"], length)
    t = np.arange(length, dtype=np.float64)
    x = np.sin(two_pi * t[:, None] / periods + phases) @ amplitudes + noise

    windows, kinds = [], []
    if kind is not None:
        offset = length // 8
        slot = (length - offset) // p["max_anomalies"]
        count = int(rng.integers(1, p["max_anomalies"] + 1))
        for s in np.sort(rng.choice(p["max_anomalies"], count, replace=False)):
            this = KINDS[int(rng.integers(len(KINDS)))] if kind == "mixed" else kind
            width = 1 if this == "spike" else int(
                rng.integers(p["min_window"], p["max_window"] + 1))
            low = offset + int(s) * slot
            # the window ends at least one sample before the next slot starts
            start = int(rng.integers(low, low + slot - width))
            end = start + width
            sign = 1.0 if rng.random() < 0.5 else -1.0
            if this == "spike":
                x[start] += sign * p["spike_size"]
            elif this == "level_shift":
                x[start:end] += sign * p["shift_size"]
            else:
                steps = np.arange(1, width + 1, dtype=np.float64)
                before = two_pi * (start - 1) / periods + phases
                phase = before + two_pi * p["frequency_factor"] * steps[:, None] / periods
                x[start:end] = np.sin(phase) @ amplitudes + noise[start:end]
            windows.append((start, end))
            kinds.append(KINDS.index(this))

    labels = np.zeros(length, dtype=np.int32)
    for start, end in windows:
        labels[start:end] = 1
    return AnomalySeries(
        series=x.astype(np.float32),
        labels=labels,
        windows=np.asarray(windows, dtype=np.int32).reshape(-1, 2),
        window_kinds=np.asarray(kinds, dtype=np.int32),
        periods=periods,
        amplitudes=amplitudes,
    )


# --------------------------------------------------------------------------- catalog


def _checked(params):
    p = _check_series_options(params["length"], params["kind"], params)
    if params["kind"] is None:
        raise _invalid("kind", f"one of {list(CONFIG_KINDS)}", None)
    p["kind"] = params["kind"]
    p["anomaly_rate"] = _number("anomaly_rate", params["anomaly_rate"], 0, 1)
    for name in ("num_train", "num_validation", "num_test"):
        p[name] = catalog.check_positive(_OWNER, name, params[name])
    return p


def _splits(params):
    p = _checked(params)
    return {"train": p["num_train"], "validation": p["num_validation"], "test": p["num_test"]}


def _features(params):
    length = _checked(params)["length"]
    return {
        "series": ((length, 1), "float32"),
        "labels": ((length,), "int32"),
        "is_anomalous": ((), "int32"),
        "windows": ((None, 2), "int32"),
        "window_kinds": ((None,), "int32"),
    }


def _generate(split, params, seed):
    p = _checked(params)
    sizes = _splits(params)
    if split not in sizes:
        raise ValueError(
            f"Unknown split {split!r} of dataset {_NAME!r}; expected one of {list(sizes)}.")
    n = sizes[split]
    base = catalog.split_seed(seed, split)
    anomalous = np.zeros(n, dtype=bool)
    if split != "train":
        count = int(math.floor(p["anomaly_rate"] * n + 0.5))
        anomalous[np.random.default_rng(base).permutation(n)[:count]] = True
    for index in range(n):
        rng = np.random.default_rng([base, index])
        s = _generate_series(p, p["kind"] if anomalous[index] else None, rng)
        yield {
            "series": s.series[:, None],
            "labels": s.labels,
            "is_anomalous": np.asarray(int(anomalous[index]), dtype=np.int32),
            "windows": s.windows,
            "window_kinds": s.window_kinds,
        }


def _config(kind):
    return {**_SERIES_DEFAULTS, "kind": kind, "anomaly_rate": 0.5,
            "num_train": 1000, "num_validation": 200, "num_test": 500}


#: The catalog entry; configs "mixed" (default), "spike", "level_shift", "frequency_change".
SPEC = catalog.register_dataset(catalog.DatasetSpec(
    name=_NAME,
    description="Sums of sines with labelled spikes, level shifts and frequency changes "
                "(normal-only train split).",
    citation="Malhotra, Vig, Shroff, Agarwal (2015), LSTM networks for anomaly detection in "
             "time series, ESANN; anomaly kinds after Chen & Liu (1993), JASA 88, and Lai et al. "
             "(2021), Revisiting time series outlier detection, NeurIPS Datasets & Benchmarks.",
    configs={kind: _config(kind) for kind in ("mixed",) + KINDS},
    splits=_splits,
    features=_features,
    generate=_generate,
    supervised_keys=("series", "labels"),
))
