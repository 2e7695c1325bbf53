/**
 * Builds dist/: the connector bundled into one ES module (plus a lazily loaded chunk for the JWT
 * library), with every dependency inside, and dist/THIRD_PARTY_LICENSES.txt with the licence of each
 * package the bundle contains.
 *
 * Why a bundle: every command starts a fresh Node process, and resolving and loading ~300 module
 * files (got, winston, ajv and their dependencies) cost ~0.25 s of CPU per start — about 40 % of the
 * connector's fixed cost (bench/README.md). One file loads in a fraction of that, and the image needs
 * no node_modules at run time.
 *
 * Type checking is `npm run typecheck` (tsc); esbuild only strips types.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * @sindresorhus/is (a got dependency) builds two Intl.ListFormat objects when it loads, for the text
 * of a type error that the connector's calls never raise. The first Intl object of a process loads
 * ICU's locale data: ~20 ms of CPU on every start of every command. This plugin makes the two
 * formatters build on first use instead, and fails the build if the lines change (a new version),
 * rather than drop the saving without a word.
 */
const lazyListFormat = {
  name: 'lazy-list-format',
  setup(b) {
    b.onLoad({ filter: /[\\/]@sindresorhus[\\/]is[\\/]distribution[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager =
        /^const (andFormatter|orFormatter) = new Intl\.ListFormat\(('en', \{ style: 'long', type: '(?:conjunction|disjunction)' \})\);$/gm;
      const patched = source.replace(
        eager,
        (_, name, options) =>
          `const ${name} = { format: (list) => new Intl.ListFormat(${options}).format(list) };`,
      );
      if ((source.match(eager) ?? []).length !== 2) {
        throw new Error(`${args.path}: the two Intl.ListFormat lines to defer were not found`);
      }
      return { contents: patched, loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: ['connector/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies (winston, bottleneck) call require() for Node's built-ins; an ES module
  // has no require of its own, so the bundle makes one.
  // jsonc-parser's `main` is a UMD build whose factory require()s its own files at run time, which a
  // bundle cannot follow; its ES build (the package's `module` entry) bundles like any other module.
  plugins: [lazyListFormat],
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js', 'http2-wrapper': './scripts/no-http2.mjs' },
  // Whitespace and syntax only: names stay, so a stack trace still reads; less source to load.
  minifyWhitespace: true,
  minifySyntax: true,
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});

// Bundling copies the dependencies' code, so their licences travel with it.
// Keyed on the package's own folder, nested ones included (winston/node_modules/is-stream is another
// version than node_modules/is-stream, and logform/node_modules/@colors/colors exists only nested).
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(match[1]);
}
const byName = (dir) => dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
const notices = [...packages]
  .sort((a, b) => byName(a).localeCompare(byName(b)))
  .map((dir) => {
    const name = byName(dir);
    const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${license ?? 'see package'}`;
    return `${name} ${version}\n${'-'.repeat(name.length + version.length + 1)}\n${text}\n`;
  });
writeFileSync(
  'dist/THIRD_PARTY_LICENSES.txt',
  `Packages bundled into dist/, with their licences.\n\n${[...new Set(notices)].join('\n')}`,
);
