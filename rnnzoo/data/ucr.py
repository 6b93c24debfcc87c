"""Reader and loader for UCR/UEA time-series classification archives (``.ts`` files).

The ``.ts`` format is the one used by the UCR univariate archive (Dau et al. 2019,
"The UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6)) and the UEA
multivariate archive (Bagnall et al. 2018, "The UEA multivariate time series
classification archive, 2018", arXiv:1811.00075). A file is a header of ``@tag value``
lines, then ``@data`` and one case per line: dimensions separated by ``:``, values by
``,``, and the class label as the last ``:`` field.

This module uses only numpy and the standard library (no tensorflow / keras).

Example:
    >>> from rnnzoo.data.ucr import load_ucr
    >>> train = load_ucr("GunPoint", "train")   # ships inside rnnzoo
    >>> train.x.shape, train.class_names
    ((50, 150, 1), ('1', '2'))
"""

from __future__ import annotations

import dataclasses
import difflib
import gzip
import hashlib
import http.client
import importlib.resources
import io
import os
import tempfile
import urllib.request
import warnings
import zipfile
from pathlib import Path
from typing import Optional, Union

import numpy as np

from rnnzoo.data.catalog import package_dir

__all__ = ["TSData", "UCR_DATASETS", "read_ts", "load_ucr"]

DOWNLOAD_URL = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"


def _info(archive, description, n_classes, sha_train, sha_test):
    return {"archive": archive, "description": description, "n_classes": n_classes,
            "sha256": {"train": sha_train, "test": sha_test}}


