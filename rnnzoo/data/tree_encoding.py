"""Expression trees as data: grammars, values, text forms and batched encodings.

The representation shared by the "arithmetic_trees" and "boolean_trees" datasets
(`rnnzoo.data.trees`, which draws the random expressions): pure functions of a
given expression, in two encodings of the same expression:

- a **tree encoding** a Keras recursive layer can consume in one pass: the nodes in
  post-order (children before parents, so `left[i] < i` and `right[i] < i`), per
  node a token id, the indices of its left and right child (-1 for none), a node
  mask, padding to `max_nodes`, and the index of the root (the last real node).
  A recursive layer computes `h[i] = f(token[i], h[left[i]], h[right[i]])` for
  i = 0, 1, ... with a zero state for index -1, and reads `h[root]`;
- a **flattened token sequence**, fully bracketed infix such as
  `( ( 2 * 3 ) + 4 )`, for sequence baselines (an LSTM reading the expression,
  as in Zaremba & Sutskever 2014).

Expressions are nested tuples `(operator, child, ...)` with leaves as Python
values, and have a bracketed prefix text form:

- arithmetic: leaves the integers 0-9, binary operators `+ - *`; the value is the
  exact integer value taken modulo `modulus` (10 by default, as in ListOps,
  Nangia & Bowman 2018), so it stays in 0..9 at any depth. Because + - * commute
  with taking residues, every node's value mod 10 is computed from its children's
  residues; e.g. `(+ (* 2 3) 4)` has value 10 mod 10 = 0.
- boolean: leaves True / False (written `T` / `F`), binary `and or xor`, unary
  `not`; the value is the truth value (0 or 1), e.g. `(and T (not F))` is 1.

Depth counts operator levels on the longest root-to-leaf path (a literal has depth
0, `(+ 2 3)` depth 1).

One vocabulary (`VOCABULARY`, padding id 0) serves both grammars and both
encodings.

References:
    Pollack, J. B. (1990). Recursive distributed representations. Artificial
    Intelligence 46(1-2), 77-105.
    Zaremba, W., Sutskever, I. (2014). Learning to execute. arXiv:1410.4615.
    Nangia, N., Bowman, S. R. (2018). ListOps: a diagnostic dataset for latent tree
    learning. NAACL Student Research Workshop.

This module uses only numpy and the standard library (no tensorflow / keras).

Example:
    >>> from rnnzoo.data import tree_encoding
    >>> tree = tree_encoding.parse_bracketed("(+ (* 2 3) 4)")
    >>> tree, tree_encoding.to_infix(tree), tree_encoding.evaluate(tree)
    (('+', ('*', 2, 3), 4), '((2 * 3) + 4)', 0)
    >>> enc = tree_encoding.encode_trees([tree], max_nodes=6)
    >>> [tree_encoding.VOCABULARY[i] for i in enc["tokens"][0]]
    ['2', '3', '*', '4', '+', '<pad>']
    >>> enc["left"][0].tolist(), enc["right"][0].tolist(), enc["root"].tolist()
    ([-1, -1, 0, -1, 2, -1], [-1, -1, 1, -1, 3, -1], [4])
    >>> tree_encoding.to_bracketed(tree_encoding.decode_tree(enc, 0))
    '(+ (* 2 3) 4)'
"""

import re

import numpy as np

from rnnzoo.data import catalog

__all__ = [
    "VOCABULARY", "PAD_ID", "ARITY", "GRAMMARS", "grammar_of", "depth", "num_nodes",
    "evaluate", "to_bracketed", "parse_bracketed", "to_infix", "flatten",
    "encode_trees", "decode_tree", "encode_sequences",
]

#: Token vocabulary shared by both grammars and both encodings; id 0 is padding.
VOCABULARY = ("<pad>", "(", ")") + tuple(str(d) for d in range(10)) + (
    "+", "-", "*", "T", "F", "not", "and", "or", "xor")
PAD_ID = 0
_IDS = {token: i for i, token in enumerate(VOCABULARY)}

#: Number of children of every operator.
ARITY = {"+": 2, "-": 2, "*": 2, "not": 1, "and": 2, "or": 2, "xor": 2}

