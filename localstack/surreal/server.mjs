// Serves the embedded SurrealDB engine of @surrealdb/node as the standard
// SurrealDB WebSocket RPC endpoint (ws://HOST:PORT/rpc, subprotocol "cbor"),
// so that surrealdb.go talks to it exactly as to a real server.
//
// The engine takes one CBOR request and returns the bare CBOR result, ignores
// the request id and shares one default session across the whole process.
// This bridge therefore gives every WebSocket connection its own engine
// session, echoes ids, wraps results as {id, result} / {id, error}, and routes
// live-query notifications to the connection that owns their session. CBOR is
// edited at byte level: parameters and results are never decoded and
// re-encoded, so every SurrealDB tag passes through untouched.
//
// Usage: node server.mjs --bind 127.0.0.1:8000 --path surrealkv://data
//        [--user root --pass root]
// Prints one JSON line {"ready":true,...} on stdout once it accepts connections.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { WebSocketServer } from "ws";

const require = createRequire(import.meta.url);
// The package exports only its JS wrapper; the native engine is loaded from its dist/ by path.
const native = require(fileURLToPath(new URL(`./node_modules/@surrealdb/node/dist/surrealdb-node.${nativeSuffix()}.node`, import.meta.url)));

function nativeSuffix() {
  const { platform, arch } = process;
  if (platform === "linux") {
    const musl = !process.report?.getReport()?.header?.glibcVersionRuntime;
    return `linux-${arch}-${musl ? "musl" : "gnu"}`;
  }
  if (platform === "darwin") return `darwin-${arch}`;
  if (platform === "win32") return `win32-${arch}-msvc`;
  throw new Error(`unsupported platform ${platform}-${arch}`);
}

function parseArgs(argv) {
  const opts = { bind: "127.0.0.1:8000", path: "mem://", user: "root", pass: "root" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in opts) || i + 1 >= argv.length) {
      throw new Error(`usage: server.mjs [--bind host:port] [--path url] [--user u] [--pass p]; bad argument ${argv[i]}`);
    }
    opts[key] = argv[i + 1];
  }
  return opts;
}

// ---- minimal CBOR: item spans, a few encoders ------------------------------

// headerArg reads the argument of the item header at off.
function headerArg(buf, off) {
  const ai = buf[off] & 0x1f;
  if (ai < 24) return { value: ai, next: off + 1 };
  if (ai === 24) return { value: buf[off + 1], next: off + 2 };
  if (ai === 25) return { value: buf.readUInt16BE(off + 1), next: off + 3 };
  if (ai === 26) return { value: buf.readUInt32BE(off + 1), next: off + 5 };
  if (ai === 27) return { value: Number(buf.readBigUInt64BE(off + 1)), next: off + 9 };
  if (ai === 31) return { value: -1, next: off + 1 };
  throw new Error(`malformed CBOR header at ${off}`);
}

// itemEnd returns the offset just past the CBOR item that starts at off.
function itemEnd(buf, off) {
  if (off >= buf.length) throw new Error("truncated CBOR");
  const major = buf[off] >> 5;
  const { value, next } = headerArg(buf, off);
  switch (major) {
    case 0: case 1: case 7:
      return next;
    case 2: case 3:
      if (value >= 0) return next + value;
      return skipUntilBreak(buf, next);
    case 4: case 5: {
      const per = major === 5 ? 2 : 1;
      if (value < 0) return skipUntilBreak(buf, next);
      let pos = next;
      for (let i = 0; i < value * per; i++) pos = itemEnd(buf, pos);
      return pos;
    }
    case 6:
      return itemEnd(buf, next);
  }
  throw new Error("unreachable CBOR major type");
}

function skipUntilBreak(buf, pos) {
  while (buf[pos] !== 0xff) pos = itemEnd(buf, pos);
  return pos + 1;
}

// mapEntries returns [keyString, valueStart, valueEnd] for a definite map with text keys.
function mapEntries(buf) {
  if (buf[0] >> 5 !== 5) throw new Error("request is not a CBOR map");
  const { value: n, next } = headerArg(buf, 0);
  if (n < 0) throw new Error("indefinite-length request maps are not supported");
  const entries = [];
  let pos = next;
  for (let i = 0; i < n; i++) {
    const keyEnd = itemEnd(buf, pos);
    const key = buf[pos] >> 5 === 3 ? textOf(buf, pos) : null;
    const valEnd = itemEnd(buf, keyEnd);
    entries.push([key, keyEnd, valEnd]);
    pos = valEnd;
  }
  return entries;
}

