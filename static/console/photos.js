// Photo digital human page: upload a photo (shown at once) and follow its check until the report appears; pick a
// preset instead; drive it with a text (live character count) and a voice, or an audio file; generate and follow
// the video job (the /ws/jobs/ socket for live progress, a light poll for the state), then play it. Errors are
// shown next to the field the server names; the recent videos table follows the socket.
(function () {
  const studio = document.getElementById("photo-studio");
  if (!studio) return;
  const {csrf, TERMINAL, showProgress, connect} = window.consoleJobs;
  const KIND = "videos.photo_video";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const part = (root, name) => root && root.querySelector(`[data-testid="${name}"]`);

  // --- the socket: every job of the tenant; listeners pick theirs ----------------------------------------------
  const listeners = new Set();
  if (studio.dataset.ws && "WebSocket" in window) connect((job) => listeners.forEach((listener) => listener(job)));

  async function request(url, options) {
    const res = await fetch(url, {credentials: "same-origin", ...options,
                                  headers: {Accept: "application/json", "X-CSRFToken": csrf}});
    let data = {};
    try { data = await res.json(); } catch (error) { data = {error_msg: `HTTP ${res.status}`}; }
    return {ok: res.ok, status: res.status, data};
  }

  // Follow a job until it ends: progress from the socket as it happens, the state polled every second.
  async function follow(job, holder) {
    let latest = job, shown = job.progress || 0;
    const show = (state) => {
      shown = Math.max(shown, state.progress || 0);
      showProgress(holder, {...state, progress: shown});
      holder.dataset.state = state.state;
    };
    let wake = null;
    const listener = (update) => {
      if (update.job_id !== job.job_id) return;
      show(update);
      if (TERMINAL.includes(update.state) && wake) wake();
    };
    listeners.add(listener);
    try {
      show(latest);
      while (!TERMINAL.includes(latest.state)) {
        await Promise.race([sleep(1000), new Promise((resolve) => { wake = resolve; })]);
        try {
          const res = await request(job.state_url);
          if (res.ok) latest = res.data;
        } catch (error) { /* network hiccup: the next tick tries again */ }
        show(latest);
      }
    } finally {
      listeners.delete(listener);
    }
    return latest;
  }

  // --- field errors ---------------------------------------------------------------------------------------------
  function clearErrors(root) { root.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; }); }

  function showError(root, field, message) {
    const escaped = String(field || "form").replace(/["\\]/g, "\\$&");
    const target = root.querySelector(`.field-error[data-fields~="${escaped}"]`) ||
                   root.querySelector('.field-error[data-fields~="form"]');
    if (target) target.textContent = message; else alert(message);
  }

  // --- photo choice -----------------------------------------------------------------------------------------------
  const form = document.getElementById("generate-form");
  const uploadForm = document.getElementById("photo-upload-form");
  const uploadChoice = part(studio, "photo-choice-upload");
  const uploadLabel = document.getElementById("upload-choice");
  const chosen = document.getElementById("chosen-photo");
  const detection = document.getElementById("detection");
  const detectionProgress = part(detection, "detection-progress");
  const reportHolder = part(detection, "detection-report-holder");
  const generateButton = part(form, "generate");
  const reason = part(form, "generate-reason");
  let generating = false;

  function choice() { return studio.querySelector("input[type=radio][name=photo]:checked"); }

  function updateGenerate() {
    if (!form) return;
    const picked = choice();
    let why = "";
    if (!picked) why = "Choose a photo: upload one or pick a preset.";
    else if (picked.dataset.verdict === "checking" || !picked.value) why = "The photo is being checked…";
    else if (picked.dataset.verdict === "fail") why = picked.dataset.reason || "This photo failed the check.";
    else if (generating) why = "A video is being made…";
    generateButton.disabled = Boolean(why);
    reason.textContent = why;
    form.dataset.photoOk = why ? "" : "1";
  }
  studio.querySelectorAll("input[type=radio][name=photo]").forEach((radio) => radio.addEventListener("change", updateGenerate));

  async function followDetection(job) {
    detection.dataset.jobId = job.job_id;
    reportHolder.innerHTML = "";
    detectionProgress.hidden = false;
    const done = TERMINAL.includes(job.state) && job.report_html ? job : await follow(job, detectionProgress);
    detectionProgress.hidden = true;
    reportHolder.innerHTML = done.report_html || `<p class="error">${done.error_msg || done.state}</p>`;
    detection.dataset.state = done.state;
    uploadChoice.value = done.choice;
    uploadChoice.dataset.verdict = done.verdict || "fail";
    uploadChoice.dataset.reason = done.reason || "";
    updateGenerate();
  }

  async function startDetection() {
    const input = part(uploadForm, "photo-input");
    clearErrors(uploadForm);
    const file = input.files[0];
    if (!file) { showError(uploadForm, "photo", "photo: choose a photo to upload (PNG, JPG or WEBP)"); return; }
    const img = part(chosen, "photo-chosen-img");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(file);
    part(chosen, "photo-chosen-name").textContent = `${file.name} (${(file.size / 2 ** 20).toFixed(1)} MB)`;
    chosen.hidden = false;
    uploadLabel.hidden = false;
    uploadChoice.value = "";
    uploadChoice.dataset.verdict = "checking";
    uploadChoice.checked = true;
    reportHolder.innerHTML = "";
    detectionProgress.hidden = false;
    showProgress(detectionProgress, {progress: 0, stage: "uploading"});
    updateGenerate();
    const body = new FormData();
    body.append("photo", file);
    let res;
    try {
      res = await request(uploadForm.action, {method: "POST", body});
    } catch (error) {
      res = {ok: false, data: {field: "photo", error_msg: `photo: the upload failed (${error.message})`}};
    }
    if (!res.ok) {
      detectionProgress.hidden = true;
      showError(uploadForm, res.data.field, res.data.error_msg);
      uploadChoice.dataset.verdict = "fail";
      uploadChoice.dataset.reason = res.data.error_msg;
      updateGenerate();
      return;
    }
    history.replaceState(null, "", `?detection=${res.data.job_id}`);
    await followDetection(res.data);
  }

  if (uploadForm) {
    const input = part(uploadForm, "photo-input");
    input.addEventListener("change", () => { if (input.files.length) startDetection(); });
    uploadForm.addEventListener("submit", (event) => { event.preventDefault(); startDetection(); });
  }
  // A check still running when the page was opened (?detection=...): follow it.
  if (detection.dataset.jobId && !TERMINAL.includes(detection.dataset.state)) {
    request(detection.dataset.stateUrl).then((res) => { if (res.ok) followDetection(res.data); });
  }

  // --- driving and output ----------------------------------------------------------------------------------------
  if (form) {
    const textPart = form.querySelector(".part-text"), audioPart = form.querySelector(".part-audio");
    const mode = () => form.querySelector("input[name=script_type]:checked").value;
    const showMode = () => { textPart.hidden = mode() !== "TEXT"; audioPart.hidden = mode() !== "AUDIO"; };
    form.querySelectorAll("input[name=script_type]").forEach((radio) => radio.addEventListener("change", showMode));
    showMode();

    const text = part(form, "text-input"), count = part(form, "text-count");
    const max = Number(text.getAttribute("maxlength"));
    const countText = () => {
      const n = Array.from(text.value).length;
      count.textContent = n;
      count.classList.toggle("error", n > max);
    };
    text.addEventListener("input", countText);
    countText();

    const speed = part(form, "speed-input"), speedValue = part(form, "speed-value");
    speed.addEventListener("input", () => { speedValue.textContent = speed.value; });

    const audio = part(form, "audio-input");
    audio.addEventListener("change", () => {
      const file = audio.files[0], limit = Number(audio.dataset.maxBytes) * 2 ** 20;
      part(form, "error-audio").textContent = file && file.size > limit
        ? `audio: at most ${audio.dataset.maxBytes} MB; this file has ${(file.size / 2 ** 20).toFixed(1)} MB` : "";
    });

    const progress = part(form, "video-progress"), status = part(form, "video-status");
    const result = part(form, "video-result"), video = part(form, "video-player");

    function say(message, kind) { status.textContent = message; status.className = `small ${kind || ""}`; }

    async function followVideo(job) {
      generating = true;
      updateGenerate();
      form.dataset.state = "running";
      progress.hidden = false;
      try {
        const done = await follow(job, progress);
        refreshVideos();
        if (done.state === "SUCCEED" && done.video_url) {
          showProgress(progress, {...done, stage: "done"});
          video.poster = done.photo_url;
          video.src = done.video_url;
          part(form, "video-download").href = done.download_url;
          part(form, "video-duration").textContent = done.duration;
          part(form, "video-charged").textContent = done.charged_minutes;
          result.hidden = false;
          say("The video is ready.", "ok");
          form.dataset.state = "done";
        } else {
          say(done.error_msg || `the video was not made (${done.state})`, "error");
          form.dataset.state = "failed";
        }
      } finally {
        generating = false;
        updateGenerate();
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (generateButton.disabled) return;
      clearErrors(form);
      clearErrors(studio);
      const body = new FormData(form);
      if (mode() === "TEXT") body.delete("audio"); else { body.delete("text"); body.delete("voice_id"); body.delete("speed"); }
      result.hidden = true;
      video.removeAttribute("src");
      video.removeAttribute("poster");
      progress.hidden = false;
      showProgress(progress, {progress: 0, stage: "starting"});
      say("");
      form.dataset.state = "starting";
      generating = true;
      updateGenerate();
      let res;
      try {
        res = await request(form.action, {method: "POST", body});
      } catch (error) {
        res = {ok: false, data: {field: "form", error_msg: error.message}};
      }
      if (!res.ok) {
        generating = false;
        progress.hidden = true;
        showError(form, res.data.field, res.data.error_msg);
        form.dataset.state = "refused";
        updateGenerate();
        return;
      }
      history.replaceState(null, "", `?video=${res.data.job_id}`);
      refreshVideos();
      await followVideo(res.data);
    });

    // A video still being made when the page was opened (?video=...): follow it.
    if (progress.dataset.jobId && !TERMINAL.includes(progress.dataset.state)) {
      request(progress.dataset.stateUrl).then((res) => { if (res.ok) followVideo(res.data); });
    }
    updateGenerate();
  }

  // --- recent videos --------------------------------------------------------------------------------------------
  const videos = document.getElementById("photo-videos");
  let refreshing = null;
  function refreshVideos() {
    if (refreshing) return;
    refreshing = setTimeout(async () => {
      try {
        const res = await fetch(videos.dataset.url, {credentials: "same-origin", headers: {Accept: "text/html"}});
        if (res.ok) videos.innerHTML = await res.text();
      } catch (error) { /* the next change tries again */ }
      refreshing = null;
    }, 300);
  }
  listeners.add((job) => {
    if (job.kind !== KIND) return;
    const row = videos.querySelector(`tr[data-job-id="${job.job_id}"]`);
    if (!row || row.dataset.state !== job.state) { refreshVideos(); return; }
    showProgress(row, job);
  });
})();
