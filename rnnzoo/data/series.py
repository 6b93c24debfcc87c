"""Real time series for forecasting, offline.

Forecasting series (one univariate series each, read from the CSV files that the
packages ship, without importing those packages):

- ``sunspots``: 309 yearly values, 1700-2008; statsmodels
  ``datasets/sunspots/sunspots.csv``.
- ``co2``: 2,284 weekly values, 1958-2001; statsmodels ``datasets/co2/co2.csv``.
- ``nile``: 100 yearly values, 1871-1970; statsmodels ``datasets/nile/nile.csv``.
- ``airline``: 144 monthly values, 1949-1960; aeon or sktime
  ``datasets/data/Airline/Airline.csv``.

The CO2 file has 59 missing weekly values (22 gaps, the longest 18 weeks). By
default they are filled by linear interpolation in time between the nearest
observed weeks (there is no gap at either end); ``fill_missing=False`` keeps them
as NaN.

The labelled anomaly series (``load_anomaly_series``, the ``anomaly_series``
dataset) live in `rnnzoo.data.anomaly_series`, which builds on this module's
source helpers; their public names can still be read from here.

Catalog dataset (registered at import; load it with ``rnnzoo.data.load``):

- ``series``: sliding windows for forecasting, configs ``sunspots``, ``co2``,
  ``nile``, ``airline``. The series is cut by time at
  ``n_train = n - round(n * test_fraction)``. A ``train`` example has its
  inputs and targets inside ``[0, n_train)``; a ``test`` example has its
  targets inside ``[n_train, n)`` (one example per target start) and takes its
  inputs from the ``window`` values just before, which may reach back into the
  training part: the model never trains on a test target. Features ``inputs``
  (window, 1) and ``targets`` (horizon,), float32. Config defaults
  (window / horizon / test_fraction -> train / test examples): sunspots
  32 / 1 / 0.2 -> 215 / 62; co2 104 / 4 / 0.2 -> 1,720 / 454; nile
  10 / 1 / 0.2 -> 70 / 20; airline 24 / 12 / 0.25 (the last 36 months) -> 73 / 25.

With ``scale="standard"`` the values are standardised with the mean and standard
deviation of the training part only. Windows come in time order; the data are
fixed, so the seed changes nothing (shuffle in ``tf.data``).

This module uses only NumPy and the standard library.

Example:
    >>> from rnnzoo.data.series import load_series
    >>> values, years = load_series("nile")
    >>> values.shape, values.dtype, str(years[0]), float(values[0])
    ((100,), dtype('float32'), '1871', 1120.0)
"""

import csv
import dataclasses
from pathlib import Path
from typing import NamedTuple, Tuple

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, package_dir, register_dataset

__all__ = [
    "FORECAST_SERIES",
    "Series",
    "forecast_windows",
    "load_series",
]

_EXTRA_HINT = 'pip install "rnnzoo[data]"'


# --------------------------------------------------------------------------- sources

@dataclasses.dataclass(frozen=True)
class _ForecastSource:
    packages: Tuple[str, ...]   # packages that ship the file, tried in order
    relpath: str                # path of the CSV inside the package
    columns: Tuple[str, str]    # (time column, value column) of the CSV header
    time_unit: str              # numpy datetime64 unit of the timestamps
    length: int
    description: str
    citation: str


#: The forecasting series: name -> where the CSV ships and what it holds.
FORECAST_SERIES = {
    "sunspots": _ForecastSource(
        ("statsmodels",), "datasets/sunspots/sunspots.csv", ("YEAR", "SUNACTIVITY"), "Y", 309,
        "Yearly mean sunspot activity, 1700-2008 (309 values).",
        "Yearly sunspot numbers 1700-2008 from the NOAA National Geophysical Data Center "
        "(SIDC sunspot index), as distributed with statsmodels (statsmodels.datasets.sunspots)."),
    "co2": _ForecastSource(
        ("statsmodels",), "datasets/co2/co2.csv", ("date", "co2"), "D", 2284,
        "Weekly atmospheric CO2 at Mauna Loa, ppmv, March 1958 - December 2001 (2,284 weeks).",
        "C. D. Keeling and T. P. Whorf. Atmospheric CO2 records from sites in the SIO air "
        "sampling network. Trends: A Compendium of Data on Global Change, CDIAC, Oak Ridge "
        "National Laboratory, 2004 (statsmodels.datasets.co2)."),
    "nile": _ForecastSource(
        ("statsmodels",), "datasets/nile/nile.csv", ("year", "volume"), "Y", 100,
        "Annual flow of the Nile at Aswan, 10^8 m^3, 1871-1970 (100 values).",
        "G. W. Cobb. The problem of the Nile: conditional solution to a changepoint problem. "
        "Biometrika 65(2):243-251, 1978 (statsmodels.datasets.nile)."),
    "airline": _ForecastSource(
        ("aeon", "sktime"), "datasets/data/Airline/Airline.csv", ("Date", "Passengers"), "M", 144,
        "Monthly international airline passengers, thousands, 1949-1960 (144 values).",
        "G. E. P. Box, G. M. Jenkins and G. C. Reinsel. Time Series Analysis: Forecasting and "
        "Control, 3rd ed., Prentice Hall, 1994 (series G)."),
}


