"""Decoding shared by every autoregressive and CTC task: greedy, beam, sampling.

The sequence decoders drive a *step function* and know nothing about models:

    step_fn(tokens, states) -> (log_probs, new_states)

`tokens` is an int array `(n,)` (the previous token of each hypothesis),
`states` a list of arrays whose first axis is `n`, and `log_probs` a float
array `(n, vocabulary)` of log-probabilities of the next token. A task builds
its step function from a single-step Keras model (the same model it exports to
TFLite for phones), so the loop runs identically in Python and on a device.

CTC decoders take per-frame log-probabilities `(batch, time, classes)`.
All work is NumPy on the host: decoding is a small loop around model calls.
"""

import numpy as np


def _check_common(start_token, max_length):
    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length <= 0:
        raise ValueError(
            f"Received an invalid value for argument `max_length`, expected a "
            f"positive integer, got {max_length!r}."
        )
    if isinstance(start_token, bool) or not isinstance(start_token, (int, np.integer)):
        raise ValueError(
            f"Received an invalid value for argument `start_token`, expected an "
            f"integer token id, got {start_token!r}."
        )


def _batch_size(states):
    if not states:
        raise ValueError("Expected at least one state array (batch first), got none.")
    return int(np.shape(states[0])[0])


def _finish(tokens, end_token):
    """Cuts each row after its first end token; returns (padded tokens, lengths)."""
    tokens = np.asarray(tokens, dtype=np.int32)
    lengths = np.full((tokens.shape[0],), tokens.shape[1], dtype=np.int32)
    if end_token is not None:
        for row in range(tokens.shape[0]):
            hits = np.flatnonzero(tokens[row] == end_token)
            if hits.size:
                lengths[row] = hits[0] + 1
                tokens[row, hits[0] + 1 :] = end_token
    return tokens, lengths


def _run_loop(step_fn, initial_states, start_token, max_length, end_token, pick):
    """Feeds back `pick(log_probs)` each step; rows stop changing after the end token."""
    states = [np.asarray(s) for s in initial_states]
    batch = _batch_size(states)
    tokens = np.full((batch,), start_token, dtype=np.int32)
    done = np.zeros((batch,), dtype=bool)
    out = []
    for _ in range(max_length):
        log_probs, states = step_fn(tokens, states)
        tokens = np.asarray(pick(log_probs)).astype(np.int32)
        if end_token is not None:
            tokens = np.where(done, end_token, tokens)
            done |= tokens == end_token
        out.append(tokens)
        if end_token is not None and done.all():
            break
    out = np.stack(out, axis=1)
    if out.shape[1] < max_length:
        out = np.pad(out, ((0, 0), (0, max_length - out.shape[1])), constant_values=end_token)
    return _finish(out, end_token)


def greedy_decode(step_fn, initial_states, start_token, max_length, end_token=None):
    """Picks the most likely token at every step.

    Args:
        step_fn: `(tokens, states) -> (log_probs, new_states)`, see the module doc.
        initial_states: list of arrays, batch first (e.g. an encoder summary).
        start_token: int, the token fed at the first step.
        max_length: int, the number of tokens to emit at most.
        end_token: optional int; a row stops changing after emitting it.

    Returns:
        `(tokens, lengths)`: int32 `(batch, max_length)` (rows padded with the
        end token after it) and int32 `(batch,)` lengths including the end token.

    Example:
        >>> table = np.log(np.array([[0.1, 0.9], [0.8, 0.2]]))  # next-token table
        >>> step = lambda tokens, states: (table[tokens], states)
        >>> greedy_decode(step, [np.zeros((1, 1))], start_token=0, max_length=3)[0]
        array([[1, 0, 1]], dtype=int32)
    """
    _check_common(start_token, max_length)
    return _run_loop(
        step_fn, initial_states, start_token, max_length, end_token,
        pick=lambda log_probs: np.argmax(np.asarray(log_probs), axis=-1),
    )


