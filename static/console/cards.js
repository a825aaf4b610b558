// Business cards: copy buttons for share links; the gallery's tiles follow their render live (socket + a light
// poll) and show the card image when it is done; the card page follows its render and re-renders when it ends;
// the editor previews the chosen photo and logo, switches the introduction between text and audio, shows the
// greeting an empty text becomes, and saves without reloading (uploads survive an error, shown at its field).
(function () {
  const {TERMINAL, fetchJson, showProgress, connect, followJobPage} = window.consoleJobs;
  const POLL_MS = 2000;

  // --- copy a share link ---------------------------------------------------------------------------------
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (error) { /* fall back below */ }
    }
    const area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    area.remove();
    return done;
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button || !button.dataset.copy) return;
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    const ok = await copyText(button.dataset.copy);
    button.textContent = ok ? "Copied ✓" : "Copy failed: select the link";
    button.classList.toggle("copied", ok);
    button.dataset.copied = ok ? "1" : "";
    setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
  });

  // --- gallery ---------------------------------------------------------------------------------------------
  const gallery = document.getElementById("card-gallery");
  if (gallery) {
    const tileOf = (jobId) => gallery.querySelector(`[data-testid=card-tile][data-engine-job-id="${jobId}"]`);

    function showCard(tile, data) {
      tile.dataset.state = data.state;
      tile.dataset.rendering = data.rendering ? "1" : "";
      tile.dataset.engineJobId = data.engine_job_id || "";
      tile.className = `bc-tile state-${data.state.toLowerCase()}`;
      const badge = tile.querySelector("[data-testid=card-state]");
      badge.textContent = data.state; badge.className = `badge state-${data.state.toLowerCase()}`;
      showProgress(tile, data.job);
      tile.querySelector("[data-testid=card-progress]").hidden = !data.rendering;
      const error = tile.querySelector("[data-testid=card-error]");
      error.textContent = data.state === "FAILED" ? (data.job.error_msg || "the render failed") : "";
      error.hidden = data.state !== "FAILED";
      const thumb = tile.querySelector("[data-testid=card-thumb]");
      if (data.image_url && thumb.getAttribute("src") !== data.image_url) {
        thumb.src = data.image_url; thumb.classList.remove("photo");
      }
      const share = tile.querySelector("[data-testid=card-copy-share]");
      if (data.share_url) { share.dataset.copy = data.share_url; share.hidden = false; }
    }

    async function refresh(tile) {
      try { showCard(tile, await fetchJson(tile.dataset.stateUrl)); } catch (error) { /* the next tick tries again */ }
    }

    const rendering = () => [...gallery.querySelectorAll("[data-testid=card-tile][data-rendering='1']")];
    if (rendering().length) {
      const timer = setInterval(() => {
        const tiles = rendering();
        if (!tiles.length) { clearInterval(timer); return; }
        tiles.forEach(refresh);
      }, POLL_MS);
      if (gallery.dataset.ws && "WebSocket" in window) {
        connect((job) => {
          const tile = tileOf(job.job_id);
          if (!tile) return;
          showProgress(tile, job);
          if (TERMINAL.includes(job.state)) refresh(tile);
        });
      }
    }
  }

  // --- card page ---------------------------------------------------------------------------------------
  const cardPage = document.getElementById("card-page");
  if (cardPage) {
    followJobPage(cardPage, document.querySelector("[data-testid=card-state-panel]"), POLL_MS);
  }

  // --- editor --------------------------------------------------------------------------------------------
  const form = document.getElementById("card-form");
  if (form) {
    const field = (name) => form.elements.namedItem(name);
    const photoInput = form.querySelector("input[type=file][name=photo]");
    const uploadPreview = form.querySelector("[data-photo-preview=upload]");
    const uploadHint = form.querySelector("[data-testid=photo-upload-hint]");
    const minis = form.querySelectorAll(".bc-mini");
    let uploadUrl = "";

    // The chosen photo, shown in the upload tile and inside the template visuals.
    function showPhoto() {
      const chosen = form.querySelector("input[name=photo_choice]:checked");
      const image = chosen ? form.querySelector(`[data-photo-preview="${chosen.value}"]`) : null;
      const src = image && !image.hidden ? image.getAttribute("src") : "";
      minis.forEach((mini) => mini.style.setProperty("--photo", src ? `url("${src}")` : "none"));
    }
    photoInput.addEventListener("change", () => {
      if (uploadUrl) URL.revokeObjectURL(uploadUrl);
      const file = photoInput.files[0];
      uploadUrl = file ? URL.createObjectURL(file) : "";
      if (uploadUrl) uploadPreview.src = uploadUrl; else uploadPreview.removeAttribute("src");
      uploadPreview.hidden = !uploadUrl; uploadHint.hidden = Boolean(uploadUrl);
      if (file) form.querySelector("input[name=photo_choice][value=upload]").checked = true;
      clearError("photo");
      showPhoto();
    });
    form.querySelectorAll("input[name=photo_choice]").forEach((radio) => radio.addEventListener("change", () => {
      clearError("photo"); showPhoto();
    }));
    showPhoto();

    const logoInput = form.querySelector("input[type=file][name=logo]");
    const logoPreview = form.querySelector("[data-logo-preview]");
    logoInput.addEventListener("change", () => {
      const file = logoInput.files[0];
      if (file) { logoPreview.src = URL.createObjectURL(file); logoPreview.hidden = false; }
      clearError("logo");
    });

    // Text or audio introduction.
    const introMode = () => (form.querySelector("input[name=introduction_type]:checked") || {}).value || "TEXT";
    function showIntro() {
      form.querySelectorAll("[data-intro]").forEach((part) => { part.hidden = part.dataset.intro !== introMode(); });
    }
    form.querySelectorAll("input[name=introduction_type]").forEach((radio) => radio.addEventListener("change", showIntro));
    showIntro();

    // The greeting an empty text becomes (avatars.cards.default_introduction), as the textarea's placeholder.
    const textarea = field("introduction_text");
    const voice = field("voice_asset_id");
    function greeting() {
      const [name, title, company] = ["name", "title", "company"].map((key) => (field(key).value || "").trim());
      const option = voice.selectedOptions[0];
      const language = option ? option.dataset.language || "zh" : "zh";
      const who = name || "…";
      if (language.startsWith("zh")) {
        const role = company && title ? `${company}的${title}` : (company || title);
        return `大家好，我是${role}${who}。很高兴认识您！`;
      }
      const role = company && title ? `, ${title} at ${company}` : (title || company ? `, ${title}${company}` : "");
      return `Hello, I am ${who}${role}. Nice to meet you!`;
    }
    function showGreeting() { textarea.placeholder = `Empty: “${greeting()}”`; }
    ["name", "title", "company"].forEach((key) => field(key).addEventListener("input", showGreeting));
    voice.addEventListener("change", showGreeting);
    showGreeting();

    // Errors at their fields.
    function clearError(name) {
      const holder = form.querySelector(`[data-error-for="${name}"]`);
      if (holder) { holder.hidden = true; holder.textContent = ""; }
      const input = field(name);
      if (input && input.removeAttribute) input.removeAttribute("aria-invalid");
    }
    function clearErrors() {
      form.querySelectorAll("[data-error-for]").forEach((holder) => { holder.hidden = true; holder.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    }
    function showError(name, message) {
      const holder = form.querySelector(`[data-error-for="${name}"]`) || form.querySelector("[data-error-for=form]");
      holder.textContent = message; holder.hidden = false;
      const input = field(name);
      if (input && input.setAttribute && !(input instanceof RadioNodeList)) input.setAttribute("aria-invalid", "true");
      if (name === "introduction_text" || name === "voice_asset_id") {
        form.querySelector("input[name=introduction_type][value=TEXT]").checked = true; showIntro();
      } else if (name === "audio") {
        form.querySelector("input[name=introduction_type][value=AUDIO]").checked = true; showIntro();
      }
      (holder.closest("label, fieldset") || holder).scrollIntoView({block: "center", behavior: "smooth"});
      if (input && input.focus && !(input instanceof RadioNodeList)) input.focus({preventScroll: true});
    }
    form.querySelectorAll("input:not([type=radio]):not([type=file]), textarea, select").forEach((input) => {
      input.addEventListener("input", () => clearError(input.name));
    });

    const button = form.querySelector("[data-testid=card-save]");
    const status = form.querySelector("[data-testid=card-save-status]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      const body = new FormData(form);
      if (introMode() === "TEXT") body.delete("audio");
      const choice = body.get("photo_choice");
      if (choice !== "upload") body.delete("photo");
      button.disabled = true; form.dataset.state = "saving";
      status.textContent = body.has("photo") || body.has("logo") || body.has("audio") ? "uploading and checking…" : "saving…";
      try {
        const data = await fetch(form.action, {method: "POST", body, credentials: "same-origin",
                                               headers: {Accept: "application/json"}});
        let answer = {};
        try { answer = await data.json(); } catch (error) { answer = {error_msg: `HTTP ${data.status}`}; }
        if (data.ok && answer.url) { form.dataset.state = "saved"; status.textContent = "saved"; location.assign(answer.url); return; }
        form.dataset.state = "error"; status.textContent = "";
        showError(answer.input || "form", answer.message || answer.error_msg || `HTTP ${data.status}`);
      } catch (error) {
        form.dataset.state = "error"; status.textContent = "";
        showError("form", `The card was not saved: ${error.message}`);
      } finally {
        if (form.dataset.state !== "saved") button.disabled = false;
      }
    });
  }
})();
