"""Offline tests for rnnzoo.data.ucr (hand-written .ts files; writes only to tmp_path)."""

import gzip
import hashlib
import io
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnzoo.data import ucr
from rnnzoo.data.ucr import UCR_DATASETS, TSData, load_ucr, read_ts

UNIVARIATE = """\
# a comment line
% an ARFF-style comment
@problemName Tiny
@TIMESTAMPS false
@missing false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true b a

@data
1,2,3:a
4.5, -5 ,6e-1:b
# comment inside data
0,0,1:a
"""

MULTIVARIATE = """\
@problemName Multi
@timeStamps false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 2
@classLabel true Walking Running
@data
1,2:10,20:Running
3,4:30,40:Walking
"""

UNEQUAL = """\
@problemName Uneq
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2 3
@data
1,2,3,4:5,6,7,8:3
9:10:1
11,12:13,14:2
"""

MISSING = """\
@problemName Miss
@missing true
@univariate true
@equalLength false
@classLabel true x y
@data
1,?,3:x
NaN,5:y
"""

FAKE_TRAIN = """\
@problemName TinyFake
@timeStamps false
@univariate true
@classLabel true 0 1
@data
1,2:0
3,4:1
"""
FAKE_TEST = FAKE_TRAIN.replace("1,2:0", "5,6:0")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_univariate_values_labels_and_class_order(tmp_path):
    d = read_ts(_write(tmp_path, "Tiny_TRAIN.ts", UNIVARIATE))
    assert isinstance(d, TSData) and d.problem_name == "Tiny" and len(d) == 3
    assert d.x.dtype == np.float32 and d.x.shape == (3, 3, 1)
    np.testing.assert_array_equal(d.x[..., 0], np.array([[1, 2, 3], [4.5, -5, 0.6], [0, 0, 1]],
                                                         dtype=np.float32))
    assert d.lengths.dtype == np.int32 and d.lengths.tolist() == [3, 3, 3]
    assert d.class_names == ("b", "a")  # header order, not sorted
    assert list(d.labels) == ["a", "b", "a"]
    assert d.y.dtype == np.int32 and d.y.tolist() == [1, 0, 1]
    assert d.n_classes == 2 and d.targets is None


def test_multivariate(tmp_path):
    d = read_ts(_write(tmp_path, "m.ts", MULTIVARIATE))
    assert d.x.shape == (2, 2, 2)
    np.testing.assert_array_equal(d.x[0], [[1, 10], [2, 20]])
    np.testing.assert_array_equal(d.x[1], [[3, 30], [4, 40]])
    assert d.class_names == ("Walking", "Running") and d.y.tolist() == [1, 0]