def _choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"Received an invalid value for argument `{argument}`, expected one "
                         f"of {sorted(choices)}, got {value!r}.")
    return value


# Module-level name so tests can simulate a missing package.
_package_dir = package_dir


def _packaged_file(packages, relpath, tried):
    for package in packages:
        folder = _package_dir(package)
        if folder is None:
            tried.append(f"{package}: not installed")
            continue
        candidate = folder / relpath
        if candidate.is_file():
            return candidate
        tried.append(f"{package}: no {candidate}")
    return None


def _resolve_path(path, filename):
    """`path` itself when it is a file, else `path/filename`; FileNotFoundError if absent."""
    p = Path(path)
    if p.is_dir():
        p = p / filename
    if not p.is_file():
        raise FileNotFoundError(f"no file {p} (path= was given, so no other source was tried)")
    return p


def _missing_source(what, tried, packages, filename):
    raise FileNotFoundError(
        f"could not find {what}; tried " + "; ".join(tried) + f". Install the data with "
        f"{_EXTRA_HINT} (brings {' or '.join(packages)}) or pass path= to a copy of {filename}.")


# --------------------------------------------------------------------------- forecasting

class Series(NamedTuple):
    """A univariate series: ``values`` float32 (n,), ``timestamps`` datetime64 (n,)."""

    values: np.ndarray
    timestamps: np.ndarray


def _timestamp(text, unit):
    text = text.strip()
    if unit == "D":     # co2: YYYYMMDD
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    elif unit == "Y":   # a year, sometimes written as a float
        text = str(int(float(text)))
    return np.datetime64(text, unit)


def _read_series_csv(path, source):
    time_col, value_col = source.columns
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or time_col not in rows[0] or value_col not in rows[0]:
        raise ValueError(f"{path}: expected a header with columns {time_col!r} and "
                         f"{value_col!r}, found {rows[0] if rows else 'an empty file'}")
    t_idx, v_idx = rows[0].index(time_col), rows[0].index(value_col)
    stamps, values = [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            stamps.append(_timestamp(row[t_idx], source.time_unit))
            text = row[v_idx].strip()
            values.append(float(text) if text else np.nan)
        except (ValueError, IndexError):
            raise ValueError(f"{path}: line {lineno}: expected a time stamp and a number, "
                             f"found {row!r}") from None
    return np.array(values, np.float32), np.array(stamps, f"datetime64[{source.time_unit}]")


def _interpolate_missing(values):
    """Fills NaNs by linear interpolation between the nearest observed neighbours."""
    missing = np.isnan(values)
    if missing.any():
        positions = np.arange(values.size)
        values = values.copy()
        values[missing] = np.interp(positions[missing], positions[~missing], values[~missing])
    return values


def load_series(name, path=None, fill_missing=True):
    """Loads one forecasting series.

    Sources, in order: ``path``; the CSV shipped by the package(s) listed in
    ``FORECAST_SERIES[name]`` (statsmodels; aeon or sktime for ``airline``),
    located without importing the package.

    Args:
        name: one of ``"sunspots"``, ``"co2"``, ``"nile"``, ``"airline"``.
        path: optional CSV file in the packaged layout (same header), or a
            folder holding it under its packaged file name.
        fill_missing: bool, default True: fill missing values (only CO2 has
            any) by linear interpolation in time; False keeps them as NaN.

    Returns:
        A ``Series(values, timestamps)``: float32 values (n,) and datetime64
        time stamps (n,) (unit ``Y`` for yearly, ``M`` monthly, ``D`` weekly).

    Raises:
        ValueError: for an unknown name or a malformed file.
        FileNotFoundError: when no source has the file; the message names the
            extra (``rnnzoo[data]``) and ``path=``.

    Example:
        >>> values, weeks = load_series("co2")
        >>> values.shape, bool(np.isnan(values).any()), str(weeks[0]), str(weeks[1])
        ((2284,), False, '1958-03-29', '1958-04-05')
    """
    source = FORECAST_SERIES[_choice("name", name, FORECAST_SERIES)]
    filename = Path(source.relpath).name
    if path is not None:
        found = _resolve_path(path, filename)
    else:
        tried = []
        found = _packaged_file(source.packages, source.relpath, tried)
        if found is None:
            _missing_source(f"the {name} series", tried, source.packages, filename)
    values, stamps = _read_series_csv(found, source)
    if fill_missing:
        values = _interpolate_missing(values)
    return Series(values, stamps)


def _split_point(length, test_fraction):
    return length - int(round(length * test_fraction))


def forecast_windows(values, window, horizon, split="train", test_fraction=0.2):
    """Sliding (input window, next values) pairs of a series cut by time.

    Args:
        values: 1-D array, the whole series.
        window: int, input length L.
        horizon: int, number of following values to predict H.
        split: ``"train"`` (inputs and targets before the cut) or ``"test"``
            (targets after the cut, one pair per target start).
        test_fraction: float in (0, 1), the share of the series after the cut.

    Returns:
        ``(inputs, targets)``: float32 arrays (N, L) and (N, H), in time order.

    Raises:
        ValueError: for a bad argument, or when a split would be empty.

    Example:
        >>> x, y = forecast_windows(np.arange(10.0), window=3, horizon=2, test_fraction=0.3)
        >>> x.tolist(), y.tolist()
        ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [[3.0, 4.0], [4.0, 5.0], [5.0, 6.0]])
    """
    values = np.asarray(values, np.float32)
    starts = _window_starts(values.size, window, horizon, split, test_fraction, "forecast_windows")
    inputs = np.stack([values[s:s + window] for s in starts])
    targets = np.stack([values[s + window:s + window + horizon] for s in starts])
    return inputs, targets


def _window_starts(length, window, horizon, split, test_fraction, owner):
    window = check_positive(owner, "window", window)
    horizon = check_positive(owner, "horizon", horizon)
    _choice("split", split, ("train", "test"))
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (float, int)) or not (
            0 < test_fraction < 1):
        raise ValueError(f"Received an invalid value for `test_fraction` of {owner}, expected a "
                         f"number strictly between 0 and 1, got {test_fraction!r}.")
    cut = _split_point(length, test_fraction)
    if split == "train":
        starts = range(0, cut - window - horizon + 1)
    else:
        starts = range(max(cut, window) - window, length - window - horizon + 1)
    if len(starts) == 0:
        raise ValueError(
            f"Received an invalid combination for {owner}: window={window} and horizon="
            f"{horizon} leave no {split} example in a series of {length} values cut at "
            f"{cut} (test_fraction={test_fraction}); expected a shorter window or horizon.")
    return starts


