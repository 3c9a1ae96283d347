// Quiz attempts: save every answer as it is given, keep unsent answers in localStorage
// while offline (across page changes and reloads), change page without a round trip,
// count down to the deadline. The server decides everything; this only carries answers.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  var status = document.getElementById("quiz-saved");
  var timer = document.getElementById("quiz-timer");
  var alertBox = document.getElementById("quiz-alert");
  var csrfInput = document.querySelector("input[name=csrf_token]");
  var csrf = csrfInput ? csrfInput.value : "";

  function say(text) { if (status) status.textContent = text; }

  // --- the countdown (attempt and summary pages) -------------------------------------
  if (timer) {
    var end = Date.now() + Number(timer.dataset.left) * 1000;
    var warned = {};
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      timer.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (alertBox) {
        if (left <= 300 && left > 290 && !warned.five) { warned.five = 1; alertBox.textContent = alertBox.dataset.five; }
        if (left <= 60 && left > 50 && !warned.one) { warned.one = 1; alertBox.textContent = alertBox.dataset.one; }
      }
      if (left === 0) {
        clearInterval(handle);
        if (alertBox) alertBox.textContent = alertBox.dataset.over;
        timeUp();
      }
    };
    var handle = setInterval(tick, 1000);
    tick();
  }

  function timeUp() {
    // Send what is queued, then submit; the server finishes the attempt anyway.
    flush().then(function () {
      var target = (form && form.dataset.submit) || (document.getElementById("submit-form") || {}).action;
      if (!target) return;
      var data = new FormData();
      data.append("csrf_token", csrf);
      fetch(target, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { window.location.href = r.url; })
        .catch(function () { /* offline: the worker submits at the deadline */ });
    });
  }

  if (!form) return;

  // --- the queue ---------------------------------------------------------------------
  var key = "elearn-quiz-" + form.dataset.attempt;
  var store;
  try { store = JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { store = {}; }
  store.pending = store.pending || {};
  store.seq = Math.max(store.seq || 0, Number(form.dataset.seq) || 0);
  var sending = false;
  var inflight = null;
  var retryDelay = 2000;
  var retryTimer = null;
  var pagePending = false;
  var page = Number(form.dataset.current) || 0;

  function persist() {
    try { localStorage.setItem(key, JSON.stringify(store)); } catch (e) { /* full: keep in memory */ }
  }

  function fieldsOf(slot) {
    var name = "q" + slot;
    var out = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || (el.name !== name && el.name.indexOf(name + "-") !== 0)) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      out.push([el.name, el.value]);
    });
    return out;
  }

  function restore(slot, fields) {
    // Put answers kept on this device back into the fields (after a reload offline).
    var name = "q" + slot;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || (el.name !== name && el.name.indexOf(name + "-") !== 0)) return;
      var values = fields.filter(function (f) { return f[0] === el.name; }).map(function (f) { return f[1]; });
      if (el.type === "radio" || el.type === "checkbox") el.checked = values.indexOf(el.value) >= 0;
      else el.value = values.length ? values[values.length - 1] : "";
    });
  }

  function pendingCount() { return Object.keys(store.pending).length; }

  function show() {
    var n = pendingCount();
    if (n === 0 && !sending) say(status.dataset.saved);
    else if (!navigator.onLine || retryTimer) say(status.dataset.pending.replace("{n}", n));
    else say(status.dataset.saving);
  }

  function queue(slot) {
    if (slot === null || slot === undefined) return;
    store.seq += 1;
    store.pending[slot] = { seq: store.seq, fields: fieldsOf(slot) };
    persist();
    send();
  }

  function send() {
    if (sending) return inflight;
    var slots = Object.keys(store.pending);
    if (!slots.length && !pagePending) { show(); return Promise.resolve(); }
    sending = true;
    show();
    var batch = {};
    slots.forEach(function (s) { batch[s] = store.pending[s]; });
    var hadPage = pagePending;
    inflight = fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ answers: batch, page: page })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        sending = false;
        if (r.ok) {
          slots.forEach(function (s) {
            if (store.pending[s] && store.pending[s].seq === batch[s].seq) delete store.pending[s];
          });
          if (hadPage) pagePending = false;
          persist();
          retryDelay = 2000;
          if (pendingCount()) return send();
          show();
          return null;
        }
        if (r.status === 409 && body.closed) {
          localStorage.removeItem(key);
          say(status.dataset.closed);
          window.location.href = body.review;
          return null;
        }
        if (r.status >= 400 && r.status < 500) {
          // Refused (not a network fault): sending it again would not help.
          slots.forEach(function (s) { delete store.pending[s]; });
          persist();
          say(status.dataset.error + " " + (body.error || r.status));
          return null;
        }
        throw new Error("server " + r.status);
      });
    }).catch(function () {
      sending = false;
      scheduleRetry();
      show();
    });
    return inflight;
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () { retryTimer = null; send(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function flush() {
    // Wait for a save already under way, then send whatever is still queued.
    return (sending ? inflight : Promise.resolve())
      .then(send)
      .then(function () { return pendingCount() === 0; });
  }

  window.addEventListener("online", function () {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    retryDelay = 2000;
    send();
  });
  window.addEventListener("offline", show);

  function slotOf(el) {
    var box = el.closest ? el.closest("[data-slot]") : null;
    return box ? box.dataset.slot : null;
  }
  var typing = {};
  form.addEventListener("change", function (e) { queue(slotOf(e.target)); });
  form.addEventListener("input", function (e) {
    if (!e.target.matches("input[type=text], textarea")) return;
    var slot = slotOf(e.target);
    clearTimeout(typing[slot]);
    typing[slot] = setTimeout(function () { queue(slot); }, 800);
  });

  // --- pages -------------------------------------------------------------------------
  function showPage(n) {
    var target = document.getElementById("quiz-page-" + n);
    if (!target) return;
    Array.prototype.forEach.call(form.querySelectorAll(".quiz-page"), function (p) { p.hidden = p !== target; });
    Array.prototype.forEach.call(form.querySelectorAll(".quiz-pages button[value]"), function (b) {
      if (b.value === String(n)) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    });
    page = n;
    pagePending = true;
    var url = new URL(window.location.href);
    url.searchParams.set("page", n);
    history.replaceState(null, "", url);
    var heading = document.getElementById("quiz-page-" + n + "-title");
    if (heading) heading.focus();
    send();
  }

  form.addEventListener("submit", function (e) {
    var button = e.submitter;
    if (!button || button.name !== "goto") return;
    e.preventDefault();
    // Answers typed but not yet sent by the typing pause go into the queue now.
    Object.keys(typing).forEach(function (slot) { clearTimeout(typing[slot]); queue(slot); delete typing[slot]; });
    if (button.value === "summary") {
      flush().then(function (done) {
        if (done) window.location.href = form.dataset.summary;
        else say(status.dataset.summaryBlocked);
      });
      return;
    }
    if (form.dataset.navigation === "sequential") {
      // Leaving a page locks it: only move on once its answers are on the server.
      flush().then(function (done) {
        if (done) showPage(Number(button.value));
        else say(status.dataset.summaryBlocked);
      });
      return;
    }
    showPage(Number(button.value));
  });

  // Answers kept on this device from before a reload go back in and are sent.
  Object.keys(store.pending).forEach(function (slot) { restore(slot, store.pending[slot].fields); });
  persist();
  send();
})();
