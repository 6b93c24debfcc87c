"""Decoders against brute force on small Markov chains with known answers."""

import itertools

import numpy as np
import pytest

from rnnzoo.tasks import decoding

VOCAB, END = 4, 3


def markov_step(seed):
    """A random first-order chain: the next-token table depends on the last token."""
    rng = np.random.default_rng(seed)
    table = np.log(rng.dirichlet(np.ones(VOCAB) * 0.5, size=VOCAB))

    def step(tokens, states):
        return table[tokens], states

    return step, table


def brute_force_best(table, start, length, end=None):
    best, best_score = None, -np.inf
    for seq in itertools.product(range(VOCAB), repeat=length):
        score, previous = 0.0, start
        for k, token in enumerate(seq):
            score += table[previous, token]
            previous = token
            if end is not None and token == end:
                if any(t != end for t in seq[k + 1 :]):
                    score = -np.inf
                break
        if score > best_score:
            best, best_score = seq, score
    return list(best), best_score


@pytest.mark.parametrize("seed", range(5))
def test_exhaustive_beam_equals_brute_force(seed):
    step, table = markov_step(seed)
    length = 4
    tokens, lengths, scores = decoding.beam_search(
        step, [np.zeros((1, 1))], start_token=0, max_length=length, beam_width=VOCAB**length
    )
    expected, expected_score = brute_force_best(table, 0, length)
    assert tokens[0].tolist() == expected
    assert scores[0] == pytest.approx(expected_score)


@pytest.mark.parametrize("seed", range(5))
def test_beam_with_end_token_equals_brute_force(seed):
    step, table = markov_step(seed)
    tokens, lengths, scores = decoding.beam_search(
        step, [np.zeros((1, 1))], 0, 4, end_token=END, beam_width=VOCAB**4
    )
    expected, expected_score = brute_force_best(table, 0, 4, end=END)
    assert tokens[0][: lengths[0]].tolist() == expected[: lengths[0]]
    assert scores[0] == pytest.approx(expected_score)


def test_beam_never_worse_than_greedy_and_width_one_is_greedy():
    for seed in range(10):
        step, table = markov_step(seed)
        states = [np.zeros((3, 2))]
        greedy, _ = decoding.greedy_decode(step, states, 1, 6)
        narrow = decoding.beam_search(step, states, 1, 6, beam_width=1)[0]
        np.testing.assert_array_equal(greedy, narrow)
        wide_tokens, _, wide_scores = decoding.beam_search(step, states, 1, 6, beam_width=8)

        def score(seq):
            prev, total = 1, 0.0
            for t in seq:
                total, prev = total + table[prev, t], t
            return total

        for row in range(3):
            assert wide_scores[row] >= score(greedy[row]) - 1e-9
            assert wide_scores[row] == pytest.approx(score(wide_tokens[row]))


def test_beam_reorders_states_with_hypotheses():
    # The state counts steps per hypothesis: it must follow its own beam.
    def step(tokens, states):
        (count,) = states
        log_probs = np.log(np.full((len(tokens), 3), 1 / 3))
        log_probs[:, 2] += np.where(count[:, 0] >= 2, 5.0, -5.0)
        return log_probs, [count + 1]

    tokens, lengths, _ = decoding.beam_search(step, [np.zeros((2, 1))], 0, 5, end_token=2, beam_width=3)
    assert (lengths == 3).all() and (tokens[:, 2] == 2).all()


def test_greedy_stops_rows_at_end_token():
    table = np.log(np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]]))
    tokens, lengths = decoding.greedy_decode(lambda t, s: (table[t], s), [np.zeros((2, 1))], 0, 6, 2)
    assert tokens.tolist() == [[1, 2, 2, 2, 2, 2]] * 2 and lengths.tolist() == [2, 2]


def test_sampling_follows_the_distribution_and_seed():
    probs = np.array([[0.6, 0.3, 0.1]] * 3)
    step = lambda tokens, states: (np.log(probs[tokens]), states)  # noqa: E731
    states = [np.zeros((4000, 1))]
    tokens, _ = decoding.sample_decode(step, states, 0, 1, seed=3)
    freq = np.bincount(tokens[:, 0], minlength=3) / 4000
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.03)
    again, _ = decoding.sample_decode(step, states, 0, 1, seed=3)
    np.testing.assert_array_equal(tokens, again)
    top1, _ = decoding.sample_decode(step, states, 0, 2, top_k=1, seed=1)
    assert (top1 == 0).all()
    cold, _ = decoding.sample_decode(step, states, 0, 1, temperature=0.05, seed=1)
    assert (cold == 0).mean() > 0.99


def ctc_path_probability(frames, labels, blank):
    """Sum over all frame paths that collapse to `labels` (brute force)."""
    total = 0.0
    time, classes = frames.shape
    for path in itertools.product(range(classes), repeat=time):
        collapsed, previous = [], None
        for p in path:
            if p != previous and p != blank:
                collapsed.append(p)
            previous = p
        if collapsed == labels:
            total += np.prod([frames[t, p] for t, p in enumerate(path)])
    return total


@pytest.mark.parametrize("seed", range(4))
def test_ctc_prefix_beam_finds_most_probable_labeling(seed):
    rng = np.random.default_rng(seed)
    frames = rng.dirichlet(np.ones(3), size=5)  # 5 frames, blank=0, labels 1..2
    labelings = [list(s) for n in range(6) for s in itertools.product([1, 2], repeat=n)]
    probs = [ctc_path_probability(frames, lab, 0) for lab in labelings]
    expected = labelings[int(np.argmax(probs))]
    got = decoding.ctc_prefix_beam_search(np.log(frames)[None], blank=0, beam_width=64)
    assert got == [expected]


def test_ctc_greedy_and_lengths():
    frames = np.log(np.eye(3)[[1, 0, 1, 2, 2, 0]] * 0.97 + 0.01)[None]
    assert decoding.ctc_greedy_decode(frames, blank=0) == [[1, 1, 2]]
    assert decoding.ctc_greedy_decode(frames, lengths=[2], blank=0) == [[1]]
    with pytest.raises(ValueError, match="lengths"):
        decoding.ctc_greedy_decode(frames, lengths=[9])
    with pytest.raises(ValueError, match="batch, time, classes"):
        decoding.ctc_greedy_decode(frames[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"max_length": 0}, "max_length"), ({"start_token": 1.5}, "start_token"),
     ({"beam_width": 0}, "beam_width")],
)
def test_bad_arguments(kwargs, match):
    step, _ = markov_step(0)
    args = dict(start_token=0, max_length=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        decoding.beam_search(step, [np.zeros((1, 1))], **args)
