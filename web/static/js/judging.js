// The judge's score sheet saves a draft as the judge types (PUT to the JSON API with the
// session cookie); the form still works without JavaScript. Submitting stays a form post.
(function () {
  "use strict";
  var form = document.getElementById("score-form");
  if (!form || form.querySelector("fieldset[disabled]")) return;
  var status = document.getElementById("autosave");
  // The API wants the page's CSRF token (or JSON from this origin) with a cookie session.
  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var timer = null;
  var inflight = false;
  var again = false;

  function body() {
    var scores = {};
    form.querySelectorAll("input[data-criterion]").forEach(function (i) {
      var v = i.value.trim().replace(",", ".");
      scores[i.dataset.criterion] = v === "" ? null : Number(v);
    });
    return JSON.stringify({
      scores: scores,
      comment: form.elements.comment.value,
      comment_to_entrant: form.elements.comment_to_entrant.value
    });
  }

  function save() {
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(form.dataset.api, {
      method: "PUT",
      credentials: "same-origin",
      headers: csrfToken
        ? { "content-type": "application/json", "x-csrf-token": csrfToken }
        : { "content-type": "application/json" },
      body: body()
    }).then(function (res) {
      if (res.ok) {
        var t = new Date();
        var hh = String(t.getHours()).padStart(2, "0");
        var mm = String(t.getMinutes()).padStart(2, "0");
        var ss = String(t.getSeconds()).padStart(2, "0");
        status.textContent = status.dataset.saved + " " + hh + ":" + mm + ":" + ss;
        status.className = "hint saved";
      } else {
        return res.json().then(function (j) {
          // The refusal's sentence in the page's language (the page carries them), never its
          // code: "Chưa lưu được nháp: Điểm phải là số từ 0 đến …".
          var code = j && j.error ? String(j.error.code) : "";
          var sentence = /^[a-z0-9-]+$/.test(code) ? status.getAttribute("data-msg-" + code) : null;
          status.textContent = status.dataset.failed + (sentence ? ": " + sentence : ".");
          status.className = "error";
        });
      }
    }).catch(function () {
      status.textContent = status.dataset.failed;
      status.className = "error";
    }).then(function () {
      inflight = false;
      if (again) { again = false; save(); }
    });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 600);
  });
})();
