"""The live classroom page (`render.py --live`, scenes.live): started as a lecturer starts it (a process of
its own on a free port, its address the first line it prints, Ctrl-C ending it with exit 0 and no
traceback), asked over HTTP as the page asks, and driven in Debian's Chromium by Playwright (marked
`browser`): every percentage shown equals the explicit-loop reference (or attncore's own for the
models), in English and Chinese; the minimal pair; a decoder's next tokens and two generated tokens
against transformers' logits for the same GGUF file; a rendered video's first frame; bad input as a 4xx
with one line; a bounded flood from 127.0.0.1 and a client that leaves mid-answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from reference import worked

import attncore
from attncore import pct
from scenes.production.lifecycle import dying_with_this_process

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium")
browser_only = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
SMOLLM = Path(os.environ.get("ATTENTION_EXPLAINER_MODELS", ROOT / "models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class Server:
    def __init__(self, *args: str):
        # gone with pytest, however it ends
        command = dying_with_this_process([sys.executable, str(ROOT / "render.py"), "--live", "--port", "0", *args])
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.first = self.process.stdout.readline().strip()
        assert self.first.startswith("http://127.0.0.1:") and self.first.endswith("/"), self.first
        self.url = self.first

    def get(self, path: str, method: str = "GET", timeout: float = 120, **query) -> tuple[int, dict]:
        url = self.url + path.lstrip("/") + ("?" + urllib.parse.urlencode(query) if query else "")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    if s.process.poll() is None:
        s.stop()


def test_ctrl_c_ends_it_cleanly():
    """The first line is the address; Ctrl-C ends it with exit 0, "stopped", no traceback; the port is free again."""
    s = Server()
    status, body = s.get("api/view", sentence="I have a cat")
    assert status == 200 and body["tokens"] == ["I", "have", "a", "cat"]
    code, out, err = s.stop()
    assert code == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err + out
    port = int(s.url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_the_toy_view_holds_the_reference_numbers(server):
    """The seed's sentence with the toy numbers: the followed row, each link and the worked softmax, as
    the explicit loops give them, formatted as on screen; causal masks the later tokens' links."""
    for causal in (False, True):
        status, body = server.get("api/view", sentence="I have a cat", focus=1, causal=int(causal))
        assert status == 200, body
        r = attncore.run("I have a cat", causal=causal)
        row = [pct(w) for w in worked(r, "softmax_row", 1).weights]
        assert body["view"]["w"] == "".join(f"<td>{p}</td>" for p in row)
        assert [a[:2] for a in body["view"]["a"]] == [[k, row[k]] for k in range(4) if not causal or k <= 1]
        assert all(p in body["view"]["k"] for p in row)


def test_a_model_layer_head_and_focus_are_attncores(server):
    sentence = "The animal didn't cross the street because it was too tired"
    status, body = server.get("api/view", model="minilm", sentence=sentence, layer=2, head=7, focus=10)
    assert status == 200, body
    r = attncore.run(sentence, model="minilm", layer=2, head=7)
    assert body["tokens"] == list(r.tokens) and body["tokens"][10] == "it"
    assert body["view"]["w"] == "".join(f"<td>{pct(w)}</td>" for w in r.weights[10])
    assert len(body["heads"]) == 12 and body["layers"] == 6
    status, auto = server.get("api/view", model="minilm", sentence=sentence, layer=2, head="auto", focus=10)
    assert status == 200 and auto["auto"] is True and 0 <= auto["head"] < 12


@pytest.mark.parametrize("query, status, words", [
    ({"sentence": ""}, 400, "sentence: is empty"),
    ({"sentence": "   "}, 400, "sentence: is empty"),
    ({"sentence": "x" * 301}, 413, "at most 300"),
    ({"sentence": " ".join(["cat"] * 41)}, 413, "at most 40"),
    ({"sentence": "I have a cat", "model": "gpt-5"}, 404, "not one of this page's models"),
    ({"sentence": "I have a cat", "model": "/work/main/models/SmolLM2-135M-Instruct.Q4_1.gguf"}, 404, "not one of"),
    ({"sentence": "I have a cat", "model": "../../etc/passwd"}, 404, "not one of"),
    ({"sentence": "I have a cat", "model": "minilm", "head": "12"}, 400, "head: 12 is out of range"),
    ({"sentence": "I have a cat", "model": "minilm", "layer": "6"}, 400, "layer: 6 is out of range"),
    ({"sentence": "I have a cat", "head": "/etc/passwd"}, 400, "head: expected a whole number"),
    ({"sentence": "I have a cat", "layer": "~/x"}, 400, "layer: expected a whole number"),
    ({"sentence": "I have a cat", "focus": "C:\\x"}, 400, "focus: expected a whole number"),
    ({"sentence": "I have a cat", "focus": "9"}, 400, "focus: 9 is out of range"),
    ({"sentence": "I have a cat", "lang": "../en"}, 400, "lang:"),
    ({"sentence": "I have a cat", "weights": "/etc/passwd"}, 400, "weights: not a field"),
    ({"sentence": "I have a cat", "model": "minilm", "causal": "1"}, 400, "causal: applies to the toy"),
    ({"sentence": "I have a cat", "contrast": "I have a dog too"}, 400, "contrast"),
])
def test_bad_input_is_a_4xx_with_one_line_and_the_server_still_answers(server, query, status, words):
    got, body = server.get("api/view", **query)
    assert got == status, body
    assert words in body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    assert server.get("api/view", sentence="I have a cat")[0] == 200


