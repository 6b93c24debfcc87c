"""Formal languages: Tomita grammars, a^n b^n, a^n b^n c^n and Dyck languages.

Pure NumPy generators registered in the dataset catalog at import. Symbols are
given one-hot (`inputs`, float32, one row per symbol, zero rows only as
padding), so any rnnzoo layer reads them directly.

Datasets:

- `tomita` (configs `t1` ... `t7`): binary strings labelled by the grammar's
  acceptor (Tomita 1982; Giles et al. 1992). `train` is every string of length
  1 ... `max_length` (the classes are as unbalanced as the language makes
  them); `test` holds strings of lengths `max_length + 1` ... `test_max_length`,
  for each length up to `test_per_class` distinct accepted and as many
  distinct rejected strings, drawn uniformly (fewer where a class has fewer
  strings of that length, e.g. `1*` has one). Features `inputs` (None, 2),
  `label` (1 = accepted).
- `anbn`, `anbncn` (config `gers2001`): next-symbol prediction on
  S a^n b^n [c^n] T (Gers & Schmidhuber 2001): `train` holds each n in
  `min_n` ... `max_n` once, `test` each n in `max_n + 1` ... `test_max_n`.
  `inputs` are one-hot over (S, a, b[, c]); `targets` are multi-hot over
  (a, b[, c], T): every symbol that may legally come next. A string is
  accepted when every step's prediction is right.
- `dyck` (configs `dyck1`, `dyck2`): classification of balanced versus
  unbalanced bracket strings with 1 or 2 bracket types. Positives are drawn
  uniformly among balanced strings of a length with nesting depth at most
  `max_depth`; negatives are hard: a balanced string of the same length with
  one bracket flipped, retyped or two brackets swapped: length never tells
  the classes apart, and swaps and retypes keep the numbers of openers and
  closers, so counting alone does not either. Classes are balanced exactly; `test` strings
  are longer than any training string. (Classification rather than
  next-symbol prediction: `anbn` already covers prediction.) Features
  `inputs` (None, 2k) with opening brackets first, `label` (1 = balanced).

Example:
    >>> from rnnzoo.data import load_numpy
    >>> data = load_numpy("tomita", "train", config="t4", max_length=3)
    >>> tuple(data["inputs"].shape), int(data["label"].sum())   # 14 strings, 13 without 000
    ((14, 3, 2), 13)
"""

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, register_dataset, split_seed

TOMITA_CITATION = (
    "M. Tomita. Dynamic construction of finite-state automata from examples using "
    "hill-climbing. Proc. 4th Annual Conference of the Cognitive Science Society, 1982; "
    "C. L. Giles, C. B. Miller, D. Chen, H. H. Chen, G. Z. Sun and Y. C. Lee. Learning and "
    "extracting finite state automata with second-order recurrent neural networks. "
    "Neural Computation 4(3):393-405, 1992."
)
GERS_CITATION = (
    "F. A. Gers and J. Schmidhuber. LSTM recurrent networks learn simple context-free and "
    "context-sensitive languages. IEEE Transactions on Neural Networks 12(6):1333-1340, 2001."
)
DYCK_CITATION = (
    "N. Chomsky and M. P. Schutzenberger. The algebraic theory of context-free languages, "
    "1963 (Dyck languages); M. Suzgun, Y. Belinkov, S. Shieber and S. Gehrmann. LSTM "
    "networks can perform dynamic counting. ACL Workshop on Deep Learning and Formal "
    "Languages, 2019."
)

# Tomita strings longer than this would make an exhaustive train split of millions.
MAX_TOMITA_TRAIN_LENGTH = 20


def _check_at_least(owner, argument, value, minimum, what):
    value = check_positive(owner, argument, value) if minimum > 0 else value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected an "
            f"integer >= {minimum} ({what}), got {value!r}."
        )
    return int(value)


def _one_hot(tokens, depth):
    out = np.zeros((len(tokens), depth), np.float32)
    out[np.arange(len(tokens)), tokens] = 1.0
    return out


# --------------------------------------------------------------------------- automata