def sample_decode(
    step_fn, initial_states, start_token, max_length, end_token=None, temperature=1.0,
    top_k=None, seed=None,
):
    """Samples each next token from the (tempered, top-k truncated) distribution.

    Args:
        step_fn, initial_states, start_token, max_length, end_token: as in
            `greedy_decode`.
        temperature: float > 0; below 1 sharpens, above 1 flattens.
        top_k: optional int; sample only among the k most likely tokens.
        seed: optional int, for reproducible samples.

    Returns:
        `(tokens, lengths)` as in `greedy_decode`.
    """
    _check_common(start_token, max_length)
    if not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ValueError(
            f"Received an invalid value for argument `temperature`, expected a "
            f"positive number, got {temperature!r}."
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0):
        raise ValueError(
            f"Received an invalid value for argument `top_k`, expected a positive "
            f"integer or None, got {top_k!r}."
        )
    rng = np.random.default_rng(seed)

    def pick(log_probs):
        logits = np.asarray(log_probs, dtype=np.float64) / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
            logits = np.where(logits < kth, -np.inf, logits)
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=-1, keepdims=True)
        draws = rng.random((probs.shape[0], 1))
        return np.minimum((probs.cumsum(axis=-1) < draws).sum(axis=-1), probs.shape[-1] - 1)

    return _run_loop(step_fn, initial_states, start_token, max_length, end_token, pick)


def beam_search(
    step_fn, initial_states, start_token, max_length, end_token=None, beam_width=4,
    length_penalty=0.0,
):
    """Keeps the `beam_width` most likely prefixes per example; returns the best.

    Hypotheses are scored by their summed log-probability divided by
    `length ** length_penalty` (0 = plain sum). A hypothesis that emitted the
    end token is finished and keeps its score.

    Args:
        step_fn, initial_states, start_token, max_length, end_token: as in
            `greedy_decode`.
        beam_width: int >= 1 (1 equals greedy decoding).
        length_penalty: float >= 0.

    Returns:
        `(tokens, lengths, scores)`: the best hypothesis per example, its
        length (with the end token) and its score.

    Example:
        >>> table = np.log(np.array([[0.1, 0.9], [0.8, 0.2]]))
        >>> step = lambda tokens, states: (table[tokens], states)
        >>> beam_search(step, [np.zeros((1, 1))], 0, 2, beam_width=2)[0]
        array([[1, 0]], dtype=int32)
    """
    _check_common(start_token, max_length)
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width <= 0:
        raise ValueError(
            f"Received an invalid value for argument `beam_width`, expected a "
            f"positive integer, got {beam_width!r}."
        )
    states = [np.asarray(s) for s in initial_states]
    batch = _batch_size(states)
    # Flatten (example, beam) into rows: row = example * beam_width + k.
    states = [np.repeat(s, beam_width, axis=0) for s in states]
    rows = batch * beam_width
    tokens = np.full((rows,), start_token, dtype=np.int32)
    scores = np.full((batch, beam_width), -np.inf)
    scores[:, 0] = 0.0  # one live hypothesis per example at the start
    finished = np.zeros((batch, beam_width), dtype=bool)
    history = np.zeros((batch, beam_width, 0), dtype=np.int32)
    for _ in range(max_length):
        log_probs, states = step_fn(tokens, states)
        log_probs = np.asarray(log_probs, dtype=np.float64).reshape(batch, beam_width, -1)
        vocab = log_probs.shape[-1]
        if end_token is not None:
            # A finished hypothesis can only "emit" the end token again, for free.
            frozen = np.full((vocab,), -np.inf)
            frozen[end_token] = 0.0
            log_probs = np.where(finished[..., None], frozen, log_probs)
        candidates = (scores[..., None] + log_probs).reshape(batch, -1)
        best = np.argsort(-candidates, axis=-1, kind="stable")[:, :beam_width]
        source_beam, token = best // vocab, (best % vocab).astype(np.int32)
        scores = np.take_along_axis(candidates, best, axis=-1)
        history = np.concatenate(
            [np.take_along_axis(history, source_beam[..., None], axis=1), token[..., None]],
            axis=-1,
        )
        finished = np.take_along_axis(finished, source_beam, axis=1)
        if end_token is not None:
            finished |= token == end_token
        source_rows = (np.arange(batch)[:, None] * beam_width + source_beam).reshape(-1)
        states = [np.take(s, source_rows, axis=0) for s in states]
        tokens = token.reshape(-1)
        if end_token is not None and finished.all():
            break
    tokens, lengths = _finish(history.reshape(rows, -1), end_token)
    tokens, lengths = tokens.reshape(batch, beam_width, -1), lengths.reshape(batch, beam_width)
    normalised = scores / np.power(lengths.astype(np.float64), length_penalty)
    choice = np.argmax(normalised, axis=-1)
    pick = np.arange(batch), choice
    out = tokens[pick]
    if out.shape[1] < max_length:
        out = np.pad(out, ((0, 0), (0, max_length - out.shape[1])),
                     constant_values=end_token if end_token is not None else 0)
    return out, lengths[pick], normalised[pick]


