'use strict';
// Downloads a release asset into a file, checked against the SHA-256 that the tagged commit pins.
// The checksum comes from the action's own checkout, so the bytes may come from anywhere (a mirror, a proxy):
// what does not hash to it is refused. The server is still treated as hostile: https only, few redirects,
// a size cap and timeouts, and a file is either complete and verified or absent.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const path = require('path');
const tls = require('tls');

// A vault-login binary is about 4 MiB; anything far larger is not one.
const MAX_BYTES = 64 * 1024 * 1024;
// GitHub's asset URLs redirect once, to another host; Gitea's and Forgejo's serve the file or redirect once
// to their object storage.
const MAX_REDIRECTS = 5;
// A connection that stays silent this long, while connecting included, is dropped.
const IDLE_MS = 30 * 1000;
// The whole of one attempt, redirects included.
const ATTEMPT_MS = 3 * 60 * 1000;
// The signals a runner stops a step with.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
// Waits before the 2nd, 3rd and 4th attempts.
const BACKOFF_MS = [500, 2000, 5000];

class Failure extends Error {
  constructor(message, transient) {
    super(message);
    this.userFacing = true;
    this.transient = transient;
  }
}

// `url` for messages, without credentials a mirror's URL may carry.
function shown(url) {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

// A failed connection or request: retried, unless the server's certificate is not trusted, which no
// retry changes.
function networkFailure(url, error) {
  if (error.userFacing) return error;
  if (/CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(error.code || '')) {
    return new Failure(`${shown(url)}: ${error.message}: the server's certificate is not trusted ` +
      '(for a private CA, set NODE_EXTRA_CA_CERTS to its PEM file in the job\'s env)', false);
  }
  return new Failure(`${shown(url)}: ${error.message}`, true);
}

// Plain http is allowed to loopback hosts only: the tests serve assets from 127.0.0.1, and nothing
// on the machine's own loopback is reached through a network an attacker sits on.
function checkScheme(url) {
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return;
  throw new Failure(`${shown(url)}: release assets are fetched over https only (plain http to loopback hosts only)`, false);
}

// The proxy for `url` from HTTPS_PROXY/NO_PROXY (curl's and Go's convention), or null. Plain http, which only
// reaches loopback, is never proxied.
function proxyFor(url, env) {
  if (url.protocol !== 'https:') return null;
  const proxy = env.HTTPS_PROXY || env.https_proxy;
  if (!proxy) return null;
  const noProxy = (env.NO_PROXY || env.no_proxy || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const host = url.hostname.toLowerCase();
  const bypass = noProxy.some((entry) => {
    const name = entry.replace(/:\d+$/, '').replace(/^\*?\./, '');
    return entry === '*' || host === name || host.endsWith(`.${name}`);
  });
  if (bypass) return null;
  const parsed = new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
  if (parsed.protocol !== 'http:') {
    throw new Failure(`HTTPS_PROXY=${parsed.protocol}//...: only an http:// proxy (CONNECT tunnel) is supported`, false);
  }
  return parsed;
}

// Opens a CONNECT tunnel through `proxy` to the host of `url`, then TLS over it.
function tunnel(url, proxy, signal) {
  return new Promise((resolve, reject) => {
    const target = `${url.hostname}:${url.port || 443}`;
    const headers = { Host: target };
    if (proxy.username) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['Proxy-Authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: target, headers, signal });
    req.setTimeout(IDLE_MS, () => req.destroy(new Failure(`the proxy ${proxy.host} did not answer`, true)));
    req.on('error', (error) => reject(error.userFacing ? error : new Failure(`the proxy ${proxy.host}: ${error.message}`, true)));
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Failure(`the proxy ${proxy.host} refused CONNECT ${target} with ${res.statusCode}`, res.statusCode >= 500));
        return;
      }
      // SNI takes a name, never an address; the certificate is checked against `host` either way.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      resolve(tls.connect({ socket, host, servername: net.isIP(host) ? undefined : host }));
    });
    req.end();
  });
}

