// The member → organizer → visitor journey in a real Chromium at phone width (360 px).
// Phase "member": register, verify from the outbox (read by the admin), save an entry's draft.
// Phase "publish": the organizer approves it; an anonymous visitor finds it on the contest page.
// Screenshots go to $ARTIFACTS. Prints `ENTRY <id>` for the Rust test that drives the phases.
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
const phase = process.argv[2];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const phone = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
const errors = [];
const watch = (page) => {
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    // The uploader's scripts belong to the upload feature; until it is merged they are 404s.
    if (m.type() !== "error" || (/\/upload$/.test(page.url()) && /404|tus\.min\.js|uploader\.js/.test(m.text()))) return;
    errors.push(`${page.url()}: ${m.text()}`);
  });
};
async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel(/Email/).fill(email);
  await page.getByLabel("Mật khẩu").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Đăng nhập" }).click()]);
}
async function noHorizontalScroll(page) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 360) throw new Error(`${page.url()} is ${wide}px wide at a 360px viewport`);
}

try {
  if (phase === "member") {
    const member = await browser.newContext(phone);
    const page = await member.newPage();
    watch(page);
    await page.goto(`${base}/`);
    await noHorizontalScroll(page);
    await shot(page, "01-home");
    await page.goto(`${base}/register`);
    await page.getByLabel("Email").fill(env("MEMBER_EMAIL"));
    await page.getByLabel("Họ và tên").fill("Nguyễn Thị Hoa");
    await page.getByLabel("Mật khẩu").fill("mật khẩu của Hoa");
    await page.getByLabel(/Đơn vị/).selectOption(env("MEMBER_UNIT"));
    await noHorizontalScroll(page);
    await shot(page, "02-register");
    await Promise.all([page.waitForURL(`${base}/?notice=registered`), page.getByRole("button", { name: "Đăng ký" }).click()]);

    // The admin reads the verification mail in the outbox.
    const admin = await browser.newContext(phone);
    const adminPage = await admin.newPage();
    watch(adminPage);
    await signIn(adminPage, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
    await adminPage.goto(`${base}/admin/outbox`);
    const mail = adminPage.locator(`article.mail[data-kind="verify-email"][data-to="${env("MEMBER_EMAIL")}"] .mail-body`);
    const text = await mail.innerText();
    const link = text.match(/https?:\/\/\S+\/verify-email\/\S+/)[0];
    await shot(adminPage, "03-outbox");
    await page.goto(link);
    await page.getByText("Email của bạn đã được xác nhận").waitFor();

    // The member saves a draft; the upload page follows.
    await page.goto(`${base}/contests/${env("CONTEST")}`);
    await shot(page, "04-contest");
    await page.getByRole("link", { name: "Gửi bài dự thi" }).click();
    await page.getByLabel("Tên bài dự thi").fill("Bình minh trên sông Hàn");
    await page.getByLabel("Mô tả").fill("Ảnh chụp lúc 5 giờ sáng.");
    await Promise.all([page.waitForURL(/\/entries\/[0-9a-f-]+\/upload$/), page.getByRole("button", { name: /Lưu/ }).click()]);
    const id = page.url().match(/entries\/([0-9a-f-]+)\/upload/)[1];
    const form = page.locator("form[data-entry-id]");
    if ((await form.getAttribute("data-entry-id")) !== id) throw new Error("upload form lacks the entry id");
    await noHorizontalScroll(page);
    await shot(page, "05-upload");
    await page.goto(`${base}/entries/${id}`);
    await page.getByText("Bản nháp").waitFor();
    await shot(page, "06-status");
    console.log(`ENTRY ${id}`);
  } else if (phase === "publish") {
    const id = env("ENTRY");
    const organizer = await browser.newContext(phone);
    const page = await organizer.newPage();
    watch(page);
    await signIn(page, env("ORGANIZER_EMAIL"), env("ORGANIZER_PASSWORD"));
    await page.goto(`${base}/organize/contests/${env("CONTEST")}/queue`);
    await noHorizontalScroll(page);
    await shot(page, "07-queue");
    const item = page.locator(`#entry-${id}`);
    await Promise.all([page.waitForURL(/\/queue$/), item.getByRole("button", { name: "Duyệt" }).click()]);
    await page.getByText("Không có bài nào chờ duyệt.").waitFor();

    const visitor = await browser.newContext(phone);
    const v = await visitor.newPage();
    watch(v);
    await v.goto(`${base}/contests/${env("CONTEST")}`);
    const tile = v.getByRole("link", { name: /Bình minh trên sông Hàn/ });
    await tile.waitFor();
    const img = v.locator(".tile img");
    await img.scrollIntoViewIfNeeded();
    await v.waitForFunction(() => { const i = document.querySelector(".tile img"); return i && i.complete && i.naturalWidth > 0; });
    await noHorizontalScroll(v);
    await shot(v, "08-gallery");
    await tile.click();
    await v.waitForURL(`${base}/entries/${id}`);
    await v.waitForFunction(() => { const i = document.querySelector("img.photo"); return i && i.complete && i.naturalWidth > 0; });
    const og = await v.locator('meta[property="og:image"]').getAttribute("content");
    if (!og || !og.startsWith("http")) throw new Error(`og:image is ${og}`);
    await noHorizontalScroll(v);
    await shot(v, "09-entry");
    // The language switch sticks across pages.
    await v.getByRole("link", { name: "English" }).click();
    await v.goto(`${base}/contests/${env("CONTEST")}`);
    await v.getByRole("heading", { name: "Entries" }).waitFor();
    await shot(v, "10-contest-en");
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  if (errors.length) throw new Error(`browser errors:\n${errors.join("\n")}`);
} finally {
  await browser.close();
}