#: Known datasets: name -> {"archive", "description", "n_classes", "sha256": {split: hex}}.
#: Hashes are those of the ``.ts`` files shipped in aeon 1.6 / timeseriesclassification.com.
UCR_DATASETS = {
    "GunPoint": _info(
        "UCR", "Hand x-position while drawing a gun vs pointing; 50/150 cases, length 150.", 2,
        "f842401779fd9800d247d8b33121a1a4643710a19b24917dbdd9a060ca8630d5",
        "79332750788a6227b325b96bd0d70130c8eb707b9731f8d7dec62b7a7d36017e"),
    "ItalyPowerDemand": _info(
        "UCR", "Daily Italian power demand, winter vs summer; 67/1029 cases, length 24.", 2,
        "341269cb7e6cef96846b30e774580beec79addb93848ba360145219115a74b7c",
        "26122451f87dd0387ef90b18bc8a86c041371b8a1c068004922b939971247144"),
    "ArrowHead": _info(
        "UCR", "Outlines of projectile points (arrowheads); 36/175 cases, length 251.", 3,
        "a83c470aaf611a5f5284377cce27a5fc9f6292bc3d110257b0fd4905ced5ee72",
        "5417dab42626d41df5e435bb22458c2df40dfad4bcd3b59559bbe72e20e84904"),
    "OSULeaf": _info(
        "UCR", "Leaf outlines of six tree species; 200/242 cases, length 427.", 6,
        "86b9d6e860414ffd26cebc62fff84ffb37fa588ef3e5bf79e4094a437c36ddfc",
        "6c549dd354f9e42d5985fa5fab75321ca9acefc7873457e71467fc8a31f107ce"),
    "BasicMotions": _info(
        "UEA", "Smart-watch accelerometer+gyroscope, 4 activities; 40/40 cases, 6 x 100.", 4,
        "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
        "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc"),
    "JapaneseVowels": _info(
        "UEA", "LPC cepstra of 9 speakers saying /ae/; 270/370 cases, 12 x 7-29 (unequal).", 9,
        "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
        "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462"),
    "UnitTest": _info(
        "UCR", "Cut-down Chinatown pedestrian counts for fast tests; 20/22 cases, length 24.", 2,
        "6ce264a7cd41ccfb285e61831dc977a5572e17558551b251d0f1e427c8b9d335",
        "1c28892222289640d0fb156823e183dd79e489e340cfcff16e5af3cf575fd218"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class TSData:
    """A parsed ``.ts`` file.

    Attributes:
        x: float32 array (N, T_max, D); shorter series are zero-padded at the end,
            missing values ('?' / NaN) are ``np.nan``.
        lengths: int32 (N,) true length of every series.
        labels: (N,) raw label strings (``None`` entries when the file has no labels).
        class_names: class names in header order (else sorted unique labels).
        y: int32 (N,) index into ``class_names`` (-1 when unlabelled or regression).
        problem_name: the ``@problemName`` header (else the file name).
        targets: float32 (N,) regression targets for ``@targetLabel true`` files, else None.
    """

    x: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    class_names: tuple
    y: np.ndarray
    problem_name: str
    targets: Optional[np.ndarray] = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _bool(value: str, path, lineno: int, tag: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise ValueError(f"{path}: line {lineno}: expected 'true' or 'false' after {tag}, "
                         f"found {value.strip()!r}")
    return v == "true"


def _values(field: str, path, lineno: int, where: str) -> list:
    out = []
    for tok in field.split(","):
        tok = tok.strip()
        if tok == "?":
            out.append(np.nan)
            continue
        try:
            out.append(float(tok))
        except ValueError:
            raise ValueError(f"{path}: line {lineno}: expected a number or '?' in {where}, "
                             f"found {tok!r}") from None
    return out


def _label_sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def read_ts(path: Union[str, os.PathLike]) -> TSData:
    """Parse a UCR/UEA ``.ts`` file (``.ts.gz`` is read through gzip).

    Args:
        path: the file to read.

    Returns:
        A :class:`TSData` with zero-padded ``x`` of shape (N, T_max, D).

    Raises:
        ValueError: for a malformed file (missing ``@data``, unknown label, inconsistent
            dimensions or lengths, non-numeric values, ``@timeStamps true``); the message
            names the file, the line, what was expected and what was found.

    Example:
        ```python
        d = read_ts("GunPoint_TRAIN.ts")
        d.x.shape, d.y[:3]   # ((50, 150, 1), array([1, 0, 0], dtype=int32))
        ```
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()

    problem, n_dims, equal, series_len = None, None, None, None
    class_labels, has_labels, has_target = None, False, False
    data_start = None
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line[0] in "#%":
            continue
        if not line.startswith("@"):
            raise ValueError(f"{path}: line {i}: expected a header '@tag' before @data, "
                             f"found {line[:40]!r}")
        tag, _, rest = line.partition(" ")
        tag, rest = tag.lower(), rest.strip()
        if tag == "@data":
            data_start = i
            break
        if tag == "@problemname":
            problem = problem or rest
        elif tag == "@timestamps":
            if _bool(rest, path, i, tag):
                raise ValueError(f"{path}: line {i}: expected '@timeStamps false' "
                                 "(time stamps are not supported), found 'true'")
        elif tag == "@missing":
            _bool(rest, path, i, tag)
        elif tag == "@univariate":
            if _bool(rest, path, i, tag):
                n_dims = 1
        elif tag == "@dimensions":
            if not rest.isdigit() or int(rest) < 1 or n_dims not in (None, int(rest)):
                raise ValueError(f"{path}: line {i}: expected a positive dimension count "
                                 f"consistent with the header, found {rest!r}")
            n_dims = int(rest)
        elif tag == "@equallength":
            equal = _bool(rest, path, i, tag)
        elif tag == "@serieslength":
            if not rest.isdigit():
                raise ValueError(f"{path}: line {i}: expected an integer series length, "
                                 f"found {rest!r}")
            series_len = int(rest)
        elif tag == "@classlabel":
            flag, _, names = rest.partition(" ")
            has_labels = _bool(flag, path, i, tag)
            if has_labels and names.split():
                class_labels = tuple(names.split())
        elif tag == "@targetlabel":
            has_target = _bool(rest, path, i, tag)
        else:
            warnings.warn(f"{path}: line {i}: ignoring unknown header tag {tag!r}")
    if data_start is None:
        raise ValueError(f"{path}: line {len(lines)}: expected an '@data' line, found end of file")
    if has_labels and has_target:
        raise ValueError(f"{path}: line {data_start}: expected at most one of @classLabel true "
                         "and @targetLabel true, found both")

    series, labels, targets = [], [], []
    for i in range(data_start + 1, len(lines) + 1):
        line = lines[i - 1].strip()
        if not line or line[0] in "#%":
            continue
        fields = line.split(":")
        if has_labels or has_target:
            if len(fields) < 2:
                raise ValueError(f"{path}: line {i}: expected values followed by ':<label>', "
                                 f"found no ':' separator")
            label = fields.pop().strip()
            if has_target:
                targets.append(_values(label, path, i, "the target")[0])
            elif class_labels is not None and label not in class_labels:
                raise ValueError(f"{path}: line {i}: expected a class label in "
                                 f"{list(class_labels)}, found {label!r}")
            labels.append(label)
        if n_dims is None:
            n_dims = len(fields)
        if len(fields) != n_dims:
            raise ValueError(f"{path}: line {i}: expected {n_dims} dimension(s), "
                             f"found {len(fields)}")
        dims = [_values(f, path, i, f"dimension {d}") for d, f in enumerate(fields)]
        if len({len(d) for d in dims}) != 1:
            raise ValueError(f"{path}: line {i}: expected all dimensions to have the same "
                             f"length, found lengths {[len(d) for d in dims]}")
        length = len(dims[0])
        want = series_len if series_len is not None else (
            len(series[0][0]) if series else length)
        if equal and length != want:
            raise ValueError(f"{path}: line {i}: expected series length {want} "
                             f"(@equalLength true), found {length}")
        series.append(dims)
    if not series:
        raise ValueError(f"{path}: line {len(lines)}: expected at least one data line after "
                         "@data, found none")

    n = len(series)
    lengths = np.array([len(s[0]) for s in series], dtype=np.int32)
    x = np.zeros((n, int(lengths.max()), n_dims), dtype=np.float32)
    for k, s in enumerate(series):
        x[k, : lengths[k], :] = np.asarray(s, dtype=np.float32).T

    class_names, y = (), np.full(n, -1, dtype=np.int32)
    if has_labels:
        class_names = class_labels or tuple(sorted(set(labels), key=_label_sort_key))
        index = {c: k for k, c in enumerate(class_names)}
        y = np.array([index[lab] for lab in labels], dtype=np.int32)
    label_arr = np.array(labels, dtype=str) if labels else np.full(n, None, dtype=object)
    return TSData(x=x, lengths=lengths, labels=label_arr, class_names=tuple(class_names), y=y,
                  problem_name=problem or path.name.split(".")[0],
                  targets=np.array(targets, dtype=np.float32) if has_target else None)


def _canonical(name: str, allow_unknown: bool) -> str:
    if name in UCR_DATASETS:
        return name
    lowered = {k.lower(): k for k in UCR_DATASETS}
    if name.lower() in lowered:
        return lowered[name.lower()]
    if allow_unknown:
        return name
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    hint = f" Did you mean {lowered[close[0]]!r}?" if close else ""
    raise ValueError(f"unknown dataset {name!r}; known datasets: {sorted(UCR_DATASETS)}."
                     f"{hint} (Pass path=... to read any other .ts file.)")


def _find(folder: Path, stem: str) -> Optional[Path]:
    """``folder/<stem>.ts`` or ``folder/<stem>.ts.gz`` if either exists (exact names)."""
    return next((folder / (stem + e) for e in (".ts", ".ts.gz")
                 if (folder / (stem + e)).is_file()), None)


def _default_cache_dir() -> Path:
    home = os.environ.get("RNNZOO_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".rnnzoo" / "datasets"


def _download(name: str, target: Path) -> None:
    """Fetch ``<name>.zip`` and place both verified ``.ts`` files in ``target``."""
    req = urllib.request.Request(DOWNLOAD_URL.format(name=name),
                                 headers={"User-Agent": "rnnzoo"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        payload = resp.read()
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        members = {Path(m).name: m for m in zf.namelist()}
        wanted = {s: f"{name}_{s.upper()}.ts" for s in ("train", "test")}
        missing = [f for f in wanted.values() if f not in members]
        if missing:
            raise OSError(f"archive {name}.zip lacks {missing}")
        blobs = {s: zf.read(members[f]) for s, f in wanted.items()}
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    temps = {}
    try:
        for split, blob in blobs.items():
            fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}_", suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            temps[split] = Path(tmp)
            expected, found = UCR_DATASETS[name]["sha256"][split], hashlib.sha256(blob).hexdigest()
            if found != expected:
                raise ValueError(f"checksum mismatch for downloaded {wanted[split]}: expected "
                                 f"sha256 {expected}, found {found}")
        for split, tmp in temps.items():
            os.replace(tmp, target / wanted[split])
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        if created and not any(target.iterdir()):
            target.rmdir()
        raise


def load_ucr(name: str, split: str = "train", path=None, cache_dir=None,
             download: bool = True) -> TSData:
    """Load one split of a UCR/UEA dataset.

    Sources, in order: ``path``; files packaged in ``rnnzoo/data/packaged``; the cache
    dir ``<cache>/<Name>/``; the copy inside an installed aeon package; a download from
    timeseriesclassification.com (sha256-verified, into the cache dir).

    Args:
        name: dataset name (a key of ``UCR_DATASETS``, case-insensitive; any name if
            ``path`` is given).
        split: ``"train"`` or ``"test"``.
        path: a ``.ts``/``.ts.gz`` file (read as is), or a directory holding ``<Name>_<SPLIT>.ts[.gz]``
            directly or in a ``<Name>/`` subfolder. When given, no other source is used.
        cache_dir: cache root (default ``$RNNZOO_HOME/datasets`` or ``~/.rnnzoo/datasets``).
        download: allow downloading when no local copy is found.

    Returns:
        The parsed :class:`TSData`.

    Raises:
        ValueError: unknown name, bad split, malformed file, or checksum mismatch.
        FileNotFoundError: the file is not under ``path``, or no source had the data.

    Example:
        >>> d = load_ucr("ItalyPowerDemand", "test", download=False)
        >>> d.x.shape, d.class_names
        ((1029, 24, 1), ('1', '2'))
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be one of ['train', 'test'], found {split!r}")
    name = _canonical(name, allow_unknown=path is not None)
    stem = f"{name}_{split.upper()}"

    if path is not None:
        p = Path(path)
        if p.is_file():
            return read_ts(p)
        if p.is_dir():
            found = _find(p, stem) or _find(p / name, stem)
            if found is not None:
                return read_ts(found)
        raise FileNotFoundError(f"no {stem}.ts or {stem}.ts.gz in {p} or {p / name} "
                                f"(path= was given, so no other source was tried)")

    tried = []
    try:
        packaged = importlib.resources.files("rnnzoo.data") / "packaged" / f"{stem}.ts.gz"
        if packaged.is_file():
            with importlib.resources.as_file(packaged) as real:
                return read_ts(real)
        tried.append(f"packaged: {packaged}")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as err:
        tried.append(f"packaged: unavailable ({err})")

    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    found = _find(cache / name, stem)
    if found is not None:
        return read_ts(found)
    tried.append(f"cache: {cache / name / (stem + '.ts')}[.gz]")

    aeon_root = package_dir("aeon")  # aeon's bundled copy, without importing aeon (slow)
    if aeon_root is not None:
        aeon_dir = aeon_root / "datasets" / "data" / name
        if (aeon_dir / f"{stem}.ts").is_file():
            return read_ts(aeon_dir / f"{stem}.ts")
        tried.append(f"aeon: {aeon_dir / (stem + '.ts')}")
    else:
        tried.append("aeon: not installed")

    if not download:
        tried.append("download: disabled (download=False)")
    elif name not in UCR_DATASETS:
        tried.append("download: unknown dataset")
    else:
        try:
            _download(name, cache / name)
            return read_ts(cache / name / f"{stem}.ts")
        except (OSError, http.client.HTTPException, zipfile.BadZipFile) as err:
            tried.append(f"download: failed ({err})")
    raise FileNotFoundError(
        f"could not find {stem}.ts; tried " + "; ".join(tried)
        + '. Install the data with pip install "rnnzoo[data]" (brings aeon 1.6) '
        "or pass path= to a folder holding the .ts files.")
