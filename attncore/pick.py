"""Finding, for the user, a head that shows something: every head of every layer searched by a
stated rule, so that the video follows a head whose focus row says something about the sentence.

Two rules (render.py's --head auto and --contrast):

- focused (`pick_focused`): the head whose focus row puts the largest single weight on a content
  token: a token the focus may attend to that is not the focus itself, not a sink (a model's [CLS]
  or [SEP], or the first token: heads park the attention they do not use there), not punctuation,
  and at least two tokens away from the focus (a head that looks at its neighbour does so for any
  word; the neighbours count only when the sentence has no farther content token). Heads where that
  weight is the focus token's own come first: the other rows give the same token at most half as
  much on average (`attncore.roles.focus_look`, special); a head where every token looks at that
  token says nothing about the focus (MiniLM L5 H11 gives "animal" 64.7% from "it" and 39.5% from
  the other tokens on average). Only when no head is special does the largest weight alone decide.
- contrast (`pick_contrast`): a minimal pair, two sentences of as many tokens that differ in a word
  or two, the focus the same token at the same place in both. The head whose focus row moves most:
  the total variation distance of the two rows over the tokens the sentences share (same text, same
  place), ½ Σ_j |a_ij − b_ij|, the changed tokens left out.

Ties go to the lowest layer, then the lowest head; a layer's heads are compared in order. Under
causal attention a token's row sees only the tokens up to it: a word changed after the focus cannot
move its row (`contrast_is_blind`). When every change comes after the focus no head's row moves, so
the contrast rule has nothing to choose by: the search follows the head the focused rule chooses
(as --head auto) and measures only it (0%), rather than the first of the tied heads.

`every_layer` computes every layer of a pretrained model in one forward pass (each layer's heads as
`attncore.run(sentence, model=..., layer=L, heads=n)` gives them, bit for bit); `choose` is the
search render.py runs: the layers, the focus, the rule, the chosen layer's computation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .attention import AttentionResult
from .errors import InputError
from .focus import is_punctuation, resolve_focus, special_tokens
from .formatting import pct
from .multihead import MultiHeadResult
from .roles import focus_look
from .steps import allowed

FOCUSED, CONTRAST = "focused", "contrast"


@dataclass(frozen=True)
class Pick:
    """Which head a search chose and why. `share` is weights[focus, key] of the chosen head; with the
    contrast rule `after` is the same entry in the contrast sentence and `moved` the distance between
    the two rows."""

    rule: str  # FOCUSED or CONTRAST
    layer: int  # the chosen head's layer (0 for toy heads)
    head: int
    focus: int  # the focus token's index
    key: int  # focused: the content token the focus gives most; contrast: the shared token whose share moved most
    share: float
    searched: int  # how many heads were compared
    layers: tuple[int, ...]  # the layers searched
    after: float | None = None  # contrast: weights[focus, key] in the contrast sentence
    moved: float | None = None  # contrast: ½ Σ over the shared tokens |a − b|
    changed: tuple[int, ...] = ()  # contrast: the places whose token differs
    others: float | None = None  # focused: the other rows' mean weight on `key` (roles.focus_look)
    special: bool = True  # focused: the other rows give `key` at most half of `share` (roles.FocusLook.special)

    def describe(self, tokens: Sequence[str], other: Sequence[str] | None = None) -> str:
        """One line, e.g. "layer 3, head 1: chosen because “it” gives 64.0% to “animal” (of 72 heads)"."""
        where = f"layer {self.layer}, head {self.head}"
        i, k = tokens[self.focus], tokens[self.key]
        if self.rule == FOCUSED:
            others = "" if self.others is None else f", the other tokens {pct(self.others)} on average"
            return f"{where}: chosen because “{i}” gives {pct(self.share)} to “{k}”{others} (of {self.searched} heads)"
        was = " ".join(tokens[j] for j in self.changed)
        now = " ".join(other[j] for j in self.changed) if other is not None else "?"
        why = f"chosen because its “{i}” row moves most of {self.searched} heads" if self.searched > 1 else \
            f"its “{i}” row moves"
        return (f"{where}: {why} when “{was}” becomes “{now}”: by {pct(self.moved)}; “{k}” {pct(self.share)} → "
                f"{pct(self.after)}")


# ---------------------------------------------------------------------------------------------------
# The rules, on computed heads


def is_sink(result: AttentionResult, j: int) -> bool:
    """True for the first token and a model's [CLS]/[SEP]: where heads park the attention they do not use."""
    return j == 0 or j in special_tokens(result)


def content_keys(result: AttentionResult, focus: int) -> list[int]:
    """The tokens the focus may attend to that carry a word: not the focus, not a sink, not punctuation."""
    S = result.n_tokens
    may = allowed(result, focus)
    return [j for j in range(S) if j != focus and not is_sink(result, j) and not is_punctuation(result.tokens[j])
            and may[j]]


def candidate_keys(result: AttentionResult, focus: int) -> list[int]:
    """The content keys at least two tokens from the focus; all the content keys when none is that far."""
    keys = content_keys(result, focus)
    return [j for j in keys if abs(j - focus) >= 2] or keys


