"""Real labelled anomaly series, offline.

Semi-supervised series: a normal training prefix, then a test part holding one
labelled anomalous run; runs are 0-based ``[begin, end)``:

- ``ucr135``: 7,501 values, train part ``[0, 1200)``, anomaly ``[4187, 4199)``
  (12 points); aeon 1.6 ``datasets/data/KDD-TSAD_135/``.
- ``mitdb``: 7,500 values, train part ``[0, 5000)``, anomaly ``[6936, 7288)``
  (352 points); sktime ``datasets/data/mitdb/mitdb.csv``.

``ucr135`` is series 135 (InternalBleeding16, a patient's heart rate) of the UCR
time-series anomaly archive (Wu & Keogh, IEEE TKDE 2023); its train end and anomaly come
from the archive's file name ``135_UCR_Anomaly_InternalBleeding16_1200_4187_4199``
(read as TimeEval and aeon do: the anomaly covers indices 4187..4198). ``mitdb``
is the MIT-BIH arrhythmia ECG excerpt shipped by sktime (Moody & Mark 2001); the
excerpt has no official training part, so rnnzoo fixes the first 5,000 points
(all normal, ending 1,936 points before the anomaly) as its training part.

Catalog dataset (registered at import; load it with ``rnnzoo.data.load``):

- ``anomaly_series``: windows of the anomaly series, configs ``ucr135`` and
  ``mitdb``; ``train`` windows lie in the normal training part, ``test`` windows
  in the rest, every ``stride`` steps. Features ``inputs`` (window, 1) float32,
  ``labels`` (window,) int32 (1 on anomalous steps) and ``is_anomaly`` int32.
  Defaults: ucr135 window 128, stride 16 -> 68 / 386 windows (9 anomalous);
  mitdb window 256, stride 32 -> 149 / 71 windows (18 anomalous).

With ``scale="standard"`` the values are standardised with the mean and standard
deviation of the training part only. Windows come in time order; the data are
fixed, so the seed changes nothing (shuffle in ``tf.data``).

The packaged files are located with the helpers of `rnnzoo.data.series` (the
forecasting series). This module uses only NumPy and the standard library.

Example:
    >>> from rnnzoo.data.anomaly_series import load_anomaly_series
    >>> data = load_anomaly_series("mitdb")
    >>> data["values"].shape, int(data["labels"].sum()), data["train_end"]
    ((7500,), 352, 5000)
"""

import csv
import dataclasses
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Tuple

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, register_dataset
from rnnzoo.data.series import (_SCALES, _choice, _missing_source, _packaged_file,
                                _standardise)

__all__ = [
    "ANOMALY_SERIES",
    "ANOMALY_SPEC",
    "UCR135_FILE",
    "UCR135_VALUES_SHA256",
    "UCR_ANOMALY_URL",
    "load_anomaly_series",
    "read_ucr_anomaly_txt",
]


# --------------------------------------------------------------------------- sources

@dataclasses.dataclass(frozen=True)
class _AnomalySource:
    packages: Tuple[str, ...]
    relpath: str
    length: int
    train_end: int
    anomaly: Tuple[int, int]    # [begin, end) of the labelled run
    description: str
    citation: str


UCR_ANOMALY_URL = (
    "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/UCR_TimeSeriesAnomalyDatasets2021.zip")
UCR135_FILE = "135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt"
#: sha256 of the series' values written one per line as ``f"{value:.5f}\n"``: a
#: fingerprint of the numbers that does not depend on how a file formats them.
#: Computed from aeon 1.6's copy (TimeEval's conversion of the archive file).
UCR135_VALUES_SHA256 = "6a02ab32dbd0766133616bf618628bad7ffcb2165ff6302719c8bae24c078b3a"

#: The labelled anomaly series: name -> where the file ships and its labels.
ANOMALY_SERIES = {
    "ucr135": _AnomalySource(
        ("aeon",), "datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TEST.csv",
        7501, 1200, (4187, 4199),
        "UCR anomaly archive #135: heart rate in internal bleeding, one 12-point anomaly.",
        "R. Wu and E. J. Keogh. Current time series anomaly detection benchmarks are flawed and "
        "are creating the illusion of progress. IEEE TKDE 35(3):2421-2429, 2023 (the UCR "
        "time-series anomaly archive, KDD Cup 2021, series 135)."),
    "mitdb": _AnomalySource(
        ("sktime",), "datasets/data/mitdb/mitdb.csv", 7500, 5000, (6936, 7288),
        "MIT-BIH arrhythmia ECG excerpt, one labelled anomalous run of 352 points.",
        "G. B. Moody and R. G. Mark. The impact of the MIT-BIH Arrhythmia Database. IEEE "
        "Engineering in Medicine and Biology 20(3):45-50, 2001 (excerpt shipped by sktime)."),
}


