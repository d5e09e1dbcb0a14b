#!/usr/bin/env node
// p2pchain-solc-wrapper: a `solc` command line built on npm `solc` (the official compiler
// compiled to WebAssembly). p2pchain copies this file into py-solc-x's install folder as
// `solc-v<version>`, with the two placeholders below replaced by absolute paths, so that
// py-solc-x, ape-solidity and brownie can compile without downloading a native binary.
//
// Supported: --version, --help, --standard-json (stdin or a file argument) and
// --combined-json with source files or `-` (stdin). Imports are read with the same rules as
// native solc: --base-path (default: the working directory), then every --include-path; files
// must lie inside the base path, an include path, an --allow-paths entry or the directory of a
// file named on the command line. As a last resort, relative names are also looked up in the
// working directory. Options that only tune native output (--pretty-json, --color...) are
// accepted and ignored.
'use strict';

const SOLC_MODULE = '__P2PCHAIN_SOLC_MODULE__';

const fs = require('fs');
const path = require('path');

// Options of native solc 0.8.x that take a value (as `--opt value` or `--opt=value`).
const VALUE_OPTIONS = new Set([
  '--base-path', '--include-path', '--allow-paths', '--output-dir', '-o', '--combined-json',
  '--evm-version', '--eof-version', '--revert-strings', '--debug-info', '--metadata-hash',
  '--optimize-runs', '--yul-optimizations', '--libraries', '--stop-after', '--json-indent',
  '--machine', '--yul-dialect',
]);
// Every other --model-checker-* option takes a value; these flags among them do not.
const MODEL_CHECKER_FLAGS = new Set([
  '--model-checker-show-unproved', '--model-checker-show-unsupported',
  '--model-checker-show-proved-safe', '--model-checker-div-mod-no-slacks',
  '--model-checker-print-query',
]);

// --combined-json outputs this wrapper produces, and where each comes from in standard JSON.
const COMBINED_OUTPUTS = {
  'abi': ['abi'],
  'ast': null, // per source, see below
  'bin': ['evm', 'bytecode', 'object'],
  'bin-runtime': ['evm', 'deployedBytecode', 'object'],
  'devdoc': ['devdoc'],
  'hashes': ['evm', 'methodIdentifiers'],
  'metadata': ['metadata'],
  'opcodes': ['evm', 'bytecode', 'opcodes'],
  'srcmap': ['evm', 'bytecode', 'sourceMap'],
  'srcmap-runtime': ['evm', 'deployedBytecode', 'sourceMap'],
  'storage-layout': ['storageLayout'],
  'userdoc': ['userdoc'],
};

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exitCode = 1;
}

function parseArgs(argv) {
  const opts = { flags: new Set(), values: {}, multi: { '--include-path': [], '--allow-paths': [] },
    files: [], remappings: [], stdin: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-') { opts.stdin = true; continue; }
    if (!arg.startsWith('-')) {
      if (arg.includes('=')) opts.remappings.push(arg); else opts.files.push(arg);
      continue;
    }
    let name = arg;
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { name = arg.slice(0, eq); value = arg.slice(eq + 1); }
    const takesValue = VALUE_OPTIONS.has(name) ||
      (name.startsWith('--model-checker-') && !MODEL_CHECKER_FLAGS.has(name));
    if (takesValue) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new Error(`option '${name}' needs a value`);
        value = argv[++i];
      }
      if (name in opts.multi) opts.multi[name].push(value); else opts.values[name] = value;
    } else {
      opts.flags.add(name);
    }
  }
  return opts;
}

function realOrResolved(p) {
  try { return fs.realpathSync(p); } catch (e) { return path.resolve(p); }
}

function isInside(file, dir) {
  if (dir === path.parse(dir).root) return true;
  return file === dir || file.startsWith(dir + path.sep);
}