def concentration(result: AttentionResult, focus: int) -> tuple[int, float] | None:
    """(the candidate key the focus gives most, that weight); None when there is no candidate. Ties: the first."""
    keys = candidate_keys(result, focus)
    if not keys:
        return None
    row = result.weights[focus]
    best = max(keys, key=lambda j: (row[j], -j))
    return best, float(row[best])


def looks_elsewhere(layer: MultiHeadResult, followed: int, focus: int) -> int:
    """The head of `layer` that most clearly looks elsewhere than head `followed` (the heads stage names
    it beside the followed one): among the other heads whose focus row's largest weight falls on another
    token than the followed head's, the one whose largest weight is the largest, a head whose favourite
    is a content key (`content_keys`) first: a decoder's heads park most of the focus's attention on
    the first token, which says nothing about the sentence. Any other head when all agree."""
    favourite = lambda r: int(np.argmax(r.weights[focus]))  # the first on a tie, as steps.strongest
    others = [r for r in layer.heads if r.head != followed]
    apart = [r for r in others if favourite(r) != favourite(layer.heads[followed])]
    words = [r for r in apart if favourite(r) in content_keys(r, focus)]
    return max(words or apart or others, key=lambda r: r.weights[focus, favourite(r)]).head


def _heads(layers: Mapping[int, MultiHeadResult], only=None):
    """(layer, head, its result) in order: every head of `layers`, or the (layer, head) pairs `only`."""
    for layer in sorted(layers):
        for h, result in enumerate(layers[layer].heads):
            if only is None or (layer, h) in only:
                yield layer, h, result


def pick_focused(layers: Mapping[int, MultiHeadResult], focus: int) -> Pick | None:
    """The head (of `layers`: layer -> every head of it) whose focus row puts the largest weight on one
    candidate key, the heads where that weight is special to the focus row first (roles.focus_look);
    None when the focus has no candidate key. Ties: the lowest layer, then head."""
    best, searched = None, 0
    for layer, h, result in _heads(layers):
        searched += 1
        found = concentration(result, focus)
        if found is None:
            continue
        look = focus_look(result, focus, found[0])
        if best is None or (look.special, look.share) > (best[2].special, best[2].share):
            best = (layer, h, look)
    if best is None:
        return None
    layer, h, look = best
    return Pick(FOCUSED, layer, h, focus, look.key, look.share, searched, tuple(sorted(layers)), others=look.others,
                special=look.special)


def shared_places(a: Sequence[str], b: Sequence[str]) -> list[int]:
    """The places where two token sequences of one length hold the same token."""
    return [j for j, (x, y) in enumerate(zip(a, b)) if x == y]


def moved(a: AttentionResult, b: AttentionResult, focus: int) -> float:
    """How far the focus row moves from sentence a to sentence b: ½ Σ |a_ij − b_ij| over the shared tokens."""
    return 0.5 * float(sum(abs(a.weights[focus, j] - b.weights[focus, j]) for j in shared_places(a.tokens, b.tokens)))


def moved_most(a: AttentionResult, b: AttentionResult, focus: int) -> int:
    """The shared content token whose share changes most (any shared token when none is content). Ties: the first."""
    shared = shared_places(a.tokens, b.tokens)
    content = [j for j in content_keys(a, focus) if j in shared] or shared
    change = np.abs(a.weights[focus] - b.weights[focus])
    return max(content, key=lambda j: (change[j], -j))


def notable(a: AttentionResult, b: AttentionResult, focus: int, n: int = 3) -> list[int]:
    """The shared content tokens a picture of the pair keeps: the `n` largest shares in either row and
    the `n` largest changes, in sentence order."""
    shared = shared_places(a.tokens, b.tokens)
    content = [j for j in content_keys(a, focus) if j in shared]
    kept = set()
    for row in (a.weights[focus], b.weights[focus], np.abs(a.weights[focus] - b.weights[focus])):
        kept |= set(sorted(content, key=lambda j: (-row[j], j))[:n])
    return sorted(kept)


def check_pair(a: Sequence[str], b: Sequence[str], focus: int) -> tuple[int, ...]:
    """The places where the contrast tokens `b` differ from `a`; InputError, one line, unless they are
    a minimal pair: as many tokens, the focus the same token at the same place, something changed."""
    if len(a) != len(b):
        raise InputError(f"contrast: {len(b)} tokens ({' | '.join(b)}) against the sentence's {len(a)}; swap a word "
                         "for one of as many tokens, so that every other token keeps its place")
    if b[focus] != a[focus]:
        raise InputError(f"contrast: has no {a[focus]!r} at index {focus} (the focus); its tokens: {' | '.join(b)}")
    changed = tuple(j for j in range(len(a)) if a[j] != b[j])
    if not changed:
        raise InputError("contrast: splits into the same tokens as the sentence; change a word")
    return changed


def contrast_is_blind(result: AttentionResult, focus: int, changed: Sequence[int]) -> bool:
    """True under causal attention when every changed token comes after the focus: its row cannot move."""
    return result.causal and all(j > focus for j in changed)


