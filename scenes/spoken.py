"""What the voice says: a narration line in its spoken form. The subtitles, the script and the notes
keep the written line ("58.8%", "−0.60", "√4 = 2.00", "Q·Kᵀ"); the voice gets words ("fifty-eight
point eight percent", "百分之五十八点八", "minus zero point six zero", "the square root of four equals two
point zero zero", "Q times K transpose").

`spoken(ctx, line)` fills the catalogue's spoken form of a narration line (`speak.…` beside
`say.…`, written where a line is a formula the rules below cannot read) and passes it through
`speak(text, language)`: tokens in quotes, numbers, percentages, minus signs, √, ·, ×, ᵀ, ^,
subscripts, ellipses and arrows become words. A token in a script the voice cannot read is
transliterated (anyascii) or spelled; nothing here raises for any text.

Numbers are written as the screen shows them, digit for digit after the point ("0.60" is "zero
point six zero"): the voice reads the same number the viewer sees. Integers by num2words (English)
and cn2an (Chinese), both well kept, with 两 where a Chinese speaker says it ("2 个头" 两个头, "2000"
两千; 二 in "第 2 层", "12", "2.5"); the rest is a table per language.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

from .context import Ctx, fill
from .strings import catalogue, voice_language

DIGITS = {"en": "zero one two three four five six seven eight nine".split(), "zh": list("零一二三四五六七八九")}
# Mandarin readings of the Latin letters, as lecturers say them (the Mandarin voice reads only Han characters)
LETTERS_ZH = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    "诶 比 西 迪 伊 艾弗 吉 艾尺 艾 杰 开 艾勒 艾姆 艾恩 欧 批 丘 阿尔 艾斯 提 优 维 达布溜 艾克斯 歪 贼德").split()))
# words of the narration the Mandarin voice says in Chinese
WORDS_ZH = {"softmax": "索夫特麦克斯", "attention": "注意力", "token": "词元", "model": "模型", "small": "小",
            "base": "基础", "large": "大", "mini": "迷你", "tiny": "微型", "chinese": "中文", "bert": "伯特",
            "qwen": "千问", "coder": "代码", "instruct": "指令"}  # Qwen2.5-Coder-0.5B-Instruct: 千问二点五代码零点五比指令
PUNCTUATION = {
    "en": {",": "comma", ".": "full stop", "!": "exclamation mark", "?": "question mark", ";": "semicolon",
           ":": "colon", "'": "apostrophe", "-": "hyphen", "，": "comma", "。": "full stop", "、": "comma",
           "！": "exclamation mark", "？": "question mark", "␣": "space", " ": "space", "…": "ellipsis"},
    "zh": {",": "逗号", ".": "句号", "!": "感叹号", "?": "问号", ";": "分号", ":": "冒号", "，": "逗号",
           "。": "句号", "、": "顿号", "！": "感叹号", "？": "问号", "：": "冒号", "；": "分号", "␣": "空格",
           " ": "空格", "'": "撇号", "-": "连字符", "…": "省略号"},
}
SYMBOLS = {  # applied in order, after tokens and before numbers
    "en": [("θ", " theta "), ("−∞", " minus infinity "), ("-∞", " minus infinity "), ("∞", " infinity "), ("ᵀ", " transpose "),
           ("·", " times "), ("×", " by "), ("=", " equals "), ("+", " plus "), ("→", ", then "),
           ("…", " and so on "), ("/", " divided by "), ("^", " to the "), ("_", " "), ("%", " percent ")],
    "zh": [("θ", "西塔"), ("−∞", "负无穷"), ("-∞", "负无穷"), ("∞", "无穷"), ("ᵀ", "的转置"), ("·", "乘以"), ("×", "乘"),
           ("=", "等于"), ("+", "加"), ("→", "，到"), ("…", "等等"), ("/", "除以"), ("^", "的"), ("_", " "),
           ("%", "百分之")],
}
POWER = {"en": r"\1 to the \2", "zh": r"\1的\2次方"}
# a number in scientific notation as the screen writes it ("1.4e−05"): times ten to the power of its exponent
SCIENTIFIC = re.compile(r"(?<![\w.])([0-9]+(?:\.[0-9]+)?)e([−-]?)([0-9]+)(?!\w|\.[0-9])")
TEN_TO = {"en": "{m} times ten to the power of {sign}{e}", "zh": "{m}乘以十的{sign}{e}次方"}
MINUS = {"en": "−", "zh": "负"}
# two words joined by a slash ("K/V heads", "key/value", "键/值头"): one name, not a division (written with spaces)
PAIR = re.compile(r"(?<=[A-Za-z\u4e00-\u9fff])/(?=[A-Za-z\u4e00-\u9fff])")
FRACTION_ZH = re.compile(r"(?<![\w.])([0-9]+)/([0-9]+)(?![\w.])")  # "1/7": 七分之一
ROOT = {"en": " the square root of ", "zh": "根号"}
SIGN = re.compile(r"(?:(?<=^)|(?<=[\s(\[,:：=，]))[−-](?=[0-9])")  # a minus sign before a number, not a hyphen
NUMBER = re.compile(r"(−)?([0-9]+)(?:\.([0-9]+))?(%)?")  # ASCII digits: other scripts' are transliterated
# a lone 2 counting something is 两 ("2 个头": 两个头, "2 层", "2 字节"), and so is the 2 leading 二百/二千/二万/二亿
# (两千); 二 stays in an ordinal ("第 2 层", "第 i + 2 维"), a fraction ("7 分之 2"), 二次方, 二维向量 and a plain number
MEASURE_ZH = re.compile(r"\s*(?:个|层|对|次(?!方)|行|列|种|维(?!向量|空间|数组|平面|张量)|位|项|组|条|张|步|份|轮|句|遍|类|段|"
                        r"倍|字节|年|天|秒|分钟|小时|讲|件|名|只|块)")
NOT_COUNTING_ZH = re.compile(r"(?:第[\sA-Za-z0-9+−-]*|之|[A-Za-z0-9_.])$")
LEADING_TWO_ZH = re.compile(r"^二(?=[百千万亿])")
QUOTED = re.compile(r"“([^”]*)”")
# a tokenizer's special token as its architecture writes it (attncore.architectures: special_tokens): BERT's
# [CLS] and [SEP], RoBERTa's <s> and </s>, GPT-2's and Qwen's <|endoftext|>, <|im_start|>
SPECIAL = re.compile(r"\[([A-Z]{2,9})\]|<(/?)([A-Za-z]{1,9})>|<\|([A-Za-z_]+)\|>")
# the words of a special token's name said as words, not spelled (and a closing token's slash)
SPECIAL_WORDS = {"en": {"endoftext": "end of text", "start": "start", "end": "end", "slash": "slash"},
                 "zh": {"endoftext": "文本结束", "start": "开始", "end": "结束", "slash": "斜杠"}}
BYTES = re.compile(r"⟨([0-9A-F]{2}(?: [0-9A-F]{2})*)⟩")  # a byte-level piece shown as its bytes


def spoken(ctx: Ctx, line) -> str:
    """The words the voice says for the narration `line` (a scenes.beats.Line)."""
    language = voice_language(ctx.language)
    strings = catalogue(ctx.language)
    key = "speak." + line.key.removeprefix("say.")
    return speak(fill(strings, key if key in strings else line.key, ctx.language, line.params), language)


def speak(text: str, language: str) -> str:
    """`text` with numbers, symbols and quoted tokens as words (see the module's docstring)."""
    text = unicodedata.normalize("NFC", text)
    text = QUOTED.sub(lambda m: " " + speak_token(m.group(1), language) + " ", text)
    text = SPECIAL.sub(lambda m: " " + special_words(m, language) + " ", text)
    text = BYTES.sub(lambda m: " " + byte_words(m.group(1), language) + " ", text)
    text = re.sub(r"√\s*", ROOT[language], text)
    text = SCIENTIFIC.sub(lambda m: TEN_TO[language].format(m=m.group(1), sign=MINUS[language] if m.group(2) else "",
                                                            e=int(m.group(3))), text)
    text = PAIR.sub(" " if language == "en" else "", text)
    if language == "zh":
        text = FRACTION_ZH.sub(r"\2分之\1", text)
    text = SIGN.sub("−", text)
    text = re.sub(r"(\w)\^(\w+)", POWER[language], text)
    text = re.sub(r"[\[\]]", " ", text)  # a vector's brackets
    text = re.sub(r"[()（）]", ", " if language == "en" else "，", text)
    if language == "zh":
        text = text.replace(", ", "，")  # a list's commas: the Mandarin voice pauses only at Chinese ones
    text = NUMBER.sub(lambda m: " " + number_words(m, language) + " ", text)
    for symbol, words in SYMBOLS[language]:
        text = text.replace(symbol, words)
    if language == "en":  # the last digits (in a word: "m3e") one by one
        return tidy(re.sub(r"[0-9]", lambda m: f" {DIGITS['en'][int(m.group(0))]} ", plain_english(text)), "en")
    return tidy(latin_zh(text), "zh")


def number_words(m: re.Match, language: str) -> str:
    """One number as written ("−0.60", "58.8%", "384") in words."""
    minus, whole, decimals, percent = m.groups()
    digits = DIGITS[language]
    if language == "zh":
        import cn2an

        if m.group(0) == "2" and MEASURE_ZH.match(m.string, m.end()) and not NOT_COUNTING_ZH.search(m.string, 0, m.start()):
            return "两"
        whole = LEADING_TWO_ZH.sub("两", cn2an.an2cn(whole)) if len(whole) <= 12 else "".join(digits[int(d)] for d in whole)
        words = whole + ("点" + "".join(digits[int(d)] for d in decimals) if decimals else "")
        return ("负" if minus else "") + ("百分之" if percent else "") + words
    from num2words import num2words

    whole = num2words(int(whole)) if len(whole) <= 12 else " ".join(digits[int(d)] for d in whole)  # a code, read out
    words = whole + (" point " + " ".join(digits[int(d)] for d in decimals) if decimals else "")
    return ("minus " if minus else "") + words + (" percent" if percent else "")


def speak_token(token: str, language: str) -> str:
    """A token's text as the voice can say it: a WordPiece's "##" dropped, punctuation by name, a
    script the voice cannot read transliterated (English) or spelled (Chinese)."""
    token = token.removeprefix("##").strip() or token
    if special := SPECIAL.fullmatch(token):
        return special_words(special, language)
    if BYTES.fullmatch(token):
        return byte_words(token[1:-1], language)
    if all(not ch.isalnum() for ch in token):  # punctuation, a space: by name
        names = PUNCTUATION[language]
        return " ".join(names.get(ch) or unicodedata.name(ch, "symbol").lower() for ch in token
                        if names.get(ch) or not ch.isspace()) or names[" "]
    if language == "en":
        return plain_english(token)
    return "".join(ch if is_han(ch) else f" {ch} " for ch in token)  # Latin is read by latin_zh


def plain_english(text: str) -> str:
    """ASCII for the English voice: pictographs by name ("🐈" is "cat"), other scripts transliterated."""
    if text.isascii():
        return text
    return anyascii("".join(f" {unicodedata.name(ch, '').lower()} " if unicodedata.category(ch) == "So" else ch
                            for ch in text))


def byte_words(hexes: str, language: str) -> str:
    lead = "bytes " if language == "en" else "字节 "
    return lead + ", ".join(spell(h, language) for h in hexes.split())


def special_words(m: re.Match, language: str) -> str:
    """A special token (a SPECIAL match) as the voice says it, whatever its architecture: the name inside
    its marks spelled ("[CLS]": C L S, "<s>": S), a closing token's slash said ("</s>": slash S), a name
    made of words by its words ("<|endoftext|>": end of text, "<|im_start|>": I M start)."""
    square, slash, angle, bars = m.groups()
    words = SPECIAL_WORDS[language]
    said = [words.get(part.lower()) or spell(part, language) for part in (square or angle or bars).split("_") if part]
    return " ".join(([words["slash"]] if slash else []) + said)


def spell(letters: str, language: str) -> str:
    """Letter by letter: "CLS" -> "C L S" (the Mandarin voice: each letter's Chinese reading)."""
    out = []
    for ch in letters:
        if ch.isdigit():
            out.append(DIGITS[language][int(ch)])
        elif language == "zh":
            out.append(LETTERS_ZH.get(anyascii(ch).upper()[:1], ""))
        else:
            out.append(ch.upper())
    return " ".join(o for o in out if o)


def is_han(ch: str) -> bool:
    return "CJK" in unicodedata.name(ch, "")


def latin_zh(text: str) -> str:
    """For the Mandarin voice (which reads only Han characters): known words in Chinese, other Latin
    words and letters spelled, digits left in a word ("m3e") read one by one, other scripts
    transliterated first."""
    text = "".join(ch if is_han(ch) or ch.isascii() or not ch.isalnum() else anyascii(ch) for ch in text)

    def word(m: re.Match) -> str:
        parts = []
        for part in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]", m.group(0)):  # "MiniLM": Mini, LM
            parts.append(WORDS_ZH.get(part.lower()) or spell(part, "zh"))
        return " " + "".join(parts) + " "

    return re.sub(r"[A-Za-z0-9]+", word, text)


def tidy(text: str, language: str) -> str:
    """Only what the voice reads: words and plain punctuation, single spaces, no empty clauses."""
    if language == "zh":
        text = re.sub(r"[^\w\s，。！？、：；]", " ", text)
        text = re.sub(r"\s*([，。！？、：；])\s*", r"\1", text)
        text = re.sub(r"([，、：；])[，、：；]+", r"\1", text)
        text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text)
        return re.sub(r"\s+", " ", text).strip(" ，、：；")
    text = re.sub(r"[^\w\s,.!?;:'\-]", " ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([.!?])[,;:]", r"\1", text)
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"\s+'", "'", text)  # "zero's"
    return re.sub(r"\s+", " ", text).strip(" ,;:")
