// slowburn's one script: the silences form and its Expire buttons. The API token is asked once per
// browser tab and kept in that tab's sessionStorage; it is sent only as an Authorization header.
"use strict";
(function () {
  const status = document.getElementById("status");
  const tokenInput = document.getElementById("token");
  if (!status) return;
  const saved = sessionStorage.getItem("slowburn-token");
  if (saved && tokenInput) tokenInput.value = saved;
  function token() {
    const t = tokenInput ? tokenInput.value.trim() : "";
    if (t) sessionStorage.setItem("slowburn-token", t);
    return t;
  }
  function say(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "bad";
  }
  async function call(method, url, body) {
    const headers = { "Content-Type": "application/json" };
    const t = token();
    if (t) headers["Authorization"] = "Bearer " + t;
    const resp = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    let msg = "";
    try { msg = (await resp.json()).error || ""; } catch (e) { msg = ""; }
    return { ok: resp.ok, status: resp.status, msg };
  }
  const form = document.getElementById("silence-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const f = new FormData(form);
      const hours = parseFloat(f.get("hours"));
      const body = {
        slo: f.get("slo"),
        ends_at: new Date(Date.now() + hours * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
        comment: f.get("comment"),
        created_by: f.get("created_by"),
      };
      if (f.get("severity")) body.severity = f.get("severity");
      const r = await call("POST", "/api/v1/silences", body);
      if (r.ok) { say("Silence created.", true); setTimeout(function () { location.reload(); }, 300); }
      else say("Refused (HTTP " + r.status + "): " + r.msg, false);
    });
  }
  document.querySelectorAll("button.expire").forEach(function (b) {
    b.addEventListener("click", async function () {
      const r = await call("DELETE", "/api/v1/silences/" + encodeURIComponent(b.dataset.id));
      if (r.ok) { say("Silence expired.", true); setTimeout(function () { location.reload(); }, 300); }
      else say("Refused (HTTP " + r.status + "): " + r.msg, false);
    });
  });
})();
