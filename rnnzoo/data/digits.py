"""Handwritten 8x8 digits, as images, row sequences and digit strips.

The data are the 1,797 digits that scikit-learn ships as
``sklearn/datasets/data/digits.csv.gz``: a copy of the test set of the UCI
"Optical Recognition of Handwritten Digits" data (Alpaydin & Kaynak 1998). Each
row holds 64 pixel counts (0-16, an 8x8 image read row by row) and the digit.
The file is read directly, without importing scikit-learn.

Split: rnnzoo fixes a stratified 80/20 split: within each digit class, the
examples are permuted with ``numpy.random.default_rng(SPLIT_SEED)`` and the
first ``round(0.2 * class size)`` go to ``test``. That gives 1,438 training and
359 test images, the same on every machine. (The file does not record who wrote
a digit, so writers are shared between the splits.)

Catalog datasets (registered at import; load them with ``rnnzoo.data.load``):

- ``digits``: config ``images`` yields ``inputs`` (8, 8, 1), config ``rows``
  yields ``inputs`` (8, 8), one row per time step; both with ``label`` (int32)
  and pixel values scaled to [0, 1] (count / 16).
- ``digit_strips``: several digits side by side in one image of height 8, for
  CTC recognition and captioning. ``inputs`` (W, 8) is the strip's column
  sequence (time step = one pixel column); ``labels`` the digits (0-9; a CTC
  head with 11 classes can use class 10 as the blank); ``text`` ("3 0 7");
  ``caption`` ("three zero seven") and ``caption_ids`` (``<start>`` word ids
  ``<end>`` over ``CAPTION_VOCAB``). Strips of a split use only that split's
  digits. Configs ``len3`` (three digits, no gaps) and ``len3_6`` (3-6 digits,
  0-2 blank columns between neighbours).

Example:
    >>> from rnnzoo.data.digits import load_digits_split, make_strip
    >>> images, labels = load_digits_split("test")
    >>> images.shape, images.dtype, labels.shape
    ((359, 8, 8), dtype('uint8'), (359,))
    >>> strip = make_strip(images, labels, [0, 1, 2], gaps=[1, 0])
    >>> strip["image"].shape, strip["text"] == " ".join(map(str, labels[:3]))
    ((8, 25), True)
"""

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from rnnzoo.data.catalog import (
    DatasetSpec,
    check_positive,
    package_dir,
    register_dataset,
    split_seed,
)

__all__ = [
    "CAPTION_VOCAB",
    "DIGIT_WORDS",
    "SPLIT_SEED",
    "digit_strips",
    "load_digits",
    "load_digits_split",
    "make_strip",
    "split_indices",
]

CITATION = (
    "E. Alpaydin and C. Kaynak. Optical Recognition of Handwritten Digits. UCI Machine "
    "Learning Repository, 1998 (the test set, as shipped by scikit-learn as load_digits)."
)
#: The UCI original of scikit-learn's copy (same 1,797 rows, same layout).
DOWNLOAD_URL = ("https://archive.ics.uci.edu/ml/machine-learning-databases/optdigits/"
                "optdigits.tes")
#: sha256 of the parsed (1797, 65) table as uint8 bytes (row-major): a checksum of
#: the numbers that does not depend on line endings or compression.
VALUES_SHA256 = "68aea062d35a127749050fa0e52dca09d6569ac08092c925610e0954e172dde2"
NUM_DIGITS = 1797
#: Seed of the fixed train/test permutation.
SPLIT_SEED = 1797
TEST_FRACTION = 0.2
SPLIT_SIZES = {"train": 1438, "test": 359}

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Word vocabulary of the captions: id 0 pads, 1 starts, 2 ends, 3 + d is digit d.
CAPTION_VOCAB = ("<pad>", "<start>", "<end>") + DIGIT_WORDS

_SPLITS = ("train", "test")
_EXTRA_HINT = 'pip install "rnnzoo[data]"'


def _choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"Received an invalid value for argument `{argument}`, expected one "
                         f"of {list(choices)}, got {value!r}.")
    return value


# --------------------------------------------------------------------------- reading

# Module-level name so tests can simulate a missing package.
_package_dir = package_dir


