// Judging in a real Chromium: the organizer sets up a round (criteria, tie-break; "saved" is
// said), opens it after a confirm step, invites and assigns a judge; the judge scores two
// entries on a 390 px phone (the draft saves itself, then each sheet is submitted) with a
// comment to each entrant; the entrant does not see it yet; the organizer previews and presses
// "Công bố kết quả" while voting is still open: asked to confirm ending voting, confirms, and the
// results are published; the entrant then reads the judge's comment on their entry page at
// 390 px; an anonymous visitor sees the ranking, on screen and as printed. Prints
// `RANKING <title>|<title>` for the Rust test. Screenshots go to $ARTIFACTS.
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
async function open(options) {
  const context = await browser.newContext(options);
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
async function fitsWidth(page, width) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  if (w > width) throw new Error(`${page.url()} is ${w}px wide at ${width}px`);
}

try {
  // 1. The organizer's set-up, on a desktop.
  const org = await open({ viewport: { width: 1280, height: 900 } });
  await login(org, need("ORGANIZER_EMAIL"), need("ORGANIZER_PASSWORD"));
  await org.goto(`${base}/organize/contests/${slug}/judging`);
  await org.locator("#crit_name_0").fill("Nội dung");
  await org.locator("#crit_max_0").fill("10");
  await org.locator("#crit_weight_0").fill("2");
  await org.locator("#crit_name_1").fill("Kỹ thuật");
  await org.locator("#crit_max_1").fill("10");
  await org.locator("#tie_0").selectOption("votes");
  await org.locator("#tie_1").selectOption("earlier");
  await Promise.all([org.waitForURL(/judging\?round=1/), org.getByRole("button", { name: "Lưu thiết lập" }).click()]);
  await org.getByText("Đã lưu thiết lập vòng chấm.").waitFor();
  if (!(await org.locator("#vote-scaling-doc").innerText()).includes("bài cao nhất")) throw new Error("vote scaling is not explained");
  // "Mở chấm vòng này" asks first, naming what it locks; the confirm button opens the round.
  await org.locator("#open-round").click();
  await org.locator("#confirm").getByText("Bạn chắc chắn?").waitFor();
  if ((await org.locator("#round-state").innerText()).includes("Đang chấm")) throw new Error("opened without confirmation");
  await Promise.all([org.waitForURL(/judging\?round=1/), org.locator("#confirm-open").click()]);
  if (!(await org.locator("#round-state").innerText()).includes("Đang chấm")) throw new Error("round did not open");
  await org.locator("#judge-email").fill(need("JUDGE_EMAIL"));
  await org.getByRole("button", { name: "Mời chấm" }).click();
  // One step: the judge's address has a confirmed account, so the invitation assigns every
  // entry of the round at once (the form's default).
  await org.getByText(/^Đã mời giám khảo và giao bài\./).waitFor();
  await snap(org, "judging-01-setup");

  // 2. The judge, on a 390 px phone.
  const judge = await open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await login(judge, need("JUDGE_EMAIL"), need("JUDGE_PASSWORD"));
  // The navigation's "Chấm thi" leads a judge to their contests.
  await Promise.all([judge.waitForURL(/\/judging$/), judge.locator("#nav-judging").click()]);
  await judge.getByRole("link", { name: need("CONTEST_TITLE") }).click();
  await judge.waitForURL(new RegExp(`/judging/${slug}$`));
  await fitsWidth(judge, 390);
  await snap(judge, "judging-02-queue");
  const scores = JSON.parse(need("SCORES")); // {title: [content, technique]}
  for (const [title, [content, technique]] of Object.entries(scores)) {
    await judge.goto(`${base}/judging/${slug}`);
    await judge.getByRole("link", { name: title }).click();
    await judge.waitForURL(/\/entries\//);
    await judge.getByLabel(/^Nội dung/).fill(String(content));
    await judge.getByLabel(/^Kỹ thuật/).fill(String(technique));
    await judge.getByLabel(/Nhận xét gửi ban tổ chức/).fill(`Nhận xét cho ${title}`);
    await judge.getByLabel(/Nhận xét gửi tác giả/).fill(`Góp ý cho tác giả: ${title}`);
    // The draft saves itself: the status line says so, no button pressed.
    await judge.locator("#autosave.saved").waitFor({ timeout: 15000 });
    await fitsWidth(judge, 390);
    await snap(judge, `judging-03-sheet-${content}`);
    await Promise.all([judge.waitForURL(new RegExp(`/judging/${slug}(\\?saved=sheet)?$`)), judge.locator("#submit-sheet").click()]);
  }
  const progress = await judge.locator("#progress").innerText();
  if (!progress.includes("Đã chấm: 2")) throw new Error(`judge progress: ${progress}`);
  await snap(judge, "judging-04-done");

  // 3. The entrant, on a phone, does not see the comment before results are published.
  const author = await open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await login(author, need("AUTHOR_EMAIL"), need("AUTHOR_PASSWORD"));
  const commented = need("COMMENTED");
  await author.goto(`${base}/me/entries`);
  await Promise.all([author.waitForURL(/\/entries\/[0-9a-f-]+$/), author.getByRole("link", { name: commented }).click()]);
  const entryUrl = author.url();
  if (await author.locator("#feedback").count()) throw new Error("the comment shows before results are published");
  if ((await author.content()).includes(`Góp ý cho tác giả: ${commented}`)) throw new Error("comment leaked early");

  // 4. The organizer previews, then presses "Công bố kết quả" while voting is open.
  await org.goto(`${base}/organize/contests/${slug}/results`);
  await org.locator("#preview").waitFor();
  const preview = await org.locator("#results tbody tr td:nth-child(2)").allInnerTexts();
  console.log(`PREVIEW ${preview.join("|")}`);
  await snap(org, "judging-05-preview");
  // On a 390 px phone, as the organizer who tried it.
  const orgPhone = await open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await login(orgPhone, need("ORGANIZER_EMAIL"), need("ORGANIZER_PASSWORD"));
  await orgPhone.goto(`${base}/organize/contests/${slug}/results`);
  await orgPhone.locator("#publish").click();
  await orgPhone.locator("#confirm").waitFor();
  const asked = await orgPhone.locator("#ends-voting").innerText();
  if (!asked.includes("Bình chọn vẫn đang mở đến")) throw new Error(`confirm step: ${asked}`);
  if (await orgPhone.locator("#published").count()) throw new Error("published without confirmation");
  await fitsWidth(orgPhone, 390);
  await snap(orgPhone, "judging-05b-confirm-publish");
  await Promise.all([orgPhone.waitForURL(/results\?round=1/), orgPhone.locator("#confirm-publish").click()]);
  await orgPhone.locator("#published").waitFor();
  await orgPhone.getByText("Đã công bố kết quả.").waitFor();

  // 5. The entrant reads the judge's comment on their entry page, at 390 px.
  await author.goto(entryUrl);
  const feedback = await author.locator("#feedback").innerText();
  if (!feedback.includes(`Góp ý cho tác giả: ${commented}`)) throw new Error(`feedback: ${feedback}`);
  if (feedback.includes("Cô Giám Khảo")) throw new Error("blind judging shows the judge's name");
  await fitsWidth(author, 390);
  await snap(author, "judging-05c-feedback");
  console.log("FEEDBACK seen");

  // 6. Anyone sees the published ranking; printed, the page drops navigation and forms.
  const visitor = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await visitor.goto(`${base}/contests/${slug}/results`);
  const ranking = await visitor.locator("#ranking li a strong").allInnerTexts();
  console.log(`RANKING ${ranking.join("|")}`);
  await fitsWidth(visitor, 390);
  await snap(visitor, "judging-06-public");
  await visitor.emulateMedia({ media: "print" });
  const headerShown = await visitor.locator(".site-header").isVisible();
  if (headerShown) throw new Error("the site header prints");
  await snap(visitor, "judging-07-print");

  if (problems.length) throw new Error(`browser errors:\n${problems.join("\n")}`);
} finally {
  await browser.close();
}
