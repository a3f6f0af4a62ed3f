"""The two string catalogues share one scheme (issue 25): attncore.strings (the headings of
`python -m attncore`) and scenes.strings (the video's text) each hold one catalogue per language,
and every language must have English's keys, English's {placeholders} and no empty text.

The checks are functions returning what is wrong, so that the last tests can show each of them
catching a broken catalogue: a check that cannot fail would prove nothing."""

from __future__ import annotations

import string

import pytest

import attncore.strings
import scenes.strings

# each package's catalogues by language; scenes' "pseudo" (English between ⟦ ⟧) is checked too
PACKAGES = {"attncore.strings": attncore.strings.CATALOGUES, "scenes.strings": scenes.strings.CATALOGUES}


def forms(value) -> list:
    """A string, or a plural dict's forms."""
    return list(value.values()) if isinstance(value, dict) else [value]


def field_names(text: str) -> set[str]:
    """The str.format fields of `text`, as string.Formatter parses them (including a field nested in a
    format spec, "{x:{width}}"); "{{" is a literal brace, not a field."""
    names = set()
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is not None:
            names.add(name)
            if spec:
                names |= field_names(spec)
    return names


def placeholders(value) -> set[str]:
    """A value's fields; for a plural dict, loosely, the fields of all its forms together."""
    return {name for form in forms(value) for name in field_names(form)}


def key_problems(catalogues: dict) -> list[str]:
    english = set(catalogues["en"])
    problems = []
    for language, strings in catalogues.items():
        if missing := sorted(english - set(strings)):
            problems.append(f"{language} lacks {missing}")
        if extra := sorted(set(strings) - english):
            problems.append(f"{language} has keys English lacks: {extra}")
    return problems


def placeholder_problems(catalogues: dict) -> list[str]:
    english = catalogues["en"]
    problems = []
    for language, strings in catalogues.items():
        for key in english.keys() & strings.keys():
            try:
                theirs, ours = placeholders(strings[key]), placeholders(english[key])
            except ValueError as e:  # an unmatched "{" or "}": str.format would raise too
                problems.append(f"{language} {key!r} (or en): {e}")
                continue
            if theirs != ours:
                problems.append(f"{language} {key!r}: {sorted(theirs)}, en {sorted(ours)}")
    return problems


def empty_problems(catalogues: dict) -> list[str]:
    problems = []
    for language, strings in catalogues.items():
        for key, value in strings.items():
            if isinstance(value, dict) and not value:
                problems.append(f"{language} {key!r}: no plural forms")
            for form in forms(value):
                if not isinstance(form, str) or not form.strip():
                    problems.append(f"{language} {key!r}: {form!r}")
    return problems


@pytest.mark.parametrize("package", PACKAGES)
def test_every_language_has_the_english_keys(package):
    catalogues = PACKAGES[package]
    assert len(catalogues["en"]) > 10
    assert key_problems(catalogues) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_language_has_the_english_placeholders(package):
    catalogues = PACKAGES[package]
    assert any(placeholders(value) for value in catalogues["en"].values())  # there is something to compare
    assert placeholder_problems(catalogues) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_string_is_empty(package):
    assert empty_problems(PACKAGES[package]) == []


def test_one_list_of_languages():
    """LANGUAGES is defined once, in attncore.strings, and both packages have a catalogue for each."""
    assert scenes.strings.LANGUAGES is attncore.strings.LANGUAGES
    assert attncore.strings.LANGUAGES == ("en", "zh")
    for language in attncore.strings.LANGUAGES:
        assert attncore.strings.catalogue(language) is getattr(attncore.strings, language).STRINGS
        assert scenes.strings.catalogue(language) is getattr(scenes.strings, language).STRINGS
    assert set(attncore.strings.CATALOGUES) == set(attncore.strings.LANGUAGES)
    assert set(scenes.strings.CATALOGUES) == {*scenes.strings.LANGUAGES, "pseudo"}


def test_python_m_attncore_offers_the_languages():
    from attncore.__main__ import main

    for language in attncore.strings.LANGUAGES:
        assert main(["--lang", language]) == 0
    with pytest.raises(SystemExit):
        main(["--lang", "fr"])


@pytest.mark.parametrize("language", scenes.strings.LANGUAGES)
def test_plural_dicts_hold_every_form_their_language_chooses(language):
    """scenes.context picks a plural dict's form with plural_form(language, n): it must be there."""
    chosen = {scenes.strings.plural_form(language, n) for n in range(200)}
    for key, value in scenes.strings.catalogue(language).items():
        if isinstance(value, dict):
            assert chosen <= set(value), (key, chosen - set(value))


# the checks themselves: each catches what it is for

GOOD = {"en": {"a": "{n} x {d}", "b": {"one": "{n} cat", "other": "{n} cats"}, "c": "sum"},
        "zh": {"a": "{n} 乘 {d}", "b": {"other": "{n} 只猫"}, "c": "总和"}}


def broken(**zh) -> dict:
    return {"en": GOOD["en"], "zh": {**GOOD["zh"], **zh}}


def test_the_checks_pass_a_good_catalogue():
    assert key_problems(GOOD) == placeholder_problems(GOOD) == empty_problems(GOOD) == []
    assert placeholders(GOOD["en"]["b"]) == {"n"} and field_names("{{literal}} {x:{w}}") == {"x", "w"}


def test_the_key_check_catches_a_missing_or_an_extra_key():
    missing = {"en": GOOD["en"], "zh": {k: v for k, v in GOOD["zh"].items() if k != "c"}}
    assert key_problems(missing) == ["zh lacks ['c']"]
    assert key_problems(broken(d="多余")) == ["zh has keys English lacks: ['d']"]


@pytest.mark.parametrize("zh", [
    {"a": "{n} 乘 {s}"},  # a renamed placeholder
    {"a": "{n} 乘"},  # a lost one
    {"c": "总和 {n}"},  # one English does not have
    {"b": {"other": "只猫"}},  # a plural dict without it in any form
    {"a": "{n} 乘 {d"},  # malformed: str.format would raise
])
def test_the_placeholder_check_catches_a_mismatch(zh):
    assert len(placeholder_problems(broken(**zh))) == 1


@pytest.mark.parametrize("zh", [{"c": ""}, {"c": "  "}, {"b": {}}, {"b": {"other": ""}}, {"c": None}])
def test_the_empty_check_catches_an_empty_value(zh):
    assert empty_problems(broken(**zh))
