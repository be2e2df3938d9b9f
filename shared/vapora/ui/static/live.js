// Live board: a WebSocket to Vapora's WebSocket API (/ws on the page's
// origin), authenticated with the page's token, subscribed to the board (or
// the pipelines) on screen, or to the agents. Each change pushed for it
// (tasks.changed and pipelines.stage for a project, agents.changed for the
// agents) is handed to the page, which reads what it shows again; a socket
// that drops reconnects with a growing, jittered pause and reads the board
// again once back, so nothing missed while away stays missed.
import { enc, token } from './core.js';

const MIN_PAUSE = 250;
const MAX_PAUSE = 10000;

let socket = null;
let watching = ''; // a project id, or AGENTS
const AGENTS = '#agents';
let failures = 0;
let timer = 0;
let onChange = () => {};
let onStatus = () => {};

function url() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?token=${enc(token())}`;
}

function open(reconnecting) {
  clearTimeout(timer);
  if (!watching || !token()) return;
  const ws = new WebSocket(url());
  socket = ws;
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify(watching === AGENTS ? { action: 'subscribe_agents' } : { action: 'subscribe', project_id: watching }));
  });
  ws.addEventListener('message', e => {
    if (ws !== socket) return;
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    const agents = watching === AGENTS;
    if (m.type === 'subscribed' && (agents ? m.action === 'subscribe_agents' : m.project_id === watching)) {
      failures = 0;
      onStatus('on');
      if (reconnecting) onChange({ change: 'reconnected' }, 'reconnected');
    } else if (!m.event) {
      // an answer to ping, or an error
    } else if (agents ? m.type === 'agents.changed' : m.event.project_id === watching) {
      onChange(m.event, m.type);
    }
  });
  ws.addEventListener('close', () => {
    if (ws !== socket) return;
    socket = null;
    if (!watching) return;
    onStatus('off');
    failures++;
    const pause = Math.min(MAX_PAUSE, MIN_PAUSE * 2 ** Math.min(failures - 1, 6));
    timer = setTimeout(() => open(true), pause / 2 + Math.random() * pause / 2);
  });
}

// watch follows one project's board and pipelines; changed is called with
// each change and its type (and once after a reconnect), status with 'on'
// or 'off'.
export function watch(projectId, changed, status) {
  follow(projectId, changed, status);
}

// watchAgents follows the agents, as watch does a project.
export function watchAgents(changed, status) {
  follow(AGENTS, changed, status);
}

function follow(what, changed, status) {
  stop();
  watching = what;
  onChange = changed;
  onStatus = status;
  failures = 0;
  open(false);
}

// stop closes the socket for good.
export function stop() {
  watching = '';
  clearTimeout(timer);
  const ws = socket;
  socket = null;
  if (ws) ws.close();
}

// drop closes the socket as a network failure would (for tests and the
// "reconnect" button): it reconnects as after any drop.
export function drop() {
  if (socket) socket.close();
}
