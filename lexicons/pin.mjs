// Writes the lexicon documents exported by @atproto/api (`schemaDict` in
// dist/client/lexicons.js) as one pretty-printed JSON file per NSID, in the
// upstream directory layout, plus lexicons.lock.json. Run through pin.sh.
//
// Output is deterministic: documents keep the key order of the package's
// generated module, files are written with two-space indentation and a final
// newline, and the lock lists files sorted by path.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [installDir, pkgName, version, distJson, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node pin.mjs INSTALL_DIR PACKAGE VERSION DIST_JSON OUT_DIR');
  process.exit(2);
}

// Namespaces kept; anything else the package ships is listed in the lock as skipped.
const NAMESPACES = ['app/bsky', 'chat/bsky', 'com/atproto', 'tools/ozone'];

const fail = (msg) => {
  console.error(`pin: ${msg}`);
  process.exit(1);
};

const pkgDir = path.join(installDir, 'node_modules', ...pkgName.split('/'));
const installed = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (installed.version !== version) fail(`installed ${installed.version}, wanted ${version}`);

// The registry's published digests, cross-checked against what npm installed.
const dist = JSON.parse(fs.readFileSync(distJson, 'utf8'));
const npmLock = JSON.parse(fs.readFileSync(path.join(installDir, 'package-lock.json'), 'utf8'));
const lockEntry = npmLock.packages?.[`node_modules/${pkgName}`];
if (!lockEntry || lockEntry.integrity !== dist.integrity) {
  fail(`integrity mismatch: registry ${dist.integrity}, installed ${lockEntry?.integrity}`);
}

const mod = await import(pathToFileURL(path.join(pkgDir, 'dist', 'client', 'lexicons.js')).href);
const docs = Object.values(mod.schemaDict);

const byId = new Map();
const skipped = [];
for (const doc of docs) {
  if (typeof doc?.id !== 'string') fail('document without an id');
  if (byId.has(doc.id)) fail(`duplicate id ${doc.id}`);
  const rel = `${doc.id.split('.').join('/')}.json`;
  if (NAMESPACES.some((ns) => rel.startsWith(`${ns}/`))) byId.set(doc.id, { rel, doc });
  else skipped.push(doc.id);
}
if (byId.size === 0) fail('no lexicon documents found');

// Drop previously pinned files so a lexicon removed upstream disappears here too.
const removeJson = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removeJson(p);
      if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
    } else if (entry.name.endsWith('.json')) {
      fs.unlinkSync(p);
    }
  }
};
for (const ns of NAMESPACES) removeJson(path.join(outDir, ns));

const files = {};
const counts = {};
for (const id of [...byId.keys()].sort()) {
  const { rel, doc } = byId.get(id);
  const bytes = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
  const target = path.join(outDir, rel);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, bytes);
  files[rel] = crypto.createHash('sha256').update(bytes).digest('hex');
  const ns = id.split('.').slice(0, 2).join('.');
  counts[ns] = (counts[ns] ?? 0) + 1;
}

const lock = {
  package: pkgName,
  version,
  tarball: dist.tarball,
  integrity: dist.integrity,
  shasum: dist.shasum,
  source: 'dist/client/lexicons.js#schemaDict',
  namespaces: Object.fromEntries(Object.entries(counts).sort()),
  skipped: skipped.sort(),
  files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
};
fs.writeFileSync(path.join(outDir, 'lexicons.lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
console.error(`pin: wrote ${byId.size} lexicons from ${pkgName}@${version}; skipped ${skipped.join(', ') || 'none'}`);
