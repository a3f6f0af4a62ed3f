"""Never hide the story (issue 26): a long sentence is elided by weight, not by position. Every
picture of the focus row keeps the focus token, its three largest keys and every key with 3% or
more of its attention (attncore.tables.story_keys, planned by plan_by_weight), plus the tokens asked
for with --keep; each elided run ("…") says how many tokens it holds and their share.

The expectations here are explicit loops over the weights, never attncore's own planner."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from reference import rest_share_loops, worked

import attncore
import render
from attncore import pct, steps
from attncore.tables import elided_runs, plan_by_weight, story_keys

MODEL_SENTENCE = "The animal didn't cross the street because it was too tired"


def invoke(*args):
    return CliRunner().invoke(render.main, [str(a) for a in args])


# ---- explicit references ------------------------------------------------------------------------

def top_four(w, i: int, skip: set) -> set[int]:
    """The focus and its three largest visible keys (the lower index on a tie)."""
    return must_keep(w, i, skip, top_only=True)


def must_keep(w, i: int, skip: set, extra=(), top_only: bool = False) -> set[int]:
    """The focus, its three largest visible keys, every visible key of 3% or more, and `extra`: by
    explicit loops (the largest first, the lower index on a tie)."""
    visible = [j for j in range(len(w)) if j not in skip]
    ranked = []
    for j in visible:  # insertion sort, largest weight first
        k = 0
        while k < len(ranked) and (w[ranked[k]] > w[j] or (w[ranked[k]] == w[j] and ranked[k] < j)):
            k += 1
        ranked.insert(k, j)
    keep = {i, *ranked[:3], *extra}
    if top_only:
        return {i, *ranked[:3]}
    for j in visible:
        if w[j] >= 0.03:
            keep.add(j)
    return keep


def slots_needed(visible: list[int], chosen: set[int]) -> int:
    """Slots of a plan showing exactly `chosen` of `visible`: one each, and one per run left out."""
    count, gap = 0, False
    for j in visible:
        if j in chosen:
            count += 1 + gap
            gap = False
        else:
            gap = True
    return count + gap


def check_plan(plan, n: int, skip: set) -> tuple[list[int], list[list[int]]]:
    """A plan's shown indices and, for each None, the visible indices it stands for; asserting that
    it is well formed: in order, no hidden index, no two marks in a row, the runs and the shown
    indices together exactly the visible ones."""
    visible = [j for j in range(n) if j not in skip]
    shown = [j for j in plan if j is not None]
    assert shown == sorted(set(shown)) and not set(shown) & skip, plan
    assert all(not (a is None and b is None) for a, b in zip(plan, plan[1:])), plan
    runs, k = [], 0
    for s in plan:
        if s is None:
            run = []
            while k < len(visible) and visible[k] not in shown:
                run.append(visible[k])
                k += 1
            assert run, plan  # a mark stands for at least one token
            runs.append(run)
        else:
            assert visible[k] == s, plan
            k += 1
    assert k == len(visible), plan
    return shown, runs


def random_row(rng, n: int) -> np.ndarray:
    """A softmax row as peaked or as flat as a model's: scores of random spread, a few boosted."""
    x = rng.normal(0, rng.uniform(0.2, 3.0), n)
    x[rng.integers(0, n, rng.integers(0, 4))] += rng.uniform(0, 4)
    e = np.exp(x - x.max())
    return e / e.sum()


CASES = [(seed, n) for seed in range(6) for n in (5, 7, 9, 12, 13, 16, 17, 20, 25, 33, 40)]


@pytest.mark.parametrize("seed, n", CASES)
def test_the_plan_keeps_the_story_and_runs_hold_the_rest(seed, n):
    rng = np.random.default_rng(1000 * seed + n)
    for _ in range(12):
        W = np.stack([random_row(rng, n) for _ in range(n)])
        r = SimpleNamespace(weights=W)
        skip = {0, n - 1} if rng.random() < 0.3 else set()  # [CLS] and [SEP] hidden
        i = int(rng.choice([j for j in range(n) if j not in skip]))
        extra = [int(j) for j in rng.choice(n, int(rng.integers(0, 3)), replace=False) if j not in skip]
        keep = must_keep(W[i], i, skip, extra)
        visible = [j for j in range(n) if j not in skip]
        story = story_keys(r, i, extra=extra, skip=sorted(skip))
        assert set(story) == keep and story[0] == i
        for slots in (5, 6, 8, 10, 12, 16):
            # room to grow: everything the story needs is shown, nothing more slots than needed
            plan = plan_by_weight(n, slots, W[i], story, most=2 * n + 1, skip=sorted(skip))
            shown, _ = check_plan(plan, n, skip)
            assert keep <= set(shown), (keep - set(shown), plan)
            if len(visible) <= slots:
                assert plan == visible
            else:
                assert len(plan) <= max(slots, slots_needed(visible, keep)), plan
            # no room to grow: the focus always, its top three whenever they fit, never more slots
            fixed = plan_by_weight(n, slots, W[i], story, skip=sorted(skip))
            shown, _ = check_plan(fixed, n, skip)
            assert i in shown and len(fixed) <= slots
            top = top_four(W[i], i, skip)
            if slots_needed(visible, top) <= slots:
                assert top <= set(shown), (top, fixed)
            # each run: the tokens between its neighbours, its share their weights added up, by hand
            for each in (plan, fixed):
                _, runs = check_plan(each, n, skip)
                assert [list(run) for run in elided_runs(n, each, sorted(skip))] == runs
                for run in runs:
                    total = 0.0
                    for j in run:
                        total += W[i, j]
                    assert steps.run_weight(r, i, tuple(run)) == pytest.approx(total, abs=1e-12)


