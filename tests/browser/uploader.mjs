// The entry uploader's pause/resume and reload-resume in a real Chromium on a slowed network.
// A member starts a multi-chunk upload, pauses it (the server's offset stops moving), resumes,
// reloads the page mid-upload, picks the same file again and the upload continues from the
// offset the server holds (tus-js-client's stored fingerprint): no new upload is created and
// the first PATCH after the reload starts past 0. Prints `UPLOAD <url>` and the offsets seen.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const entry = env("ENTRY");
const file = env("FILE");
const fileSize = Number(env("FILE_SIZE"));
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const MIB = 1024 * 1024;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
const page = await context.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));

// Every upload request the page makes, in order.
const requests = [];
let uploadUrl;
page.on("request", (r) => {
  if (r.url().includes("/api/v1/uploads")) {
    requests.push({ method: r.method(), url: r.url(), offset: r.headers()["upload-offset"] });
  }
});
page.on("response", (r) => {
  if (r.request().method() === "POST" && r.url().endsWith("/api/v1/uploads") && r.status() === 201) {
    uploadUrl = new URL(r.headers()["location"], base).href;
  }
});

async function serverOffset() {
  const res = await page.request.fetch(uploadUrl, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
  if (res.status() !== 200) throw new Error(`HEAD ${uploadUrl}: ${res.status()}`);
  return Number(res.headers()["upload-offset"]);
}
async function until(what, check, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
// A slow phone link for the page's requests: about 2 MiB/s up, so a 5 MiB chunk takes seconds.
async function throttle() {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 2 * MIB });
}
async function openUploader() {
  await page.goto(`${base}/entries/${entry}/upload`);
  await page.waitForFunction(() => document.querySelector("form[data-uploader]")?.hoithiUploader);
  await throttle();
}
const percentShown = () => page.locator("[data-uploader-progress]").evaluate((p) => p.value);
const status = () => page.locator("[data-uploader-status]").textContent();

await page.goto(`${base}/login`);
await page.getByLabel(/Email/).fill(env("MEMBER_EMAIL"));
await page.getByLabel("Mật khẩu").fill(env("MEMBER_PASSWORD"));
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);

await openUploader();
await page.locator("[data-uploader-file]").setInputFiles(file);
await page.getByRole("button", { name: "Tải lên" }).click();
await until("the bar moves", async () => (await percentShown()) > 0);

// Pause: the server's offset stops moving.
await page.getByRole("button", { name: "Tạm dừng" }).click();
await until("the paused message", async () => (await status()).startsWith("Đã tạm dừng"));
// The server records what arrived of the cut PATCH once it sees the connection close.
await new Promise((r) => setTimeout(r, 1000));
const pausedAt = await serverOffset();
await new Promise((r) => setTimeout(r, 1500));
const stillAt = await serverOffset();
if (stillAt !== pausedAt) throw new Error(`paused, but the server's offset moved from ${pausedAt} to ${stillAt}`);
await page.screenshot({ path: `${artifacts}/uploader-paused.png`, fullPage: true });

// Resume until at least one whole chunk is stored, then reload in the middle of the next one.
await page.getByRole("button", { name: "Tiếp tục" }).click();
await until("a whole chunk stored after resuming", async () => (await serverOffset()) >= 5 * MIB);
const beforeReload = await serverOffset();
if (beforeReload <= 0 || beforeReload >= fileSize) throw new Error(`offset before the reload: ${beforeReload}`);
const postsBefore = requests.filter((r) => r.method === "POST").length;
const sentBefore = requests.length;

await page.reload();
await page.waitForFunction(() => document.querySelector("form[data-uploader]")?.hoithiUploader);
await throttle();
// The page remembers the unfinished file and asks for it again.
const pending = await status();
if (!pending.includes("chưa tải xong")) throw new Error(`after the reload the page says ${JSON.stringify(pending)}`);
const resumeFrom = await serverOffset();
if (resumeFrom < beforeReload) throw new Error(`the server lost bytes: ${beforeReload} → ${resumeFrom}`);

let uploaded;
const done = new Promise((r) => { uploaded = r; });
await page.exposeFunction("hoithiUploaded", () => uploaded());
const firstProgress = [];
await page.exposeFunction("hoithiProgress", (sent) => firstProgress.push(sent));
await page.evaluate(() => {
  const form = document.querySelector("form[data-uploader]");
  form.addEventListener("hoithi:upload-progress", (e) => window.hoithiProgress(e.detail.sent));
  form.addEventListener("hoithi:uploaded", () => window.hoithiUploaded());
});
await page.locator("[data-uploader-file]").setInputFiles(file);
await page.getByRole("button", { name: "Tải lên" }).click();
await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`no success in 90 s; requests ${JSON.stringify(requests.slice(sentBefore))}`)), 90000))]);

const after = requests.slice(sentBefore);
if (requests.filter((r) => r.method === "POST").length !== postsBefore) throw new Error(`the reload created a new upload: ${JSON.stringify(after)}`);
const firstPatch = after.find((r) => r.method === "PATCH");
if (!firstPatch || Number(firstPatch.offset) < beforeReload) throw new Error(`the first PATCH after the reload starts at ${firstPatch?.offset}, before ${beforeReload}`);
if (!firstProgress.length || firstProgress[0] < beforeReload) throw new Error(`progress after the reload restarted: ${firstProgress.slice(0, 3)}`);
if (after.some((r) => r.url !== uploadUrl && r.method !== "POST")) throw new Error(`requests went to another upload: ${JSON.stringify(after)}`);
await page.waitForURL(new RegExp(`/entries/${entry}$`));
await page.screenshot({ path: `${artifacts}/uploader-done.png`, fullPage: true });
const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tus::") || k.startsWith("hoithi-upload-")));
if (stored.length) throw new Error(`finished, but the resume data stays in localStorage: ${stored}`);
if (errors.length) throw new Error(`page errors: ${errors.join("\n")}`);
console.log(`UPLOAD ${uploadUrl}`);
console.log(`OFFSETS paused=${pausedAt} before-reload=${beforeReload} resumed-from=${firstPatch.offset} size=${fileSize}`);
await browser.close();
