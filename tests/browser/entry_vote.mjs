// A friend opens a shared entry link on a phone (390 px wide) in a real Chromium, signed out,
// and votes right there: email → the 6-digit code (read in the outbox by an admin, as
// voting.mjs does) → "Xác nhận và bình chọn". Every tap or typed field is counted: at most 4
// for a first vote, 1 for a returning voter on another entry. Then the same with JavaScript
// off (plain forms returning to the entry). Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
const [first, second, third] = env("ENTRIES").split(",");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
const watch = (page) => {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`); });
};
async function noHorizontalScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`${page.url()} is ${wide}px wide at a 390px viewport`);
}
const votesShown = async (page) => (await page.locator("#entry-votes").innerText()).trim();

// The admin's page that reads codes in the outbox.
const admin = await browser.newContext(phone);
const adminPage = await admin.newPage();
watch(adminPage);
await adminPage.goto(`${base}/login`);
await adminPage.getByLabel(/Email/).fill(env("ADMIN_EMAIL"));
await adminPage.getByLabel("Mật khẩu").fill(env("ADMIN_PASSWORD"));
await Promise.all([adminPage.waitForURL((u) => !u.pathname.startsWith("/login")), adminPage.getByRole("button", { name: "Đăng nhập" }).click()]);
async function mailedCode(email) {
  await adminPage.goto(`${base}/admin/outbox`);
  const mail = await adminPage.locator(`article.mail[data-kind="voter-code"][data-to="${email}"] .mail-body`).first().innerText();
  return mail.match(/\b(\d{6})\b/)[1];
}

// One visitor: the shared link of `entry`, signed out, to a counted vote. Returns the taps.
async function firstVote(page, entry, email, title, label) {
  let taps = 0;
  await page.goto(`${base}/entries/${entry}`);
  await noHorizontalScroll(page);
  await page.getByText("Đang mở bình chọn").waitFor();
  if ((await votesShown(page)) !== "0") throw new Error(`${label}: the entry should start at 0 votes`);
  await shot(page, `${label}-01-shared-link`);
  await page.getByLabel("Email").fill(email); taps++;
  await page.getByRole("button", { name: "Gửi mã" }).click(); taps++;
  await page.getByText("Đã gửi mã 6 chữ số tới").waitFor();
  if (!page.url().startsWith(`${base}/entries/${entry}`)) throw new Error(`${label}: left the entry for ${page.url()}`);
  await noHorizontalScroll(page);
  await shot(page, `${label}-02-code-sent`);
  const code = await mailedCode(email);
  await page.getByLabel("Mã xác nhận (6 chữ số)").fill(code); taps++;
  await page.getByRole("button", { name: "Xác nhận và bình chọn" }).click(); taps++;
  await page.getByText(`Đã ghi nhận phiếu cho «${title}»`).waitFor();
  if (!page.url().startsWith(`${base}/entries/${entry}`)) throw new Error(`${label}: left the entry for ${page.url()}`);
  if ((await votesShown(page)) !== "1") throw new Error(`${label}: the page shows ${await votesShown(page)} votes, not 1`);
  await noHorizontalScroll(page);
  await shot(page, `${label}-03-voted`);
  return taps;
}

try {
  // With JavaScript (the panel is replaced in place).
  const visitor = await browser.newContext(phone);
  const page = await visitor.newPage();
  watch(page);
  const firstTaps = await firstVote(page, first, "ban-be@example.vn", env("FIRST_TITLE"), "js");
  if (firstTaps > 4) throw new Error(`a first vote took ${firstTaps} taps`);

  // Returning: another shared entry, one tap.
  await page.goto(`${base}/entries/${second}`);
  let returning = 0;
  await page.getByRole("button", { name: "Bình chọn", exact: true }).click(); returning++;
  await page.getByText(`Đã ghi nhận phiếu cho «${env("SECOND_TITLE")}»`).waitFor();
  if ((await votesShown(page)) !== "1") throw new Error("the second entry should show 1 vote");
  await shot(page, "js-04-returning-voted");
  if (returning > 1) throw new Error(`a returning vote took ${returning} taps`);

  // Again on the same entry: the limit names it.
  await page.getByRole("button", { name: "Bình chọn", exact: true }).click();
  await page.getByText(`Hôm nay bạn đã dùng hết phiếu cho «${env("SECOND_TITLE")}»`).waitFor();
  if ((await votesShown(page)) !== "1") throw new Error("a refused vote must not change the total");
  await shot(page, "js-05-limit");

  // Without JavaScript: the same taps, plain forms back to the same entry.
  const plain = await browser.newContext({ ...phone, javaScriptEnabled: false });
  const plainPage = await plain.newPage();
  watch(plainPage);
  const plainTaps = await firstVote(plainPage, third, "khong-js@example.vn", env("THIRD_TITLE"), "nojs");
  if (plainTaps > 4) throw new Error(`a first vote without JavaScript took ${plainTaps} taps`);

  if (errors.length) throw new Error(`browser errors:\n${errors.join("\n")}`);
  console.log(`FIRST_VOTE_TAPS ${firstTaps}`);
  console.log(`RETURNING_VOTE_TAPS ${returning}`);
  console.log(`FIRST_VOTE_TAPS_NO_JS ${plainTaps}`);
} finally {
  await browser.close();
}
