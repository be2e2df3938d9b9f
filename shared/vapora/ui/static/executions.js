// A card's executions in its details dialog: each agent's run of the task
// with its outcome, duration, tokens and cost, newest first, and the total
// (GET /projects/{id}/tasks/{task}/executions).
import { api, enc, h } from './core.js';

let shown = '';

const cents = c => '$' + (c / 100).toFixed(c < 100 ? 4 : 2);

function row(e) {
  const at = new Date(e.at);
  return h('tr', { 'data-execution-id': e.id, 'data-success': String(e.success) },
    h('td', {}, '@' + e.agent_id),
    h('td', {}, e.success ? 'succeeded' : 'failed'),
    h('td', {}, (e.duration_ms / 1000).toFixed(1) + ' s'),
    h('td', {}, `${e.input_tokens} in / ${e.output_tokens} out`),
    h('td', { class: 'cost' }, cents(e.cost_cents)),
    h('td', {}, h('time', { datetime: e.at, title: at.toISOString() }, at.toLocaleString())));
}

// showExecutions fills the dialog's executions section for one card.
export async function showExecutions(project, task) {
  shown = task;
  const box = document.getElementById('details-executions');
  box.replaceChildren(h('h3', {}, 'Executions'));
  box.dataset.taskId = task;
  box.setAttribute('aria-busy', 'true');
  let ex;
  try {
    ex = await api('GET', `/projects/${enc(project)}/tasks/${enc(task)}/executions?limit=20`);
  } catch (e) {
    if (shown === task) box.append(h('p', { class: 'error' }, 'Could not read the executions: ' + e.message));
    box.setAttribute('aria-busy', 'false');
    return;
  }
  if (shown !== task) return; // another card opened meanwhile
  if (ex.total === 0) {
    box.append(h('p', { class: 'empty' }, 'No agent has run this task yet.'));
  } else {
    box.append(
      h('p', { class: 'total', 'data-total-cents': String(ex.total_cost_cents) },
        `${ex.total} execution${ex.total === 1 ? '' : 's'}, ${cents(ex.total_cost_cents)} in all` +
        (ex.total > ex.executions.length ? ` (latest ${ex.executions.length} shown)` : '')),
      h('table', { class: 'executions' },
        h('thead', {}, h('tr', {}, ...['Agent', 'Outcome', 'Duration', 'Tokens', 'Cost', 'When'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...ex.executions.map(row))));
  }
  box.dataset.count = String(ex.executions.length);
  box.setAttribute('aria-busy', 'false');
}