def test_a_path_as_the_sentence_is_only_text(server):
    """A sentence is tokenized, never opened: "/etc/passwd" is shown as its tokens."""
    status, body = server.get("api/view", sentence="/etc/passwd")
    assert status == 200 and "".join(body["tokens"]) == "/etc/passwd"


def test_the_rate_limit_and_the_waiting_limit_per_client():
    from scenes.live.app import Clients, Limits
    from scenes.live.service import LiveError

    clients = Clients(Limits(rate=1.0, burst=2, waiting=5))
    clients.admit("10.0.0.2")
    clients.done("10.0.0.2")
    clients.admit("10.0.0.2")
    clients.done("10.0.0.2")
    with pytest.raises(LiveError, match="too many requests") as refused:
        clients.admit("10.0.0.2")
    assert refused.value.status == 429
    clients.admit("10.0.0.3")  # another computer is not held back
    waiting = Clients(Limits(rate=100, burst=100, waiting=2))
    waiting.admit("10.0.0.4")
    waiting.admit("10.0.0.4")
    with pytest.raises(LiveError, match="waiting"):
        waiting.admit("10.0.0.4")
    waiting.done("10.0.0.4")
    waiting.admit("10.0.0.4")


def asgi(app, path: str, client: str, method: str = "GET", query: dict | None = None) -> tuple[int, dict]:
    """One request straight into the app (no socket), as if from the address `client`."""
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": urllib.parse.urlencode(query or {}).encode(),
             "headers": [(b"host", b"x")], "client": (client, 5555), "server": ("127.0.0.1", 80), "root_path": ""}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def test_another_computer_is_rate_limited_and_may_not_render_unless_allowed():
    """From 10.0.0.7: the 21st request at once is a 429 with its reason, this computer's are not limited;
    a render is a 403 unless --remote-render."""
    from scenes.live.app import Limits, create_app
    from scenes.live.jobs import Jobs

    jobs = Jobs()
    try:
        app = create_app({"toy": "toy"}, limits=Limits(rate=0.01, burst=20), jobs=jobs)
        answers = [asgi(app, "/api/view", "10.0.0.7", query={"sentence": "I have a cat"})[0] for _ in range(21)]
        assert answers[:20] == [200] * 20 and answers[20] == 429
        status, body = asgi(app, "/api/view", "10.0.0.7", query={"sentence": "I have a cat"})
        assert status == 429 and "too many requests" in body["error"]
        assert all(asgi(app, "/api/view", "127.0.0.1", query={"sentence": "I have a cat"})[0] == 200 for _ in range(25))
        status, body = asgi(app, "/api/make", "10.0.0.7", "POST", {"sentence": "I have a cat"})
        assert status == 403 and "switched off" in body["error"]
        allowed = create_app({"toy": "toy"}, render_remote=True, jobs=jobs)
        status, job = asgi(allowed, "/api/make", "10.0.0.8", "POST", {"sentence": "I have a cat", "stages": "title"})
        assert status == 200 and job["state"] == "waiting"
        assert jobs.cancel(job["id"]).state in ("cancelled", "done")
    finally:
        jobs.close()


def test_the_lecturers_requests_go_ahead_of_the_rooms():
    """The worker computes this computer's requests (priority 0) before the room's (1) already waiting."""
    from scenes.live.app import Worker

    worker, order, gate = Worker(), [], threading.Event()
    first = worker.submit(1, gate.wait)  # holds the worker while the others queue
    room = [worker.submit(1, lambda n=n: order.append(f"room {n}")) for n in range(5)]
    lecturer = worker.submit(0, lambda: order.append("lecturer"))
    gate.set()
    for f in (first, lecturer, *room):
        f.result(timeout=30)
    assert order == ["lecturer"] + [f"room {n}" for n in range(5)]


