"""The live page's computation: what a request may ask (`Ask`, checked by `parse`), the models the
lecturer started with (kept loaded), every head of a layer kept per sentence (an LRU), and each answer
built by the explore page's own builders (scenes.outputs.explore.view_of, heat_png, contrast_svg), so
the numbers are attncore's, formatted as the video formats them.

Nothing here reads a file a request names: a model is one of the names `offered` returns, looked up
in a dict; every other field is a number, a flag, a language of the catalogues or the sentence itself
(text, tokenized, never opened).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

import numpy as np

import attncore
from attncore import AttentionResult, InputError, MultiHeadResult, fmt, head_role, pct, resolve_focus, softmax
from attncore.generation import can_generate, grown_head
from attncore.pick import check_pair

from ..context import Ctx
from ..outputs.blocks import block_html, contrast_lines, intro_blocks, role_words
from ..outputs.explore import contrast_svg, heat_png, view_of
from ..resolve import with_contrast
from ..strings import CATALOGUES
from ..view import MAX_TOKENS, whole_video

TOY = "toy"
PACKAGED = ("minilm", "m3e-small", "smollm2-135m", "qwen2.5-coder-0.5b")  # offered when installed or fetched
MAX_CHARS = 300  # a sentence longer than this is refused before it is tokenized
TOP = 10  # the next tokens shown
MAX_TEMPERATURE = 5.0
LANGUAGES = tuple(k for k in CATALOGUES if k != "pseudo")
# a GGUF model's dequantized weights kept while the page runs (float32): all of Qwen2.5-0.5B's layers fit
# (about 1.4 GB), so a new sentence dequantizes nothing again; below that, a pass through more layers than
# fit would evict each layer before the next sentence needs it and dequantize everything every time
GGUF_KEPT = 2 * 2 ** 30


class LiveError(InputError):
    """A request the page cannot answer: its message is shown as it is, with `status` (4xx)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def offered(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The models a request may name: the toy numbers, each packaged model that is installed or
    fetched, and every model the lecturer named when starting the page (a packaged name, a folder or a
    GGUF file, shown by its file or folder name). Name shown -> what attncore.model.load_model takes.
    Raises InputError for a model the lecturer named that cannot be found."""
    from attncore.model import locate

    names = {TOY: TOY}
    for name in PACKAGED:
        try:
            locate(name)
        except InputError:
            continue
        names[name] = name
    for given in extra:
        if given in names:
            continue
        locate(given)  # refused at start, in one line, not on the first request
        shown = given if given in PACKAGED else Path(given).name or given
        names[shown] = given
    return names


@dataclass(frozen=True)
class Ask:
    """One request, checked: what the page shows."""

    model: str = TOY  # a name of `offered`
    sentence: str = attncore.DEFAULT_SENTENCE
    layer: int = 0
    head: int | None = None  # None: auto (attncore.pick), or 0 with one head
    focus: int | None = None  # None: attncore.default_focus
    language: str = "en"
    causal: bool = False  # the toy's
    positional: bool = False  # the toy's
    contrast: str | None = None  # the minimal pair's other sentence


def _whole(name: str, value: str | None, lowest: int = 0, auto: bool = False) -> int | None:
    if value is None or value == "" or (auto and value == "auto"):
        return None
    if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 6:
        raise LiveError(f"{name}: expected a whole number{' or auto' if auto else ''}, got {value[:40]!r}")
    number = int(value)
    if number < lowest:
        raise LiveError(f"{name}: {number} is out of range (counted from 0)")
    return number


def _flag(name: str, value: str | None) -> bool:
    if value in (None, "", "0", "false"):
        return False
    if value in ("1", "true", "on"):
        return True
    raise LiveError(f"{name}: expected 0 or 1, got {value[:40]!r}")


def _sentence(name: str, value: str | None, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise LiveError(f"{name}: is empty; type at least one word, e.g. “{attncore.DEFAULT_SENTENCE}”")
        return None
    if len(text) > MAX_CHARS:
        raise LiveError(f"{name}: {len(text)} characters; the page takes at most {MAX_CHARS}", 413)
    return text


def parse(query: Mapping[str, str], models: Mapping[str, str]) -> Ask:
    """The request's fields (a query string's) as an Ask. Raises LiveError, one line naming the field."""
    known = {"model", "sentence", "layer", "head", "focus", "lang", "causal", "positional", "contrast",
             "temperature", "top_k", "seed", "greedy", "output", "stages", "quality", "theme"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise LiveError(f"{unknown[0][:40]}: not a field the page knows; it knows {', '.join(sorted(known))}")
    model = query.get("model") or TOY
    if model not in models:
        raise LiveError(f"model: {model[:60]!r} is not one of this page's models ({', '.join(models)}); only the models "
                        "the lecturer started it with can be chosen", 404)
    language = query.get("lang") or "en"
    if language not in LANGUAGES:
        raise LiveError(f"lang: {language[:40]!r} is not a language of the page ({', '.join(LANGUAGES)})")
    causal, positional = _flag("causal", query.get("causal")), _flag("positional", query.get("positional"))
    if model != TOY and (causal or positional):
        raise LiveError(f"{'causal' if causal else 'positional'}: applies to the toy numbers; {model} has its own")
    return Ask(model=model, sentence=_sentence("sentence", query.get("sentence")), layer=_whole("layer", query.get("layer")) or 0,
               head=_whole("head", query.get("head"), auto=True), focus=_whole("focus", query.get("focus")),
               language=language, causal=causal, positional=positional,
               contrast=_sentence("contrast", query.get("contrast"), required=False))


class LRU:
    """A small least-recently-used map, safe to share between threads."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key not in self.items:
                return None
            self.items.move_to_end(key)
            return self.items[key]

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


