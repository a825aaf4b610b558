// Voices: play buttons (one shared player), live training progress over /ws/jobs/ (the engine job of each voice
// training job) with a light poll of the job's state, and the package upload with a progress bar.
(function () {
  const {csrf, TERMINAL, fetchJson, showProgress, connect, followJobPage} = window.consoleJobs;
  const POLL_MS = 3000;

  // --- play buttons ---------------------------------------------------------------------------------
  const player = new Audio();
  let playing = null;
  function stopPlaying() {
    player.pause();
    if (playing) { playing.classList.remove("playing"); playing.textContent = playing.dataset.label; }
    playing = null;
  }
  player.addEventListener("ended", stopPlaying);
  player.addEventListener("error", () => {
    if (playing) { playing.dataset.state = "error"; playing.title = "the sample could not be played"; }
    stopPlaying();
  });
  document.querySelectorAll("button.play[data-src]").forEach((button) => {
    button.dataset.label = button.textContent;
    button.addEventListener("click", () => {
      const same = playing === button;
      stopPlaying();
      if (same) return;
      playing = button;
      button.classList.add("playing");
      button.textContent = "■";
      button.dataset.state = "loading";
      player.src = button.dataset.src;
      player.play().then(() => { button.dataset.state = "playing"; }).catch(() => stopPlaying());
    });
  });

  // Job lists (library, voice production): rows follow their engine job; a finished one refreshes its row.
  const rows = document.querySelectorAll("tr[data-voice-job-id]");
  const listLive = document.getElementById("voice-live");
  async function refreshRow(row) {
    try {
      const data = await fetchJson(row.dataset.stateUrl);
      const state = data.job.state;
      row.dataset.state = state;
      row.dataset.engineState = data.engine_state || "";
      if (data.engine_job_id) row.dataset.jobId = data.engine_job_id;
      row.querySelector("[data-testid=voice-job-state]").textContent = state;
      row.querySelector("[data-testid=voice-job-reason]").textContent = data.job.reason || "";
      showProgress(row, data.job);
    } catch (error) { /* the next event tries again */ }
  }
  if (rows.length && listLive && listLive.dataset.live && "WebSocket" in window) {
    connect((job) => {
      const row = document.querySelector(`tr[data-job-id="${job.job_id}"]`);
      if (!row) return;
      showProgress(row, job);
      if (TERMINAL.includes(job.state) && row.dataset.engineState !== job.state) refreshRow(row);
      row.dataset.engineState = job.state;
    });
  }

  // Job page: progress from the socket; the state is polled while the job moves on, and the page re-rendered
  // when it changes (the server renders each state's controls).
  const voiceJob = document.getElementById("voice-job");
  if (voiceJob) {
    followJobPage(voiceJob, document.querySelector("[data-testid=job-state-panel]"), POLL_MS);
  }

  // --- package upload with progress (the form also works without this script) ----------------------------
  const packageForm = document.getElementById("package-form");
  if (packageForm) {
    packageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = packageForm.querySelector("input[type=file]");
      if (!input.files.length) return;
      const bar = packageForm.querySelector("progress");
      const result = packageForm.querySelector("[data-testid=package-result]");
      const button = packageForm.querySelector("button[type=submit]");
      const body = new FormData();
      body.append("file", input.files[0]);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", packageForm.action);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false; bar.value = 0; button.disabled = true;
      result.className = "small muted"; result.textContent = "uploading…";
      result.dataset.state = "uploading";
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        bar.value = Math.round(100 * e.loaded / e.total);
        if (e.loaded === e.total) result.textContent = "checking the recordings…";
      };
      xhr.onload = () => {
        button.disabled = false;
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (error) { data = {error_msg: `HTTP ${xhr.status}`}; }
        if (xhr.status >= 400) {
          result.className = "small error"; result.textContent = data.error_msg || `HTTP ${xhr.status}`;
          result.dataset.state = "failed";
          return;
        }
        result.className = "small"; result.textContent = data.message || "uploaded";
        result.dataset.state = "done";
        document.dispatchEvent(new CustomEvent("voicejob:state", {detail: data}));
      };
      xhr.onerror = () => {
        button.disabled = false; result.className = "small error"; result.textContent = "network error";
        result.dataset.state = "failed";
      };
      xhr.send(body);
    });
  }
})();