class DFA:
    """A deterministic finite automaton over the symbols 0 ... k-1, start state 0.

    Args:
        transitions: (states, symbols) int array, the next state.
        accepting: (states,) bool array.
    """

    def __init__(self, transitions, accepting):
        self.transitions = np.asarray(transitions, dtype=np.int64)
        self.accepting = np.asarray(accepting, dtype=bool)

    def run(self, strings):
        """Final states of a batch of equal-length strings, shape (N, L) -> (N,)."""
        strings = np.asarray(strings, dtype=np.int64)
        state = np.zeros(strings.shape[0], dtype=np.int64)
        for column in strings.T:
            state = self.transitions[state, column]
        return state

    def accepts(self, string):
        return bool(self.accepting[self.run(np.asarray(string)[None])[0]])

    def completions(self, length, accept):
        """`table[r][s]`: strings of length r leading state s to (non-)acceptance.

        Exact Python integers, so any length is counted without overflow.
        """
        table = [[int(a == accept) for a in self.accepting]]
        for _ in range(length):
            last = table[-1]
            table.append([sum(last[t] for t in row) for row in self.transitions.tolist()])
        return table

    def sample(self, rng, length, table):
        """A string of `length` drawn uniformly from those `table` counts."""
        state, out = 0, []
        for remaining in range(length, 0, -1):
            weights = [table[remaining - 1][t] for t in self.transitions[state].tolist()]
            total = sum(weights)
            pick, acc, u = None, 0.0, rng.random()
            for symbol, weight in enumerate(weights):
                if weight:  # big ints: divide first; rounding falls back to the last
                    pick, acc = symbol, acc + weight / total
                    if u < acc:
                        break
            out.append(pick)
            state = int(self.transitions[state, pick])
        return tuple(out)

    def all_strings(self, length, table):
        """Every string of `length` that `table` counts, in lexicographic order."""
        found, stack = [], [(0, ())]
        while stack:
            state, prefix = stack.pop()
            remaining = length - len(prefix)
            if remaining == 0:
                found.append(prefix)
                continue
            for symbol in reversed(range(self.transitions.shape[1])):
                nxt = int(self.transitions[state, symbol])
                if table[remaining - 1][nxt]:
                    stack.append((nxt, prefix + (symbol,)))
        return found


def _tomita_dfas():
    return {
        # T1: 1*. States: 0 only ones so far, 1 dead.
        "t1": DFA([[1, 0], [1, 1]], [True, False]),
        # T2: (10)*. 0 expects 1, 1 expects 0, 2 dead.
        "t2": DFA([[2, 1], [0, 2], [2, 2]], [True, False, False]),
        # T3: no odd run of 1s later followed by an odd run of 0s.
        # 0: not armed, in 0s; 1: odd run of 1s; 2: even run of 1s;
        # 3: armed (an odd 1-run ended), not inside an odd 0-run;
        # 4: armed, inside an odd 0-run (rejects if the string ends); 5: dead.
        "t3": DFA([[0, 1], [4, 2], [0, 1], [4, 3], [3, 5], [5, 5]],
                  [True, True, True, True, False, False]),
        # T4: no 000. State = trailing zeros (0-2), 3 dead.
        "t4": DFA([[1, 0], [2, 0], [3, 0], [3, 3]], [True, True, True, False]),
        # T5: even number of 0s and of 1s. State = 2 * (#0 mod 2) + (#1 mod 2).
        "t5": DFA([[2, 1], [3, 0], [0, 3], [1, 2]], [True, False, False, False]),
        # T6: (#0 - #1) mod 3 == 0. State = the difference mod 3.
        "t6": DFA([[1, 2], [2, 0], [0, 1]], [True, False, False]),
        # T7: 0*1*0*1*. State = the block being read, 4 dead.
        "t7": DFA([[0, 1], [2, 1], [2, 3], [4, 3], [4, 4]], [True, True, True, True, False]),
    }


TOMITA_DFAS = _tomita_dfas()
TOMITA_GRAMMARS = {
    "t1": "1*", "t2": "(10)*", "t3": "no odd run of 1s later followed by an odd run of 0s",
    "t4": "no 000", "t5": "even numbers of 0s and of 1s", "t6": "(#0 - #1) mod 3 == 0",
    "t7": "0*1*0*1*",
}


