// Voice training job page: record each sentence in the browser (getUserMedia, live level meter), encode the take
// as a 16-bit mono PCM WAV at the audio context's rate and POST it; the sentence's check comes back at once.
// Also keeps the sentence list, the missing material and the submit button current after any upload.
(function () {
  const job = document.getElementById("voice-job");
  if (!job) return;
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const recordingUrl = (index) => job.dataset.recordingUrl.replace(/\/0$/, `/${index}`);
  const meter = document.getElementById("level-meter");
  const levelText = document.getElementById("level-db");
  const micStatus = document.getElementById("mic-status");
  const table = document.getElementById("sentences");

  // --- the microphone (opened once, kept for the next takes) ------------------------------------------
  let mic = null; // {stream, ctx, analyser, processor}
  let take = null; // {index, chunks: Float32Array[], length}

  async function openMic() {
    if (mic) return mic;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("this browser cannot record (a secure https:// page or localhost is needed)");
    }
    const stream = await navigator.mediaDevices.getUserMedia({audio: {
      channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false,
    }});
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    if (ctx.state === "suspended") await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const processor = ctx.createScriptProcessor(4096, 1, 1);
    processor.onaudioprocess = (event) => {
      if (!take) return;
      const data = new Float32Array(event.inputBuffer.getChannelData(0));
      take.chunks.push(data);
      take.length += data.length;
    };
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(processor);
    processor.connect(mute);
    mute.connect(ctx.destination);
    mic = {stream, ctx, analyser, processor};
    meterLoop();
    return mic;
  }

  function closeMic() {
    if (!mic) return;
    mic.stream.getTracks().forEach((track) => track.stop());
    mic.ctx.close();
    mic = null;
  }
  window.addEventListener("pagehide", closeMic);

  function meterLoop() {
    if (!mic) return;
    const samples = new Float32Array(mic.analyser.fftSize);
    mic.analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
    const rms = Math.sqrt(sum / samples.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    meter.value = Math.max(0, Math.min(1, (db + 60) / 60));
    meter.dataset.level = db.toFixed(1);
    levelText.textContent = db > -100 ? `${db.toFixed(0)} dBFS` : "silent";
    requestAnimationFrame(meterLoop);
  }

  // --- the sentence rows -----------------------------------------------------------------------------
  const rowOf = (index) => table && table.querySelector(`tr.sentence[data-index="${index}"]`);
  const part = (row, name) => row.querySelector(`[data-testid="${name}"]`);

  function note(row, text, kind) {
    const el = part(row, "sentence-note");
    el.textContent = text;
    el.className = `note small ${kind || "muted"}`;
  }

  function applySentence(sentence) {
    const row = rowOf(sentence.index);
    if (!row) return;
    row.dataset.status = sentence.status;
    row.className = `sentence status-${sentence.status.toLowerCase()}`;
    part(row, "sentence-status").textContent = sentence.status;
    const text = part(row, "sentence-text");
    if (sentence.text && text.textContent !== sentence.text) text.textContent = sentence.text;
    const list = part(row, "sentence-problems");
    list.replaceChildren(...(sentence.problems || []).map((problem) => {
      const li = document.createElement("li");
      li.className = "error"; li.dataset.code = problem.code; li.textContent = problem.message;
      return li;
    }));
    const retake = part(row, "retake");
    if (retake) retake.hidden = sentence.status === "MISSING";
  }

  function summarize() {
    if (!table) return;
    const counts = {OK: 0, REDO: 0, MISSING: 0};
    table.querySelectorAll("tr.sentence").forEach((row) => { counts[row.dataset.status] = (counts[row.dataset.status] || 0) + 1; });
    const summary = document.querySelector("[data-testid=sentence-summary]");
    if (summary) summary.textContent = `${counts.OK} ok · ${counts.REDO} to redo · ${counts.MISSING} missing`;
  }

  const submitButton = document.querySelector("[data-testid=submit-job]");
  const consent = document.querySelector("[data-testid=consent]");
  let missing = Array.from(document.querySelectorAll("[data-testid=missing-list] li")).map((li) => li.textContent);

  function applyMissing(items) {
    missing = items;
    const box = document.getElementById("missing");
    if (box) {
      box.hidden = !items.length;
      box.querySelector("ul").replaceChildren(...items.map((item) => {
        const li = document.createElement("li"); li.textContent = item; return li;
      }));
    }
    updateSubmit();
  }

  function updateSubmit() {
    if (!submitButton) return;
    submitButton.disabled = missing.length > 0 || (consent && !consent.checked);
    submitButton.title = missing.length ? "upload the missing material first" : consent && !consent.checked
      ? "confirm the speaker's authorization first" : "";
  }
  if (consent) consent.addEventListener("change", updateSubmit);

  function applyState(data) {
    (data.job.sentences || []).forEach(applySentence);
    applyMissing(data.missing || []);
    const letter = document.querySelector("[data-testid=letter-status]");
    if (letter) letter.textContent = data.job.has_authorization_letter ? "Uploaded ✓" : "Not uploaded yet.";
    const pkg = document.querySelector("[data-testid=package-status]");
    if (pkg) pkg.textContent = data.job.has_package ? "Uploaded ✓" : "Not uploaded yet.";
    summarize();
  }
  document.addEventListener("voicejob:state", (event) => applyState(event.detail));

  // --- upload one take -------------------------------------------------------------------------------
  async function upload(index, blob, name) {
    const row = rowOf(index);
    note(row, "checking…");
    row.dataset.upload = "uploading";
    const body = new FormData();
    body.append("file", blob, name);
    let data;
    try {
      const res = await fetch(recordingUrl(index), {
        method: "POST", body, credentials: "same-origin", headers: {"X-CSRFToken": csrf, Accept: "application/json"},
      });
      try { data = await res.json(); } catch (error) { data = {error_msg: `HTTP ${res.status}`}; }
      if (!res.ok) throw new Error(data.error_msg || `HTTP ${res.status}`);
    } catch (error) {
      note(row, `upload failed: ${error.message}`, "error");
      row.dataset.upload = "failed";
      return;
    }
    applySentence(data.sentence);
    applyMissing(data.missing);
    summarize();
    note(row, data.sentence.status === "OK" ? "recording accepted ✓" : `redo sentence ${index}: see why above`,
         data.sentence.status === "OK" ? "ok" : "error");
    row.dataset.upload = "done";
    const audio = part(row, "take-audio");
    audio.hidden = false;
    audio.src = `${recordingUrl(index)}/audio?t=${Date.now()}`;
  }

  // --- record / stop / re-take -----------------------------------------------------------------------
  function setRecording(index, on) {
    table.querySelectorAll("button.record, button.retake, .sentence-file").forEach((el) => { el.disabled = on; });
    const row = rowOf(index);
    part(row, "record").hidden = on;
    part(row, "stop").hidden = !on;
    row.classList.toggle("recording", on);
  }

  async function start(index) {
    if (take) return;
    const row = rowOf(index);
    try {
      await openMic();
    } catch (error) {
      micStatus.textContent = `Microphone unavailable: ${error.message}`;
      micStatus.className = "small error";
      micStatus.dataset.state = "error";
      return;
    }
    take = {index, chunks: [], length: 0};
    setRecording(index, true);
    micStatus.className = "small";
    micStatus.dataset.state = "recording";
    micStatus.textContent = `Recording sentence ${index}… press Stop when done.`;
    note(row, "recording…");
  }

  function stop(index) {
    if (!take || take.index !== index) return;
    const finished = take;
    take = null;
    setRecording(index, false);
    micStatus.dataset.state = "idle";
    micStatus.textContent = `Sentence ${index} recorded (${(finished.length / mic.ctx.sampleRate).toFixed(1)} s).`;
    const blob = window.MetaWav.encode(finished.chunks.map(window.MetaWav.toInt16), mic.ctx.sampleRate);
    const audio = part(rowOf(index), "take-audio");
    audio.hidden = false;
    audio.src = URL.createObjectURL(blob);
    upload(index, blob, `${index}.wav`);
  }

  if (table) {
    table.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-index]");
      if (!button) return;
      const index = Number(button.dataset.index);
      if (button.classList.contains("record") || button.classList.contains("retake")) start(index);
      else if (button.classList.contains("stop")) stop(index);
    });
    table.addEventListener("change", (event) => {
      const input = event.target.closest("input.sentence-file");
      if (!input || !input.files.length) return;
      upload(Number(input.dataset.index), input.files[0], input.files[0].name);
      input.value = "";
    });
  }
  summarize();
  updateSubmit();
})();
