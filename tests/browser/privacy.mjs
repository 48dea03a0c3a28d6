// A child enters a contest that asks birth dates, on a phone (390 px wide) in a real Chromium,
// and the entry goes public only once a parent agrees through the mailed link.
// Phase "child": register with the consent box, verify the email (an admin reads the outbox),
// enter as a 14-year-old naming a parent; prints ENTRY=<id>. (The test then marks the entry
// processed, as the worker would after an upload.)
// Phase "guardian": the entry is not public; the parent opens the link from the outbox, reads
// whose entry it is and what will be public, agrees; the entry page then shows the child's
// name shortened. Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
const phase = env("PHASE");
const childEmail = "be.an@example.vn";
const parentEmail = "me.cua.an@example.vn";
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
// The answers provoked on purpose: registering without the box (422), the entry page before
// the parent agreed (404).
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
async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);
}
// The first link to `path` in the newest outbox mail of `kind` to `to`, as the admin reads it.
async function mailedLink(kind, to, path) {
  const admin = await browser.newContext(phone);
  const page = await admin.newPage();
  watch(page);
  await signIn(page, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
  await page.goto(`${base}/admin/outbox`);
  const text = await page.locator(`article.mail[data-kind="${kind}"][data-to="${to}"] .mail-body`).first().innerText();
  await admin.close();
  const m = text.match(new RegExp(`https?://\\S+${path}\\S+`));
  if (!m) throw new Error(`no ${path} link in the ${kind} mail: ${text}`);
  return { link: m[0], text };
}
// YYYY-MM-DD of a birthday `years` years and a month ago.
function bornYearsAgo(years) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - 30);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.toISOString().slice(0, 10);
}

try {
  if (phase === "child") {
    const child = await browser.newContext(phone);
    const page = await child.newPage();
    watch(page);
    await page.goto(`${base}/register`);
    await page.getByLabel("Email").fill(childEmail);
    await page.getByLabel("Họ và tên").fill("Nguyễn Văn An");
    await page.getByLabel("Mật khẩu").fill("mật khẩu của An");
    // Without the consent box the form says why (422) and keeps what was typed.
    expected = /status of 422/;
    await page.getByRole("button", { name: "Đăng ký" }).click();
    await page.locator("#consent-error").waitFor();
    expected = null;
    await page.getByLabel("Mật khẩu").fill("mật khẩu của An");
    await page.getByRole("checkbox", { name: /đồng ý/ }).check();
    await noHorizontalScroll(page);
    await shot(page, "01-register-consent");
    await Promise.all([page.waitForURL(`${base}/check-email`), page.getByRole("button", { name: "Đăng ký" }).click()]);
    const { link } = await mailedLink("verify-email", childEmail, "/verify-email/");
    await page.goto(link);
    await page.getByText("Email của bạn đã được xác nhận").waitFor();

    await page.goto(`${base}/contests/${env("CONTEST")}/enter`);
    await page.getByLabel("Tên bài dự thi").fill("Trường em");
    await page.getByLabel("Ngày sinh").fill(bornYearsAgo(14));
    await page.getByLabel("Họ tên cha, mẹ hoặc người giám hộ").fill("Nguyễn Thị Mai");
    await page.getByLabel("Email của họ").fill(parentEmail);
    await page.getByRole("checkbox", { name: /đồng ý/ }).check();
    await noHorizontalScroll(page);
    await shot(page, "02-enter-as-a-child");
    await Promise.all([page.waitForURL(/\/entries\/[0-9a-f-]+\/upload$/), page.getByRole("button", { name: /Lưu/ }).click()]);
    const id = page.url().match(/entries\/([0-9a-f-]+)\/upload/)[1];
    console.log(`ENTRY=${id}`);
  } else if (phase === "guardian") {
    const entry = env("ENTRY");
    const visitor = await browser.newContext(phone);
    const anon = await visitor.newPage();
    watch(anon);
    expected = /status of 404/;
    const before = await anon.goto(`${base}/entries/${entry}`);
    if (before.status() !== 404) throw new Error(`before the parent agreed the entry page answered ${before.status()}`);
    expected = null;

    const { link, text } = await mailedLink("guardian-consent", parentEmail, "/guardian/");
    if (!text.includes("Nguyễn Văn An") || !text.includes("Nguyễn V. A.")) throw new Error(`the mail does not name the child: ${text}`);
    const parent = await browser.newContext(phone);
    const page = await parent.newPage();
    watch(page);
    await page.goto(link);
    await page.getByText("Nguyễn Văn An").first().waitFor();
    await page.getByText("Trường em").waitFor();
    await page.getByText("Nguyễn V. A.").waitFor();
    await noHorizontalScroll(page);
    await shot(page, "03-guardian-page");
    await page.getByRole("button", { name: /tôi đồng ý/ }).click();
    await page.locator("#guardian-given").waitFor();
    await shot(page, "04-guardian-agreed");

    const after = await anon.goto(`${base}/entries/${entry}`);
    if (after.status() !== 200) throw new Error(`after the parent agreed the entry page answered ${after.status()}`);
    await anon.getByText("Nguyễn V. A.").waitFor();
    if ((await anon.content()).includes("Nguyễn Văn An")) throw new Error("the child's full name is public");
    await noHorizontalScroll(anon);
    await shot(anon, "05-entry-public");
    console.log("entry public with the shortened name");
  } else {
    throw new Error(`unknown PHASE ${phase}`);
  }
  if (errors.length) throw new Error(`page errors:\n${errors.join("\n")}`);
} finally {
  await browser.close();
}