function textOf(buf, off) {
  const { value, next } = headerArg(buf, off);
  return buf.toString("utf8", next, next + value);
}

function header(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(n, 1); return b; }
  const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(n, 1); return b;
}

const text = (s) => { const b = Buffer.from(s, "utf8"); return Buffer.concat([header(3, b.length), b]); };
const int = (n) => (n >= 0 ? header(0, n) : header(1, -1 - n));
const map = (pairs) => Buffer.concat([header(5, pairs.length), ...pairs.flatMap(([k, v]) => [text(k), v])]);
const array = (items) => Buffer.concat([header(4, items.length), ...items]);

// uuidItem encodes a UUID string as SurrealDB's binary UUID (tag 37).
function uuidItem(uuid) {
  const bytes = Buffer.from(uuid.replace(/-/g, ""), "hex");
  return Buffer.concat([Buffer.from([0xd8, 37]), header(2, 16), bytes]);
}

// uuidKey normalises a UUID item (tag 37 bytes or tag 9 text) to lowercase hex.
function uuidKey(buf) {
  let pos = 0;
  if (buf[0] >> 5 === 6) pos = headerArg(buf, 0).next;
  const major = buf[pos] >> 5;
  const { value, next } = headerArg(buf, pos);
  if (major === 2) return buf.toString("hex", next, next + value);
  if (major === 3) return buf.toString("utf8", next, next + value).replace(/-/g, "").toLowerCase();
  return null;
}

function errorItem(code, message) {
  return map([["code", int(code)], ["message", text(message)]]);
}

const ERROR_PREFIX = Buffer.concat([Buffer.from([0xa1]), text("error")]);

// ---- server -----------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
const engine = await native.SurrealNodeEngine.connect(opts.path, {
  capabilities: { live_query_notifications: true, functions: true, scripting: false, guest_access: true },
});

// inFlight holds the engine calls not yet answered: shutdown waits for them,
// since the engine panics (Option::unwrap on None) when a call runs after free.
const inFlight = new Set();
let stopping = false;

function execute(request) {
  if (stopping) return Promise.reject(new Error("the server is shutting down"));
  const p = engine.execute(request);
  inFlight.add(p);
  const done = () => inFlight.delete(p);
  p.then(done, done);
  return p;
}

async function call(method, params, session) {
  const pairs = [["id", int(0)], ["method", text(method)]];
  if (params) pairs.push(["params", array(params)]);
  if (session) pairs.push(["session", uuidItem(session)]);
  const res = Buffer.from(await execute(map(pairs)));
  if (res.subarray(0, ERROR_PREFIX.length).equals(ERROR_PREFIX)) {
    throw new Error(`engine ${method} failed: ${res.toString("utf8").replace(/[^\x20-\x7e]/g, " ")}`);
  }
  return res;
}

// The engine has no root user; define one so that signin behaves as on a server.
{
  const setup = randomUUID();
  await call("attach", null, setup);
  const pw = opts.pass.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
  const user = opts.user.replace(/[^A-Za-z0-9_]/g, "");
  await call("query", [text(`DEFINE USER IF NOT EXISTS ${user} ON ROOT PASSWORD '${pw}' ROLES OWNER`)], setup);
  await call("detach", null, setup);
}

const owners = new Map(); // session hex -> connection
const connections = new Set(); // open connections, closed in order on shutdown

class Connection {
  constructor(ws) {
    this.ws = ws;
    this.sessions = new Set();
    this.main = null;
  }

  async open() {
    const id = randomUUID();
    await call("attach", null, id);
    this.main = uuidKey(uuidItem(id));
    this.mainItem = uuidItem(id);
    this.own(this.main);
  }

  own(key) { this.sessions.add(key); owners.set(key, this); }

  release(key) { this.sessions.delete(key); owners.delete(key); }

  send(buf) { if (this.ws.readyState === 1) this.ws.send(buf); }

