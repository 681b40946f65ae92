// The review workbench's only script (served from /review/assets; the CSP forbids inline script).
// Keyboard shortcuts, the lease heartbeat, media reveal and the bulk "select all".
(function () {
  "use strict";

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) && target.type !== "radio" && target.type !== "checkbox");
  }

  function antiforgeryToken(form) {
    const field = form.querySelector("input[name='__RequestVerificationToken']");
    return field ? field.value : "";
  }

  // Reason codes: show only those of the chosen decision and pick its first.
  function syncReasons(form) {
    const chosen = form.querySelector("input[name='action']:checked");
    const select = form.querySelector("#reason-code");
    if (!select) return;
    let first = null;
    for (const group of select.querySelectorAll("optgroup")) {
      const match = chosen && group.dataset.action === chosen.value;
      group.hidden = !!chosen && !match;
      group.disabled = !!chosen && !match;
      if (match && !first) first = group.querySelector("option");
    }
    if (first) select.value = first.value;
  }

  function pickReason(form, n) {
    const chosen = form.querySelector("input[name='action']:checked");
    if (!chosen) return;
    const group = form.querySelector(`#reason-code optgroup[data-action='${chosen.value}']`);
    const options = group ? group.querySelectorAll("option") : [];
    if (n >= 1 && n <= options.length) form.querySelector("#reason-code").value = options[n - 1].value;
  }

  function setupDecisionForm(form) {
    for (const radio of form.querySelectorAll("input[name='action']")) radio.addEventListener("change", () => syncReasons(form));
    syncReasons(form);

    // The suggested decision (from the most similar decided item): one click picks its decision and reason.
    const suggestion = document.getElementById("use-suggestion");
    if (suggestion) suggestion.addEventListener("click", () => {
      const radio = form.querySelector(`input[name='action'][value='${CSS.escape(suggestion.dataset.action)}']`);
      if (!radio) return;
      radio.checked = true;
      syncReasons(form);
      const option = Array.from(form.querySelectorAll(`#reason-code optgroup[data-action='${CSS.escape(radio.value)}'] option`))
        .find((o) => o.value === suggestion.dataset.reason);
      if (option) form.querySelector("#reason-code").value = option.value;
    });

    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const key = event.key.toLowerCase();
      const radio = form.querySelector(`input[name='action'][data-key='${key}']`);
      if (radio) {
        radio.checked = true;
        syncReasons(form);
        event.preventDefault();
        return;
      }
      if (/^[1-9]$/.test(key)) { pickReason(form, Number(key)); event.preventDefault(); return; }
      if (key === "enter" && form.querySelector("input[name='action']:checked")) {
        event.preventDefault();
        form.querySelector("#decide-next").click();
      }
    });

    // Renew the lease while the page is open; a closed tab lets it lapse and the item returns to its queue.
    const every = Number(form.dataset.renewMs) || 60000;
    const kind = form.querySelector("input[name='kind']").value;
    const timer = setInterval(async () => {
      const body = new URLSearchParams({ kind: kind, __RequestVerificationToken: antiforgeryToken(form) });
      try {
        const response = await fetch(form.dataset.renewUrl, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "RequestVerificationToken": antiforgeryToken(form) },
        });
        if (response.status === 409) {
          clearInterval(timer);
          document.getElementById("lease-lost").classList.remove("hidden");
        }
      } catch (e) { /* a network blip: the next beat tries again */ }
    }, every);
  }

  function setupMedia() {
    const figures = document.querySelectorAll("[data-media]");
    figures.forEach((figure) => figure.addEventListener("click", (event) => {
      if (event.target instanceof HTMLVideoElement && !figure.classList.contains("veiled")) return;
      figure.classList.toggle("veiled");
      event.preventDefault();
    }));
    document.addEventListener("keydown", (event) => {
      if (event.key === "v" && !typing(event.target) && !event.ctrlKey && !event.metaKey)
        figures.forEach((f) => f.classList.toggle("veiled"));
    });
  }

  function setupBulk() {
    const all = document.getElementById("bulk-all");
    if (!all) return;
    all.addEventListener("change", () => document.querySelectorAll(".bulk-member").forEach((c) => { c.checked = all.checked; }));
  }

  function setupQueues() {
    const next = document.getElementById("next-item");
    if (!next) return;
    document.addEventListener("keydown", (event) => {
      if (event.key === "n" && !typing(event.target) && !event.ctrlKey && !event.metaKey) { event.preventDefault(); next.click(); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("decide-form");
    if (form) setupDecisionForm(form);
    setupMedia();
    setupBulk();
    setupQueues();
  });
})();
