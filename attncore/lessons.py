"""What the video teaches around the computation, computed here so that the scenes only read it.

- `top_keys`, `all_positive`: the toy's limit. With every embedding and weight positive, every score
  grows with the size of the key's vector, so one token (the largest) wins every row and Z's rows
  look alike.
- `shuffled`: word order. The same tokens in another order, attention run again on the same
  vectors and weights: without positional encoding (or a causal mask) the weights come out the same,
  only reordered; self-attention alone does not see order. `positioned`: the same two orders again
  with sinusoidal positional encoding added, whose rows are other numbers (`same_numbers` says when
  two rows hold the same numbers, as shown).
- `residual`: what a layer does with Z. The heads' outputs, joined and multiplied by W_O (+ b_O),
  are added to the vector that entered the layer: x + concat(z) W_O, the residual; layer norms and
  a feed-forward step follow, and the result enters the next layer. The toy's single head has W_O
  the identity (`params.single_head_output`): x + z·W_O = x + z.
- `masked_cells`: how many keys causal attention hides from a query (the tokens after it).
- `hand_written`, `trained`: the toy's weights are not learned (the seed's were written by hand), so its
  row says nothing about language; a trained head's row for the same idea (a pronoun finding its noun:
  the README's flagship in English, m3e-small's 它 -> 猫 in Chinese), with how special its choice is
  (`roles.focus_look`), or None when that model is not installed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .attention import AttentionResult, self_attention
from .errors import InputError
from .multihead import MultiHeadResult
from .params import SEED_D_K, SEED_D_MODEL, default_weights, positional_encoding, single_head_output
from .roles import FocusLook, focus_look
from .steps import allowed, strongest


def top_keys(r: AttentionResult) -> tuple[int, ...]:
    """Each query row's strongest key (`steps.strongest`), row by row."""
    return tuple(strongest(r, i) for i in range(r.n_tokens))


def shared_top(r: AttentionResult) -> int | None:
    """The key every row attends to most, when one does; None when the rows differ."""
    tops = set(top_keys(r))
    return tops.pop() if len(tops) == 1 else None


def all_positive(r: AttentionResult) -> bool:
    """True when X, W_Q and W_K (and their biases) hold only positive numbers: then every score
    q . k is larger for a larger key vector, whatever the query."""
    parts = [r.X, r.W_Q, r.W_K, *(b for b in (r.b_Q, r.b_K) if b is not None)]
    return all(bool((p > 0).all()) for p in parts)


def masked_cells(r: AttentionResult, i: int) -> int:
    """How many keys query token i may not attend to: the tokens after it under causal attention, 0
    otherwise."""
    return int((~allowed(r, i)).sum())


@dataclass(frozen=True)
class Shuffled:
    """Attention over the same tokens in another order (`order[k]`: the token now at position k)."""

    order: tuple[int, ...]
    result: AttentionResult  # the shuffled sentence's attention
    focus: int  # where the followed token now stands

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.result.tokens

    @property
    def row(self) -> np.ndarray:
        """(S,) the followed token's weights in the shuffled sentence, in the shuffled order."""
        return self.result.weights[self.focus]


def shuffle_order(tokens) -> tuple[int, ...] | None:
    """An order that changes the sentence: reversed, else the first token moved to the end; None
    when no such order changes it (one token, or the same token repeated)."""
    S = len(tokens)
    for order in (tuple(range(S - 1, -1, -1)), (*range(1, S), 0)):
        if [tokens[k] for k in order] != list(tokens):
            return order
    return None


def reordered(r: AttentionResult, order, positional: bool) -> AttentionResult:
    """The toy sentence's tokens in `order` (`order[k]`: the token now at position k) run again: the
    same token vectors (the embeddings, in the new order), the same W_Q, W_K, W_V and biases,
    sinusoidal positional encoding for the new positions when `positional`, the causal mask when `r`
    is causal."""
    E = r.embeddings[list(order)]  # (S, d_model): row k is the vector of the token now at position k
    pe = positional_encoding(r.n_tokens, r.d_model) if positional else None
    X = E if pe is None else E + pe
    return self_attention(X, r.W_Q, r.W_K, r.W_V, b_Q=r.b_Q, b_K=r.b_K, b_V=r.b_V, causal=r.causal,
                          tokens=[r.tokens[k] for k in order], embeddings=E, positional_encoding=pe)


def shuffled(r: AttentionResult, focus: int) -> Shuffled | None:
    """The toy sentence shuffled (`shuffle_order`) and run again (`reordered`), with positional
    encoding when `r` has it. None for a model's head (its X already holds positions and context) or
    when no order changes the sentence."""
    if r.model is not None:
        return None
    order = shuffle_order(r.tokens)
    if order is None:
        return None
    return Shuffled(order=order, result=reordered(r, order, r.positional), focus=order.index(focus))


@dataclass(frozen=True)
class Positioned:
    """The toy sentence and its shuffled order, both run again with positional encoding added."""

    sentence: Shuffled  # the sentence's own order (what attncore.run(..., positional=True) gives)
    shuffled: Shuffled  # the order `shuffled` uses


