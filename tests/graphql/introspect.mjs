// introspect.mjs URL - what a graphql-js client makes of our introspection: runs the
// standard introspection query (every option graphql-js has), builds a client schema
// with buildClientSchema and prints it as SDL (printSchema) on stdout.
// Trusts the stack's CA through NODE_EXTRA_CA_CERTS.
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';

const url = process.argv[2];
const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query }),
});
const body = await res.json();
if (res.status !== 200 || body.errors) {
  console.error(`introspection failed: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  process.exit(1);
}
process.stdout.write(printSchema(buildClientSchema(body.data)) + '\n');
