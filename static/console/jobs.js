// Shared by the voice and avatar pages: delete confirmations, progress display, the /ws/jobs/ socket, JSON
// requests, and the job page that follows its engine job live (socket) and re-renders when the state changes
// (a light poll: the server renders each state's controls).
window.consoleJobs = (function () {
  const csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  const csrf = csrfInput ? csrfInput.value : "";
  const TERMINAL = ["SUCCEED", "FAILED", "CANCELED"];

  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => { if (!confirm(form.dataset.confirm)) event.preventDefault(); });
  });

  async function fetchJson(url, options) {
    const res = await fetch(url, {credentials: "same-origin", ...options,
                                  headers: {Accept: "application/json", "X-CSRFToken": csrf, ...(options || {}).headers}});
    let data = {};
    try { data = await res.json(); } catch (error) { data = {error_msg: `HTTP ${res.status}`}; }
    if (!res.ok) throw new Error(data.error_msg || `HTTP ${res.status}`);
    return data;
  }

  function showProgress(holder, job) {
    const bar = holder.querySelector("progress");
    if (bar) bar.value = job.progress;
    const pct = holder.querySelector(".pct");
    if (pct) pct.textContent = `${job.progress}%`;
    const stage = holder.querySelector(".stage");
    if (stage) stage.textContent = job.stage || "";
  }

  function connect(onJob) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "job") onJob(msg.job);
    };
    socket.onclose = (event) => { if (event.code !== 4403) setTimeout(() => connect(onJob), 3000); };
  }

  // A job page (`page` holds data-state-url, data-state, data-engine-job-id, data-live, data-ws): the engine
  // job's progress from the socket into `panel`; the state polled every `pollMs` while live, the page reloaded
  // when it changes. Returns the poll function (pages call it after changing the job themselves).
  function followJobPage(page, panel, pollMs) {
    let polling = false;
    async function poll() {
      if (polling) return;
      polling = true;
      try {
        const data = await fetchJson(page.dataset.stateUrl);
        if (data.job.state !== page.dataset.state) { location.reload(); return; }
        page.dataset.engineJobId = data.engine_job_id || "";
        showProgress(panel, data.job);
      } catch (error) {
        // network hiccup: the next tick tries again
      } finally {
        polling = false;
      }
    }
    if (page.dataset.live) {
      setInterval(poll, pollMs);
      if (page.dataset.ws && "WebSocket" in window) {
        connect((job) => {
          if (job.job_id !== page.dataset.engineJobId) return;
          showProgress(panel, job);
          if (TERMINAL.includes(job.state)) poll();
        });
      }
    }
    return poll;
  }

  return {csrf, TERMINAL, fetchJson, showProgress, connect, followJobPage};
})();