def test_a_flood_of_fifty_clients_slows_but_never_breaks_it(server):
    """50 clients at once, 4 sentences each (bounded: 200 requests, 240 s), against 127.0.0.1 only; every
    answer is the sentence's own numbers or a clear refusal, and afterwards the cache still gives each
    sentence its own numbers. Also a client that asks for a slow answer and leaves at once."""
    answers, errors = [], []

    def client(n: int):
        for m in range(4):
            sentence = f"cat {n} sat on mat {m}"
            try:
                status, body = server.get("api/view", sentence=sentence, timeout=240)
                answers.append((sentence, status, body))
            except Exception as e:  # noqa: BLE001 - a dropped connection is the failure counted here
                errors.append(repr(e))

    leaving = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1].strip("/"))))
    leaving.sendall(b"GET /api/view?model=minilm&layer=5&sentence=a%20slow%20question HTTP/1.1\r\nHost: x\r\n\r\n")
    leaving.close()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, 240 - (time.monotonic() - started)))
    assert not errors and len(answers) == 200
    for sentence, status, body in answers:
        assert status == 200 or (status in (429, 503) and body["error"]), body
        if status == 200:
            assert body["sentence"] == sentence and body["tokens"] == attncore.tokenize(sentence)
            assert body["view"]["w"] == "".join(f"<td>{pct(w)}</td>" for w in attncore.run(sentence).weights[-1])
    status, body = server.get("api/view", sentence="cat 7 sat on mat 2", focus=0)
    assert status == 200 and body["view"]["w"] == "".join(
        f"<td>{pct(w)}</td>" for w in attncore.run("cat 7 sat on mat 2").weights[0])


@pytest.mark.slow
@pytest.mark.skipif(not SMOLLM.is_file(), reason="SmolLM2's GGUF is not fetched (make setup)")
def test_next_tokens_and_two_generated_tokens_match_transformers_logits(server):
    """SmolLM2: the top 10 next tokens at temperature 1 equal softmax of transformers' logits for the
    same GGUF file (to 0.1 percentage point); two tokens generated with a seed are the tokens the page's
    rule (numpy's Generator seeded with (seed, length), on those probabilities) draws; greedy is the argmax;
    top-k 3 leaves three tokens whose shares add to 100%."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(SMOLLM.parent), gguf_file=SMOLLM.name)
    lm = transformers.AutoModelForCausalLM.from_pretrained(str(SMOLLM.parent), gguf_file=SMOLLM.name,
                                                           torch_dtype=torch.float32)

    def probabilities(text: str, temperature: float = 1.0) -> tuple[list[int], np.ndarray]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = lm(torch.tensor([ids])).logits[0, -1].double().numpy()
        e = np.exp((logits - logits.max()) / temperature)
        return ids, e / e.sum()

    sentence, seed = "The cat sat on the", 7
    status, body = server.get("api/next", model="smollm2-135m", sentence=sentence)
    assert status == 200, body
    _, p = probabilities(sentence)
    assert body["ids"] == list(np.argsort(-p)[:10])
    assert all(abs(float(s.rstrip("%")) - 100 * p[i]) < 0.1 for s, i in zip(body["p"], body["ids"]))
    text = sentence
    for _ in range(2):
        ids, p = probabilities(text, 0.8)
        want = int(np.random.default_rng([seed, len(ids)]).choice(p.size, p=p))
        status, g = server.get("api/generate", "POST", model="smollm2-135m", sentence=text, temperature=0.8, seed=seed)
        assert status == 200, g
        assert g["id"] == want and g["rows"] == len(ids) + 1 and g["cache_bytes"] == g["per_token"] * g["rows"]
        assert g["sentence"] == tok.decode(ids + [want])
        text = g["sentence"]
    status, g = server.get("api/generate", "POST", model="smollm2-135m", sentence=text, greedy=1)
    assert g["id"] == int(np.argmax(probabilities(text)[1]))
    status, k = server.get("api/next", model="smollm2-135m", sentence=text, top_k=3)
    assert len(k["tokens"]) == 3 and abs(sum(float(s.rstrip("%")) for s in k["p"]) - 100) < 0.2


@pytest.mark.render
def test_a_video_is_made_from_what_is_on_screen_and_its_first_frame_decodes(server):
    """The toy's one-stage video, low quality, asked over HTTP as the page asks; waits its turn, shows its
    progress, and is served by its job's id and name; a second job asked at once is cancelled."""
    import av

    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port)) as leaving:  # asks for a render and leaves at once
        leaving.sendall(b"POST /api/make?sentence=I%20have%20a%20bird&stages=title HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 0\r\n\r\n")
    status, job = server.get("api/make", "POST", sentence="I have a cat", output="video", stages="softmax")
    assert status == 200, job
    status, other = server.get("api/make", "POST", sentence="I have a dog", output="video", stages="softmax")
    assert status == 200 and other["id"] != job["id"]
    status, cancelled = server.get(f"api/jobs/{other['id']}/cancel", "POST")
    assert status == 200 and cancelled["state"] == "cancelled"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        jobs = {j["id"]: j for j in server.get("api/jobs")[1]}
        if jobs[job["id"]]["state"] not in ("waiting", "running"):
            break
        time.sleep(1)
    done = jobs[job["id"]]
    assert done["state"] == "done", done
    assert jobs[other["id"]]["state"] == "cancelled"
    left = [j for j in jobs.values() if j["sentence"] == "I have a bird"]  # its client gone, made all the same
    assert len(left) <= 1 and all(j["state"] in ("waiting", "running", "done") for j in left)
    url = server.url + done["files"][0]["url"].lstrip("/")
    with urllib.request.urlopen(url, timeout=60) as r:
        data = r.read()
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"live-{os.getpid()}.mp4"
    path.write_bytes(data)
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            assert frame.width > 0 and frame.to_ndarray().any()
    finally:
        path.unlink()
    status, body = server.get("media/1/../../etc/passwd")
    assert status == 404