def _default_cache_dir():
    home = os.environ.get("RNNZOO_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".rnnzoo" / "datasets"


# --------------------------------------------------------------------------- anomalies

def _parse_ucr_anomaly(text, filename, where):
    """(float64 values, int32 labels, train_end) of one archive file's text."""
    parts = Path(filename).stem.split("_")
    try:
        train_end, begin, end = (int(p) for p in parts[-3:])
    except ValueError:
        raise ValueError(f"{where}: expected a file name ending in _<train_end>_<begin>_<end>.txt "
                         f"as in the UCR anomaly archive, found {Path(filename).name!r}") from None
    try:
        values = np.array(text.split(), np.float64)
    except ValueError as err:
        raise ValueError(f"{where}: expected numbers separated by white space ({err})") from None
    if not 0 < train_end <= begin < end <= values.size:
        raise ValueError(f"{where}: expected 0 < train_end <= begin < end <= {values.size} "
                         f"(the series length), found {train_end}, {begin}, {end}")
    labels = np.zeros(values.size, np.int32)
    labels[begin:end] = 1
    return values, labels, train_end


def read_ucr_anomaly_txt(path):
    """Reads one file of the UCR time-series anomaly archive.

    The archive's files hold only the values (one per line, or separated by
    white space); the file name
    ``<id>_UCR_Anomaly_<name>_<train_end>_<begin>_<end>.txt`` gives the end of
    the normal training part and the anomalous run, which is labelled on the
    0-based indices ``begin .. end - 1`` (the reading of TimeEval and aeon).

    Args:
        path: the ``.txt`` file.

    Returns:
        dict with ``values`` float32 (n,), ``labels`` int32 (n,) and
        ``train_end`` int.

    Raises:
        ValueError: for a name not in the archive's pattern, a non-numeric value,
            or a labelled run outside the series.
    """
    path = Path(path)
    values, labels, train_end = _parse_ucr_anomaly(path.read_text(encoding="utf-8"), path.name,
                                                   path)
    return {"values": values.astype(np.float32), "labels": labels, "train_end": train_end}


def _read_labelled_csv(path):
    """A CSV whose second-last column holds the values and last column the 0/1 labels.

    Covers TimeEval's layout (``timestamp,value,is_anomaly``, aeon) and sktime's
    ``data,label``.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    values, labels = [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            values.append(float(row[-2]))
            labels.append(int(float(row[-1])))
        except (ValueError, IndexError):
            raise ValueError(f"{path}: line {lineno}: expected '...,<value>,<0 or 1>', "
                             f"found {row!r}") from None
    labels = np.array(labels, np.int32)
    if labels.size == 0 or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{path}: expected a header and rows with 0/1 labels in the last column")
    return np.array(values, np.float32), labels


def _values_fingerprint(values):
    text = "".join(f"{float(v):.5f}\n" for v in np.asarray(values, np.float64))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _write_timeeval_csv(target, values, labels):
    """Writes ``timestamp,value,is_anomaly`` atomically (a temp file, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}_", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write("timestamp,value,is_anomaly\n")
            for t, (v, y) in enumerate(zip(values, labels)):
                fh.write(f"{t},{float(v):.5f},{int(y)}\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download_ucr135(target):
    """Fetches the UCR anomaly archive, keeps series 135 as a verified CSV at `target`.

    The archive (about 500 MB) streams into a temporary file next to `target`
    and is deleted afterwards; only the one series is kept.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ucr_anomaly_", suffix=".zip.part")
    try:
        request = urllib.request.Request(UCR_ANOMALY_URL, headers={"User-Agent": "rnnzoo"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=60) as resp:
            shutil.copyfileobj(resp, out, length=1 << 20)
        with zipfile.ZipFile(tmp) as zf:
            member = next((m for m in zf.namelist() if Path(m).name == UCR135_FILE), None)
            if member is None:
                raise OSError(f"the archive at {UCR_ANOMALY_URL} lacks {UCR135_FILE}")
            text = zf.read(member).decode("utf-8")
    finally:
        Path(tmp).unlink(missing_ok=True)
    values, labels, _ = _parse_ucr_anomaly(text, UCR135_FILE, f"downloaded {UCR135_FILE}")
    found = _values_fingerprint(values)
    if found != UCR135_VALUES_SHA256:
        raise ValueError(f"checksum mismatch for downloaded {UCR135_FILE}: expected values "
                         f"sha256 {UCR135_VALUES_SHA256}, found {found}")
    _write_timeeval_csv(target, values, labels)


def load_anomaly_series(name, path=None, cache_dir=None, download=True):
    """Loads one labelled anomaly series (the whole series, with its train end).

    Sources, in order: ``path``; for ``ucr135`` the cache
    ``<cache_dir>/ucr_anomaly/135_UCR_Anomaly_InternalBleeding16.csv``; the file
    shipped by aeon 1.6 (``ucr135``) or sktime (``mitdb``), located without
    importing them; for ``ucr135`` a download of the UCR anomaly archive
    (``UCR_ANOMALY_URL``, about 500 MB streamed to a temporary file; only series
    135 is kept, checked against ``UCR135_VALUES_SHA256`` and written
    atomically into the cache).

    Args:
        name: ``"ucr135"`` or ``"mitdb"``.
        path: optional file: the archive's ``.txt`` (labels from its name), or a
            CSV with values in the second-last column and 0/1 labels in the
            last (TimeEval's ``timestamp,value,is_anomaly`` or sktime's
            ``data,label``).
        cache_dir: cache root (default ``$RNNZOO_HOME/datasets`` or
            ``~/.rnnzoo/datasets``).
        download: allow the ``ucr135`` download when no local copy is found.

    Returns:
        dict with ``values`` float32 (n,), ``labels`` int32 (n,) (1 on the
        anomaly) and ``train_end`` int: ``values[:train_end]`` is all normal.

    Raises:
        ValueError: unknown name, malformed file, or checksum mismatch.
        FileNotFoundError: no source has the data; the message names the extra
            (``rnnzoo[data]``) and ``path=``.

    Example:
        >>> data = load_anomaly_series("ucr135", download=False)
        >>> data["values"].shape, data["train_end"], np.flatnonzero(data["labels"])[[0, -1]]
        ((7501,), 1200, array([4187, 4198]))
    """
    source = ANOMALY_SERIES[_choice("name", name, ANOMALY_SERIES)]
    filename = Path(source.relpath).name
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no file {p} (path= was given, so no other source was tried)")
        if p.suffix.lower() == ".txt":
            return read_ucr_anomaly_txt(p)
        values, labels = _read_labelled_csv(p)
        return {"values": values, "labels": labels, "train_end": source.train_end}

    tried = []
    cached = None
    if name == "ucr135":
        cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        cached = cache / "ucr_anomaly" / "135_UCR_Anomaly_InternalBleeding16.csv"
        if cached.is_file():
            return _anomaly_dict(*_read_labelled_csv(cached), source, cached)
        tried.append(f"cache: {cached}")
    found = _packaged_file(source.packages, source.relpath, tried)
    if found is not None:
        return _anomaly_dict(*_read_labelled_csv(found), source, found)
    if cached is not None:
        if not download:
            tried.append("download: disabled (download=False)")
        else:
            try:
                _download_ucr135(cached)
                return _anomaly_dict(*_read_labelled_csv(cached), source, cached)
            except (OSError, http.client.HTTPException, zipfile.BadZipFile) as err:
                tried.append(f"download: failed ({err})")
    _missing_source(f"the {name} anomaly series", tried, source.packages, filename)


def _anomaly_dict(values, labels, source, where):
    if values.size != source.length or labels[:source.train_end].any():
        raise ValueError(f"{where}: expected {source.length} values with a normal training "
                         f"part of {source.train_end}, found {values.size} values with "
                         f"{int(labels[:source.train_end].sum())} anomalous training points")
    return {"values": values, "labels": labels, "train_end": source.train_end}


def _anomaly_check(params):
    owner = "dataset 'anomaly_series'"
    _choice("series", params["series"], ANOMALY_SERIES)
    _choice("scale", params["scale"], _SCALES)
    window = check_positive(owner, "window", params["window"])
    stride = check_positive(owner, "stride", params["stride"])
    source = ANOMALY_SERIES[params["series"]]
    shortest = min(source.train_end, source.length - source.train_end)
    if window > shortest:
        raise ValueError(f"Received an invalid value for `window` of {owner}, expected at most "
                         f"{shortest} (the shorter part of {params['series']!r}), got {window}.")
    return window, stride, source


def _anomaly_bounds(split, source):
    return (0, source.train_end) if split == "train" else (source.train_end, source.length)


def _anomaly_splits(params):
    window, stride, source = _anomaly_check(params)
    sizes = {}
    for split in ("train", "test"):
        low, high = _anomaly_bounds(split, source)
        sizes[split] = (high - low - window) // stride + 1
    return sizes


def _anomaly_features(params):
    window, _, _ = _anomaly_check(params)
    return {"inputs": ((window, 1), "float32"), "labels": ((window,), "int32"),
            "is_anomaly": ((), "int32")}


def _anomaly_generate(split, params, seed):
    del seed  # the windows are fixed by the data
    window, stride, source = _anomaly_check(params)
    _choice("split", split, ("train", "test"))
    data = load_anomaly_series(params["series"])
    values = data["values"]
    if params["scale"] == "standard":
        values = _standardise(values, source.train_end)
    low, high = _anomaly_bounds(split, source)
    for start in range(low, high - window + 1, stride):
        labels = data["labels"][start:start + window].copy()
        yield {"inputs": values[start:start + window, None].copy(), "labels": labels,
               "is_anomaly": np.int32(labels.any())}


ANOMALY_SPEC = register_dataset(DatasetSpec(
    name="anomaly_series",
    description="Real labelled anomaly series: UCR anomaly archive #135 and an MIT-BIH ECG "
                "excerpt.",
    citation=" ".join(s.citation for s in ANOMALY_SERIES.values()),
    configs={
        "ucr135": {"series": "ucr135", "window": 128, "stride": 16, "scale": "standard"},
        "mitdb": {"series": "mitdb", "window": 256, "stride": 32, "scale": "standard"},
    },
    splits=_anomaly_splits,
    features=_anomaly_features,
    generate=_anomaly_generate,
))