#: The two grammars: their leaves and operators.
GRAMMARS = {
    "arithmetic": {"leaves": tuple(range(10)), "operators": ("+", "-", "*")},
    "boolean": {"leaves": (True, False), "operators": ("and", "or", "xor", "not")},
}
_PYTHON_OPERATOR = {"+": "+", "-": "-", "*": "*", "and": "and", "or": "or", "xor": "^"}
_TREE_EXPECTED = ("a leaf (an integer 0-9 or a bool) or a tuple (operator, child, ...) "
                  f"with an operator of {list(ARITY)} and its number of children, all "
                  "from one grammar")


def _invalid(owner, argument, expected, got):
    return ValueError(
        f"Received an invalid value for `{argument}` of {owner}, expected {expected}, "
        f"got {got}.")


def _leaf_grammar(node):
    if isinstance(node, (bool, np.bool_)):
        return "boolean"
    if isinstance(node, (int, np.integer)) and 0 <= node <= 9:
        return "arithmetic"
    return None


def _check_tree(tree, owner="grammar_of"):
    """Validates a nested-tuple expression; returns its grammar name."""
    found = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        kind = _leaf_grammar(node)
        if kind is None:
            if (not isinstance(node, tuple) or not node or not isinstance(node[0], str)
                    or node[0] not in ARITY
                    or len(node) != 1 + ARITY[node[0]]):
                raise _invalid(owner, "tree", _TREE_EXPECTED, f"{node!r} inside {tree!r}")
            kind = "boolean" if node[0] in GRAMMARS["boolean"]["operators"] else "arithmetic"
            stack.extend(node[1:])
        found.add(kind)
    if len(found) != 1:
        raise _invalid(owner, "tree", _TREE_EXPECTED, f"a mix of grammars in {tree!r}")
    return found.pop()


def grammar_of(tree):
    """The grammar of an expression, "arithmetic" or "boolean" (validating it).

    Args:
        tree: nested tuple `(operator, child, ...)` with Python leaves.

    Returns:
        "arithmetic" or "boolean".

    Raises:
        ValueError: for anything that is not a well-formed expression of one grammar.

    Example:
        >>> grammar_of(("not", True)), grammar_of(("-", 7, 2))
        ('boolean', 'arithmetic')
    """
    return _check_tree(tree)


def depth(tree):
    """Operator levels on the longest root-to-leaf path (a leaf has depth 0).

    Example:
        >>> depth(3), depth(("+", ("*", 2, 3), 4))
        (0, 2)
    """
    if not isinstance(tree, tuple):
        return 0
    return 1 + max(depth(child) for child in tree[1:])


def num_nodes(tree):
    """Number of nodes (operators and leaves).

    Example:
        >>> num_nodes(("+", ("*", 2, 3), 4))
        5
    """
    if not isinstance(tree, tuple):
        return 1
    return 1 + sum(num_nodes(child) for child in tree[1:])


def _apply(op, values, modulus):
    if op == "not":
        return not values[0]
    a, b = values
    if op == "and":
        return a and b
    if op == "or":
        return a or b
    if op == "xor":
        return a != b
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return value % modulus if modulus else value


def _values(tree, modulus, out):
    """Post-order values of every node appended to `out`; returns the root's."""
    if not isinstance(tree, tuple):
        value = bool(tree) if isinstance(tree, (bool, np.bool_)) else int(tree)
        value = value % modulus if modulus and not isinstance(value, bool) else value
    else:
        value = _apply(tree[0], [_values(child, modulus, out) for child in tree[1:]], modulus)
    out.append(value)
    return value


def _check_modulus(owner, modulus):
    if modulus is not None:
        catalog.check_positive(owner, "modulus", modulus)
    return modulus


def evaluate(tree, modulus=10):
    """The value of an expression.

    Args:
        tree: nested tuple expression.
        modulus: int or None (default 10). Arithmetic values are taken modulo it
            (Python's `%`, so in 0..modulus-1); None gives the exact integer.
            Ignored for boolean formulas.

    Returns:
        int for arithmetic, bool for boolean formulas.

    Raises:
        ValueError: for a malformed expression or a non-positive modulus.

    Example:
        >>> evaluate(("-", 2, ("*", 3, 4))), evaluate(("-", 2, ("*", 3, 4)), modulus=None)
        (0, -10)
        >>> evaluate(("xor", True, ("not", False)))
        False
    """
    _check_tree(tree, "evaluate")
    _check_modulus("evaluate", modulus)
    return _values(tree, modulus, [])