// One GET of `url`, following redirects; resolves to the 200 response.
async function get(url, env, signal, hops = 0) {
  checkScheme(url);
  const proxy = proxyFor(url, env);
  const socket = proxy ? await tunnel(url, proxy, signal) : null;
  const client = url.protocol === 'https:' ? https : http;
  const res = await new Promise((resolve, reject) => {
    const options = { headers: { 'User-Agent': 'vault-login-shim' }, signal };
    if (socket) options.createConnection = () => socket;
    const req = client.get(url, options, resolve);
    req.setTimeout(IDLE_MS, () => req.destroy(new Failure(`${shown(url)}: no answer for ${IDLE_MS / 1000} s`, true)));
    req.on('error', (error) => reject(networkFailure(url, error)));
  });
  const status = res.statusCode;
  if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
    res.resume();
    if (hops >= MAX_REDIRECTS) throw new Failure(`${shown(url)}: more than ${MAX_REDIRECTS} redirects`, false);
    return get(new URL(res.headers.location, url), env, signal, hops + 1);
  }
  if (status === 200) return res;
  res.resume();
  const fix = status === 404
    ? ': is the tag a release with its assets attached? For a mirror, set the `release-url` input to where the assets are'
    : '';
  throw new Failure(`the release asset at ${shown(url)} returned ${status}${fix}`, status >= 500 || status === 429);
}

// Streams the 200 response of `url` into `fd`, hashing as it goes; resolves to the hex SHA-256.
async function fetchInto(url, env, signal, fd) {
  const res = await get(url, env, signal);
  const declared = Number(res.headers['content-length']);
  if (declared > MAX_BYTES) {
    res.destroy();
    throw new Failure(`${shown(url)} is ${declared} bytes, over the ${MAX_BYTES} byte cap: not a vault-login binary`, false);
  }
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let size = 0;
    res.setTimeout(IDLE_MS, () => res.destroy(new Failure(`${shown(url)}: the download stalled`, true)));
    res.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BYTES) {
        reject(new Failure(`${shown(url)} sent more than the ${MAX_BYTES} byte cap: not a vault-login binary`, false));
        res.destroy();
        return;
      }
      hash.update(chunk);
      fs.writeSync(fd, chunk);
    });
    res.on('error', (error) => reject(networkFailure(url, error)));
    res.on('aborted', () => reject(new Failure(`${shown(url)}: the connection closed mid-download`, true)));
    res.on('end', () => {
      if (!res.complete || (declared >= 0 && size !== declared)) {
        reject(new Failure(`${shown(url)}: the download ended early (${size} bytes)`, true));
      } else {
        resolve(hash.digest('hex'));
      }
    });
  });
}

// One attempt under the overall deadline: a temp file beside `dest`, renamed onto it only when verified.
async function attempt(url, env, expected, dest) {
  const temp = path.join(path.dirname(dest), `.download-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const fd = fs.openSync(temp, 'wx', 0o600);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ATTEMPT_MS);
  // A step stopped mid-download leaves no partial file: remove it, then die of the signal as before.
  const onSignal = (signal) => {
    fs.rmSync(temp, { force: true });
    process.kill(process.pid, signal);
  };
  for (const signal of SIGNALS) process.once(signal, onSignal);
  try {
    const actual = await fetchInto(url, env, deadline.signal, fd);
    if (actual !== expected) {
      throw new Failure(`${shown(url)} does not match its checksum in dist/SHA256SUMS (expected ${expected}, got ${actual}): ` +
        'refusing it. Does `release-url` point at the assets of this same release?', false);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.chmodSync(temp, 0o755);
    fs.renameSync(temp, dest);
  } catch (error) {
    try { fs.closeSync(fd); } catch (_) { /* closed before the rename */ }
    fs.rmSync(temp, { force: true });
    if (deadline.signal.aborted) throw new Failure(`${shown(url)}: not done after ${ATTEMPT_MS / 1000} s`, true);
    throw error;
  } finally {
    clearTimeout(timer);
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  }
}

// Downloads `url` to `dest` (whose folder exists) if its SHA-256 is `expected`; retries transient failures
// (connection errors, 5xx, 429) with a growing wait, never a 4xx, an oversize body or a wrong checksum.
module.exports = async function download(url, env, expected, dest) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (_) {
    throw new Failure(`${url} is not a URL: check the \`release-url\` input or dist/RELEASE_URL`, false);
  }
  for (let n = 0; ; n += 1) {
    try {
      return await attempt(parsed, env, expected, dest);
    } catch (error) {
      if (!error.transient || n >= BACKOFF_MS.length) {
        const tries = n > 0 ? ` (after ${n + 1} attempts)` : '';
        error.message = `${error.message}${tries}`;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS[n]));
    }
  }
};
