// The entrant's side of issue 18 at 390 px: the contest page's schedule and banner, the entry
// limit before the form, withdrawing after a confirm step and restoring, and an unverified
// member told to verify instead of being shown the form. Prints DONE. Screenshots go to
// $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const need = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const base = need("BASE_URL");
const slug = need("CONTEST");
const entry = need("ENTRY");
const out = need("ARTIFACTS");
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const problems = [];
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
async function open() {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`); });
  return page;
}
const snap = (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
async function login(page, email) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(need("PASSWORD"));
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/login")),
    page.getByRole("button", { name: "Đăng nhập" }).click(),
  ]);
}
async function fits(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  if (w > 390) throw new Error(`${page.url()} is ${w}px wide at 390px`);
}

try {
  // The contest page: the banner names the phase open now and its own close; the schedule
  // is on the page, not inside the collapsed rules.
  const visitor = await open();
  await visitor.goto(`${base}/contests/${slug}`);
  const banner = await visitor.locator("#phase-banner").innerText();
  if (!banner.includes("Nhận bài dự thi") || !banner.includes("Đang mở đến")) throw new Error(`banner: ${banner}`);
  if (!(await visitor.locator("#schedule").isVisible())) throw new Error("the schedule is hidden");
  const schedule = await visitor.locator("#schedule").innerText();
  if (!schedule.includes("Bình chọn")) throw new Error(`schedule: ${schedule}`);
  await fits(visitor);
  await snap(visitor, "entrant-01-contest");

  // The limit before the form.
  const page = await open();
  await login(page, need("MEMBER_EMAIL"));
  await page.goto(`${base}/contests/${slug}/enter`);
  const limit = await page.locator("#entry-limit").innerText();
  if (!limit.includes("Bạn đã gửi 1/2 bài.")) throw new Error(`limit: ${limit}`);
  await page.getByLabel("Tên bài dự thi").waitFor();
  await fits(page);
  await snap(page, "entrant-02-limit");

  // Withdrawing asks first; then the entry can be restored.
  await page.goto(`${base}/entries/${entry}`);
  await Promise.all([page.waitForURL(/\/withdraw$/), page.locator("#withdraw").click()]);
  const sure = await page.locator("#confirm").innerText();
  if (!sure.includes("Bạn chắc chắn?") || !sure.includes("khôi phục")) throw new Error(`confirm: ${sure}`);
  await fits(page);
  await snap(page, "entrant-03-withdraw");
  await Promise.all([page.waitForURL(/saved=withdrawn/), page.locator("#confirm-withdraw").click()]);
  await page.locator("#saved").getByText("Đã rút bài.").waitFor();
  if (!(await page.locator("#entry-status").innerText()).includes("Đã rút")) throw new Error("not withdrawn");
  await Promise.all([page.waitForURL(/saved=restored/), page.locator("#restore").click()]);
  await page.locator("#saved").getByText("Đã khôi phục bài dự thi.").waitFor();
  if (!(await page.locator("#entry-status").innerText()).includes("Đã duyệt")) throw new Error("not restored");
  await fits(page);
  await snap(page, "entrant-04-restore");

  // An unverified member: a notice to verify (with resend), no form.
  const unverified = await open();
  await login(unverified, need("UNVERIFIED_EMAIL"));
  await unverified.goto(`${base}/contests/${slug}/enter`);
  await unverified.getByText("Hãy xác minh email trước khi gửi bài dự thi.").waitFor();
  if (await unverified.getByLabel("Tên bài dự thi").count()) throw new Error("the entry form is shown");
  await unverified.getByRole("button", { name: /Gửi lại/ }).waitFor();
  await fits(unverified);
  await snap(unverified, "entrant-05-verify-first");

  if (problems.length) throw new Error(`browser errors:\n${problems.join("\n")}`);
  console.log("DONE");
} finally {
  await browser.close();
}
