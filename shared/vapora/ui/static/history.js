// A card's history in its details dialog: status moves, reorders and
// assignee changes, with who made them and when, a page at a time
// (GET /projects/{id}/tasks/{task}/history), newest page last.
import { api, enc, h } from './core.js';

const PAGE = 50;

let shown = { project: '', task: '' };

const agent = a => a ? '@' + a : 'nobody';

// describe says what an entry changed, in words.
export function describe(e) {
  switch (e.kind) {
    case 'created': return `created in ${e.to_status}` + (e.to_agent ? `, assigned to ${agent(e.to_agent)}` : '');
    case 'order': return `moved within ${e.to_status} from position ${e.from_order + 1} to ${e.to_order + 1}`;
    case 'assigned': return `assignee ${agent(e.from_agent)} → ${agent(e.to_agent)}`;
  }
  let s = `moved ${e.from_status} → ${e.to_status}`;
  if (e.from_agent !== e.to_agent) s += `, assignee ${agent(e.from_agent)} → ${agent(e.to_agent)}`;
  return s;
}

function entry(e) {
  const at = new Date(e.at);
  return h('li', { class: 'entry', 'data-kind': e.kind, 'data-entry-id': e.id },
    h('span', { class: 'what' }, describe(e)),
    h('span', { class: 'who' }, 'by ' + e.by),
    h('time', { datetime: e.at, title: at.toISOString() }, at.toLocaleString()));
}

// loadPage appends a page of the history from offset; a "more" button asks for the next.
async function loadPage(box, project, task, offset) {
  const list = box.querySelector('ol');
  box.querySelector('.more')?.remove();
  box.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await api('GET', `/projects/${enc(project)}/tasks/${enc(task)}/history?limit=${PAGE}&offset=${offset}`);
  } catch (e) {
    if (shown.task === task) box.append(h('p', { class: 'error' }, 'Could not read the history: ' + e.message));
    box.setAttribute('aria-busy', 'false');
    return;
  }
  if (shown.task !== task || shown.project !== project) return; // another card opened meanwhile
  list.append(...page.entries.map(entry));
  if (page.more) {
    const more = h('button', { type: 'button', class: 'more' }, 'Older changes…');
    more.addEventListener('click', () => loadPage(box, project, task, offset + page.entries.length));
    box.append(more);
  }
  box.dataset.count = String(list.children.length);
  box.setAttribute('aria-busy', 'false');
}

// showHistory fills the dialog's history section for one card.
export function showHistory(project, task) {
  shown = { project, task };
  const box = document.getElementById('details-history');
  box.replaceChildren(h('h3', {}, 'History'), h('ol', { class: 'history' }));
  box.dataset.taskId = task;
  box.dataset.count = '0';
  return loadPage(box, project, task, 0);
}

// refreshHistory reads the open card's history again (a change arrived for it).
export function refreshHistory(task) {
  const dlg = document.getElementById('details');
  if (dlg && dlg.open && shown.task === task) showHistory(shown.project, task);
}
