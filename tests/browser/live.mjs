// A live show in a real Chromium at phone width (390 px): the organizer runs the control page
// on a phone (entry on stage, live voting opened and closed), a viewer on the stream page sees
// each change arrive over the event stream, votes, and watches the tally change; the OBS
// overlay (transparent) follows along. Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const need = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = need("BASE_URL");
const artifacts = need("ARTIFACTS");
const contest = need("CONTEST");
const stream = need("STREAM");
const title = need("ENTRY_TITLE");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const problems = [];
async function open(options) {
  const page = await (await browser.newContext(options)).newPage();
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    // The embedded player cannot reach YouTube from the closed test network; anything else
    // (a CSP refusal above all) is a failure.
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) {
      problems.push(`${page.url()}: ${m.text()}`);
    }
  });
  return page;
}
async function signIn(page, email) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(need("PASSWORD"));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);
}
async function fitsWidth(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`${page.url()} is ${wide}px wide at a 390px viewport`);
}
const shot = (page, name, extra = {}) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true, ...extra });
const within = { timeout: 5000 };

try {
  const org = await open(phone);
  const viewer = await open(phone);
  const obs = await open({ viewport: { width: 1280, height: 720 } });
  await signIn(org, need("ORGANIZER_EMAIL"));
  await signIn(viewer, need("VIEWER_EMAIL"));

  await viewer.goto(`${base}/contests/${contest}/streams/${stream}`);
  const src = await viewer.locator(".stream-player iframe").getAttribute("src");
  if (!src.startsWith("https://www.youtube-nocookie.com/embed/")) throw new Error(`embed ${src}`);
  await viewer.getByText("Chưa có tiết mục nào trên sân khấu.").waitFor(within);
  await obs.goto(`${base}/contests/${contest}/streams/${stream}/overlay`);

  await org.goto(`${base}/organize/contests/${contest}/live`);
  await fitsWidth(org);
  await Promise.all([org.waitForURL(/\/live$/), org.getByRole("button", { name: title }).click()]);
  await Promise.all([org.waitForURL(/\/live$/), org.getByRole("button", { name: "Mở bình chọn trực tiếp" }).click()]);
  await org.getByText("Cổng bình chọn trực tiếp: ĐANG MỞ").waitFor(within);
  await shot(org, "live-01-control");

  // The viewer's page changes by itself: the entry, its count, the vote button.
  const voteButton = viewer.getByRole("button", { name: "Bình chọn tiết mục này" });
  await voteButton.waitFor({ state: "visible", ...within });
  await viewer.getByRole("link", { name: title }).waitFor(within);
  await viewer.locator("[data-stage-votes]").filter({ hasText: /^0$/ }).waitFor(within);
  await fitsWidth(viewer);
  await shot(viewer, "live-02-stream");
  await voteButton.click();
  await viewer.getByText("Đã ghi nhận phiếu bình chọn của bạn.").waitFor(within);
  await viewer.locator("[data-stage-votes]").filter({ hasText: /^1$/ }).waitFor(within);

  // The overlay: the same entry and count, on a transparent page.
  await obs.locator("[data-stage-title]").filter({ hasText: title }).waitFor(within);
  await obs.locator("[data-stage-votes]").filter({ hasText: /^1$/ }).waitFor(within);
  const background = await obs.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (background !== "rgba(0, 0, 0, 0)") throw new Error(`overlay background ${background}`);
  await shot(obs, "live-03-overlay", { omitBackground: true });

  // Closed from the phone: the button goes away on the viewer's page.
  await Promise.all([org.waitForURL(/\/live$/), org.getByRole("button", { name: "Đóng bình chọn trực tiếp" }).click()]);
  await voteButton.waitFor({ state: "hidden", ...within });
  await viewer.getByText("Cổng bình chọn trực tiếp đang đóng.").waitFor(within);
  await shot(viewer, "live-04-closed");

  if (problems.length) throw new Error(`page errors:\n${problems.join("\n")}`);
  console.log("LIVE OK");
} finally {
  await browser.close();
}