def _leaf_symbol(leaf):
    if isinstance(leaf, (bool, np.bool_)):
        return "T" if leaf else "F"
    return str(int(leaf))


def to_bracketed(tree):
    """The bracketed prefix text of an expression, e.g. "(+ (* 2 3) 4)".

    Raises:
        ValueError: for a malformed expression.

    Example:
        >>> to_bracketed(("and", True, ("not", False)))
        '(and T (not F))'
    """
    _check_tree(tree, "to_bracketed")
    return " ".join(_prefix(tree, brackets=True)).replace("( ", "(").replace(" )", ")")


def _prefix(tree, brackets):
    if not isinstance(tree, tuple):
        return [_leaf_symbol(tree)]
    out = ["("] if brackets else []
    out.append(tree[0])
    for child in tree[1:]:
        out.extend(_prefix(child, brackets))
    return out + [")"] if brackets else out


def _infix(tree):
    if not isinstance(tree, tuple):
        return [_leaf_symbol(tree)]
    if len(tree) == 2:
        return ["(", tree[0]] + _infix(tree[1]) + [")"]
    return ["("] + _infix(tree[1]) + [tree[0]] + _infix(tree[2]) + [")"]


_TOKEN_PATTERN = re.compile(r"\(|\)|[^\s()]+")


def parse_bracketed(text):
    """Parses bracketed prefix text such as "(+ (* 2 3) 4)" into a nested tuple.

    Leaves are the digits 0-9 (arithmetic) or T / F (boolean); every operator sits
    right after its opening bracket, followed by exactly its number of operands.

    Args:
        text: str.

    Returns:
        The nested tuple expression (inverse of `to_bracketed`).

    Raises:
        ValueError: naming the offending token and its position, for unbalanced
            brackets, unknown symbols, wrong operand counts or mixed grammars.

    Example:
        >>> parse_bracketed("(or F (xor T T))")
        ('or', False, ('xor', True, True))
    """
    if not isinstance(text, str):
        raise _invalid("parse_bracketed", "text", "a string", repr(text))
    tokens = _TOKEN_PATTERN.findall(text)
    position = 0

    def fail(reason):
        raise _invalid("parse_bracketed", "text",
                       "a bracketed prefix expression such as '(+ (* 2 3) 4)'",
                       f"{text!r} ({reason})")

    def parse():
        nonlocal position
        if position >= len(tokens):
            fail("it ends early")
        token = tokens[position]
        position += 1
        if token == "(":
            if position >= len(tokens) or tokens[position] not in ARITY:
                fail(f"token {position + 1} should be an operator of {list(ARITY)}")
            op = tokens[position]
            position += 1
            children = [parse() for _ in range(ARITY[op])]
            if position >= len(tokens):
                fail(f"it ends before a ')' closes {op!r}")
            if tokens[position] != ")":
                fail(f"token {position + 1} {tokens[position]!r} should close {op!r} after "
                     f"{ARITY[op]} operand(s)")
            position += 1
            return (op,) + tuple(children)
        if token in ("T", "F"):
            return token == "T"
        if len(token) == 1 and token.isdigit():
            return int(token)
        fail(f"token {position} {token!r} is not an operand: a digit, T, F or '('")

    tree = parse()
    if position != len(tokens):
        fail(f"unexpected token {position + 1} {tokens[position]!r} after the expression")
    _check_tree(tree, "parse_bracketed")
    return tree


def to_infix(tree):
    """A fully bracketed infix string that Python's `eval` evaluates.

    `xor` is written `^`; booleans as True / False. Python's value of the string
    is the exact value, so `eval(to_infix(t)) % 10 == evaluate(t)`.

    Example:
        >>> to_infix(("xor", ("not", True), False))
        '((not True) ^ False)'
        >>> eval(to_infix(("-", 2, ("*", 3, 4))))
        -10
    """
    _check_tree(tree, "to_infix")
    words = {"T": "True", "F": "False", **_PYTHON_OPERATOR}
    return (" ".join(words.get(t, t) for t in _infix(tree))
            .replace("( ", "(").replace(" )", ")"))


