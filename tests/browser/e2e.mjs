// The member → organizer → visitor journey in a real Chromium at phone width (360 px).
// Phase "member": register, verify from the outbox (read by the admin), then enter a photo and
// a video through the upload page (real tus upload, real worker) until both wait for review.
// Phase "publish": the organizer approves both; an anonymous visitor sees them on the contest
// page, the photo loads and the video plays. Screenshots go to $ARTIFACTS. Prints
// `PHOTO <id>` and `VIDEO <id>` for the Rust test that drives the phases.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const phase = process.argv[2];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
let expectRefusal = false;
const watch = (page) => {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // The refused upload below: the browser logs the server's 415 answer.
    if (expectRefusal && /status of 415/.test(m.text())) return;
    errors.push(`${page.url()}: ${m.text()}`);
  });
};
async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);
}
async function noHorizontalScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 360) throw new Error(`${page.url()} is ${wide}px wide at a 360px viewport`);
}


// Saves a draft entry, uploads `file` through the upload page and waits (polling the API, no
// fixed sleeps) until the worker has processed it and the entry waits for review. With
// `throttle` the upload is slowed down so the progress bar moves through several values; a
// `refused` file is tried first and must be turned away.
async function enter(page, title, description, file, kind, throttle, refused) {
  await page.goto(`${base}/contests/${env("CONTEST")}`);
  if (kind === "photo") await shot(page, "04-contest");
  await page.getByRole("link", { name: "Gửi bài dự thi" }).click();
  await page.getByLabel("Tên bài dự thi").fill(title);
  await page.getByLabel("Mô tả").fill(description);
  await page.getByRole("checkbox", { name: /đồng ý/ }).check();
  await Promise.all([page.waitForURL(/\/entries\/[0-9a-f-]+\/upload$/), page.getByRole("button", { name: /Lưu/ }).click()]);
  const id = page.url().match(/entries\/([0-9a-f-]+)\/upload/)[1];
  const form = page.locator("form[data-uploader]");
  if ((await form.getAttribute("data-entry-id")) !== id) throw new Error("upload form lacks the entry id");
  await noHorizontalScroll(page);
  // The uploader attaches itself once tus-js-client and uploader.js have loaded.
  await page.waitForFunction(() => document.querySelector("form[data-uploader]")?.hoithiUploader);

  // What the member sees while the file goes up: every progress event's percent text and bar.
  const seen = [];
  let uploaded, failed;
  const done = new Promise((resolve, reject) => { uploaded = resolve; failed = reject; });
  const tag = `${kind}${Date.now()}`;
  await page.exposeBinding(`hoithiSeen_${tag}`, (_src, ev, percent, value, detail) => {
    if (ev === "progress") seen.push({ percent, value });
    else if (ev === "uploaded") { seen.push({ percent, value }); uploaded(); }
    else if (!expectRefusal) failed(new Error(`upload failed: ${JSON.stringify(detail)}`));
  });
  await page.evaluate((tag) => {
    const form = document.querySelector("form[data-uploader]");
    const report = (ev) => (e) => window[`hoithiSeen_${tag}`](ev,
      form.querySelector("[data-uploader-percent]").textContent,
      form.querySelector("[data-uploader-progress]").value, e.detail);
    form.addEventListener("hoithi:upload-progress", report("progress"));
    form.addEventListener("hoithi:uploaded", report("uploaded"));
    form.addEventListener("hoithi:upload-error", report("error"));
  }, tag);
  const percentBefore = await page.locator("[data-uploader-percent]").textContent();
  let cdp;
  if (throttle) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 128 * 1024 });
  }
  if (refused) {
    // Hostile first: a text file named .jpg is refused on its first bytes, the page says why
    // in Vietnamese, and the member can pick another file for the same entry.
    expectRefusal = true;
    await page.locator("[data-uploader-file]").setInputFiles(refused);
    await page.getByRole("button", { name: "Tải lên" }).click();
    await page.locator("[data-uploader-status]").getByText("Không tải lên được: tệp này không phải ảnh").waitFor();
    await page.locator("[data-uploader-start]").waitFor({ state: "visible" });
    if ((await page.locator("[data-uploader-progress]").evaluate((p) => p.value)) !== 0) throw new Error("a refused upload leaves its progress bar filled");
    await shot(page, "05-upload-refused");
    expectRefusal = false;
    seen.length = 0;
  }
  await page.locator("[data-uploader-file]").setInputFiles(file);
  const started = Date.now();
  await page.getByRole("button", { name: "Tải lên" }).click();
  // A screenshot mid-upload for the slowed video (the bar is part way).
  if (throttle) {
    await page.waitForFunction(() => document.querySelector("[data-uploader-progress]").value > 0);
    // While the file goes up the start button is gone (the pause button replaces it).
    if (await page.locator("[data-uploader-start]").isVisible()) throw new Error("the start button is still shown during the upload");
    await shot(page, `05-upload-${kind}`);
  }
  await Promise.race([done, page.waitForTimeout(60000).then(() => { throw new Error(`upload of ${kind} did not finish in 60 s; seen ${JSON.stringify(seen)}`); })]);
  const uploadMs = Date.now() - started;
  if (cdp) { await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }); await cdp.detach(); }
  if (!throttle) await shot(page, `05-upload-${kind}`);
  const last = seen[seen.length - 1];
  if (!last || last.percent !== "100%" || last.value !== 100) throw new Error(`progress did not reach 100%: ${JSON.stringify(seen)}`);
  if (last.percent === percentBefore) throw new Error(`the percent text never changed from ${percentBefore}`);
  const middle = seen.filter((s) => s.value > 0 && s.value < 100).length;
  if (throttle && middle === 0) throw new Error(`a slowed upload showed no progress between 0 and 100: ${JSON.stringify(seen)}`);

  // The uploader opens the entry's page; meanwhile poll the API until the worker is done.
  const states = [];
  const deadline = Date.now() + 60000;
  let entry;
  for (;;) {
    const res = await page.request.get(`${base}/api/v1/entries/${id}`);
    if (!res.ok()) throw new Error(`GET /api/v1/entries/${id}: ${res.status()}`);
    entry = await res.json();
    const m = entry.media[0];
    const state = `${entry.status}/${m ? `${m.kind}:${m.status}:${m.progress}` : "-"}`;
    if (states[states.length - 1] !== state) states.push(state);
    if (m && m.status === "failed") throw new Error(`processing failed: ${JSON.stringify(entry)}`);
    if (entry.status === "pending_review" && m && m.status === "ready") break;
    if (Date.now() > deadline) throw new Error(`entry ${id} not pending_review in 60 s: ${states.join(" → ")}`);
    await page.waitForTimeout(100);
  }
  if (throttle && !states.some((s) => s.startsWith("processing/"))) throw new Error(`the video was never seen processing: ${states.join(" → ")}`);
  if (!/^(processing|pending_review)\//.test(states[0])) throw new Error(`after the upload the entry was ${states[0]}`);
  if (entry.media.length !== 1 || entry.media[0].kind !== kind) throw new Error(`media of ${kind} entry: ${JSON.stringify(entry.media)}`);
  console.log(`UPLOAD ${kind} ${uploadMs} ms, progress ${seen.map((s) => s.percent).join(" ")}; states ${states.join(" → ")}`);
  await page.waitForURL(`${base}/entries/${id}`);
  await page.reload();
  await page.locator("#entry-status").getByText("Chờ duyệt").waitFor();
  await noHorizontalScroll(page);
  await shot(page, `06-status-${kind}`);
  return id;
}