def test_runs_of_a_plan_and_hidden_tokens_between():
    """A run stands for the visible tokens between its neighbours; a hidden one is not in it."""
    assert elided_runs(8, [None, 2, None, 7], skip=[5]) == [(0, 1), (3, 4, 6)]
    assert elided_runs(6, [0, 1, 2, 3, 4, 5]) == []


# ---- render.py --keep ------------------------------------------------------------------------------

TWELVE = "The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored and sleepy today"


def softmax_header(markdown: str) -> list[str]:
    """The token columns of the handout's worked softmax (its "Row “…”, step by step" table)."""
    lines = markdown.split("step by step**")[1].strip().splitlines()
    return [c.strip() for c in lines[0].strip("|").split("|")][1:]


def test_keep_shows_a_token_the_plan_would_elide(tmp_path):
    r = attncore.run(TWELVE)
    i = r.n_tokens - 1
    out = tmp_path / "plain.md"
    assert invoke("--handout", out, "--sentence", TWELVE).exit_code == 0
    header = softmax_header(out.read_text(encoding="utf-8"))
    assert "…" in header  # elided
    elided = [t for t in r.tokens if r.tokens.count(t) == 1 and t not in header]
    assert elided
    kept = out.with_name("kept.md")
    result = invoke("--handout", kept, "--sentence", TWELVE, "--keep", elided[0], "--keep", 1)
    assert result.exit_code == 0, result.output
    text = kept.read_text(encoding="utf-8")
    header = softmax_header(text)
    assert elided[0] in header and r.tokens[1] in header
    for j in top_four(r.weights[i], i, set()):  # (near-uniform toy weights: most keys have 3%; not all fit)
        assert r.tokens[j] in header, r.tokens[j]
    # the line under the table: each run's count and share, the rest of the row: 100.0% less the shares shown
    line = next(s for s in text.splitlines() if s.startswith(f"Row “{r.tokens[i]}” leaves out: "))
    shown = {r.tokens.index(t) for t in header if t != "…"}
    left_out = 0.0
    for j in range(r.n_tokens):
        if j not in shown:
            left_out += worked(r, "softmax_row", i).weights[j]
    said = [float(p) for p in re.findall(r"([0-9.]+)%", line)]
    counts = [int(c) for c in re.findall(r"… ([0-9]+) tokens?", line)]
    assert sum(counts) == r.n_tokens - len(shown)
    rest = 100.0
    for j in shown:
        rest -= float(pct(worked(r, "softmax_row", i).weights[j]).rstrip("%"))
    assert round(sum(said), 1) == round(rest, 1)
    assert abs(sum(said) - 100 * left_out) <= 0.05 * (len(said) + len(shown)) + 1e-9


