// A member enters a team entry with a 3-photo series on a 390 px phone: the entry form takes
// the team's name and its members (no script needed), the upload page takes the photos one
// resumable upload each and counts them, the member hands the series in, and once the worker
// has processed every photo an organizer approves it; the gallery card shows the first photo
// with "Bộ ảnh · 3 ảnh" and the team's name, the entry page every photo and the members.
// Prints `SERIES <card text>`, `PHOTOS <n>` and `MEMBERS <text>` for the Rust test.
// Screenshots go to $ARTIFACTS.
import { need, phone, phoneBrowser } from "./phone.mjs";

const slug = need("CONTEST");
const photos = need("PHOTOS").split(",");
const { base, browser, snap, fitsWidth, signIn, finish } = await phoneBrowser();

try {
  const member = await browser.newContext(phone);
  const page = await signIn(member, need("EMAIL"), need("PASSWORD"));
  await page.goto(`${base}/contests/${slug}/enter`);
  await fitsWidth(page);
  await page.getByLabel("Tên bài dự thi").fill("Mùa hè xanh trên bản");
  const team = page.getByRole("group", { name: "Bài dự thi của tập thể" });
  await team.getByRole("checkbox", { name: "Bài dự thi của tập thể" }).check();
  await page.getByLabel("Tên đội / chi đoàn").fill("Đội hình tình nguyện Bến Nghé");
  await page.getByLabel("Thành viên").fill("Nguyễn Văn An\nTrần Thị Bình\nLê Hoàng Cường");
  await page.getByLabel(/Gửi một bộ ảnh/).check();
  await page.locator("input[name=consent]").check();
  await snap(page, "teams-01-form");
  await Promise.all([
    page.waitForURL(/\/entries\/[0-9a-f-]+\/upload$/),
    page.getByRole("button", { name: "Lưu và tiếp tục tải tệp" }).click(),
  ]);
  const uploadUrl = page.url();
  const entry = uploadUrl.split("/")[4];
  for (let i = 0; i < photos.length; i++) {
    await fitsWidth(page);
    await page.locator("#file").setInputFiles(photos[i]);
    await Promise.all([
      page.waitForURL(uploadUrl, { waitUntil: "load" }),
      page.locator("[data-uploader-start]").click(),
    ]);
    await page.locator("#series-progress", { hasText: `Đã tải ${i + 1}/3 ảnh` }).waitFor({ timeout: 30000 });
  }
  await snap(page, "teams-02-series");
  await Promise.all([
    page.waitForURL(`${base}/entries/${entry}`),
    page.getByRole("button", { name: "Nộp bộ ảnh" }).click(),
  ]);
  // The page refreshes itself while the photos are processed.
  await page.locator("#entry-status", { hasText: "Chờ duyệt" }).waitFor({ timeout: 120000 });
  await fitsWidth(page);
  await snap(page, "teams-03-entry");

  const org = await browser.newContext(phone);
  const orgPage = await signIn(org, need("ORG_EMAIL"), need("PASSWORD"));
  await orgPage.goto(`${base}/entries/${entry}`);
  await Promise.all([
    orgPage.waitForLoadState("load"),
    orgPage.locator("button[name=decision][value=approve]").click(),
  ]);

  const visitor = await browser.newContext(phone);
  const pub = await visitor.newPage();
  await pub.goto(`${base}/contests/${slug}`);
  await fitsWidth(pub);
  const card = pub.locator(".tile").first();
  const series = (await card.locator(".series").textContent()).trim();
  const teamName = (await card.locator(".team").textContent()).trim();
  await snap(pub, "teams-04-gallery");
  await pub.goto(`${base}/entries/${entry}`);
  await fitsWidth(pub);
  const shown = await pub.locator("img.photo").count();
  const members = (await pub.locator("#team-members").textContent()).trim();
  await snap(pub, "teams-05-public");
  console.log(`SERIES ${series} | ${teamName}`);
  console.log(`PHOTOS ${shown}`);
  console.log(`MEMBERS ${members}`);
} finally {
  await finish();
}
