// TTS playground: sends the text to the WebSocket API, plays the 16-bit PCM chunks gaplessly with WebAudio as
// they arrive, highlights the word being spoken (text offsets + timings of each chunk) and offers the received
// audio as a WAV download.
(function () {
  const root = document.getElementById("playground");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const textArea = $("tts-text"), ssmlBox = $("tts-ssml"), mode = $("tts-mode"), count = $("tts-count");
  const voice = $("tts-voice"), rate = $("tts-rate"), reading = $("tts-reading");
  const playButton = $("tts-play"), stopButton = $("tts-stop"), downloadButton = $("tts-download");
  const statusEl = $("tts-status"), errorEl = $("tts-error");
  const sampleTexts = Object.values(JSON.parse($("sample-texts").textContent));
  const sampleByLanguage = JSON.parse($("sample-texts").textContent);
  const LEAD_S = 0.08; // scheduling margin so the first chunk starts cleanly

  let ctx = null;
  let session = null;

  // --- form -------------------------------------------------------------------------------------
  const isSsml = (text) => /^\s*<speak[\s>]/.test(text);
  function refreshText() {
    const ssml = isSsml(textArea.value);
    ssmlBox.checked = ssml;
    mode.textContent = ssml ? "SSML" : "plain text";
    count.textContent = String(textArea.value.length);
  }
  textArea.addEventListener("input", refreshText);
  ssmlBox.addEventListener("change", () => {
    const text = textArea.value;
    if (ssmlBox.checked && !isSsml(text)) {
      textArea.value = `<speak>${text.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</speak>`;
    } else if (!ssmlBox.checked && isSsml(text)) {
      const inner = text.match(/^\s*<speak[^>]*>([\s\S]*)<\/speak>\s*$/);
      textArea.value = (inner ? inner[1] : text).replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&amp;/g, "&");
    }
    refreshText();
  });
  voice.addEventListener("change", () => {
    const language = voice.selectedOptions[0] ? voice.selectedOptions[0].dataset.language : "";
    if (sampleTexts.includes(textArea.value.trim()) && sampleByLanguage[language]) {
      textArea.value = sampleByLanguage[language];
      refreshText();
    }
  });
  ["speed", "pitch", "volume"].forEach((name) => {
    const input = $(`tts-${name}`), out = $(`${name}-out`);
    input.addEventListener("input", () => { out.textContent = input.value; });
  });
  refreshText();

  function setState(state, text) {
    root.dataset.state = state;
    statusEl.textContent = text || "";
  }

  function showError(message) {
    errorEl.hidden = false;
    errorEl.textContent = message;
    setState("error", "");
  }

  // --- the reading with the spoken word highlighted --------------------------------------------------------
  function renderReading(text, words) {
    const spans = [];
    const ordered = words.filter((w) => Number.isInteger(w.begin) && Number.isInteger(w.end) && w.end > w.begin
      && w.end <= text.length).sort((a, b) => a.begin - b.begin);
    const nodes = [];
    let at = 0;
    for (const word of ordered) {
      if (word.begin < at) continue; // overlapping: keep the first
      if (word.begin > at) nodes.push(document.createTextNode(text.slice(at, word.begin)));
      const span = document.createElement("span");
      span.className = "word";
      span.dataset.testid = "word";
      span.textContent = text.slice(word.begin, word.end);
      word.span = span;
      spans.push(span);
      nodes.push(span);
      at = word.end;
    }
    if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
    reading.replaceChildren(...nodes);
    return spans;
  }

  function tick() {
    if (!session || session.stopped) return;
    const now = ctx.currentTime;
    let current = null;
    for (const word of session.words) {
      if (word.span && word.t0 <= now && now < word.t1) current = word;
    }
    if (current !== session.current) {
      if (session.current && session.current.span) session.current.span.classList.remove("speaking");
      if (current) current.span.classList.add("speaking");
      session.current = current;
    }
    if (session.ended && now >= session.nextTime) {
      if (session.current && session.current.span) session.current.span.classList.remove("speaking");
      session.current = null;
      finish();
      return;
    }
    requestAnimationFrame(tick);
  }

  // --- playback ---------------------------------------------------------------------------------------
  function schedule(meta, pcm) {
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const buffer = ctx.createBuffer(1, Math.max(1, samples.length), meta.sample_rate);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const at = Math.max(session.nextTime, ctx.currentTime + LEAD_S);
    source.start(at);
    session.sources.push(source);
    session.nextTime = at + buffer.duration;
    for (const word of meta.words || []) {
      session.words.push({
        begin: word.text_begin, end: word.text_end,
        t0: at + word.start_time - meta.start_time, t1: at + word.end_time - meta.start_time,
      });
    }
    renderReading(session.text, session.words);
    if (session.current) session.current = null;
  }

  function onMessage(event) {
    if (!session || event.target !== session.socket) return;
    if (typeof event.data !== "string") {
      const meta = session.pending;
      session.pending = null;
      if (!meta) return;
      const pcm = new Int16Array(event.data);
      session.pcm.push(pcm);
      session.sampleRate = meta.sample_rate;
      session.chunks += 1;
      root.dataset.chunks = String(session.chunks);
      if (!session.stopped) schedule(meta, pcm);
      if (session.chunks === 1) { setState("playing", "playing…"); requestAnimationFrame(tick); }
      return;
    }
    const msg = JSON.parse(event.data);
    if (msg.type === "chunk") {
      session.pending = msg;
    } else if (msg.type === "end") {
      session.ended = true;
      session.socket.close();
      downloadButton.disabled = !session.pcm.length;
      statusEl.textContent = `received ${msg.chunks} sentence(s), ${msg.duration} s, ${msg.characters} characters`;
      if (!session.chunks) finish();
    } else if (msg.type === "error") {
      session.ended = true;
      session.socket.close();
      showError(`${msg.error_msg} (${msg.error_code})`);
      stopButton.disabled = true;
    }
  }

  function finish() {
    if (root.dataset.state !== "error") setState("done", statusEl.textContent);
    stopButton.disabled = true;
  }

  function stop() {
    if (!session) return;
    session.stopped = true;
    session.sources.forEach((source) => { try { source.stop(); } catch (error) { /* not started */ } });
    if (session.socket.readyState <= 1) session.socket.close();
    reading.querySelectorAll(".speaking").forEach((el) => el.classList.remove("speaking"));
    stopButton.disabled = true;
    if (root.dataset.state !== "error") setState("stopped", "stopped");
    downloadButton.disabled = !session.pcm.length || !session.ended;
  }

  async function play() {
    stop();
    errorEl.hidden = true;
    const text = textArea.value;
    if (!text.trim()) { showError("type a text to read first"); return; }
    if (!ctx) ctx = new (window.AudioContext || window.webkitAudioContext)();
    if (ctx.state === "suspended") { try { await ctx.resume(); } catch (error) { /* plays once allowed */ } }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/${root.dataset.projectId}/ttsc/ws`);
    socket.binaryType = "arraybuffer";
    session = {
      socket, text, pending: null, pcm: [], sources: [], words: [], chunks: 0, sampleRate: Number(rate.value),
      nextTime: 0, ended: false, stopped: false, current: null,
    };
    root.dataset.chunks = "0";
    reading.textContent = text;
    downloadButton.disabled = true;
    stopButton.disabled = false;
    setState("connecting", "connecting…");
    socket.onmessage = onMessage;
    socket.onopen = () => {
      setState("waiting", "synthesizing…");
      socket.send(JSON.stringify({
        text, voice_asset_id: voice.value, speed: Number($("tts-speed").value), pitch: Number($("tts-pitch").value),
        volume: Number($("tts-volume").value), sample_rate: Number(rate.value),
      }));
    };
    socket.onclose = (event) => {
      if (session && session.socket === socket && !session.ended && !session.stopped) {
        showError(`the connection closed (${event.code})`);
        stopButton.disabled = true;
      }
    };
  }

  // --- download -------------------------------------------------------------------------------------
  function download() {
    if (!session || !session.pcm.length) return;
    const url = URL.createObjectURL(window.MetaWav.encode(session.pcm, session.sampleRate));
    const link = document.createElement("a");
    link.href = url;
    link.download = "speech.wav";
    link.dataset.testid = "tts-download-link";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  playButton.addEventListener("click", play);
  stopButton.addEventListener("click", stop);
  downloadButton.addEventListener("click", download);
})();
