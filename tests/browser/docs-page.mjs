// docs-page.mjs - opens $MEDRIN_URL/api/v1/docs (Swagger UI) in headless Chromium, lists
// the operations it renders, runs "Try it out" on GET /api/v1/health, then authorises
// with $ACCESS (bearerAuth) and runs "Try it out" on GET /api/v1/auth/me; saves a
// screenshot to $SCREENSHOT. Prints {"operations": [...], "health": {...}, "me": {...},
// "requests": [...], "console_errors": [...]}. Driven by tests/api/test_docs.py.
import { launch, run } from "./lib.mjs";

const base = process.env.MEDRIN_URL;
const access = process.env.ACCESS || "";
const shot = process.env.SCREENSHOT;

async function tryOut(page, method, path) {
  const sel = `.opblock.opblock-${method.toLowerCase()}`;
  const handle = await page.waitForFunction((sel, path) => {
    for (const b of document.querySelectorAll(sel)) {
      const p = b.querySelector(".opblock-summary-path");
      if (p && (p.getAttribute("data-path") || p.textContent.trim()) === path) return b;
    }
    return null;
  }, { timeout: 15000 }, sel, path);
  const block = handle.asElement();
  if (!(await block.$(".opblock-body"))) await (await block.$(".opblock-summary")).click();
  await block.waitForSelector(".try-out__btn", { timeout: 10000 });
  await (await block.$(".try-out__btn")).click();
  await block.waitForSelector(".execute", { timeout: 10000 });
  await (await block.$(".execute")).click();
  await block.waitForSelector(".live-responses-table tbody .response-col_status", { timeout: 15000 });
  return await block.evaluate((b) => {
    const status = b.querySelector(".live-responses-table tbody .response-col_status");
    const body = b.querySelector(".live-responses-table tbody .response-col_description pre");
    const curl = b.querySelector(".curl-command pre, .curl");
    return {
      status: status ? status.textContent.trim() : null,
      body: body ? body.textContent : null,
      curl: curl ? curl.textContent : null,
    };
  });
}

run(async () => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 2400 });
    const consoleErrors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    const resp = await page.goto(`${base}/api/v1/docs`, { waitUntil: "networkidle0", timeout: 30000 });
    await page.waitForSelector(".opblock", { timeout: 20000 });
    const operations = await page.$$eval(".opblock", (blocks) => blocks.map((b) => {
      const m = b.querySelector(".opblock-summary-method");
      const p = b.querySelector(".opblock-summary-path");
      return `${m ? m.textContent.trim() : "?"} ${p ? (p.getAttribute("data-path") || p.textContent.trim()) : "?"}`;
    }));
    const health = await tryOut(page, "GET", "/api/v1/health");
    let me = null;
    if (access) {
      await (await page.waitForSelector(".auth-wrapper .authorize", { timeout: 10000 })).click();
      await page.waitForSelector(".modal-ux", { timeout: 10000 });
      const filled = await page.evaluate(() => {
        for (const c of document.querySelectorAll(".modal-ux .auth-container")) {
          if (c.textContent.includes("bearerAuth")) {
            const input = c.querySelector("input");
            return input ? true : false;
          }
        }
        return false;
      });
      if (!filled) throw new Error("no bearerAuth input in the Authorize dialog");
      const containers = await page.$$(".modal-ux .auth-container");
      for (const c of containers) {
        if ((await c.evaluate((e) => e.textContent)).includes("bearerAuth")) {
          await (await c.$("input")).type(access);
          await (await c.$("button[type=submit], .btn.modal-btn.auth.authorize")).click();
          break;
        }
      }
      await (await page.waitForSelector(".modal-ux .btn-done, .modal-ux .close-modal")).click();
      me = await tryOut(page, "GET", "/api/v1/auth/me");
    }
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    return { page_status: resp.status(), operations, health, me, requests, console_errors: consoleErrors };
  } finally {
    await close();
  }
});
