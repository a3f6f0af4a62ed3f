"""The handout as a page to explore (`--handout FILE.html`), in a real browser: Debian's headless
Chromium driven by Playwright (its Python package; never a browser download). Clicking a token or a
head, or opening the page on #focus=K / #head=H, shows that view, and every number the page shows for
it equals the explicit-loop reference formatted as on screen."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from reference import worked

import attncore
from attncore import fmt, pct

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def handout(tmp_path: Path, name: str, *args) -> Path:
    from click.testing import CliRunner

    import render

    out = tmp_path / name
    result = CliRunner().invoke(render.main, ["--handout", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


class View:
    """What the page shows now."""

    def __init__(self, page):
        self.page = page

    @property
    def focus(self) -> str:
        return self.page.text_content("#focus")

    def texts(self, selector: str) -> list[str]:
        return [e.text_content() for e in self.page.query_selector_all(selector)]

    @property
    def weights(self) -> list[str]:
        return self.texts("#focus-weights td")

    @property
    def arcs(self) -> dict[int, str]:
        return {int(e.get_attribute("data-k")): e.text_content() for e in self.page.query_selector_all("#links text.label")}


def open_page(browser, path: Path, fragment: str = ""):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri() + fragment)
    page.wait_for_function("document.querySelectorAll('#links text').length > 0")
    page.errors, page.requests = errors, requests
    return page


def reference_row(result, i) -> list[str]:
    return [pct(w) for w in worked(result, "softmax_row", i).weights]


def check_view(view: View, result, i: int, shown: list[int]) -> None:
    """The followed token, its weights, its links and its worked softmax and weighted sum, all equal
    to the explicit loops' values formatted as on screen; masked tokens have no link."""
    row = reference_row(result, i)
    assert view.focus == result.tokens[i]
    assert view.weights == [row[k] for k in shown]
    allowed = [k for k in shown if not result.causal or k <= i]
    assert view.arcs == {k: row[k] for k in allowed}
    sm = worked(result, "softmax_row", i)
    table = softmax_table(view)
    assert table[-1][0].endswith(fmt(sm.total))  # share = e^x ÷ total
    for cells, reference in ((table[0][1:], list(result.tokens)), (table[-1][1:], row),
                             (table[-2][1:], [fmt(e) for e in sm.exps])):
        if "…" in cells:  # elided: what is shown is the reference's, in its order
            assert in_order([c for c in cells if c != "…"], reference)
        else:  # nothing elided: exactly the reference, cell for cell
            assert cells == [reference[k] for k in shown]


def in_order(cells: list[str], reference: list[str]) -> bool:
    """`cells` are entries of `reference`, in its order (an elided row skips some)."""
    it = iter(reference)
    return bool(cells) and all(any(c == r for r in it) for c in cells)


def softmax_table(view: View) -> list[list[str]]:
    """The worked softmax: the table whose rows are score, x, e^x and the shares."""
    for table in view.page.query_selector_all("#worked table"):
        rows = [[c.text_content() for c in row.query_selector_all("th, td")] for row in table.query_selector_all("tr")]
        if len(rows) == 5 and "e^" in rows[3][0]:
            return rows
    raise AssertionError("no worked softmax")


def z_row(view: View) -> list[str]:
    for table in view.page.query_selector_all("#worked table"):
        rows = [[c.text_content() for c in row.query_selector_all("th, td")] for row in table.query_selector_all("tr")]
        if rows[-1][1] in ("Σ", "≈ Σ"):  # "≈" when the weights and values as shown do not give z as shown
            return rows[-1][2:]
    raise AssertionError("no weighted sum")


def test_clicking_each_token_shows_its_numbers(browser, tmp_path):
    path = handout(tmp_path, "cat.html")
    result = attncore.run()
    page = open_page(browser, path)
    view = View(page)
    check_view(view, result, 3, [0, 1, 2, 3])  # the default focus, "cat"
    for k in range(4):
        page.click(f"#tokens button[data-k='{k}']")
        check_view(view, result, k, [0, 1, 2, 3])
        assert page.url.endswith(f"#focus={k}")
        assert view.texts("#tokens button[aria-pressed='true']") == [f"{k} {result.tokens[k]}"]
        reference_z = [sum(worked(result, "softmax_row", k).weights[j] * result.V[j, c] for j in range(4)) for c in range(4)]
        assert z_row(view) == [fmt(v) for v in reference_z]
    assert page.errors == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests), page.requests
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text) and "http://" not in text.replace(
        "http://www.w3.org/2000/svg", "")


def test_a_link_opens_the_page_on_a_token(browser, tmp_path):
    path = handout(tmp_path, "cat.html")
    result = attncore.run()
    for fragment, i in (("#focus=1", 1), ("#focus=-2", 2), ("#focus=9", 3), ("#focus=x", 3)):
        page = open_page(browser, path, fragment)
        check_view(View(page), result, i, [0, 1, 2, 3])
        page.close()
    page = open_page(browser, path)
    page.evaluate("location.hash = '#focus=0'")
    page.wait_for_function("document.getElementById('focus').textContent === 'I'")
    check_view(View(page), result, 0, [0, 1, 2, 3])


