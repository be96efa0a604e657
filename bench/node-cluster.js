// The Node.js side of bench/run: the usual node:cluster setup, a primary that
// forks N workers sharing one port, each serving static files from one root.
//
//   node node-cluster.js --port PORT [--host 127.0.0.1] [--workers N] --root DIR
//
// Small files (up to 64 KiB) are read once when a worker starts and answered
// from memory, as a typical hand-written Node handler would; larger files are
// streamed from disk with fs.createReadStream on every request.
//
// Exits 1 when a worker cannot start listening (the port is taken, say) or
// workers keep dying, rather than forking replacements forever.
'use strict';

const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const SMALL_FILE_MAX = 64 * 1024;
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, workers: os.availableParallelism(), root: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined)
      throw new Error(`${key} needs a value`);
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--workers') opts.workers = Number(value);
    else if (key === '--root') opts.root = path.resolve(value);
    else throw new Error(`unknown option ${key}`);
  }
  if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535)
    throw new Error(`--port: expected 1-65535, got ${opts.port}`);
  if (!Number.isInteger(opts.workers) || opts.workers < 1)
    throw new Error(`--workers: expected a positive integer, got ${opts.workers}`);
  if (!opts.root)
    throw new Error('--root is required');
  return opts;
}

function contentType(file) {
  return TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
}

// Reads every small regular file beneath root into memory, keyed by URL path.
function loadSmallFiles(root) {
  const cache = new Map();
  const walk = (dir, prefix) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const urlPath = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(full, urlPath);
      } else if (entry.isFile() && fs.statSync(full).size <= SMALL_FILE_MAX) {
        const body = fs.readFileSync(full);
        cache.set(urlPath, { body, type: contentType(full) });
      }
    }
  };
  walk(root, '');
  return cache;
}

// Maps a request URL to a file beneath root, or null when it escapes root.
function resolvePath(root, url) {
  let urlPath = url.split('?', 1)[0];
  try {
    urlPath = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (urlPath.endsWith('/'))
    urlPath += 'index.html';
  const full = path.join(root, path.normalize(urlPath));
  if (full !== root && !full.startsWith(root + path.sep))
    return null;
  return { urlPath: path.posix.normalize(urlPath), full };
}

function sendText(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function runWorker(opts) {
  const cache = loadSmallFiles(opts.root);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendText(res, 405, 'method not allowed\n');
    if (req.url === '/healthz')
      return sendText(res, 200, 'ok\n');
    const target = resolvePath(opts.root, req.url);
    if (!target)
      return sendText(res, 404, 'not found\n');
    const hit = cache.get(target.urlPath);
    if (hit) {
      res.writeHead(200, { 'Content-Type': hit.type, 'Content-Length': hit.body.length });
      return res.end(req.method === 'HEAD' ? undefined : hit.body);
    }
    fs.stat(target.full, (err, st) => {
      if (err || !st.isFile())
        return sendText(res, 404, 'not found\n');
      res.writeHead(200, { 'Content-Type': contentType(target.full), 'Content-Length': st.size });
      if (req.method === 'HEAD')
        return res.end();
      const stream = fs.createReadStream(target.full);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  });
  // Node closes idle keep-alive connections after 5 s by default; nginx keeps
  // them 75 s. Match nginx so the idle-connection scenario loads every server.
  server.keepAliveTimeout = 75 * 1000;
  server.headersTimeout = 76 * 1000;
  // A worker that cannot listen tells the primary why, so the primary can give
  // up instead of replacing it with another that fails the same way.
  const onListenError = (err) => {
    process.send({ cmd: 'listen-failed', message: err.message }, () => process.exit(3));
  };
  server.once('error', onListenError);
  // once listening, a server error is not a failure to listen
  server.once('listening', () => server.off('error', onListenError));
  server.listen(opts.port, opts.host);
}

// A worker that dies before it listens is not replaced: the cause (a port in
// use, a missing root) would kill the next one too. One that dies later is,
// unless deaths come this often, which is a crash loop.
const CRASH_WINDOW_MS = 10 * 1000;
const CRASH_MAX = 5;

function runPrimary(opts) {
  let stopping = false;
  const listening = new Set();
  const deaths = [];

  const stop = (code) => {
    stopping = true;
    // the loop may empty before the timer below fires; exit with code then too
    process.exitCode = code;
    for (const worker of Object.values(cluster.workers))
      worker.process.kill('SIGTERM');
    setTimeout(() => process.exit(code), 200).unref();
  };
  const giveUp = (why) => {
    if (stopping)
      return;
    console.error(`node-cluster: ${why}; stopping`);
    stop(1);
  };

  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('message', (worker, msg) => {
    if (msg && msg.cmd === 'listen-failed')
      giveUp(`worker ${worker.process.pid} cannot listen on ${opts.host}:${opts.port}: ${msg.message}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping)
      return;
    const how = signal || `status ${code}`;
    if (!listening.delete(worker.id))
      return giveUp(`worker ${worker.process.pid} exited (${how}) before it listened`);
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && now - deaths[0] > CRASH_WINDOW_MS)
      deaths.shift();
    if (deaths.length >= CRASH_MAX)
      return giveUp(`${deaths.length} workers exited within ${CRASH_WINDOW_MS / 1000} s, the last (${how})`);
    console.error(`node-cluster: worker ${worker.process.pid} exited (${how}), forking another`);
    cluster.fork();
  });
  for (let i = 0; i < opts.workers; i++)
    cluster.fork();
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`node-cluster: ${err.message}`);
  process.exit(2);
}
if (cluster.isPrimary)
  runPrimary(opts);
else
  runWorker(opts);
