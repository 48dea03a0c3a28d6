// A visitor votes from a phone (390 px wide) in a real Chromium: opens the contest's vote
// page, confirms their email with the 6-digit code an admin reads in the outbox, votes, and
// watches the totals change live (SSE) — for their own vote and for one cast elsewhere (the
// API, with $OTHER_TOKEN); a further vote goes through the proof-of-work challenge solved by
// the page's script. Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
const slug = env("CONTEST");
const entry = env("ENTRY");
const voterEmail = "khan-gia@example.vn";
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
// The answers the steps below provoke on purpose (a wrong code: 422; a second vote: 409).
let expected = null;
const watch = (page) => {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expected && expected.test(m.text())) return;
    errors.push(`${page.url()}: ${m.text()}`);
  });
};
async function noHorizontalScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`${page.url()} is ${wide}px wide at a 390px viewport`);
}
const votesShown = (page) => page.locator(`[data-votes-for="${entry}"]`).innerText();
async function waitForVotes(page, n, what) {
  const t0 = Date.now();
  await page.waitForFunction(
    ([id, want]) => document.querySelector(`[data-votes-for="${id}"]`)?.textContent.trim() === want,
    [entry, String(n)], { timeout: 10000 },
  ).catch(async () => { throw new Error(`${what}: the page shows ${await votesShown(page)}, not ${n}`); });
  return Date.now() - t0;
}

try {
  const visitor = await browser.newContext(phone);
  const page = await visitor.newPage();
  watch(page);
  await page.goto(`${base}/contests/${slug}/vote`);
  await noHorizontalScroll(page);
  if ((await votesShown(page)).trim() !== "0") throw new Error("the entry should start at 0 votes");
  await shot(page, "01-vote-page-anonymous");

  // No account yet: the email code.
  await page.getByRole("link", { name: "Xác nhận email để bình chọn" }).click();
  await page.getByLabel("Email").fill(voterEmail);
  await page.getByRole("button", { name: "Gửi mã" }).click();
  await page.getByText("Đã gửi mã 6 chữ số tới").waitFor();
  await noHorizontalScroll(page);
  await shot(page, "02-code-sent");

  // The admin reads the code in the outbox (no SMTP configured).
  const admin = await browser.newContext(phone);
  const adminPage = await admin.newPage();
  watch(adminPage);
  await adminPage.goto(`${base}/login`);
  await adminPage.getByLabel(/Email/).fill(env("ADMIN_EMAIL"));
  await adminPage.getByLabel("Mật khẩu").fill(env("ADMIN_PASSWORD"));
  await Promise.all([adminPage.waitForURL((u) => !u.pathname.startsWith("/login")), adminPage.getByRole("button", { name: "Đăng nhập" }).click()]);
  await adminPage.goto(`${base}/admin/outbox`);
  const mail = await adminPage.locator(`article.mail[data-kind="voter-code"][data-to="${voterEmail}"] .mail-body`).first().innerText();
  const code = mail.match(/\b(\d{6})\b/)[1];

  // A wrong code first, then the right one, back to the vote page.
  const wrong = code === "000000" ? "000001" : "000000";
  expected = /status of 422/;
  await page.getByLabel("Mã xác nhận (6 chữ số)").fill(wrong);
  await page.getByRole("button", { name: "Xác nhận" }).click();
  await page.getByText("Mã không đúng. Bạn còn 4 lần thử.").waitFor();
  expected = null;
  await page.getByLabel("Mã xác nhận (6 chữ số)").fill(code);
  await Promise.all([page.waitForURL(`${base}/contests/${slug}/vote`), page.getByRole("button", { name: "Xác nhận" }).click()]);
  await noHorizontalScroll(page);

  // The live stream is open before the vote: the total changes without a reload.
  const button = page.locator(`[data-vote="${entry}"]`);
  await button.waitFor();
  await button.click();
  await page.getByText("Đã ghi nhận phiếu của bạn. Cảm ơn!").waitFor();
  const own = await waitForVotes(page, 1, "after the visitor's vote");
  await shot(page, "03-voted");

  // A vote cast elsewhere reaches this page live too.
  const res = await fetch(`${base}/api/v1/entries/${entry}/votes`, { method: "POST", headers: { authorization: `Bearer ${env("OTHER_TOKEN")}` } });
  if (res.status !== 201) throw new Error(`the other vote got ${res.status}`);
  const other = await waitForVotes(page, 2, "after a vote cast elsewhere");
  await shot(page, "04-live-tally");

  // A second vote for the same entry today: the server (started with a burst of one vote
  // before escalation) first asks for proof of work, which this page's script solves; then
  // the policy refuses it with a clear message.
  expected = /status of (409|428)/;
  await button.click();
  await page.getByText("Bạn đã dùng hết phiếu cho bài này hôm nay.").waitFor({ timeout: 20000 });
  if ((await votesShown(page)).trim() !== "2") throw new Error("a refused vote must not change the total");

  if (errors.length) throw new Error(`browser errors:\n${errors.join("\n")}`);
  console.log(`LIVE_OWN_MS ${own}`);
  console.log(`LIVE_OTHER_MS ${other}`);
} finally {
  await browser.close();
}
