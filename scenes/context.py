"""What a stage reads (`Ctx`: the numbers, the focus token, language, theme; frozen) and what it
leaves behind (`Log`: every number shown or spoken with its source, subtitle cues, slide breaks).

Every number a viewer reads anywhere, on screen or in the narration, is made by `Ctx.number` or
`Ctx.quote` with a `Source` that says which attncore value it is, so tests can check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from attncore import AttentionResult, MultiHeadResult, fmt, join_tokens, pct
from attncore.formatting import sig

from . import arithmetic
from .strings import catalogue, plural_form
from .theme import DEFAULT_THEME, Theme

FORMATS = {"fmt": fmt, "pct": pct, "int": lambda v: str(int(v)), "sig": sig}  # sig: RoPE's frequencies and angles


@dataclass(frozen=True)
class Source:
    """Where a number comes from: `field` of the AttentionResult at `index`, or, with `step` =
    (function, *args), of `attncore.steps.function(result, *args)` (`field` "" when that returns the
    array itself). `format` is how it is written: "fmt", "pct", "int", or "masked" (a hidden cell).
    `of` says whose field: None the followed head's result, an int h the multi-head result's head h,
    "heads" the multi-head result itself (concat, W_O, output), "contrast" the minimal pair's other sentence,
    "trained:KEY" the trained head of attncore.lessons.EXAMPLES[KEY] (the trained stage)."""

    field: str
    index: tuple[int, ...] = ()
    step: tuple = ()
    format: str = "fmt"
    of: int | str | None = None

    def at(self, *index: int) -> "Source":
        return Source(self.field, (*self.index, *index), self.step, self.format, self.of)


@dataclass(frozen=True)
class Shown:
    """One number put on screen or into the narration: its text and where it came from."""

    text: str
    source: Source
    stage: str


@dataclass(frozen=True)
class Num:
    """A number quoted in a caption or narration line (made by `Ctx.quote`)."""

    text: str
    source: Source

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Break:
    """A place a lecturer pauses (a slide ends): how many of manim's small videos had been written,
    the scene's clock, and how many cues had been said by then."""

    files: int
    clock: float
    cues: int
    pause: bool = True


@dataclass(frozen=True)
class Cue:
    """One beat's narration: a subtitle cue, a line of the script. `pause`: a lecturer stops here."""

    stage: str
    start: float
    end: float
    text: str
    numbers: tuple[Shown, ...]
    pause: bool
    caption: str = ""  # the caption this beat puts on screen, if it sets one
    spoken: str = ""  # what the voice says (scenes.spoken), only when the video speaks: numbers and symbols as words


@dataclass(frozen=True)
class Equation:
    """An equation a stage shows or says: `operation` ("sum", "product", "quotient", "difference") of `operands`, as
    shown, gives `result`, as shown; `sign` is the one its picture or line carries for it ("=", or "≈"
    when it, or another equation of its group, does not hold as shown: scenes.arithmetic)."""

    stage: str
    operation: str
    operands: tuple[str, ...]
    result: str
    sign: str
    group: int = 0  # the equations that share one sign (a picture's "≈" stands for all of them): the same group


@dataclass
class Log:
    """What the stages showed and said, in order."""

    shown: list[Shown] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    stage: str = ""  # the stage being played, recorded with each number
    equations: list[Equation] = field(default_factory=list)  # every equation shown or said, with its sign


@dataclass(frozen=True)
class Ctx:
    """The inputs of a stage. The `log` object is shared and filled as stages play."""

    result: AttentionResult
    focus: int
    language: str = "en"
    theme: Theme = DEFAULT_THEME
    log: Log = field(default_factory=Log)
    heads: MultiHeadResult | None = None  # every head, when `result` is one of several
    hidden: frozenset[int] = frozenset()  # token indices not drawn (a model's [CLS]/[SEP]); still computed
    keep: frozenset[int] = frozenset()  # token indices shown wherever tokens are elided (--keep), with the focus row's story
    contrast: AttentionResult | None = None  # the followed head in the contrast sentence (--contrast; View.contrast_result)
    pick: object = None  # why the followed head was chosen (attncore.pick.Pick), when a search chose it
    # whose numbers `result` holds when it is not the lecture's (Source.of): every number recorded is of it
    of: str | None = None

    # ---- words ----------------------------------------------------------------------------------
    def s(self, key: str, /, **params) -> str:
        """The catalogue string `key` in this language, filled with `params` (numbers, tokens,
        lists of numbers); a string with plural forms picks one by the parameter `n`."""
        return fill(catalogue(self.language), key, self.language, params)

    def token(self, i: int) -> str:
        return self.result.tokens[i]

    def sentence(self) -> str:
        """The text the tokens came from; joined from the tokens when it is not known."""
        return self.result.sentence if self.result.sentence is not None else join_tokens(self.result.tokens)

    def visible(self) -> list[int]:
        """The token indices drawn, in order."""
        return [i for i in range(self.result.n_tokens) if i not in self.hidden]

    # ---- equations ------------------------------------------------------------------------------
    def equations(self, *group: tuple[str, Sequence[str], str]) -> bool:
        """True when every equation of `group` ((operation, operands, result), as shown) holds as shown
        (scenes.arithmetic): the sign its picture or line then carries is "=", else "≈". Each is recorded
        in the log with that sign, for the tests to check with their own arithmetic."""
        holds = all([arithmetic.CHECKS[op](list(operands), result) for op, operands, result in group])
        number = len({e.group for e in self.log.equations})
        for op, operands, result in group:
            self.log.equations.append(Equation(self.log.stage, op, tuple(operands), result, arithmetic.sign(holds), number))
        return holds

    # ---- numbers --------------------------------------------------------------------------------
    def number(self, text: str, source: Source) -> str:
        """Record that `text` (attncore's value at `source`, formatted) is shown now."""
        self.log.shown.append(Shown(text, self.owned(source), self.log.stage))
        return text

    def quote(self, value: float, source: Source) -> Num:
        """A number for a caption or narration line, recorded when the line is used."""
        return Num(FORMATS[source.format](value), self.owned(source))

    def owned(self, source: Source) -> Source:
        """`source`, said to be of this context's result when it is not the lecture's (`of`)."""
        return source if self.of is None else replace(source, of=self.of)


def quoted_numbers(params: dict) -> list[Num]:
    out: list[Num] = []
    for v in params.values():
        if isinstance(v, Num):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out += [x for x in v if isinstance(x, Num)]
    return out


def _text(value) -> str:
    if isinstance(value, (list, tuple)):  # a vector: [0.60, 0.90, …, 0.30]
        return "[" + ", ".join("…" if x is None else str(x) for x in value) + "]"
    return str(value)


def fill(strings: dict, key: str, language: str, params: dict) -> str:
    template = strings[key]
    if isinstance(template, dict):
        template = template[plural_form(language, int(str(params["n"])))]
    return template.format(**{k: _text(v) for k, v in params.items()})


def step_source(step: str, field: str, *index: int, format: str = "fmt") -> Source:
    """A number of the record `attncore.steps.<step>(result)` returns (its `field` at `index`): e.g.
    "rope" (θ, positions, frequencies, Q and K before the turn) or "next_step" (the step of generation)."""
    return Source(field, tuple(index), (step,), format)


def vector_quote(ctx: Ctx, values, source: Source, slots: Sequence[int | None]) -> list[Num | None]:
    """The entries of a vector at `slots` (None for an elision) as quoted numbers."""
    return [None if j is None else ctx.quote(values[j], source.at(j)) for j in slots]