try {
  if (phase === "member") {
    const member = await browser.newContext(phone);
    const page = await member.newPage();
    watch(page);
    await page.goto(`${base}/`);
    await noHorizontalScroll(page);
    await shot(page, "01-home");
    await page.goto(`${base}/register`);
    await page.getByLabel("Email").fill(env("MEMBER_EMAIL"));
    await page.getByLabel("Họ và tên").fill("Nguyễn Thị Hoa");
    await page.getByLabel("Mật khẩu").fill("mật khẩu của Hoa");
    await page.getByLabel(/Đơn vị/).selectOption(env("MEMBER_UNIT"));
    await page.getByRole("checkbox", { name: /đồng ý/ }).check();
    await noHorizontalScroll(page);
    await shot(page, "02-register");
    await Promise.all([page.waitForURL(`${base}/check-email`), page.getByRole("button", { name: "Đăng ký" }).click()]);

    // The admin reads the verification mail in the outbox.
    const admin = await browser.newContext(phone);
    const adminPage = await admin.newPage();
    watch(adminPage);
    await signIn(adminPage, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
    await adminPage.goto(`${base}/admin/outbox`);
    const mail = adminPage.locator(`article.mail[data-kind="verify-email"][data-to="${env("MEMBER_EMAIL")}"] .mail-body`);
    const text = await mail.innerText();
    const link = text.match(/https?:\/\/\S+\/verify-email\/\S+/)[0];
    await shot(adminPage, "03-outbox");
    await page.goto(link);
    await page.getByText("Email của bạn đã được xác nhận").waitFor();

    // Two entries (a contest entry holds one file): a photo and a short video, each saved as a
    // draft and then uploaded through the page's tus uploader to the real upload service.
    const photo = await enter(page, "Bình minh trên sông Hàn", "Ảnh chụp lúc 5 giờ sáng.", env("PHOTO_FILE"), "photo", false,
      { name: "ghi-chu.jpg", mimeType: "image/jpeg", buffer: Buffer.from("Đây là ghi chú, không phải ảnh.\n".repeat(50)) });
    const video = await enter(page, "Sóng vỗ Mỹ Khê", "Hai giây sóng biển.", env("VIDEO_FILE"), "video", true);
    console.log(`PHOTO ${photo}`);
    console.log(`VIDEO ${video}`);
  } else if (phase === "publish") {
    const photo = env("PHOTO"), video = env("VIDEO");
    const organizer = await browser.newContext(phone);
    const page = await organizer.newPage();
    watch(page);
    await signIn(page, env("ORGANIZER_EMAIL"), env("ORGANIZER_PASSWORD"));
    await page.goto(`${base}/organize/contests/${env("CONTEST")}/queue`);
    await page.locator(`#entry-${photo}`).waitFor();
    await page.locator(`#entry-${video}`).waitFor();
    await noHorizontalScroll(page);
    await shot(page, "07-queue");
    for (const id of [photo, video]) {
      const item = page.locator(`#entry-${id}`);
      await Promise.all([page.waitForURL(/\/queue(\?saved=review)?$/), item.getByRole("button", { name: "Duyệt" }).click()]);
      await item.waitFor({ state: "detached" });
    }
    await page.getByText("Không có bài nào chờ duyệt.").waitFor();

    const visitor = await browser.newContext(phone);
    const v = await visitor.newPage();
    watch(v);
    await v.goto(`${base}/contests/${env("CONTEST")}`);
    const tile = v.getByRole("link", { name: /Bình minh trên sông Hàn/ });
    await tile.waitFor();
    await v.getByRole("link", { name: /Sóng vỗ Mỹ Khê/ }).waitFor();
    // Both tiles' pictures (the photo's rendition, the video's poster) load.
    await v.evaluate(() => document.querySelectorAll(".tile img").forEach((i) => { i.loading = "eager"; }));
    await v.waitForFunction(() => {
      const imgs = [...document.querySelectorAll(".tile img")];
      return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    await noHorizontalScroll(v);
    await shot(v, "08-gallery");
    await tile.click();
    await v.waitForURL(`${base}/entries/${photo}`);
    await v.waitForFunction(() => { const i = document.querySelector("img.photo"); return i && i.complete && i.naturalWidth > 0; });
    const og = await v.locator('meta[property="og:image"]').getAttribute("content");
    if (!og || !og.startsWith("http")) throw new Error(`og:image is ${og}`);
    await noHorizontalScroll(v);
    await shot(v, "09-entry");

    // The video entry plays (hls.js where the browser has MSE, else the MP4 <source>), muted.
    await v.goto(`${base}/contests/${env("CONTEST")}`);
    await Promise.all([v.waitForURL(`${base}/entries/${video}`), v.getByRole("link", { name: /Sóng vỗ Mỹ Khê/ }).click()]);
    const player = v.locator("video.player");
    await player.waitFor();
    const how = await player.evaluate((el) => ({ hls: el.getAttribute("data-hls"), src: el.currentSrc, mp4: el.querySelector("source")?.src, h264: el.canPlayType('video/mp4; codecs="avc1.42E01E"') }));
    await player.evaluate((el) => { el.muted = true; return el.play().catch((e) => { window.playError = String(e); }); });
    try {
      await v.waitForFunction(() => { const el = document.querySelector("video.player"); return el.readyState >= 2 && el.currentTime > 0; }, null, { timeout: 20000 });
    } catch (e) {
      const st = await player.evaluate((el) => ({ readyState: el.readyState, networkState: el.networkState, error: el.error && el.error.message, src: el.currentSrc, playError: window.playError }));
      throw new Error(`the video does not play: ${JSON.stringify({ ...how, ...st })}`);
    }
    const played = await player.evaluate((el) => ({ readyState: el.readyState, currentTime: el.currentTime, src: el.currentSrc, videoWidth: el.videoWidth }));
    console.log(`PLAYED ${JSON.stringify({ ...how, ...played })}`);
    await player.evaluate((el) => el.pause());
    // Whichever way player.js chose, the other two must work too: hls.js over MSE (browsers
    // without native HLS) and the MP4 <source> (its fallback), both through /media/ with Range.
    const others = await v.evaluate(async ({ hls, mp4 }) => {
      const play = (name, setup) => new Promise((resolve) => {
        const el = document.createElement("video");
        el.muted = true;
        el.playsInline = true;
        document.body.appendChild(el);
        const timer = setTimeout(() => resolve(`${name}: no playback in 20 s (readyState ${el.readyState}, ${el.error && el.error.message})`), 20000);
        el.addEventListener("canplay", () => el.play().catch(() => {}));
        el.addEventListener("timeupdate", () => {
          if (el.currentTime > 0 && el.readyState >= 2) { clearTimeout(timer); el.pause(); el.remove(); resolve(`${name}: ok`); }
        });
        setup(el);
      });
      return [
        await play("hls.js", (el) => {
          if (!window.Hls || !window.Hls.isSupported()) throw new Error("hls.js is not loaded or not supported");
          const h = new window.Hls();
          h.loadSource(hls);
          h.attachMedia(el);
        }),
        await play("mp4", (el) => { el.src = mp4; }),
      ];
    }, { hls: how.hls, mp4: how.mp4 });
    console.log(`ALSO ${others.join(", ")}`);
    if (others.some((o) => !o.endsWith(": ok"))) throw new Error(`video playback: ${others.join(", ")}`);
    await noHorizontalScroll(v);
    await shot(v, "09-entry-video");
    // The language switch sticks across pages.
    await v.getByRole("link", { name: "English" }).click();
    await v.goto(`${base}/contests/${env("CONTEST")}`);
    await v.getByRole("heading", { name: "Entries" }).waitFor();
    await shot(v, "10-contest-en");
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  if (errors.length) throw new Error(`browser errors:\n${errors.join("\n")}`);
} finally {
  await browser.close();
}
