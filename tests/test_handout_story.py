"""The handout and the page to explore follow the video (issue 26): the worked winning pair (the
focus token's query with the key it attends to most, its largest terms, |q| |k| cos θ beside a
low-weight rival), each head's measured role, and a minimal pair's two rows. Every number is checked
against explicit loops (tests/reference.py, or loops written here), never against the code that
made it."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from reference import head_role_loops, worked
from test_equations import amount, half

import attncore
from attncore import fmt, pct
from scenes import outputs
from scenes.strings import catalogue

TINY_BERT = str(Path(__file__).parent / "data" / "tiny-bert")
TINY_GPT2 = str(Path(__file__).parent / "data" / "tiny-gpt2")
MINILM = "The animal didn't cross the street because it was too tired"


def md_tables(text: str) -> dict[str, list[list[str]]]:
    """caption -> rows of cells (the header row first) of every table in the Markdown handout."""
    tables, caption = {}, None
    for line in text.splitlines():
        if line.startswith("**") and line.endswith("**"):
            caption = line.strip("*")
        elif line.startswith("|") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\) \| ", line.strip().removeprefix("| ").removesuffix(" |"))
            tables.setdefault(caption, []).append([c.strip().replace("\\|", "|") for c in cells])
    return tables


def weights_loops(result) -> list[list[float]]:
    """The (S, S) weights by explicit loops over X and the head's matrices."""
    return [worked(result, "softmax_row", i).weights for i in range(result.n_tokens)]


def may(result, i: int, j: int) -> bool:
    return not result.causal or j <= i


