// cors.mjs - a front-end on another origin: opens $PAGE_URL (a page the test serves on
// another local origin) and, from it, calls $API/api/v1/auth/login with fetch (JSON body)
// and then $API/api/v1/auth/me with the access token, as a React app would. Prints
// {"origin": ..., "login": {...}, "me": {...}}: each either {"status", "body"} or
// {"error": "TypeError: Failed to fetch"} when the browser blocked the call.
// Driven by tests/api/test_cors.py.
import { launch, run } from "./lib.mjs";

run(async () => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    await page.goto(process.env.PAGE_URL, { waitUntil: "load", timeout: 30000 });
    const result = await page.evaluate(async (api, email, password) => {
      async function call(path, init) {
        try {
          const r = await fetch(api + path, init);
          return { status: r.status, body: await r.text(),
                   retry_after_visible: r.headers.has("Retry-After") };
        } catch (e) {
          return { error: String(e) };
        }
      }
      const login = await call("/api/v1/auth/login", {
        method: "POST", mode: "cors",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      let token = "";
      try { token = JSON.parse(login.body).access_token || ""; } catch (e) { /* blocked */ }
      const me = await call("/api/v1/auth/me", {
        mode: "cors", headers: { Authorization: "Bearer " + (token || "none") },
      });
      return { origin: location.origin, login, me };
    }, process.env.API, process.env.EMAIL, process.env.PASSWORD);
    result.console_errors = consoleErrors;
    return result;
  } finally {
    await close();
  }
});
