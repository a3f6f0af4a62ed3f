"""Issue 36, point 5: no tool talk in the lecture. No command-line option, file name or command on
screen, in a caption, a cue or the narration (spoken form too), in either language: the catalogues
hold none, and what several views draw and say holds none."""

from __future__ import annotations

import pytest

from scenes.strings import catalogue

TOOL_TALK = ("--", "render.py", ".py")  # an option, the command, a file name


def tool_talk(text: str) -> list[str]:
    return [t for t in TOOL_TALK if t in text]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_catalogue_string_talks_about_the_tool(language):
    found = []
    for key, value in catalogue(language).items():
        for text in (value.values() if isinstance(value, dict) else [value]):
            if tool_talk(text):
                found.append((key, text))
    assert not found


def test_tool_talk_is_caught():  # the check itself, on the examples
    assert tool_talk("--positional 把每个位置的 sin/cos 加到 x 上") == ["--"]
    assert tool_talk("render.py --model minilm") == ["--", "render.py", ".py"]
    assert not tool_talk("x − 7.91 = −2.30")  # a minus sign is not an option


@pytest.mark.parametrize("name", ["default", "chinese", "model", "m3e"])
def test_no_view_draws_or_says_tool_talk(runs, name):
    _, run = runs(name)
    drawn = {t[0] for s in run.snapshots for t in s.texts if tool_talk(t[0])}
    said = [(c.text, c.caption, c.spoken) for c in run.scene.log.cues if tool_talk(c.text + c.caption + c.spoken)]
    assert not drawn and not said
