"""Tests for rnnzoo.data.digits: 8x8 digits, row sequences and digit strips (offline)."""

import gzip
import hashlib
import io
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from rnnzoo.data import digits
from rnnzoo.data.catalog import DATASETS

TEST_PER_CLASS = [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]


def _sklearn_table():
    """An independent read of scikit-learn's file."""
    path = digits._package_dir("sklearn") / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as fh:
        return np.loadtxt(fh, delimiter=",", dtype=np.int64)


def _check_examples(spec, params, split):
    features = spec.features(params)
    examples = list(spec.generate(split, params, 0))
    assert len(examples) == spec.splits(params)[split]
    for example in examples:
        assert set(example) == set(features)
        for key, (shape, dtype) in features.items():
            value = np.asarray(example[key])
            assert value.ndim == len(shape), key
            assert all(w is None or g == w for g, w in zip(value.shape, shape)), key
            if dtype == "string":
                assert isinstance(example[key], str), key
            else:
                assert value.dtype == np.dtype(dtype), key
    return examples


def test_load_digits_equals_sklearn_file():
    images, labels = digits.load_digits(download=False)
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.int32
    table = _sklearn_table()
    np.testing.assert_array_equal(images.reshape(-1, 64), table[:, :64])
    np.testing.assert_array_equal(labels, table[:, 64])
    assert images.max() == 16 and np.bincount(labels).tolist() == [
        178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert hashlib.sha256(table.astype(np.uint8).tobytes()).hexdigest() == digits.VALUES_SHA256


def test_split_is_fixed_stratified_and_disjoint():
    _, labels = digits.load_digits(download=False)
    first, again = digits.split_indices(labels), digits.split_indices(labels)
    train, test = first["train"], first["test"]
    assert (len(train), len(test)) == (1438, 359)
    assert np.array_equal(train, again["train"]) and np.array_equal(test, again["test"])
    assert np.intersect1d(train, test).size == 0 and np.union1d(train, test).size == 1797
    assert np.bincount(labels[test]).tolist() == TEST_PER_CLASS
    images, split_labels = digits.load_digits_split("test")
    all_images, _ = digits.load_digits(download=False)
    np.testing.assert_array_equal(images, all_images[test])
    np.testing.assert_array_equal(split_labels, labels[test])


@pytest.mark.parametrize("config, shape", [("images", (8, 8, 1)), ("rows", (8, 8))])
def test_digits_catalog(config, shape):
    spec = DATASETS.get("digits")
    params = spec.params(config)
    assert spec.splits(params) == {"train": 1438, "test": 359}
    assert spec.features(params)["inputs"] == (shape, "float32")
    images, labels = digits.load_digits_split("test")
    examples = _check_examples(spec, params, "test")
    stacked = np.stack([e["inputs"].reshape(8, 8) for e in examples])
    np.testing.assert_array_equal(stacked, images / np.float32(16))
    assert [int(e["label"]) for e in examples] == labels.tolist()
    assert len(_check_examples(spec, params, "train")) == 1438
    with pytest.raises(ValueError, match=r"`layout`.*\['images', 'rows'\]"):
        spec.features(spec.params(config, layout="columns"))


def test_make_strip_concatenates_with_gaps():
    images, labels = digits.load_digits_split("train")
    strip = digits.make_strip(images, labels, [5, 0, 9], gaps=[2, 0])
    expected = np.hstack([images[5], np.zeros((8, 2), np.uint8), images[0], images[9]])
    np.testing.assert_array_equal(strip["image"], expected)
    words = [digits.DIGIT_WORDS[d] for d in labels[[5, 0, 9]]]
    assert strip["labels"].tolist() == labels[[5, 0, 9]].tolist()
    assert strip["text"] == " ".join(str(d) for d in labels[[5, 0, 9]])
    assert strip["caption"] == " ".join(words)
    with pytest.raises(ValueError, match="`gaps`.*2 non-negative"):
        digits.make_strip(images, labels, [1, 2, 3], gaps=[1])
    with pytest.raises(ValueError, match="`indices`"):
        digits.make_strip(images, labels, [])


def _find_layout(columns, pieces, max_gap):
    """Positions of `pieces` in `columns` (each after 0..max_gap blank columns), or None."""
    position, starts = 0, []
    for k, piece in enumerate(pieces):
        for gap in range(1 if k == 0 else max_gap + 1):
            if (not columns[position:position + gap].any() and np.array_equal(
                    columns[position + gap:position + gap + 8], piece)):
                starts.append(position + gap)
                position += gap + 8
                break
        else:
            return None
    return starts if position == columns.shape[0] else None


@pytest.mark.parametrize("config, low, high, max_gap", [("len3", 3, 3, 0),
                                                        ("len3_6", 3, 6, 2)])
def test_strips_are_built_from_their_split(config, low, high, max_gap):
    spec = DATASETS.get("digit_strips")
    params = spec.params(config, num_train=40, num_test=200)
    assert spec.splits(params) == {"train": 40, "test": 200}
    images, labels = digits.load_digits_split("test")
    examples = _check_examples(spec, params, "test")
    lengths = set()
    for e in examples:
        idx = e["digit_indices"]
        k = idx.size
        lengths.add(k)
        assert low <= k <= high and e["label_length"] == k and e["length"] == e["inputs"].shape[0]
        # the image is the test digits side by side, with gaps of at most max_gap blank columns
        columns = np.rint(e["inputs"] * 16).astype(np.uint8)
        assert _find_layout(columns, [images[i].T for i in idx], max_gap) is not None
        assert e["labels"].tolist() == labels[idx].tolist()
        assert e["text"] == " ".join(map(str, labels[idx]))
        assert e["caption"].split() == [digits.DIGIT_WORDS[d] for d in labels[idx]]
        assert e["caption_ids"].tolist() == [1] + [3 + d for d in labels[idx]] + [2]
        assert [digits.CAPTION_VOCAB[w] for w in e["caption_ids"][1:-1]] == e["caption"].split()
    assert lengths == set(range(low, high + 1))
    train = _check_examples(spec, params, "train")
    assert max(int(e["digit_indices"].max()) for e in train) < 1438


def test_strips_are_deterministic_under_a_seed():
    spec = DATASETS.get("digit_strips")
    params = spec.params("len3_6", num_train=20, num_test=20)
    a = list(spec.generate("train", params, 3))
    b = list(spec.generate("train", params, 3))
    c = list(spec.generate("train", params, 4))
    t = list(spec.generate("test", params, 3))
    same = [np.array_equal(x["inputs"], y["inputs"]) for x, y in zip(a, b)]
    assert all(same)
    assert not all(x["text"] == y["text"] for x, y in zip(a, c))
    assert not all(x["text"] == y["text"] for x, y in zip(a, t))


def test_strip_bad_arguments():
    spec = DATASETS.get("digit_strips")
    with pytest.raises(ValueError, match="`max_digits`.*>= min_digits"):
        spec.splits(spec.params("len3", max_digits=2))
    with pytest.raises(ValueError, match="`max_gap`.*non-negative integer, got -1"):
        spec.features(spec.params("len3", max_gap=-1))
    with pytest.raises(ValueError, match="`num_test`.*positive integer"):
        spec.splits(spec.params("len3", num_test=0))
    with pytest.raises(ValueError, match=r"`split`.*\['train', 'test'\]"):
        next(digits.digit_strips("validation", 1))


def test_path_and_missing_source(tmp_path, monkeypatch):
    table = _sklearn_table()
    plain = tmp_path / "optdigits.tes"
    plain.write_text("\r\n".join(",".join(map(str, row)) for row in table[:5]) + "\r\n")
    images, labels = digits.load_digits(path=plain)
    np.testing.assert_array_equal(images.reshape(-1, 64), table[:5, :64])
    np.testing.assert_array_equal(labels, table[:5, 64])
    with pytest.raises(FileNotFoundError, match="path= was given"):
        digits.load_digits(path=tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="line 1: expected 64 pixel counts"):
        digits.load_digits(path=bad)

    monkeypatch.setattr(digits, "_package_dir", lambda package: None)
    with pytest.raises(FileNotFoundError) as info:
        digits.load_digits(cache_dir=tmp_path / "cache", download=False)
    msg = str(info.value)
    assert 'pip install "rnnzoo[data]"' in msg and "scikit-learn" in msg and "path=" in msg


def test_download_is_verified_and_cached(tmp_path, monkeypatch):
    table = _sklearn_table()
    payload = ("\r\n".join(",".join(map(str, row)) for row in table) + "\r\n").encode()
    monkeypatch.setattr(digits, "_package_dir", lambda package: None)
    calls = []

    def fake_urlopen(request, timeout=None):
        calls.append(request.full_url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    images, labels = digits.load_digits(cache_dir=tmp_path)
    assert calls == [digits.DOWNLOAD_URL] and images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(labels, table[:, 64])
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["optdigits.tes"]
    digits.load_digits(cache_dir=tmp_path)
    assert len(calls) == 1

    tampered = payload.replace(b"\r\n0,0,5,", b"\r\n0,0,6,", 1)
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: io.BytesIO(
        tampered))
    with pytest.raises(ValueError, match="checksum mismatch"):
        digits.load_digits(cache_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists()

    def offline(request, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match=r"no network.*rnnzoo\[data\]"):
        digits.load_digits(cache_dir=tmp_path / "third")


def test_loading_imports_no_heavy_package():
    code = (
        "import sys\n"
        "import rnnzoo.data\n"
        "before = set(sys.modules)\n"
        "from rnnzoo.data import digits\n"
        "next(digits.digit_strips('test', 1))\n"
        "heavy = ('tensorflow', 'keras', 'sklearn', 'scipy', 'pandas')\n"
        "new = [m for m in set(sys.modules) - before if m.split('.')[0] in heavy]\n"
        "assert not new, sorted(new)[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
