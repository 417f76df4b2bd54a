// lib.mjs - what the browser tests share: Debian's Chromium through puppeteer-core, headless,
// with a new empty profile each run and nothing that talks to the network on its own.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

export const CHROMIUM = process.env.MEDRIN_CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "medrin-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // the stack's certificate is signed by its private CA, which Chromium does not know
    acceptInsecureCerts: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
      "--disable-dev-shm-usage", "--ignore-certificate-errors",
      `--user-data-dir=${profile}`,
    ],
  });
  const close = async () => {
    await browser.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close };
}

// run(main): prints main's result as one JSON line on stdout; exit 1 with the error on stderr.
export function run(main) {
  const deadline = setTimeout(() => {
    console.error("browser test: no result within 90 s");
    process.exit(1);
  }, 90000);
  main().then(
    (result) => { clearTimeout(deadline); console.log(JSON.stringify(result)); process.exit(0); },
    (err) => { clearTimeout(deadline); console.error(err && err.stack ? err.stack : String(err)); process.exit(1); },
  );
}
