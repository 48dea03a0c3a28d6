// An admin makes a member the organizer of a unit from the people pages, on a phone (390 px
// wide) in a real Chromium; the member then signs in and sees the organizer dashboard.
// Screenshots go to $ARTIFACTS.
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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
// The answer provoked on purpose: the preview of a CSV with a bad line (422).
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

try {
  // The admin finds the member by name from the navigation's "Người dùng".
  const admin = await (await browser.newContext(phone)).newPage();
  watch(admin);
  await signIn(admin, env("ADMIN_EMAIL"), env("PASSWORD"));
  await admin.locator("#nav-people").click();
  await admin.waitForURL(/\/admin\/people/);
  await noHorizontalScroll(admin);
  await admin.getByLabel(/Tìm theo tên/).fill(env("MEMBER_NAME"));
  await Promise.all([admin.waitForURL(/q=/), admin.getByRole("button", { name: "Tìm", exact: true }).click()]);
  await shot(admin, "01-people-search");
  await admin.getByRole("link", { name: env("MEMBER_NAME") }).click();
  await admin.waitForURL(/\/admin\/people\/\d+/);
  await noHorizontalScroll(admin);
  await admin.getByLabel("Vai trò", { exact: true }).selectOption("organizer");
  await admin.getByLabel("Đơn vị", { exact: true }).selectOption(env("UNIT"));
  await Promise.all([admin.waitForURL(/notice=saved/), admin.locator("#save-access").click()]);
  const role = await admin.locator("#person-role").innerText();
  if (role.trim() !== "Ban tổ chức") throw new Error(`the role shown is ${role}`);
  const history = await admin.locator("#history").innerText();
  if (!history.includes("Thành viên → Ban tổ chức")) throw new Error(`no history: ${history}`);
  await noHorizontalScroll(admin);
  await shot(admin, "02-person-promoted");

  // The unit tree from the same phone: a CSV with a bad line is named line by line, then the
  // corrected file is previewed and imported.
  await admin.locator('a[href="/admin/units"]').first().click();
  await admin.waitForURL(/\/admin\/units/);
  await noHorizontalScroll(admin);
  expected = /status of 422/;
  await admin.getByLabel("Hoặc dán nội dung CSV").fill("bd,Tỉnh Đoàn Bình Dương,\nXa Sai,Xã A,bd");
  await Promise.all([admin.waitForLoadState("load"), admin.getByRole("button", { name: "Xem trước" }).click()]);
  await admin.getByText(/^Dòng 2: mã chỉ gồm/).waitFor();
  await noHorizontalScroll(admin);
  await shot(admin, "03-units-bad-line");
  expected = null;
  await admin.getByLabel("Hoặc dán nội dung CSV").fill("bd,Tỉnh Đoàn Bình Dương,\nxa-a,Xã A,bd");
  await Promise.all([admin.waitForLoadState("load"), admin.getByRole("button", { name: "Xem trước" }).click()]);
  await Promise.all([admin.waitForURL(/notice=imported/), admin.locator("#csv-confirm").click()]);
  const tree = await admin.locator("#unit-tree").innerText();
  if (!tree.includes("Xã A")) throw new Error(`not imported: ${tree}`);
  await noHorizontalScroll(admin);
  await shot(admin, "04-units-imported");

  // The member, now organizer, signs in and opens the organizer dashboard.
  const member = await (await browser.newContext(phone)).newPage();
  watch(member);
  await signIn(member, env("MEMBER_EMAIL"), env("PASSWORD"));
  await member.getByRole("link", { name: "Ban tổ chức" }).click();
  await member.waitForURL(/\/organize$/);
  const h1 = await member.locator("h1").first().innerText();
  console.log(`DASHBOARD=${h1}`);
  await noHorizontalScroll(member);
  await shot(member, "05-organizer-dashboard");
  if (errors.length) throw new Error(`browser errors:\n${errors.join("\n")}`);
} finally {
  await browser.close();
}