def tomita_accepts(grammar, string):
    """Whether Tomita grammar `grammar` ("t1" ... "t7") accepts a 0/1 sequence."""
    if grammar not in TOMITA_DFAS:
        raise ValueError(f"Unknown Tomita grammar {grammar!r}; expected one of "
                         f"{list(TOMITA_DFAS)}.")
    return TOMITA_DFAS[grammar].accepts(string)


def _tomita_check(params):
    owner = "dataset 'tomita'"
    if params["grammar"] not in TOMITA_DFAS:
        raise ValueError(f"Received an invalid value for `grammar` of {owner}, expected one "
                         f"of {list(TOMITA_DFAS)}, got {params['grammar']!r}.")
    high = check_positive(owner, "max_length", params["max_length"])
    if high > MAX_TOMITA_TRAIN_LENGTH:
        raise ValueError(
            f"Received an invalid value for `max_length` of {owner}, expected at most "
            f"{MAX_TOMITA_TRAIN_LENGTH} (the train split holds all 2^(L+1) - 2 strings), "
            f"got {high!r}.")
    _check_at_least(owner, "test_max_length", params["test_max_length"], high + 1,
                    "longer than max_length")
    check_positive(owner, "test_per_class", params["test_per_class"])


def _tomita_features(params):
    _tomita_check(params)
    return {"inputs": ((None, 2), "float32"), "label": ((), "int32")}


def _tomita_test_plan(params):
    """[(length, label, available)] for the test split."""
    dfa = TOMITA_DFAS[params["grammar"]]
    plan = []
    for accept in (True, False):
        table = dfa.completions(params["test_max_length"], accept)
        for n in range(params["max_length"] + 1, params["test_max_length"] + 1):
            plan.append((n, int(accept), table[n][0], table))
    return plan


def _tomita_splits(params):
    _tomita_check(params)
    k = params["test_per_class"]
    test = sum(min(k, available) for _, _, available, _ in _tomita_test_plan(params))
    return {"train": 2 ** (params["max_length"] + 1) - 2, "test": test}


def _tomita_generate(split, params, seed):
    _tomita_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    dfa = TOMITA_DFAS[params["grammar"]]
    if split == "train":
        # Every string of length 1..L in a seeded order. Global index g maps to
        # length n = floor(log2(g + 2)) and the number g - (2^n - 2) in binary.
        for g in rng.permutation(2 ** (params["max_length"] + 1) - 2).tolist():
            n = (g + 2).bit_length() - 1
            number = g - (2 ** n - 2)
            tokens = [(number >> (n - 1 - i)) & 1 for i in range(n)]
            yield {"inputs": _one_hot(tokens, 2),
                   "label": np.int32(dfa.accepts(tokens))}
        return
    if split != "test":
        raise ValueError(f"Unknown split {split!r} of dataset 'tomita'; expected one of "
                         "['train', 'test'].")
    examples = []
    for n, label, available, table in _tomita_test_plan(params):
        k = params["test_per_class"]
        if available <= k:
            strings = dfa.all_strings(n, table)
        else:
            chosen = set()
            while len(chosen) < k:
                chosen.add(dfa.sample(rng, n, table))
            strings = sorted(chosen)
        examples.extend((s, label) for s in strings)
    for index in rng.permutation(len(examples)).tolist():
        tokens, label = examples[index]
        yield {"inputs": _one_hot(list(tokens), 2), "label": np.int32(label)}


TOMITA = register_dataset(DatasetSpec(
    name="tomita",
    description="Tomita grammars 1-7: accept or reject binary strings (regular languages).",
    citation=TOMITA_CITATION,
    configs={g: {"grammar": g, "max_length": 10, "test_max_length": 20, "test_per_class": 50}
             for g in TOMITA_DFAS},
    splits=_tomita_splits,
    features=_tomita_features,
    generate=_tomita_generate,
    supervised_keys=("inputs", "label"),
))


# --------------------------------------------------------------------------- a^n b^n (c^n)

