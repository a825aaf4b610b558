// Video production. The scripts page follows its renders live (socket + a light poll) and shows the player when
// one is done. The editor keeps the whole script (the cleaned body the server returns) in the browser: the
// materials on the left add avatars, backgrounds, images, videos, text, music and PPT pages; the canvas in the
// middle draws the scene as it will be rendered (layers dragged, resized and ordered; safe-area guides); the
// scene's script (text with SSML helpers and an audition, or an audio asset) below it; the settings on the right.
// Save posts the whole body as JSON; an error comes back with its field path and is shown at that scene and input.
(function () {
  const {csrf, TERMINAL, showProgress} = window.consoleJobs;
  const POLL_MS = 2000;
  const LIVE = ["WAITING", "PROCESSING"];

  // --- shared: JSON requests that keep the error's field, one job socket, render panels --------------------
  async function send(url, data) {
    const res = await fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(data || {}),
      headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf},
    });
    let answer = {};
    try { answer = await res.json(); } catch (error) { answer = {error_msg: `HTTP ${res.status}`}; }
    return {ok: res.ok, status: res.status, data: answer};
  }

  async function getJson(url) {
    const res = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  const watchers = new Map(); // job id -> function(job payload from the socket)
  let socket = null;
  function listen(wsAllowed) {
    if (socket || !wsAllowed || !("WebSocket" in window)) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "job" && watchers.has(msg.job.job_id)) watchers.get(msg.job.job_id)(msg.job);
    };
    socket.onclose = (event) => {
      socket = null;
      if (event.code !== 4403) setTimeout(() => listen(wsAllowed), 3000);
    };
  }

  // Follow a job: its progress from the socket, its state polled until it ends; onData gets each state.
  function follow(jobId, stateUrl, onData, onProgress, wsAllowed) {
    let done = false;
    let polling = false;
    async function poll() {
      if (done || polling) return;
      polling = true;
      try {
        const data = await getJson(stateUrl);
        onData(data);
        if (TERMINAL.includes(data.state)) { done = true; watchers.delete(jobId); clearInterval(timer); }
      } catch (error) {
        // a network hiccup: the next tick tries again
      } finally {
        polling = false;
      }
    }
    const timer = setInterval(poll, POLL_MS);
    watchers.set(jobId, (job) => {
      onProgress(job);
      if (TERMINAL.includes(job.state)) poll();
    });
    listen(wsAllowed);
    poll();
  }

  const byTestid = (holder, id) => holder.querySelector(`[data-testid="${id}"]`);

  // A render's state in a panel (the scripts page's render cards and the editor's render panel share the markup).
  function showRender(holder, data) {
    holder.dataset.state = data.state;
    holder.dataset.jobId = data.job_id;
    holder.classList.remove(...[...holder.classList].filter((name) => name.startsWith("state-")));
    holder.classList.add(`state-${data.state.toLowerCase()}`);
    const badge = byTestid(holder, "render-state");
    if (badge) { badge.textContent = data.state; badge.className = `badge state-${data.state.toLowerCase()}`; }
    const progress = byTestid(holder, "render-progress");
    if (progress) { progress.hidden = !LIVE.includes(data.state); showProgress(progress, data); }
    const error = byTestid(holder, "render-error");
    if (error) {
      error.hidden = !["FAILED", "CANCELED"].includes(data.state);
      error.textContent = data.state === "FAILED" ? `Failed: ${data.failure || data.error_msg || "the render failed"}`
        : data.state === "CANCELED" ? "Canceled." : "";
    }
    const result = byTestid(holder, "render-result");
    if (result) {
      result.hidden = !data.video_url;
      if (data.video_url) {
        const video = byTestid(result, "render-video");
        if (video.getAttribute("src") !== data.video_url) video.src = data.video_url;
        byTestid(result, "render-download").href = data.download_url;
        byTestid(result, "render-facts").textContent =
          `· ${data.duration} s · charged ${data.charged_minutes} min · ${data.asset_name}`;
      }
    }
    document.querySelectorAll(`[data-last-job-id="${data.job_id}"]`).forEach((last) => {  // the scripts table
      last.textContent = data.state;
      last.className = `badge state-${data.state.toLowerCase()}`;
    });
    const cancel = byTestid(holder, "render-cancel");
    if (cancel && data.state !== "WAITING") cancel.closest("form").remove();
  }

  // --- the scripts page ----------------------------------------------------------------------------------
  const renderList = document.getElementById("video-renders");
  if (renderList) {
    renderList.querySelectorAll("[data-testid=video-render]").forEach((card) => {
      if (!LIVE.includes(card.dataset.state)) return;
      follow(card.dataset.jobId, card.dataset.stateUrl, (data) => showRender(card, data),
             (job) => showProgress(byTestid(card, "render-progress"), job), Boolean(renderList.dataset.ws));
    });
  }

  // --- the editor ---------------------------------------------------------------------------------------
  const root = document.getElementById("video-editor");
  if (!root) return;
  const config = JSON.parse(document.getElementById("video-editor-config").textContent);
  const readOnly = Boolean(config.readonly);
  const limits = config.limits;
  const materials = config.materials;
  const assetsById = new Map();
  ["images", "videos", "music", "ppts", "models"].forEach((key) => materials[key].forEach((a) => assetsById.set(a.id, a)));
  const presetsById = new Map(materials.presets.map((p) => [p.id, p]));
  let urls = {...config.urls};
  let scriptId = config.script_id;
  let current = 0; // the selected scene
  let selected = -1; // the selected layer of that scene (index in layer_config, which is kept in layer_index order)
  let dirty = false;
  let error = null; // {path, message, scene, layer, rest}: the last save's error, shown at its field
  let avatarAspect = 0.8;
  const stage = document.getElementById("vs-stage");
  const $ = (id) => byTestid(root, id);
  const fmt = (n) => n.toLocaleString("en-US");
  const media = (id, what) => `${urls.media}${id}/${what}`;
  const voiceSelect = $("voice");
  const speed = $("voice-speed");
  const music = $("music");
  const musicVolume = $("music-volume");
  const textArea = $("scene-text");
  const audioSelect = $("scene-audio");
  const COLOURS = ["#1F3A5F", "#0B0F19", "#FFFFFF", "#F4F6FA", "#2F6FED", "#1F7A35", "#C0352B", "#F0B429", "#6B4FBB"];

  // --- the script ------------------------------------------------------------------------------------------
  const copy = (value) => JSON.parse(JSON.stringify(value));
  const isSsml = (text) => /^\s*<speak[\s>]/.test(text || "");
  const spoken = (text) => (isSsml(text) ? text.replace(/<[^>]*>/g, "") : (text || ""));
  const scenes = () => body.shoot_scripts;
  const scene = () => scenes()[current];
  const vertical = () => body.view_mode === "VERTICAL";
  const canvasSize = () => limits.canvas[body.view_mode] || [1920, 1080];
  const reindex = (layers) => layers.forEach((item, k) => { item.position.layer_index = k + 1; });

  function normalise(script) {
    const out = copy(script);
    out.voice_config = out.voice_config || {};
    out.background_music_config = out.background_music_config || {};
    out.video_config = out.video_config || {};
    out.shoot_scripts = (out.shoot_scripts || []).map(normaliseScene);
    delete out.characters;
    return out;
  }

  function normaliseScene(item) {
    const s = copy(item.shoot_script || item);
    s.script_type = (s.script_type || "TEXT").toUpperCase();
    s.text_config = s.text_config || {text: ""};
    s.background_config = s.background_config || [];
    s.layer_config = (s.layer_config || []).map((layer, k) => ({
      ...layer, position: {dx: 0, dy: 0, layer_index: k + 1, ...(layer.position || {})},
      size: {width: 400, height: 300, ...(layer.size || {})},
    }));
    s.layer_config.sort((a, b) => a.position.layer_index - b.position.layer_index);
    delete s.sequence_no;
    return s;
  }

  function humanLayer(index, share) {
    const [cw, ch] = canvasSize();
    const h = Math.round(ch * (share || (vertical() ? 0.6 : 0.8)));
    const w = Math.min(cw, Math.round(h * avatarAspect));
    const dx = vertical() ? Math.round((cw - w) / 2) : cw - w - Math.round(cw * 0.06);
    return {layer_type: "HUMAN", position: {dx, dy: ch - h, layer_index: index}, size: {width: w, height: h}};
  }

  function voiceLanguage() {
    const option = [...voiceSelect.options].find((item) => item.value === body.voice_config.voice_asset_id);
    return option ? option.dataset.language || "" : "";
  }

  function newScene(text) {
    const model = scene();
    const background = model ? copy(model.background_config.filter((b) => b.background_type !== "AUDIO"))
      : [{background_type: "COLOR", background_color_config: "#1F3A5F"}];
    const human = model && model.layer_config.find((l) => l.layer_type === "HUMAN");
    return {script_type: "TEXT", text_config: {text: text || ""}, audio_asset_id: null, background_config: background,
            layer_config: [human ? {...copy(human), position: {...human.position, layer_index: 1}} : humanLayer(1)]};
  }

  function payload() {
    const out = copy(body);
    out.shoot_scripts = out.shoot_scripts.map((s) => {
      const item = {...s};
      if (item.script_type === "TEXT") { item.audio_asset_id = null; item.text_config = {text: (s.text_config || {}).text || ""}; }
      else { item.text_config = null; delete item.action_config; }
      return item;
    });
    return out;
  }

  let body = normalise(config.body);
  loadAvatarAspect();
  if (!scenes().length && !readOnly) {
    scenes().push(newScene(voiceLanguage().startsWith("zh") ? "大家好，欢迎观看。" : "Hello, and welcome to this video."));
  }

  function changed() {
    dirty = true;
    root.dataset.state = "dirty";
    $("save-status").textContent = scriptId ? "unsaved changes" : "not saved yet";
  }

  // --- pictures -------------------------------------------------------------------------------------------
  function avatarPicture() {
    const id = body.model_asset_id;
    if (presetsById.has(id)) return presetsById.get(id).picture;
    return id ? media(id, "picture") : "";
  }
  function loadAvatarAspect() {
    const known = presetsById.get(body.model_asset_id) || assetsById.get(body.model_asset_id);
    if (known && known.width && known.height) { avatarAspect = known.width / known.height; return; }
    const src = avatarPicture();
    if (!src) return;
    const probe = new Image();
    probe.onload = () => { if (probe.naturalHeight) avatarAspect = probe.naturalWidth / probe.naturalHeight; };
    probe.src = src;
  }

  function picture(background) {
    if (!background) return null;
    if (background.background_type === "IMAGE") return media(background.background_asset_id, "file");
    if (background.background_type === "VIDEO") return media(background.background_asset_id, "picture");
    return null;
  }
  const pictureBackground = (s) => s.background_config.find((b) => b.background_type !== "AUDIO");

  // --- the canvas --------------------------------------------------------------------------------------------
  function scale() { return stage.clientWidth / canvasSize()[0]; }
  const pct = (value, of) => `${(100 * value) / of}%`;

  function place(el, item) {
    const [cw, ch] = canvasSize();
    el.style.left = pct(item.position.dx, cw);
    el.style.top = pct(item.position.dy, ch);
    el.style.width = pct(item.size.width, cw);
    el.style.height = pct(item.size.height, ch);
    el.style.zIndex = String(10 + item.position.layer_index);
  }

  function layerElement(item, index) {
    const el = document.createElement("div");
    const kind = item.layer_type.toLowerCase();
    el.className = `vs-layer vs-layer-${kind}`;
    el.dataset.index = String(index);
    el.dataset.testid = `layer-${kind}`;
    el.title = {human: "The avatar", image: "Image", video: "Video", text: "Text"}[kind];
    place(el, item);
    if (item.layer_type === "TEXT") {
      const text = document.createElement("div");
      text.className = "vs-text";
      const config = item.text_config || {};
      text.textContent = config.text || "";
      text.style.color = config.font_color || "#FFFFFF";
      text.style.fontSize = `${Math.max(4, (config.font_size || 48) * scale())}px`;
      el.appendChild(text);
    } else {
      const img = document.createElement("img");
      img.alt = "";
      img.draggable = false;
      img.src = item.layer_type === "HUMAN" ? avatarPicture()
        : media(item.asset_id, item.layer_type === "IMAGE" ? "file" : "picture");
      el.appendChild(img);
      if (item.layer_type === "VIDEO") {
        const badge = document.createElement("span");
        badge.className = "vs-badge";
        badge.textContent = "▶ video";
        el.appendChild(badge);
      }
    }
    if (index === selected) {
      el.classList.add("selected");
      if (!readOnly) {
        const handle = document.createElement("span");
        handle.className = "vs-handle";
        handle.dataset.testid = "layer-resize";
        handle.title = "Drag to resize (Shift: keep the proportions of text and picture boxes)";
        el.appendChild(handle);
      }
    }
    if (!readOnly) el.addEventListener("pointerdown", (event) => startDrag(event, el, index));
    else el.addEventListener("click", () => { selected = index; renderScene(); });
    return el;
  }

  function renderStage() {
    const [cw, ch] = canvasSize();
    const s = scene();
    stage.classList.toggle("vertical", vertical());
    stage.style.aspectRatio = `${cw} / ${ch}`;
    stage.replaceChildren();
    const transparent = Boolean(body.video_config.is_transparent_background);
    stage.classList.toggle("transparent", transparent);
    const background = s ? pictureBackground(s) : null;
    stage.style.backgroundColor = background && background.background_type === "COLOR"
      ? background.background_color_config.slice(0, 7) : (transparent ? "" : "#000");
    const src = picture(background);
    if (src) {
      const img = document.createElement("img");
      img.className = "vs-bg";
      img.alt = "";
      img.draggable = false;
      img.src = src;
      img.dataset.testid = "canvas-background";
      stage.appendChild(img);
    }
    if (s) s.layer_config.forEach((item, index) => stage.appendChild(layerElement(item, index)));
    if (s && !s.layer_config.some((item) => item.layer_type === "HUMAN")) stage.appendChild(defaultAvatar(s));
    if (s && body.video_config.is_subtitle_enable) stage.appendChild(subtitlePreview(s));
    if ($("safe-area-toggle").checked) {
      const safe = document.createElement("div");
      safe.className = "vs-safe";
      safe.dataset.testid = "safe-area";
      safe.title = "Title-safe area (90 %): keep text inside";
      stage.appendChild(safe);
    }
  }
  stage.addEventListener("pointerdown", (event) => {
    if (selected >= 0 && (event.target === stage || event.target.classList.contains("vs-bg"))) {
      selected = -1;
      renderScene();
    }
  });

  // A scene without a HUMAN layer shows the avatar where the renderer puts it (centred, standing on the bottom
  // edge, 80 % of the height, on top); taking it makes that placement the scene's HUMAN layer.
  function defaultAvatar(s) {
    const [cw, ch] = canvasSize();
    let h = 0.8 * ch;
    let w = h * avatarAspect;
    if (w > cw) { w = cw; h = cw / avatarAspect; }
    const item = {layer_type: "HUMAN", position: {dx: Math.round((cw - w) / 2), dy: Math.round(ch - h), layer_index: s.layer_config.length + 1},
                  size: {width: Math.round(w), height: Math.round(h)}};
    const el = document.createElement("div");
    el.className = "vs-layer vs-layer-human vs-default";
    el.dataset.testid = "layer-human";
    el.title = "The avatar, placed by default: drag it to place it";
    place(el, item);
    const img = document.createElement("img");
    img.alt = ""; img.draggable = false; img.src = avatarPicture();
    el.appendChild(img);
    if (!readOnly) {
      el.addEventListener("pointerdown", (event) => {
        if (event.button !== 0) return;
        s.layer_config.push(item);
        reindex(s.layer_config);
        selected = s.layer_config.length - 1;
        changed();
        renderScene();
        const placed = stage.querySelector(`.vs-layer[data-index="${selected}"]`);
        if (placed) startDrag(event, placed, selected);
      });
    }
    return el;
  }

  function subtitlePreview(s) {
    const [cw, ch] = canvasSize();
    const style = body.video_config.subtitle_config || {};
    const box = document.createElement("div");
    box.className = "vs-subtitle";
    box.dataset.testid = "subtitle-preview";
    const dx = style.dx ?? Math.floor(cw / 10);
    const bottom = style.dy ?? ch - Math.floor(ch / 18);
    box.style.left = pct(dx, cw);
    box.style.width = pct(style.w ?? cw - 2 * dx, cw);
    box.style.bottom = pct(ch - bottom, ch);
    const size = (style.font_size || 48) * scale();
    box.style.fontSize = `${size}px`;
    box.style.color = (style.font_color || "#FFFFFF").slice(0, 7);
    const outline = (style.stroke_color || "#000000").slice(0, 7);
    const w = Math.max(1, (style.stroke_thickness ?? 2) * scale());
    box.style.textShadow = `${w}px 0 ${outline}, -${w}px 0 ${outline}, 0 ${w}px ${outline}, 0 -${w}px ${outline}`;
    const text = s.script_type === "TEXT" ? spoken(s.text_config.text).trim() : "";
    const first = text.split(/(?<=[。！？.!?])\s*/)[0] || "";
    box.textContent = first.length > 40 ? `${first.slice(0, 40)}…` : first || "Subtitles";
    return box;
  }

  // Drag to move, the corner handle to resize; committed on release.
  function startDrag(event, el, index) {
    if (event.button !== 0) return;
    event.preventDefault();
    const resizing = event.target.classList.contains("vs-handle");
    if (selected !== index) {
      selected = index;
      stage.querySelectorAll(".vs-layer.selected").forEach((other) => other.classList.remove("selected"));
      el.classList.add("selected");
      renderLayerTools();
    }
    const item = scene().layer_config[index];
    const [cw, ch] = canvasSize();
    const k = scale();
    const start = {x: event.clientX, y: event.clientY, dx: item.position.dx, dy: item.position.dy,
                   w: item.size.width, h: item.size.height};
    const keepAspect = item.layer_type === "HUMAN";
    let moved = false;
    el.setPointerCapture(event.pointerId);
    const clamp = (v, low, high) => Math.max(low, Math.min(high, Math.round(v)));
    function move(e) {
      const mx = (e.clientX - start.x) / k;
      const my = (e.clientY - start.y) / k;
      if (Math.abs(mx) + Math.abs(my) > 0.5) moved = true;
      if (resizing) {
        let w = clamp(start.w + mx, 8, 4096);
        let h = clamp(start.h + my, 8, 4096);
        if (keepAspect !== e.shiftKey) h = clamp((w * start.h) / start.w, 8, 4096);
        if (keepAspect !== e.shiftKey) w = clamp((h * start.w) / start.h, 8, 4096);
        item.size.width = w;
        item.size.height = h;
      } else {
        item.position.dx = clamp(start.dx + mx, -cw, cw);
        item.position.dy = clamp(start.dy + my, -ch, ch);
      }
      place(el, item);
      if (item.layer_type === "TEXT") el.firstChild.style.fontSize = `${Math.max(4, (item.text_config.font_size || 48) * k)}px`;
    }
    function end() {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", end);
      el.removeEventListener("pointercancel", end);
      if (moved) changed();
      renderScene();
    }
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
  }

  function zOrder(op) {
    const layers = scene().layer_config;
    if (selected < 0 || selected >= layers.length) return;
    const last = layers.length - 1;
    const target = {top: last, bottom: 0, up: Math.min(selected + 1, last), down: Math.max(selected - 1, 0)}[op];
    const [item] = layers.splice(selected, 1);
    layers.splice(target, 0, item);
    reindex(layers);
    selected = target;
    changed();
    renderScene();
  }

  function deleteLayer() {
    const layers = scene().layer_config;
    const item = layers[selected];
    if (!item || item.layer_type === "HUMAN") return;
    layers.splice(selected, 1);
    reindex(layers);
    selected = -1;
    changed();
    renderScene();
  }

  // --- the selected layer's properties -------------------------------------------------------------------------
  function numberInput(label, key, value, min, max, onValue) {
    const wrap = document.createElement("label");
    wrap.className = "vs-field";
    wrap.dataset.layerField = key;
    wrap.append(`${label} `);
    const input = document.createElement("input");
    input.type = "number"; input.min = String(min); input.max = String(max); input.value = String(value);
    input.dataset.testid = `layer-${key.replace(/\W+/g, "-")}`;
    input.disabled = readOnly;
    input.addEventListener("change", () => { onValue(Math.round(Number(input.value) || 0)); changed(); renderScene(); });
    const err = document.createElement("span");
    err.className = "field-error error"; err.hidden = true;
    wrap.append(input, err);
    return wrap;
  }

  function renderLayerProps() {
    const holder = $("layer-props");
    const item = scene() && scene().layer_config[selected];
    holder.hidden = !item;
    holder.replaceChildren();
    if (!item) return;
    const [cw, ch] = canvasSize();
    const title = document.createElement("strong");
    title.textContent = {HUMAN: "Avatar", IMAGE: "Image", VIDEO: "Video", TEXT: "Text"}[item.layer_type];
    holder.append(title,
      numberInput("X", "position.dx", item.position.dx, -cw, cw, (v) => { item.position.dx = v; }),
      numberInput("Y", "position.dy", item.position.dy, -ch, ch, (v) => { item.position.dy = v; }),
      numberInput("W", "size.width", item.size.width, 1, 4096, (v) => { item.size.width = v; }),
      numberInput("H", "size.height", item.size.height, 1, 4096, (v) => { item.size.height = v; }));
    if (item.layer_type === "TEXT") {
      const config = item.text_config;
      const wrap = document.createElement("label");
      wrap.className = "vs-field vs-wide";
      wrap.dataset.layerField = "text_config.text";
      const text = document.createElement("input");
      text.type = "text"; text.maxLength = limits.text_layer_chars; text.value = config.text || "";
      text.dataset.testid = "layer-text-input"; text.disabled = readOnly;
      text.addEventListener("input", () => {
        config.text = text.value; changed();
        const box = stage.querySelector(`.vs-layer[data-index="${selected}"] .vs-text`);
        if (box) box.textContent = text.value;
      });
      const err = document.createElement("span");
      err.className = "field-error error"; err.hidden = true;
      wrap.append("Text ", text, err);
      const colour = document.createElement("label");
      colour.className = "vs-field";
      colour.dataset.layerField = "text_config.font_color";
      const picker = document.createElement("input");
      picker.type = "color"; picker.value = (config.font_color || "#FFFFFF").slice(0, 7); picker.disabled = readOnly;
      picker.dataset.testid = "layer-colour";
      picker.addEventListener("input", () => { config.font_color = picker.value.toUpperCase(); changed(); renderStage(); });
      colour.append("Colour ", picker);
      holder.append(wrap, numberInput("Size", "text_config.font_size", config.font_size || 48, 8, 400,
                                      (v) => { config.font_size = v; }), colour);
    } else if (item.layer_type === "VIDEO") {
      item.video_config = item.video_config || {loop_count: 1, video_sound: 0, is_play_the_entire_video: false};
      holder.append(numberInput("Loops (1: once, 0: until the scene ends)", "video_config.loop_count", item.video_config.loop_count ?? 1, 0, 1,
                                (v) => { item.video_config.loop_count = v; }),
                    numberInput("Sound %", "video_config.video_sound", item.video_config.video_sound ?? 0, 0, 100,
                                (v) => { item.video_config.video_sound = v; }));
    }
  }

  function renderLayerTools() {
    const item = scene() && scene().layer_config[selected];
    $("layer-selected").textContent = item
      ? `${{HUMAN: "Avatar", IMAGE: "Image", VIDEO: "Video", TEXT: "Text"}[item.layer_type]} layer ${item.position.layer_index} of ${scene().layer_config.length}`
      : "No layer selected";
    root.querySelectorAll("[data-z], [data-layer-delete]").forEach((button) => {
      button.disabled = readOnly || !item || (button.hasAttribute("data-layer-delete") && item.layer_type === "HUMAN");
    });
    renderLayerProps();
  }

  // --- the scene's script ----------------------------------------------------------------------------------------
  function sceneSeconds(s) {
    if (s.script_type === "AUDIO") {
      const asset = assetsById.get(s.audio_asset_id);
      return asset && asset.duration ? Number(asset.duration) : 0;
    }
    const text = (s.text_config || {}).text || "";
    const plain = spoken(text);
    const cjk = (plain.match(/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]/g) || []).length;
    const speed = (body.voice_config.speed || 100) / 100;
    let seconds = (cjk / 4.5 + (plain.trim().length - cjk) / 14) / speed;
    for (const match of text.matchAll(/<break\s+time="(\d+(?:\.\d+)?)(ms|s)"/g)) {
      seconds += Number(match[1]) / (match[2] === "ms" ? 1000 : 1);
    }
    return plain.trim() ? seconds + 0.3 : 0;
  }

  function duration(seconds) {
    const total = Math.round(seconds);
    if (total < 60) return `${total} s`;
    return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
  }

  function renderCounts() {
    const s = scene();
    if (s) {
      const chars = s.script_type === "TEXT" ? spoken(s.text_config.text).length : 0;
      const count = $("scene-chars");
      count.textContent = `${fmt(chars)} / ${fmt(limits.scene_chars)}`;
      count.classList.toggle("error", chars > limits.scene_chars);
      $("scene-mode").textContent = isSsml(s.text_config.text) ? "SSML" : "plain text";
      $("scene-duration").textContent = `≈ ${duration(sceneSeconds(s))}`;
    }
    const total = scenes().reduce((sum, item) => sum + (item.script_type === "TEXT" ? spoken(item.text_config.text).length : 0), 0);
    const totalEl = $("total-chars");
    totalEl.textContent = `${fmt(total)} / ${fmt(limits.total_chars)}`;
    totalEl.classList.toggle("error", total > limits.total_chars);
    $("total-duration").textContent = duration(scenes().reduce((sum, item) => sum + sceneSeconds(item), 0));
    $("scene-count").textContent = `${scenes().length} / ${limits.scenes}`;
    $("scene-limit").textContent = `${scenes().length} / ${limits.scenes}`;
    root.querySelectorAll(".vs-strip li").forEach((li, k) => {
      const item = scenes()[k];
      if (!item) return;
      li.querySelector(".vs-thumb-text").textContent = sceneExcerpt(item);
      li.querySelector(".vs-thumb-time").textContent = duration(sceneSeconds(item));
    });
  }

  function sceneExcerpt(s) {
    if (s.script_type === "AUDIO") {
      const asset = assetsById.get(s.audio_asset_id);
      return `♪ ${asset ? asset.name : "audio"}`;
    }
    const text = spoken(s.text_config.text).trim();
    return text.length > 40 ? `${text.slice(0, 40)}…` : text || "(no text)";
  }

  function renderSceneEditor() {
    const s = scene();
    if (!s) return;
    $("scene-title").textContent = `Scene ${current + 1}`;
    root.querySelectorAll("input[name=vs-script-type]").forEach((radio) => { radio.checked = radio.value === s.script_type; });
    root.querySelectorAll("[data-script]").forEach((part) => { part.hidden = part.dataset.script !== s.script_type; });
    if (textArea.value !== (s.text_config.text || "")) textArea.value = s.text_config.text || "";
    fillAssetSelect(audioSelect, materials.music, s.audio_asset_id, "Choose an audio asset…");
    const preview = $("scene-audio-preview");
    const asset = assetsById.get(s.audio_asset_id);
    preview.hidden = !asset;
    if (asset && preview.getAttribute("src") !== asset.file) preview.src = asset.file;
    const background = pictureBackground(s);
    let label = "none";
    if (background && background.background_type === "COLOR") label = background.background_color_config;
    else if (background) label = `${background.background_type.toLowerCase()} ${(assetsById.get(background.background_asset_id) || {}).name || ""}`;
    $("scene-background").textContent = `Background: ${label}`;
    renderCounts();
  }

  function fillAssetSelect(select, items, value, empty) {
    const options = [new Option(empty, "")];
    let found = false;
    items.forEach((item) => {
      const seconds = item.duration ? ` (${Number(item.duration).toFixed(1)} s)` : "";
      options.push(new Option(`${item.name}${seconds}`, item.id));
      if (item.id === value) found = true;
    });
    if (value && !found) options.push(new Option(`${value} (not usable now)`, value));
    select.replaceChildren(...options);
    select.value = value || "";
  }

  textArea.addEventListener("input", () => {
    scene().text_config.text = textArea.value;
    changed();
    renderCounts();
    if (body.video_config.is_subtitle_enable) renderStage();
  });
  root.querySelectorAll("input[name=vs-script-type]").forEach((radio) => radio.addEventListener("change", () => {
    const s = scene();
    s.script_type = radio.value;
    if (s.script_type === "AUDIO") delete s.action_config; else delete s.audio_drive_action_config;
    changed();
    renderAll();
  }));
  audioSelect.addEventListener("change", () => { scene().audio_asset_id = audioSelect.value || null; changed(); renderSceneEditor(); });

  // SSML helpers: tags the speech engine reads (synthesis.speech.frontend.ssml). Plain text becomes SSML first.
  const escapeXml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const PINYIN = /^[a-zü:v]+[1-5]( [a-zü:v]+[1-5])*$/i;
  function applySsml(kind) {
    const text = textArea.value;
    const a = textArea.selectionStart;
    const b = textArea.selectionEnd;
    const status = $("audition-status");
    if (kind !== "break" && a === b) { status.textContent = "select the words first"; return; }
    const value = (root.querySelector(`[data-ssml="${kind}"]`) || {}).value || "";
    if (kind === "pinyin" && !PINYIN.test(value.trim())) {
      status.textContent = "pinyin with tone digits, e.g. chong2 (one syllable per character)";
      return;
    }
    let before;
    let middle;
    let after;
    if (isSsml(text)) {
      [before, middle, after] = [text.slice(0, a), text.slice(a, b), text.slice(b)];
    } else {
      [before, middle, after] = [`<speak>${escapeXml(text.slice(0, a))}`, escapeXml(text.slice(a, b)),
                                 `${escapeXml(text.slice(b))}</speak>`];
    }
    const tagged = {
      break: () => `${middle}<break time="${value}"/>`,
      rate: () => `<prosody rate="${value}">${middle}</prosody>`,
      "say-as": () => `<say-as interpret-as="${value}">${middle}</say-as>`,
      pinyin: () => `<phoneme alphabet="x-pinyin" ph="${value.trim()}">${middle}</phoneme>`,
    }[kind]();
    textArea.value = before + tagged + after;
    const caret = before.length + tagged.length;
    textArea.focus();
    textArea.setSelectionRange(caret, caret);
    status.textContent = "";
    textArea.dispatchEvent(new Event("input"));
  }
  root.querySelectorAll("[data-ssml-apply]").forEach((button) => button.addEventListener("click", () => applySsml(button.dataset.ssmlApply)));

  // Audition: the selected words (or the whole scene) through the TTS WebSocket, played as the chunks arrive.
  let audition = null;
  let auditionContext = null; // one AudioContext for every audition (browsers limit how many a page may open)
  function stopAudition() {
    if (!audition) return;
    audition.stopped = true;
    audition.sources.forEach((source) => { try { source.stop(); } catch (err) { /* not started */ } });
    if (audition.socket.readyState <= 1) audition.socket.close();
    audition = null;
    $("audition").textContent = "▶ Audition";
  }
  function startAudition() {
    const status = $("audition-status");
    if (audition) { stopAudition(); status.textContent = "stopped"; return; }
    const full = textArea.value;
    let text = full.slice(textArea.selectionStart, textArea.selectionEnd) || full;
    if (text !== full && isSsml(full)) text = `<speak>${text}</speak>`;
    if (!spoken(text).trim()) { status.textContent = "type a text first"; return; }
    auditionContext = auditionContext || new (window.AudioContext || window.webkitAudioContext)();
    const context = auditionContext;
    if (context.state === "suspended") context.resume().catch(() => {});
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/v1/${config.project_id}/ttsc/ws`);
    ws.binaryType = "arraybuffer";
    const session = {socket: ws, sources: [], next: 0, pending: null, stopped: false, chunks: 0};
    audition = session;
    $("audition").textContent = "■ Stop";
    root.dataset.audition = "connecting";
    status.textContent = "synthesizing…";
    ws.onopen = () => ws.send(JSON.stringify({text, voice_asset_id: body.voice_config.voice_asset_id,
                                              speed: body.voice_config.speed || 100, sample_rate: 16000}));
    ws.onmessage = (event) => {
      if (session.stopped) return;
      if (typeof event.data !== "string") {
        const meta = session.pending;
        if (!meta) return;
        const pcm = new Int16Array(event.data);
        const buffer = context.createBuffer(1, Math.max(1, pcm.length), meta.sample_rate || 16000);
        const samples = buffer.getChannelData(0);
        for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.connect(context.destination);
        const at = Math.max(session.next, context.currentTime + 0.05);
        source.start(at);
        session.next = at + buffer.duration;
        session.sources.push(source);
        session.chunks += 1;
        root.dataset.audition = "playing";
        status.textContent = "playing…";
        return;
      }
      const msg = JSON.parse(event.data);
      if (msg.type === "chunk") session.pending = msg;
      else if (msg.type === "end") {
        ws.close();
        root.dataset.audition = "done";
        status.textContent = `${msg.characters} characters, ${msg.duration} s`;
        setTimeout(() => { if (audition === session) { audition = null; $("audition").textContent = "▶ Audition"; } },
                   Math.max(0, (session.next - context.currentTime) * 1000));
      } else if (msg.type === "error") {
        ws.close();
        root.dataset.audition = "error";
        status.textContent = msg.error_msg;
        audition = null;
        $("audition").textContent = "▶ Audition";
      }
    };
  }
  $("audition").addEventListener("click", startAudition);

  // --- the scenes strip ------------------------------------------------------------------------------------------
  function renderStrip() {
    const strip = $("scene-strip");
    const items = scenes().map((s, k) => {
      const li = document.createElement("li");
      li.className = "vs-thumb";
      li.dataset.index = String(k);
      li.dataset.testid = "scene-thumb";
      li.tabIndex = 0;
      if (k === current) li.classList.add("active");
      if (error && error.scene === k) { li.classList.add("has-error"); li.title = error.message; }
      const mini = document.createElement("div");
      mini.className = "vs-thumb-picture";
      mini.style.aspectRatio = vertical() ? "9 / 16" : "16 / 9";
      const background = pictureBackground(s);
      if (background && background.background_type === "COLOR") mini.style.background = background.background_color_config.slice(0, 7);
      const src = picture(background);
      if (src) mini.style.backgroundImage = `url("${src}")`;
      const number = document.createElement("span");
      number.className = "vs-thumb-number";
      number.textContent = String(k + 1);
      mini.appendChild(number);
      const text = document.createElement("span");
      text.className = "vs-thumb-text small";
      const time = document.createElement("span");
      time.className = "vs-thumb-time small muted";
      li.append(mini, text, time);
      li.addEventListener("click", () => { if (current !== k) { current = k; selected = -1; renderAll(); } });
      if (!readOnly) {
        li.draggable = true;
        li.addEventListener("dragstart", (event) => { event.dataTransfer.setData("text/plain", String(k)); li.classList.add("dragging"); });
        li.addEventListener("dragend", () => li.classList.remove("dragging"));
        li.addEventListener("dragover", (event) => event.preventDefault());
        li.addEventListener("drop", (event) => {
          event.preventDefault();
          const from = Number(event.dataTransfer.getData("text/plain"));
          if (Number.isInteger(from) && from !== k) moveScene(from, k);
        });
      }
      return li;
    });
    strip.replaceChildren(...items);
    const full = scenes().length >= limits.scenes;
    root.querySelectorAll("[data-scene-op]").forEach((button) => {
      const op = button.dataset.sceneOp;
      button.disabled = readOnly || ((op === "add" || op === "duplicate") && full)
        || (op === "delete" && scenes().length <= 1) || (op === "left" && current === 0)
        || (op === "right" && current >= scenes().length - 1);
    });
    $("scene-limit").title = full ? `A script has at most ${limits.scenes} scenes` : "";
  }

  function moveScene(from, to) {
    const [item] = scenes().splice(from, 1);
    scenes().splice(to, 0, item);
    current = to;
    selected = -1;
    changed();
    renderAll();
  }

  root.querySelectorAll("[data-scene-op]").forEach((button) => button.addEventListener("click", () => {
    const op = button.dataset.sceneOp;
    const list = scenes();
    if ((op === "add" || op === "duplicate") && list.length >= limits.scenes) return;
    if (op === "add") { list.splice(current + 1, 0, newScene("")); current += 1; }
    else if (op === "duplicate") { list.splice(current + 1, 0, copy(scene())); current += 1; }
    else if (op === "delete") {
      if (list.length <= 1 || !confirm(`Delete scene ${current + 1}?`)) return;
      list.splice(current, 1); current = Math.min(current, list.length - 1);
    } else if (op === "left" && current > 0) { moveScene(current, current - 1); return; }
    else if (op === "right" && current < list.length - 1) { moveScene(current, current + 1); return; }
    selected = -1;
    changed();
    renderAll();
  }));

  // --- materials -------------------------------------------------------------------------------------------------
  root.querySelectorAll(".vs-tabs [data-tab]").forEach((tab) => tab.addEventListener("click", () => {
    root.querySelectorAll(".vs-tabs [data-tab]").forEach((other) => other.classList.toggle("active", other === tab));
    root.querySelectorAll("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== tab.dataset.tab; });
  }));

  function tile(item, testid, onPick, extra) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "vs-tile";
    button.dataset.testid = testid;
    button.dataset.assetId = item.id;
    button.title = item.name;
    if (item.picture) {
      const img = document.createElement("img");
      img.src = item.picture; img.alt = ""; img.loading = "lazy";
      button.appendChild(img);
    }
    const name = document.createElement("span");
    name.className = "vs-tile-name small";
    name.textContent = extra ? `${item.name} ${extra}` : item.name;
    button.appendChild(name);
    button.disabled = readOnly;
    button.addEventListener("click", () => onPick(item));
    return button;
  }

  function note(message) {
    const status = $("save-status");
    status.textContent = message;
    status.classList.add("error");
    setTimeout(() => status.classList.remove("error"), 4000);
  }

  function fitBox(item, share) {
    const [cw, ch] = canvasSize();
    const aspect = item.width && item.height ? item.width / item.height : 16 / 9;
    let w = cw * share;
    let h = w / aspect;
    if (h > ch * share) { h = ch * share; w = h * aspect; }
    w = Math.round(w); h = Math.round(h);
    return {position: {dx: Math.round((cw - w) / 2), dy: Math.round((ch - h) / 2), layer_index: 0}, size: {width: w, height: h}};
  }

  function addLayer(layer) {
    const layers = scene().layer_config;
    if (layers.length >= limits.layers) { note(`at most ${limits.layers} layers in a scene`); return; }
    layers.push(layer);
    reindex(layers);
    selected = layers.length - 1;
    changed();
    renderScene();
  }

  function setBackground(background) {
    const s = scene();
    s.background_config = s.background_config.filter((b) => b.background_type === "AUDIO");
    if (background) s.background_config.unshift(background);
    changed();
    renderAll();
  }

  function renderMaterials() {
    const list = (name) => root.querySelector(`[data-list="${name}"]`);
    const avatars = [
      ...materials.presets.map((p) => tile(p, "material-avatar", pickAvatar("PRESET_PHOTO"), "(preset)")),
      ...materials.models.map((m) => tile(m, "material-avatar", pickAvatar("HUMAN_MODEL_2D"))),
    ];
    avatars.forEach((button) => button.classList.toggle("active", button.dataset.assetId === body.model_asset_id));
    list("avatars").replaceChildren(...avatars);
    const none = document.createElement("button");
    none.type = "button"; none.className = "vs-swatch none"; none.title = "No picture (black, or transparent)";
    none.dataset.testid = "background-none"; none.textContent = "∅"; none.disabled = readOnly;
    none.addEventListener("click", () => setBackground(null));
    list("colours").replaceChildren(none, ...COLOURS.map((colour) => {
      const swatch = document.createElement("button");
      swatch.type = "button"; swatch.className = "vs-swatch"; swatch.style.background = colour; swatch.title = colour;
      swatch.dataset.testid = "background-colour"; swatch.dataset.colour = colour; swatch.disabled = readOnly;
      swatch.addEventListener("click", () => setBackground({background_type: "COLOR", background_color_config: colour}));
      return swatch;
    }));
    const imageBackground = (item) => setBackground({background_type: "IMAGE", background_asset_id: item.id});
    const videoBackground = (item) => setBackground({background_type: "VIDEO", background_asset_id: item.id});
    const backgrounds = [...materials.images.filter((item) => item.background), ...materials.images.filter((item) => !item.background)];
    list("background-images").replaceChildren(...backgrounds.map((item) => tile(item, "background-image", imageBackground)));
    list("background-videos").replaceChildren(...materials.videos.map((item) => tile(item, "background-video", videoBackground)));
    // pictures marked as backgrounds (the pages of an imported PPT) are offered as backgrounds only
    list("images").replaceChildren(...materials.images.filter((item) => !item.background).map((item) => tile(item, "material-image", (picked) => {
      addLayer({layer_type: "IMAGE", asset_id: picked.id, ...fitBox(picked, 0.4)});
    })));
    list("videos").replaceChildren(...materials.videos.map((item) => tile(item, "material-video", (picked) => {
      const count = scene().layer_config.filter((l) => l.layer_type === "VIDEO").length;
      if (count >= limits.video_layers) { note(`at most ${limits.video_layers} videos overlaid in a scene`); return; }
      addLayer({layer_type: "VIDEO", asset_id: picked.id, ...fitBox(picked, 0.4),
                video_config: {loop_count: 1, video_sound: 0, is_play_the_entire_video: false}});
    })));
    list("music").replaceChildren(...materials.music.map(musicRow));
    list("ppts").replaceChildren(...materials.ppts.map(pptRow));
    [list("images"), list("videos"), list("music"), list("ppts"), list("background-images"), list("background-videos")].forEach((holder) => {
      if (!holder.children.length) {
        const empty = document.createElement("p");
        empty.className = "muted small";
        empty.innerHTML = config.can_list_assets ? 'None yet: upload them in the <a href="/assets/">asset library</a>.'
          : "Your IAM policies do not allow listing the asset library (metastudio:asset:show).";
        holder.appendChild(empty);
      }
    });
  }

  const pickAvatar = (kind) => (item) => {
    body.model_asset_id = item.id;
    body.model_asset_type = kind;
    loadAvatarAspect();
    changed();
    renderAll();
  };

  function musicRow(item) {
    const row = document.createElement("div");
    row.className = "vs-row";
    row.dataset.testid = "material-music";
    row.dataset.assetId = item.id;
    const name = document.createElement("span");
    name.textContent = `${item.name}${item.duration ? ` (${Number(item.duration).toFixed(1)} s)` : ""}`;
    const audio = document.createElement("audio");
    audio.controls = true; audio.preload = "none"; audio.src = item.file;
    const asMusic = document.createElement("button");
    asMusic.type = "button"; asMusic.className = "secondary"; asMusic.textContent = "Background music";
    asMusic.dataset.testid = "use-music"; asMusic.disabled = readOnly;
    asMusic.addEventListener("click", () => {
      body.background_music_config = {volume: 30, ducking: true, ...body.background_music_config, music_asset_id: item.id};
      changed();
      renderSettings();
    });
    const asAudio = document.createElement("button");
    asAudio.type = "button"; asAudio.className = "secondary"; asAudio.textContent = "Scene audio";
    asAudio.dataset.testid = "use-scene-audio"; asAudio.disabled = readOnly;
    asAudio.addEventListener("click", () => {
      scene().script_type = "AUDIO"; scene().audio_asset_id = item.id;
      changed();
      renderAll();
    });
    row.append(name, audio, asMusic, asAudio);
    return row;
  }

  // --- PPT import -------------------------------------------------------------------------------------------------
  function pptRow(item) {
    const row = document.createElement("div");
    row.className = "vs-row";
    row.dataset.testid = "material-ppt";
    row.dataset.assetId = item.id;
    if (item.picture) {
      const img = document.createElement("img");
      img.src = item.picture; img.alt = ""; img.className = "vs-row-picture"; img.loading = "lazy";
      row.appendChild(img);
    }
    const name = document.createElement("span");
    name.textContent = `${item.name}${item.pages ? ` (${item.pages} pages)` : ""}`;
    const button = document.createElement("button");
    button.type = "button"; button.textContent = "Import as scenes"; button.dataset.testid = "ppt-import-button";
    button.disabled = readOnly;
    button.addEventListener("click", () => importPpt(item, button));
    row.append(name, button);
    return row;
  }

  async function importPpt(item, button) {
    const holder = $("ppt-import");
    const result = $("ppt-result");
    holder.hidden = false;
    holder.dataset.state = "submitting";
    result.textContent = `Importing ${item.name}…`;
    result.className = "small";
    showProgress(holder, {progress: 0, stage: ""});
    button.disabled = true;
    const res = await send(urls.ppt_import, {ppt_asset_id: item.id});
    if (!res.ok) {
      holder.dataset.state = "failed";
      result.textContent = res.data.error_msg || `HTTP ${res.status}`;
      result.className = "small error";
      button.disabled = false;
      return;
    }
    follow(res.data.job_id, res.data.state_url, (data) => {
      holder.dataset.state = data.state;
      showProgress(holder, data);
      if (data.state === "SUCCEED") {
        appendImported(data.scenes || [], item, result);
        button.disabled = false;
      } else if (TERMINAL.includes(data.state)) {
        result.textContent = `The import failed: ${data.error_msg || data.state}`;
        result.className = "small error";
        button.disabled = false;
      }
    }, (job) => showProgress(holder, job), config.ws);
  }

  function appendImported(imported, item, result) {
    const room = limits.scenes - scenes().length;
    const taken = imported.slice(0, Math.max(0, room));
    const first = scenes().length;
    const pages = [];
    taken.forEach((raw, k) => {
      const s = normaliseScene(raw);
      s.background_config.forEach((background) => {  // the new page pictures join the backgrounds
        const id = background.background_asset_id;
        if (background.background_type !== "IMAGE" || assetsById.has(id)) return;
        const page = {id, name: `${item.name} - page ${k + 1}`, type: "IMAGE", picture: media(id, "picture"),
                      file: media(id, "file"), background: true};
        pages.push(page);
        assetsById.set(id, page);
      });
      if (!s.layer_config.some((l) => l.layer_type === "HUMAN")) {
        s.layer_config.push(humanLayer(s.layer_config.length + 1, vertical() ? 0.45 : 0.6));
        reindex(s.layer_config);
      }
      if (s.script_type === "TEXT" && !s.text_config.text) s.text_config.text = "";
      scenes().push(s);
    });
    materials.images.unshift(...pages);
    result.className = "small";
    result.textContent = `Added ${taken.length} scene${taken.length === 1 ? "" : "s"} from ${item.name}` +
      (taken.length < imported.length ? ` (${imported.length - taken.length} left out: at most ${limits.scenes} scenes)` : "") +
      (taken.some((s) => !spoken((s.text_config || {}).text).trim()) ? "; pages without notes need a text." : ".");
    if (taken.length) { current = first; selected = -1; changed(); }
    renderAll();
  }

  // --- settings ----------------------------------------------------------------------------------------------------
  function resolutionOf() { return Math.min(body.video_config.width || 1920, body.video_config.height || 1080) >= 1080 ? "1080" : "720"; }
  function setResolution(value, mode) {
    const short = value === "720" ? 720 : 1080;
    const long = value === "720" ? 1280 : 1920;
    const landscape = (mode || body.view_mode) !== "VERTICAL";
    body.video_config.width = landscape ? long : short;
    body.video_config.height = landscape ? short : long;
  }

  // 16:9 <-> 9:16: the avatar takes the default place of the new canvas; other layers keep their centre (as a share
  // of the canvas) and shrink to fit; text shrinks with its box.
  function setViewMode(mode) {
    if (mode === body.view_mode) return;
    const [ow, oh] = canvasSize();
    const [nw, nh] = limits.canvas[mode];
    const resolution = resolutionOf();
    body.view_mode = mode;
    body.video_config.view_mode = mode;
    body.video_config.canvas = {width: nw, height: nh};
    setResolution(resolution, mode);
    const sx = nw / ow;
    const sy = nh / oh;
    const k = Math.min(sx, sy);
    const clamp = (v, low, high) => Math.max(low, Math.min(high, Math.round(v)));
    scenes().forEach((s) => s.layer_config.forEach((item, index) => {
      if (item.layer_type === "HUMAN") {
        const placed = humanLayer(item.position.layer_index);
        s.layer_config[index] = {...item, position: placed.position, size: placed.size};
        return;
      }
      const w = Math.max(1, Math.round(item.size.width * k));
      const h = Math.max(1, Math.round(item.size.height * k));
      item.position.dx = clamp((item.position.dx + item.size.width / 2) * sx - w / 2, -nw, nw);
      item.position.dy = clamp((item.position.dy + item.size.height / 2) * sy - h / 2, -nh, nh);
      item.size.width = w;
      item.size.height = h;
      if (item.text_config && item.text_config.font_size) {
        item.text_config.font_size = clamp(item.text_config.font_size * k, 8, 400);
      }
    }));
    const subtitles = body.video_config.subtitle_config;
    if (subtitles) ["dx", "dy", "w", "h"].forEach((key) => delete subtitles[key]); // the new canvas's default box
    changed();
    renderAll();
  }

  function renderSettings() {
    $("script-name").value = body.script_name || "";
    root.querySelectorAll("input[name=vs-aspect]").forEach((radio) => { radio.checked = radio.value === body.view_mode; });
    if (body.voice_config.voice_asset_id) voiceSelect.value = body.voice_config.voice_asset_id;
    speed.value = String(body.voice_config.speed || 100);
    $("speed-out").textContent = speed.value;
    const video = body.video_config;
    $("resolution").value = resolutionOf();
    $("frame-rate").value = String(video.frame_rate || 25);
    $("transparent").checked = Boolean(video.is_transparent_background);
    const codec = $("codec");
    codec.value = video.codec || "H264";
    [...codec.options].forEach((option) => { option.disabled = (option.value === "H264") === Boolean(video.is_transparent_background); });
    const subtitles = Boolean(video.is_subtitle_enable);
    $("subtitles").checked = subtitles;
    const style = video.subtitle_config || {};
    $("subtitle-size").value = String(style.font_size || 48);
    $("subtitle-colour").value = (style.font_color || "#FFFFFF").slice(0, 7).toLowerCase();
    $("subtitle-outline").value = (style.stroke_color || "#000000").slice(0, 7).toLowerCase();
    $("subtitle-style").querySelectorAll("input").forEach((input) => { input.disabled = readOnly || !subtitles; });
    const musicConfig = body.background_music_config || {};
    fillAssetSelect(music, materials.music, musicConfig.music_asset_id || "", "No music");
    musicVolume.value = String(musicConfig.volume ?? 100);
    $("music-volume-out").textContent = musicVolume.value;
    $("music-ducking").checked = Boolean(musicConfig.ducking);
    [musicVolume, $("music-ducking")].forEach((input) => { input.disabled = readOnly || !musicConfig.music_asset_id; });
    const avatar = $("current-avatar");
    const preset = presetsById.get(body.model_asset_id);
    const model = assetsById.get(body.model_asset_id);
    const img = document.createElement("img");
    img.src = avatarPicture(); img.alt = "";
    const name = document.createElement("span");
    name.textContent = preset ? `${preset.name} (preset photo avatar)` : model ? model.name : body.model_asset_id || "none";
    avatar.replaceChildren(img, name);
    renderRenderButton();
  }

  function renderRenderButton() {
    const button = $("script-render");
    if (button) button.title = scriptId ? "Save, then render the video" : "Saves the script first";
    const hint = $("render-hint");
    if (scriptId && panel.dataset.state === undefined) {
      hint.textContent = "Saves the script, then renders it. Progress is shown here and in the list of renders.";
    }
  }

  $("script-name").addEventListener("input", (event) => { body.script_name = event.target.value; changed(); });
  root.querySelectorAll("input[name=vs-aspect]").forEach((radio) => radio.addEventListener("change", () => setViewMode(radio.value)));
  voiceSelect.addEventListener("change", () => { body.voice_config.voice_asset_id = voiceSelect.value; changed(); });
  speed.addEventListener("input", () => {
    body.voice_config.speed = Number(speed.value);
    $("speed-out").textContent = speed.value;
    changed();
    renderCounts();
  });
  $("resolution").addEventListener("change", (event) => { setResolution(event.target.value); changed(); });
  $("frame-rate").addEventListener("change", (event) => { body.video_config.frame_rate = Number(event.target.value); changed(); });
  $("transparent").addEventListener("change", (event) => {
    const video = body.video_config;
    video.is_transparent_background = event.target.checked;
    if (event.target.checked && video.codec === "H264") video.codec = "VP8";
    if (!event.target.checked) video.codec = "H264";
    video.format = {H264: "MP4", VP8: "WEBM", QTRLE: "MOV"}[video.codec];
    changed();
    renderSettings();
    renderStage();
  });
  $("codec").addEventListener("change", (event) => {
    body.video_config.codec = event.target.value;
    body.video_config.format = {H264: "MP4", VP8: "WEBM", QTRLE: "MOV"}[event.target.value];
    changed();
  });
  $("subtitles").addEventListener("change", (event) => {
    const video = body.video_config;
    video.is_subtitle_enable = event.target.checked;
    if (event.target.checked && !video.subtitle_config) video.subtitle_config = {font_size: 48, font_color: "#FFFFFF", stroke_color: "#000000"};
    changed();
    renderSettings();
    renderStage();
  });
  [["subtitle-size", "font_size", Number], ["subtitle-colour", "font_color", (v) => v.toUpperCase()],
   ["subtitle-outline", "stroke_color", (v) => v.toUpperCase()]].forEach(([id, key, cast]) => {
    $(id).addEventListener("input", (event) => {
      body.video_config.subtitle_config = body.video_config.subtitle_config || {};
      body.video_config.subtitle_config[key] = cast(event.target.value);
      changed();
      renderStage();
    });
  });
  music.addEventListener("change", () => {
    body.background_music_config = music.value
      ? {volume: 30, ducking: true, ...body.background_music_config, music_asset_id: music.value} : {};
    changed();
    renderSettings();
  });
  musicVolume.addEventListener("input", () => {
    body.background_music_config.volume = Number(musicVolume.value);
    $("music-volume-out").textContent = musicVolume.value;
    changed();
  });
  $("music-ducking").addEventListener("change", (event) => { body.background_music_config.ducking = event.target.checked; changed(); });
  $("safe-area-toggle").addEventListener("change", renderStage);
  root.querySelectorAll("[data-z]").forEach((button) => button.addEventListener("click", () => zOrder(button.dataset.z)));
  root.querySelector("[data-layer-delete]").addEventListener("click", deleteLayer);
  root.querySelectorAll("[data-add-text]").forEach((button) => button.addEventListener("click", () => {
    const [cw, ch] = canvasSize();
    const title = button.dataset.addText === "title";
    const w = Math.round(cw * 0.7);
    const h = title ? 180 : 320;
    addLayer({layer_type: "TEXT", position: {dx: Math.round((cw - w) / 2), dy: title ? Math.round(ch * 0.1) : Math.round((ch - h) / 2), layer_index: 0},
              size: {width: w, height: h},
              text_config: {text: title ? "Title" : "Text", font_name: "", font_size: title ? 80 : 44, font_color: "#FFFFFF"}});
  }));
  $("background-colour-input").addEventListener("change", (event) => {
    setBackground({background_type: "COLOR", background_color_config: event.target.value.toUpperCase()});
  });

  // --- errors at their fields ----------------------------------------------------------------------------------------
  // A path such as shoot_scripts[2].layer_config[1].position.dx selects scene 3 and its layer 2, and the message
  // is shown at the input that names the longest part of the path.
  function parseError(path, message) {
    const found = {path: path || "", message, scene: -1, layer: -1, rest: ""};
    const sceneMatch = /^shoot_scripts\[(\d+)\](?:\.shoot_script)?(?:\.(.*))?$/.exec(found.path);
    if (sceneMatch) {
      found.scene = Number(sceneMatch[1]);
      found.rest = sceneMatch[2] || "";
      const layerMatch = /^layer_config\[(\d+)\](?:\.(.*))?$/.exec(found.rest);
      if (layerMatch) { found.layer = Number(layerMatch[1]); found.rest = layerMatch[2] || ""; }
    }
    return found;
  }

  function bestHolder(candidates, path) {
    let best = null;
    let bestLength = -1;
    candidates.forEach(([key, holder]) => {
      if (!holder) return;
      const fits = key === path || path.startsWith(`${key}.`) || path.startsWith(`${key}[`);
      if (fits && key.length > bestLength) { best = holder; bestLength = key.length; }
    });
    if (!best) {
      const wider = candidates.find(([key, holder]) => holder && path && key.startsWith(path));
      if (wider) best = wider[1];
    }
    return best;
  }

  function holdersOf(selector, attribute) {
    return [...root.querySelectorAll(selector)].map((el) => [el.dataset[attribute],
      el.classList.contains("field-error") ? el : el.querySelector(".field-error")]);
  }

  function clearErrors() {
    root.querySelectorAll(".field-error").forEach((holder) => { holder.hidden = true; holder.textContent = ""; });
    root.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    root.querySelectorAll(".vs-thumb.has-error").forEach((li) => li.classList.remove("has-error"));
    $("error-form").hidden = true;
  }

  function applyError() {
    if (!error) return;
    let holder = null;
    if (error.scene >= 0) {
      if (error.layer >= 0) holder = bestHolder(holdersOf("[data-layer-field]", "layerField"), error.rest);
      else holder = bestHolder(holdersOf("[data-scene-field]", "sceneField"), error.rest);
      if (!holder) holder = bestHolder(holdersOf("[data-scene-field]", "sceneField"), error.layer >= 0 ? "layer_config" : error.rest);
      if (!holder) holder = root.querySelector("[data-field-error=scene]");
    } else {
      holder = bestHolder([...holdersOf("[data-field]", "field"), ...holdersOf("[data-field-error]", "fieldError")], error.path);
    }
    const banner = $("error-form");
    banner.hidden = false;
    banner.textContent = error.path ? `${error.path}: ${error.message}` : error.message;
    if (!holder) return;
    holder.textContent = error.message;
    holder.hidden = false;
    holder.dataset.path = error.path;
    const field = holder.closest(".vs-field");
    const input = field && field.querySelector("input:not([type=radio]), select, textarea");
    if (input) input.setAttribute("aria-invalid", "true");
    if (field && field.closest("[data-panel]")) {
      const tab = root.querySelector(`.vs-tabs [data-tab="${field.closest("[data-panel]").dataset.panel}"]`);
      if (tab) tab.click();
    }
  }

  function showError(path, message) {
    clearErrors();
    error = parseError(path, message);
    if (error.scene >= 0 && error.scene < scenes().length) {
      current = error.scene;
      selected = error.layer >= 0 && error.layer < scene().layer_config.length ? error.layer : -1;
    }
    renderAll();
    const holder = root.querySelector(".field-error:not([hidden])");
    (holder && holder.closest(".vs-field") ? holder.closest(".vs-field") : $("error-form")).scrollIntoView({block: "center"});
  }

  root.addEventListener("input", (event) => {
    const field = event.target.closest(".vs-field");
    if (!error || !field) return;
    const holder = field.querySelector(".field-error");
    if (holder && !holder.hidden) { error = null; clearErrors(); }
  });

  // --- save and render -----------------------------------------------------------------------------------------------
  let saving = null;
  async function save() {
    if (saving) return saving;
    saving = (async () => {
      const status = $("save-status");
      const button = $("script-save");
      if (button) button.disabled = true;
      root.dataset.state = "saving";
      status.textContent = "saving…";
      error = null;
      clearErrors();
      try {
        const res = await send(urls.save, payload());
        if (!res.ok) {
          root.dataset.state = "error";
          status.textContent = "not saved: see the error";
          showError(res.data.field, res.data.message || res.data.error_msg || `HTTP ${res.status}`);
          return false;
        }
        scriptId = res.data.script_id;
        urls = {...urls, ...res.data.urls};
        body = normalise(res.data.body);
        current = Math.min(current, scenes().length - 1);
        if (location.pathname !== res.data.url) history.replaceState(null, "", res.data.url);
        dirty = false;
        root.dataset.state = "saved";
        root.dataset.scriptId = scriptId;
        status.textContent = "saved";
        renderAll();
        return true;
      } catch (err) {
        root.dataset.state = "error";
        status.textContent = "";
        showError("", `The script was not saved: ${err.message}`);
        return false;
      } finally {
        if (button) button.disabled = false;
        saving = null;
      }
    })();
    return saving;
  }

  const panel = $("render-panel");
  function followRender(data) {
    showRender(panel, data);
    if (LIVE.includes(data.state)) {
      follow(data.job_id, data.state_url, (state) => showRender(panel, state),
             (job) => showProgress($("render-progress"), job), config.ws);
    }
  }

  async function renderVideo() {
    const button = $("script-render");
    button.disabled = true;
    try {
      if (dirty || !scriptId) {
        if (!(await save())) return;
      }
      $("render-hint").textContent = "Rendering: progress by stage below.";
      const res = await send(urls.render, {});
      if (!res.ok) {
        showError(res.data.field, res.data.message || res.data.error_msg || `HTTP ${res.status}`);
        return;
      }
      followRender(res.data);
    } finally {
      button.disabled = false;
    }
  }

  if ($("script-save")) $("script-save").addEventListener("click", save);
  if ($("script-render")) $("script-render").addEventListener("click", renderVideo);
  window.addEventListener("beforeunload", (event) => { if (dirty && !readOnly) { event.preventDefault(); event.returnValue = ""; } });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s" && !readOnly) { event.preventDefault(); save(); }
  });

  // --- drawing everything ---------------------------------------------------------------------------------------------
  function renderScene() {
    if (selected >= ((scene() || {}).layer_config || []).length) selected = -1;
    renderStage();
    renderLayerTools();
    applyError();
  }

  function renderAll() {
    current = Math.max(0, Math.min(current, scenes().length - 1));
    renderSettings();
    renderMaterials();
    renderStrip();
    renderSceneEditor();
    renderScene();
  }

  if (readOnly) {
    root.querySelectorAll(".vs-settings input, .vs-settings select, .vs-scene-editor textarea, .vs-scene-editor select, "
      + ".vs-scene-editor input, .vs-head input, .vs-canvas-bar input[name=vs-aspect], .vs-ssml button:not([data-audition]), "
      + ".vs-materials button:not([data-tab])").forEach((input) => { input.disabled = true; });
  }
  new ResizeObserver(() => renderStage()).observe(stage);
  renderAll();
  if (config.latest_render) followRender(config.latest_render);
})();
