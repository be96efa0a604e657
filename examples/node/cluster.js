// The same app under Node's own cluster module, for comparison with
// clusterd: a primary forks WORKERS copies of app.js (default: one per CPU),
// which share $PORT through it, replaces one that dies, and on SIGHUP rolls
// through them: a new worker first, the old one stopped once the new listens.
'use strict';
const cluster = require('node:cluster');
const os = require('node:os');
const path = require('node:path');

const wanted = Number(process.env.WORKERS) || os.availableParallelism();
let stopping = false;

cluster.setupPrimary({ exec: path.join(__dirname, 'app.js') });

function start() {
  const worker = cluster.fork();
  worker.on('message', (m) => console.log(`worker ${worker.id} pid ${worker.process.pid}: ${m}`));
  return worker;
}

// SIGTERM and not worker.disconnect(): disconnect closes the worker's
// servers with http.Server.close(), which cuts idle keep-alive connections
// at once; app.js drains on SIGTERM without that race.
function retire(worker) {
  worker.retired = true;
  worker.process.kill('SIGTERM');
}

cluster.on('exit', (worker, code, signal) => {
  if (worker.retired || stopping) return;
  console.log(`worker ${worker.id} pid ${worker.process.pid} died (${signal || code}), replacing it`);
  start();
});

async function reload() {
  for (const old of Object.values(cluster.workers).filter((w) => !w.retired)) {
    const fresh = start();
    await new Promise((resolve) => fresh.once('listening', resolve));
    retire(old);
  }
  console.log('reload finished');
}

let rolling = Promise.resolve();
process.on('SIGHUP', () => (rolling = rolling.then(reload)));
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    stopping = true;
    Object.values(cluster.workers).forEach(retire);
    cluster.on('exit', () => Object.keys(cluster.workers).length === 0 && process.exit(0));
  });
for (let i = 0; i < wanted; i++) start();
