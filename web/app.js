// app.js: the console's entry point. Sign-in (a token, pasted or from a file, traded
// once for a session cookie), the header, and hash routes: #/jit, #/activity[?vm=ID],
// #/admin.
import {currentSession, signIn, signOut, whenSignedOut} from './api.js';
import {$, clear, errorBox} from './dom.js';
import {loadPermissions, canAdminSomewhere} from './perms.js';
import {renderJit} from './jit.js';
import {renderActivity} from './activity.js';
import {renderAdmin} from './admin.js';

let session = null;

function showSignIn(message) {
  session = null;
  $('#nav').hidden = true;
  $('#who').hidden = true;
  $('#page').hidden = true;
  clear($('#page'));
  $('#signin').hidden = false;
  const e = $('#signin-error');
  e.hidden = !message;
  e.textContent = message || '';
  $('#signin-token').focus();
}

async function start(s) {
  session = s;
  await loadPermissions();
  $('#signin').hidden = true;
  $('#signin-token').value = '';
  $('#nav').hidden = false;
  $('#nav-admin').hidden = !canAdminSomewhere();
  $('#who').hidden = false;
  $('#who-name').textContent = `${s.principal.properties.displayName} (${s.principal.name})`;
  $('#page').hidden = false;
  route();
}

async function route() {
  if (!session) return;
  const [path, query] = (location.hash.slice(1) || '/jit').split('?');
  const params = new URLSearchParams(query || '');
  const page = $('#page');
  for (const a of document.querySelectorAll('#nav a'))
    if (a.dataset.page === path.slice(1)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  try {
    if (path === '/activity') await renderActivity(page, params);
    else if (path === '/admin') await renderAdmin(page);
    else await renderJit(page, session);
    document.title = `${page.querySelector('h1') ? page.querySelector('h1').textContent : 'jitgate'} · jitgate`;
  } catch (e) {
    clear(page, errorBox(e));
  }
}

$('#signin-file').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  if (f) $('#signin-token').value = (await f.text()).trim();
});

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('#signin-token').value.trim();
  if (!token) { showSignIn('Paste a token or choose a token file.'); return; }
  try {
    await start(await signIn(token));
  } catch (ex) {
    showSignIn(ex.message);
  }
});

$('#sign-out').addEventListener('click', async () => {
  try { await signOut(); } catch (e) { /* the session may be gone already */ }
  showSignIn('Signed out.');
});

whenSignedOut(() => { if (session) showSignIn('Your session has ended (signed out, expired or its token was revoked). Sign in again.'); });
window.addEventListener('hashchange', route);

currentSession().then((s) => (s ? start(s) : showSignIn()), (e) => showSignIn(e.message));
