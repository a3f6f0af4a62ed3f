// The live page: the lecturer types, the page asks the server for the numbers (JSON) a moment after the
// last keystroke and draws them; a click on a token or a head asks again. Every number shown comes
// formatted from the server (attncore's, as the video writes it); this script only places it.
(() => {
  const start = JSON.parse(document.getElementById("live-start").textContent);
  const words = JSON.parse(document.getElementById("live-words").textContent);
  const $ = id => document.getElementById(id);
  const DEBOUNCE = 150;  // ms after the last keystroke
  const say = (key, params = {}) => (words[key] || key).replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "");
  const state = {model: start.models[0], sentence: "I have a cat", layer: 0, head: "auto",
                 focus: null, causal: false, positional: false, contrast: "", ...start.state};  // render.py --live's options
  // what the benchmark reads: when the last input came, when its request left, when its pictures were drawn
  // and how many next-token distributions and generated tokens are shown (the tests wait on them)
  const live = window.__live = {asked: 0, drawn: 0, input: 0, sent: 0, done: 0, data: null, next: null,
                                predicted: 0, generated: 0};
  let timer = null, pending = null, asked = 0;

  const fromHash = () => {
    const p = new URLSearchParams(location.hash.slice(1));
    for (const k of ["model", "sentence", "contrast", "head"]) if (p.has(k)) state[k] = p.get(k);
    for (const k of ["layer", "focus"]) if (p.has(k)) state[k] = Number(p.get(k));
    for (const k of ["causal", "positional"]) if (p.has(k)) state[k] = p.get(k) === "1";
    if (!start.models.includes(state.model)) state.model = start.models[0];
  };

  function query(extra = {}) {
    const q = new URLSearchParams({model: state.model, sentence: state.sentence, layer: state.layer, head: state.head,
                                   lang: start.lang});
    if (state.focus !== null) q.set("focus", state.focus);
    if (state.model === start.toy) { q.set("causal", state.causal ? 1 : 0); q.set("positional", state.positional ? 1 : 0); }
    if (state.contrast.trim()) q.set("contrast", state.contrast);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q;
  }

  function showError(text) {
    const m = $("message");
    m.hidden = !text;
    m.textContent = text ? say("live.error", {error: text}) : "";
  }

  async function ask(path, extra = {}, method = "GET") {
    const response = await fetch(`${path}?${query(extra)}`, {method, signal: pending ? pending.signal : undefined});
    const body = await response.json().catch(() => ({error: `${response.status}`}));
    if (!response.ok) throw new Error(body.error || String(response.status));
    return body;
  }

  async function refresh() {
    const n = ++asked;
    if (pending) pending.abort();
    pending = new AbortController();
    live.asked = n;
    live.sent = performance.now();
    document.body.classList.add("busy");
    try {
      const data = await ask("/api/view");
      if (n !== asked) return;
      draw(data);
      showError("");
      $("generate").hidden = !data.decoder;
      if (data.decoder && $("generating").open) predict();  // the whole model and its LM head: only when asked
      requestAnimationFrame(() => { live.drawn = n; live.done = performance.now(); live.data = data; });
    } catch (e) {
      if (e.name === "AbortError" || n !== asked) return;
      showError(e.message);
      live.drawn = n; live.done = performance.now(); live.data = null;
    } finally {
      if (n === asked) document.body.classList.remove("busy");
    }
    const hash = "#" + new URLSearchParams({model: state.model, sentence: state.sentence, layer: state.layer,
                                            head: state.head, ...(state.focus === null ? {} : {focus: state.focus})});
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function later() {
    live.input = performance.now();
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE);
  }

  function options(select, values, chosen) {
    const have = [...select.options].map(o => o.value).join();
    if (have !== values.map(v => v[0]).join()) {
      select.replaceChildren(...values.map(([v, text]) => new Option(text, v)));
    }
    select.value = String(chosen);
  }

  function draw(d) {
    $("picture").hidden = false;
    state.focus = d.focus;
    $("intro").innerHTML = d.intro;
    $("sizes").textContent = d.sizes;
    options($("layer"), [...Array(d.layers).keys()].map(n => [String(n), String(n)]), d.layer);
    options($("head"), [["auto", say("live.auto")], ...d.heads.map((h, n) => [String(n), String(n)])],
            d.auto ? "auto" : d.head);
    $("tokens").replaceChildren(...d.tokens.map((t, k) => {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.k = k;
      b.setAttribute("aria-pressed", String(k === d.focus));
      const small = document.createElement("small"); small.textContent = k;
      b.append(small, " " + t);
      return b;
    }));
    $("heads").replaceChildren(...d.heads.map((h, n) => {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.h = n;
      b.setAttribute("aria-pressed", String(n === d.head));
      const img = new Image(); img.alt = ""; img.src = h.png;
      const name = document.createElement("span"); name.textContent = h.name;
      const role = document.createElement("small"); role.className = "role"; role.textContent = h.role + " ";
      const share = document.createElement("b"); share.textContent = h.share; role.append(share);
      b.append(img, name, role);
      return b;
    }));
    const v = d.view;
    $("focus").textContent = v.t;
    $("focus-index").textContent = v.i;
    $("head-name").textContent = d.auto ? say("live.auto_head", {head: d.heads[d.head].name}) : d.heads[d.head].name;
    $("focus-tokens").replaceChildren(...d.tokens.map(t => { const th = document.createElement("th"); th.textContent = t; return th; }));
    $("focus-weights").innerHTML = v.w;
    $("worked").innerHTML = v.k;
    drawAttentionLinks($("links"), [...d.tokens.keys()], d.tokens, d.focus, v.a);
    $("contrast-pair").hidden = !d.contrast;
    $("pair").innerHTML = d.contrast ? d.contrast.svg : "";
    $("pair-lines").innerHTML = d.contrast ? d.contrast.lines : "";
    for (const e of document.querySelectorAll(".toy")) e.hidden = d.model !== start.toy;
    $("make").hidden = !start.render;
    if (jobs) jobs.stages(d.stages);
  }

  // ---- generating (decoders) ----------------------------------------------------------------------
  function reshaping() {
    return {temperature: $("temperature").value, top_k: $("top-k").value || 0, seed: $("seed").value || 0,
            greedy: $("greedy").checked ? 1 : 0};
  }

  async function predict() {
    const n = asked;
    try {
      const p = await ask("/api/next", reshaping());
      if (n !== asked) return;
      $("next-caption").textContent = say("live.next", {n: p.tokens.length, vocab: p.vocabulary.toLocaleString("en")});
      $("next").replaceChildren(...p.tokens.map((t, i) => {
        const row = document.createElement("div"); row.className = "bar";
        const name = document.createElement("span"); name.className = "name"; name.textContent = t;
        const bar = document.createElement("span"); bar.className = "fill"; bar.style.width = `${Math.max(0.5, 100 * p.width[i] / p.width[0])}%`;  // the likeliest fills the row
        const value = document.createElement("span"); value.className = "p"; value.textContent = p.p[i];
        row.append(name, bar, value);
        return row;
      }));
      live.next = p;
      live.predicted++;
    } catch (e) {
      if (e.name !== "AbortError") showError(e.message);
    }
  }

  async function generate() {
    try {
      const g = await ask("/api/generate", reshaping(), "POST");
      state.sentence = g.sentence;
      $("sentence").value = g.sentence;
      state.focus = null;
      $("grown").hidden = false;
      $("grown-caption").textContent = say("live.new_row", {token: g.token, position: g.position, rows: g.rows});
      const line = (cells, tag) => {
        const tr = document.createElement("tr");
        for (const text of cells) { const c = document.createElement(tag); c.textContent = text; tr.append(c); }
        return tr;
      };
      $("grown-row").replaceChildren(line(["", ...g.row.map(r => r[0])], "th"),
                                     line(["q · k", ...g.row.map(r => r[2])], "td"),
                                     line(["÷ √d_k", ...g.row.map(r => r[3])], "td"),
                                     line([say("live.row_weight"), ...g.row.map(r => r[1])], "td"));
      $("cache").textContent = say("live.cache", {rows: g.rows, per_token: g.per_token.toLocaleString("en"),
                                                  bytes: g.cache_bytes.toLocaleString("en")});
      await refresh();
      live.generated++;
    } catch (e) {
      if (e.name !== "AbortError") showError(e.message);
    }
  }

  // ---- events -------------------------------------------------------------------------------------
  fromHash();
  $("sentence").value = state.sentence;
  $("contrast").value = state.contrast;
  $("model").value = state.model;
  $("causal").checked = state.causal;
  $("positional").checked = state.positional;
  $("sentence").maxLength = $("contrast").maxLength = start.maxChars;
  $("sentence").addEventListener("input", e => { state.sentence = e.target.value; state.focus = null; later(); });
  $("contrast").addEventListener("input", e => { state.contrast = e.target.value; later(); });
  $("model").addEventListener("change", e => {
    state.model = e.target.value; state.layer = 0; state.head = "auto"; state.focus = null; refresh();
  });
  $("layer").addEventListener("change", e => { state.layer = Number(e.target.value); refresh(); });
  $("head").addEventListener("change", e => { state.head = e.target.value; refresh(); });
  for (const k of ["causal", "positional"]) $(k).addEventListener("change", e => { state[k] = e.target.checked; refresh(); });
  $("tokens").addEventListener("click", e => {
    const b = e.target.closest("button");
    if (b) { live.input = performance.now(); state.focus = Number(b.dataset.k); refresh(); }
  });
  $("heads").addEventListener("click", e => {
    const b = e.target.closest("button");
    if (b) { live.input = performance.now(); state.head = b.dataset.h; refresh(); }
  });
  $("temperature").addEventListener("input", e => { $("temperature-value").value = Number(e.target.value).toFixed(1); predict(); });
  $("top-k").addEventListener("input", predict);
  $("greedy").addEventListener("change", predict);
  $("generate-button").addEventListener("click", generate);
  $("generating").addEventListener("toggle", () => { if ($("generating").open) predict(); });
  for (const a of document.querySelectorAll(".languages a")) {  // the page in another language, on the same view
    a.addEventListener("click", e => { e.preventDefault(); location.href = `?lang=${a.dataset.lang}${location.hash}`; });
  }
  const jobs = start.render ? window.liveJobs({query, say, $, start}) : null;
  refresh();
})();
