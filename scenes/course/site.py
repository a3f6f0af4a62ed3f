"""The course's offline site: `index.html` in the course's folder (its first language) and
`index.<language>.html` for each other, linked to each other. Each lecture: its video with its
subtitles as a <track> (WebVTT), its slides, explore page, handout, script, numbers and stills, as
it was asked for; the model, layer and head its numbers come from; its length; and the course's
total length. Relative links only, no script, no http(s) reference: it works from file://."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from ..context import fill
from ..outputs import OUTPUTS
from ..strings import catalogue
from .file import in_language

STYLE = """body{font-family:"Noto Sans","Noto Sans CJK SC",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
background:#fafafa;color:#222}h1{margin-bottom:.2rem}.meta{color:#555}nav a{margin-right:1rem}
section{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem 1.2rem;margin:1.2rem 0}
h2{margin:.2rem 0 .6rem;font-size:1.25rem}video{width:100%;max-width:48rem;background:#000;border-radius:4px}
ul.links{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}.failed{color:#a00}
p{margin:.3rem 0}"""

# a lecture's links besides its video, each labelled by the catalogue's "course.<output>": every output of the registry
# but the video, the richest first (the registry's order reversed: the slides beside the video, the numbers last)
LINKS = tuple((name, f"course.{name}") for name in reversed(OUTPUTS) if name != "video")


def languages_of(items) -> list[str]:
    return list(dict.fromkeys(item.language for item in items))


def page_name(language: str, first: str) -> str:
    return "index.html" if language == first else f"index.{language}.html"


def pages(items) -> list[str]:
    """The site's pages, the first language's index.html."""
    languages = languages_of(items)
    return [page_name(lang, languages[0]) for lang in languages]


def length(seconds: float, s) -> str:
    """"2 min 05 s", or "45 s" under a minute (to the nearest second)."""
    whole = round(seconds)
    if whole < 60:
        return s("course.seconds", seconds=whole)
    return s("course.minutes", minutes=whole // 60, seconds=f"{whole % 60:02d}")


def href(root: Path, path: Path) -> str:
    return quote(path.relative_to(root).as_posix())


def about(item, s) -> list[str]:
    """Where its numbers come from, the focus token, causal or not: one line each."""
    view, r = item.view, item.view.result
    if r.model is not None:
        lines = [s("course.model", model=r.model, layer=r.layer, head=view.head)]
    elif view.several:
        lines = [s("course.toy_heads", d_model=r.d_model, head=view.head, heads=view.computed.n_heads)]
    else:
        lines = [s("course.toy", d_model=r.d_model)]
    lines.append(s("course.focus", token=r.tokens[view.focus]))
    if r.causal:
        lines.append(s("course.causal"))
    return lines


def lecture_html(item, root: Path, s) -> str:
    lecture, files = item.lecture, item.files()
    title = lecture.title_in(item.language)
    parts = [f'<section id="lecture-{lecture.number}">',
             f"<h2>{html.escape(s('course.lecture', n=lecture.number, title=title))}</h2>"]
    if title != lecture.fields["sentence"]:
        parts.append(f"<p>{html.escape(s('course.sentence', sentence=lecture.fields['sentence']))}</p>")
    parts += [f'<p class="meta">{html.escape(line)}</p>' for line in about(item, s)]
    if item.error is not None or not item.made:
        parts.append(f'<p class="failed">{html.escape(s("course.failed", error=item.error or "?"))}</p>')
        return "\n".join(parts + ["</section>"])
    if "video" in files:
        track = ""
        if item.subtitles:
            track = (f'<track kind="subtitles" src="{href(root, item.folder / "video.vtt")}" srclang="{item.language}" '
                     f'label="{html.escape(s("course.subtitles"))}" default>')
        parts.append(f'<video controls preload="metadata" poster="{href(root, item.poster)}" '
                     f'src="{href(root, files["video"])}">{track}</video>')
        parts.append(f'<p class="meta">{html.escape(s("course.length", length=length(item.made.get("seconds", 0), s)))}</p>')
    links = [(files[name] / "stages.png" if name == "stills" else files[name], s(key)) for name, key in LINKS if name in files]
    if links:
        parts.append('<ul class="links">' + "".join(f'<li><a href="{href(root, p)}">{html.escape(text)}</a></li>'
                                                    for p, text in links) + "</ul>")
    return "\n".join(parts + ["</section>"])


def page_html(course, items, root: Path, language: str, languages: list[str]) -> str:
    s = lambda key, **values: fill(catalogue(language), key, language, values)
    title = in_language(course.title, language)
    shown = [i for i in items if i.language == language]
    total = sum(i.made.get("seconds", 0) for i in shown if i.made and i.error is None)
    videos = any("video" in i.lecture.outputs for i in shown)
    contents = s("course.contents", n=len(shown), length=length(total, s)) if videos else s("course.count", n=len(shown))
    others = [f'<a href="{page_name(lang, languages[0])}" hreflang="{lang}">{html.escape(catalogue(lang)["course.language"])}</a>'
              for lang in languages if lang != language]
    nav = f"<nav>{html.escape(s('course.other_languages'))} {' '.join(others)}</nav>" if others else ""
    return "\n".join([
        "<!DOCTYPE html>", f'<html lang="{"zh-Hans" if language == "zh" else language}">', "<head>",
        '<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(contents)}</p>', nav,
        *(lecture_html(item, root, s) for item in shown), "</body>", "</html>", ""])


def write_site(course, items, root: Path) -> list[Path]:
    """Every page of the site, published together. Returns their paths."""
    from ..production.lifecycle import Staging

    languages = languages_of(items)
    written = []
    with Staging() as staging:
        for language in languages:
            path = root / page_name(language, languages[0])
            staging.place(path).write_text(page_html(course, items, root, language, languages),
                                           encoding="utf-8")
            written.append(path)
        staging.publish()
    return written