def test_keep_in_the_dry_run_and_its_one_line_errors():
    result = invoke("--dry-run", "--keep", "cat", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert "keep: 'have' (index 1), 'cat' (index 3)" in result.output
    for args, starts in ((["--keep", "dog"], "keep: 'dog' is not a token of the sentence"),
                         (["--keep", "7"], "keep: index 7 is out of range for 4 tokens")):
        result = invoke("--dry-run", *args)
        assert result.exit_code != 0
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {starts}"), result.output


def test_keep_is_part_of_the_view_and_its_cache_key():
    from scenes.view import View

    r = attncore.run("I have a cat")
    view = View.resolve(r, keep=("have", -4))
    assert view.keep == frozenset({0, 1}) and view.key()["keep"] == [0, 1]
    assert View.resolve(r).key() != view.key()
    from scenes.production.cache import stage_keys

    stages = ("title", "softmax")
    assert not set(stage_keys(View.resolve(r, stages=stages), ".mp4")) & set(
        stage_keys(View.resolve(r, stages=stages, keep=("have",)), ".mp4"))  # a stage cached without it is not reused
    with pytest.raises(attncore.InputError, match="^keep: 'dog'"):
        View.resolve(r, keep=("dog",))


# ---- a real model's head: the example -------------------------------------------------------

def test_minilm_it_keeps_animal_and_tired_in_every_picture():
    """MiniLM layer 5 head 11, following "it" with [CLS]/[SEP] hidden: the links, the worked row, the
    weighted sum and the summary show "animal" (64.7%) and "tired" (4.3%), and every share an
    elided run shows is its tokens' weights added up."""
    from conftest import need_model
    from scenetools import expected_text, run_scene

    from scenes.arcs import ArcsRow

    need_model("minilm")
    heads = attncore.run(MODEL_SENTENCE, model="minilm", layer=5, heads=12)
    r = heads.heads[11]
    run = run_scene(heads, ["softmax", "weighted-sum", "summary"], focus="it", head=11, hide_special=True)
    i = r.tokens.index("it")
    animal, tired = r.tokens.index("animal"), r.tokens.index("tired")
    assert pct(worked(r, "softmax_row", i).weights[animal]) == "64.7%"
    assert pct(worked(r, "softmax_row", i).weights[tired]) == "4.3%"
    shown = run.scene.log.shown
    for stage in ("softmax", "weighted-sum", "summary"):
        quoted = {s.source.index[1]: s.text for s in shown
                  if s.stage == stage and s.source.field == "weights" and s.source.index[:1] == (i,)}
        assert quoted.get(animal) == "64.7%" and quoted.get(tired) == "4.3%", (stage, quoted)
    links = ArcsRow(run.scene.ctx).links(i)
    assert {"64.7%", "4.3%"} <= {card_and_text[1].text for card_and_text in links.shares}
    for s in shown:
        assert s.text == expected_text(r, s.source, heads), s.source
        if s.source.step[:1] == ("rest_share",):  # a run's share: its own share, rounded, to within the shares drawn
            total = 0.0
            for j in s.source.step[3]:
                total += worked(r, "softmax_row", s.source.step[1]).weights[j]
            drawn = r.n_tokens - sum(len(run) for run in s.source.step[2])
            assert abs(float(s.text.rstrip("%")) - 100 * total) <= 0.05 * (drawn + len(s.source.step[2])) + 1e-9


def test_m3e_summary_shows_maos_share():
    """m3e-small layer 0 head 4, following 它: the summary's row of weights shows 猫's 98.2%."""
    from conftest import need_model
    from scenetools import run_scene

    need_model("m3e-small")
    sentence = "我有一只猫，它很可爱。"
    heads = attncore.run(sentence, model="m3e-small", layer=0, heads=8)
    r = heads.heads[4]
    run = run_scene(heads, ["summary"], focus="它", head=4, hide_special=True, language="zh")
    i, cat = r.tokens.index("它"), r.tokens.index("猫")
    texts = {s.source.index: s.text for s in run.scene.log.shown if s.source.field == "weights"}
    assert texts[i, cat] == "98.2%"


# ---- the elision note ---------------------------------------------------------------------------------

LONG = ("When the old teacher walked into the quiet classroom on a cold winter morning she noticed that every "
        "student had opened the heavy book")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_softmax_note_says_what_the_elided_tokens_hold(language):
    from scenetools import assert_readable_layout, run_scene

    r = attncore.run(LONG)
    i = r.n_tokens - 1
    run = run_scene(r, ["softmax"], snapshots=True, language=language)
    worked_row = {s.source.index[0] for s in run.scene.log.shown if s.source.step == ("softmax_row", i)
                  and s.source.field == "exps"}
    assert top_four(r.weights[i], i, set()) <= worked_row
    left_out = [j for j in range(r.n_tokens) if j not in worked_row]
    total = 0.0
    for j in left_out:
        total += worked(r, "softmax_row", i).weights[j]
    note = next(c for c in run.scene.log.cues if "“…”" in c.text)
    (share,) = [n for n in note.numbers if n.source.step[:1] == ("rest_share",)]
    rest = 100.0  # what is left of 100.0% once the shares drawn, as shown, are taken: the runs' share
    for j in worked_row:
        rest -= float(pct(worked(r, "softmax_row", i).weights[j]).rstrip("%"))
    assert share.source.step[3] == tuple(left_out) and share.text == f"{rest:.1f}%"
    assert abs(rest - 100 * total) <= 0.05 * len(worked_row) + 1e-9
    assert share.text in note.text and str(len(left_out)) in note.text
    assert_readable_layout(run)


@pytest.mark.parametrize("causal", [False, True])
def test_long_links_keep_the_story_and_say_what_each_run_holds(causal):
    """Past 16 tokens the links picture elides by weight: at most 16 slots, the focus and its top
    three kept, and under each "…" its number of tokens and, for each row drawn, their share of that
    row's attention: the rest of the row, split among the runs (reference.rest_share_loops, by hand)."""
    from scenes.arcs import ArcsRow
    from scenes.context import Ctx

    r = attncore.run(LONG, causal=causal)
    i = 12
    row = ArcsRow(Ctx(r, i))
    assert None in row.slots and len(row.slots) <= 16
    assert top_four(r.weights[i], i, set()) <= set(row.slots)
    _, runs = check_plan(row.slots, r.n_tokens, set())
    counts = [t.text for t in row.counts.values()]
    assert counts == [f"{len(run)}tokens" if len(run) > 1 else "1token" for run in runs]  # manim's Text drops spaces
    for q in (i, *row.rows()[:3]):
        shares = [label[0].text for label in row.links(q).elided]
        weights = worked(r, "softmax_row", q).weights
        expected = [pct(rest_share_loops(weights, tuple(map(tuple, runs)), tuple(run))) for run in runs]
        assert shares == expected
