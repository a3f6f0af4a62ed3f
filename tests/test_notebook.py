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
    from scenes.outputs import handout

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
