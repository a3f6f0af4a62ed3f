"""The live page as a web app (Starlette): the page itself (templates/live.html, static/), and its JSON:

    GET  /api/view      every head of the layer, the followed token's row, links and worked steps
    GET  /api/next      a decoder's next-token distribution, reshaped by temperature and top-k
    POST /api/generate  one token appended, and its row against the grown KV cache

Every answer is computed by one worker thread (`Worker`), the lecturer's requests (from this computer)
ahead of the room's; each client may have a few requests waiting and makes a bounded number a second
(`Limits`). A refused or impossible request is JSON {"error": one line} with a 4xx status; anything
unexpected is a 500 with one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ipaddress
import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..outputs.blocks import FONTS, STYLE
from ..outputs.explore import EXPLORE_STYLE
from ..strings import catalogue
from ..view import QUALITIES, THEMES
from .jobs import RENDERED
from .service import LANGUAGES, MAX_CHARS, TOY, LiveError, Service, number, parse

HERE = Path(__file__).parent
LINKS_JS = HERE.parent / "outputs" / "links.js"  # the explore page's links picture, one script for both pages


@dataclass(frozen=True)
class Limits:
    """What one client (an address) may ask: `rate` requests a second on average, `burst` at once, and
    `waiting` requests queued at a time. `trust_local`: this computer (the lecturer's) is not limited."""

    rate: float = 8.0
    burst: int = 20
    waiting: int = 3
    queue: int = 200  # requests waiting in all: beyond, "busy"
    trust_local: bool = True


class Worker:
    """One thread that computes every answer in turn: the lecturer's first (priority 0), then the room's,
    each in the order asked. A computation is numpy on one BLAS thread: one at a time keeps a second
    core for the server and the renders."""

    def __init__(self):
        self.queue: queue.PriorityQueue = queue.PriorityQueue()
        self.order = itertools.count()
        threading.Thread(target=self._run, name="live-worker", daemon=True).start()

    def submit(self, priority: int, function) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.queue.put((priority, next(self.order), function, future))
        return future

    def _run(self):
        while True:
            _, _, function, future = self.queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as e:  # handed to the request that asked
                future.set_exception(e)


class Clients:
    """Each client's token bucket and its requests waiting."""

    def __init__(self, limits: Limits):
        self.limits, self.lock = limits, threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)
        self.waiting: dict[str, int] = {}

    def admit(self, address: str) -> None:
        with self.lock:
            tokens, then = self.buckets.get(address, (float(self.limits.burst), time.monotonic()))
            now = time.monotonic()
            tokens = min(self.limits.burst, tokens + (now - then) * self.limits.rate)
            if tokens < 1:
                self.buckets[address] = (tokens, now)
                raise LiveError(f"too many requests: at most {self.limits.rate:g} a second from one computer; "
                                "wait a moment", 429)
            if self.waiting.get(address, 0) >= self.limits.waiting:
                raise LiveError("too many requests waiting from this computer; wait for the answers", 429)
            self.buckets[address] = (tokens - 1, now)
            self.waiting[address] = self.waiting.get(address, 0) + 1
            if len(self.buckets) > 10_000:  # a flood of addresses: forget the idle ones
                self.buckets = {a: b for a, b in self.buckets.items() if now - b[1] < 60}

    def done(self, address: str) -> None:
        with self.lock:
            self.waiting[address] = max(0, self.waiting.get(address, 1) - 1)


