'use strict';
// Runs the prebuilt vault-login binary for this runner and passes its exit code through.
// Plain CommonJS with no dependencies: act-based runners (Gitea, Forgejo) run whatever `node` the job
// image has, which may be as old as Node 16.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

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

// The binary to run. In a job (GITHUB_ACTIONS=true) only the release binary that matches dist/SHA256SUMS:
// any earlier step can export VAULT_LOGIN_BIN, and the binary run here receives the job's ID-token request
// credentials and, in the post step, the saved Vault token. Outside a job, VAULT_LOGIN_BIN picks a local build.
function binary(env) {
  if (env.VAULT_LOGIN_BIN && env.GITHUB_ACTIONS !== 'true') return { file: env.VAULT_LOGIN_BIN, verify: false };
  const arch = ARCHES[process.arch];
  if (process.platform !== 'linux' || !arch) {
    fail(`vault-login ships binaries for linux x64 and arm64 only; this runner is ${process.platform} ${process.arch}`);
  }
  return { file: path.join(DIST, `vault-login-linux-${arch}`), verify: true };
}

// Refuses a binary whose SHA-256 is not the one recorded in dist/SHA256SUMS at release time.
function verify(file) {
  const name = path.basename(file);
  if (!fs.existsSync(file)) {
    fail(`${name} is missing from dist/: use a release tag such as arcodange/vault-login@v1 (branches carry no binaries)`);
  }
  const sumsFile = path.join(DIST, 'SHA256SUMS');
  if (!fs.existsSync(sumsFile)) fail('dist/SHA256SUMS is missing: use a release tag such as arcodange/vault-login@v1');
  const line = fs.readFileSync(sumsFile, 'utf8').split('\n').find((l) => l.trim().endsWith(` ${name}`) || l.trim().endsWith(`*${name}`));
  if (!line) fail(`dist/SHA256SUMS has no checksum for ${name}`);
  const expected = line.trim().split(/\s+/)[0].toLowerCase();
  const actual = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (actual !== expected) {
    fail(`${name} does not match its checksum in dist/SHA256SUMS (expected ${expected}, got ${actual}): refusing to run it`);
  }
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
  let child;
  try {
    const bin = binary(process.env);
    if (bin.verify && process.env.VAULT_LOGIN_BIN) {
      command('warning', 'VAULT_LOGIN_BIN is ignored in a job: only the checksum-verified binary of dist/ runs');
    }
    if (bin.verify) verify(bin.file);
    child = spawn(bin.file, args, { stdio: 'inherit' });
    child.on('error', (error) => finish(userFacing(`cannot run ${bin.file}: ${error.message}`)));
  } catch (error) {
    finish(error);
    return;
  }
  for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
  child.on('exit', (status, signal) => {
    if (signal) return finish(userFacing(`vault-login was killed by ${signal}`));
    // The post step must never fail the job: the token's TTL still bounds what was not revoked.
    if (lenient && status !== 0) return finish(userFacing(`vault-login exited with code ${status}`));
    finish(null, status);
  });
};
