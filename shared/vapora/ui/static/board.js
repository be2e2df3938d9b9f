// The board: four columns, cards moved by drag and drop (SortableJS) or from
// the keyboard, each move shown at once and rolled back, with a message, when
// the API refuses it.
import { api, enc, failed, h, main, say } from './core.js';
import { watch, stop } from './live.js';
import { showHistory, refreshHistory } from './history.js';
import { showExecutions } from './executions.js';

export const COLUMNS = ['Todo', 'Doing', 'Review', 'Done'];

// state is the board as the API last confirmed it.
let state = null;
let sortables = [];
let focusId = '';
// live is the socket's state ('on' once subscribed, 'off' while away);
// busy counts moves in flight and drags under way, during which others'
// changes wait (pending) so as not to redraw under the pointer.
let live = 'off';
let busy = 0;
let pending = false;
let reloadTimer = 0;

const byOrder = (a, b) => a.order - b.order;

function tasksIn(status) {
  return [...state.tasks.values()].filter(t => t.status === status).sort(byOrder);
}

function card(t) {
  const open = h('button', { type: 'button', class: 'title', tabindex: '-1' }, t.title);
  open.addEventListener('click', () => showDetails(t.id));
  const li = h('li', { class: 'card', 'data-task-id': t.id, 'data-priority': t.priority, tabindex: '0',
    'aria-label': `${t.title}, priority ${t.priority}, in ${t.status}` },
    open,
    h('div', { class: 'meta' },
      h('span', { class: 'priority p-' + t.priority.toLowerCase() }, t.priority),
      t.tags && t.tags.length ? h('ul', { class: 'tags' }, t.tags.map(x => h('li', {}, x))) : null,
      h('span', { class: 'assignee' }, t.assigned_agent ? '@' + t.assigned_agent : 'unassigned')));
  li.addEventListener('keydown', onKey);
  return li;
}

function render() {
  const began = performance.now();
  for (const s of sortables) s.destroy();
  sortables = [];
  const columns = COLUMNS.map(status => {
    const tasks = tasksIn(status);
    const list = h('ol', { class: 'cards', 'data-column': status, 'aria-label': status }, tasks.map(card));
    return h('section', { class: 'column', 'data-status': status },
      h('h2', {}, status, h('span', { class: 'count' }, String(tasks.length))), list);
  });
  const board = h('div', { class: 'board', id: 'board', 'data-project-id': state.project.id, 'data-live': live }, columns);
  main().replaceChildren(
    h('div', { class: 'toolbar' }, h('a', { href: '/ui/' }, '← Projects'), h('h1', { id: 'board-title' }, state.project.name),
      h('a', { href: `/ui/projects/${enc(state.project.id)}/pipelines`, id: 'to-pipelines' }, 'Pipelines'),
      h('span', { id: 'live', class: 'live-' + live, role: 'status' }, live === 'on' ? 'Live' : 'Reconnecting…')),
    h('p', { class: 'hint' }, 'Keyboard: on a card, ← and → move it to the previous or next column, Alt+↑ and Alt+↓ move it up or down, ↑ and ↓ go to the card above or below, Enter opens it.'),
    board);
  for (const list of board.querySelectorAll('ol.cards')) {
    // The fallback (mouse and touch events, not the native HTML5 drag) behaves
    // the same in every browser, headless ones included.
    sortables.push(new window.Sortable(list, { group: 'board', forceFallback: true, fallbackTolerance: 3, animation: 0, onStart: () => { busy++; }, onEnd: onDrop }));
  }
  if (focusId) {
    const el = board.querySelector(`[data-task-id="${CSS.escape(focusId)}"]`);
    if (el) el.focus();
  }
  board.dataset.ready = 'true';
  // For make bench: when the board became usable, and what drawing it cost.
  board.dataset.renderMs = (performance.now() - began).toFixed(1);
  performance.mark('board-ready');
}

async function load(projectId) {
  const [project, page] = await Promise.all([
    api('GET', '/projects/' + enc(projectId)),
    api('GET', '/projects/' + enc(projectId) + '/tasks?limit=1000')]);
  return { project, tasks: new Map(page.tasks.map(t => [t.id, t])) };
}

export async function showBoard(projectId) {
  main().replaceChildren(h('p', { class: 'hint' }, 'Loading the board…'));
  try {
    state = await load(projectId);
  } catch (e) {
    state = null;
    if (e.status !== 401) failed(e.status === 403 || e.status === 404 ? 'No such project' : 'Could not load the board', e);
    return;
  }
  render();
  watch(projectId, onRemote, onLive);
}