def flatten(tree, order="infix"):
    """The expression as a list of tokens for sequence models.

    Args:
        tree: nested tuple expression.
        order: "infix" (default; fully bracketed, `( ( 2 * 3 ) + 4 )`) or "prefix"
            (Polish notation without brackets, `+ * 2 3 4`).

    Returns:
        list of str, each in `VOCABULARY`.

    Raises:
        ValueError: for a malformed expression or an unknown order.

    Example:
        >>> " ".join(flatten(("+", ("*", 2, 3), 4)))
        '( ( 2 * 3 ) + 4 )'
        >>> " ".join(flatten(("+", ("*", 2, 3), 4), order="prefix"))
        '+ * 2 3 4'
    """
    _check_tree(tree, "flatten")
    if order == "infix":
        return _infix(tree)
    if order == "prefix":
        return _prefix(tree, brackets=False)
    raise ValueError(
        f"Received an invalid value for `order` of flatten, expected one of "
        f"['infix', 'prefix'], got {order!r}.")


def _tree_list(owner, trees):
    if isinstance(trees, (str, tuple)) or not hasattr(trees, "__iter__"):
        raise _invalid(owner, "trees", "a list of expressions (nested tuples or "
                       "bracketed strings)", repr(trees))
    out = [parse_bracketed(t) if isinstance(t, str) else t for t in trees]
    if not out:
        raise _invalid(owner, "trees", "at least one expression", "an empty list")
    for tree in out:
        _check_tree(tree, owner)
    return out


def _check_width(owner, argument, width, needed):
    if width is None:
        return needed
    width = catalog.check_positive(owner, argument, width)
    if width < needed:
        raise _invalid(owner, argument, f"at least {needed} (the longest expression)",
                       repr(width))
    return width


def _nodes(tree, out):
    """Appends (token id, left, right) per node in post-order; returns the root's index."""
    if not isinstance(tree, tuple):
        out.append((_IDS[_leaf_symbol(tree)], -1, -1))
    else:
        children = [_nodes(child, out) for child in tree[1:]]
        out.append((_IDS[tree[0]], children[0], children[1] if len(children) > 1 else -1))
    return len(out) - 1


def encode_trees(trees, max_nodes=None, modulus=10):
    """Encodes expressions as a padded batch of post-ordered nodes.

    Args:
        trees: list of nested tuples or bracketed strings.
        max_nodes: int or None (default: the largest tree's node count).
        modulus: int (default 10) for the arithmetic node values.

    Returns:
        dict of NumPy arrays, B = len(trees), M = max_nodes:
            "tokens": int32 (B, M), token id per node (`PAD_ID` on padding);
            "left", "right": int32 (B, M), child indices, -1 for none (and on
                padding); a unary operator's child is `left`;
            "node_mask": bool (B, M), True on real nodes (a prefix of each row);
            "node_values": int32 (B, M), each node's value (mod `modulus`, or
                0/1 for boolean), 0 on padding;
            "root": int32 (B,), index of the root (= num_nodes - 1);
            "num_nodes": int32 (B,).

    Raises:
        ValueError: for malformed expressions, or a `max_nodes` below the largest
            tree (nothing is truncated).

    Example:
        >>> enc = encode_trees(["(not T)", "F"])
        >>> enc["tokens"].shape, enc["node_mask"].tolist(), enc["root"].tolist()
        ((2, 2), [[True, True], [True, False]], [1, 0])
    """
    owner = "encode_trees"
    trees = _tree_list(owner, trees)
    _check_modulus(owner, modulus)
    if modulus is None:
        raise _invalid(owner, "modulus", "a positive integer", "None")
    rows = []
    for tree in trees:
        nodes, values = [], []
        _nodes(tree, nodes)
        _values(tree, modulus, values)
        rows.append((nodes, values))
    width = _check_width(owner, "max_nodes", max_nodes, max(len(n) for n, _ in rows))
    batch = len(trees)
    out = {
        "tokens": np.full((batch, width), PAD_ID, dtype=np.int32),
        "left": np.full((batch, width), -1, dtype=np.int32),
        "right": np.full((batch, width), -1, dtype=np.int32),
        "node_mask": np.zeros((batch, width), dtype=bool),
        "node_values": np.zeros((batch, width), dtype=np.int32),
        "root": np.zeros(batch, dtype=np.int32),
        "num_nodes": np.zeros(batch, dtype=np.int32),
    }
    for b, (nodes, values) in enumerate(rows):
        count = len(nodes)
        table = np.asarray(nodes, dtype=np.int32)
        out["tokens"][b, :count], out["left"][b, :count], out["right"][b, :count] = table.T
        out["node_mask"][b, :count] = True
        out["node_values"][b, :count] = np.asarray(values, dtype=np.int64)
        out["root"][b], out["num_nodes"][b] = count - 1, count
    return out


