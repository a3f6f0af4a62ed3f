"""A result in a notebook: `_repr_html_` shows the sentence, the shapes and the tables, drawn by the
handout's own table code; the plain repr stays short."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import attncore
from attncore import fmt, pct, tables


class Tables(HTMLParser):
    """Each <table>: its caption and its rows of cell texts (the header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._in = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._in = "caption"
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in = None
        elif tag in ("th", "td"):
            self.tables[-1]["rows"][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._in == "caption":
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell += data


def parsed(html: str) -> dict[str, list[list[str]]]:
    p = Tables()
    p.feed(html)
    return {t["caption"]: t["rows"] for t in p.tables}


def test_a_toy_result_shows_every_matrix_as_formatted():
    r = attncore.run("I have a cat")
    page = r._repr_html_()
    assert "“I have a cat”: 4 tokens" in page and "X 4 × 4, Q/K 4 × 4, V 4 × 4, scores 4 × 4, √d_k = 2.00" in page
    found = parsed(page)
    # the column labels `python -m attncore` prints: X's model dimensions, Q's key dimensions (d_k),
    # the weights' keys (one column per token), Z's value dimensions (d_v); the corner cell empty
    tokens = ["I", "have", "a", "cat"]
    for caption, M, show, header in (("X (4 x 4, tokens x d_model)", r.X, fmt, ["d1", "d2", "d3", "d4"]),
                                     ("Q = X W_Q (4 x 4)", r.Q, fmt, ["k1", "k2", "k3", "k4"]),
                                     ("weights = softmax(scaled) per row", r.weights, pct, tokens),
                                     ("output Z = weights V (4 x 4)", r.output, fmt, ["v1", "v2", "v3", "v4"])):
        rows = found[caption]
        assert rows[0] == ["", *header], caption
        assert [row[0] for row in rows[1:]] == tokens
        assert [row[1:] for row in rows[1:]] == [[show(v) for v in M[i]] for i in range(4)]
    assert found["weights = softmax(scaled) per row"][4][4] == "58.8%"  # the seed's "cat" → itself


def test_a_model_head_is_elided_keeping_true_labels_and_bias():
    from conftest import need_model

    need_model("minilm")
    m = attncore.run("The animal didn't cross the street because it was too tired", model="minilm", layer=5, heads=12)
    r = m.heads[11]
    found = parsed(r._repr_html_())
    X = found["X (15 x 384, tokens x d_model)"]
    assert X[0][1:] == ["d1", "d2", "d3", "d4", "d5", "d6", "…", "d384"]  # 8 slots: the head, "…", the last
    assert [row[0] for row in X[1:]] == list(r.tokens)  # every token a row (up to 40, the video's longest)
    assert X[1][1:] == [*(fmt(r.X[0, j]) for j in range(6)), "…", fmt(r.X[0, 383])]
    assert "Q = X W_Q + b_Q (15 x 32)" in found
    (it,) = [row for row in found["weights = softmax(scaled) per row"] if row[0] == "it"]
    assert it[1:] == [pct(w) for w in r.weights[10]] and it[3] == "64.7%"  # "it" → "animal"
    heads = parsed(m._repr_html_())
    assert len([c for c in heads if c.startswith("head ")]) == 12
    assert heads["head 11 of 12: weights (d_head = 32)"][3][1:3] == [pct(r.weights[2, 0]), pct(r.weights[2, 1])]
    assert "output = concat W_O + b_O (15 x 384)" in heads


def test_the_plain_repr_is_short_and_the_handout_shares_the_table_code():
    from scenes.outputs import blocks as handout  # the blocks the handout and the page share

    r = attncore.run("I have a cat", causal=True)
    assert repr(r) == "AttentionResult(tokens=('I', 'have', 'a', 'cat'), d_model=4, d_k=4, d_v=4, causal)"
    assert repr(attncore.run("I have a cat", heads=2)) == ("MultiHeadResult(tokens=('I', 'have', 'a', 'cat'), "
                                                           "n_heads=2, d_head=2)")
    assert handout.table_html is tables.table_html and handout.matrix is tables.matrix
    assert "(causal: later tokens masked)" in r._repr_html_()


@pytest.mark.parametrize("n, slots, want", [(5, 8, [0, 1, 2, 3, 4]), (20, 8, [0, 1, 2, 3, 4, 5, None, 19]),
                                            (20, 5, [0, 1, 2, None, 19])])
def test_axes_are_planned_as_on_screen(n, slots, want):
    assert tables.plan_axis(n, slots) == want


# ---- elided by weight, never by position ---------------------------------------------------------
LONG = " ".join(f"w{n}" for n in range(24)) + " cat"  # 25 tokens: more key columns than a notebook shows (20)


def story_loops(result, i: int) -> set[int]:
    """What every picture of row i keeps, restated with loops: i, its three largest keys (the first on
    a tie) and every key with at least 3% of its attention."""
    from reference import worked

    w = worked(result, "softmax_row", i).weights
    order = sorted(range(len(w)), key=lambda j: (-w[j], j))
    return {i, *order[:3], *(j for j in range(len(w)) if w[j] >= 0.03)}


def read_runs(header: list[str], tokens: list[str]) -> list[tuple[str, tuple[int, ...]]]:
    """Each column header with the token indices it stands for: a token (unique in LONG) or a run
    "… n tokens, p%", which holds the tokens between its neighbours."""
    out, k = [], 0
    for n, cell in enumerate(header):
        if cell.startswith("… "):
            after = tokens.index(header[n + 1]) if n + 1 < len(header) else len(tokens)
            out.append((cell, tuple(range(k, after))))
            k = after
        else:
            k = tokens.index(cell)
            out.append((cell, (k,)))
            k += 1
    return out


def test_a_notebook_table_elides_keys_by_weight_and_says_what_each_run_holds():
    from reference import worked

    r = attncore.run(LONG)
    page = r._repr_html_()
    focus = len(r.tokens) - 1  # the video's default focus: the last word, "cat"
    assert f"by the weights of “cat” (token {focus}, counted from 0)" in page
    rows = parsed(page)["weights = softmax(scaled) per row"]
    header, body = rows[0][1:], rows[1:]
    assert [row[0] for row in body] == list(r.tokens)  # 25 rows: none elided (up to 40)
    columns = read_runs(header, list(r.tokens))
    shown = {keys[0] for cell, keys in columns if not cell.startswith("… ")}
    assert story_loops(r, focus) <= shown and len(header) <= 25
    assert any(cell.startswith("… ") for cell, _ in columns)  # something is elided
    w = [worked(r, "softmax_row", i).weights for i in range(r.n_tokens)]
    for cell, keys in columns:
        if cell.startswith("… "):  # "… 3 tokens, 1.1%": how many, and their share of the focus row
            word = "token" if len(keys) == 1 else "tokens"
            assert cell == f"… {len(keys)} {word}, {pct(sum(w[focus][j] for j in keys))}"
    for i, row in enumerate(body):  # each row's cell under a run: that row's weight on the run's tokens
        for cell, (label, keys) in zip(row[1:], columns):
            want = pct(sum(w[i][j] for j in keys)) if label.startswith("… ") else pct(w[i][keys[0]])
            assert cell == want, (i, label)


def test_every_heads_table_keeps_its_own_story():
    from reference import worked

    m = attncore.run(LONG, heads=2)
    found = parsed(m._repr_html_())
    focus = len(m.tokens) - 1
    for h, r in enumerate(m.heads):
        rows = found[f"head {h} of 2: weights (d_head = 2)"]
        columns = read_runs(rows[0][1:], list(r.tokens))
        shown = {keys[0] for cell, keys in columns if not cell.startswith("… ")}
        assert story_loops(r, focus) <= shown
        w = worked(r, "softmax_row", focus).weights
        assert [cell for cell, _ in columns if cell.startswith("… ")] == [
            f"… {len(keys)} {'token' if len(keys) == 1 else 'tokens'}, {pct(sum(w[j] for j in keys))}"
            for cell, keys in columns if cell.startswith("… ")]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_python_m_attncore_elides_token_rows_by_the_focus_weights(language, capsys):
    """The terminal report: a vector table's token rows keep the --focus row's story (loops), each
    run labelled with its count and share, in the report's language; dimensions still by position."""
    from reference import worked

    from attncore.__main__ import main

    sentence = " ".join(f"w{n}" for n in range(30))
    r = attncore.run(sentence)
    focus = 7
    assert main(["--lang", language, "--focus", "w7", sentence]) == 0
    out = capsys.readouterr().out
    block = out.split("\n\n")[1]  # X, the first table
    labels = [line.split()[0] for line in block.splitlines()[2:]]
    shown = [r.tokens.index(t) for t in labels if t != "⋮"]
    assert story_loops(r, focus) <= set(shown) and "⋮" in labels and len(labels) < r.n_tokens
    w = worked(r, "softmax_row", focus).weights
    run_lines = [line for line in block.splitlines()[2:] if line.split()[0] == "⋮"]
    before = [-1, *shown]
    gaps = [tuple(range(a + 1, b)) for a, b in zip(before, [*shown, r.n_tokens]) if b - a > 1]
    for line, keys in zip(run_lines, gaps):
        share = pct(sum(w[j] for j in keys))
        assert line.strip().startswith(f"⋮ {len(keys)} tokens, {share}" if language == "en" else f"⋮ {len(keys)} 个词元，{share}")
    assert len(run_lines) == len(gaps)
    assert main(["--focus", "dog", sentence]) == 2
    assert "error: focus: 'dog' is not a token" in capsys.readouterr().err


@pytest.mark.parametrize("sentence, kw", [("I have a cat.", {}), ("我有一只猫，它很可爱。", {}), ("Is it a cat?!", {}),
                                          ("...", {}), ("I have a cat", dict(causal=True)), ("cat 🐈", {})])
def test_the_notebook_elides_around_the_last_word_as_the_video_would(sentence, kw):
    """tables.notebook_focus restates the video's default focus without a causal mask (attncore.focus
    cannot be imported there): they agree, a causal result's last word too."""
    r = attncore.run(sentence, **kw)
    assert tables.notebook_focus(r) == attncore.default_focus(r.tokens, causal=False)


def test_a_model_notebook_skips_sep_for_its_focus():
    from conftest import need_model

    need_model("minilm")
    r = attncore.run("The animal didn't cross the street because it was too tired .", model="minilm")
    assert r.tokens[tables.notebook_focus(r)] == "tired" == r.tokens[attncore.default_focus(r.tokens, specials=r.specials)]
