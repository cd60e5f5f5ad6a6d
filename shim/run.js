'use strict';
// Runs the prebuilt vault-login binary for this runner and passes its exit code through; in a job, fetches
// the release asset first when the action's checkout carries only its checksum (shim/download.js).
// Plain CommonJS with no dependencies: act-based runners (Gitea, Forgejo) run whatever `node` the job
// image has, which may be as old as Node 16.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const download = require('./download');

const DIST = path.join(__dirname, '..', 'dist');
const ARCHES = { x64: 'x64', arm64: 'arm64' };

function userFacing(message) {
  const error = new Error(message);
  error.userFacing = true;
  return error;
}

function fail(message) {
  throw userFacing(message);
}

// The SHA-256 that dist/SHA256SUMS, committed on the release tag, records for `name`.
function checksum(name) {
  const sumsFile = path.join(DIST, 'SHA256SUMS');
  if (!fs.existsSync(sumsFile)) fail('dist/SHA256SUMS is missing: use a release tag such as arcodange/vault-login@v1');
  const line = fs.readFileSync(sumsFile, 'utf8').split('\n').find((l) => l.trim().endsWith(` ${name}`) || l.trim().endsWith(`*${name}`));
  if (!line) fail(`dist/SHA256SUMS has no checksum for ${name}`);
  const sum = line.trim().split(/\s+/)[0].toLowerCase();
  // It names the cache folder too: nothing but hex may reach a path.
  if (!/^[0-9a-f]{64}$/.test(sum)) fail(`dist/SHA256SUMS: the checksum for ${name} is not a SHA-256`);
  return sum;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// Where the release's assets are: the `release-url` input (a mirror), else dist/RELEASE_URL of the tag.
// Runners pass the input as INPUT_RELEASE-URL: upper-cased, the dash kept (docs/runner-facts.md § 8). The post
// step, which some runners give no INPUT_* (§ 4), finds the main step's download in the cache instead.
function releaseUrl(env) {
  const input = (env['INPUT_RELEASE-URL'] || '').trim();
  const file = path.join(DIST, 'RELEASE_URL');
  const base = input || (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n')[0].trim() : '');
  if (!base) {
    fail('dist/RELEASE_URL is missing and the `release-url` input is empty: use a release tag such as ' +
      'arcodange/vault-login@v1, or set `release-url` to where the release\'s assets are');
  }
  return base.endsWith('/') ? base : `${base}/`;
}

// Folders a downloaded binary may be kept in, per checksum: the runner's tool cache (kept across jobs by
// act in host mode and by self-hosted runners), else the job's temp folder. Never a folder shared with
// other users such as /tmp, where another account could swap the file between its check and its run.
function cacheFolders(env, expected) {
  const roots = [env.RUNNER_TOOL_CACHE, env.RUNNER_TEMP].filter(Boolean);
  if (!roots.length) fail('neither RUNNER_TOOL_CACHE nor RUNNER_TEMP is set: no folder to download the binary into');
  return roots.map((root) => path.join(root, 'vault-login', expected));
}

// The binary to run. In a job (GITHUB_ACTIONS=true) only one whose SHA-256 is the one dist/SHA256SUMS records:
// any earlier step can export VAULT_LOGIN_BIN, and the binary run here receives the job's ID-token request
// credentials and, in the post step, the saved Vault token. Outside a job, VAULT_LOGIN_BIN picks a local build.
// In a job, in order: dist/ beside the action (a fork or mirror that vendors the binaries, or a release made
// before they became assets), a cached download, a new download of the release asset.
async function binary(env) {
  if (env.VAULT_LOGIN_BIN && env.GITHUB_ACTIONS !== 'true') return env.VAULT_LOGIN_BIN;
  if (env.VAULT_LOGIN_BIN) {
    command('warning', 'VAULT_LOGIN_BIN is ignored in a job: only the checksum-verified release binary runs');
  }
  const arch = ARCHES[process.arch];
  if (process.platform !== 'linux' || !arch) {
    fail(`vault-login ships binaries for linux x64 and arm64 only; this runner is ${process.platform} ${process.arch}`);
  }
  const name = `vault-login-linux-${arch}`;
  const expected = checksum(name);
  const vendored = path.join(DIST, name);
  if (fs.existsSync(vendored)) {
    const actual = sha256(vendored);
    if (actual !== expected) {
      fail(`${name} does not match its checksum in dist/SHA256SUMS (expected ${expected}, got ${actual}): refusing to run it`);
    }
    return vendored;
  }
  const folders = cacheFolders(env, expected);
  for (const folder of folders) {
    const cached = path.join(folder, 'vault-login');
    if (fs.existsSync(cached) && sha256(cached) === expected) return cached;
  }
  const url = `${releaseUrl(env)}${name}`;
  const folder = folders.find((f) => {
    try {
      fs.mkdirSync(f, { recursive: true });
      fs.accessSync(f, fs.constants.W_OK);
      return true;
    } catch (_) {
      return false;
    }
  });
  if (!folder) fail(`no writable folder to download ${name} into (tried ${folders.join(', ')})`);
  const dest = path.join(folder, 'vault-login');
  await download(url, env, expected, dest);
  return dest;
}

// A workflow command, its message escaped so that it stays one command.
function command(kind, message) {
  process.stdout.write(`::${kind}::vault-login: ${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
}

// The signals a runner sends to stop a step. The shim passes them on and waits: the binary then writes
// nothing more and revokes what it holds. Without this the binary would run on, reparented, after the
// shim was gone.
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// Runs the binary with `args`; `lenient` (the post step) turns a shim failure into a warning.
module.exports = function run(args, lenient) {
  const finish = (error, status) => {
    if (!error) {
      process.exitCode = status;
      return;
    }
    const message = error.userFacing ? error.message : String(error && error.stack || error);
    command(lenient ? 'warning' : 'error', message);
    process.exitCode = lenient ? 0 : 1;
  };
  binary(process.env).then((file) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    child.on('error', (error) => finish(userFacing(`cannot run ${file}: ${error.message}`)));
    for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
    child.on('exit', (status, signal) => {
      if (signal) return finish(userFacing(`vault-login was killed by ${signal}`));
      // The post step must never fail the job: the token's TTL still bounds what was not revoked.
      if (lenient && status !== 0) return finish(userFacing(`vault-login exited with code ${status}`));
      finish(null, status);
    });
  }, finish);
};