def test_a_chinese_causal_page(browser, tmp_path):
    """Chinese words around the same numbers; under causal attention a token links only to itself
    and the tokens before it."""
    sentence = "我有一只猫，它很可爱。"
    path = handout(tmp_path, "zh.html", "--lang", "zh", "--causal", "--sentence", sentence)
    result = attncore.run(sentence, causal=True)
    page = open_page(browser, path, "#focus=6")
    view = View(page)
    assert page.text_content("#current h2").startswith("当前词元")
    shown = list(range(result.n_tokens))
    row = reference_row(result, 6)
    assert view.focus == "它" and view.weights == [row[k] for k in shown]
    assert view.arcs == {k: row[k] for k in range(7)}  # none to 很 可 爱 。
    page.click("#tokens button[data-k='1']")
    assert view.focus == "有" and set(view.arcs) == {0, 1}
    assert page.errors == []


def test_a_model_page_switches_heads(browser, tmp_path):
    """A model's layer: the head picker and the heat maps switch the head, #head=H opens on one, and
    the hidden [CLS]/[SEP] have no button, no weight cell and no link."""
    from conftest import need_model

    need_model("minilm")
    sentence = "The animal didn't cross the street because it was too tired"
    path = handout(tmp_path, "model.html", "--model", "minilm", "--layer", "5", "--head", "11", "--focus", "it",
                   "--hide-special", "--sentence", sentence)
    heads = attncore.run(sentence, model="minilm", layer=5, heads=12)
    shown = list(range(1, heads.heads[0].n_tokens - 1))
    it = heads.heads[0].tokens.index("it")
    page = open_page(browser, path)
    view = View(page)
    assert view.focus == "it"
    assert view.weights == [pct(heads.heads[11].weights[it, k]) for k in shown]
    page.click("#heads button[data-h='4']")
    assert page.url.endswith(f"#focus={it}&head=4")
    assert view.weights == [pct(heads.heads[4].weights[it, k]) for k in shown]
    assert view.arcs == {k: pct(heads.heads[4].weights[it, k]) for k in shown}
    assert page.text_content("#head-name") == "head 4"
    visible = [e.get_attribute("data-head") for e in page.query_selector_all(".head-matrices:not([hidden])")]
    assert visible == ["4"]
    page.close()
    page = open_page(browser, path, "#focus=2&head=7")
    view = View(page)
    assert view.focus == heads.heads[7].tokens[2] and view.weights == [pct(heads.heads[7].weights[2, k]) for k in shown]
    assert len(page.query_selector_all("#tokens button")) == len(shown)
    page.close()
    page = open_page(browser, path, "#focus=0")  # [CLS] is hidden: the page stays on its focus
    assert View(page).focus == "it"
    assert math.isclose(sum(heads.heads[11].weights[it]), 1.0, rel_tol=1e-6)


def test_the_page_fits_a_phone_and_prints_the_current_view(browser, tmp_path):
    path = handout(tmp_path, "zh.html", "--lang", "zh", "--sentence", "我有一只猫，它很可爱。")
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(path.resolve().as_uri() + "#focus=4")
    page.wait_for_function("document.querySelectorAll('#links text').length > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide tables scroll inside their box
    page.emulate_media(media="print")
    assert page.is_hidden("#tokens") and page.is_visible("#current")
    assert page.text_content("#focus") == "猫"


def test_a_pair_follows_the_head_and_each_head_shows_its_role(browser, tmp_path):
    """--contrast: the pair's picture of the head followed (the one whose focus row moves most, by
    loops), another head's at a click, every share the loops' value; under each heat map the head's
    role and share as the loops measure them."""
    from reference import head_role_loops

    from scenes.strings import catalogue

    tiny = str(Path(__file__).parent / "data" / "tiny-bert")
    sentence, other = "the cat sat on the mat", "the dog sat on the mat"
    path = handout(tmp_path, "pair.html", "--model", tiny, "--layer", "0", "--focus", "mat", "--contrast", other,
                   "--sentence", sentence)
    heads, others = (attncore.run(s, model=tiny, layer=0, heads=4) for s in (sentence, other))
    i = heads.tokens.index("mat")
    rows = {h: [worked(r, "softmax_row", i).weights for r in (a, b)] for h, (a, b) in enumerate(zip(heads.heads, others.heads))}
    shared = [j for j in range(len(heads.tokens)) if heads.tokens[j] == others.tokens[j]]
    moves = {h: sum(abs(a[j] - b[j]) for j in shared) / 2 for h, (a, b) in rows.items()}
    chosen = max(moves, key=lambda h: (moves[h], -h))
    page = open_page(browser, path)

    def pair() -> tuple[int, dict]:
        (div,) = page.query_selector_all(".head-contrast:not([hidden])")
        shares = {(e.get_attribute("data-side"), int(e.get_attribute("data-k"))): e.text_content()
                  for e in div.query_selector_all("text.share")}
        return int(div.get_attribute("data-head")), shares

    def want(h: int) -> dict:
        a, b = rows[h]
        return {(side, j): pct(row[j]) for side, row in (("a", a), ("b", b)) for j in range(len(heads.tokens))}

    assert pair() == (chosen, want(chosen)) and page.is_visible("#contrast svg.pair")
    h = (chosen + 1) % 4
    page.click(f"#heads button[data-h='{h}']")
    assert pair() == (h, want(h))
    strings = catalogue("en")
    roles = [head_role_loops([worked(r, "softmax_row", q).weights for q in range(r.n_tokens)], None, r.tokens, True)
             for r in heads.heads]
    assert View(page).texts("#heads button small.role") == [
        f"{strings[f'heads.role.{ref.role}'].format(token=ref.token or '')} {pct(ref.share)}" for ref in roles]
    assert page.errors == []
