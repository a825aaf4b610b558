// Asset library: upload (create -> PUT with progress -> complete), drag and drop, and live cards.
// Cards of assets still CREATING follow their processing job over /ws/jobs/ and a light poll.
(function () {
  const csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  const csrf = csrfInput ? csrfInput.value : "";
  const live = document.getElementById("asset-live");
  const statusUrl = live ? live.dataset.statusUrl : "";
  const grid = document.getElementById("asset-grid");
  const head = document.getElementById("asset-head");  // detail page
  const POLL_MS = 2000;

  // --- live state ---------------------------------------------------------------------------------
  function creating() {
    if (head) return head.dataset.state === "CREATING" ? [head] : [];
    return grid ? Array.from(grid.querySelectorAll('[data-asset-id][data-state="CREATING"]')) : [];
  }

  let polling = false;
  async function poll() {
    const pending = creating();
    if (!pending.length || polling) return;
    polling = true;
    try {
      const ids = pending.map((el) => el.dataset.assetId).join(",");
      const res = await fetch(`${statusUrl}?ids=${encodeURIComponent(ids)}`, {credentials: "same-origin"});
      if (!res.ok) return;
      const data = await res.json();
      for (const item of data.assets) {
        if (head) {
          if (item.state !== head.dataset.state) location.reload();
          else if (item.job_id) head.dataset.jobId = item.job_id;
          continue;
        }
        const old = grid.querySelector(`[data-asset-id="${item.asset_id}"]`);
        if (!old) continue;
        const holder = document.createElement("div");
        holder.innerHTML = item.html.trim();
        if (holder.firstElementChild) old.replaceWith(holder.firstElementChild);
      }
    } catch (error) {
      // network hiccup: the next tick tries again
    } finally {
      polling = false;
    }
  }
  if (statusUrl) setInterval(poll, POLL_MS);

  function showProgress(job) {
    const el = document.querySelector(`[data-job-id="${job.job_id}"]`);
    if (!el) return;
    const bar = el.querySelector("progress");
    if (bar) bar.value = job.progress;
    const pct = el.querySelector(".pct");
    if (pct) pct.textContent = `${job.progress}%`;
    const stage = el.querySelector(".stage");
    if (stage) stage.textContent = job.stage || "";
    if (["SUCCEED", "FAILED", "CANCELED"].includes(job.state)) poll();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "job" && msg.job.kind === "asset_process") showProgress(msg.job);
    };
    socket.onclose = (event) => { if (event.code !== 4403) setTimeout(connect, 3000); };
  }
  if (live && live.dataset.live && "WebSocket" in window) connect();

  // --- transfer dialog: shown once, right after the replication info was made ----------------------
  const transfer = document.getElementById("transfer-dialog");
  if (transfer) {
    if (typeof transfer.showModal === "function") transfer.showModal(); else transfer.setAttribute("open", "");
  }
  const copyButton = document.getElementById("copy-info");
  if (copyButton) {
    copyButton.addEventListener("click", async () => {
      const text = document.getElementById("replication-info");
      text.select();
      try { await navigator.clipboard.writeText(text.value); } catch (error) { document.execCommand("copy"); }
      document.getElementById("copied").textContent = "copied";
    });
  }

  // --- panels -------------------------------------------------------------------------------------
  function toggle(buttonId, panelId) {
    const button = document.getElementById(buttonId);
    const panel = document.getElementById(panelId);
    if (button && panel) button.addEventListener("click", () => { panel.hidden = !panel.hidden; });
  }
  toggle("upload-open", "upload");
  toggle("import-open", "import");

  // --- upload ---------------------------------------------------------------------------------------
  const form = document.getElementById("upload-form");
  if (!form) return;
  const panel = document.getElementById("upload");
  const input = document.getElementById("upload-file");
  const zone = document.getElementById("drop-zone");
  const chosen = document.getElementById("chosen");
  const list = document.getElementById("upload-list");
  let files = [];

  function choose(picked) {
    files = Array.from(picked || []);
    chosen.textContent = files.map((f) => `${f.name} (${f.size} bytes)`).join(", ");
    const name = document.getElementById("upload-name");
    if (files.length === 1 && !name.value) name.placeholder = files[0].name;
  }
  input.addEventListener("change", () => choose(input.files));
  document.getElementById("upload-close").addEventListener("click", () => { panel.hidden = true; });
  ["dragenter", "dragover"].forEach((kind) => zone.addEventListener(kind, (event) => {
    event.preventDefault(); zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((kind) => zone.addEventListener(kind, (event) => {
    event.preventDefault(); zone.classList.remove("over");
  }));
  zone.addEventListener("drop", (event) => choose(event.dataTransfer.files));
  // Dropping anywhere on the page opens the panel instead of navigating to the file.
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    if (!zone.contains(event.target) && event.dataTransfer.files.length) {
      panel.hidden = false; choose(event.dataTransfer.files);
    }
  });

  function row(file) {
    const li = document.createElement("li");
    li.dataset.testid = "upload-item";
    const label = document.createElement("span");
    label.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    const note = document.createElement("span");
    note.className = "muted";
    note.textContent = "starting…";
    li.append(label, " ", bar, " ", note);
    list.prepend(li);
    return {
      progress(pct, text) { bar.value = pct; note.className = "muted"; note.textContent = text; },
      fail(message) { note.className = "error"; note.textContent = message; li.dataset.state = "failed"; },
      done(text) { bar.value = 100; note.className = "muted"; note.textContent = text; li.dataset.state = "done"; },
    };
  }

  async function answer(res) {
    try { return await res.json(); } catch (error) { return {error_msg: `HTTP ${res.status}`}; }
  }

  function put(url, file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
        let message = `upload failed (HTTP ${xhr.status})`;
        try { message = JSON.parse(xhr.responseText).error_msg || message; } catch (error) { /* not JSON */ }
        reject(new Error(message));
      };
      xhr.onerror = () => reject(new Error("the connection was lost during the upload"));
      xhr.send(file);
    });
  }

  function placeholder(assetId) {
    if (!grid || grid.querySelector(`[data-asset-id="${assetId}"]`)) return;
    const card = document.createElement("article");
    card.className = "asset-card state-creating";
    card.dataset.assetId = assetId;
    card.dataset.state = "CREATING";
    card.textContent = "processing…";
    grid.prepend(card);
    const empty = document.getElementById("no-assets");
    if (empty) empty.hidden = true;
  }

  async function uploadOne(file, fields, single) {
    const item = row(file);
    const body = new FormData();
    body.append("asset_type", fields.get("asset_type"));
    body.append("name", single ? fields.get("name") : "");
    body.append("description", fields.get("description"));
    body.append("tags", fields.get("tags"));
    body.append("file_name", file.name);
    body.append("file_size", String(file.size));
    body.append("file_type", file.name.includes(".") ? file.name.split(".").pop() : "");
    const created = await fetch(form.dataset.uploadUrl, {
      method: "POST", body, credentials: "same-origin", headers: {"X-CSRFToken": csrf},
    });
    if (created.redirected) { item.fail("your session has ended: sign in again"); return; }
    const data = await answer(created);
    if (!created.ok) { item.fail(data.error_msg || `HTTP ${created.status}`); return; }
    try {
      await put(data.upload_url, file, (share) => item.progress(Math.round(share * 95), `uploading ${Math.round(share * 100)}%`));
    } catch (error) {
      item.fail(error.message);
      const cancel = new FormData(); cancel.append("state", "FAILED");
      await fetch(data.complete_url, {method: "POST", body: cancel, credentials: "same-origin", headers: {"X-CSRFToken": csrf}});
      return;
    }
    item.progress(97, "verifying…");
    const completed = await fetch(data.complete_url, {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrf}});
    const result = await answer(completed);
    placeholder(data.asset_id);
    if (!completed.ok) { item.fail(result.error_msg || `HTTP ${completed.status}`); }
    else { item.done("uploaded: validating and making previews"); }
    poll();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!files.length) { chosen.textContent = "Choose or drop a file first."; return; }
    const fields = new FormData(form);
    const batch = files;
    choose([]);
    input.value = "";
    for (const file of batch) {
      try { await uploadOne(file, fields, batch.length === 1); } catch (error) { row(file).fail(error.message); }
    }
    form.querySelector("#upload-name").value = "";
  });
})();