def ctc_greedy_decode(log_probs, lengths=None, blank=0):
    """Best path decoding: the most likely class per frame, repeats merged, blanks dropped.

    Args:
        log_probs: float `(batch, time, classes)` per-frame log-probabilities.
        lengths: optional int `(batch,)` valid frames per example.
        blank: int, the blank class.

    Returns:
        list of int lists, one label sequence per example.

    Example:
        >>> frames = np.log(np.eye(3)[[1, 1, 0, 1, 2, 2]][None] * 0.98 + 0.01)
        >>> ctc_greedy_decode(frames, blank=0)
        [[1, 1, 2]]
    """
    log_probs = np.asarray(log_probs)
    if log_probs.ndim != 3:
        raise ValueError(
            f"Expected CTC log-probabilities of shape (batch, time, classes), got {log_probs.shape}."
        )
    best = np.argmax(log_probs, axis=-1)
    lengths = _ctc_lengths(log_probs, lengths)
    decoded = []
    for row, length in zip(best, lengths):
        labels, previous = [], None
        for label in row[:length]:
            if label != previous and label != blank:
                labels.append(int(label))
            previous = label
        decoded.append(labels)
    return decoded


def _ctc_lengths(log_probs, lengths):
    if lengths is None:
        return np.full((log_probs.shape[0],), log_probs.shape[1], dtype=np.int64)
    lengths = np.asarray(lengths).astype(np.int64).reshape(-1)
    if lengths.shape[0] != log_probs.shape[0] or (lengths > log_probs.shape[1]).any() or (lengths < 0).any():
        raise ValueError(
            f"Expected `lengths` of shape ({log_probs.shape[0]},) within [0, {log_probs.shape[1]}], "
            f"got {lengths.tolist()}."
        )
    return lengths


def ctc_prefix_beam_search(log_probs, lengths=None, blank=0, beam_width=8):
    """CTC prefix beam search: sums the probability of every path of a prefix.

    Each prefix keeps two log-probabilities, ending in blank and ending in a
    label, so that "a a" (two labels, needs a blank between) and "a" (a repeat)
    are told apart (Graves 2012; Hannun et al. 2014, without a language model).

    Args:
        log_probs, lengths, blank: as in `ctc_greedy_decode`.
        beam_width: int >= 1, prefixes kept per frame.

    Returns:
        list of int lists, the most probable label sequence per example.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    decoded = ctc_greedy_decode(log_probs, lengths, blank)  # validates the shapes
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width <= 0:
        raise ValueError(
            f"Received an invalid value for argument `beam_width`, expected a "
            f"positive integer, got {beam_width!r}."
        )
    lengths = _ctc_lengths(log_probs, lengths)
    for index, (frames, length) in enumerate(zip(log_probs, lengths)):
        beams = {(): (0.0, -np.inf)}  # prefix -> (log p ending in blank, ending in label)
        for frame in frames[:length]:
            nxt = {}

            def add(prefix, blank_part, label_part):
                old_b, old_l = nxt.get(prefix, (-np.inf, -np.inf))
                nxt[prefix] = (np.logaddexp(old_b, blank_part), np.logaddexp(old_l, label_part))

            for prefix, (p_b, p_l) in beams.items():
                total = np.logaddexp(p_b, p_l)
                add(prefix, total + frame[blank], -np.inf)
                for label in range(frame.shape[0]):
                    if label == blank:
                        continue
                    extended = prefix + (label,)
                    if prefix and prefix[-1] == label:
                        # Repeat without a blank collapses; with one it extends.
                        add(prefix, -np.inf, p_l + frame[label])
                        add(extended, -np.inf, p_b + frame[label])
                    else:
                        add(extended, -np.inf, total + frame[label])
            ranked = sorted(nxt.items(), key=lambda item: -np.logaddexp(*item[1]))
            beams = dict(ranked[:beam_width])
        best = max(beams.items(), key=lambda item: np.logaddexp(*item[1]))[0]
        decoded[index] = [int(label) for label in best]
    return decoded
