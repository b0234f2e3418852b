// Build step: write dist/client/pushwire-client.browser.js, the browser
// client as one self-contained ES module (what GET /client.js serves and
// the `browser` export condition names). tsc leaves the client importing
// the wire contract from ../push/contract.js; a page that imports
// /client.js cannot reach that path, so the contract (which imports
// nothing) is inlined in place of the import.
import { readFileSync, writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const read = (path) => readFileSync(new URL(path, dist), 'utf8').replace(/^\/\/# sourceMappingURL=.*\n?/m, '');

const contract = read('push/contract.js').replace(/^export /gm, '');
const client = read('client/pushwire-client.js');
const importLine = /^import \{[^}]*\} from '\.\.\/push\/contract\.js';\n/m;
if (!importLine.test(client)) throw new Error('bundle-client: the client no longer imports ../push/contract.js as expected');
if (/^import /m.test(client.replace(importLine, ''))) throw new Error('bundle-client: the client imports something besides the contract');
if (/^import /m.test(contract)) throw new Error('bundle-client: the wire contract imports something; it must stay self-contained to be inlined');

writeFileSync(
  new URL('client/pushwire-client.browser.js', dist),
  `// pushwire browser client (wire contract inlined). Source: src/client/pushwire-client.ts\n${contract}\n${client.replace(importLine, '')}`,
);