class Service:
    """The models, kept loaded, and the answers. One computation at a time runs in it (the page's
    worker thread calls it); its caches are LRUs, so a flood of sentences evicts, never corrupts."""

    def __init__(self, models: Mapping[str, str]):
        self.models = dict(models)
        self.loaded: dict[str, object] = {}  # name -> attncore.model.Model, loaded on first use and kept
        self.layers = LRU(64)  # (model, sentence, layer, causal, positional) -> every head of the layer
        self.pictures = LRU(64)  # the same key -> each head's heat map (data URI)
        self.logits = LRU(32)  # (model, token ids) -> the LM head's logits over the vocabulary
        self.load_lock = threading.Lock()

    # ---- the numbers ---------------------------------------------------------------------------
    def model(self, name: str):
        from attncore.model import load_model

        with self.load_lock:
            if name not in self.loaded:
                m = self.loaded[name] = load_model(self.models[name])
                cache = getattr(m.weights, "cache", None)  # a GGUF file's dequantized tensors (attncore.gguf_file)
                if cache is not None:
                    cache.budget = max(cache.budget, GGUF_KEPT)
            return self.loaded[name]

    def n_layers(self, ask: Ask) -> int:
        return 1 if ask.model == TOY else self.model(ask.model).n_layers

    def computed(self, ask: Ask, sentence: str) -> AttentionResult | MultiHeadResult:
        """Every head of the asked layer on `sentence` (the toy: its one head), kept per sentence."""
        key = (ask.model, sentence, ask.layer, ask.causal, ask.positional)
        found = self.layers.get(key)
        if found is not None:
            return found
        try:
            if ask.model == TOY:
                result = attncore.run(sentence, causal=ask.causal, positional=ask.positional)
            else:
                from attncore.model import run_layer

                m = self.model(ask.model)
                if ask.layer >= m.n_layers:
                    raise LiveError(f"layer: {ask.layer} is out of range; {ask.model} has layers 0 to {m.n_layers - 1}")
                result = run_layer(sentence, model=m, layer=ask.layer)
        except LiveError:
            raise
        except InputError as e:
            raise LiveError(str(e)) from None
        n = result.heads[0].n_tokens if isinstance(result, MultiHeadResult) else result.n_tokens
        if n > MAX_TOKENS:
            raise LiveError(f"{'contrast' if sentence == ask.contrast else 'sentence'}: {n} tokens; the page, as the "
                            f"video, shows at most {MAX_TOKENS}", 413)
        if ask.layer and ask.model == TOY:
            raise LiveError("layer: the toy numbers have one layer (0)")
        return self.layers.put(key, result)

    def heat_maps(self, ask: Ask, heads: list[AttentionResult]) -> list[str]:
        key = (ask.model, ask.sentence, ask.layer, ask.causal, ask.positional)
        found = self.pictures.get(key)
        if found is None:
            shown = list(range(heads[0].n_tokens))
            found = self.pictures.put(key, [heat_png(h, shown) for h in heads])
        return found

    # ---- what the page shows -------------------------------------------------------------------
    def view(self, ask: Ask) -> dict:
        """Everything the page draws for `ask`: every head of the layer (heat map, name, role), the
        followed token's row, links and worked steps in the followed head, and with a contrast
        sentence both rows side by side, the token that moved most framed."""
        computed = self.computed(ask, ask.sentence)
        heads = list(computed.heads) if isinstance(computed, MultiHeadResult) else [computed]
        first = heads[0]
        if ask.focus is not None and ask.focus >= first.n_tokens:
            raise LiveError(f"focus: {ask.focus} is out of range; the sentence has tokens 0 to {first.n_tokens - 1}")
        focus = resolve_focus(first, ask.focus)
        if ask.head is not None and ask.head >= len(heads):
            raise LiveError(f"head: {ask.head} is out of range; there are heads 0 to {len(heads) - 1} (counted from 0)")
        other, head, chosen = None, ask.head if ask.head is not None else 0, ask.head is None
        if ask.contrast is not None:
            b = self.computed(ask, ask.contrast)
            try:
                check_pair(first.tokens, (b.heads[0] if isinstance(b, MultiHeadResult) else b).tokens, focus)  # as View.resolve
                other, head, _ = with_contrast(computed, b, focus, ask.head)
            except InputError as e:
                raise LiveError(str(e)) from None
        elif ask.head is None and len(heads) > 1:
            from attncore.pick import pick_focused

            pick = pick_focused({ask.layer: computed}, focus)
            head = pick.head if pick is not None else 0
        r = heads[head]
        several = isinstance(computed, MultiHeadResult)
        ctx = Ctx(r, focus, language=ask.language, heads=computed if several else None)
        s = ctx.s
        roles = [head_role(h) for h in heads]
        pictures = self.heat_maps(ask, heads)
        out = {
            "model": ask.model, "sentence": ask.sentence, "tokens": list(r.tokens), "focus": focus, "head": head,
            "auto": chosen, "layer": ask.layer, "layers": self.n_layers(ask), "causal": r.causal,
            "heads": [{"name": s("heads.name", head=h.head if h.head is not None else n), "png": pictures[n],
                       "role": role_words(ctx, roles[n]), "share": pct(roles[n].share)} for n, h in enumerate(heads)],
            "intro": "".join(block_html(b) for b in intro_blocks(ctx)[1:]),
            "sizes": s("handout.sizes", d_model=r.d_model, d_k=r.d_k, d_v=r.d_v, scale=fmt(r.scale)),
            "view": view_of(r, focus, ask.language, frozenset()),
            "decoder": can_generate(r),
            "stages": list(whole_video(computed, r, other is not None)),  # the whole video of this view, as View.resolve
            "contrast": None,
        }
        if other is not None:
            b = other.heads[head] if isinstance(other, MultiHeadResult) else other
            pair = replace(ctx, contrast=b)
            out["contrast"] = {"svg": contrast_svg(pair), "lines": "".join(block_html(x) for x in contrast_lines(pair)),
                               "tokens": list(b.tokens)}
        return out

    # ---- generating ----------------------------------------------------------------------------
    def _decoder(self, ask: Ask):
        if ask.model == TOY:
            raise LiveError("model: the toy numbers predict no next token; choose a decoder (smollm2-135m, "
                            "qwen2.5-coder-0.5b)")
        from attncore.architectures.base import Architecture

        m = self.model(ask.model)
        if not m.causal or type(m.kind).logits is Architecture.logits:
            raise LiveError(f"model: {ask.model} is an encoder; it predicts no next token")
        return m

    def next_logits(self, ask: Ask, sentence: str):
        """(the model, the sentence's ids, the LM head's logits after them), kept per sentence."""
        from attncore.model import encode, forward

        m = self._decoder(ask)
        try:
            _, ids = encode(m, sentence)
        except InputError as e:
            raise LiveError(str(e)) from None
        if len(ids) + 1 > min(m.max_tokens, MAX_TOKENS):
            raise LiveError(f"sentence: {len(ids)} tokens; generating adds one, and the page shows at most {MAX_TOKENS}",
                            413)
        key = (ask.model, tuple(int(i) for i in ids))
        logits = self.logits.get(key)
        if logits is None:
            xs, _ = forward(m, ids)
            logits = self.logits.put(key, m.kind.logits(m, xs[-1][-1:])[0].astype(np.float64))
        return m, ids, logits

    def predict(self, ask: Ask, temperature: float, top_k: int) -> dict:
        """The next token's distribution, reshaped: softmax(logits / temperature) over the `top_k` most
        likely tokens (0: the whole vocabulary), renormalized; its ten most likely tokens."""
        m, ids, logits = self.next_logits(ask, ask.sentence)
        p = reshaped(logits, temperature, top_k)
        best = [i for i in np.argsort(-p, kind="stable")[:TOP] if p[i] > 0]  # top-k below 10: k tokens
        return {"tokens": [shown_token(m, int(i)) for i in best], "ids": [int(i) for i in best],
                "p": [pct(float(p[i])) for i in best], "width": [round(float(p[i]), 4) for i in best],
                "vocabulary": int(logits.size), "considered": int(top_k or logits.size)}

    def generate(self, ask: Ask, temperature: float, top_k: int, seed: int | None) -> dict:
        """Append one token (the most likely with `seed` None, else drawn from the reshaped
        distribution by numpy's Generator seeded with (seed, the sentence's length)) and the new
        token's row in the followed head against the grown KV cache: the cached keys and its own."""
        m, ids, logits = self.next_logits(ask, ask.sentence)
        chosen = pick_token(reshaped(logits, temperature, top_k), seed, len(ids))
        view = self.view(ask)
        head = view["head"]
        r = self.computed(ask, ask.sentence)
        r = r.heads[head] if isinstance(r, MultiHeadResult) else r
        grown = grown_head(m, r, ids, chosen)
        S = len(ids)
        text = m.tokenizer.decode([int(i) for i in ids] + [chosen], skip_special_tokens=False)
        kv = r.layer is not None and m.n_layers * m.n_kv_heads * r.d_k * 2 * 2  # fp16 K and V, every layer
        token = shown_token(m, chosen)
        names = [*r.tokens, token]
        return {"token": token, "id": chosen, "sentence": text, "position": S, "rows": S + 1,
                "cache_bytes": int(kv) * (S + 1), "per_token": int(kv),
                "row": [[names[j], pct(float(grown.weights[S, j])), fmt(float(grown.scores[S, j])),
                         fmt(float(grown.scaled[S, j]))] for j in range(S + 1)],
                "title": html.escape(token)}