# ---- in Chromium ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
        yield b
        b.close()


def drawn(page, after: int) -> int:
    page.wait_for_function(f"window.__live && window.__live.drawn > {after} && window.__live.drawn === window.__live.asked",
                           timeout=120_000)
    return page.evaluate("window.__live.drawn")


def open_live(browser, server, fragment: str = "", lang: str = "en"):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.errors, page.requests = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(f"{server.url}?lang={lang}{fragment}")
    drawn(page, 0)
    return page


def row_shown(page) -> list[str]:
    return [e.text_content() for e in page.query_selector_all("#focus-weights td")]


@browser_only
@pytest.mark.browser
def test_type_pick_and_click_in_chromium(browser, server):
    """The page opens on the seed's example (toy numbers); typing a sentence, picking minilm, a layer
    and a head, and clicking a token show attncore's percentages; every request stays on the server."""
    page = open_live(browser, server)
    r = attncore.run("I have a cat")
    assert page.text_content("#focus") == "cat" and row_shown(page) == [pct(w) for w in r.weights[3]]
    n = page.evaluate("window.__live.drawn")
    page.select_option("#model", "minilm")
    n = drawn(page, n)
    sentence = "The trophy did not fit in the suitcase because it was too big"
    page.fill("#sentence", sentence)
    n = drawn(page, n)
    page.select_option("#layer", "4")
    n = drawn(page, n)
    page.select_option("#head", "9")
    n = drawn(page, n)
    page.click("#tokens button[data-k='10']")
    drawn(page, n)
    want = attncore.run(sentence, model="minilm", layer=4, head=9)
    assert page.text_content("#focus") == want.tokens[10] == "it"
    assert row_shown(page) == [pct(w) for w in want.weights[10]]
    arcs = {int(e.get_attribute("data-k")): e.text_content() for e in page.query_selector_all("#links text.label")}
    assert arcs == {k: pct(w) for k, w in enumerate(want.weights[10])}
    assert len(page.query_selector_all("#heads img")) == 12
    assert not page.errors and all(u.startswith(server.url) or u.startswith("data:") for u in page.requests)
    page.close()


@browser_only
@pytest.mark.browser
def test_chinese_page_with_m3e_small(browser, server):
    page = open_live(browser, server, "#model=m3e-small&sentence=" + urllib.parse.quote("猫坐在垫子上，因为它累了")
                     + "&layer=1&head=3", lang="zh")
    want = attncore.run("猫坐在垫子上，因为它累了", model="m3e-small", layer=1, head=3)
    focus = want.tokens.index("它")
    n = page.evaluate("window.__live.drawn")
    page.click(f"#tokens button[data-k='{focus}']")
    drawn(page, n)
    assert page.text_content("h1") == "自注意力，现场演示" and page.get_attribute("html", "lang") == "zh-Hans"
    assert page.text_content("#focus") == "它" and row_shown(page) == [pct(w) for w in want.weights[focus]]
    assert "从 0 开始" in page.text_content("#focus-index")
    page.fill("#sentence", "")
    page.wait_for_selector("#message:not([hidden])")
    assert "无法显示" in page.text_content("#message") and "sentence: is empty" in page.text_content("#message")
    page.close()


@browser_only
@pytest.mark.browser
def test_the_minimal_pair_side_by_side(browser, server):
    """Both rows' shares as attncore's, and the frame on the token whose share moved most (explicit loop)."""
    a = "The animal didn't cross the street because it was too tired"
    b = "The animal didn't cross the street because it was too wide"
    page = open_live(browser, server, "#model=minilm&layer=3&head=5&focus=10&sentence=" + urllib.parse.quote(a))
    n = page.evaluate("window.__live.drawn")
    page.fill("#contrast", b)
    drawn(page, n)
    ra = attncore.run(a, model="minilm", layer=3, head=5)
    rb = attncore.run(b, model="minilm", layer=3, head=5)
    for side, r in (("a", ra), ("b", rb)):
        shares = {int(e.get_attribute("data-k")): e.text_content()
                  for e in page.query_selector_all(f"#pair text.share[data-side='{side}']")}
        assert shares == {k: pct(r.weights[10, k]) for k in range(r.n_tokens)}
    shared = [k for k in range(ra.n_tokens) if ra.tokens[k] == rb.tokens[k]]
    content = [k for k in shared if k not in (0, 10) and ra.tokens[k] not in ("[CLS]", "[SEP]")
               and any(c.isalnum() for c in ra.tokens[k])]  # as --contrast: a word, not the focus or a sink
    most = max(content, key=lambda k: abs(ra.weights[10, k] - rb.weights[10, k]))
    frame = float(page.get_attribute("#pair rect.moved", "y"))
    label = page.query_selector(f"#pair text.token[data-k='{most}']")
    assert abs(float(label.get_attribute("y")) - frame - 26 / 2 - 2) < 4  # the frame is around that token's row
    assert ra.tokens[most] in page.text_content("#pair-lines")
    page.close()


