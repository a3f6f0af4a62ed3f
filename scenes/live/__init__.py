"""The live classroom page (`render.py --live`): the lecturer types a sentence the class calls out, and
every head of the layer, the followed token's row, links and worked steps are on the page a moment
later, computed on this computer (no network, no CDN: every file is served by the app); a minimal pair
side by side; for decoders the next token, temperature, top-k and generating; and the video of what is
on screen made in the background (scenes.live.jobs).

    app.py      the web app (Starlette): the page, its JSON, the limits per client
    service.py  the computation: models kept loaded, every head of a layer kept per sentence
    jobs.py     the render queue: outputs made in a worker process, one at a time, in order
    templates/, static/   the page's HTML, CSS and JavaScript (package data)

Safety (docs/live.md): it listens on 127.0.0.1 unless --host says otherwise; a request names only a
model the lecturer started it with, never a path; sentences are bounded; other computers are
rate-limited and may not ask for renders unless --remote-render.
"""

from __future__ import annotations

import signal
import socket
import sys

DEFAULT_PORT = 8737


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def opening(found: dict[str, str], given: dict) -> dict:
    """What the page opens on, from render.py --live's options `given` (the page's fields: model (as
    given: a name, folder or file), sentence, layer, head, lang, causal, positional, contrast, stages),
    checked as a request's fields are (scenes.live.service.parse). Raises InputError, one line naming
    the option, for a value the page would refuse."""
    import attncore
    from attncore import InputError

    from .service import parse

    query = {k: str(int(v) if isinstance(v, bool) else v) for k, v in given.items() if v is not None and k != "stages"}
    if "model" in query:  # shown by its name on the page (service.offered)
        query["model"] = next(shown for shown, source in found.items() if source == given["model"])
    try:
        ask = parse({"sentence": query.pop("sentence", attncore.DEFAULT_SENTENCE), **query}, found)
    except InputError as e:
        raise InputError(f"--{e}") from None
    state = {k: getattr(ask, k) for k in ("model", "layer", "causal", "positional")}
    state["head"] = "auto" if ask.head is None else str(ask.head)
    if "sentence" in given:
        state["sentence"] = ask.sentence
    if ask.contrast is not None:
        state["contrast"] = ask.contrast
    return {**state, "lang": ask.language, "stages": list(given["stages"]) if given.get("stages") else None}


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, models: tuple[str, ...] = (), render_remote: bool = False,
          out=None, quality: str = "low", given: dict | None = None, theme: str = "dark") -> None:
    """Serve the page until Ctrl-C (or SIGTERM): its address is the first line written to `out`
    (stdout), and no browser is opened. `quality`, `theme`: the videos' quality and colours unless the page
    chooses others;
    `given`: what the page opens on (`opening`). Raises InputError (one line) for a model that cannot be
    found, a port that cannot be taken, or a starting value the page would refuse."""
    import uvicorn

    from attncore import InputError

    from .app import create_app
    from .jobs import Jobs
    from .service import offered

    out = out or sys.stdout
    found = offered(tuple(models))
    start = opening(found, given or {})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # from here a browser may connect: its request waits until the server runs
    except OSError as e:
        sock.close()
        raise InputError(f"port: cannot listen on {host}:{port} ({e.strerror or e})") from None
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    out.write(f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/\n")
    if shown != host:
        out.write(f"also on this computer's network addresses, port {port} (--host {host})\n")
    out.write(f"models: {', '.join(found)}; Ctrl-C stops\n")
    out.flush()
    jobs = Jobs(quality, theme)
    app = create_app(found, render_remote=render_remote, jobs=jobs, opening=start)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=2))
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:  # uvicorn stops on the signal, then raises it again: that ends here, quietly
        signal.signal(s, _raise_interrupt)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        jobs.close()
        sock.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    out.write("stopped\n")
    out.flush()
