// The agents page: a status grid with load bars and an expertise heatmap
// (role × task type, shaded by success rate, with the number written too),
// kept live: each agent change pushed on the socket (registered, Ready/Busy,
// Offline, unregistered) reads the agents again.
import { api, enc, failed, h, main, say } from './core.js';
import { watchAgents } from './live.js';

let live = 'off';
let reloadTimer = 0;

function agentTile(a) {
  const pct = Math.round(Math.min(Math.max(a.current_load, 0), 1) * 100);
  const fill = h('span', {});
  fill.style.width = pct + '%';
  return h('article', { class: 'agent', 'data-agent-id': a.id, 'data-agent-status': a.status },
    h('h2', {}, a.id),
    h('div', {}, h('span', { class: 'badge' }, a.role), h('span', { class: 'badge' }, a.status), h('span', { class: 'badge' }, a.provider)),
    h('div', { class: 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct, 'aria-label': 'load' }, fill),
    h('small', {}, `load ${pct}%`));
}

function heatmap(rows) {
  const types = [...new Set(rows.flatMap(r => r.expertise.map(e => e.task_type)))].sort();
  if (!types.length) return h('p', { class: 'hint', id: 'heatmap' }, 'No expertise recorded yet: it grows as agents finish tasks.');
  const cell = (role, type) => {
    const es = role.expertise.filter(e => e.task_type === type);
    if (!es.length) return h('td', { class: 'h0' }, '—');
    const calls = es.reduce((n, e) => n + e.execution_count, 0);
    const rate = es.reduce((n, e) => n + e.success_rate * e.execution_count, 0) / Math.max(calls, 1);
    return h('td', { class: 'h' + Math.min(4, Math.floor(rate * 5)), title: `${calls} executions` }, Math.round(rate * 100) + '%');
  };
  return h('table', { class: 'heatmap', id: 'heatmap' },
    h('thead', {}, h('tr', {}, h('th', {}, 'role \\ task type'), types.map(t => h('th', {}, t)))),
    h('tbody', {}, rows.map(r => h('tr', { 'data-role': r.role }, h('th', {}, r.role), types.map(t => cell(r, t))))));
}

async function load() {
  const agents = (await api('GET', '/agents')).agents;
  const roles = [...new Set(agents.map(a => a.role))].sort();
  const rows = await Promise.all(roles.map(role => api('GET', `/agents/${enc(role)}/expertise`)));
  return { agents, rows };
}

function render({ agents, rows }) {
  main().replaceChildren(
    h('div', { class: 'toolbar' }, h('h1', {}, 'Agents'),
      h('span', { id: 'live', class: 'live-' + live, role: 'status' }, live === 'on' ? 'Live' : 'Reconnecting…')),
    h('div', { class: 'agents', id: 'agents', 'data-live': live }, agents.length ? agents.map(agentTile) : h('p', { class: 'empty' }, 'No agents registered.')),
    h('h2', {}, 'Expertise'), heatmap(rows));
}

export async function showAgents() {
  main().replaceChildren(h('p', { class: 'hint' }, 'Loading the agents…'));
  let data;
  try {
    data = await load();
  } catch (e) {
    if (e.status !== 401) failed('Could not list the agents', e);
    return;
  }
  live = 'off';
  render(data);
  watchAgents(onChange, onLive);
}

// onChange reads the agents again shortly after a change (several at once read once).
function onChange() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(async () => {
    if (!document.getElementById('agents')) return; // left the page
    try {
      const data = await load();
      if (document.getElementById('agents')) render(data);
    } catch (e) {
      if (e.status !== 401) say('Could not reload the agents: ' + e.message, 'error');
    }
  }, 30);
}

function onLive(s) {
  live = s;
  const grid = document.getElementById('agents');
  if (grid) grid.dataset.live = s;
  const badge = document.getElementById('live');
  if (badge) { badge.className = 'live-' + s; badge.textContent = s === 'on' ? 'Live' : 'Reconnecting…'; }
}