def shares(page) -> tuple[list[str], list[float]]:
    """The next tokens shown: their names and their percentages, as the page shows them."""
    rows = page.query_selector_all("#next .bar")
    return ([r.query_selector(".name").text_content() for r in rows],
            [float(r.query_selector(".p").text_content().rstrip("%")) for r in rows])


@browser_only
@pytest.mark.browser
def test_generate_in_chromium_against_transformers_logits(browser, tiny):
    """A tiny random llama (tests/conftest.py's), started with --model: the Generate controls driven in the
    page. The ten next tokens shown, at temperature 1, then 0.5, then top-k 3, are softmax(logits / T) of
    transformers' own forward pass on the folder (to 0.1 percentage point, names where readable); two tokens
    generated with seed 7 at temperature 0.8 are the ones numpy's Generator seeded with (7, the number of
    tokens) draws from those probabilities, appended to the sentence box; "always the most likely" appends the
    argmax; the KV cache's size is rows × 3 layers × 2 K/V heads × 16 × 2 × 2 bytes (the tiny config)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    built = tiny("llama")
    tok = built["tok"]
    lm = transformers.AutoModelForCausalLM.from_pretrained(str(built["folder"]), torch_dtype=torch.float32).eval()

    def reference(text: str, temperature: float = 1.0, top_k: int = 0) -> tuple[list[int], np.ndarray]:
        ids = tok.encode(text.strip()).ids  # the page sends the box's text; the server strips it
        with torch.no_grad():
            logits = lm(torch.tensor([ids])).logits[0, -1].double().numpy()
        scaled = logits / temperature
        if top_k:
            scaled[np.argsort(-logits, kind="stable")[top_k:]] = -np.inf
        e = np.exp(scaled - scaled.max())
        return ids, e / e.sum()

    def readable(i: int) -> str | None:
        text = tok.decode([i]).strip()
        return text if text and text.isascii() and text.isprintable() else None

    def check_shown(page, p: np.ndarray) -> None:
        names, shown = shares(page)
        order = np.argsort(-p, kind="stable")
        assert len(shown) == min(10, int((p > 0).sum()))
        for j, (name, share) in enumerate(zip(names, shown)):
            assert abs(share - 100 * p[order[j]]) < 0.1, (j, share, p[order[j]])
            alike = [i for i in range(p.size) if abs(p[i] - p[order[j]]) < 1e-5]  # a near tie may come in either order
            if all(readable(i) for i in alike):
                assert name in {readable(i) for i in alike}, (name, alike)

    def predicted(page, after: int) -> int:
        page.wait_for_function(f"window.__live.predicted > {after}", timeout=120_000)
        page.wait_for_timeout(300)  # a later answer (the last control moved) replaces an earlier one
        page.wait_for_function("!document.body.classList.contains('busy')")
        return page.evaluate("window.__live.predicted")

    server = Server("--model", str(built["folder"]))
    try:
        sentence = "the cat sat on the"
        page = open_live(browser, server, "#model=tiny-llama&sentence=" + urllib.parse.quote(sentence))
        assert page.is_visible("#generate")
        page.click("#generating summary")
        n = predicted(page, 0)
        check_shown(page, reference(sentence)[1])
        page.fill("#temperature", "0.5")
        n = predicted(page, n)
        assert page.text_content("#temperature-value") == "0.5"
        check_shown(page, reference(sentence, 0.5)[1])
        page.fill("#top-k", "3")
        n = predicted(page, n)
        check_shown(page, reference(sentence, 0.5, 3)[1])
        assert abs(sum(shares(page)[1]) - 100) < 0.2
        page.fill("#top-k", "0")
        page.fill("#temperature", "0.8")
        page.fill("#seed", "7")
        n = predicted(page, n)
        check_shown(page, reference(sentence, 0.8)[1])
        text = sentence
        for made in range(2):
            ids, p = reference(text, 0.8)
            want = int(np.random.default_rng([7, len(ids)]).choice(p.size, p=p))
            page.click("#generate-button")
            page.wait_for_function(f"window.__live.generated > {made}", timeout=120_000)
            text = tok.decode(ids + [want])
            assert page.input_value("#sentence") == text.replace("\n", "")
            caption = page.text_content("#grown-caption")
            assert f"position {len(ids)} " in caption and f"{len(ids) + 1} keys" in caption
            if readable(want):  # the token drawn, by name
                assert f"“{readable(want)}”" in caption, caption
            assert f"{(len(ids) + 1) * 3 * 2 * 16 * 2 * 2:,}" in page.text_content("#cache")
            assert len(page.query_selector_all("#grown-row tr:first-child th")) == len(ids) + 2  # a label, the keys
        page.check("#greedy")
        page.click("#generate-button")
        page.wait_for_function("window.__live.generated > 2", timeout=120_000)
        ids, p = reference(text)
        assert page.input_value("#sentence") == tok.decode(ids + [int(np.argmax(p))]).replace("\n", "")
        assert not page.errors
        page.close()
    finally:
        server.stop()


# ---- "Make the video": its quality, its stages, its progress ------------------------------------------------

TOY_VIDEO = ["title", "analogy", "embeddings", "projection", "scores", "softmax", "weighted-sum", "summary",
             "trained"]  # by hand


def cancelled(server, job: dict) -> None:
    status, body = server.get(f"api/jobs/{job['id']}/cancel", "POST")
    assert status == 200 and body["state"] in ("cancelled", "done", "failed"), body


@pytest.mark.parametrize("query, words", [
    ({"quality": "ultra"}, "quality: 'ultra' is not one of low, medium, high, 4k"),
    ({"theme": "purple"}, "theme: 'purple' is not one of dark, light"),
    ({"stages": "bogus"}, "stages: 'bogus' is not a stage"),
    ({"stages": "../title"}, "is not a stage"),
    ({"stages": "heads"}, "stages: 'heads' is not a stage of this view's video; its stages are title, analogy"),
    ({"stages": "kv-cache"}, "is not a stage of this view's video"),
    ({"stages": ""}, "stages: none chosen"),
    ({"output": "pdf"}, "output: 'pdf' is not one of"),
])
def test_make_refuses_an_unknown_quality_or_stage(server, query, words):
    status, body = server.get("api/make", "POST", sentence="I have a cat", **query)
    assert status == 400 and words in body["error"] and "\n" not in body["error"], body


def test_make_knows_its_total_from_the_start_with_the_quality_and_stages_asked(server):
    """The job's answer and its first listing give stages done of total before anything is rendered: the two
    stages asked (in video order), the toy's whole video (9 stages: a trained head last) and MiniLM's (9: every
    head, no trained head after it) when
    none are named, 1 for the handout (one step); the quality and the theme asked are the ones kept."""
    status, job = server.get("api/make", "POST", sentence="I have a cat", stages="softmax,title", quality="medium",
                             theme="light")
    try:
        assert status == 200, job
        assert (job["done"], job["total"], job["stages"], job["quality"], job["theme"]) == (
            0, 2, ["title", "softmax"], "medium", "light")
        listed = next(j for j in server.get("api/jobs")[1] if j["id"] == job["id"])
        assert listed["total"] == 2 and listed["done"] in (0, 1, 2)
    finally:
        cancelled(server, job)
    for query, total in (({}, len(TOY_VIDEO)), ({"model": "minilm"}, len(TOY_VIDEO)),
                         ({"output": "handout"}, 1)):
        status, job = server.get("api/make", "POST", sentence="I have a cat", **query)
        cancelled(server, job)
        assert status == 200 and job["total"] == total and job["quality"] == "low" and job["stages"] == [], job
        assert job["theme"] == "dark", job


def test_a_jobs_worker_makes_its_output_in_the_theme_asked(tmp_path):
    """The worker process (python -m scenes.live.jobs) passes the job's theme to outputs.make: the page to
    explore it writes for MiniLM's layer draws each head's heat map in that theme's colours (head 0's first
    cell, [CLS] → [CLS], against theme.heat of the weight computed here)."""
    import base64
    import io
    import re

    from conftest import need_model
    from manim import ManimColor
    from PIL import Image

    from scenes.live.service import Ask
    from scenes.theme import THEMES

    need_model("minilm")
    sentence = "I have a cat"
    weight = attncore.run(sentence, model="minilm", layer=0, heads=12).heads[0].weights[0, 0]
    seen = {}
    for theme in ("light", "dark"):
        path = tmp_path / f"{theme}.html"
        spec = {"ask": Ask(model="minilm", sentence=sentence, head=0, focus=3).__dict__, "output": "explore",
                "path": str(path), "stages": None, "quality": "low", "theme": theme, "source": "minilm"}
        done = subprocess.run([sys.executable, "-m", "scenes.live.jobs"], input=json.dumps(spec), capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
        assert done.returncode == 0, done.stderr
        pictures = re.findall(r'<img alt="" src="data:image/png;base64,([^"]+)"', path.read_text(encoding="utf-8"))
        assert len(pictures) == 12  # a picture per head
        image = Image.open(io.BytesIO(base64.b64decode(pictures[0]))).convert("RGB")
        want = np.round(255 * np.array(ManimColor(THEMES[theme].heat(weight)).to_rgb()))
        seen[theme] = np.array(image.getpixel((0, 0)))
        assert np.abs(seen[theme] - want).max() <= 1, (theme, seen[theme], want)
    assert np.abs(seen["light"] - seen["dark"]).max() > 20  # the two themes' cells differ


@browser_only
@pytest.mark.browser
def test_make_the_video_controls_in_chromium(browser, server):
    """The stage picker offers the view's whole video (all ticked), the quality render.py's four, the colours
    its two themes (dark first); two stages ticked at medium in the light theme are what the job gets, its bar shows done of 2 from its first report, and its cancel
    button cancels it; the handout hides the stage picker."""
    page = open_live(browser, server)
    boxes = page.query_selector_all("#stage-boxes input")
    assert [b.get_attribute("value") for b in boxes] == TOY_VIDEO and all(b.is_checked() for b in boxes)
    assert [o.get_attribute("value") for o in page.query_selector_all("#make-quality option")] == [
        "low", "medium", "high", "4k"] and page.input_value("#make-quality") == "low"
    assert [o.get_attribute("value") for o in page.query_selector_all("#make-theme option")] == [
        "dark", "light"] and page.input_value("#make-theme") == "dark"
    for b in boxes:
        if b.get_attribute("value") not in ("title", "softmax"):
            b.uncheck()
    page.select_option("#make-quality", "medium")
    page.select_option("#make-theme", "light")
    before = {j["id"] for j in server.get("api/jobs")[1]}
    page.click("#make-button")
    page.wait_for_selector("#jobs li progress")
    item = page.locator("#jobs li:last-child")  # a locator finds it again each time: the polled list redraws
    assert item.locator("progress").get_attribute("max") == "2"
    assert item.locator(".count").text_content().endswith("/2")
    job = next(j for j in server.get("api/jobs")[1] if j["id"] not in before)
    assert job["quality"] == "medium" and job["theme"] == "light" and job["stages"] == ["title", "softmax"]
    page.click(f'#jobs li[data-id="{job["id"]}"] button')  # found again: the polled list redraws its items
    page.wait_for_function(f"document.querySelector('#jobs li[data-id=\"{job['id']}\"] .state').textContent === 'cancelled'")
    page.select_option("#make-output", "handout")
    assert not page.is_visible("#make-stages")
    page.select_option("#make-output", "video")
    assert page.is_visible("#make-stages")
    assert not page.errors
    page.close()


# ---- render.py --live with other options ---------------------------------------------------------------------

@pytest.mark.parametrize("args, code, words", [
    (["--voice"], 2, "error: --live does not take --voice"),
    (["--output", "x.mp4"], 2, "error: --live does not take --output"),
    (["--focus", "cat"], 2, "error: --live does not take --focus"),
    (["--sentence", ""], 1, "error: --sentence: is empty"),
    (["--sentence", "x" * 301], 1, "error: --sentence: 301 characters; the page takes at most 300"),
    (["--model", "minilm", "--causal"], 1, "error: --causal: applies to the toy numbers"),
    (["--layer", "-1"], 1, "error: --layer: -1 is out of range"),
])
def test_live_refuses_the_options_it_does_not_take(args, code, words):
    done = subprocess.run([sys.executable, str(ROOT / "render.py"), "--live", "--port", "0", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == code and done.stderr.strip().startswith(words), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout


@browser_only
@pytest.mark.browser
def test_live_opens_on_the_options_given(browser):
    """--sentence, --model, --lang, --layer, --head, --contrast, --quality, --theme and --stage are where the page opens."""
    a, b = "The cat sat on the mat because it was tired", "The dog sat on the mat because it was tired"
    s = Server("--model", "minilm", "--sentence", a, "--contrast", b, "--lang", "zh", "--layer", "2", "--head", "3",
               "--quality", "medium", "--theme", "light", "--stage", "softmax", "--stage", "title")
    try:
        page = open_live(browser, s, lang="")
        assert page.get_attribute("html", "lang") == "zh-Hans" and page.input_value("#sentence") == a
        assert page.input_value("#contrast") == b and page.input_value("#model") == "minilm" and page.is_visible("#pair svg")
        assert page.input_value("#layer") == "2" and page.input_value("#head") == "3"
        focus = page.evaluate("window.__live.data.focus")
        assert row_shown(page) == [pct(w) for w in attncore.run(a, model="minilm", layer=2, head=3).weights[focus]]
        assert page.input_value("#make-quality") == "medium" and page.input_value("#make-theme") == "light"
        assert [e.get_attribute("value") for e in page.query_selector_all("#stage-boxes input:checked")] == [
            "title", "softmax"]
        assert not page.errors
        page.close()
    finally:
        s.stop()


@pytest.mark.browser
def test_a_video_made_from_the_page_plays_in_chromium(browser, server):
    """"Make the video" for one stage: its player on the page loads the video and plays it, and a frame
    past the title's fade-in (drawn into a canvas by the page) is a picture, not one colour (the first
    frame is the background alone). One of the page's asks for the list is lost on the way: it asks again."""
    page = open_live(browser, server)
    lost = []

    def lose_one(route):
        if not lost and page.query_selector("#jobs li progress") is not None:
            lost.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/api/jobs", lose_one)
    for b in page.query_selector_all("#stage-boxes input"):
        if b.get_attribute("value") != "title":
            b.uncheck()
    before = {j["id"] for j in server.get("api/jobs")[1]}
    page.click("#make-button")
    page.wait_for_selector("#jobs li progress")
    job = next(j for j in server.get("api/jobs")[1] if j["id"] not in before)
    deadline = time.monotonic() + 300
    while (state := {j["id"]: j for j in server.get("api/jobs")[1]}[job["id"]])["state"] in ("waiting", "running"):
        assert time.monotonic() < deadline, state  # what the queue was doing, not a silent wait
        time.sleep(0.5)
    assert state["state"] == "done", state
    page.wait_for_selector(f'#jobs li[data-id="{job["id"]}"] video', timeout=60_000)
    assert lost, "no ask for the list was lost: the test did not test the page's asking again"
    colours = page.evaluate(f"""async () => {{
        const video = document.querySelector('#jobs li[data-id="{job["id"]}"] video');
        video.muted = true;
        await video.play();
        while (video.currentTime <= 0 || video.readyState < 2) await new Promise(r => setTimeout(r, 50));
        video.pause();
        const seeked = new Promise(r => video.addEventListener("seeked", r, {{once: true}}));
        video.currentTime = video.duration * 0.6;
        await seeked;
        const canvas = document.createElement("canvas");
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        const context = canvas.getContext("2d");
        context.drawImage(video, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        const seen = new Set();
        for (let i = 0; i < pixels.length; i += 4 * 97) seen.add(pixels[i] >> 4 << 8 | pixels[i + 1] >> 4 << 4 | pixels[i + 2] >> 4);
        return [canvas.width, seen.size];
    }}""")
    assert colours[0] == 854 and colours[1] >= 3, colours  # 480p: the title's text on the background
    assert not page.errors
    page.close()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_make_controls_name_every_stage_and_quality_in_the_pages_language(server, language):
    """Every stage of the registration and every quality of render.py has its words in each catalogue, and
    the page shows the quality's words, never render.py's bare name (`low` on a Chinese page)."""
    from scenes import STAGE_FACTS
    from scenes.strings import catalogue
    from scenes.view import QUALITIES, THEMES

    words = catalogue(language)
    assert all(words.get(f"live.stage.{s.name}") for s in STAGE_FACTS)
    assert all(words.get(f"live.quality.{q}") for q in QUALITIES)
    assert all(words.get(f"live.theme.{t}") for t in THEMES)
    with urllib.request.urlopen(f"{server.url}?lang={language}", timeout=60) as r:
        page = r.read().decode()
    for q in QUALITIES:
        assert f'<option value="{q}">{words[f"live.quality.{q}"]}</option>' in page
    for t in THEMES:
        assert f'<option value="{t}">{words[f"live.theme.{t}"]}</option>' in page


