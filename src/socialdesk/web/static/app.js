// socialdesk workspace: keyboard shortcuts, the composer's counter, live timers, viewing beats.
// Loaded as a file (the Content-Security-Policy allows no inline script and no eval).
(function () {
  "use strict";

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // -- relative times: SLA timers and "3 min ago", refreshed every 30 s ----------------------
  function relative(ms) {
    const minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " d";
  }
  function paintTimes() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      const left = due - now;
      el.textContent = left >= 0 ? "in " + relative(left) : relative(left) + " late";
    });
    document.querySelectorAll("[data-at]").forEach(function (el) {
      const at = Date.parse(el.dataset.at);
      if (!isNaN(at)) {
        el.title = new Date(at).toLocaleString();
        el.textContent = relative(now - at) + " ago";
      }
    });
  }

  // -- the composer's counter against the platform's limit -----------------------------------
  function paintCounter() {
    const box = document.getElementById("reply-text");
    const counter = document.getElementById("reply-counter");
    if (!box || !counter) return;
    const max = parseInt(box.dataset.max || "0", 10);
    const used = Array.from(box.value).length;
    counter.textContent = max ? used + " / " + max : used + " characters";
    counter.classList.toggle("over", !!max && used > max);
  }

  // -- keyboard: j/k move, Enter opens, r reply, e close, a assign to me, / search ------------
  function rows() { return Array.from(document.querySelectorAll(".rows .row")); }
  function selected() { return document.querySelector(".rows .row.selected"); }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const current = selected();
    let index = current ? all.indexOf(current) + step : 0;
    index = Math.max(0, Math.min(all.length - 1, index));
    if (current) current.classList.remove("selected");
    all[index].classList.add("selected");
    all[index].scrollIntoView({ block: "nearest" });
  }
  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  }
  function click(selector) {
    const el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter": {
        const row = selected();
        if (row) window.location.href = row.getAttribute("href");
        else return;
        break;
      }
      case "r": {
        const box = document.getElementById("reply-text");
        if (box) box.focus(); else return;
        break;
      }
      case "e": if (!click("#close-button")) return; break;
      case "a": if (!click("#assign-me-button")) return; break;
      case "/": {
        const search = document.getElementById("search");
        if (search) search.focus(); else return;
        break;
      }
      default: return;
    }
    event.preventDefault();
  });

  // -- confirmations, menus that submit, the browser's time zone for local date-times ---------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
    const offset = form.querySelector('input[name="tz_offset"]');
    if (offset) offset.value = String(new Date().getTimezoneOffset());
    const send = form.querySelector('button[type="submit"]');
    if (send && form.id === "reply-form") window.setTimeout(function () { send.disabled = true; }, 0);
  });
  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]")) el.form.requestSubmit();
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "reply-text") paintCounter();
  });
  // the inbox rows are redrawn live: keep the row the agent had selected
  let selectedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    const row = selected();
    selectedId = row ? row.dataset.id : null;
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (selectedId) {
      const again = document.querySelector('.rows .row[data-id="' + CSS.escape(selectedId) + '"]');
      if (again) again.classList.add("selected");
    }
    paintTimes();
    paintCounter();
  });
  document.body.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // -- viewing / typing beats while a conversation is open ----------------------------------
  const conversation = document.querySelector("[data-conversation]");
  let typingUntil = 0;
  function beat() {
    if (!conversation) return;
    const id = conversation.dataset.conversation;
    const kind = Date.now() < typingUntil ? "typing" : "viewing";
    const body = new URLSearchParams({ kind: kind, csrf_token: csrf() });
    fetch("/ui/conversations/" + id + "/activity", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() },
    }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      const present = document.getElementById("present");
      if (present && html !== undefined) present.innerHTML = html;
    }).catch(function () {});
  }
  if (conversation) {
    document.addEventListener("input", function (event) {
      if (event.target.id === "reply-text") {
        const before = typingUntil;
        typingUntil = Date.now() + 8000;
        if (before < Date.now()) beat();
      }
    });
    beat();
    window.setInterval(beat, 10000);
  }

  paintTimes();
  paintCounter();
  window.setInterval(paintTimes, 30000);
})();
