// "Make it from what is on screen": asks the server to make the video (or slides, handout, page) of the
// current view, then lists every render (from any tab, in the order asked) with its progress, a cancel
// button, and the result to play or download. The list is polled while something is waiting or running.
window.liveJobs = ({query, say, $}) => {
  let polling = null;

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
      bar.max = job.total || 1; bar.value = job.done;
      const cancel = document.createElement("button");
      cancel.type = "button"; cancel.textContent = say("live.cancel");
      cancel.addEventListener("click", async () => { await fetch(`/api/jobs/${job.id}/cancel`, {method: "POST"}); poll(); });
      li.append(" ", bar, " ", cancel);
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
    const response = await fetch("/api/jobs");
    if (!response.ok) return;
    const jobs = await response.json();
    $("jobs").replaceChildren(...jobs.map(row));
    if (jobs.some(j => j.state === "waiting" || j.state === "running")) polling = setTimeout(poll, 700);
  }

  $("make-button").addEventListener("click", async () => {
    const response = await fetch(`/api/make?${query({output: $("make-output").value})}`, {method: "POST"});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const m = $("message"); m.hidden = false; m.textContent = say("live.error", {error: body.error || response.status});
    }
    poll();
  });
  poll();
};
