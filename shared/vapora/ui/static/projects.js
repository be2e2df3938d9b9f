// The projects page: grid or list, a status filter, a create dialog.
import { api, enc, failed, h, main, say } from './core.js';

const STATUSES = ['Active', 'OnHold', 'Archived'];

function filterSelect(current) {
  const sel = h('select', { id: 'status-filter', 'aria-label': 'Filter by status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map(s => h('option', { value: s, selected: s === current }, s)));
  sel.addEventListener('change', () => {
    const u = new URL(location.href);
    if (sel.value) u.searchParams.set('status', sel.value); else u.searchParams.delete('status');
    history.replaceState(null, '', u.pathname + u.search);
    showProjects();
  });
  return sel;
}

function projectCard(p) {
  return h('a', { class: 'project', href: '/ui/projects/' + enc(p.id), 'data-project-id': p.id, 'data-status': p.status },
    h('h2', {}, p.name),
    p.description ? h('p', {}, p.description) : null,
    h('span', { class: 'badge' }, p.status), h('span', { class: 'badge' }, 'scope ' + p.scope));
}

export async function showProjects() {
  const status = new URLSearchParams(location.search).get('status') || '';
  const view = sessionStorage.getItem('vapora.view') || 'grid';
  const list = h('div', { id: 'projects', class: 'projects ' + view, 'aria-busy': 'true' });
  const toggle = h('button', { type: 'button', id: 'toggle-view' }, view === 'grid' ? 'List view' : 'Grid view');
  toggle.addEventListener('click', () => {
    sessionStorage.setItem('vapora.view', view === 'grid' ? 'list' : 'grid');
    showProjects();
  });
  const create = h('button', { type: 'button', id: 'new-project' }, 'New project');
  create.addEventListener('click', openCreate);
  main().replaceChildren(h('div', { class: 'toolbar' }, h('h1', {}, 'Projects'), filterSelect(status), toggle, create), list);
  let data;
  try {
    data = await api('GET', '/projects' + (status ? '?status=' + enc(status) : ''));
  } catch (e) {
    if (e.status !== 401) failed('Could not list the projects', e);
    return;
  }
  list.replaceChildren(...(data.projects.length ? data.projects.map(projectCard) : [h('p', { class: 'empty' }, 'No projects.')]));
  list.setAttribute('aria-busy', 'false');
}

function openCreate() {
  const dlg = document.getElementById('create-project');
  document.getElementById('create-form').reset();
  document.getElementById('create-error').hidden = true;
  dlg.showModal();
}

async function submitCreate(e) {
  e.preventDefault();
  const val = id => document.getElementById(id).value.trim();
  const body = { name: val('create-name') };
  if (val('create-description')) body.description = val('create-description');
  if (val('create-scope')) body.scope = val('create-scope');
  try {
    const p = await api('POST', '/projects', body);
    document.getElementById('create-project').close();
    say(`Project “${p.name}” created.`);
    showProjects();
  } catch (err) {
    const box = document.getElementById('create-error');
    box.textContent = err.message;
    box.hidden = false;
  }
}

document.getElementById('create-form').addEventListener('submit', submitCreate);
document.getElementById('create-cancel').addEventListener('click', () => document.getElementById('create-project').close());