def counting_example(n, blocks):
    """S a^n b^n [c^n] as next-symbol prediction (Gers & Schmidhuber 2001).

    Args:
        n: int >= 0, the block length.
        blocks: 2 for a^n b^n, 3 for a^n b^n c^n.

    Returns:
        dict with `inputs` (1 + blocks * n, blocks + 1): one-hot over
        (S, a, b[, c]); and `targets` (same steps, blocks + 1): multi-hot over
        (a, b[, c], T), the symbols allowed next. After S: {a, T} (the empty
        string S T belongs to the language); inside the a's: {a, b}; inside a
        later block: its own symbol; after a block's n-th symbol: the next
        block's symbol, or T after the last block.
    """
    end = blocks  # index of T among the targets
    tokens = [0] + [symbol for symbol in range(1, blocks + 1) for _ in range(n)]
    targets = np.zeros((len(tokens), blocks + 1), np.float32)
    targets[0, [0, end]] = 1.0
    for block in range(blocks):
        for i in range(n):
            row = targets[1 + block * n + i]
            if block == 0:
                row[[0, 1]] = 1.0  # another a, or the first b
            elif i < n - 1:
                row[block] = 1.0
            else:
                row[block + 1] = 1.0  # the next block's symbol, or T
    return {"inputs": _one_hot(tokens, blocks + 1), "targets": targets}


def _counting_spec(name, blocks, description):
    owner = f"dataset {name!r}"

    def check(params):
        low = _check_at_least(owner, "min_n", params["min_n"], 0, "n = 0 is the string S T")
        high = _check_at_least(owner, "max_n", params["max_n"], max(low, 1), "min_n")
        _check_at_least(owner, "test_max_n", params["test_max_n"], high + 1,
                        "longer than max_n")

    def features(params):
        check(params)
        return {"inputs": ((None, blocks + 1), "float32"),
                "targets": ((None, blocks + 1), "float32")}

    def splits(params):
        check(params)
        return {"train": params["max_n"] - params["min_n"] + 1,
                "test": params["test_max_n"] - params["max_n"]}

    def generate(split, params, seed):
        check(params)
        if split == "train":
            # The training set is fixed by the protocol; the seed orders it.
            rng = np.random.default_rng(split_seed(seed, split))
            values = rng.permutation(np.arange(params["min_n"], params["max_n"] + 1))
        elif split == "test":
            values = np.arange(params["max_n"] + 1, params["test_max_n"] + 1)
        else:
            raise ValueError(f"Unknown split {split!r} of {owner}; expected one of "
                             "['train', 'test'].")
        for n in values.tolist():
            yield counting_example(n, blocks)

    return register_dataset(DatasetSpec(
        name=name, description=description, citation=GERS_CITATION,
        configs={"gers2001": {"min_n": 1, "max_n": 10, "test_max_n": 50}},
        splits=splits, features=features, generate=generate,
        supervised_keys=("inputs", "targets"),
    ))


ANBN = _counting_spec(
    "anbn", 2, "a^n b^n (context-free): predict the legal next symbols; train n<=10.")
ANBNCN = _counting_spec(
    "anbncn", 3, "a^n b^n c^n (context-sensitive): predict the legal next symbols; train n<=10.")


# --------------------------------------------------------------------------- Dyck

def is_balanced(tokens, num_types):
    """Whether a token sequence (opening i, closing num_types + i) is balanced."""
    stack = []
    for token in tokens:
        if token < num_types:
            stack.append(token)
        elif not stack or stack.pop() != token - num_types:
            return False
    return not stack


def _dyck_table(length, num_types, max_depth):
    """`ways[r][d]`: balanced completions of r symbols from depth d (exact ints)."""
    ways = [[1] + [0] * max_depth]
    for _ in range(length):
        last = ways[-1]
        ways.append([(num_types * last[d + 1] if d < max_depth else 0)
                     + (last[d - 1] if d > 0 else 0) for d in range(max_depth + 1)])
    return ways


