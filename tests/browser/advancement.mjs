// A commune's organizer links their contest to the provincial round on a 390 px phone ("Đề cử
// lên vòng trên": parent, top N per category, basis), then the province's organizer sees the
// commune listed under "Bài được đề cử". Prints `LINKED <line>` and `FEEDER <text>` for the
// Rust test. Screenshots go to $ARTIFACTS.
import { need, phone, phoneBrowser } from "./phone.mjs";

const { base, browser, snap, fitsWidth, signIn, finish } = await phoneBrowser();

try {
  const commune = await signIn(await browser.newContext(phone), need("COMMUNE_EMAIL"), need("PASSWORD"));
  await commune.goto(`${base}/organize/contests/${need("CHILD")}`);
  await commune.getByRole("link", { name: "Vòng trên và bài được đề cử" }).click();
  await commune.getByRole("heading", { name: "Đề cử lên vòng trên", level: 1 }).waitFor();
  await fitsWidth(commune);
  await snap(commune, "advancement-01-form");
  await commune.getByLabel("Hội thi vòng trên").selectOption(need("PARENT"));
  await commune.getByLabel("Số bài đề cử mỗi hạng mục").fill("2");
  await commune.getByLabel("Điểm giám khảo").check();
  await Promise.all([
    commune.waitForURL(/saved=1/),
    commune.getByRole("button", { name: "Lưu", exact: true }).click(),
  ]);
  await fitsWidth(commune);
  const linked = (await commune.locator(".advancement-link").textContent()).replace(/\s+/g, " ").trim();
  await snap(commune, "advancement-02-linked");
  console.log(`LINKED ${linked}`);

  const province = await signIn(await browser.newContext(phone), need("PROVINCE_EMAIL"), need("PASSWORD"));
  await province.goto(`${base}/organize/contests/${need("PARENT")}/advancement`);
  await province.getByRole("heading", { name: "Bài được đề cử" }).waitFor();
  await fitsWidth(province);
  const feeder = (await province.locator(".feeder").first().textContent()).replace(/\s+/g, " ").trim();
  await snap(province, "advancement-03-nominations");
  console.log(`FEEDER ${feeder}`);
} finally {
  await finish();
}
