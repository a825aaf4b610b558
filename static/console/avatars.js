// Avatars: the training job page (the training video PUT to its signed upload URL in resumable pieces with a
// progress bar, the other files posted with a progress bar, the state followed live: engine progress over
// /ws/jobs/ and a light poll that re-renders the page when the job changes state), the job lists, and the model
// page's "Try it" (start a speech clip, follow its job, play the MP4).
(function () {
  const {csrf, TERMINAL, fetchJson, showProgress, connect, followJobPage} = window.consoleJobs;
  const POLL_MS = 2000;
  const PIECE = 8 * 1024 * 1024; // bytes per Content-Range piece of the training video
  const RETRIES = 5;

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // --- job lists: rows follow their engine job; a finished one re-reads its avatar job ----------------------
  const listLive = document.getElementById("avatar-live");
  if (listLive && listLive.dataset.live && document.querySelector("tr[data-avatar-job-id]") && "WebSocket" in window) {
    connect(async (job) => {
      const row = document.querySelector(`tr[data-avatar-job-id][data-job-id="${job.job_id}"]`);
      if (!row) return;
      showProgress(row, job);
      if (!TERMINAL.includes(job.state)) return;
      try {
        const url = row.querySelector("[data-testid=avatar-job-link]").getAttribute("href") + "state";
        const data = await fetchJson(url);
        row.dataset.state = data.job.state;
        row.querySelector("[data-testid=avatar-job-state]").textContent = data.job.state;
        row.querySelector("[data-testid=avatar-job-reason]").textContent = data.job.reason || "";
      } catch (error) { /* the page shows it on the next visit */ }
    });
  }

  // --- the job page ----------------------------------------------------------------------------------
  const avatarJob = document.getElementById("avatar-job");
  if (avatarJob) {
    const panel = document.querySelector("[data-testid=job-state-panel]");
    followJobPage(avatarJob, panel, POLL_MS);

    // After an upload: each file's status, what is still missing, the submit button.
    function showMaterial(data) {
      const files = data.job.files || {};
      Object.keys(files).forEach((field) => {
        const status = document.querySelector(`[data-testid="${field}-status"]`);
        if (!status || !files[field].uploaded || status.dataset.state === "failed") return;
        status.className = "small ok"; status.dataset.state = "done";
        status.textContent = `Uploaded ✓ ${files[field].file_name || ""}`;
      });
      const missing = data.job.missing || [];
      const box = document.getElementById("missing");
      if (box) {
        box.hidden = !missing.length;
        const list = box.querySelector("ul");
        list.replaceChildren(...missing.map((item) => { const li = document.createElement("li"); li.textContent = item; return li; }));
      }
      const submit = document.querySelector("[data-testid=submit-job]");
      if (submit) submit.disabled = missing.length > 0;
    }

    function putPiece(url, blob, range, onProgress) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", url);
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        if (range) xhr.setRequestHeader("Content-Range", range);
        xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded); };
        xhr.onload = () => {
          let data = {};
          try { data = JSON.parse(xhr.responseText); } catch (error) { /* S3 answers XML or nothing */ }
          if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
          const error = new Error(data.error_msg || `the upload was refused (HTTP ${xhr.status})`);
          error.final = xhr.status >= 400 && xhr.status < 500 && xhr.status !== 409;
          reject(error);
        };
        xhr.onerror = () => reject(new Error("the connection was lost during the upload"));
        xhr.send(blob);
      });
    }

    async function arrived(url) {
      const res = await fetch(url, {method: "HEAD", credentials: "same-origin"});
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return Number(res.headers.get("Upload-Offset") || 0);
    }

    // The training video to its signed URL: Content-Range pieces; after a dropped connection (or on a later
    // try with the same file) HEAD says how much arrived and the upload goes on from there.
    async function sendVideo(url, file, onProgress) {
      if (!avatarJob.dataset.resumable) { // S3: one presigned PUT
        await putPiece(url, file, null, (loaded) => onProgress(loaded / file.size));
        return;
      }
      const key = `avatar-upload:${avatarJob.dataset.jobId}`;
      const signature = `${url.split("?")[0]}|${file.name}|${file.size}|${file.lastModified}`;
      let offset = 0;
      try {
        if (localStorage.getItem(key) === signature) offset = await arrived(url);
      } catch (error) { offset = 0; }
      if (offset >= file.size) offset = 0;
      localStorage.setItem(key, signature);
      const piece = Number(avatarJob.dataset.pieceBytes) || PIECE;
      let failures = 0;
      while (offset < file.size) {
        const end = Math.min(offset + piece, file.size);
        try {
          const start = offset;
          const data = await putPiece(url, file.slice(start, end), `bytes ${start}-${end - 1}/${file.size}`,
                                      (loaded) => onProgress((start + loaded) / file.size));
          offset = data.received_bytes === undefined ? end : Number(data.received_bytes);
          failures = 0;
        } catch (error) {
          if (error.final || ++failures > RETRIES) { localStorage.removeItem(key); throw error; }
          await sleep(1000 * failures);
          try { offset = await arrived(url); } catch (lost) { /* try the same piece again */ }
        }
      }
      localStorage.removeItem(key);
    }

    function postFile(form, file, onProgress) {
      return new Promise((resolve, reject) => {
        const body = new FormData();
        body.append(form.dataset.field, file);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("X-CSRFToken", csrf);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
        xhr.onload = () => {
          let data = {};
          try { data = JSON.parse(xhr.responseText); } catch (error) { data = {error_msg: `HTTP ${xhr.status}`}; }
          if (xhr.status >= 400) reject(new Error(data.error_msg || `HTTP ${xhr.status}`)); else resolve(data);
        };
        xhr.onerror = () => reject(new Error("network error"));
        xhr.send(body);
      });
    }

    document.querySelectorAll("form.avatar-file-form").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const input = form.querySelector("input[type=file]");
        if (!input.files.length) return;
        const file = input.files[0];
        const field = form.dataset.field;
        const bar = form.querySelector("progress");
        const status = form.querySelector(`[data-testid="${field}-status"]`);
        const button = form.querySelector("button[type=submit]");
        const progress = (share) => {
          bar.value = Math.round(100 * share);
          status.textContent = share >= 1 ? "checking the file…" : `uploading ${bar.value}%`;
        };
        bar.hidden = false; bar.value = 0; button.disabled = true;
        status.className = "small muted"; status.dataset.state = "uploading"; status.textContent = "starting…";
        try {
          if (form.id === "video-form") {
            const body = new FormData();
            if (form.dataset.replace) body.append("replace_video", "1");
            const urls = await fetchJson(form.dataset.urlsUrl, {method: "POST", body});
            const url = (urls.training_video_upload_url || [])[0];
            if (!url) throw new Error("this job takes no training video now");
            await sendVideo(url, file, progress);
            form.dataset.replace = "1";
            showMaterial(await fetchJson(avatarJob.dataset.stateUrl));
          } else {
            showMaterial(await postFile(form, file, progress));
          }
          bar.value = 100;
          status.className = "small ok"; status.dataset.state = "done";
          status.textContent = `Uploaded ✓ ${file.name}`;
          button.textContent = "Replace";
        } catch (error) {
          status.className = "small error"; status.dataset.state = "failed"; status.textContent = error.message;
        } finally {
          button.disabled = false;
        }
      });
    });
  }

  // --- model page: Try it ----------------------------------------------------------------------------
  const speakForm = document.getElementById("speak-form");
  if (speakForm) {
    const textPart = speakForm.querySelector(".speak-text");
    const audioPart = speakForm.querySelector(".speak-audio");
    const mode = () => speakForm.querySelector("input[name=mode]:checked").value;
    function showMode() { textPart.hidden = mode() !== "text"; audioPart.hidden = mode() !== "audio"; }
    speakForm.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", showMode));
    showMode();
    const part = (name) => speakForm.querySelector(`[data-testid="${name}"]`);
    const bar = part("speak-progress"), pct = part("speak-percent"), stage = part("speak-stage");
    const status = part("speak-status"), video = part("speak-video"), button = part("speak-start");

    function say(text, kind, state) { status.textContent = text; status.className = `small ${kind || ""}`; speakForm.dataset.state = state; }

    async function follow(job) {
      while (!TERMINAL.includes(job.state)) {
        bar.value = job.progress; pct.textContent = `${job.progress}%`; stage.textContent = job.stage || "";
        await sleep(1000);
        try { job = await fetchJson(job.state_url); } catch (error) { /* try again */ }
      }
      bar.value = job.progress; pct.textContent = `${job.progress}%`; stage.textContent = "";
      if (job.state === "SUCCEED" && job.video_url) {
        video.src = job.video_url; video.hidden = false;
        say("The clip is ready.", "ok", "done");
        video.play().catch(() => { /* autoplay refused: the controls are there */ });
      } else {
        say(job.error_msg || `the clip was not made (${job.state})`, "error", "failed");
      }
    }

    speakForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(speakForm);
      if (mode() === "text") body.delete("audio"); else { body.delete("text"); body.delete("voice_id"); }
      button.disabled = true; video.hidden = true; video.removeAttribute("src");
      bar.hidden = false; bar.value = 0; pct.textContent = ""; stage.textContent = "";
      say("starting…", "muted", "running");
      try {
        await follow(await fetchJson(speakForm.action, {method: "POST", body}));
      } catch (error) {
        say(error.message, "error", "failed");
      } finally {
        button.disabled = false;
      }
    });
  }
})();
