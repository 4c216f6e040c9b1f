// bench/console_bench.mjs (run by bench/console.sh): the console's first load and its
// 1,000-VM render in Debian's chromium. Seeds 1,000 VMs behind one gateway enforcement
// point in one JIT policy, then prints figures (median of 5, with min and max).
const {chromium} = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));
import crypto from 'node:crypto';
import fs from 'node:fs';

const [url, tokenFile, ca, uid] = process.argv.slice(2);
const token = fs.readFileSync(tokenFile, 'utf8').trim();
const V = 'api-version=2020-01-01';
// 6 at a time: jitgated lets one caller have at most 8 connections still in their handshake.
const N = 1000, RUNS = 5;

async function api(method, p, body) {
  const r = await fetch(`${url}${p}${p.includes('?') ? '&' : '?'}${V}`, {method,
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: body ? JSON.stringify(body) : undefined});
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

const sub = (await api('GET', '/subscriptions')).value[0].subscriptionId;
const rg = `/subscriptions/${sub}/resourceGroups/bench`;
await api('PUT', rg, {location: 'westeurope'});
const et = await api('POST', `${rg}/providers/Jitgate/enrollmentTokens`, {});
const ep = await (await fetch(`${url}/agent/v1/enroll`, {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({enrollmentToken: et.token, name: 'gw', kind: 'gateway'})})).json();
const ids = [];
for (let i = 0; i < N; i += 6)
  await Promise.all(Array.from({length: Math.min(6, N - i)}, (_, k) => {
    const n = i + k, id = `${rg}/providers/Microsoft.Compute/virtualMachines/vm${String(n).padStart(4, '0')}`;
    ids.push(id);
    return api('PUT', id, {properties: {osType: n % 3 ? 'Linux' : 'Windows',
      addresses: [`10.${(n >> 8) & 255}.${n & 255}.4`], enforcementPoint: ep.enforcementPoint}});
  }));
await api('PUT', `${rg}/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default`,
  {properties: {virtualMachines: ids.map((id) => ({id, ports: [{number: 22, protocol: '*',
    allowedSourceAddressPrefix: '*', maxRequestAccessDuration: 'PT3H'}]}))}});

const spki = crypto.createHash('sha256').update(new crypto.X509Certificate(fs.readFileSync(ca))
  .publicKey.export({type: 'spki', format: 'der'})).digest('base64');
const browser = await chromium.launch({executablePath: '/usr/bin/chromium',
  args: [...(uid === '0' ? ['--no-sandbox'] : []), `--ignore-certificate-errors-spki-list=${spki}`,
    '--disable-background-networking', '--disable-component-update', '--no-first-run']});

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return {med: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1]};
};
const fmt = (x) => `${x.med.toFixed(0)} ms (min ${x.min.toFixed(0)}, max ${x.max.toFixed(0)})`;

// First load: what the sign-in page fetches, as sent (gzip) and decoded.
{
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const sizes = [];
  page.on('response', async (r) => {
    const body = await r.body().catch(() => Buffer.alloc(0));
    sizes.push({url: r.url(), wire: Number(r.headers()['content-length'] || body.length), plain: body.length});
  });
  await page.goto(url + '/', {waitUntil: 'networkidle'});
  const wire = sizes.reduce((a, s) => a + s.wire, 0), plain = sizes.reduce((a, s) => a + s.plain, 0);
  console.log(`first load: ${sizes.length} requests, ${(wire / 1024).toFixed(1)} KB sent (gzip), ` +
    `${(plain / 1024).toFixed(1)} KB decoded`);
  await ctx.close();
}

// 1,000 VMs: sign in once, then reload the page RUNS times (cache: ETag revalidation).
const ctx = await browser.newContext({viewport: {width: 1280, height: 900}});
const page = await ctx.newPage();
await page.goto(url + '/');
await page.fill('#signin-token', token);
await page.click('#signin-form button[type=submit]');
await page.waitForFunction((n) => document.querySelectorAll('#vm-table tbody tr').length === n, N, {timeout: 60000});
const total = [], apiMs = [], sort = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = Date.now();
  await page.reload();
  await page.waitForFunction((n) => document.querySelectorAll('#vm-table tbody tr').length === n, N, {timeout: 60000});
  total.push(Date.now() - t0);
  // The reference: the same API calls the page makes, timed from the page.
  apiMs.push(await page.evaluate(async (s) => {
    const t = performance.now();
    await Promise.all([
      fetch(`/subscriptions/${s}/providers/Microsoft.Compute/virtualMachines?api-version=2020-01-01`).then((r) => r.json()),
      fetch(`/subscriptions/${s}/providers/Microsoft.Security/jitNetworkAccessPolicies?api-version=2020-01-01`).then((r) => r.json()),
    ]);
    return performance.now() - t;
  }, sub));
  sort.push(await page.evaluate(async () => {
    const b = document.querySelector('#vm-table thead button.sort');
    const t = performance.now();
    b.click();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t;
  }));
}
const T = stats(total), A = stats(apiMs);
console.log(`1,000 VMs, page load to all rows rendered: ${fmt(T)}`);
console.log(`  its two list calls alone (reference, same run): ${fmt(A)}; load/API ratio ${(T.med / A.med).toFixed(2)}`);
console.log(`  re-sort of the 1,000 rows (click to next frame): ${fmt(stats(sort))}`);
await browser.close();
