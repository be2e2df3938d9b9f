// The page's plumbing: the caller's token, calls to the API, messages, and a
// small element builder that never parses HTML (every text is a text node).
const TOKEN = 'vapora.token';

export function token() { return sessionStorage.getItem(TOKEN) || ''; }
export function setToken(t) { sessionStorage.setItem(TOKEN, t.trim()); }
export function clearToken() { sessionStorage.removeItem(TOKEN); }

// takeTokenFromURL keeps ?token= (a link's API key or JWT) and removes it from
// the address bar and the history.
export function takeTokenFromURL() {
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t) {
    setToken(t);
    u.searchParams.delete('token');
    history.replaceState(null, '', u.pathname + u.search + u.hash);
  }
}

const isJWT = t => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t);

// credentials are the headers the API's own clients send: a JWT as a bearer
// token, anything else as the API key.
export function credentials() {
  const t = token();
  return isJWT(t) ? { Authorization: 'Bearer ' + t } : { 'X-API-Key': t };
}

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// onUnauthorized is called when the API refuses the token (bad or expired).
export const hooks = { onUnauthorized: () => {} };

export async function api(method, path, body) {
  const init = { method, headers: credentials() };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, 'the API is unreachable: ' + e.message);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.status === 401) {
    clearToken();
    hooks.onUnauthorized();
    throw new APIError(401, 'your token was refused (wrong or expired): sign in again');
  }
  if (!res.ok) {
    const m = data && data.error && data.error.message;
    throw new APIError(res.status, m || `${res.status} ${res.statusText}`);
  }
  return data;
}

// h builds an element: attributes are set one by one, children are nodes or
// strings (text nodes), null and false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let hideTimer = 0;

// say shows a message; kind 'error' for a refusal.
export function say(text, kind = 'info') {
  const box = document.getElementById('message');
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { box.hidden = true; }, 15000);
}

export function quiet() {
  document.getElementById('message').hidden = true;
}

export const enc = encodeURIComponent;

export function main() { return document.getElementById('main'); }

// failed shows why a page could not load, with nothing of it rendered.
export function failed(title, e) {
  main().replaceChildren(h('section', { id: 'load-error', class: 'panel', 'data-status-code': e.status || 0 },
    h('h1', {}, title), h('p', { class: 'error' }, e.message), h('a', { href: '/ui/' }, 'Back to projects')));
}
