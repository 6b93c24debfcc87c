"""Tests for rnnzoo.data.series: real forecasting series (offline)."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from rnnzoo.data import anomaly_series, series
from rnnzoo.data.catalog import DATASETS


def _package_csv(package, relpath):
    """An independent read of a packaged CSV: header and rows as strings."""
    path = series._package_dir(package) / relpath
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _check_examples(spec, params, split):
    """Every example matches the declared features; returns them as a list."""
    features = spec.features(params)
    examples = list(spec.generate(split, params, 0))
    assert len(examples) == spec.splits(params)[split]
    for example in examples:
        assert set(example) == set(features)
        for key, (shape, dtype) in features.items():
            value = np.asarray(example[key])
            assert value.dtype == np.dtype(dtype), key
            assert value.shape == tuple(shape), key
    return examples


# --------------------------------------------------------------------------- forecasting

@pytest.mark.parametrize("name, package, length, first, last, start, end", [
    ("sunspots", "statsmodels", 309, 5.0, 2.9, "1700", "2008"),
    ("nile", "statsmodels", 100, 1120.0, 740.0, "1871", "1970"),
    ("airline", "aeon", 144, 112.0, 432.0, "1949-01", "1960-12"),
    ("co2", "statsmodels", 2284, 316.1, 371.5, "1958-03-29", "2001-12-29"),
])
def test_series_match_the_packaged_csv(name, package, length, first, last, start, end):
    values, stamps = series.load_series(name)
    assert values.dtype == np.float32 and values.shape == (length,)
    assert stamps.shape == (length,) and np.issubdtype(stamps.dtype, np.datetime64)
    assert values[0] == np.float32(first) and values[-1] == np.float32(last)
    assert str(stamps[0]) == start and str(stamps[-1]) == end
    # every value equals the CSV's (CO2's empty fields aside), and the spacing is regular
    header, rows = _package_csv(package, series.FORECAST_SERIES[name].relpath)
    column = header.index(series.FORECAST_SERIES[name].columns[1])
    raw = [row[column] for row in rows]
    observed = np.array([r != "" for r in raw])
    np.testing.assert_array_equal(values[observed],
                                  np.array([r for r in raw if r], np.float32))
    steps = np.unique(np.diff(stamps).astype(int))
    assert steps.tolist() == ([7] if name == "co2" else [1])


def test_co2_missing_values_are_interpolated_linearly():
    raw, _ = series.load_series("co2", fill_missing=False)
    filled, _ = series.load_series("co2")
    missing = np.isnan(raw)
    assert missing.sum() == 59 and not np.isnan(filled).any() and filled.size == raw.size
    np.testing.assert_array_equal(filled[~missing], raw[~missing])
    # each gap lies on the straight line between its observed neighbours
    gaps = np.flatnonzero(missing)
    for k in gaps:
        left = k - 1
        while missing[left]:
            left -= 1
        right = k + 1
        while missing[right]:
            right += 1
        expected = raw[left] + (raw[right] - raw[left]) * (k - left) / (right - left)
        assert filled[k] == pytest.approx(expected, rel=1e-6)


def test_forecast_windows_cut_by_time():
    values = np.arange(20, dtype=np.float32)
    x, y = series.forecast_windows(values, window=4, horizon=2, split="train", test_fraction=0.25)
    assert x.shape == (10, 4) and y.shape == (10, 2) and x.dtype == np.float32
    assert y.max() == 14  # the cut is at 15: no training target reaches the test part
    np.testing.assert_array_equal(y[:, 0], x[:, -1] + 1)
    xt, yt = series.forecast_windows(values, window=4, horizon=2, split="test", test_fraction=0.25)
    # one test pair per target start 15..18; inputs reach back into the training part
    assert yt[:, 0].tolist() == [15, 16, 17, 18] and xt[0].tolist() == [11, 12, 13, 14]


@pytest.mark.parametrize("config, sizes", [
    ("sunspots", {"train": 215, "test": 62}),
    ("co2", {"train": 1720, "test": 454}),
    ("nile", {"train": 70, "test": 20}),
    ("airline", {"train": 73, "test": 25}),
])
def test_series_catalog_sizes_and_standardisation(config, sizes):
    spec = DATASETS.get("series")
    params = spec.params(config)
    assert spec.splits(params) == sizes
    values = series.load_series(config).values.astype(np.float64)
    cut = values.size - int(round(values.size * params["test_fraction"]))
    scaled = (values - values[:cut].mean()) / values[:cut].std()
    window, horizon = params["window"], params["horizon"]
    for split in ("train", "test"):
        examples = _check_examples(spec, params, split)
        assert spec.features(params)["inputs"][0] == (window, 1)
        first = 0 if split == "train" else cut - window
        for k in (0, len(examples) - 1):
            start = first + k
            np.testing.assert_allclose(examples[k]["inputs"][:, 0], scaled[start:start + window],
                                       atol=1e-5)
            np.testing.assert_allclose(examples[k]["targets"],
                                       scaled[start + window:start + window + horizon], atol=1e-5)
    # fixed data: the seed changes nothing, and unscaled windows are the raw values
    a = list(spec.generate("test", params, 0))
    b = list(spec.generate("test", params, 7))
    assert all(np.array_equal(p["inputs"], q["inputs"]) for p, q in zip(a, b))
    raw = next(spec.generate("train", spec.params(config, scale="none"), 0))
    np.testing.assert_array_equal(raw["inputs"][:, 0], values[:window].astype(np.float32))


def test_series_bad_arguments():
    with pytest.raises(ValueError, match=r"`name`.*\['airline', 'co2', 'nile', 'sunspots'\]"):
        series.load_series("sunspot")
    spec = DATASETS.get("series")
    with pytest.raises(ValueError, match="Unknown config"):
        spec.params("lynx")
    with pytest.raises(ValueError, match="`window`.*positive integer, got 0"):
        spec.splits(spec.params("nile", window=0))
    with pytest.raises(ValueError, match="leave no train example"):
        spec.splits(spec.params("nile", window=80))
    with pytest.raises(ValueError, match="`test_fraction`.*between 0 and 1"):
        spec.splits(spec.params("nile", test_fraction=1.5))
    with pytest.raises(ValueError, match=r"`scale`.*\['none', 'standard'\]"):
        spec.features(spec.params("nile", scale="minmax"))
    with pytest.raises(ValueError, match=r"`split`.*\['test', 'train'\]"):
        series.forecast_windows(np.arange(10.0), 2, 1, split="validation")


def test_series_from_a_local_path(tmp_path):
    (tmp_path / "nile.csv").write_text("year,volume\n1900,10\n1901,12.5\n")
    for path in (tmp_path, tmp_path / "nile.csv"):
        values, years = series.load_series("nile", path=path)
        assert values.tolist() == [10.0, 12.5] and [str(y) for y in years] == ["1900", "1901"]
    with pytest.raises(FileNotFoundError, match="path= was given"):
        series.load_series("sunspots", path=tmp_path)
    (tmp_path / "bad.csv").write_text("when,what\n1,2\n")
    with pytest.raises(ValueError, match="'year' and 'volume'"):
        series.load_series("nile", path=tmp_path / "bad.csv")


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(series, "_package_dir", lambda package: None)
    with pytest.raises(FileNotFoundError) as info:
        series.load_series("airline")
    msg = str(info.value)
    assert 'pip install "rnnzoo[data]"' in msg and "aeon or sktime" in msg
    assert "path=" in msg and "Airline.csv" in msg
    with pytest.raises(FileNotFoundError, match=r"rnnzoo\[data\].*sktime.*path="):
        anomaly_series.load_anomaly_series("mitdb")


def test_loading_imports_no_heavy_package():
    code = (
        "import sys\n"
        "import rnnzoo.data\n"
        "before = set(sys.modules)\n"
        "from rnnzoo.data import anomaly_series, series\n"
        "series.load_series('co2'); series.load_series('airline')\n"
        "anomaly_series.load_anomaly_series('mitdb')\n"
        "anomaly_series.load_anomaly_series('ucr135', download=False)\n"
        "heavy = ('tensorflow', 'keras', 'pandas', 'statsmodels', 'aeon', 'sktime')\n"
        "new = [m for m in set(sys.modules) - before if m.split('.')[0] in heavy]\n"
        "assert not new, sorted(new)[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
