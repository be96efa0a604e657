// A small HTTP application worker in Node.js, core modules only. Under
// clusterd it serves the sockets passed from fd 3 (LISTEN_FDS), reports
// READY=1, WATCHDOG=1 and STATUS= when it has a notify fd (see sd-notify-fd)
// and talks to the manager in lines over CLUSTERD_IPC_FD. Under Node's
// cluster module or PM2 the same file listens on $PORT and uses process.send.
'use strict';
const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

const env = process.env;
const id = env.CLUSTERD_WORKER_ID || env.NODE_APP_INSTANCE || cluster.worker?.id || '?';
let served = 0;
let draining = false;

// sd_notify: one write() on the connected datagram socket is one message.
function notify(text) {
  const fd = Number(env.SD_NOTIFY_FD);
  if (!fd) return;
  try {
    fs.writeSync(fd, text);
  } catch {
    // EAGAIN: the manager is behind; the next heartbeat says it again
  }
}

function answer(req, res) {
  served++;
  const body = `hello from worker ${id}, pid ${process.pid}\n`;
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) };
  if (draining) headers.Connection = 'close'; // the client reconnects to another worker
  res.writeHead(200, headers);
  res.end(body);
}

function reply(line) {
  return line === 'ping' ? 'pong' : `got ${line}`;
}

// Lines to and from the manager: CLUSTERD_IPC_FD under clusterd,
// Node's own channel (process.send) under the cluster module or PM2.
function messages() {
  if (env.CLUSTERD_IPC_FD) {
    const channel = new net.Socket({ fd: Number(env.CLUSTERD_IPC_FD) });
    let pending = '';
    channel.setEncoding('utf8');
    channel.on('data', (chunk) => {
      pending += chunk;
      for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1))
        channel.write(reply(pending.slice(0, i)) + '\n');
    });
    channel.on('error', () => {}); // the manager went away: its signal follows
    channel.unref();
    channel.write(`worker ${id} says hello\n`);
  } else if (process.send) {
    process.on('message', (m) => typeof m === 'string' && process.send(reply(m)));
  }
}

// SIGTERM (clusterd, the cluster primary here) or SIGINT (PM2): stop
// accepting, finish what is in flight, then exit. net.Server's close and not
// http.Server's, which since Node 19 also cuts idle keep-alive connections
// at once, under a client that may be sending its next request on one.
function drain(servers) {
  if (draining) return;
  draining = true;
  notify('STOPPING=1');
  let open = servers.length;
  for (const server of servers)
    net.Server.prototype.close.call(server, () => --open === 0 && process.exit(0));
  // what is still idle after a second is really idle
  setTimeout(() => servers.forEach((s) => s.closeIdleConnections()), 1000).unref();
}

function main() {
  const fds = env.LISTEN_PID === String(process.pid) ? Number(env.LISTEN_FDS) : 0;
  const servers = [];
  let listening = 0;
  const ready = () => {
    if (++listening < servers.length) return;
    // the first WATCHDOG=1 turns hang detection on, from now on
    const usec = Number(env.WATCHDOG_USEC);
    notify(`READY=1\nSTATUS=serving${usec > 0 ? '\nWATCHDOG=1' : ''}`);
    if (usec > 0)
      setInterval(() => notify(`WATCHDOG=1\nSTATUS=served ${served} requests`), usec / 2000).unref();
  };
  for (let i = 0; i < Math.max(fds, 1); i++) servers.push(http.createServer(answer));
  if (fds > 0) servers.forEach((s, i) => s.listen({ fd: 3 + i }, ready));
  else servers[0].listen(Number(env.PORT) || 8080, env.HOST || '127.0.0.1', ready);
  messages();
  process.on('SIGTERM', () => drain(servers));
  process.on('SIGINT', () => drain(servers));
}

main();