def _parse_table(text, where):
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            row = [int(v) for v in line.split(",")]
        except ValueError:
            raise ValueError(f"{where}: line {lineno}: expected 65 comma-separated integers, "
                             f"found {line[:40]!r}") from None
        if len(row) != 65 or min(row) < 0 or max(row[:64]) > 16 or row[64] > 9:
            raise ValueError(f"{where}: line {lineno}: expected 64 pixel counts in 0..16 and a "
                             f"digit 0..9, found {len(row)} values")
        rows.append(row)
    if not rows:
        raise ValueError(f"{where}: expected rows of 65 integers, found none")
    return np.array(rows, np.uint8)


def _read_table(path):
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="ascii") as fh:
        return _parse_table(fh.read(), path)


def _default_cache_dir():
    home = os.environ.get("RNNZOO_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".rnnzoo" / "datasets"


def _download(target):
    """Fetches the UCI file, checks its numbers, writes it atomically to `target`."""
    request = urllib.request.Request(DOWNLOAD_URL, headers={"User-Agent": "rnnzoo"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        payload = resp.read()
    table = _parse_table(payload.decode("ascii"), f"downloaded {DOWNLOAD_URL}")
    found = hashlib.sha256(table.tobytes()).hexdigest()
    if found != VALUES_SHA256:
        raise ValueError(f"checksum mismatch for downloaded optdigits.tes: expected values "
                         f"sha256 {VALUES_SHA256}, found {found}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".optdigits_", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_digits(path=None, cache_dir=None, download=True):
    """Loads all 1,797 digits.

    Sources, in order: ``path``; the cache ``<cache_dir>/digits/optdigits.tes``;
    scikit-learn's ``sklearn/datasets/data/digits.csv.gz`` (found without
    importing scikit-learn); a download of ``DOWNLOAD_URL`` (UCI), checked
    against ``VALUES_SHA256`` and written atomically into the cache.

    Args:
        path: optional file of 65 comma-separated integers per row (``.gz``
            read through gzip): scikit-learn's ``digits.csv.gz`` or UCI's
            ``optdigits.tes``.
        cache_dir: cache root (default ``$RNNZOO_HOME/datasets`` or
            ``~/.rnnzoo/datasets``).
        download: allow the download when no local copy is found.

    Returns:
        ``(images, labels)``: uint8 (n, 8, 8) pixel counts 0-16 and int32 (n,).

    Raises:
        ValueError: malformed file or checksum mismatch.
        FileNotFoundError: no source has the data; the message names the extra
            (``rnnzoo[data]``) and ``path=``.

    Example:
        >>> images, labels = load_digits(download=False)
        >>> images.shape, int(images.max()), np.bincount(labels).tolist()
        ((1797, 8, 8), 16, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no file {p} (path= was given, so no other source was tried)")
        table = _read_table(p)
    else:
        table, tried = None, []
        cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        cached = cache / "digits" / "optdigits.tes"
        if cached.is_file():
            table = _read_table(cached)
        else:
            tried.append(f"cache: {cached}")
        if table is None:
            sklearn_dir = _package_dir("sklearn")
            packaged = None if sklearn_dir is None else (
                sklearn_dir / "datasets" / "data" / "digits.csv.gz")
            if packaged is not None and packaged.is_file():
                table = _read_table(packaged)
            else:
                tried.append("scikit-learn: " + ("not installed" if packaged is None
                                                 else f"no {packaged}"))
        if table is None:
            if not download:
                tried.append("download: disabled (download=False)")
            else:
                try:
                    _download(cached)
                    table = _read_table(cached)
                except (OSError, http.client.HTTPException) as err:
                    tried.append(f"download: failed ({err})")
        if table is None:
            raise FileNotFoundError(
                "could not find the handwritten digits; tried " + "; ".join(tried)
                + f". Install the data with {_EXTRA_HINT} (brings scikit-learn) or pass "
                "path= to a copy of digits.csv.gz or optdigits.tes.")
    return table[:, :64].reshape(-1, 8, 8).copy(), table[:, 64].astype(np.int32)


_CACHE = {}


def _default_digits():
    """The default-source digits, read once per process (callers get copies)."""
    if "digits" not in _CACHE:
        _CACHE["digits"] = load_digits()
    return _CACHE["digits"]


def split_indices(labels):
    """The fixed stratified split of the digits, as sorted row indices.

    Args:
        labels: int array (n,) of the digits of all rows, in file order.

    Returns:
        dict ``{"train": idx, "test": idx}`` of int64 arrays; each class
        contributes ``round(0.2 * its size)`` rows to ``test``.

    Example:
        >>> idx = split_indices(load_digits(download=False)[1])
        >>> len(idx["train"]), len(idx["test"])
        (1438, 359)
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(SPLIT_SEED)
    test = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        take = int(np.floor(TEST_FRACTION * members.size + 0.5))
        test.append(rng.permutation(members)[:take])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(labels.size), test)
    return {"train": train, "test": test}


def load_digits_split(split, path=None):
    """One split of the digits: ``(images uint8 (n, 8, 8), labels int32 (n,))``.

    Args:
        split: ``"train"`` (1,438 images) or ``"test"`` (359).
        path: optional source file, as for :func:`load_digits`.

    Raises:
        ValueError: for an unknown split.
    """
    _choice("split", split, _SPLITS)
    images, labels = load_digits(path=path) if path is not None else _default_digits()
    rows = split_indices(labels)[split]
    return images[rows].copy(), labels[rows].copy()


# --------------------------------------------------------------------------- strips

def make_strip(images, labels, indices, gaps=None):
    """Places digits side by side into one strip.

    Args:
        images: uint8 or float (n, 8, 8) digit images.
        labels: int (n,) their digits.
        indices: which digits, left to right (k >= 1 indices into `images`).
        gaps: optional k - 1 non-negative ints: blank columns between neighbours.

    Returns:
        dict with ``image`` (8, 8k + sum(gaps)) of `images`' dtype, ``labels``
        int32 (k,), ``text`` ("3 0 7") and ``caption`` ("three zero seven").

    Raises:
        ValueError: for empty `indices` or gaps of the wrong length or sign.
    """
    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("Received an invalid value for argument `indices`, expected at least "
                         "one digit index, got [].")
    gaps = [0] * (len(indices) - 1) if gaps is None else [int(g) for g in gaps]
    if len(gaps) != len(indices) - 1 or any(g < 0 for g in gaps):
        raise ValueError(f"Received an invalid value for argument `gaps`, expected "
                         f"{len(indices) - 1} non-negative integers, got {gaps!r}.")
    height = images.shape[1]
    pieces = [images[indices[0]]]
    for gap, index in zip(gaps, indices[1:]):
        pieces.append(np.zeros((height, gap), images.dtype))
        pieces.append(images[index])
    digits = np.asarray(labels)[indices].astype(np.int32)
    return {"image": np.concatenate(pieces, axis=1), "labels": digits,
            "text": " ".join(str(d) for d in digits),
            "caption": " ".join(DIGIT_WORDS[d] for d in digits)}


def _strip_check(params):
    owner = "dataset 'digit_strips'"
    low = check_positive(owner, "min_digits", params["min_digits"])
    high = check_positive(owner, "max_digits", params["max_digits"])
    if high < low:
        raise ValueError(f"Received an invalid value for `max_digits` of {owner}, expected an "
                         f"integer >= min_digits ({low}), got {high}.")
    gap = params["max_gap"]
    if isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ValueError(f"Received an invalid value for `max_gap` of {owner}, expected a "
                         f"non-negative integer, got {gap!r}.")
    for split in _SPLITS:
        check_positive(owner, f"num_{split}", params[f"num_{split}"])
    return owner


def digit_strips(split, num_examples, min_digits=3, max_digits=6, max_gap=0, seed=0):
    """Random digit strips built from one split's digits (a generator).

    Each strip draws its length k uniformly from ``[min_digits, max_digits]``,
    k digits uniformly (with replacement) from the split, and k - 1 gaps
    uniformly from ``[0, max_gap]``; the random stream is
    ``default_rng(split_seed(seed, split))``, so the output is fixed by the
    arguments.

    Args:
        split: ``"train"`` or ``"test"``.
        num_examples: int, how many strips.
        min_digits, max_digits: int, the range of digits per strip.
        max_gap: int >= 0, the widest blank gap between neighbours.
        seed: int.

    Yields:
        :func:`make_strip` dicts (uint8 ``image``) plus ``digit_indices``, the
        rows of the split's arrays (:func:`load_digits_split`) that were used.

    Example:
        >>> strip = next(digit_strips("train", 1, min_digits=4, max_digits=4))
        >>> strip["image"].shape, len(strip["caption"].split())
        ((8, 32), 4)
    """
    params = {"min_digits": min_digits, "max_digits": max_digits, "max_gap": max_gap,
              "num_train": num_examples, "num_test": num_examples}
    _strip_check(params)
    _choice("split", split, _SPLITS)
    images, labels = load_digits_split(split)
    rng = np.random.default_rng(split_seed(seed, split))
    for _ in range(num_examples):
        k = int(rng.integers(min_digits, max_digits + 1))
        chosen = rng.integers(0, labels.size, size=k)
        gaps = rng.integers(0, max_gap + 1, size=k - 1)
        strip = make_strip(images, labels, chosen, gaps)
        strip["digit_indices"] = chosen.astype(np.int32)
        yield strip


def _strip_features(params):
    _strip_check(params)
    return {
        "inputs": ((None, 8), "float32"),
        "length": ((), "int32"),
        "labels": ((None,), "int32"),
        "label_length": ((), "int32"),
        "text": ((), "string"),
        "caption": ((), "string"),
        "caption_ids": ((None,), "int32"),
        "digit_indices": ((None,), "int32"),
    }


def _strip_splits(params):
    _strip_check(params)
    return {split: params[f"num_{split}"] for split in _SPLITS}


def _strip_generate(split, params, seed):
    _strip_check(params)
    for strip in digit_strips(split, params[f"num_{split}"], params["min_digits"],
                              params["max_digits"], params["max_gap"], seed):
        words = [CAPTION_VOCAB.index("<start>")] + [3 + int(d) for d in strip["labels"]] + [
            CAPTION_VOCAB.index("<end>")]
        yield {
            "inputs": (strip["image"].T / 16.0).astype(np.float32),
            "length": np.int32(strip["image"].shape[1]),
            "labels": strip["labels"],
            "label_length": np.int32(strip["labels"].size),
            "text": np.str_(strip["text"]),
            "caption": np.str_(strip["caption"]),
            "caption_ids": np.array(words, np.int32),
            "digit_indices": strip["digit_indices"],
        }


DIGIT_STRIPS = register_dataset(DatasetSpec(
    name="digit_strips",
    description="Strips of handwritten 8x8 digits side by side, with label strings and "
                "captions (CTC, captioning).",
    citation=CITATION,
    configs={
        "len3": {"min_digits": 3, "max_digits": 3, "max_gap": 0,
                 "num_train": 10000, "num_test": 2000},
        "len3_6": {"min_digits": 3, "max_digits": 6, "max_gap": 2,
                   "num_train": 10000, "num_test": 2000},
    },
    splits=_strip_splits,
    features=_strip_features,
    generate=_strip_generate,
    supervised_keys=("inputs", "labels"),
))


# --------------------------------------------------------------------------- digits

def _digits_check(params):
    return _choice("layout", params["layout"], ("images", "rows"))


def _digits_features(params):
    shape = (8, 8, 1) if _digits_check(params) == "images" else (8, 8)
    return {"inputs": (shape, "float32"), "label": ((), "int32")}


def _digits_splits(params):
    _digits_check(params)
    return dict(SPLIT_SIZES)


def _digits_generate(split, params, seed):
    del seed  # the split is fixed; shuffle in tf.data
    layout = _digits_check(params)
    images, labels = load_digits_split(split)
    pixels = (images / 16.0).astype(np.float32)
    for image, label in zip(pixels, labels):
        yield {"inputs": image[..., None] if layout == "images" else image,
               "label": np.int32(label)}


DIGITS = register_dataset(DatasetSpec(
    name="digits",
    description="Handwritten 8x8 digits (1,797, 10 classes) as images or 8-step row sequences.",
    citation=CITATION,
    configs={"images": {"layout": "images"}, "rows": {"layout": "rows"}},
    splits=_digits_splits,
    features=_digits_features,
    generate=_digits_generate,
    supervised_keys=("inputs", "label"),
))
