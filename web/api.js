// api.js: jitgated's API from the console, same origin, with the session cookie. Every
// change carries the session's CSRF token; a failure throws the server's Azure error.
export const API_VERSION = '2020-01-01';
let csrf = '';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

export function url(path, query) {
  const q = new URLSearchParams({'api-version': API_VERSION, ...(query || {})});
  return path + (path.includes('?') ? '&' : '?') + q.toString();
}

async function errorOf(res) {
  try {
    const j = await res.json();
    if (j && j.error) return new ApiError(res.status, j.error.code, j.error.message);
  } catch (e) { /* not JSON */ }
  return new ApiError(res.status, '', `The server answered HTTP ${res.status}.`);
}

export async function call(method, path, body, query) {
  const headers = {'Accept': 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const res = await fetch(url(path, query), {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && onSignedOut) onSignedOut();
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export async function text(path, query) {
  const res = await fetch(url(path, query), {credentials: 'same-origin', cache: 'no-store'});
  if (!res.ok) throw await errorOf(res);
  return await res.text();
}

export const get = (p, q) => call('GET', p, undefined, q);
export const put = (p, b) => call('PUT', p, b);
export const post = (p, b) => call('POST', p, b);
export const del = (p) => call('DELETE', p);

// Every item of a list, following nextLink.
export async function list(path, query) {
  const out = [];
  let page = await get(path, query);
  for (;;) {
    out.push(...(page.value || []));
    if (!page.nextLink) return out;
    const next = new URL(page.nextLink, location.origin);
    page = await get(next.pathname, Object.fromEntries(
      [...next.searchParams].filter(([k]) => k !== 'api-version')));
  }
}

let onSignedOut = null;
export function whenSignedOut(f) { onSignedOut = f; }

export async function signIn(token) {
  const s = await call('POST', '/providers/Jitgate/sessions', {token});
  csrf = s.csrfToken;
  return s;
}

export async function currentSession() {
  const res = await fetch(url('/providers/Jitgate/sessions/current'),
    {credentials: 'same-origin', cache: 'no-store'});
  if (res.status === 401) return null;
  if (!res.ok) throw await errorOf(res);
  const s = await res.json();
  if (!s.signedIn) return null;
  csrf = s.csrfToken;
  return s;
}

export async function signOut() {
  try { await call('DELETE', '/providers/Jitgate/sessions/current'); } finally { csrf = ''; }
}

// Parts of an ARM ID: {sub, rg, name, provider path}.
export function parseId(id) {
  const seg = id.split('/');
  const at = (k) => {
    const i = seg.findIndex((s) => s.toLowerCase() === k.toLowerCase());
    return i >= 0 ? seg[i + 1] : undefined;
  };
  return {sub: at('subscriptions'), rg: at('resourceGroups'), name: seg[seg.length - 1],
    loc: at('locations')};
}
