"""Tests for rnnzoo.data.anomaly_series: real labelled anomaly series (offline)."""

import csv
import io
import urllib.error
import urllib.request
import zipfile

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


# --------------------------------------------------------------------------- anomalies

def test_ucr135_matches_aeon_files_and_documented_labels(tmp_path):
    data = anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path, download=False)
    values, labels = data["values"], data["labels"]
    assert values.dtype == np.float32 and labels.dtype == np.int32
    assert values.shape == labels.shape == (7501,) and data["train_end"] == 1200
    anomaly = np.flatnonzero(labels)
    assert anomaly.tolist() == list(range(4187, 4199))  # one run of 12 points
    # the aeon TRAIN file is the normal prefix of the TEST file
    folder = series._package_dir("aeon") / "datasets" / "data" / "KDD-TSAD_135"
    train = np.genfromtxt(folder / "135_UCR_Anomaly_InternalBleeding16_TRAIN.csv",
                          delimiter=",", skip_header=1)
    assert train.shape == (1200, 3) and not train[:, 2].any()
    np.testing.assert_array_equal(values[:1200], train[:, 1].astype(np.float32))


def test_mitdb_has_one_run_of_352_points():
    data = anomaly_series.load_anomaly_series("mitdb")
    labels = data["labels"]
    assert data["values"].shape == (7500,) and data["train_end"] == 5000
    edges = np.flatnonzero(np.diff(np.r_[0, labels, 0]))
    assert edges.tolist() == [6936, 7288]  # one run, [begin, end)
    assert labels.sum() == 352 and not labels[:5000].any()
    _, rows = _package_csv("sktime", anomaly_series.ANOMALY_SERIES["mitdb"].relpath)
    assert data["values"][0] == np.float32(rows[0][0]) and data["values"][-1] == np.float32(
        rows[-1][0])


@pytest.mark.parametrize("config, sizes, window, stride", [
    ("ucr135", {"train": 68, "test": 386}, 128, 16),
    ("mitdb", {"train": 149, "test": 71}, 256, 32),
])
def test_anomaly_catalog_windows(config, sizes, window, stride):
    spec = DATASETS.get("anomaly_series")
    params = spec.params(config)
    assert spec.splits(params) == sizes
    data = anomaly_series.load_anomaly_series(config)
    train_end, labels = data["train_end"], data["labels"]
    train = _check_examples(spec, params, "train")
    test = _check_examples(spec, params, "test")
    assert not any(e["labels"].any() for e in train)
    starts = range(train_end, labels.size - window + 1, stride)
    for example, start in zip(test, starts):
        np.testing.assert_array_equal(example["labels"], labels[start:start + window])
        assert example["is_anomaly"] == int(labels[start:start + window].any())
    assert sum(int(e["is_anomaly"]) for e in test) > 0
    # standardised with the training part's statistics
    normal = data["values"][:train_end].astype(np.float64)
    expected = (data["values"][:window] - normal.mean()) / normal.std()
    np.testing.assert_allclose(train[0]["inputs"][:, 0], expected, atol=1e-5)
    with pytest.raises(ValueError, match="`window`.*at most"):
        spec.splits(spec.params(config, window=train_end + 1))


def _ucr135_txt(values):
    return "".join(f"{v:.7e}\n" for v in values)  # a different formatting of the same numbers


def test_read_ucr_anomaly_txt(tmp_path):
    reference = anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path, download=False)
    path = tmp_path / anomaly_series.UCR135_FILE
    path.write_text(_ucr135_txt(reference["values"].astype(np.float64)))
    data = anomaly_series.load_anomaly_series("ucr135", path=path)
    np.testing.assert_array_equal(data["values"], reference["values"])
    np.testing.assert_array_equal(data["labels"], reference["labels"])
    assert data["train_end"] == 1200
    one_line = tmp_path / "7_UCR_Anomaly_tiny_2_3_5.txt"
    one_line.write_text("1 2 3   4\t5 6\n")
    tiny = anomaly_series.read_ucr_anomaly_txt(one_line)
    assert tiny["labels"].tolist() == [0, 0, 0, 1, 1, 0] and tiny["train_end"] == 2
    unnamed = tmp_path / "values.txt"
    unnamed.write_text("1\n")
    with pytest.raises(ValueError, match="_<train_end>_<begin>_<end>"):
        anomaly_series.read_ucr_anomaly_txt(unnamed)
    bad = tmp_path / "7_UCR_Anomaly_tiny_2_5_9.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="begin < end <= 3"):
        anomaly_series.read_ucr_anomaly_txt(bad)


def _serve_archive(monkeypatch, text, calls):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("AnomalyDatasets_2021/UCR_Anomaly_FullData/" + anomaly_series.UCR135_FILE, text)
        zf.writestr("AnomalyDatasets_2021/UCR_Anomaly_FullData/001_UCR_Anomaly_x_1_2_3.txt", "1\n")

    def fake_urlopen(request, timeout=None):
        calls.append((request.full_url, timeout))
        return io.BytesIO(buf.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)


def test_ucr135_download_is_verified_and_cached(tmp_path, monkeypatch):
    reference = anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path / "x",
                                                   download=False)
    monkeypatch.setattr(series, "_package_dir", lambda package: None)
    calls = []
    _serve_archive(monkeypatch, _ucr135_txt(reference["values"].astype(np.float64)), calls)
    data = anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path)
    assert calls == [(anomaly_series.UCR_ANOMALY_URL, 60)]
    np.testing.assert_array_equal(data["values"], reference["values"])
    np.testing.assert_array_equal(data["labels"], reference["labels"])
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["ucr_anomaly/135_UCR_Anomaly_InternalBleeding16.csv"]  # no zip left
    anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path)
    assert len(calls) == 1  # the second call reads the cache


def test_ucr135_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    reference = anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path / "x",
                                                   download=False)
    tampered = reference["values"].astype(np.float64)
    tampered[100] += 0.5
    monkeypatch.setattr(series, "_package_dir", lambda package: None)
    _serve_archive(monkeypatch, _ucr135_txt(tampered), [])
    with pytest.raises(ValueError, match="checksum mismatch.*135_UCR_Anomaly"):
        anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path / "cache")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_ucr135_offline_without_aeon_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setattr(series, "_package_dir", lambda package: None)

    def offline(request, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError) as info:
        anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path)
    msg = str(info.value)
    assert "no network" in msg and "aeon: not installed" in msg
    assert 'pip install "rnnzoo[data]"' in msg and "path=" in msg
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with pytest.raises(FileNotFoundError, match="download=False"):
        anomaly_series.load_anomaly_series("ucr135", cache_dir=tmp_path, download=False)
    with pytest.raises(ValueError, match=r"`name`.*\['mitdb', 'ucr135'\]"):
        anomaly_series.load_anomaly_series("ucr136")