def decode_tree(encoding, index=None):
    """Rebuilds the nested tuple of one encoded tree (inverse of `encode_trees`).

    Args:
        encoding: dict with "tokens", "left", "right" and "root" (batched as from
            `encode_trees`, or one example's unbatched arrays).
        index: int, which tree of a batch (required when batched).

    Returns:
        The nested tuple expression.

    Raises:
        ValueError: if the encoding is malformed: a child index that is not below
            its parent's (not topological), a leaf with children, an operator
            with the wrong children, or a padding token inside the tree.

    Example:
        >>> decode_tree(encode_trees([("*", 6, 7)]), 0)
        ('*', 6, 7)
    """
    owner = "decode_tree"
    arrays = {k: np.asarray(encoding[k]) for k in ("tokens", "left", "right", "root")}
    if arrays["tokens"].ndim == 2:
        if index is None:
            raise _invalid(owner, "index", "an int for a batched encoding", "None")
        arrays = {k: v[index] for k, v in arrays.items()}
    tokens, left, right = arrays["tokens"], arrays["left"], arrays["right"]
    root = int(arrays["root"])
    if not 0 <= root < len(tokens):
        raise _invalid(owner, "encoding", f"a root index in [0, {len(tokens)})", root)

    def build(i):
        token = int(tokens[i])
        symbol = VOCABULARY[token] if 0 <= token < len(VOCABULARY) else None
        kids = [int(left[i]), int(right[i])]
        if symbol in ARITY:
            want, extra = kids[:ARITY[symbol]], kids[ARITY[symbol]:]
            if any(not 0 <= k < i for k in want) or any(k != -1 for k in extra):
                raise _invalid(owner, "encoding",
                               f"node {i} ({symbol!r}) to have {ARITY[symbol]} child index(es) "
                               "below its own", f"left={kids[0]}, right={kids[1]}")
            return (symbol,) + tuple(build(k) for k in want)
        if symbol is None or symbol in ("<pad>", "(", ")"):
            raise _invalid(owner, "encoding", "a leaf or operator token at every tree node",
                           f"token id {token} at node {i}")
        if kids != [-1, -1]:
            raise _invalid(owner, "encoding", f"leaf node {i} to have no children",
                           f"left={kids[0]}, right={kids[1]}")
        return symbol == "T" if symbol in ("T", "F") else int(symbol)

    tree = build(root)
    _check_tree(tree, owner)
    return tree


def encode_sequences(trees, max_length=None, order="infix"):
    """Encodes expressions as padded token-id sequences (see `flatten`).

    Args:
        trees: list of nested tuples or bracketed strings.
        max_length: int or None (default: the longest sequence).
        order: "infix" (default) or "prefix".

    Returns:
        `(ids, lengths)`: int32 (B, max_length) padded with `PAD_ID` at the end,
        and int32 (B,) the true lengths.

    Raises:
        ValueError: for malformed expressions, an unknown order or a
            `max_length` below the longest sequence.

    Example:
        >>> ids, lengths = encode_sequences([("+", 2, 3), 7])
        >>> [[VOCABULARY[i] for i in row] for row in ids], lengths.tolist()
        ([['(', '2', '+', '3', ')'], ['7', '<pad>', '<pad>', '<pad>', '<pad>']], [5, 1])
    """
    owner = "encode_sequences"
    sequences = [flatten(tree, order) for tree in _tree_list(owner, trees)]
    width = _check_width(owner, "max_length", max_length, max(len(s) for s in sequences))
    ids = np.full((len(sequences), width), PAD_ID, dtype=np.int32)
    for b, seq in enumerate(sequences):
        ids[b, :len(seq)] = [_IDS[token] for token in seq]
    return ids, np.asarray([len(s) for s in sequences], dtype=np.int32)
