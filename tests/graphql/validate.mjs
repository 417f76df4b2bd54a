// validate.mjs URL - graphql-js's verdicts on a table of documents, against the schema a
// client builds from our introspection (buildClientSchema). Reads a JSON array of
// document strings on stdin, writes a JSON array of {"valid": bool, "errors": [message]}
// (parse errors count as invalid). Trusts the stack's CA through NODE_EXTRA_CA_CERTS.
import { buildClientSchema, getIntrospectionQuery, parse, validate } from 'graphql';

const url = process.argv[2];
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const docs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: getIntrospectionQuery({ inputValueDeprecation: true }) }),
});
const body = await res.json();
if (body.errors) {
  console.error('introspection failed: ' + JSON.stringify(body.errors));
  process.exit(1);
}
const schema = buildClientSchema(body.data);
const out = docs.map((text) => {
  let doc;
  try {
    doc = parse(text);
  } catch (e) {
    return { valid: false, errors: [e.message] };
  }
  const errors = validate(schema, doc).map((e) => e.message);
  return { valid: errors.length === 0, errors };
});
process.stdout.write(JSON.stringify(out) + '\n');
