"""Options resolved into one View: render.py's (`resolve_view`), a course lecture's (`lecture_view`),
and the Python API's --contrast (`with_contrast`). What the options ask for is computed here (the
toy numbers or a model's layer), the head chosen (--head auto, --contrast: attncore.pick), and
View.resolve checks everything else once. Importing this module does not import manim."""

from __future__ import annotations

import click

import attncore
from attncore import InputError, MultiHeadResult, resolve_focus

from . import STAGE_NAMES
from .view import View

ALL_WITH_ANALOGY = "all-with-analogy"  # --stage: the whole video (which opens with the library analogy): kept as a synonym
AUTO = "auto"  # --head auto: attncore.pick chooses the head


def compute(sentence, d_model, d_k, seed, positional, causal, weights, model=None, layer=None, head=None,
            heads=None) -> attncore.AttentionResult | attncore.MultiHeadResult:
    """The numbers to explain: one head (AttentionResult), or with a model or `heads` every head of
    the layer (MultiHeadResult), the video following head `head` (default 0)."""
    if model is None:
        for name, given in (("layer", layer), ("head", head if heads is None else None)):
            if given is not None:
                raise InputError(f"{name}: goes with --model" + (" or --heads N" if name == "head" else ""))
    elif heads is None:
        from attncore.model import load_model

        heads = load_model(model).n_heads  # every head of the layer, for the heads stage
    numbers = attncore.load(weights) if weights is not None else None
    if numbers is not None and numbers.tokens is not None and sentence == attncore.DEFAULT_SENTENCE:
        sentence = None  # no --sentence given: the file's tokens
    return attncore.run(sentence, d_model=d_model, d_k=d_k, seed=seed, positional=positional, causal=causal,
                        weights=numbers, model=model, layer=layer or 0, heads=heads)  # View.resolve checks `head`


def choose_head(sentence, d_model, d_k, seed, positional, causal, weights, model, layer, head, heads, focus, contrast):
    """(the numbers to explain, the head followed, the --contrast sentence's numbers, why the head was
    chosen): compute's; or, with --head auto (the default with --model and neither --layer nor --head)
    or --contrast, attncore.pick's search over every head of every layer (of --layer alone when given)."""
    if head != AUTO and contrast is None and (model is None or layer is not None or head is not None):
        return compute(sentence, d_model, d_k, seed, positional, causal, weights, model, layer, head, heads), head or 0, \
            None, None
    if model is None and heads is None:
        raise InputError("contrast: goes with --model or --heads N (it compares the heads of a layer)" if contrast is not None
                         else "head: auto goes with --model or --heads N (it searches the heads of a layer)")
    from attncore.pick import choose, contrast_is_blind

    def layer_of(text, at):
        return compute(text, d_model, d_k, seed, positional, causal, weights, model, at, None, heads)

    choice = choose(layer_of, sentence, model=model, layer=layer, head=head, focus=focus, contrast=contrast)
    r, pick = choice.computed.heads[choice.head], choice.pick
    if contrast is not None and r.causal:  # said in the video too (the contrast stage)
        blind = " (every changed token comes after it: the two rows are the same)" \
            if contrast_is_blind(r, pick.focus, pick.changed) else ""
        click.echo(f"warning: causal attention: {r.tokens[pick.focus]!r} sees only itself and the tokens before it, so a "
                   f"word changed after it cannot move its row{blind}", err=True)
    return choice.computed, choice.head, choice.contrast, pick


def resolve_view(sentence=attncore.DEFAULT_SENTENCE, *, focus=None, keep=(), quality="low", stages=None, d_model=None,
                 d_k=None, seed=0, positional=False, causal=False, weights=None, language="en", model=None, layer=None,
                 head=None, heads=None, hide_special=False, contrast=None, theme="dark") -> View:
    """The View render.py's options resolve to (`stages`: video_stages's), as a course's lecture does too.
    Raises InputError, one line, for what cannot be honoured."""
    computed, head, other, pick = choose_head(sentence, d_model, d_k, seed, positional, causal, weights, model, layer,
                                              head, heads, focus, contrast)
    return View.resolve(computed, focus=focus, language=language, head=head or 0, hide_special=hide_special,
                        stages=stages, quality=quality, keep=keep, contrast=other, pick=pick, theme=theme)


def lecture_view(language: str, *, stages=(), **options) -> View:
    """A course's lecture in `language` (scenes.course): its View, as render.py would resolve these options."""
    return resolve_view(language=language, stages=video_stages(tuple(stages), False), **options)


def video_stages(stages: tuple[str, ...], overview: bool) -> tuple[str, ...] | None:
    """--stage's choice in video order; None for the whole video, which View.resolve makes of what is
    computed (several heads, a --contrast, RoPE, a decoder's next token); --overview is the heads stage."""
    if overview:
        return ("heads",)
    if ALL_WITH_ANALOGY in stages:  # the whole video, as before the analogy opened it by default
        return None
    return tuple(s for s in STAGE_NAMES if s in stages) or None


def with_contrast(computed, contrast, focus, head: int | None):
    """(the contrast sentence's computation, the head followed, why): as render.py's --contrast.
    `contrast` is a sentence, computed as `computed` was (attncore.alike.run_alike), or its result
    already computed alike. With every head of a layer, the head followed is the one whose focus row
    moves most between the two (attncore.pick.pick_contrast), or `head` itself when given, measured."""
    if contrast is None:
        return None, head or 0, None
    if isinstance(contrast, str):
        from attncore.alike import run_alike

        contrast = run_alike(computed, contrast)
    if not (isinstance(computed, MultiHeadResult) and isinstance(contrast, MultiHeadResult)):
        return contrast, head or 0, None  # one head: nothing to choose (View.resolve checks the pair)
    from attncore.pick import pick_contrast

    if head is not None:
        computed.check_head(head)
    layer = computed.heads[0].layer or 0
    pick = pick_contrast({layer: computed}, {layer: contrast}, resolve_focus(computed.heads[0], focus),
                         only=None if head is None else [(layer, head)])
    return contrast, pick.head, pick