def positioned(r: AttentionResult, focus: int) -> Positioned | None:
    """What positional encoding changes in the word-order lesson: the sentence and its shuffled order
    (`shuffle_order`) run again with sinusoidal positional encoding for their positions (`reordered`),
    followed from `focus`. None for a model's head, a result that already has positional encoding
    (its `shuffled` is that), or when no order changes the sentence."""
    if r.model is not None or r.positional:
        return None
    order = shuffle_order(r.tokens)
    if order is None:
        return None
    same = tuple(range(r.n_tokens))
    return Positioned(sentence=Shuffled(order=same, result=reordered(r, same, True), focus=focus),
                      shuffled=Shuffled(order=order, result=reordered(r, order, True), focus=order.index(focus)))


def same_numbers(a, b, show) -> bool:
    """True when rows `a` and `b` hold the same numbers as `show` writes them, in any order (one row
    the other reordered, to the digits shown)."""
    return sorted(map(show, a)) == sorted(map(show, b))


@dataclass(frozen=True)
class Residual:
    """One token's vectors around a layer's attention (d_model each)."""

    x: np.ndarray  # what entered the layer (a pre-norm model's residual stream, before its layer norm)
    attended: np.ndarray  # concat_h(z_h) W_O (+ b_O): what attention adds
    total: np.ndarray  # x + attended: the residual sum (then layer norm / feed-forward, the next layer)


def layer_stream(heads: MultiHeadResult) -> np.ndarray | None:
    """(S, d_model): the vectors entering the heads' layer, to which the residual adds. The heads' own
    X for the toy numbers and a post-norm model (BERT); for a pre-norm model (GPT-2) the layer's input
    before its first layer norm, from the model's forward pass again. None when that model is not
    found again (`attncore.model.loaded`) or does not give the heads' X back."""
    first = heads.heads[0]
    if not first.norm_first:
        return np.array(first.X)
    from . import model as M

    m = M.loaded(first)
    if m is None or first.sentence is None:
        return None
    _, ids = M.encode(m, first.sentence)
    xs, _ = M.forward(m, ids, upto=first.layer)
    x = xs[first.layer]
    if x.shape != first.X.shape or not np.allclose(M.attention_input(m, first.layer, x), first.X, rtol=1e-9, atol=1e-12):
        return None
    return x


def residual(heads: MultiHeadResult | AttentionResult, i: int) -> Residual | None:
    """Token i's x, its attention output (`heads.output[i]`: every head's z joined, times W_O, + b_O)
    and their sum; None when the layer's input cannot be found again (`layer_stream`). For the toy's
    single head (an AttentionResult of toy numbers), a = z·W_O with W_O the identity
    (`params.single_head_output`); None for a model's single head (its W_O needs the layer's heads)."""
    if isinstance(heads, AttentionResult):
        if heads.model is not None:
            return None
        x, attended = np.array(heads.X[i]), heads.output[i] @ single_head_output(heads.d_v, heads.d_model)
        return Residual(x=x, attended=attended, total=x + attended)
    stream = layer_stream(heads)
    if stream is None:
        return None
    x, attended = stream[i], np.array(heads.output[i])
    return Residual(x=x, attended=attended, total=x + attended)


def hand_written(r: AttentionResult) -> bool:
    """True when `r` is the toy numbers with the seed's W_Q, W_K and W_V (shared/seeds/001: written by
    hand, 4 x 4); False for a model's head, other sizes or seeds (drawn at random) and custom weights."""
    if r.model is not None or (r.d_model, r.d_k) != (SEED_D_MODEL, SEED_D_K):
        return False
    seed = default_weights(SEED_D_MODEL, SEED_D_K)
    return all(np.array_equal(getattr(r, name), w) for name, w in seed.items())


@dataclass(frozen=True)
class Example:
    """A trained head where a pronoun finds its noun, and where that choice is the pronoun's own."""

    model: str  # a packaged model's short name (attncore.model.MODELS)
    sentence: str
    layer: int
    head: int
    focus: str  # the token followed


# One per language of the lectures (the README's and examples/course.toml's flagships); others take English's
EXAMPLES = {
    "en": Example("minilm", "The animal didn't cross the street because it was too tired", 3, 1, "it"),
    "zh": Example("m3e-small", "我有一只猫，它很可爱。", 0, 4, "它"),
}


def example_for(language: str) -> str:
    """The key of EXAMPLES a lecture in `language` shows."""
    return language if language in EXAMPLES else "en"


@dataclass(frozen=True)
class Trained:
    """A trained head's row (`Example`): its result, the focus token's index and how it looks (`look.key`,
    `look.share`, `look.others`: the other rows' mean on that key)."""

    example: Example
    result: AttentionResult
    focus: int
    look: FocusLook


_TRAINED: dict[str, Trained] = {}


def installed(key: str) -> bool:
    """Whether the model of EXAMPLES[key] is installed here (attncore.model.locate finds it)."""
    from .model import locate

    try:
        locate(EXAMPLES[key].model)
    except InputError:
        return False
    return True


def trained(key: str) -> Trained | None:
    """The trained head of EXAMPLES[key], computed once per process; None when its model is not
    installed (`installed`): the video then says so."""
    from .pipeline import run

    example = EXAMPLES[key]
    if not installed(key):
        return None
    if key not in _TRAINED:
        r = run(example.sentence, model=example.model, layer=example.layer, head=example.head)
        i = r.tokens.index(example.focus)
        _TRAINED[key] = Trained(example, r, i, focus_look(r, i))
    return _TRAINED[key]