def is_local(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(error: Exception) -> JSONResponse:
    """A request that could not be answered, as JSON {"error": one line}: a 4xx for what the request
    asked, a 500 naming only the error's kind for anything else."""
    from attncore import InputError

    if isinstance(error, LiveError):
        return JSONResponse({"error": str(error)}, status_code=error.status)
    if isinstance(error, InputError):
        return JSONResponse({"error": str(error)}, status_code=400)
    if isinstance(error, HTTPException):
        return JSONResponse({"error": error.detail}, status_code=error.status_code)
    return JSONResponse({"error": f"internal error ({type(error).__name__}); the page still works"}, status_code=500)


async def refused(request: Request, error: Exception) -> JSONResponse:
    return refusal(error)


def answering(endpoint):
    """`endpoint` answering every failure with `refusal`, never a traceback (nor one in the log)."""
    @functools.wraps(endpoint)
    async def answer(request: Request):
        try:
            return await endpoint(request)
        except Exception as e:
            return refusal(e)

    return answer


def words(language: str) -> dict[str, str]:
    """The page's own words in `language`: the catalogue's live.* keys, and the explore page's."""
    strings = catalogue(language)
    return {k: v for k, v in strings.items() if k.startswith(("live.", "explore.")) and isinstance(v, str)}


def create_app(models: dict[str, str], *, limits: Limits = Limits(), render_remote: bool = False,
               jobs=None, opening: dict | None = None) -> Starlette:
    """The app for the models `models` (scenes.live.service.offered). `render_remote`: other computers
    may ask for videos too. `jobs` (scenes.live.jobs.Jobs): the render queue, None for none. `opening`:
    what the page opens on (scenes.live.opening: render.py --live's --sentence, --model, --lang, ...)."""
    opening = opening or {}
    service, worker, clients = Service(models), Worker(), Clients(limits)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    waiting = [0]

    async def computed(request: Request, function, later: int = 0):
        """`function`'s answer, computed by the worker for this client, or its refusal; `later` puts
        it behind the pictures (a decoder's whole forward pass and LM head)."""
        local = is_local(request)
        address = request.client.host if request.client else "?"
        if not (local and limits.trust_local):
            clients.admit(address)
        elif waiting[0] >= limits.queue * 2:
            raise LiveError("busy: too many requests waiting; try again in a moment", 503)
        if waiting[0] >= limits.queue and not local:
            clients.done(address)
            raise LiveError("busy: too many requests waiting; try again in a moment", 503)
        waiting[0] += 1
        try:
            return await asyncio.wrap_future(worker.submit((0 if local else 1) + later, function))
        finally:
            waiting[0] -= 1
            if not (local and limits.trust_local):
                clients.done(address)

    async def page(request: Request):
        language = request.query_params.get("lang") or opening.get("lang", "en")
        if language not in LANGUAGES:
            language = "en"
        w = words(language)
        state = {k: v for k, v in opening.items() if k not in ("lang", "stages")}
        if request.query_params.get("sentence"):
            state["sentence"] = request.query_params["sentence"][:MAX_CHARS]
        start = {"models": list(models), "lang": language, "maxChars": MAX_CHARS, "toy": TOY,
                 "render": jobs is not None and (render_remote or is_local(request)), "state": state,
                 "quality": jobs.quality if jobs is not None else "low", "theme": jobs.theme if jobs is not None else THEMES[0],
                 "stages": opening.get("stages"),
                 "rendered": RENDERED}
        return templates.TemplateResponse(request, "live.html", {
            "w": w, "lang": language, "languages": LANGUAGES, "models": list(models), "max_chars": MAX_CHARS,
            "qualities": QUALITIES, "themes": THEMES,
            "start": json.dumps(start, ensure_ascii=False).replace("</", "<\\/"),
            "words": json.dumps(w, ensure_ascii=False).replace("</", "<\\/")})

    async def explore_css(request: Request):
        language = request.query_params.get("lang", "en")
        fonts = FONTS.get(language, FONTS["en"])
        return Response(STYLE + fonts + EXPLORE_STYLE, media_type="text/css")

    async def links_js(request: Request):
        return Response(LINKS_JS.read_text(encoding="utf-8"), media_type="text/javascript")

    async def view(request: Request):
        ask = parse(request.query_params, models)
        return JSONResponse(await computed(request, lambda: service.view(ask)))

    def reshaping(request: Request):
        q = request.query_params
        temperature = number(q, "temperature", 1.0)
        top_k = number(q, "top_k", 0, int)
        seed = None if q.get("greedy") in ("1", "true") else number(q, "seed", 0, int)
        return temperature, top_k, seed

    async def next_token(request: Request):
        ask = parse(request.query_params, models)
        temperature, top_k, _ = reshaping(request)
        return JSONResponse(await computed(request, lambda: service.predict(ask, temperature, top_k), 2))

    async def generate(request: Request):
        ask = parse(request.query_params, models)
        temperature, top_k, seed = reshaping(request)
        return JSONResponse(await computed(request, lambda: service.generate(ask, temperature, top_k, seed), 2))

    routes = [Route("/", answering(page)), Route("/favicon.ico", lambda request: Response(status_code=204)),
              Route("/explore.css", explore_css), Route("/links.js", links_js),
              Route("/api/view", answering(view)), Route("/api/next", answering(next_token)),
              Route("/api/generate", answering(generate), methods=["POST"]),
              Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")]
    if jobs is not None:
        routes += [Route(path, answering(endpoint), methods=methods) for path, endpoint, methods in
                   jobs.routes(service, models, computed, lambda request: render_remote or is_local(request))]
    app = Starlette(routes=routes, exception_handlers={HTTPException: refused})
    app.state.service, app.state.worker = service, worker
    return app