  async handle(buf) {
    let idItem = Buffer.from([0xf6]); // null when the request has no usable id
    try {
      const entries = mapEntries(buf);
      let method = "", sessionKey = null, hasSession = false;
      for (const [key, s, e] of entries) {
        if (key === "id") idItem = buf.subarray(s, e);
        else if (key === "method" && buf[s] >> 5 === 3) method = textOf(buf, s);
        else if (key === "session") { hasSession = true; sessionKey = uuidKey(buf.subarray(s, e)); }
      }
      if (hasSession && method !== "attach" && !this.sessions.has(sessionKey)) {
        this.reply(idItem, "error", errorItem(-32000, "Session not found"));
        return;
      }
      let request = buf;
      if (!hasSession) {
        request = Buffer.concat([header(5, entries.length + 1), buf.subarray(headerArg(buf, 0).next), text("session"), this.mainItem]);
      }
      const result = Buffer.from(await execute(request));
      if (method === "attach" && hasSession) this.own(sessionKey);
      if (method === "detach" && hasSession) this.release(sessionKey);
      if (result.subarray(0, ERROR_PREFIX.length).equals(ERROR_PREFIX)) {
        this.reply(idItem, "error", result.subarray(ERROR_PREFIX.length));
      } else {
        this.reply(idItem, "result", result);
      }
    } catch (err) {
      this.reply(idItem, "error", errorItem(-32600, `Invalid request: ${err.message}`));
    }
  }

  reply(idItem, kind, value) {
    this.send(Buffer.concat([header(5, 2), text("id"), idItem, text(kind), value]));
  }

  // close detaches the connection's sessions, once however often it is called.
  close() {
    this.closing ??= (async () => {
      connections.delete(this);
      for (const key of [...this.sessions]) {
        this.release(key);
        try { await call("detach", null, hexToUuid(key)); } catch { /* already gone */ }
      }
    })();
    return this.closing;
  }
}

function hexToUuid(h) {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Route live-query notifications to the connection that owns their session.
(async () => {
  const receiver = await engine.notifications();
  for (;;) {
    const note = await receiver.recv();
    if (note == null) return;
    const buf = Buffer.from(note);
    try {
      let action = "", sessionKey = null;
      for (const [key, s, e] of mapEntries(buf)) {
        if (key === "action" && buf[s] >> 5 === 3) action = textOf(buf, s);
        else if (key === "session") sessionKey = uuidKey(buf.subarray(s, e));
      }
      // KILLED notifications carry no session and precede the kill reply; forwarding
      // them makes surrealdb.go panic, so they are dropped.
      if (action === "KILLED" || !sessionKey) continue;
      owners.get(sessionKey)?.send(Buffer.concat([header(5, 1), text("result"), buf]));
    } catch (err) {
      console.error(JSON.stringify({ level: "WARN", msg: "bad notification", err: err.message }));
    }
  }
})();

const [host, port] = opts.bind.split(/:(?=[^:]*$)/);
const httpServer = http.createServer((req, res) => {
  if (req.url === "/health" || req.url === "/status") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("OK");
    return;
  }
  if (req.url === "/version") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`surrealdb-${native.SurrealNodeEngine.version?.() ?? "embedded"}`);
    return;
  }
  res.writeHead(404);
  res.end();
});

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: 64 << 20,
  handleProtocols: (protocols) => (protocols.has("cbor") ? "cbor" : false),
});

httpServer.on("upgrade", (req, socket, head) => {
  if (!req.url.startsWith("/rpc")) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});

wss.on("connection", async (ws) => {
  const conn = new Connection(ws);
  connections.add(conn);
  const pending = [];
  let ready = false;
  ws.on("message", (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!isBinary) {
      conn.reply(Buffer.from([0xf6]), "error", errorItem(-32700, "this server speaks CBOR only"));
      return;
    }
    if (ready) conn.handle(buf); else pending.push(buf);
  });
  ws.on("close", () => { conn.close(); });
  try {
    await conn.open();
  } catch (err) {
    console.error(JSON.stringify({ level: "ERROR", msg: "attach failed", err: err.message }));
    ws.close(1011, "session attach failed");
    return;
  }
  ready = true;
  for (const buf of pending.splice(0)) conn.handle(buf);
});

httpServer.listen(Number(port), host, () => {
  const addr = httpServer.address();
  console.log(JSON.stringify({ ready: true, url: `ws://${addr.address}:${addr.port}/rpc`, path: opts.path }));
});

// Shutdown in order: stop accepting, detach every connection's sessions,
// let the engine calls under way finish, and only then free the engine.
const stop = async () => {
  httpServer.close();
  wss.clients.forEach((ws) => ws.terminate());
  await Promise.allSettled([...connections].map((c) => c.close()));
  stopping = true;
  await Promise.allSettled([...inFlight]);
  try { await engine.free?.(); } catch { /* closing anyway */ }
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
