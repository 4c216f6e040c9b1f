// console.mjs: the web console in Debian's chromium, driven by playwright-core, against
// the real jitgated, agent and sshd that test_browser.py set up (its config is argv[2]).
// Each check prints one line "RESULT {json}" (test_browser.py turns them into TAP).
// The whole seed flow, the roles, the security checks, axe-core on every page and
// screenshots of every page at 1280 and 390 px.
import {chromium} from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const AXE = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const V = 'api-version=2020-01-01';
const JIT = 'Microsoft.Security/locations/jitNetworkAccessPolicies';
const POLICY = `${cfg.rg}/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default`;
const violations = [];   // CSP and Trusted Types errors, page errors: none allowed
let failures = 0;

function result(ok, desc, details) {
  if (!ok) failures++;
  console.log('RESULT ' + JSON.stringify({ok: !!ok, desc, details: details === undefined ? undefined : String(details)}));
  return !!ok;
}

const pages = new Set();

async function check(desc, f) {
  let ok;
  try {
    const r = await f();
    ok = result(r !== false, desc, typeof r === 'string' ? r : undefined);
  } catch (e) {
    ok = result(false, desc, e && e.stack ? e.stack : e);
  }
  // A failed step may leave a dialog open: close them, so later steps still run.
  if (!ok)
    for (const p of pages)
      if (!p.isClosed()) await p.evaluate(() => document.querySelectorAll('dialog').forEach((d) => d.remove())).catch(() => {});
  return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The API with a bearer token (node trusts jitgated's CA through NODE_EXTRA_CA_CERTS).
async function api(token, method, p, body, query = '') {
  const res = await fetch(`${cfg.url}${p}?${V}${query}`, {method,
    headers: {Authorization: `Bearer ${token}`, ...(body ? {'Content-Type': 'application/json'} : {})},
    body: body ? JSON.stringify(body) : undefined});
  const text = await res.text();
  return {status: res.status, text, json: text && res.headers.get('content-type').includes('json') ? JSON.parse(text) : null};
}

// One TCP connect from this namespace ("My IP") to the VM.
function connect(port = 22, ms = 2000) {
  return new Promise((resolve) => {
    const s = net.connect({host: cfg.vmAddr, port, timeout: ms});
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.on('connect', () => done(true));
    s.on('timeout', () => done(false));
    s.on('error', () => done(false));
  });
}

async function eventually(f, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await sleep(250);
  }
  return false;
}

// The VM's enforcement point has applied everything jitgated asked of it.
async function vmApplied(vmId) {
  return eventually(async () => {
    const j = (await api(cfg.admin, 'GET', vmId)).json.properties.jit;
    return j.enforcementPointAppliedVersion >= j.enforcementPointDesiredVersion;
  });
}

// ---- the browser ----

const spki = crypto.createHash('sha256').update(new crypto.X509Certificate(fs.readFileSync(cfg.ca))
  .publicKey.export({type: 'spki', format: 'der'})).digest('base64');
const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: [...(cfg.root ? ['--no-sandbox'] : []),
    // The network is closed: nothing but jitgated. Trust exactly its key.
    `--ignore-certificate-errors-spki-list=${spki}`,
    '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
    '--disable-sync', '--no-first-run', '--disable-domain-reliability', '--metrics-recording-only',
    '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication',
    '--disable-dev-shm-usage'],
});

async function newContext(width = 1280) {
  const ctx = await browser.newContext({viewport: {width, height: 900}, acceptDownloads: true});
  await ctx.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) =>
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`)));
  ctx.on('page', watch);
  return ctx;
}

const recent = [];   // the browser's last messages, for a failure's details

function watch(page) {
  pages.add(page);
  page.on('console', (m) => { recent.push(`${m.type()}: ${m.text()}`); if (recent.length > 40) recent.shift(); });
  page.on('requestfailed', (r) => recent.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.setDefaultTimeout(20000);
  // A page of the other origin is there to be refused: its refusals are the point.
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Trusted Type|CSP violation|Refused to/i.test(t)) {
      if (page.expectRefusals) page.refusals.push(t); else violations.push(t);
    }
  });
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
}

const shotNames = [];
// axe-core on the page (0 serious or critical violations), then screenshots at 1280 and 390 px.
async function inspect(page, name) {
  await page.waitForTimeout(150);
  await check(`${name}: axe-core finds no serious or critical violation`, async () => {
    await page.evaluate(AXE);
    const r = await page.evaluate(async () => await window.axe.run(document, {resultTypes: ['violations']}));
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    return bad.length === 0 ? true : JSON.stringify(bad.map((v) => ({id: v.id, impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))})), null, 1) && false;
  });
  const vp = page.viewportSize();
  for (const w of [1280, 390]) {
    await page.setViewportSize({width: w, height: 900});
    await page.waitForTimeout(100);
    const file = path.join(cfg.out, `${name}-${w}.png`);
    await page.screenshot({path: file, fullPage: true});
    shotNames.push(file);
  }
  await page.setViewportSize(vp);
}

async function signIn(page, token) {
  await page.goto(cfg.url + '/');
  await page.getByLabel('Token', {exact: true}).fill(token);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Just-in-time VM access'}).waitFor();
  await page.getByRole('tab', {name: /^Configured/}).waitFor();
}

const tab = (page, name) => page.getByRole('tab', {name: new RegExp('^' + name + ' \\(')});
const row = (page, vm) => page.locator(`#vm-table tr[data-vm="${vm}"]`);