def _standardise(values, train_end):
    mean = float(values[:train_end].mean())
    std = float(values[:train_end].std())
    return ((values - mean) / (std if std > 0 else 1.0)).astype(np.float32)


_SCALES = ("standard", "none")


def _series_check(params):
    owner = "dataset 'series'"
    _choice("series", params["series"], FORECAST_SERIES)
    _choice("scale", params["scale"], _SCALES)
    return owner


def _series_values(params):
    source = FORECAST_SERIES[params["series"]]
    values = load_series(params["series"]).values
    if params["scale"] == "standard":
        values = _standardise(values, _split_point(source.length, params["test_fraction"]))
    return values


def _series_splits(params):
    owner = _series_check(params)
    n = FORECAST_SERIES[params["series"]].length
    return {split: len(_window_starts(n, params["window"], params["horizon"], split,
                                      params["test_fraction"], owner))
            for split in ("train", "test")}


def _series_features(params):
    owner = _series_check(params)
    window = check_positive(owner, "window", params["window"])
    horizon = check_positive(owner, "horizon", params["horizon"])
    return {"inputs": ((window, 1), "float32"), "targets": ((horizon,), "float32")}


def _series_generate(split, params, seed):
    del seed  # the windows are fixed by the data
    owner = _series_check(params)
    values = _series_values(params)
    window, horizon = params["window"], params["horizon"]
    for s in _window_starts(values.size, window, horizon, split, params["test_fraction"], owner):
        yield {"inputs": values[s:s + window, None].copy(),
               "targets": values[s + window:s + window + horizon].copy()}


def _series_config(series, window, horizon, test_fraction):
    return {"series": series, "window": window, "horizon": horizon,
            "test_fraction": test_fraction, "scale": "standard"}


SERIES = register_dataset(DatasetSpec(
    name="series",
    description="Real series for forecasting: sunspots, Mauna Loa CO2, Nile flow, airline "
                "passengers.",
    citation=" ".join(s.citation for s in FORECAST_SERIES.values()),
    configs={
        # 309 years: cut at 247, predict next year from 32 years.
        "sunspots": _series_config("sunspots", 32, 1, 0.2),
        # 2,284 weeks: cut at 1,827, predict the next 4 weeks from 2 years.
        "co2": _series_config("co2", 104, 4, 0.2),
        # 100 years: cut at 80, predict next year from 10 years.
        "nile": _series_config("nile", 10, 1, 0.2),
        # 144 months: the last 36 months are the test part; predict a year from 2 years.
        "airline": _series_config("airline", 24, 12, 0.25),
    },
    splits=_series_splits,
    features=_series_features,
    generate=_series_generate,
    supervised_keys=("inputs", "targets"),
))
