// Keeps a live page current from the contest's event stream: the entry on stage, its votes,
// whether live voting is open; and sends the live vote. Used by the stream page, the OBS
// overlay and the QR screen (each marks its root with data-live). The browser's EventSource
// reconnects by itself and sends Last-Event-ID, so the server repeats only what changed.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) {
    return;
  }
  var slug = root.getAttribute("data-contest");
  var locale = root.getAttribute("data-lang") === "en" ? "en-US" : "vi-VN";
  var stageId = root.getAttribute("data-stage-id") || "";
  var votes = {};
  // The API wants the page's CSRF token with a cookie session (see security.rs).
  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function all(sel) {
    return Array.prototype.slice.call(document.querySelectorAll(sel));
  }
  function show(sel, on) {
    all(sel).forEach(function (el) { el.hidden = !on; });
  }
  function renderVotes() {
    var n = stageId && votes[stageId] !== undefined ? votes[stageId] : null;
    all("[data-stage-votes]").forEach(function (el) {
      if (n !== null) {
        el.textContent = n.toLocaleString(locale);
      }
    });
  }
  function message(code) {
    return root.getAttribute("data-msg-" + code) || root.getAttribute("data-msg-error") || "";
  }
  function status(text) {
    all("[data-vote-status]").forEach(function (el) { el.textContent = text; });
  }

  var events = new EventSource("/api/v1/contests/" + encodeURIComponent(slug) + "/events");
  events.addEventListener("tally", function (e) {
    var data = JSON.parse(e.data);
    votes = {};
    (data.entries || []).forEach(function (entry) { votes[entry.id] = entry.votes; });
    renderVotes();
  });
  events.addEventListener("stage", function (e) {
    var data = JSON.parse(e.data);
    var entry = data.entry;
    var changed = (entry ? entry.id : "") !== stageId;
    stageId = entry ? entry.id : "";
    root.setAttribute("data-stage-id", stageId);
    show("[data-stage-box]", !!entry);
    show("[data-stage-none]", !entry);
    show("[data-live-open]", !!data.live_voting);
    show("[data-live-closed]", !data.live_voting);
    all("[data-stage-title]").forEach(function (el) { el.textContent = entry ? entry.title : ""; });
    all("[data-stage-link]").forEach(function (el) {
      el.setAttribute("href", entry ? "/entries/" + entry.id : "#");
    });
    if (changed) {
      status("");
      all("[data-stage-votes]").forEach(function (el) { el.textContent = ""; });
    }
    renderVotes();
  });

  all("[data-vote]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!stageId) {
        return;
      }
      button.disabled = true;
      var headers = { Accept: "application/json" };
      if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
      fetch("/api/v1/entries/" + encodeURIComponent(stageId) + "/votes", {
        method: "POST",
        credentials: "same-origin",
        headers: headers
      }).then(function (res) {
        if (res.status === 201) {
          status(message("counted"));
          return;
        }
        if (res.status === 401) {
          status(message("sign-in"));
          return;
        }
        return res.json().then(function (body) {
          var code = body && body.error ? body.error.code : "";
          if (code === "voting-closed" || code === "voting-not-open") {
            code = "voting-closed";
          }
          status(message(code));
        }, function () { status(message("error")); });
      }, function () {
        status(message("error"));
      }).then(function () {
        button.disabled = false;
      });
    });
  });
})();