# ---- the render queue goes on whatever a job's process does ---------------------------------------------------

def finished(jobs, job, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while job.state in ("waiting", "running"):
        assert time.monotonic() < deadline, (job.state, job.done, job.error)
        time.sleep(0.1)
    return job


def test_a_job_that_writes_more_than_a_pipe_holds_still_ends():
    """A job's process that prints 1 MB (manim's log goes to stdout) before its progress still ends, and the next
    job runs: the queue never waits on a pipe nobody reads (it did: stdout was read only after stderr's end)."""
    from scenes.live.jobs import Jobs
    from scenes.live.service import Ask

    chatty = (sys.executable, "-c", "import sys; sys.stdin.read(); sys.stdout.write('x' * 1_000_000); "
              "sys.stdout.flush(); print('rendering: 1/1 stages', file=sys.stderr)")
    jobs = Jobs(worker=chatty)
    try:
        first = finished(jobs, jobs.add("video", Ask(), ("title",)))
        second = finished(jobs, jobs.add("handout", Ask(), None))
        assert (first.state, first.done, second.state) == ("done", 1, "done"), (first.error, second.error)
    finally:
        jobs.close()


def test_a_job_whose_process_cannot_start_fails_with_its_reason_and_the_queue_goes_on():
    """A job whose process cannot be started fails, saying why, and the job after it is still run (the queue's
    thread once died with the first, leaving every later job waiting for ever)."""
    from scenes.live.jobs import Jobs
    from scenes.live.service import Ask

    jobs = Jobs(worker=("/nonexistent/python",))
    try:
        first = finished(jobs, jobs.add("video", Ask(), ("title",)))
        assert first.state == "failed" and "FileNotFoundError" in first.error and "/nonexistent/python" in first.error
        jobs.worker = (sys.executable, "-c", "import sys; sys.stdin.read()")
        assert finished(jobs, jobs.add("handout", Ask(), None)).state == "done"
    finally:
        jobs.close()
