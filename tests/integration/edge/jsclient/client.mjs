// Drives the official socket.io-client: subscribes to one room and prints one JSON line per
// connect, ack, event, connect_error and disconnect, then a final "exit" line.
//
// usage: node client.mjs <url> <token|-> <room> <since|-> <count> <timeout-ms> [websocket|polling]
// exit codes: 0 got <count> events (count 0: got the ack), 1 timed out, 2 connection refused,
// 3 disconnected by the server, 4 subscribe answered with {error}, 64 bad arguments.
// socket.io-client is resolved through NODE_PATH, which ESM imports ignore: hence require().
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const EXIT = {
  done: 0,
  timeout: 1,
  refused: 2,
  serverDisconnect: 3,
  refusedSubscribe: 4,
  usage: 64,
};
const TRANSPORTS = { websocket: ["websocket"], polling: ["polling"] };

function say(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

let finished = false;
function finish(code, reason, socket) {
  if (finished) return;
  finished = true;
  socket?.disconnect();
  process.stdout.write(JSON.stringify({ type: "exit", code, reason }) + "\n", () =>
    process.exit(code),
  );
}

function usage(why) {
  process.stderr.write(`client.mjs: ${why}\n`);
  finish(EXIT.usage, why, null);
}

function integer(text, name) {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    usage(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    return null;
  }
  return value;
}

function main(argv) {
  if (argv.length < 6 || argv.length > 7) {
    return usage(`expected 6 or 7 arguments, got ${argv.length}`);
  }
  const [url, token, room, sinceText, countText, timeoutText, transport = "websocket"] = argv;
  const since = sinceText === "-" ? null : integer(sinceText, "since");
  const count = integer(countText, "count");
  const timeoutMs = integer(timeoutText, "timeout-ms");
  if (finished) return;
  if (!(transport in TRANSPORTS)) {
    return usage(`transport must be websocket or polling, got ${JSON.stringify(transport)}`);
  }

  const socket = io(url, {
    transports: TRANSPORTS[transport],
    auth: token === "-" ? {} : { token },
    reconnectionDelay: 100,
    reconnectionDelayMax: 1000,
  });
  let received = 0;
  let lastSeq = since;
  // Not unref'd: the pending timer keeps node alive until finish() exits explicitly.
  setTimeout(() => {
    say({ type: "timeout", received });
    finish(EXIT.timeout, "timeout", socket);
  }, timeoutMs);

  socket.on("connect", () => {
    say({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
    // On a reconnect, ask for what was missed since the last event seen.
    const subscription = lastSeq === null ? { room } : { room, since: lastSeq };
    socket.emit("subscribe", subscription, (ack) => {
      say({ type: "ack", ack });
      if (ack?.error) finish(EXIT.refusedSubscribe, "subscribe refused", socket);
      else if (count === 0) finish(EXIT.done, "count", socket);
    });
  });
  socket.on("event", (payload) => {
    say({ type: "event", payload });
    if (payload && Number.isInteger(payload.seq)) lastSeq = payload.seq;
    received += 1;
    if (received >= count) finish(EXIT.done, "count", socket);
  });
  socket.on("connect_error", (err) => {
    say({ type: "connect_error", message: err.message, data: err.data ?? null });
    // The server refused the handshake (e.g. a bad token): the client will not retry by itself.
    if (!socket.active) finish(EXIT.refused, err.message, socket);
  });
  socket.on("disconnect", (reason) => {
    say({ type: "disconnect", reason });
    if (reason === "io server disconnect") finish(EXIT.serverDisconnect, reason, socket);
  });
}

main(process.argv.slice(2));
