// The winner of a contest downloads their certificate on a phone (390 px wide) in a real
// Chromium: "Bài dự thi của tôi" → "Tải giấy chứng nhận" (a PDF: its bytes start with %PDF),
// then opens the check page of the code printed on it (read with pdftotext) and sees it valid
// with their name shortened; a made-up code typed into the check form is not found.
// Screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, acceptDownloads: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
// The made-up code's page answers 404 on purpose.
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

try {
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  watch(page);
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(env("EMAIL"));
  await page.getByLabel("Mật khẩu").fill(env("PASSWORD"));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);

  await page.goto(`${base}/me/entries`);
  const button = page.getByRole("link", { name: "Tải giấy chứng nhận" });
  await button.waitFor();
  await noHorizontalScroll(page);
  await shot(page, "01-my-entries");
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const file = `${artifacts}/certificate.pdf`;
  await download.saveAs(file);
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 4).toString("latin1") !== "%PDF") throw new Error(`the download is not a PDF: ${bytes.subarray(0, 16)}`);
  if (!/^giay-chung-nhan-nguyen-thi-anh-[0-9A-Z]+\.pdf$/.test(download.suggestedFilename())) throw new Error(`file name ${download.suggestedFilename()}`);
  const text = execFileSync("pdftotext", ["-enc", "UTF-8", file, "-"]).toString("utf8");
  if (!text.includes("Nguyễn Thị Ánh")) throw new Error(`the PDF does not name the winner: ${text}`);
  const m = text.match(/\/verify\/(HT-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/);
  if (!m) throw new Error(`no check link in the PDF: ${text}`);
  console.log(`CODE=${m[1]}`);

  // The check page of the printed code, as anyone opens it (the QR code's link).
  const visitor = await browser.newContext(phone);
  const check = await visitor.newPage();
  watch(check);
  const res = await check.goto(`${base}/verify/${m[1]}`);
  if (res.status() !== 200) throw new Error(`the check page answered ${res.status()}`);
  await check.locator("#valid").waitFor();
  await check.getByText("Nguyễn T. Á.").waitFor();
  await check.getByText("Giải Nhất").waitFor();
  if ((await check.content()).includes("Nguyễn Thị Ánh")) throw new Error("the check page shows the full name");
  await noHorizontalScroll(check);
  await shot(check, "02-verify-valid");

  // A made-up code typed into the form.
  expected = /status of 404/;
  await check.getByLabel("Mã xác minh").fill("HT-2222-3333-4444-5555");
  await Promise.all([check.waitForURL(/\/verify\/HT-2222/), check.getByRole("button", { name: "Kiểm tra" }).click()]);
  await check.locator("#missing").waitFor();
  await check.getByText("Không tìm thấy giấy chứng nhận").waitFor();
  await noHorizontalScroll(check);
  await shot(check, "03-verify-missing");
  expected = null;
  if (errors.length) throw new Error(`page errors:\n${errors.join("\n")}`);
  console.log("certificate downloaded and verified");
} finally {
  await browser.close();
}
