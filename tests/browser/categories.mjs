// A member enters a contest with categories on a 390 px phone: the entry form lists the
// categories as radio buttons (name and kinds), the member picks "Video clip tuyên truyền",
// and their own entries list shows the category. Prints `CATEGORY <text shown>` for the
// Rust test. Screenshots go to $ARTIFACTS.
import { need, phone, phoneBrowser } from "./phone.mjs";

const slug = need("CONTEST");
const { base, browser, signIn, snap, fitsWidth, finish } = await phoneBrowser();

try {
  const page = await signIn(await browser.newContext(phone), need("EMAIL"), need("PASSWORD"));
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
  await finish();
}