def test_unequal_length_is_zero_padded(tmp_path):
    d = read_ts(_write(tmp_path, "u.ts", UNEQUAL))
    assert d.x.shape == (3, 4, 2) and d.lengths.tolist() == [4, 1, 2]
    np.testing.assert_array_equal(d.x[0], [[1, 5], [2, 6], [3, 7], [4, 8]])
    np.testing.assert_array_equal(d.x[1], [[9, 10], [0, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(d.x[2], [[11, 13], [12, 14], [0, 0], [0, 0]])
    assert d.class_names == ("1", "2", "3") and d.y.tolist() == [2, 0, 1]


def test_missing_values_are_nan_and_padding_stays_zero(tmp_path):
    d = read_ts(_write(tmp_path, "miss.ts", MISSING))
    assert d.lengths.tolist() == [3, 2]
    assert d.x[0, 0, 0] == 1 and np.isnan(d.x[0, 1, 0]) and d.x[0, 2, 0] == 3
    assert np.isnan(d.x[1, 0, 0]) and d.x[1, 1, 0] == 5 and d.x[1, 2, 0] == 0
    assert np.isnan(d.x).sum() == 2


def test_gzip_gives_same_result(tmp_path):
    plain = read_ts(_write(tmp_path, "Tiny_TRAIN.ts", UNIVARIATE))
    packed = read_ts(_write(tmp_path, "Tiny_TRAIN.ts.gz", UNIVARIATE))
    np.testing.assert_array_equal(plain.x, packed.x)
    assert plain.class_names == packed.class_names and plain.y.tolist() == packed.y.tolist()


def test_labels_without_declared_names_sort_numerically(tmp_path):
    text = "@univariate true\n@classLabel true\n@data\n1:10\n2:2\n3:10\n"
    d = read_ts(_write(tmp_path, "n.ts", text))
    assert d.class_names == ("2", "10") and d.y.tolist() == [1, 0, 1]
    assert d.problem_name == "n"


def test_unlabelled_and_regression_files(tmp_path):
    d = read_ts(_write(tmp_path, "nl.ts", "@classLabel false\n@data\n1,2\n3,4\n"))
    assert d.class_names == () and d.y.tolist() == [-1, -1] and list(d.labels) == [None, None]
    assert d.x.shape == (2, 2, 1)
    r = read_ts(_write(tmp_path, "reg.ts", "@targetLabel true\n@data\n1,2:0.5\n3,4:-2\n"))
    assert r.targets.dtype == np.float32 and r.targets.tolist() == [0.5, -2.0]
    assert r.class_names == () and r.y.tolist() == [-1, -1]


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("@problemName X\n@classLabel true 1 2\n1,2:1\n", 3, "header"),
        ("@problemName X\n@classLabel true 1 2\n", 2, "@data"),
        ("@classLabel true 1 2\n@data\n1,2:1\n1,2:3\n", 4, "'3'"),
        ("@dimensions 2\n@classLabel true 1\n@data\n1,2:3,4:1\n1,2:1\n", 5, "2 dimension"),
        ("@classLabel true 1\n@data\n1,2:1\n1,abc:1\n", 4, "'abc'"),
        ("@timeStamps true\n@data\n1,2\n", 1, "timeStamps"),
        ("@equalLength true\n@seriesLength 2\n@classLabel false\n@data\n1,2\n1,2,3\n", 6, "3"),
        ("@dimensions 2\n@classLabel false\n@data\n1,2:3\n", 4, "same length"),
        ("@classLabel false\n@data\n", 2, "data line"),
        ("@targetLabel true\n@data\n1,2:high\n", 3, "'high'"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, "bad_file.ts", text)
    with pytest.raises(ValueError) as info:
        read_ts(path)
    msg = str(info.value)
    assert "bad_file.ts" in msg and f"line {line}:" in msg and "expected" in msg
    assert fragment in msg


def test_unknown_name_and_bad_split():
    with pytest.raises(ValueError, match="GunPoint") as info:
        load_ucr("GunPiont")
    assert "Did you mean 'GunPoint'" in str(info.value) and "ItalyPowerDemand" in str(info.value)
    with pytest.raises(ValueError, match=r"\['train', 'test'\]"):
        load_ucr("GunPoint", split="valid")


def test_path_directory_flat_subfolder_gz_and_file(tmp_path):
    flat, nested = tmp_path / "flat", tmp_path / "nested"
    _write(flat, "GunPoint_TRAIN.ts", UNIVARIATE)
    _write(nested / "GunPoint", "GunPoint_TEST.ts.gz", MULTIVARIATE)
    assert load_ucr("GunPoint", "train", path=flat).problem_name == "Tiny"
    assert load_ucr("gunpoint", "test", path=nested).problem_name == "Multi"
    assert load_ucr("GunPoint", path=flat / "GunPoint_TRAIN.ts").x.shape == (3, 3, 1)
    # any name is accepted when the caller supplies the file
    _write(flat, "MyOwnSet_TEST.ts", UNEQUAL)
    assert load_ucr("MyOwnSet", "test", path=flat).x.shape == (3, 4, 2)


def test_path_without_the_file_does_not_fall_through(tmp_path):
    # GunPoint exists in aeon, but path= must not fall back to it.
    with pytest.raises(FileNotFoundError, match=r"GunPoint_TEST\.ts.*GunPoint_TEST\.ts\.gz"):
        load_ucr("GunPoint", "test", path=tmp_path)


def test_download_false_loads_from_aeon(tmp_path):
    train = load_ucr("GunPoint", "train", cache_dir=tmp_path, download=False)
    assert train.x.shape == (50, 150, 1) and train.n_classes == 2
    assert train.lengths.tolist() == [150] * 50 and set(train.y.tolist()) == {0, 1}
    test = load_ucr("ItalyPowerDemand", "test", cache_dir=tmp_path, download=False)
    assert test.x.shape == (1029, 24, 1) and test.class_names == ("1", "2")
    assert not any(tmp_path.iterdir())


@pytest.fixture
def fake_dataset(monkeypatch):
    monkeypatch.setitem(UCR_DATASETS, "TinyFake", {
        "archive": "UCR", "description": "test", "n_classes": 2,
        "sha256": {"train": _sha(FAKE_TRAIN), "test": _sha(FAKE_TEST)}})
    monkeypatch.delenv("RNNZOO_HOME", raising=False)
    return "TinyFake"


def test_cache_dir_env_var_and_packaged_order(tmp_path, monkeypatch, fake_dataset):
    _write(tmp_path / "home" / "datasets" / "TinyFake", "TinyFake_TRAIN.ts", FAKE_TRAIN)
    monkeypatch.setenv("RNNZOO_HOME", str(tmp_path / "home"))
    assert load_ucr("TinyFake", download=False).x[0, :, 0].tolist() == [1, 2]
    _write(tmp_path / "cache" / "TinyFake", "TinyFake_TEST.ts.gz", FAKE_TEST)
    d = load_ucr("TinyFake", "test", cache_dir=tmp_path / "cache", download=False)
    assert d.x[0, :, 0].tolist() == [5, 6]
    # a packaged copy wins over the cache
    _write(tmp_path / "pkg" / "packaged", "TinyFake_TEST.ts.gz", MULTIVARIATE)
    real_files = ucr.importlib.resources.files
    monkeypatch.setattr(ucr.importlib.resources, "files",
                        lambda pkg: tmp_path / "pkg" if pkg == "rnnzoo.data" else real_files(pkg))
    d = load_ucr("TinyFake", "test", cache_dir=tmp_path / "cache", download=False)
    assert d.problem_name == "Multi"


def _serve_zip(monkeypatch, members, calls):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)

    def fake_urlopen(req, timeout=None):
        calls.append((getattr(req, "full_url", req), timeout))
        return io.BytesIO(buf.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)


def test_download_extracts_and_verifies(tmp_path, monkeypatch, fake_dataset):
    calls = []
    _serve_zip(monkeypatch, {"TinyFake/TinyFake_TRAIN.ts": FAKE_TRAIN,
                             "TinyFake_TEST.ts": FAKE_TEST}, calls)
    d = load_ucr("TinyFake", "test", cache_dir=tmp_path)
    assert d.x[:, :, 0].tolist() == [[5, 6], [3, 4]] and d.y.tolist() == [0, 1]
    assert calls == [("https://www.timeseriesclassification.com/aeon-toolkit/TinyFake.zip", 60)]
    assert sorted(p.name for p in (tmp_path / "TinyFake").iterdir()) == [
        "TinyFake_TEST.ts", "TinyFake_TRAIN.ts"]
    # second call hits the cache, no new download
    load_ucr("TinyFake", "train", cache_dir=tmp_path)
    assert len(calls) == 1


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch, fake_dataset):
    UCR_DATASETS["TinyFake"]["sha256"] = {"train": _sha(FAKE_TRAIN), "test": "0" * 64}
    _serve_zip(monkeypatch, {"TinyFake_TRAIN.ts": FAKE_TRAIN, "TinyFake_TEST.ts": FAKE_TEST}, [])
    with pytest.raises(ValueError, match="checksum mismatch.*TinyFake_TEST.ts"):
        load_ucr("TinyFake", "train", cache_dir=tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_everything_fails_message(tmp_path, monkeypatch, fake_dataset):
    with pytest.raises(FileNotFoundError) as info:
        load_ucr("TinyFake", cache_dir=tmp_path, download=False)
    msg = str(info.value)
    assert "cache" in msg and "aeon" in msg and "download=False" in msg
    assert 'pip install "rnnzoo[data]"' in msg and "path=" in msg

    def offline(req, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="no network"):
        load_ucr("TinyFake", cache_dir=tmp_path)
    assert not (tmp_path / "TinyFake").exists()


def test_module_imports_neither_tensorflow_keras_nor_aeon(tmp_path):
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ucr_iso', {str(Path(ucr.__file__))!r})\n"
        "m = sys.modules['ucr_iso'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        f"d = m.load_ucr('UnitTest', cache_dir={str(tmp_path)!r}, download=False)\n"
        "assert d.x.shape == (20, 24, 1), d.x.shape\n"
        "bad = [k for k in ('tensorflow', 'keras', 'aeon') if k in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)
