// audit.mjs URL - graphql-http's server audits (GraphQL over HTTP) against a live
// endpoint. Prints one line per audit ("ok", "FAIL" or "warn" with the reason) and a
// summary; exit status 1 when any MUST audit fails. SHOULD and MAY results are printed
// and never fail the run. Trusts the stack's CA through NODE_EXTRA_CA_CERTS.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url })) {
  results.push({ name: audit.name, id: audit.id, result: await audit.fn() });
}
let mustFailed = 0;
const counts = {};
for (const { name, id, result } of results) {
  const level = name.split(' ')[0] === 'MAY' && name.startsWith('MAY NOT') ? 'MAY' : name.split(' ')[0];
  const ok = result.status === 'ok';
  const key = `${level} ${ok ? 'ok' : 'not ok'}`;
  counts[key] = (counts[key] || 0) + 1;
  if (!ok && level === 'MUST') mustFailed++;
  const mark = ok ? 'ok  ' : level === 'MUST' ? 'FAIL' : 'warn';
  let why = '';
  if (!ok) {
    why = ` -- ${result.reason}`;
    if (result.response) why += ` (HTTP ${result.response.status})`;
  }
  console.log(`${mark} [${id}] ${name}${why}`);
}
console.log('summary: ' + Object.entries(counts).sort().map(([k, v]) => `${k}: ${v}`).join(', '));
console.log(`MUST audits failed: ${mustFailed}`);
process.exit(mustFailed > 0 ? 1 : 0);
