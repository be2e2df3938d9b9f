// The costs page: spend by role against its budget, the trend by day and the
// provider breakdown, from the LLM router's reports (Chart.js, vendored).
import { api, enc, failed, h, main } from './core.js';

let charts = [];

function chart(id, config) {
  const canvas = h('canvas', { id, class: 'chart', role: 'img', 'aria-label': config.label });
  const panel = h('section', { class: 'panel', 'data-chart': id }, h('h2', {}, config.label), canvas);
  return { panel, draw: () => charts.push(new window.Chart(canvas, { type: config.type, data: config.data,
    options: { animation: false, responsive: true, aspectRatio: 2, plugins: { legend: { display: config.legend !== false } } } })) };
}

const dollars = cents => cents / 100;

export async function showCosts() {
  for (const c of charts) c.destroy();
  charts = [];
  main().replaceChildren(h('p', { class: 'hint' }, 'Loading the costs…'));
  let report, budgets;
  try {
    report = await api('GET', '/llm/costs');
    budgets = await Promise.all(report.by_role.map(r => api('GET', '/llm/budget/' + enc(r.key))));
  } catch (e) {
    if (e.status !== 401) failed('Could not read the costs', e);
    return;
  }
  const roles = report.by_role.map(r => r.key);
  const byRole = chart('costs-by-role', { type: 'bar', label: 'Spend this period by role against the monthly budget (USD)', data: {
    labels: roles, datasets: [
      { label: 'spend', data: report.by_role.map(r => dollars(r.cost_cents)), backgroundColor: '#2e5bd8' },
      { label: 'monthly budget', data: budgets.map(b => b.monthly_limit_cents == null ? null : dollars(b.monthly_limit_cents)), backgroundColor: '#c7d3f3' }] } });
  const trend = chart('costs-trend', { type: 'line', label: 'Spend by day (USD)', legend: false, data: {
    labels: report.by_day.map(d => d.key), datasets: [{ label: 'spend', data: report.by_day.map(d => dollars(d.cost_cents)), borderColor: '#2e5bd8' }] } });
  const providers = chart('costs-by-provider', { type: 'doughnut', label: 'By provider (USD)', data: {
    labels: report.by_provider.map(p => p.key), datasets: [{ data: report.by_provider.map(p => dollars(p.cost_cents)),
      backgroundColor: ['#2e5bd8', '#c0512b', '#5b8a3a', '#b07d12', '#a3153a', '#5b6475'] }] } });
  const total = report.total;
  main().replaceChildren(
    h('div', { class: 'toolbar' }, h('h1', {}, 'Costs'), h('span', { class: 'badge' }, `${report.from} → ${report.to}`)),
    h('p', { id: 'costs-total' }, `${total.calls} calls, ${total.input_tokens + total.output_tokens} tokens, $${dollars(total.cost_cents).toFixed(4)}`),
    roles.length ? h('div', { class: 'charts' }, byRole.panel, trend.panel, providers.panel) : h('p', { class: 'empty' }, 'No LLM calls in this period.'));
  if (roles.length) [byRole, trend, providers].forEach(c => c.draw());
}