def sample_dyck(rng, length, num_types, max_depth, ways):
    """A balanced string of `length`, uniform among those of depth <= max_depth."""
    stack, out = [], []
    for remaining in range(length, 0, -1):
        depth = len(stack)
        opens = num_types * ways[remaining - 1][depth + 1] if depth < max_depth else 0
        if rng.random() < opens / ways[remaining][depth]:
            kind = int(rng.integers(0, num_types))
            stack.append(kind)
            out.append(kind)
        else:
            out.append(num_types + stack.pop())
    return out


def corrupt_dyck(rng, tokens, num_types):
    """A hard negative: one bracket flipped or retyped, or two brackets swapped.

    The operation is drawn first (uniformly among those that exist for
    `num_types`), then positions until the string is unbalanced, so swaps and
    retypes, which keep the counts of openers and closers, are not crowded out
    by flips, which always change them. A flip or a retype always unbalances; a
    swap of the first bracket with a closer always does, so the loop ends.
    """
    operations = ["flip", "swap"] + (["retype"] if num_types > 1 else [])
    operation = operations[int(rng.integers(0, len(operations)))]
    while True:
        out = list(tokens)
        i = int(rng.integers(0, len(out)))
        kind, closing = out[i] % num_types, out[i] >= num_types
        if operation == "flip":
            out[i] = kind if closing else num_types + kind
        elif operation == "retype":
            other = (kind + int(rng.integers(1, num_types))) % num_types
            out[i] = other + (num_types if closing else 0)
        else:
            j = int(rng.integers(0, len(out)))
            out[i], out[j] = out[j], out[i]
        if not is_balanced(out, num_types):
            return out


def _dyck_check(params):
    owner = "dataset 'dyck'"
    check_positive(owner, "num_types", params["num_types"])
    check_positive(owner, "max_depth", params["max_depth"])
    low = check_positive(owner, "min_length", params["min_length"])
    high = _check_at_least(owner, "max_length", params["max_length"], low, "min_length")
    top = _check_at_least(owner, "test_max_length", params["test_max_length"], high + 2,
                          "longer than max_length")
    for argument, value in (("min_length", low), ("max_length", high),
                            ("test_max_length", top)):
        if value % 2:
            raise ValueError(f"Received an invalid value for `{argument}` of {owner}, "
                             f"expected an even length, got {value!r}.")
    for split in ("train", "validation", "test"):
        check_positive(owner, f"num_{split}", params[f"num_{split}"])


def _dyck_features(params):
    _dyck_check(params)
    return {"inputs": ((None, 2 * params["num_types"]), "float32"), "label": ((), "int32")}


def _dyck_splits(params):
    _dyck_check(params)
    return {split: params[f"num_{split}"] for split in ("train", "validation", "test")}


def _dyck_generate(split, params, seed):
    _dyck_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    k, depth = params["num_types"], params["max_depth"]
    if split == "test":
        lengths = np.arange(params["max_length"] + 2, params["test_max_length"] + 1, 2)
    else:
        lengths = np.arange(params["min_length"], params["max_length"] + 1, 2)
    ways = _dyck_table(int(lengths.max()), k, depth)
    count = params[f"num_{split}"]
    labels = rng.permutation(np.arange(count) % 2)
    for label in labels.tolist():
        length = int(lengths[rng.integers(0, len(lengths))])
        tokens = sample_dyck(rng, length, k, depth, ways)
        if not label:
            tokens = corrupt_dyck(rng, tokens, k)
        yield {"inputs": _one_hot(tokens, 2 * k), "label": np.int32(label)}


def _dyck_config(num_types):
    return {"num_types": num_types, "min_length": 2, "max_length": 20, "test_max_length": 40,
            "max_depth": 10, "num_train": 5000, "num_validation": 500, "num_test": 1000}


DYCK = register_dataset(DatasetSpec(
    name="dyck",
    description="Dyck languages: balanced vs unbalanced brackets (1 or 2 types, hard negatives).",
    citation=DYCK_CITATION,
    configs={"dyck1": _dyck_config(1), "dyck2": _dyck_config(2)},
    splits=_dyck_splits,
    features=_dyck_features,
    generate=_dyck_generate,
    supervised_keys=("inputs", "label"),
))
