// The vote panel of an entry's page. Without this file its forms are plain forms that post
// and come back to the same page (the video keeps playing here: the page is not reloaded).
// With it, each form is sent in the background, the panel is replaced by the one of the page
// the server answers with, and the next field (the code) or the note gets the focus.
"use strict";

(function () {
  function bind(panel) {
    for (const form of panel.querySelectorAll("form[data-enhance]")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const button = form.querySelector("button[type=submit]");
        if (button) button.disabled = true;
        try {
          const res = await fetch(form.action, {
            method: "POST",
            body: new URLSearchParams(new FormData(form)),
            credentials: "same-origin",
            redirect: "follow",
          });
          const html = await res.text();
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
          const focus = fresh.querySelector("#vote-code") || fresh.querySelector("#vote-note");
          if (focus) {
            if (focus.id === "vote-note") focus.tabIndex = -1;
            focus.focus();
          }
        } catch (e) {
          // The network failed: send the form the plain way.
          form.submit();
        }
      });
    }
  }
  const panel = document.getElementById("vote");
  if (panel) bind(panel);
})();