export function leaveBoard() {
  stop();
  state = null;
}

// onRemote takes a change pushed for this board (or a reconnect): the board
// is read again, at once or when the moves and drags under way are done.
function onRemote(ev, type) {
  if (type === 'pipelines.stage') return;
  if (ev && ev.task_id) refreshHistory(ev.task_id);
  if (busy > 0) { pending = true; return; }
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(reload, 30);
}

function onLive(s) {
  live = s;
  const board = document.getElementById('board');
  if (board) board.dataset.live = s;
  const badge = document.getElementById('live');
  if (badge) { badge.className = 'live-' + s; badge.textContent = s === 'on' ? 'Live' : 'Reconnecting…'; }
}

// settle ends a move or a drag, and takes the changes that waited for it.
function settle() {
  busy = Math.max(0, busy - 1);
  if (busy === 0 && pending) { pending = false; onRemote(); }
}

// reload reads the whole board again: the API's order after a move.
export async function reload() {
  if (!state) return;
  const id = state.project.id;
  try {
    const next = await load(id);
    if (state && state.project.id === id) {
      state = next;
      render();
    }
  } catch (e) {
    if (e.status !== 401) say('Could not reload the board: ' + e.message, 'error');
  }
}

// move sends a move the page already shows, then renders what the API says;
// a refusal puts the card back where the API has it and says why.
async function move(t, to, index) {
  focusId = t.id;
  busy++;
  try {
    let updated = t;
    if (to !== t.status) updated = await api('PUT', `/tasks/${enc(t.id)}/status`, { status: to });
    if (updated.order !== index) updated = await api('PUT', `/tasks/${enc(t.id)}/order`, { order: index });
    state.tasks.set(updated.id, updated);
    await reload();
  } catch (e) {
    if (e.status === 401) return;
    render();
    say(`Could not move “${t.title}” to ${to}: ${e.message}`, 'error');
    reload();
  } finally {
    settle();
  }
}

function onDrop(evt) {
  try {
    const t = state && state.tasks.get(evt.item.dataset.taskId);
    if (!t) return;
    const to = evt.to.dataset.column;
    if (to === t.status && evt.oldIndex === evt.newIndex) return;
    move(t, to, evt.newIndex); // counts itself busy before its first await
  } finally {
    settle();
  }
}

function onKey(e) {
  const li = e.currentTarget;
  const t = state && state.tasks.get(li.dataset.taskId);
  if (!t) return;
  const col = COLUMNS.indexOf(t.status);
  const list = li.parentElement;
  const index = [...list.children].indexOf(li);
  let handled = true;
  if (e.key === 'Enter') showDetails(t.id);
  else if ((e.key === 'ArrowRight' && col < COLUMNS.length - 1) || (e.key === 'ArrowLeft' && col > 0)) {
    const to = COLUMNS[col + (e.key === 'ArrowRight' ? 1 : -1)];
    const target = main().querySelector(`ol[data-column="${to}"]`);
    target.append(li);
    li.focus();
    move(t, to, target.children.length - 1);
  } else if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    const next = index + (e.key === 'ArrowUp' ? -1 : 1);
    if (next < 0 || next >= list.children.length) return;
    if (e.key === 'ArrowUp') list.insertBefore(li, list.children[next]);
    else list.insertBefore(li, list.children[next].nextSibling);
    li.focus();
    move(t, t.status, next);
  } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    const sib = e.key === 'ArrowUp' ? li.previousElementSibling : li.nextElementSibling;
    if (sib) { focusId = sib.dataset.taskId; sib.focus(); }
  } else handled = false;
  if (handled) e.preventDefault();
}

function showDetails(id) {
  const t = state.tasks.get(id);
  if (!t) return;
  const dlg = document.getElementById('details');
  dlg.dataset.taskId = t.id;
  document.getElementById('details-title').textContent = t.title;
  const fields = [
    ['Status', t.status], ['Priority', t.priority], ['Assignee', t.assigned_agent || 'unassigned'],
    ['Task type', t.task_type || '—'], ['Tags', (t.tags || []).join(', ') || '—'],
    ['Description', t.description || '—'], ['Created', new Date(t.created_at).toLocaleString()],
    ['Updated', new Date(t.updated_at).toLocaleString()], ['Id', t.id]];
  document.getElementById('details-fields').replaceChildren(...fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k.toLowerCase() }, v)]));
  if (!dlg.open) dlg.showModal();
  showExecutions(state.project.id, t.id);
  showHistory(state.project.id, t.id);
}