def pick_contrast(layers: Mapping[int, MultiHeadResult], others: Mapping[int, MultiHeadResult], focus: int,
                  only: Sequence[tuple[int, int]] | None = None) -> Pick:
    """The head whose focus row moves most between the sentence (`layers`) and the contrast sentence
    (`others`, the same layers); among the (layer, head) pairs `only` when given. Ties: the lowest
    layer, then head."""
    first = next(iter(layers.values()))
    changed = check_pair(first.tokens, next(iter(others.values())).tokens, focus)
    best, searched = None, 0
    for layer, h, a in _heads(layers, only):
        searched += 1
        distance = moved(a, others[layer].heads[h], focus)
        if best is None or distance > best[2]:
            best = (layer, h, distance)
    layer, h, distance = best
    a, b = layers[layer].heads[h], others[layer].heads[h]
    key = moved_most(a, b, focus)
    return Pick(CONTRAST, layer, h, focus, key, float(a.weights[focus, key]), searched, tuple(sorted(layers)),
                after=float(b.weights[focus, key]), moved=distance, changed=changed)


# ---------------------------------------------------------------------------------------------------
# Every layer of a model, and the search render.py runs


def every_layer(sentence: str, *, model: str = "minilm", layers: Sequence[int] | None = None) -> dict[int, MultiHeadResult]:
    """Every head of each of `layers` (default all) of a pretrained model, from one forward pass: layer
    L's is what attncore.run(sentence, model=model, layer=L, heads=n) returns."""
    from .model import attention_input, check_position, encode, forward, layer_heads, load_model, recorded_of

    m = load_model(model)
    layers = list(range(m.n_layers) if layers is None else layers)
    for layer in layers:
        check_position(m, layer, 0)
    tokens, ids = encode(m, sentence)
    xs, _ = forward(m, ids, upto=max(layers))
    recorded = recorded_of(m, tokens, sentence)
    return {layer: layer_heads(m, layer, attention_input(m, layer, xs[layer]), **recorded) for layer in layers}


@dataclass(frozen=True)
class Choice:
    """What a search decided: the computation to explain (every head of the chosen layer), the head
    followed, the contrast sentence's computation of that layer, and why (None when nothing was chosen)."""

    computed: MultiHeadResult
    head: int
    contrast: MultiHeadResult | None
    pick: Pick | None
    seconds: float  # how long the search took


def choose(compute: Callable[[str, int | None], MultiHeadResult], sentence: str, *, model: str | None = None,
           layer: int | None = None, head: int | str | None = "auto", focus: str | int | None = None,
           contrast: str | None = None) -> Choice:
    """The search behind render.py's --head auto and --contrast. `compute(sentence, layer)` gives every
    head of a layer as the render computes it (attncore.run with the render's options). With a model
    every layer is searched (or `layer` alone), else the one layer of toy heads. `head`: "auto" to
    search; None for a model's default (a search, but layer 0 head 0 when the focus has no content
    token to attend to); a head number only with `contrast`: that head is measured, none is chosen."""
    started = time.perf_counter()
    given = isinstance(head, int) and not isinstance(head, bool)
    search_model = model is not None and not given
    if search_model:  # the render's own computation of layer 0 (cheap) checks its options first
        compute(sentence, 0)
    layers = (every_layer(sentence, model=model, layers=None if layer is None else [layer]) if search_model
              else {layer or 0: compute(sentence, layer)})
    first = layers[min(layers)]
    if given:
        first.check_head(head)
    i = resolve_focus(first.heads[0], focus)
    others = None
    if contrast is not None:
        if search_model:  # the pair checked before every layer of it is computed
            from .model import encode, load_model

            check_pair(first.tokens, encode(load_model(model), contrast)[0], i)
            others = every_layer(contrast, model=model, layers=sorted(layers))
        else:
            others = {layer or 0: compute(contrast, layer)}
        only = [(layer or 0, head)] if given else None
        blind = contrast_is_blind(first.heads[0], i, check_pair(first.tokens, others[min(others)].tokens, i))
        focused = pick_focused(layers, i) if blind and only is None else None
        if focused is not None:  # no row can move (every change after the focus, causal): --head auto's head, measured
            only = [(focused.layer, focused.head)]
        pick = pick_contrast(layers, others, i, only=only)
    else:
        pick = pick_focused(layers, i)
        if pick is None and head == "auto":
            specials = "".join(f"{t}, " for t in first.heads[0].specials)  # the model's own ([CLS], [SEP] for a BERT)
            raise InputError(f"head: auto found no word for {first.tokens[i]!r} to attend to besides itself, {specials}"
                             "the first token and punctuation; choose --layer and --head")
    chosen = pick.layer if pick is not None else layer or 0
    if chosen not in layers:  # nothing to choose from: the default, layer 0 head 0
        layers = {chosen: compute(sentence, chosen)}
    computed, other = layers[chosen], None if others is None else others[chosen]
    return Choice(computed, pick.head if pick is not None else 0, other, pick, time.perf_counter() - started)
