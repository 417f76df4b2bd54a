// graphiql.mjs BASE_URL SCREENSHOT - a person's use of GraphiQL, in Debian's headless
// chromium driven by puppeteer-core: opens BASE_URL/api/v1/graphiql/, puts the access
// token from $MEDRIN_TOKEN into the Headers editor, runs QUERY ($GRAPHIQL_QUERY, default
// `{ me { email } }`), waits for the answer in the result pane and saves a screenshot.
// Prints {"result": <result pane text>, "console": [messages]} on stdout; exit status 1
// when the page fails (a script error, a CSP refusal, no answer in time).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const [base, shot] = process.argv.slice(2);
const token = process.env.MEDRIN_TOKEN || '';
const query = process.env.GRAPHIQL_QUERY || '{ me { email } }';
const profile = mkdtempSync(join(tmpdir(), 'medrin-chromium-'));
const messages = [];
let browser;
let failed = false;
try {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The stack's certificate is signed by its own private CA, which chromium's NSS store
    // does not know; this browser only ever talks to that loopback server.
    acceptInsecureCerts: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      `--user-data-dir=${profile}`,
    ],
    userDataDir: profile,
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => { messages.push(`pageerror: ${e.message}`); failed = true; });
  await page.goto(`${base}/api/v1/graphiql/`, { waitUntil: 'networkidle0', timeout: 60000 });
  await page.waitForSelector('.graphiql-execute-button', { timeout: 60000 });
  await page.evaluate((q, tok) => {
    const editors = [...document.querySelectorAll('.CodeMirror')];
    const inQuery = (e) => e.closest('.graphiql-query-editor') !== null;
    const queryEditor = editors.find(inQuery);
    // The Headers tab is open (init.js): the editor in the tool area that is not hidden.
    const headers = editors.find((e) => !inQuery(e) && e.closest('.graphiql-editor-tool') &&
      !e.parentElement.classList.contains('hidden'));
    if (!queryEditor || !headers) throw new Error('GraphiQL editors not found');
    queryEditor.CodeMirror.setValue(q);
    headers.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${tok}` }, null, 2));
  }, query, token);
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => {
    const r = document.querySelector('.result-window .CodeMirror');
    return r && r.CodeMirror && r.CodeMirror.getValue().includes('"data"');
  }, { timeout: 60000 });
  const result = await page.evaluate(
    () => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue());
  await page.screenshot({ path: shot });
  if (messages.some((m) => /Content Security Policy|Refused to/.test(m))) failed = true;
  process.stdout.write(JSON.stringify({ result, console: messages }) + '\n');
} catch (e) {
  failed = true;
  process.stdout.write(JSON.stringify({ error: String(e), console: messages }) + '\n');
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
