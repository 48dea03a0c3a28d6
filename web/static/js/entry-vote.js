// The vote panel of an entry's page. Without this file its forms are plain forms that post
// and come back to the same page. With it, each form is sent in the background (a video
// keeps playing: the page is not reloaded), the panel is replaced by the one of the page the
// server answers with, and the next field (the code) or the note gets the focus. When the
// server asks for proof of work (a busy network), the challenge is solved with vote.js's
// `solve` (loaded before this file) and the vote sent again, without another tap.
"use strict";

(function () {
  async function send(panel, form, solved) {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    let html;
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
        redirect: "follow",
      });
      html = await res.text();
    } catch (e) {
      // The network failed: send the form the plain way.
      form.submit();
      return;
    }
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("vote");
    if (!fresh) {
      // Another page (a refusal, the entry is gone): show it as the browser would.
      document.open();
      document.write(html);
      document.close();
      return;
    }
    panel.replaceWith(fresh);
    bind(fresh);
    const again = fresh.querySelector('form[action$="/vote"]');
    if (fresh.hasAttribute("data-busy") && !solved && again && typeof solve === "function") {
      const note = fresh.querySelector("#vote-note");
      if (note) note.textContent = fresh.dataset.msgSolving || note.textContent;
      try {
        const c = await (await fetch("/api/v1/vote-challenge", { credentials: "same-origin" })).json();
        again.querySelector('input[name="challenge"]').value = await solve(c);
        await send(fresh, again, true);
        return;
      } catch (e) {
        // The note already says to try again in a minute.
      }
    }
    const focus = fresh.querySelector("#vote-code") || fresh.querySelector("#vote-note");
    if (focus) {
      if (focus.id === "vote-note") focus.tabIndex = -1;
      focus.focus();
    }
  }

  function bind(panel) {
    for (const form of panel.querySelectorAll("form[data-enhance]")) {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        send(panel, form, false);
      });
    }
  }

  const panel = document.getElementById("vote");
  if (panel) bind(panel);
})();