// Builds the import callback: source unit name -> {contents} | {error}.
function makeReader(opts, cliDirs) {
  const cwd = process.cwd();
  const basePath = opts.values['--base-path'] ? path.resolve(cwd, opts.values['--base-path']) : cwd;
  const includePaths = opts.multi['--include-path'].map((p) => path.resolve(cwd, p));
  const allowPaths = [];
  for (const entry of opts.multi['--allow-paths']) {
    for (const p of entry.split(',')) if (p.trim()) allowPaths.push(path.resolve(cwd, p.trim()));
  }
  const allowed = [basePath, ...includePaths, ...allowPaths, ...cliDirs].map(realOrResolved);
  return function readFile(unitName) {
    const candidates = [];
    if (path.isAbsolute(unitName)) {
      candidates.push(unitName);
    } else {
      for (const dir of [basePath, ...includePaths, cwd]) {
        const full = path.resolve(dir, unitName);
        if (!candidates.includes(full)) candidates.push(full);
      }
    }
    let outside = null;
    for (const candidate of candidates) {
      let stat;
      try { stat = fs.statSync(candidate); } catch (e) { continue; }
      if (!stat.isFile()) continue;
      const real = realOrResolved(candidate);
      if (!allowed.some((dir) => isInside(real, dir))) { outside = candidate; continue; }
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    if (outside) {
      return { error: `File outside of allowed directories. The following are allowed: ${allowed.join(', ')}` };
    }
    return { error: `File not found. Searched the following locations: ${candidates.join(', ')}` };
  };
}

function loadSolc() {
  return require(SOLC_MODULE);
}

function printVersion() {
  const solc = loadSolc();
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
}

function printHelp() {
  process.stdout.write([
    'solc, the solidity compiler commandline interface (p2pchain wrapper around npm solc)',
    '',
    'Usage: solc [options] [input_file...]',
    '',
    'Supported options:',
    '  --version            Show version and exit.',
    '  --standard-json      Standard JSON input/output (stdin or file).',
    '  --base-path path     Root of the source tree.',
    '  --include-path path  Extra source tree roots (repeatable).',
    '  --allow-paths paths  Comma-separated directories imports may read.',
    '  --optimize --optimize-runs n --evm-version v --via-ir --metadata-hash h',
    `  --combined-json ${Object.keys(COMBINED_OUTPUTS).join(',')}`,
    '',
  ].join('\n'));
}

function readAllStdin() {
  try { return fs.readFileSync(0, 'utf8'); } catch (e) {
    if (e.code === 'EAGAIN' || e.code === 'EOF') return '';
    throw e;
  }
}

function standardJson(opts) {
  const input = opts.files.length > 0 ? fs.readFileSync(opts.files[0], 'utf8') : readAllStdin();
  const solc = loadSolc();
  const output = solc.compile(input, { import: makeReader(opts, []) });
  process.stdout.write(output.endsWith('\n') ? output : output + '\n');
}

// Native CLI naming of a source file: relative to the base path (or an include path) when
// inside it, otherwise the normalised absolute path.
function cliUnitName(file, opts) {
  const cwd = process.cwd();
  const full = path.resolve(cwd, file);
  const roots = [opts.values['--base-path'] ? path.resolve(cwd, opts.values['--base-path']) : cwd,
    ...opts.multi['--include-path'].map((p) => path.resolve(cwd, p))];
  for (const root of roots) {
    if (isInside(full, root) && full !== root) return path.relative(root, full).split(path.sep).join('/');
  }
  return full.split(path.sep).join('/');
}

function pick(obj, keys) {
  let cur = obj;
  for (const key of keys) {
    if (cur === undefined || cur === null) return undefined;
    cur = cur[key];
  }
  return cur;
}

function combinedJson(opts) {
  const requested = opts.values['--combined-json'].split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of requested) {
    if (!(name in COMBINED_OUTPUTS)) throw new Error(`Invalid option to --combined-json: ${name}`);
  }
  const sources = {};
  const cliDirs = [];
  for (const file of opts.files) {
    sources[cliUnitName(file, opts)] = { content: fs.readFileSync(file, 'utf8') };
    cliDirs.push(path.dirname(path.resolve(file)));
  }
  if (opts.stdin || opts.files.length === 0) sources['<stdin>'] = { content: readAllStdin() };

  const selection = new Set();
  for (const name of requested) {
    const where = COMBINED_OUTPUTS[name];
    if (where) selection.add(where.join('.'));
  }
  const settings = {
    outputSelection: { '*': { '*': [...selection], '': requested.includes('ast') ? ['ast'] : [] } },
    remappings: opts.remappings,
  };
  if (opts.flags.has('--optimize')) {
    settings.optimizer = { enabled: true,
      runs: opts.values['--optimize-runs'] ? Number(opts.values['--optimize-runs']) : 200 };
  }
  if (opts.values['--evm-version']) settings.evmVersion = opts.values['--evm-version'];
  if (opts.flags.has('--via-ir')) settings.viaIR = true;
  if (opts.values['--metadata-hash']) settings.metadata = { bytecodeHash: opts.values['--metadata-hash'] };
  if (opts.flags.has('--metadata-literal')) {
    settings.metadata = Object.assign(settings.metadata || {}, { useLiteralContent: true });
  }
  if (opts.values['--revert-strings']) settings.debug = { revertStrings: opts.values['--revert-strings'] };

  const solc = loadSolc();
  const output = JSON.parse(solc.compile(
    JSON.stringify({ language: 'Solidity', sources, settings }),
    { import: makeReader(opts, cliDirs) }));
  let failed = false;
  for (const err of output.errors || []) {
    process.stderr.write(`${err.formattedMessage || err.message}\n`);
    if (err.severity === 'error') failed = true;
  }
  if (failed) { process.exitCode = 1; return; }

  const result = { contracts: {}, sources: {}, version: solc.version() };
  for (const [unit, contracts] of Object.entries(output.contracts || {})) {
    for (const [name, data] of Object.entries(contracts)) {
      const entry = {};
      for (const key of requested) {
        const where = COMBINED_OUTPUTS[key];
        if (where) entry[key] = pick(data, where);
      }
      result.contracts[`${unit}:${name}`] = entry;
    }
  }
  for (const [unit, data] of Object.entries(output.sources || {})) {
    result.sources[unit] = requested.includes('ast') ? { AST: data.ast, id: data.id } : { id: data.id };
  }
  const text = JSON.stringify(result) + '\n';
  if (opts.values['--output-dir'] || opts.values['-o']) {
    const dir = opts.values['--output-dir'] || opts.values['-o'];
    const target = path.join(dir, 'combined.json');
    if (fs.existsSync(target) && !opts.flags.has('--overwrite')) {
      throw new Error(`Refusing to overwrite existing file "${target}" (use --overwrite to force).`);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(target, text);
  } else {
    process.stdout.write(text);
  }
}

function main(argv) {
  const opts = parseArgs(argv);
  if (opts.flags.has('--version')) return printVersion();
  if (opts.flags.has('--help')) return printHelp();
  if (opts.flags.has('--standard-json')) return standardJson(opts);
  if (opts.values['--combined-json'] !== undefined) return combinedJson(opts);
  return fail('this solc wrapper supports only --version, --help, --standard-json and ' +
    '--combined-json; install a native solc for other modes');
}

try {
  main(process.argv.slice(2));
} catch (e) {
  fail(e && e.message ? e.message : String(e));
}
