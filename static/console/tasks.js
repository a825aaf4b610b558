// Task center: renders jobs and keeps them current from the /ws/jobs/ WebSocket.
(function () {
  const tbody = document.querySelector("#jobs tbody");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const rows = new Map();

  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

  function actions(job) {
    const td = document.createElement("td");
    if (job.state === "WAITING") {
      const form = document.createElement("form");
      form.method = "post"; form.action = `/tasks/${job.job_id}/cancel`;
      form.innerHTML = `<input type="hidden" name="csrfmiddlewaretoken" value="${csrf}"><button type="submit">Cancel</button>`;
      td.appendChild(form);
    }
    if (job.state === "SUCCEED" && job.has_file) {
      const a = document.createElement("a");
      a.href = `/tasks/${job.job_id}/download`; a.textContent = "Download"; a.dataset.testid = "download";
      td.appendChild(a);
    }
    if (job.state === "FAILED" && job.error_msg) {
      const span = document.createElement("span"); span.className = "error"; span.textContent = job.error_msg;
      td.appendChild(span);
    }
    return td;
  }

  function render(job) {
    const tr = document.createElement("tr");
    tr.dataset.jobId = job.job_id;
    tr.dataset.state = job.state;
    tr.className = "state-" + job.state.toLowerCase();
    const bar = document.createElement("td");
    bar.innerHTML = `<progress max="100" value="${job.progress}"></progress> <span class="pct">${job.progress}%</span>`;
    tr.append(cell(job.job_id.slice(0, 8)), cell(job.kind_label), cell(job.state), bar, cell(job.stage || ""),
              cell(new Date(job.create_time).toLocaleString()), actions(job));
    const old = rows.get(job.job_id);
    if (old) { old.replaceWith(tr); } else { tbody.prepend(tr); }
    rows.set(job.job_id, tr);
    document.getElementById("no-jobs").hidden = true;
  }

  JSON.parse(document.getElementById("initial-jobs").textContent).reverse().forEach(render);

  const status = document.getElementById("live-status");
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
    socket.onopen = () => { status.textContent = "live"; status.dataset.state = "live"; };
    socket.onmessage = (event) => { const msg = JSON.parse(event.data); if (msg.type === "job") render(msg.job); };
    socket.onclose = () => { status.textContent = "reconnecting…"; status.dataset.state = "down"; setTimeout(connect, 2000); };
  }
  connect();
})();