try {
// ---- the seed flow, as the Owner ----

const ctx = await newContext();
const page = await ctx.newPage();

await check('the console is served at / with its CSP (Trusted Types) and security headers', async () => {
  const res = await page.goto(cfg.url + '/');
  const h = res.headers();
  return res.status() === 200 && h['content-security-policy'].includes("require-trusted-types-for 'script'") &&
    h['content-security-policy'].includes("frame-ancestors 'none'") && h['x-content-type-options'] === 'nosniff' &&
    h['referrer-policy'] === 'no-referrer' && h['strict-transport-security'].startsWith('max-age=') ||
    JSON.stringify(h);
});
await page.getByRole('heading', {name: 'Sign in to jitgate'}).waitFor();
await inspect(page, 'signin');

await check('a wrong token is refused inline, with the server\'s message', async () => {
  await page.getByLabel('Token', {exact: true}).fill('jgt_0123456789abcdef_' + 'x'.repeat(43));
  await page.getByRole('button', {name: 'Sign in'}).click();
  const e = page.locator('#signin-error');
  await e.waitFor();
  return (await e.textContent()).includes('Authentication failed');
});

await check('the Owner signs in with the keyboard alone (token, Enter)', async () => {
  await page.getByLabel('Token', {exact: true}).fill('');
  await page.getByLabel('Token', {exact: true}).focus();
  await page.keyboard.type(cfg.admin);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('tab', {name: /^Configured/}).waitFor();
  return (await page.locator('#who-name').textContent()).includes('admin');
});

await check('the session cookie is __Host-, HttpOnly, Secure, SameSite=Strict, Path=/', async () => {
  const c = (await ctx.cookies()).find((x) => x.name === '__Host-jitgate_session');
  return c && c.httpOnly && c.secure && c.sameSite === 'Strict' && c.path === '/' &&
    !c.domain.startsWith('.') && c.value.startsWith('jgs_') || JSON.stringify(c);
});

await check('tabs with counts: Configured (0), Not configured (2), Unsupported (1)', async () => {
  const names = await page.getByRole('tab').allTextContents();
  return JSON.stringify(names) === JSON.stringify(['Configured (0)', 'Not configured (2)', 'Unsupported (1)']) ||
    JSON.stringify(names);
});
await inspect(page, 'jit-configured-empty');

await check('the tabs work with the arrow keys', async () => {
  await tab(page, 'Configured').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  return (await tab(page, 'Unsupported').getAttribute('aria-selected')) === 'true';
});
await check('Unsupported says why: no enforcement point', async () =>
  (await row(page, 'legacy').textContent()).includes('missing network security group'));
await inspect(page, 'jit-unsupported');

await tab(page, 'Not configured').click();
await check('Not configured lists vm1 and vm2 with search', async () => {
  const all = await page.locator('#vm-table tbody tr').count();
  await page.getByLabel('Search').fill('vm2');
  const one = await page.locator('#vm-table tbody tr').count();
  await page.getByLabel('Search').fill('');
  return all === 2 && one === 1 || `${all} ${one}`;
});
await check('sorting by a column header reverses the order (and says so: aria-sort)', async () => {
  const names = () => page.locator('#vm-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.vm));
  const a = await names();
  await page.getByRole('button', {name: /^Virtual machine/}).click();
  const b = await names();
  const sort = await page.locator('#vm-table th[aria-sort]').getAttribute('aria-sort');
  await page.getByRole('button', {name: /^Virtual machine/}).click();
  return a.join() === 'vm1,vm2' && b.join() === 'vm2,vm1' && sort === 'descending' || `${a} ${b} ${sort}`;
});
await inspect(page, 'jit-not-configured');

await check('before JIT, port 22 of vm1 is open', () => connect());

await check('Enable JIT on vm1 with the recommended ports', async () => {
  await page.getByLabel('Select vm1').check();
  await page.getByRole('button', {name: 'Enable JIT on 1 VM'}).click();
  const dlg = page.getByRole('dialog', {name: 'Enable JIT on vm1'});
  await dlg.waitFor();
  const ports = await dlg.locator('tbody tr td:first-child').allTextContents();
  if (JSON.stringify(ports) !== JSON.stringify(['22', '3389', '5985', '5986'])) return JSON.stringify(ports);
  await inspect(page, 'dialog-enable');
  await dlg.getByRole('button', {name: 'Enable JIT'}).click();
  await dlg.waitFor({state: 'detached'});
  await tab(page, 'Configured').click();
  await row(page, 'vm1').waitFor();
  return (await page.getByRole('tab').allTextContents())[0] === 'Configured (1)';
});

await check('the policy the console wrote: vm1 with 22, 3389, 5985, 5986, any source, PT3H', async () => {
  const p = (await api(cfg.admin, 'GET', POLICY)).json;
  const r = p.properties.virtualMachines[0];
  return r.ports.map((x) => x.number).join() === '22,3389,5985,5986' &&
    r.ports.every((x) => x.allowedSourceAddressPrefix === '*' && x.maxRequestAccessDuration === 'PT3H') || JSON.stringify(p);
});
await check('Enabled: the agent locks port 22 (a TCP connect fails)', async () =>
  await vmApplied(cfg.vm1) && await eventually(async () => !(await connect())));
await check('Configured shows vm1 with its connection details and a healthy agent', async () => {
  const t = await row(page, 'vm1').textContent();
  return t.includes(cfg.vmAddr) && t.includes('22') || t;
});
await page.getByRole('button', {name: 'Refresh'}).click();
await row(page, 'vm1').waitFor();
await inspect(page, 'jit-configured');

await check('Edit JIT: add a port (TCP, two CIDR ranges, 1 hour) in its dialog, save', async () => {
  await page.getByRole('button', {name: 'Edit JIT on vm1'}).click();
  const dlg = page.getByRole('dialog', {name: 'Edit JIT on vm1'});
  await dlg.waitFor();
  await dlg.getByRole('button', {name: 'Add port'}).click();
  const pd = page.getByRole('dialog', {name: 'Add port'});
  await pd.getByLabel('Port', {exact: true}).fill('2222');
  await pd.getByLabel('Protocol').selectOption('TCP');
  await pd.getByLabel('IP addresses or CIDR ranges').check();
  await pd.getByLabel('Addresses or ranges').fill('10.84.0.0/24\n192.168.0.0/16');
  await pd.getByLabel('Max request time').selectOption({label: '1 hour'});
  await inspect(page, 'dialog-port');
  await pd.getByRole('button', {name: 'OK'}).click();
  await pd.waitFor({state: 'detached'});
  await inspect(page, 'dialog-edit');
  await dlg.getByRole('button', {name: 'Save'}).click();
  await dlg.waitFor({state: 'detached'});
  const r = (await api(cfg.admin, 'GET', POLICY)).json.properties.virtualMachines[0];
  const p = r.ports.find((x) => x.number === 2222);
  return p && p.protocol === 'TCP' && p.maxRequestAccessDuration === 'PT1H' &&
    JSON.stringify(p.allowedSourceAddressPrefixes) === '["10.84.0.0/24","192.168.0.0/16"]' &&
    r.ports.length === 5 || JSON.stringify(r);
});
await check('Edit JIT: remove that port again (Escape closes without saving)', async () => {
  await page.getByRole('button', {name: 'Edit JIT on vm1'}).click();
  let dlg = page.getByRole('dialog', {name: 'Edit JIT on vm1'});
  await dlg.getByRole('button', {name: 'Remove port 2222'}).click();
  await page.keyboard.press('Escape');
  await dlg.waitFor({state: 'detached'});
  const kept = (await api(cfg.admin, 'GET', POLICY)).json.properties.virtualMachines[0].ports.length;
  await page.getByRole('button', {name: 'Edit JIT on vm1'}).click();
  dlg = page.getByRole('dialog', {name: 'Edit JIT on vm1'});
  await dlg.getByRole('button', {name: 'Remove port 2222'}).click();
  await dlg.getByRole('button', {name: 'Save'}).click();
  await dlg.waitFor({state: 'detached'});
  const r = (await api(cfg.admin, 'GET', POLICY)).json.properties.virtualMachines[0];
  return kept === 5 && r.ports.map((x) => x.number).join() === '22,3389,5985,5986' || `${kept} ${JSON.stringify(r)}`;
});
await vmApplied(cfg.vm1);

await check('Request access for 22 from My IP: the page shows it applied', async () => {
  await page.getByRole('button', {name: 'Request access to vm1'}).click();
  const dlg = page.getByRole('dialog', {name: 'Request access to vm1'});
  await dlg.waitFor();
  if (!(await dlg.getByLabel(`My IP (${cfg.myIp})`).first().isChecked())) return 'My IP is not the default';
  if (!(await dlg.getByLabel(/^Port 22 /).isChecked())) return 'port 22 is not on';
  // With no port on, the button is off and says why.
  await dlg.getByLabel(/^Port 22 /).uncheck();
  const send = dlg.getByRole('button', {name: 'Open ports'});
  const off = await send.isDisabled();
  const why = await dlg.locator('.buttons .hint').textContent();
  await dlg.getByLabel(/^Port 22 /).check();
  if (!off || !why.includes('at least one port') || await send.isDisabled()) return `disabled ${off}: ${why}`;
  await dlg.getByLabel('Justification').fill('browser test: seed flow');
  await inspect(page, 'dialog-request');
  await dlg.getByRole('button', {name: 'Open ports'}).click();
  await dlg.waitFor({state: 'detached'});
  const state = page.locator('.grant[data-vm="vm1"][data-port="22"] .grant-state');
  await state.waitFor();
  await page.waitForFunction(() => {
    const s = document.querySelector('.grant[data-vm="vm1"][data-port="22"] .grant-state');
    return s && s.textContent === 'Applied';
  }, null, {timeout: 30000});
  return true;
});
await check('applied: a real TCP connect to vm1:22 from My IP succeeds', () => eventually(() => connect(), 5000));
await check('the grant shows connection details, its end time and a countdown', async () => {
  const g = page.locator('.grant[data-vm="vm1"][data-port="22"]');
  const conn = await g.locator('code.conn').textContent();
  const c1 = await g.locator('.countdown').textContent();
  await sleep(2100);
  const c2 = await g.locator('.countdown').textContent();
  return conn === `ssh user@${cfg.vmAddr}` && c1 !== c2 && /^2h 59m|^3h 0m/.test(c1) || `${conn} ${c1} ${c2}`;
});
await inspect(page, 'jit-active-access');

await check('Revoke now: the grant goes and the TCP connect fails', async () => {
  await page.getByRole('button', {name: 'Revoke now: vm1 port 22'}).click();
  await page.locator('.grant[data-vm="vm1"]').waitFor({state: 'detached'});
  return await vmApplied(cfg.vm1) && await eventually(async () => !(await connect()));
});

await check('a refused request shows the server\'s message in the dialog and changes nothing', async () => {
  const before = (await api(cfg.admin, 'GET', POLICY)).json.properties.requests.length;
  await page.getByRole('button', {name: 'Request access to vm1'}).click();
  const dlg = page.getByRole('dialog', {name: 'Request access to vm1'});
  await dlg.getByLabel('IP range', {exact: true}).first().check();
  await dlg.getByLabel('IP range for port 22').fill('300.1.2.3');
  await dlg.getByRole('button', {name: 'Open ports'}).click();
  const e = dlg.locator('.error');
  await e.waitFor();
  const msg = await e.textContent();
  await inspect(page, 'dialog-request-error');
  await page.keyboard.press('Escape');
  await dlg.waitFor({state: 'detached'});
  const after = (await api(cfg.admin, 'GET', POLICY)).json.properties.requests.length;
  return msg.includes('300.1.2.3') && before === after || msg;
});

await check('Extend is offered within the maximum (a new request replaces the old one)', async () => {
  const r = await api(cfg.admin, 'POST', POLICY + '/initiate', {virtualMachines: [{id: cfg.vm1, ports: [
    {number: 22, allowedSourceAddressPrefix: '10.84.0.99', endTimeUtc: new Date(Date.now() + 600000).toISOString()}]}]});
  if (r.status !== 202) return r.text;
  await page.getByRole('button', {name: 'Refresh'}).click();
  await page.getByRole('button', {name: 'Extend: vm1 port 22'}).click();
  const dlg = page.getByRole('dialog', {name: 'Extend access to vm1'});
  await dlg.waitFor();
  const opts = await dlg.locator('select option').allTextContents();
  await dlg.getByRole('button', {name: 'Extend'}).click();
  await dlg.waitFor({state: 'detached'});
  const p = (await api(cfg.admin, 'GET', POLICY)).json;
  const ports = p.properties.requests[0].virtualMachines[0].ports;
  const left = Date.parse(ports[0].endTimeUtc) - Date.now();
  await page.getByRole('button', {name: 'Revoke now: vm1 port 22'}).click();
  await page.locator('.grant[data-vm="vm1"]').waitFor({state: 'detached'});
  return opts.at(-1) === '3 hours' && ports[0].allowedSourceAddressPrefix === '10.84.0.99' &&
    left > 50 * 60000 && left <= 61 * 60000 || JSON.stringify({opts, ports});
});

// ---- the activity log ----

await check('the activity log of vm1 shows each step of the flow', async () => {
  await page.getByRole('link', {name: 'Activity log of vm1'}).click();
  await page.getByRole('heading', {name: 'Activity log: vm1'}).waitFor();
  await page.locator('#log-table').waitFor();
  const ops = await page.locator('#log-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.op));
  const want = [`${JIT}/write`, `${JIT}/initiate/action`, 'Jitgate/enforcementPoints/apply/action',
    `${JIT}/revoke/action`];
  return want.every((w) => ops.includes(w)) || JSON.stringify(ops);
});
await check('the audit chain verify status is shown', async () => {
  await page.waitForFunction(() => document.querySelector('#verify').textContent.startsWith('Audit chain verified'));
  return true;
});
await inspect(page, 'activity-vm');

async function downloadCsv() {
  const [dl] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', {name: 'Download as CSV'}).click()]);
  return fs.readFileSync(await dl.path());
}
await check('Download as CSV is byte-identical to the API\'s CSV (vm1, unfiltered)', async () => {
  for (let i = 0; i < 3; i++) {
    const before = (await api(cfg.admin, 'GET', `${cfg.vm1}/providers/Jitgate/auditLogs`, null, '&format=csv')).text;
    const got = await downloadCsv();
    const after = (await api(cfg.admin, 'GET', `${cfg.vm1}/providers/Jitgate/auditLogs`, null, '&format=csv')).text;
    if (got.equals(Buffer.from(before)) || got.equals(Buffer.from(after))) return got.length > 200 || 'too short';
  }
  return false;
});
await check('Download as CSV keeps the filter (operation: request access), byte-identical', async () => {
  await page.getByLabel('Operation').selectOption({label: 'Request access (initiate)'});
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await page.waitForTimeout(300);
  const rows = await page.locator('#log-table tbody tr').count();
  const got = await downloadCsv();
  const want = (await api(cfg.admin, 'GET', `${cfg.vm1}/providers/Jitgate/auditLogs`, null,
    `&format=csv&operation=${encodeURIComponent(JIT + '/initiate/action')}`)).text;
  return got.equals(Buffer.from(want)) && rows >= 2 && want.split('\n').length >= 3 || `${rows}\n${got}\n---\n${want}`;
});

await page.getByRole('link', {name: 'Activity log', exact: true}).click();
await page.getByRole('heading', {name: 'Activity log', exact: true}).waitFor();
await page.locator('#log-table').waitFor();
await check('the global activity log shows the sign-ins and the failed one', async () => {
  const ops = await page.locator('#log-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.op));
  return ops.includes('Jitgate/sessions/write') && ops.includes('Jitgate/signIn/action') || JSON.stringify(ops);
});
await inspect(page, 'activity');

// ---- admin ----

await page.getByRole('link', {name: 'Admin'}).click();
await page.getByRole('heading', {name: 'Administration'}).waitFor();
await page.getByRole('heading', {name: 'JIT settings'}).waitFor();
await check('admin: enforcement points with health and sync, principals, role assignments', async () => {
  const t = await page.locator('main').textContent();
  return ['ep-vm1', 'Healthy', 'In sync', 'rita', 'jan', 'JIT Network Access Requester'].every((w) => t.includes(w)) || t.slice(0, 2000);
});
await check('admin: a new token is shown once, then listed without its secret', async () => {
  await page.getByRole('button', {name: 'Tokens of rita'}).click();
  await page.getByLabel('Token name').fill('from the console');
  await page.getByRole('button', {name: 'Create token'}).click();
  const code = page.locator('#tokens .secret code');
  await code.waitFor();
  const secret = await code.textContent();
  const who = await api(secret, 'GET', '/providers/Jitgate/whoami');
  return secret.startsWith('jgt_') && who.json.principal.name === 'rita' || who.text;
});
await check('admin: an enrollment token is made and shown once', async () => {
  await page.getByRole('button', {name: 'Create enrollment token'}).click();
  const code = page.locator('.secret', {hasText: 'Enrollment token'}).locator('code');
  await code.waitFor();
  return (await code.textContent()).startsWith('jge_');
});
await check('admin: a principal is created, given a role at a VM, and the role removed', async () => {
  await page.getByLabel('Name', {exact: true}).fill('olga');
  await page.getByLabel('Display name').fill('Olga Example');
  await page.getByRole('button', {name: 'Create principal'}).click();
  await page.getByRole('cell', {name: 'Olga Example'}).waitFor();
  await page.getByLabel('Role', {exact: true}).selectOption({label: 'Reader'});
  await page.getByLabel('Principal', {exact: true}).fill('olga');
  await page.getByLabel('Scope', {exact: true}).first().fill(cfg.vm1);
  await page.getByRole('button', {name: 'Assign role'}).click();
  const remove = page.getByRole('button', {name: 'Remove Reader of olga'});
  await remove.waitFor();
  const a = await api(cfg.admin, 'GET', `${cfg.vm1}/providers/Microsoft.Authorization/roleAssignments`, null, '&principalId=olga');
  await remove.click();
  await remove.waitFor({state: 'detached'});
  const b = await api(cfg.admin, 'GET', `${cfg.vm1}/providers/Microsoft.Authorization/roleAssignments`, null, '&principalId=olga');
  return a.json.value.length === 1 && a.json.value[0].properties.scope.toLowerCase() === cfg.vm1.toLowerCase() &&
    b.json.value.length === 0 || `${a.text} ${b.text}`;
});
await inspect(page, 'admin');

await check('JIT settings: disabling JIT on the group makes vm1 Unsupported with the reason', async () => {
  await page.getByLabel('Scope', {exact: true}).last().selectOption({label: 'Resource group rg-console'});
  await page.getByLabel('JIT enabled').uncheck();
  await page.getByLabel('Reason (when disabled)').fill('change freeze');
  await page.getByRole('button', {name: 'Save settings'}).click();
  await page.getByText('JIT is disabled here: change freeze').waitFor();
  await page.getByRole('link', {name: 'JIT VM access'}).click();
  await tab(page, 'Unsupported').click();
  await row(page, 'vm1').waitFor();
  const t = await row(page, 'vm1').textContent();
  const r = await api(cfg.admin, 'PUT', `${cfg.rg}/providers/Microsoft.Security/jitSettings/default`,
    {properties: {enabled: true}});
  await page.getByRole('button', {name: 'Refresh'}).click();
  await tab(page, 'Configured').waitFor();
  return t.includes('JIT is disabled by a security policy') && t.includes('change freeze') && r.status === 200 || t;
});

// Now a second configured VM (for the requester scoped to vm1): Quick enable, in the console.
await check('Quick enable of vm2 (Windows): 3389, any source, PT3H', async () => {
  await page.getByRole('link', {name: 'JIT VM access'}).click();
  await tab(page, 'Not configured').click();
  await page.getByLabel('Select vm2').check();
  await page.getByRole('button', {name: 'Quick enable (defaults)'}).click();
  await tab(page, 'Configured').click();
  await row(page, 'vm2').waitFor();
  const p = (await api(cfg.admin, 'GET', POLICY)).json;
  const r = p.properties.virtualMachines.find((x) => x.id.toLowerCase() === cfg.vm2.toLowerCase());
  return r && r.ports.length === 1 && r.ports[0].number === 3389 && p.properties.virtualMachines.length === 2 ||
    JSON.stringify(p.properties.virtualMachines);
});

// ---- security ----

const csrf = await page.evaluate(async () => (await (await fetch('/providers/Jitgate/sessions/current?api-version=2020-01-01')).json()).csrfToken);
const initiateBody = {virtualMachines: [{id: cfg.vm1, ports: [{number: 22, endTimeUtc: new Date(Date.now() + 600000).toISOString()}]}]};
await check('a cross-origin POST carrying the cookie is refused (403), and changes nothing', async () => {
  const before = (await api(cfg.admin, 'GET', POLICY)).json.properties.requests.length;
  const r = await ctx.request.post(`${cfg.url}${POLICY}/initiate?${V}`, {data: initiateBody,
    headers: {Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': csrf}});
  const after = (await api(cfg.admin, 'GET', POLICY)).json.properties.requests.length;
  return r.status() === 403 && before === after || `${r.status()} ${await r.text()}`;
});
await check('a same-origin POST without the CSRF header is refused (403)', async () => {
  const r = await page.evaluate(async ([p, b]) => {
    const res = await fetch(p + '/initiate?api-version=2020-01-01', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(b)});
    return [res.status, (await res.json()).error.message];
  }, [POLICY, initiateBody]);
  return r[0] === 403 && r[1].includes('CSRF') || JSON.stringify(r);
});
await check('another origin\'s page cannot use the cookie (SameSite=Strict, no CORS)', async () => {
  const other = await ctx.newPage();
  other.expectRefusals = true;
  other.refusals = [];
  await other.goto(cfg.otherOrigin + '/');
  const r = await other.evaluate(async ([u, p]) => {
    try {
      const res = await fetch(u + p + '?api-version=2020-01-01', {credentials: 'include'});
      return 'read ' + res.status;
    } catch (e) { return 'blocked'; }
  }, [cfg.url, '/providers/Jitgate/whoami']);
  await other.close();
  return r === 'blocked' && other.refusals.some((t) => t.includes("connect-src 'self'")) ||
    `${r} ${other.refusals}`;
});

await check('sign-out ends the session on the server (the old cookie is refused)', async () => {
  const cookie = (await ctx.cookies()).find((x) => x.name === '__Host-jitgate_session').value;
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByRole('heading', {name: 'Sign in to jitgate'}).waitFor();
  const r = await fetch(`${cfg.url}/providers/Jitgate/whoami?${V}`, {headers: {Cookie: `__Host-jitgate_session=${cookie}`}});
  return r.status === 401 || String(r.status);
});

await check('the session ends when its token is revoked', async () => {
  const t = (await api(cfg.admin, 'POST', '/providers/Jitgate/principals/me/tokens', {name: 'browser session'})).json;
  await signIn(page, t.token);
  const del = await api(cfg.admin, 'DELETE', `/providers/Jitgate/principals/me/tokens/${t.id}`);
  if (del.status !== 200) return del.text;
  await page.getByRole('button', {name: 'Refresh'}).click();
  await page.getByRole('heading', {name: 'Sign in to jitgate'}).waitFor();
  return (await page.locator('#signin-error').textContent()).includes('session has ended');
});
await ctx.close();

// ---- roles ----

const rctx = await newContext();
const rpage = await rctx.newPage();
await check('Reader signs in with a token file', async () => {
  const f = path.join(cfg.out, '..', 'reader.token.tmp');
  fs.writeFileSync(f, cfg.reader + '\n', {mode: 0o600});
  await rpage.goto(cfg.url + '/');
  await rpage.getByLabel('Token file').setInputFiles(f);
  // The page reads the file after the change event: remove it only once it has.
  await rpage.waitForFunction(() => document.querySelector('#signin-token').value.startsWith('jgt_'));
  fs.unlinkSync(f);
  await rpage.getByRole('button', {name: 'Sign in'}).click();
  await rpage.getByRole('tab', {name: /^Configured/}).waitFor();
  return (await rpage.locator('#who-name').textContent()).includes('rita');
});
await check('Reader: sees the tabs and the VMs, but no Enable, Edit or Request button', async () => {
  const tabs = await rpage.getByRole('tab').allTextContents();
  await row(rpage, 'vm1').waitFor();
  const buttons = await rpage.locator('#vm-table button').allTextContents();
  const viewOnly = await rpage.locator('#vm-table .note').count();
  const banner = await rpage.locator('#page > .note').textContent();
  return tabs[0] === 'Configured (2)' && !buttons.some((b) => /Request|Edit|Enable/.test(b)) &&
    viewOnly === 2 && banner.includes('/write') || JSON.stringify({tabs, buttons, viewOnly, banner});
});
await check('Reader: no Admin section', async () => !(await rpage.getByRole('link', {name: 'Admin'}).isVisible()));
await inspect(rpage, 'reader-jit');
await check('Reader: the activity log is readable', async () => {
  await rpage.getByRole('link', {name: 'Activity log', exact: true}).click();
  await rpage.locator('#log-table').waitFor();
  return (await rpage.locator('#log-table tbody tr').count()) > 0;
});
await inspect(rpage, 'reader-activity');
await check('Reader: the call Request access would make is refused (403) by the server', async () => {
  const r = await rpage.evaluate(async ([p, b]) => {
    const api = await import('/console/api.js');
    try { await api.post(p + '/initiate', b); return 'allowed'; } catch (e) { return e.status + ' ' + e.message; }
  }, [POLICY, initiateBody]);
  return r.startsWith('403 ') && r.includes('initiate/action') || r;
});
await rctx.close();

const qctx = await newContext(390);
const qpage = await qctx.newPage();
await check('JIT requester of vm1: sees only vm1, and only Request access', async () => {
  await signIn(qpage, cfg.requester);
  const tabs = await qpage.getByRole('tab').allTextContents();
  await row(qpage, 'vm1').waitFor();
  const rows = await qpage.locator('#vm-table tbody tr').count();
  const buttons = await qpage.locator('#vm-table button').allTextContents();
  return tabs[0] === 'Configured (1)' && rows === 1 && JSON.stringify(buttons) === '["Request access"]' ||
    JSON.stringify({tabs, rows, buttons});
});
await inspect(qpage, 'requester-jit');
await check('JIT requester: requests access at 390 px; applied; no Revoke now button', async () => {
  await qpage.getByRole('button', {name: 'Request access to vm1'}).click();
  const dlg = qpage.getByRole('dialog', {name: 'Request access to vm1'});
  await dlg.getByRole('button', {name: 'Open ports'}).click();
  await qpage.waitForFunction(() => {
    const s = document.querySelector('.grant[data-vm="vm1"][data-port="22"] .grant-state');
    return s && s.textContent === 'Applied';
  }, null, {timeout: 30000});
  const revoke = await qpage.getByRole('button', {name: /^Revoke now/}).count();
  const ok = await eventually(() => connect(), 5000);
  await inspect(qpage, 'requester-active');
  return revoke === 0 && ok || `revoke buttons ${revoke}, connect ${ok}`;
});
await check('JIT requester: the calls Edit and vm2\'s Request access would make are refused (403)', async () => {
  const r = await qpage.evaluate(async ([p, vm2]) => {
    const api = await import('/console/api.js');
    const out = [];
    try { await api.put(p, {properties: {virtualMachines: []}}); out.push('put allowed'); } catch (e) { out.push(e.status); }
    try {
      await api.post(p + '/initiate', {virtualMachines: [{id: vm2, ports: [{number: 3389,
        endTimeUtc: new Date(Date.now() + 600000).toISOString()}]}]});
      out.push('initiate allowed');
    } catch (e) { out.push(e.status); }
    return out;
  }, [POLICY, cfg.vm2]);
  return JSON.stringify(r) === '[403,403]' || JSON.stringify(r);
});
await qctx.close();

await check('Disable JIT on vm2 (Edit): it goes back to Not configured, vm1 stays', async () => {
  const c = await newContext();
  const p = await c.newPage();
  await signIn(p, cfg.admin);
  await p.getByRole('button', {name: 'Edit JIT on vm2'}).click();
  const dlg = p.getByRole('dialog', {name: 'Edit JIT on vm2'});
  await dlg.getByRole('button', {name: 'Disable JIT'}).click();
  await dlg.waitFor({state: 'detached'});
  await tab(p, 'Not configured').click();
  await row(p, 'vm2').waitFor();
  await c.close();
  const pol = (await api(cfg.admin, 'GET', POLICY)).json;
  return pol.properties.virtualMachines.map((x) => x.id.split('/').pop()).join() === 'vm1' ||
    JSON.stringify(pol.properties.virtualMachines);
});

} catch (e) {
  // A step outside any check failed: say where, with what the browser last said.
  result(false, 'the browser run reached its end', `${e.stack}\n${recent.join('\n')}`);
}

// ---- the whole run ----

result(violations.length === 0, 'no CSP, Trusted Types or script errors in the browser during the whole run',
  violations.join('\n'));
result(shotNames.length >= 30, `screenshots of every page at 1280 and 390 px (${shotNames.length}) in ${cfg.out}`);
await browser.close();
process.exit(failures ? 1 : 0);
