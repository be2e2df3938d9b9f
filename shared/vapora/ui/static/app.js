// Vapora's page: it routes itself from the path under /ui/.
import { h, hooks, main, setToken, takeTokenFromURL, token, clearToken, quiet } from './core.js';
import { showProjects } from './projects.js';
import { showBoard, leaveBoard } from './board.js';
import { showAgents } from './agents.js';
import { showCosts } from './costs.js';
import { showPipelines } from './pipelines.js';

const nav = document.getElementById('nav');

function showSignIn(note) {
  leaveBoard();
  nav.hidden = true;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { id: 'sign-in' },
    h('h1', {}, 'Sign in to Vapora'),
    note ? h('p', { class: 'error', id: 'sign-in-note' }, note) : null,
    h('label', {}, 'API key or JWT ', input),
    h('button', { type: 'submit', id: 'sign-in-submit' }, 'Sign in'),
    h('p', { class: 'hint' }, 'Kept in this tab only (session storage). A link may carry it as ?token=.'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    setToken(input.value);
    route();
  });
  main().replaceChildren(form);
  input.focus();
}

hooks.onUnauthorized = () => showSignIn('Your token was refused (wrong or expired): sign in again.');

export function route() {
  takeTokenFromURL();
  if (!token()) return showSignIn();
  nav.hidden = false;
  const p = location.pathname;
  const m = p.match(/^\/ui\/projects\/([^/]+)\/?$/);
  if (m) return showBoard(decodeURIComponent(m[1]));
  leaveBoard();
  const pm = p.match(/^\/ui\/projects\/([^/]+)\/pipelines\/?$/);
  if (pm) return showPipelines(decodeURIComponent(pm[1]));
  if (p === '/ui/agents') return showAgents();
  if (p === '/ui/costs') return showCosts();
  return showProjects();
}

export function go(path) {
  quiet();
  history.pushState(null, '', path);
  route();
}

document.addEventListener('click', e => {
  const a = e.target.closest('a[href^="/ui/"]');
  if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
document.getElementById('sign-out').addEventListener('click', () => { clearToken(); showSignIn(); });
window.addEventListener('popstate', route);
route();
