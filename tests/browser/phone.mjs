// What the 390 px phone tests share: Debian's Chromium started as FACTS.md says (headless,
// no background network), a phone context, screenshots to $ARTIFACTS, the check that a page
// fits the width, signing in on the login page, and page errors collected so a script fails
// on any of them.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

/** The environment variable `k`, which the Rust side must set. */
export const need = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};

export const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

/** Starts the browser; `finish()` closes it and exits 1 when a page logged an error. */
export async function phoneBrowser() {
  const base = need("BASE_URL");
  const out = need("ARTIFACTS");
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const problems = [];
  const watch = (page) => {
    page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`); });
    return page;
  };
  const snap = (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  const fitsWidth = async (page) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 390) throw new Error(`${page.url()} is ${w}px wide at 390px`);
  };
  /** A new page of `context`, signed in as `email`. */
  const signIn = async (context, email, password) => {
    const page = watch(await context.newPage());
    await page.goto(`${base}/login`);
    await page.getByLabel(/Email/).fill(email);
    await page.getByLabel("Mật khẩu").fill(password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith("/login")),
      page.getByRole("button", { name: "Đăng nhập" }).click(),
    ]);
    return page;
  };
  const finish = async () => {
    await browser.close();
    if (problems.length) {
      console.error(problems.join("\n"));
      process.exit(1);
    }
  };
  return { base, browser, problems, watch, snap, fitsWidth, signIn, finish };
}
