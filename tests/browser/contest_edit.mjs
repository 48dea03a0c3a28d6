// An organizer edits a contest on a 390 px phone: fixes a typo in the title and extends the
// submission deadline on the edit page ("Đã lưu"), and the manage page's history lists both;
// the public contest page shows the new title, and a signed-in entrant sees the new deadline.
// Prints `DEADLINE <text shown>` for the Rust test. Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const need = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const base = need("BASE_URL");
const slug = need("CONTEST");
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
async function login(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/login")),
    page.getByRole("button", { name: "Đăng nhập" }).click(),
  ]);
}
async function fitsWidth(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  if (w > 390) throw new Error(`${page.url()} is ${w}px wide at 390px`);
}

try {
  const org = await open();
  await login(org, need("ORGANIZER_EMAIL"), need("PASSWORD"));
  await org.goto(`${base}/organize/contests/${slug}`);
  await Promise.all([
    org.waitForURL(new RegExp(`/organize/contests/${slug}/edit$`)),
    org.getByRole("link", { name: "Sửa thông tin hội thi" }).click(),
  ]);
  await fitsWidth(org);
  await snap(org, "contest-edit-01-form");
  await org.getByLabel("Tên hội thi", { exact: true }).fill(need("NEW_TITLE"));
  await org.getByLabel("Hết hạn nhận bài", { exact: true }).fill(need("NEW_CLOSE"));
  await Promise.all([
    org.waitForURL(/\/edit\?saved=contest$/),
    org.getByRole("button", { name: "Lưu thay đổi" }).click(),
  ]);
  await org.getByText("Đã lưu thay đổi của hội thi.").waitFor();
  if ((await org.getByLabel("Tên hội thi", { exact: true }).inputValue()) !== need("NEW_TITLE")) throw new Error("the title was not kept");
  await fitsWidth(org);
  await snap(org, "contest-edit-02-saved");

  await org.goto(`${base}/organize/contests/${slug}`);
  const history = await org.locator("ul.history").innerText();
  for (const want of ["Tên hội thi", need("NEW_TITLE"), "Hạn nhận bài"]) {
    if (!history.includes(want)) throw new Error(`the history lacks ${want}: ${history}`);
  }
  await fitsWidth(org);
  await snap(org, "contest-edit-03-history");

  // The public page, to anyone.
  const visitor = await open();
  await visitor.goto(`${base}/contests/${slug}`);
  await visitor.getByRole("heading", { name: need("NEW_TITLE"), exact: true }).first().waitFor();

  // The entrant's view of the contest: the new deadline.
  const entrant = await open();
  await login(entrant, need("ENTRANT_EMAIL"), need("PASSWORD"));
  await entrant.goto(`${base}/contests/${slug}`);
  const text = await entrant.evaluate(() => document.body.textContent);
  if (!text.includes(need("NEW_CLOSE_SHOWN"))) throw new Error(`the contest page lacks the new deadline: ${text}`);
  await fitsWidth(entrant);
  await snap(entrant, "contest-edit-04-entrant");
  console.log(`DEADLINE ${need("NEW_CLOSE_SHOWN")}`);
  if (problems.length) throw new Error(`page errors: ${problems.join("; ")}`);
} finally {
  await browser.close();
}
