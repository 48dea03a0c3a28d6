// The vote page: each vote button posts to the JSON API with the session cookie. When the
// server asks for proof of work (428, under unusual load from one voter or network), the
// challenge is solved here (ALTCHA's SHA-256 scheme: find the number whose hash with the salt
// is the challenge) and the vote is sent again. Totals update live from the contest's SSE
// stream. On the organizers' page, a chosen roster file fills the CSV box.
"use strict";

// SHA-256 of an ASCII string as hex (small and synchronous: crypto.subtle is missing on
// plain-http sites and costs a promise per try).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Uint32Array(64);
function sha256hex(str) {
  const n = str.length;
  const blocks = ((n + 9 + 63) >> 6) << 4;
  const m = new Uint32Array(blocks);
  for (let i = 0; i < n; i++) m[i >> 2] |= (str.charCodeAt(i) & 0xff) << (24 - (i & 3) * 8);
  m[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
  m[blocks - 1] = n * 8;
  let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
  let h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
  for (let b = 0; b < blocks; b += 16) {
    for (let t = 0; t < 64; t++) {
      if (t < 16) W[t] = m[b + t];
      else {
        const x = W[t - 15], y = W[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
      }
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  return [h0, h1, h2, h3, h4, h5, h6, h7].map((v) => (v >>> 0).toString(16).padStart(8, "0")).join("");
}

// Finds the number in slices, yielding between them so the page stays responsive.
async function solve(c) {
  for (let start = 0; start <= c.maxnumber; start += 5000) {
    const end = Math.min(c.maxnumber, start + 4999);
    for (let n = start; n <= end; n++) {
      if (sha256hex(c.salt + n) === c.challenge) {
        return btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature }));
      }
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  throw new Error("challenge not solvable");
}

// The page's CSRF token: the API refuses a cookie-signed write without it (or without JSON
// from this origin), so a cross-site page cannot vote with a visitor's session.
const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

const list = document.getElementById("vote-list");
const status = document.getElementById("vote-status");
const say = (key) => { if (status) status.textContent = list.dataset["msg" + key.replace(/(^|-)([a-z])/g, (_, __, ch) => ch.toUpperCase())] || list.dataset.msgError; };

function show(entries) {
  for (const e of entries) {
    const el = document.querySelector(`[data-votes-for="${e.id}"]`);
    if (el) el.textContent = e.votes.toLocaleString("vi-VN");
  }
}

async function vote(button) {
  const id = button.dataset.vote;
  button.disabled = true;
  say("working");
  try {
    let proof = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const headers = { accept: "application/json" };
      if (csrfToken) headers["x-csrf-token"] = csrfToken;
      if (proof) headers["x-vote-challenge"] = proof;
      const res = await fetch(`/api/v1/entries/${id}/votes`, { method: "POST", headers, credentials: "same-origin" });
      const body = await res.json().catch(() => ({}));
      if (res.status === 201) {
        button.setAttribute("aria-pressed", "true");
        say("counted");
        return;
      }
      if (res.status === 428 && body.challenge) {
        say("solving");
        proof = await solve(body.challenge);
        continue;
      }
      say(body.error && body.error.code ? body.error.code : "error");
      return;
    }
    say("error");
  } catch (err) {
    say("error");
  } finally {
    button.disabled = false;
  }
}

if (list) {
  list.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-vote]");
    if (button) vote(button);
  });
  if (list.dataset.live === "true" && window.EventSource) {
    const events = new EventSource(`/api/v1/contests/${list.dataset.slug}/events`);
    events.addEventListener("tally", (ev) => {
      try { show(JSON.parse(ev.data).entries || []); } catch (err) { /* the next snapshot replaces it */ }
    });
  }
}

for (const input of document.querySelectorAll("input[type=file][data-fills]")) {
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    const target = document.getElementById(input.dataset.fills);
    if (!file || !target) return;
    file.text().then((text) => { target.value = text; });
  });
}