def top_count_restated(d_k: int) -> int:
    """The video picks out 3 of the winning dot product's terms, fewer for a short vector (2 of 4)."""
    return max(1, min(3, d_k // 2))


# ---- the winning pair -------------------------------------------------------------------------------

PAIRS = {
    # the toy: "it" attends most to another token; d_k = 6 (3 terms picked out)
    "toy": ("The cat sat on the mat because it was tired", dict(d_model=8, d_k=6), dict(focus="it"), "en"),
    # the seed's example in Chinese: "cat" wins itself (4 terms, 2 picked out)
    "self zh": ("I have a cat", {}, {}, "zh"),
    # two toy heads of 2 dimensions: one term picked out
    "heads": ("The cat sat on the mat because it was tired", dict(heads=2), dict(focus="it", head=1), "en"),
    # a causal GPT-2 with a middle focus: the rival only among the tokens it may see
    "gpt2": ("the cat sat on the mat", dict(model=TINY_GPT2, layer=1, heads=4), dict(head=2), "en"),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_handout_works_the_winning_pair_from_loops(name, tmp_path):
    sentence, kw, view, language = PAIRS[name]
    computed = attncore.run(sentence, **kw)
    [path] = outputs.make("handout", computed, tmp_path / "h.md", language=language, **view)
    text = path.read_text(encoding="utf-8")
    r = computed.heads[view.get("head", 0)] if "heads" in kw else computed
    i = attncore.resolve_focus(r, view.get("focus"))
    tok, S = r.tokens[i], r.n_tokens
    w = weights_loops(r)[i]
    # the winner: the largest weight of the row (the first on a tie), the rival the smallest other
    keys = [j for j in range(S) if may(r, i, j)]
    top = keys[0]
    for j in keys:
        if w[j] > w[top]:
            top = j
    rest = [j for j in keys if j != top]
    low = min(rest, key=lambda j: (w[j], j)) if rest else None
    key = r.tokens[top]
    (line,) = [ln.strip() for ln in text.splitlines() if ln.startswith(f"    q_{tok} · k_{key} = ")]
    # term by term: each shown term is q_i[c] × k_top[c] from loops, in order, the largest ones among them
    entry = worked(r, "score_entry", i, top)
    pairs = [f"{fmt(entry.a[c])} × {fmt(entry.b[c])}" for c in range(r.d_k)]
    body, sign, total = re.fullmatch(r".*? = (.*) ([=≈]) (\S+)", line).groups()
    shown = body.split(" + ")
    assert total == fmt(entry.total) and fmt(entry.total) == fmt(sum(a * b for a, b in zip(entry.a, entry.b)))
    # the total carries "=" exactly when the terms as shown (an elided run as its sum, "…[Σ s]") give it as shown
    runs = [t for t in shown if t.startswith("…")]
    exact = sum((amount(t.split(" × ")[0]) * amount(t.split(" × ")[1]) for t in shown if not t.startswith("…")), Decimal(0))
    exact += sum((amount(t.removeprefix("…[Σ ").removesuffix("]")) for t in runs), Decimal(0))
    assert sign == ("=" if abs(exact - amount(total)) <= half(total) else "≈"), line
    it = iter(range(r.d_k))
    dims = [next(c for c in it if pairs[c] == term) for term in shown if not term.startswith("…")]  # in order
    sign = -1.0 if entry.total < 0 else 1.0
    n = top_count_restated(r.d_k)
    largest = sorted(range(r.d_k), key=lambda c: (-sign * entry.terms[c], c))[:n]
    assert set(largest) <= set(dims), (largest, dims)
    if not runs:
        assert dims == list(range(r.d_k))
    part = sum(entry.terms[c] for c in largest)
    agree = sum(1 for t in entry.terms if sign * t > 0)
    picked = " + ".join(fmt(entry.terms[c]) for c in largest)
    sep = "、" if language == "zh" else ", "
    said = catalogue(language)["handout.top_terms"]
    said = said["one" if n == 1 and "one" in said else "other"]
    assert said.format(n=n, terms=picked, dims=sep.join(map(str, largest)), part=fmt(part), value=fmt(entry.total),
                       agree=agree, d=r.d_k) in text
    # |q| |k| cos θ of the winner and of the rival, from loops
    strings = catalogue(language)
    (caption,) = [c for c in md_tables(text) if c and c.startswith("q · k = |q|")]
    header, *rows = md_tables(text)[caption]
    wanted = [top] if low is None else [top, low]
    assert header == [strings["scores.q"].format(token=tok), *(strings["scores.k"].format(token=r.tokens[k]) for k in wanted)]
    angles = {}
    for k in wanted:
        q, kv = entry.a, worked(r, "score_entry", i, k).b
        qn, kn = math.sqrt(sum(a * a for a in q)), math.sqrt(sum(b * b for b in kv))
        dot = sum(a * b for a, b in zip(q, kv))
        angles[k] = {"scores.len_q": qn, "scores.len_k": kn, "scores.cos": dot / (qn * kn), "scores.dot_row": dot}
    assert [row[0] for row in rows] == [strings[label] for label in angles[top]]
    for row, label in zip(rows, angles[top]):
        assert row[1:] == [fmt(angles[k][label]) for k in wanted], label
    if low is not None:
        assert strings["handout.rival"].format(key=r.tokens[low], cos=fmt(angles[low]["scores.cos"]),
                                               value=fmt(angles[low]["scores.dot_row"])) in text


def test_the_pair_is_worked_on_the_page_for_every_token():
    """The page's views embed each token's own winning pair: the argmax of that token's row (loops)."""
    from scenes.outputs.explore import view_of

    r = attncore.run("The cat sat on the mat because it was tired", d_model=8, d_k=6)
    w = weights_loops(r)
    for i in range(r.n_tokens):
        top = max(range(r.n_tokens), key=lambda j: (w[i][j], -j))
        worked_html = html.unescape(view_of(r, i, "en", frozenset())["k"])
        assert f"q_{r.tokens[i]} · k_{r.tokens[top]} = " in worked_html
        assert re.search(f"[=≈] {re.escape(fmt(worked(r, 'score_entry', i, top).total))}</pre>", worked_html)


# ---- the heads' roles -------------------------------------------------------------------------------


def roles_case(name: str):
    """(every head of a layer, the view's options)."""
    if name == "minilm":
        from conftest import need_model

        need_model("minilm")
        return attncore.run(MINILM, model="minilm", layer=1, heads=12), dict(focus="it", head=8, hide_special=True)
    return attncore.run("the cat sat on the mat", model=TINY_BERT, layer=0, heads=4), dict(head=2)


def role_label(language: str, role) -> str:
    return catalogue(language)[f"heads.role.{role.role}"].format(token=role.token or "")


@pytest.mark.parametrize("name, language", [("tiny-bert", "en"), ("tiny-bert", "zh"), ("minilm", "en")])
def test_the_handout_and_the_page_label_each_head_with_its_measured_role(name, language, tmp_path):
    heads, view = roles_case(name)
    outputs.make("handout", heads, tmp_path / "h.md", language=language, **view)
    outputs.make("explore", heads, tmp_path / "h.html", language=language, **view)
    strings = catalogue(language)
    references = [head_role_loops(weights_loops(h), None if h.mask is None else h.mask.tolist(), h.tokens, True)
                  for h in heads.heads]
    assert len({r.role for r in references}) > 1 or name == "tiny-bert"  # MiniLM layer 1: sink, focused, broad, next
    # the handout: one row per head, its role and its share as the loops measure them, the followed head marked
    text = (tmp_path / "h.md").read_text(encoding="utf-8")
    header, *rows = md_tables(text)[strings["handout.roles_table"]]
    assert len(rows) == heads.n_heads
    focus = attncore.resolve_focus(heads.heads[0], view.get("focus"))
    for n, (row, ref) in enumerate(zip(rows, references)):
        name_ = strings["heads.name"].format(head=n)
        assert row[0] == (strings["handout.followed"].format(head=name_) if n == view["head"] else name_)
        assert row[1:3] == [role_label(language, ref), pct(ref.share)]
        w = weights_loops(heads.heads[n])[focus]
        top = max(range(len(w)), key=lambda j: (w[j], -j))
        assert row[3] == f"{strings['heads.top'].format(top=heads.heads[n].tokens[top])} {pct(w[top])}"
    # the page: under each head's heat map, its role and its share
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    labels = [html.unescape(re.sub(r"<[^>]+>", "", m)) for m in re.findall(r'<small class="role">(.*?)</small>', page)]
    assert labels == [f"{role_label(language, ref)} {pct(ref.share)}" for ref in references]


# ---- the contrast -----------------------------------------------------------------------------------

CONTRASTS = {
    # toy heads: "cat" → "dog", "it" followed; the head that moves most is chosen
    "toy": ("The cat sat on the mat because it was tired", "The dog sat on the mat because it was tired",
            dict(heads=2), dict(focus="it"), "en"),
    # tiny BERT: "cat" → [UNK], in Chinese, [CLS]/[SEP] hidden
    "tiny-bert zh": ("the cat sat on the mat", "the dog sat on the mat", dict(model=TINY_BERT, layer=0, heads=4),
                     dict(focus="mat", hide_special=True), "zh"),
    # a causal GPT-2: the focus after the changed token, which it may see
    "gpt2": ("the cat sat on the mat", "the cat sat on the hat", dict(model=TINY_GPT2, layer=1, heads=4),
             dict(focus=8), "en"),
}


def moved_loops(a, b, i) -> tuple[float, list[float], list[float]]:
    """(½ Σ |a − b| over the places whose token is the same in both sentences, row i of a, row i of b)."""
    wa, wb = weights_loops(a)[i], weights_loops(b)[i]
    total = 0.0
    for j in range(a.n_tokens):
        if a.tokens[j] == b.tokens[j]:
            total += abs(wa[j] - wb[j])
    return total / 2, wa, wb


def chosen_head_loops(heads, others, i) -> int:
    """The head whose row i moves most (the first on a tie)."""
    moves = [moved_loops(a, b, i)[0] for a, b in zip(heads.heads, others.heads)]
    return max(range(len(moves)), key=lambda h: (moves[h], -h))


def is_content(result, i, j) -> bool:
    """A token a word may look at: not the focus, the first token, [CLS]/[SEP] or punctuation."""
    special = result.model is not None and result.tokens[j] in ("[CLS]", "[SEP]")
    punct = all(unicodedata.category(c)[0] in "PSZ" for c in result.tokens[j])
    return j != i and j != 0 and not special and not punct and may(result, i, j)


@pytest.mark.parametrize("name", list(CONTRASTS))
def test_the_handout_and_the_page_show_both_rows_of_a_minimal_pair(name, tmp_path):
    sentence, other, kw, view, language = CONTRASTS[name]
    heads, others = attncore.run(sentence, **kw), attncore.run(other, **kw)
    strings = catalogue(language)
    i = attncore.resolve_focus(heads.heads[0], view["focus"])
    h = chosen_head_loops(heads, others, i)
    [md] = outputs.make("handout", heads, tmp_path / "h.md", language=language, contrast=other, **view)
    [page] = outputs.make("explore", heads, tmp_path / "h.html", language=language, contrast=other, **view)
    text = md.read_text(encoding="utf-8")
    a, b = heads.heads[h], others.heads[h]
    tok = a.tokens[i]
    assert strings["handout.focus"].format(token=tok, index=i) in text
    name_ = strings["heads.name"].format(head=h)
    assert f"| {strings['handout.followed'].format(head=name_)} |" in text  # the chosen head is the one followed
    distance, wa, wb = moved_loops(a, b, i)
    hidden = {j for j in range(a.n_tokens) if view.get("hide_special") and a.tokens[j] in ("[CLS]", "[SEP]")}
    rows = [j for j in range(a.n_tokens) if j not in hidden and may(a, i, j)]
    header, *table = md_tables(text)[strings["handout.contrast_table"].format(token=tok)]
    label = lambda j: a.tokens[j] if a.tokens[j] == b.tokens[j] else f"{a.tokens[j]} / {b.tokens[j]}"
    assert table == [[label(j), pct(wa[j]), pct(wb[j])] for j in rows]
    # the token whose share moved most (a shared content token) and how far the row moved
    shared = [j for j in range(a.n_tokens) if a.tokens[j] == b.tokens[j]]
    content = [j for j in shared if is_content(a, i, j)] or shared
    key = max(content, key=lambda j: (abs(wa[j] - wb[j]), -j))
    assert strings["say.contrast.most"].format(key=a.tokens[key], before=pct(wa[key]), after=pct(wb[key])) in text
    moved_line = "say.contrast.moved_most" if heads.n_heads > 1 else "say.contrast.moved"
    assert strings[moved_line].format(token=tok, moved=pct(distance), n=heads.n_heads) in text
    # the page: every head's pair picture, the followed one shown, each share the loops' value
    source = page.read_text(encoding="utf-8")
    for n, (ha, hb) in enumerate(zip(heads.heads, others.heads)):
        (block,) = re.findall(rf'<div class="head-contrast" data-head="{n}"( hidden)?>(.*?)</svg>', source, re.S)
        assert (block[0] == "") == (n == h)
        _, ra, rb = moved_loops(ha, hb, i)
        for side, row in (("a", ra), ("b", rb)):
            shares = dict(re.findall(rf'data-side="{side}" data-k="(\d+)">([^<]*)</text>', block[1]))
            assert {int(k): v for k, v in shares.items()} == {j: pct(row[j]) for j in rows}, (n, side)


def test_a_causal_pair_says_why_the_row_may_not_move(tmp_path):
    """The changed token after the focus: the rows are the same, and the handout says why."""
    heads = attncore.run("the cat sat on the mat", model=TINY_GPT2, layer=1, heads=4)
    [md] = outputs.make("handout", heads, tmp_path / "h.md", focus=2, contrast="the cat sat on the hat", head=1)
    text = md.read_text(encoding="utf-8")
    strings = catalogue("en")
    assert strings["say.contrast.causal"].format(token="s") in text
    assert strings["say.contrast.moved"].format(token="s", moved=pct(0.0)) in text  # one head measured, not chosen
