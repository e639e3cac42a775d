// outreach web UI: small progressive enhancements. Every page works
// without this script; it adds live wave progress, live recipient counts,
// the template editor's live preview and the review queue's shortcuts.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET" && csrf) {
      opts.headers["X-CSRF-Token"] = csrf;
    }
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; });
    });
  }

  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Live wave progress: rows and panels carrying data-wave="ID" are
  // refreshed from GET /api/v1/waves every two seconds while a wave runs.
  function waveProgress() {
    var els = document.querySelectorAll("[data-wave]");
    if (!els.length) { return; }
    function paint(v) {
      var run = v.runs && v.runs.length ? v.runs[v.runs.length - 1] : null;
      document.querySelectorAll('[data-wave="' + v.id + '"]').forEach(function (el) {
        var st = el.querySelector("[data-wave-state]");
        if (st) { st.textContent = v.state; st.className = "badge " + v.state; }
        if (!run) { return; }
        var c = run.counts, done = c.sent + c.failed + c.suppressed + c.cancelled;
        var bar = el.querySelector("progress");
        if (bar) { bar.max = Math.max(c.total, 1); bar.value = done; }
        var label = el.querySelector("[data-wave-counts]");
        if (label) {
          label.textContent = done + " of " + c.total + " done: " + c.sent + " sent, " + c.failed + " failed, " +
            c.suppressed + " suppressed, " + (c.queued + c.sending + c.retrying) + " waiting";
        }
        el.querySelectorAll("[data-count]").forEach(function (cell) {
          var k = cell.getAttribute("data-count");
          if (k in c) { cell.textContent = c[k]; }
        });
      });
    }
    function live() {
      return Array.prototype.some.call(document.querySelectorAll("[data-wave] [data-wave-state]"), function (s) {
        return s.textContent === "running" || s.textContent === "scheduled";
      });
    }
    function tick() {
      api("GET", "/api/v1/waves").then(function (r) {
        if (r.ok) { r.body.forEach(paint); }
        if (live()) { setTimeout(tick, 2000); }
      }).catch(function () { setTimeout(tick, 5000); });
    }
    if (live()) { setTimeout(tick, 1000); }
  }

  // Live counts: <input data-count-into="ID"> shows, in the element ID,
  // how many contacts its filter matches, as it is typed.
  function liveCounts() {
    document.querySelectorAll("input[data-count-into]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-count-into"));
      if (!out) { return; }
      var update = debounce(function () {
        var q = "/api/v1/contacts/count?filter=" + encodeURIComponent(input.value);
        var seg = input.form && input.form.elements.segment;
        if (seg && seg.value && !input.value) { out.textContent = "using segment " + seg.value; return; }
        api("GET", q).then(function (r) {
          if (r.ok) {
            out.textContent = r.body.count + (r.body.count === 1 ? " contact matches" : " contacts match");
            out.classList.remove("field-error");
            input.removeAttribute("aria-invalid");
          } else {
            out.textContent = r.body.error ? r.body.error.message : "cannot count";
            out.classList.add("field-error");
            input.setAttribute("aria-invalid", "true");
          }
        });
      }, 250);
      input.addEventListener("input", update);
      update();
    });
  }

  // The template editor: every change is checked by the API and previewed
  // for the chosen contact and language.
  function templateEditor() {
    var form = document.getElementById("template-editor");
    if (!form) { return; }
    var name = form.getAttribute("data-template");
    var status = document.getElementById("check-status");
    var frame = document.getElementById("preview-html");
    var subject = document.getElementById("preview-subject");
    var text = document.getElementById("preview-text");
    var variant = document.getElementById("preview-variant");
    function files() {
      var out = {};
      form.querySelectorAll("textarea[data-file]").forEach(function (t) { out[t.getAttribute("data-file")] = t.value; });
      return out;
    }
    var check = debounce(function () {
      status.textContent = "checking…";
      var body = { files: files(), email: form.elements.email.value, lang: form.elements.lang.value };
      api("POST", "/api/v1/templates/" + encodeURIComponent(name) + "/preview", body).then(function (r) {
        form.querySelectorAll("[data-file-error]").forEach(function (e) { e.textContent = ""; });
        form.querySelectorAll("textarea[data-file]").forEach(function (t) { t.removeAttribute("aria-invalid"); });
        if (r.ok) {
          status.textContent = "No problems.";
          status.className = "notice";
          subject.textContent = r.body.subject;
          text.textContent = r.body.text;
          frame.srcdoc = r.body.html;
          variant.textContent = r.body.lang + " (tried " + (r.body.tried || []).join(", ") + ")";
          return;
        }
        var err = r.body.error || {};
        status.className = "alert";
        status.textContent = err.message || "cannot check";
        (err.problems || []).forEach(function (p) {
          var t = form.querySelector('textarea[data-file="' + CSS.escape(p.file) + '"]');
          var e = form.querySelector('[data-file-error="' + CSS.escape(p.file) + '"]');
          if (t) {
            t.setAttribute("aria-invalid", "true");
            var group = t.closest("details");
            if (group) { group.open = true; }
          }
          if (e) { e.textContent += (e.textContent ? "\n" : "") + (p.line ? "line " + p.line + ": " : "") + p.reason; }
        });
      });
    }, 400);
    form.addEventListener("input", check);
    form.addEventListener("change", check);
  }

  // Review queue shortcuts: j/k move between replies; a approves as an
  // endorsement (with the name in its field), d marks a decline,
  // u an unsubscribe, o other.
  function reviewKeys() {
    var items = Array.prototype.slice.call(document.querySelectorAll(".review-item"));
    if (!items.length) { return; }
    var cur = 0;
    function select(i, focus) {
      if (i < 0 || i >= items.length) { return; }
      items[cur].classList.remove("selected");
      cur = i;
      items[cur].classList.add("selected");
      if (focus) { items[cur].focus(); items[cur].scrollIntoView({ block: "nearest" }); }
    }
    items.forEach(function (el, i) {
      el.addEventListener("focusin", function () { select(i, false); });
    });
    select(0, false);
    var actions = { a: "endorse", d: "decline", u: "unsubscribe", o: "other" };
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) { return; }
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") { return; }
      if (e.key === "j") { select(cur + 1, true); e.preventDefault(); return; }
      if (e.key === "k") { select(cur - 1, true); e.preventDefault(); return; }
      var act = actions[e.key];
      if (!act) { return; }
      var btn = items[cur].querySelector('button[name="class"][value="' + act + '"]');
      if (btn) { e.preventDefault(); btn.click(); }
    });
  }

  // Forms with data-confirm ask first.
  function confirms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    waveProgress();
    liveCounts();
    templateEditor();
    reviewKeys();
    confirms();
  });
})();
