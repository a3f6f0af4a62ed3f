"""Custom numbers: loading, validation messages, and export round trips."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attncore

EXAMPLE = Path(__file__).parent.parent / "examples" / "i_have_a_cat.json"


def write(tmp_path, data, name="numbers.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def assert_same_result(a, b):
    assert a.tokens == b.tokens and a.d_k == b.d_k and a.causal == b.causal
    for name in ("embeddings", "X", "W_Q", "W_K", "W_V", "Q", "K", "V", "scores", "scaled", "weights", "output"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_example_file_reproduces_the_worked_example():
    assert_same_result(attncore.run(None, weights=EXAMPLE), attncore.run("I have a cat"))


@pytest.mark.parametrize(
    "sentence, kwargs",
    [
        ("I have a cat", {}),
        ("I have a cat", {"positional": True, "causal": True}),
        ("Ein Beispiel mit Umlauten: Ärger, 猫!", {"d_model": 6, "d_k": 3, "seed": 5}),
    ],
)
def test_json_export_loads_back(tmp_path, sentence, kwargs):
    r = attncore.run(sentence, **kwargs)
    path = tmp_path / "out.json"
    r.to_json(path)
    data = json.loads(path.read_text())
    assert data["shapes"]["weights"] == [r.n_tokens, r.n_tokens]
    assert data["tokens"] == list(r.tokens)
    assert_same_result(attncore.run(None, weights=path), r)
    assert_same_result(attncore.run(sentence, weights=attncore.load(path)), r)


def test_npz_file(tmp_path):
    path = tmp_path / "w.npz"
    W = np.arange(12, dtype=float).reshape(4, 3) / 10
    np.savez(path, tokens=np.array(["I", "have", "a", "cat"]), W_Q=W, W_K=W[::-1], causal=np.array(True))
    r = attncore.run(None, weights=path)
    assert r.d_k == 3 and r.causal
    np.testing.assert_array_equal(r.W_Q, W)
    np.testing.assert_array_equal(r.X, attncore.run().X)  # embeddings not given: the vocabulary's


def test_partial_numbers_fill_in_the_rest():
    r = attncore.run("I have a cat", weights={"W_V": np.ones((4, 2)).tolist()})
    assert r.output.shape == (4, 2)
    np.testing.assert_array_equal(r.W_Q, attncore.run().W_Q)


def test_mapping_with_embeddings_sets_d_model():
    r = attncore.run("a b", weights={"embeddings": [[1, 2, 3], [4, 5, 6]]})
    assert r.d_model == 3 and r.d_k == 3


@pytest.mark.parametrize(
    "data, message",
    [
        ({"W_Q": [[1, 2], [3, 4]], "colour": "red"}, r"^colour: unknown key; expected some of tokens, embeddings"),
        ({"W_Q": [[1, "x"], [3, 4]]}, r"^W_Q: expected numbers, got non-numeric values$"),
        ({"W_Q": [[1, 2], [3]]}, r"^W_Q: expected numbers"),
        ({"W_Q": [1, 2, 3]}, r"^W_Q: expected a matrix of shape \(d_model, d_k\), got shape \(3,\)$"),
        ({"embeddings": [[1, 2], [3, 4]], "W_Q": [[1, 2, 3]]}, r"^W_Q: expected shape \(2, d_k\), got \(1, 3\)$"),
        ({"W_Q": [[1, 2], [3, 4]], "W_K": [[1], [3]]}, r"^W_K: expected shape \(2, 2\), got \(2, 1\)$"),
        ({"W_Q": [[1, 2], [3, 4]], "W_V": [[1, 2]]}, r"^W_V: expected shape \(2, d_v\), got \(1, 2\)$"),
        ({"tokens": ["a", "b"], "embeddings": [[1, 2]]}, r"^embeddings: expected shape \(2, d_model\), got \(1, 2\)$"),
        ({"tokens": "I have", "W_Q": [[1]]}, r"^tokens: expected a list of strings"),
        ({"tokens": []}, r"^tokens: expected at least one token"),
        ({"tokens": ["a", 3]}, r"^tokens: entry 1 must be a non-empty string, got 3$"),
        ({"tokens": ["a", " "]}, r"^tokens: entry 1 must be a non-empty string"),
        ({"causal": "yes"}, r"^causal: expected true or false, got 'yes'$"),
        ({"format": "other/9"}, r"^format: expected 'attncore/1', got 'other/9'$"),
        ({"description": 5}, r"^description: expected a string$"),
        ([1, 2], r"^numbers: expected an object"),
    ],
)
def test_validation_messages(tmp_path, data, message):
    with pytest.raises(attncore.InputError, match=message):
        attncore.load(write(tmp_path, data))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_values_are_rejected(tmp_path, literal):
    path = write(tmp_path, '{"W_Q": [[1, %s], [3, 4]]}' % literal)
    with pytest.raises(attncore.InputError, match=r"^W_Q: expected finite numbers, found NaN or infinity$"):
        attncore.load(path)


def test_file_errors(tmp_path):
    with pytest.raises(attncore.InputError, match=r"^numbers file: expected a \.json or \.npz file, got 'w.txt'$"):
        attncore.load(tmp_path / "w.txt")
    with pytest.raises(attncore.InputError, match=r"^numbers file: '.*missing.json' does not exist$"):
        attncore.load(tmp_path / "missing.json")
    with pytest.raises(attncore.InputError, match=r"^numbers file: bad.json is not valid JSON \(line 2: "):
        attncore.load(write(tmp_path, '{"W_Q":\n [[1,]]}', "bad.json"))


def test_edited_export_is_caught(tmp_path):
    data = attncore.run().to_dict()
    data["weights"][0][0] += 0.01
    with pytest.raises(attncore.InputError, match=r"^weights: does not match the value recomputed"):
        attncore.run(None, weights=data)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("I have a cat",), {"d_model": 0}, r"^d_model: expected a whole number >= 1, got 0$"),
        (("I have a cat",), {"d_k": 2.5}, r"^d_k: expected a whole number >= 1, got 2.5$"),
        (("I have a cat",), {"seed": -1}, r"^seed: expected a whole number >= 0, got -1$"),
        ((None,), {}, r"^sentence: required \(the given numbers hold no tokens\)$"),
        (("a b c",), {"weights": {"tokens": ["a", "b"]}}, r"^sentence: its tokens \['a', 'b', 'c'\] differ"),
        (("a b c",), {"weights": {"embeddings": [[1.0], [2.0]]}}, r"^embeddings: expected shape \(3, 1\)"),
        (("a b",), {"d_model": 4, "weights": {"W_Q": [[1.0]]}}, r"^d_model: asked for 4, but the given numbers have d_model = 1$"),
        (("a b",), {"weights": 5}, r"^weights: expected a file path, a mapping or attncore.Numbers$"),
    ],
)
def test_run_validation_messages(args, kwargs, message):
    with pytest.raises(attncore.InputError, match=message):
        attncore.run(*args, **kwargs)


def test_self_attention_validation_messages():
    eye = np.eye(2)
    with pytest.raises(attncore.InputError, match=r"^W_K: expected shape \(2, 2\), got \(2, 3\)$"):
        attncore.self_attention(eye, eye, np.ones((2, 3)), eye)
    with pytest.raises(attncore.InputError, match=r"^tokens: expected 2 labels \(one per row of X\), got 3$"):
        attncore.self_attention(eye, eye, eye, eye, tokens=["a", "b", "c"])
    with pytest.raises(attncore.InputError, match=r"^X: expected a matrix of shape \(n, m\), got shape \(2,\)$"):
        attncore.self_attention([1, 2], eye, eye, eye)


def test_to_json_writes_atomically(tmp_path):
    path = tmp_path / "sub" / "r.json"
    text = attncore.run().to_json(path)
    assert path.read_text() == text
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary file left


def cli(*args):
    return subprocess.run([sys.executable, "-m", "attncore", *args], capture_output=True, text=True)


def test_cli_prints_every_stage_labelled_by_token():
    p = cli("I have a cat")
    assert p.returncode == 0
    r = attncore.run()
    for title in ("X (4 x 4", "W_Q", "W_K", "W_V", "Q = X W_Q", "K = X W_K", "V = X W_V",
                  "scores = Q K^T", "scaled", "weights = softmax", "output Z"):
        assert title in p.stdout
    cat_weights = next(line for line in p.stdout.splitlines()[::-1] if line.strip().startswith("cat") and "%" in line)
    assert cat_weights.split()[1:] == [attncore.pct(w) for w in r.weights[3]] + ["100.0%"]


def test_cli_json_and_errors(tmp_path):
    p = cli("--json", "a b")
    assert json.loads(p.stdout)["tokens"] == ["a", "b"]
    bad = cli("   ")
    assert bad.returncode == 2 and bad.stderr.strip() == 'error: sentence: is empty; give at least one word, e.g. "I have a cat"'
    assert "Traceback" not in bad.stderr
    missing = cli("--weights", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: numbers file:")


def test_formatting():
    assert attncore.fmt(0.376) == "0.38"
    assert attncore.fmt(2) == "2.00"
    assert attncore.fmt(-0.001) == "0.00"  # never "-0.00"
    assert attncore.fmt(-1.5) == "\u22121.50"
    assert attncore.pct(0.35212) == "35.2%"
    assert attncore.pct(1.0) == "100.0%"
