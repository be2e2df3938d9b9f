// A project's pipelines (/ui/projects/{id}/pipelines): each run with its
// stages' states, newest first, and Approve / Reject on a stage awaiting
// approval for those Cedar lets decide (the API's may_decide; a refusal
// meanwhile is shown as a message). Kept live:
// each stage change pushed on the socket (pipelines.stage) reads the list again.
import { api, enc, failed, h, main, say } from './core.js';
import { watch } from './live.js';

let project = null;
let live = 'off';
let reloadTimer = 0;

const when = t => t ? new Date(t).toLocaleString() : '';

function stage(p, s) {
  const li = h('li', { class: 'stage', 'data-stage': s.name, 'data-stage-status': s.status },
    h('span', { class: 'name' }, s.name),
    h('span', { class: 'badge role' }, s.role),
    h('span', { class: 'badge state s-' + s.status.toLowerCase() }, s.status),
    s.agent_id ? h('span', { class: 'agent' }, '@' + s.agent_id) : null,
    s.approval && s.approval.required ? h('span', { class: 'gate' }, 'approval by ' + s.approval.approvers) : null,
    s.decision ? h('span', { class: 'decision' }, `${s.decision} by ${s.approver}` + (s.comment ? `: ${s.comment}` : '')) : null);
  if (p.status === 'Running' && s.status === 'AwaitingApproval' && s.may_decide) {
    const decide = decision => async e => {
      e.currentTarget.disabled = true;
      try {
        await api('POST', `/pipelines/${enc(p.id)}/approve`, { stage: s.name, decision });
        say(`Stage “${s.name}” ${decision === 'approve' ? 'approved' : 'rejected'}.`);
      } catch (err) {
        if (err.status !== 401) say(`Could not ${decision} stage “${s.name}”: ${err.message}`, 'error');
      }
      reload();
    };
    li.append(h('span', { class: 'actions' },
      h('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'Approve'),
      h('button', { type: 'button', class: 'reject', onclick: decide('reject') }, 'Reject')));
  }
  return li;
}

function pipeline(p) {
  return h('article', { class: 'pipeline', 'data-pipeline-id': p.id, 'data-status': p.status },
    h('h2', {}, p.name, h('span', { class: 'badge state s-' + p.status.toLowerCase() }, p.status)),
    h('p', { class: 'hint' }, `requested by ${p.requester}, ${when(p.created_at)}`),
    h('ol', { class: 'stages' }, p.stages.map(s => stage(p, s))));
}

function render(list) {
  main().replaceChildren(
    h('div', { class: 'toolbar' }, h('a', { href: `/ui/projects/${enc(project.id)}` }, '← Board'),
      h('h1', {}, 'Pipelines of ' + project.name),
      h('span', { id: 'live', class: 'live-' + live, role: 'status' }, live === 'on' ? 'Live' : 'Reconnecting…')),
    h('section', { id: 'pipelines', 'data-project-id': project.id, 'data-live': live, 'data-ready': 'true' },
      list.length ? list.map(pipeline) : h('p', { class: 'empty' }, 'No pipelines yet.')));
}

const load = id => api('GET', `/pipelines?project_id=${enc(id)}&limit=100`).then(r => r.pipelines);

export async function showPipelines(projectId) {
  main().replaceChildren(h('p', { class: 'hint' }, 'Loading the pipelines…'));
  let list;
  try {
    [project, list] = await Promise.all([api('GET', '/projects/' + enc(projectId)), load(projectId)]);
  } catch (e) {
    project = null;
    if (e.status !== 401) failed(e.status === 403 || e.status === 404 ? 'No such project' : 'Could not load the pipelines', e);
    return;
  }
  live = 'off';
  render(list);
  watch(projectId, onChange, onLive);
}

// reload reads the list again, if the page still shows it.
async function reload() {
  const id = project && project.id;
  if (!id || !document.getElementById('pipelines')) return;
  try {
    const list = await load(id);
    if (project && project.id === id && document.getElementById('pipelines')) render(list);
  } catch (e) {
    if (e.status !== 401) say('Could not reload the pipelines: ' + e.message, 'error');
  }
}

function onChange(ev, type) {
  if (type === 'tasks.changed') return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(reload, 30);
}

function onLive(s) {
  live = s;
  const box = document.getElementById('pipelines');
  if (box) box.dataset.live = s;
  const badge = document.getElementById('live');
  if (badge) { badge.className = 'live-' + s; badge.textContent = s === 'on' ? 'Live' : 'Reconnecting…'; }
}
