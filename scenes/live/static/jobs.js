// "Make it from what is on screen": asks the server to make the video (or slides, handout, page) of the
// current view, then lists every render (from any tab, in the order asked) with its progress, a cancel
// button, and the result to play or download. The list is polled while something is waiting or running.
// The quality, the colours (dark or light) and the video's stages are chosen beside the button: the stages offered are the view's whole
// video (the server's "stages", from the stages' registration), all ticked unless render.py --live --stage said.
window.liveJobs = ({query, say, $, start}) => {
  let polling = null;
  const unticked = new Set();  // stages the lecturer unticked, kept while the view changes
  $("make-quality").value = start.quality;
  $("make-theme").value = start.theme;

  function stages(names) {
    if (start.stages) {  // render.py --live --stage: those ticked at first
      for (const s of names) if (!start.stages.includes(s)) unticked.add(s);
      start.stages = null;
    }
    const have = [...$("stage-boxes").querySelectorAll("input")].map(b => b.value).join();
    if (have === names.join()) return;
    $("stage-boxes").replaceChildren(...names.map(name => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox"; box.value = name; box.checked = !unticked.has(name);
      box.addEventListener("change", () => { if (box.checked) unticked.delete(name); else unticked.add(name); });
      label.title = name;  // render.py's --stage name
      label.append(box, " ", say("live.stage." + name));
      return label;
    }));
  }

  function showStages() { $("make-stages").hidden = !start.rendered.includes($("make-output").value); }

  function row(job) {
    const li = document.createElement("li");
    li.dataset.id = job.id;
    const what = document.createElement("span");
    what.textContent = `${say("live.make." + job.output)} · “${job.sentence}” · `;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = job.state === "failed" ? say("live.failed", {error: job.error})
      : say("live." + job.state) + (job.state === "waiting" && job.position > 0 ? ` (${job.position})` : "");
    li.append(what, state);
    if (job.state === "running" || job.state === "waiting") {
      const bar = document.createElement("progress");
      bar.max = job.total; bar.value = job.done;  // the total is known from the first report
      const count = document.createElement("span");
      count.className = "count"; count.textContent = `${job.done}/${job.total}`;
      const cancel = document.createElement("button");
      cancel.type = "button"; cancel.textContent = say("live.cancel");
      cancel.addEventListener("click", async () => { await fetch(`/api/jobs/${job.id}/cancel`, {method: "POST"}); poll(); });
      li.append(" ", bar, " ", count, " ", cancel);
    }
    for (const f of job.files) {
      if (f.name.endsWith(".mp4")) {
        const video = document.createElement("video");
        video.controls = true; video.src = f.url; video.preload = "metadata";
        li.append(video);
      }
      const a = document.createElement("a");
      a.href = f.url; a.download = f.name; a.textContent = `${say("live.download")} ${f.name}`;
      li.append(" ", a);
    }
    return li;
  }

  async function poll() {
    clearTimeout(polling);
    let jobs;
    try {
      const response = await fetch("/api/jobs");
      if (!response.ok) throw new Error(response.status);
      jobs = await response.json();
    } catch {  // a lost or refused answer: ask again later, or a finished video would never show
      polling = setTimeout(poll, 2000);
      return;
    }
    $("jobs").replaceChildren(...jobs.map(row));
    if (jobs.some(j => j.state === "waiting" || j.state === "running")) polling = setTimeout(poll, 700);
  }

  $("make-button").addEventListener("click", async () => {
    const output = $("make-output").value, extra = {output, quality: $("make-quality").value, theme: $("make-theme").value};
    if (start.rendered.includes(output)) {
      extra.stages = [...$("stage-boxes").querySelectorAll("input:checked")].map(b => b.value).join(",");
    }
    const response = await fetch(`/api/make?${query(extra)}`, {method: "POST"});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const m = $("message"); m.hidden = false; m.textContent = say("live.error", {error: body.error || response.status});
    }
    poll();
  });
  $("make-output").addEventListener("change", showStages);
  showStages();
  poll();
  return {stages};
};