def shown_token(m, i: int) -> str:
    from attncore.model import shown_byte_piece

    piece = m.tokenizer.id_to_token(i) or ""
    return shown_byte_piece(piece) if m.byte_level else piece


def reshaped(logits: np.ndarray, temperature: float, top_k: int) -> np.ndarray:
    """softmax(logits / temperature), kept to the `top_k` largest (0: all) and renormalized. Ties at
    the k-th logit keep the earlier ids (a stable sort)."""
    if not (0 < temperature <= MAX_TEMPERATURE):
        raise LiveError(f"temperature: expected a number above 0 and at most {MAX_TEMPERATURE:g}")
    if top_k < 0:
        raise LiveError("top_k: expected 0 (every token) or more")
    scaled = logits / temperature
    if top_k and top_k < logits.size:
        allowed = np.zeros(logits.size, dtype=bool)
        allowed[np.argsort(-logits, kind="stable")[:top_k]] = True
        return softmax(scaled[None], allowed[None])[0]
    return softmax(scaled[None])[0]


def pick_token(p: np.ndarray, seed: int | None, position: int) -> int:
    """The greatest (seed None) or a token drawn from `p` with numpy's Generator seeded by
    (seed, position): the same seed and sentence draw the same token; numpy's global state untouched."""
    if seed is None:
        return int(np.argmax(p))
    rng = np.random.default_rng([seed, position])
    return int(rng.choice(p.size, p=p / p.sum()))


def number(query: Mapping[str, str], name: str, default: float, kind=float):
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        got = kind(value)
    except ValueError:
        raise LiveError(f"{name}: expected a number, got {value[:40]!r}") from None
    if isinstance(got, float) and not np.isfinite(got):
        raise LiveError(f"{name}: expected a finite number")
    return got
