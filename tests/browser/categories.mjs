// A member enters a contest with categories on a 390 px phone: the entry form lists the
// categories as radio buttons (name and kinds), the member picks "Video clip tuyên truyền",
// and their own entries list shows the category. Prints `CATEGORY <text shown>` for the
// Rust test. Screenshots go to $ARTIFACTS.
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
const snap = (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
async function fitsWidth(page) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  if (w > 390) throw new Error(`${page.url()} is ${w}px wide at 390px`);
}

try {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`); });
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(need("EMAIL"));
  await page.getByLabel("Mật khẩu").fill(need("PASSWORD"));
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/login")),
    page.getByRole("button", { name: "Đăng nhập" }).click(),
  ]);
  await page.goto(`${base}/contests/${slug}/enter`);
  await fitsWidth(page);
  const group = page.getByRole("group", { name: "Chọn hạng mục" });
  await group.getByText("Ảnh đẹp quê hương").waitFor();
  await snap(page, "categories-01-form");
  await page.getByLabel("Tên bài dự thi").fill("Chiều trên sông Hậu");
  await group.getByLabel(/Video clip tuyên truyền/).check();
  await page.getByRole("checkbox").check();
  await Promise.all([
    page.waitForURL(/\/entries\/[0-9a-f-]+\/upload$/),
    page.getByRole("button", { name: "Lưu và tiếp tục tải tệp" }).click(),
  ]);
  await page.goto(`${base}/me/entries`);
  await fitsWidth(page);
  const shown = (await page.locator(".card .category").first().textContent()).trim();
  await snap(page, "categories-02-mine");
  console.log(`CATEGORY ${shown}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
