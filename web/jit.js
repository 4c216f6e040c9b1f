// jit.js: the "Just-in-time VM access" page: tabs Configured / Not configured /
// Unsupported with counts, search and sort, the user's active access (live state,
// connection details, countdown, Revoke now, Extend), and the Enable / Edit / Request
// dialogs (dialogs.js). Built for 1,000 VMs: one list call per subscription.
import {get, list, post, parseId} from './api.js';
import {h, clear, fmtTime, fmtDuration, errorBox, toast} from './dom.js';
import {A, can, canWithin, why} from './perms.js';
import {openPolicyDialog, openRequestDialog, quickEnable} from './dialogs.js';

const TABS = [
  {key: 'Configured', label: 'Configured'},
  {key: 'NotConfigured', label: 'Not configured'},
  {key: 'Unsupported', label: 'Unsupported'},
];
const COLUMNS = {
  Configured: [['name', 'Virtual machine'], ['approved', 'Approved (last 7 days)'],
    ['lastAccess', 'Last access'], ['lastUser', 'Last user'], ['connection', 'Connection details'],
    ['agent', 'Agent health']],
  NotConfigured: [['name', 'Virtual machine'], ['rg', 'Resource group'], ['os', 'OS'],
    ['agent', 'Agent health']],
  Unsupported: [['name', 'Virtual machine'], ['rg', 'Resource group'], ['reason', 'Reason']],
};

const state = {tab: 'Configured', search: '', sort: 'name', desc: false, selected: new Set(),
  vms: [], policies: [], session: null, root: null, pending: new Map(), timer: null};

export async function renderJit(root, session) {
  state.root = root;
  state.session = session;
  clear(root, h('h1', {}, 'Just-in-time VM access'), h('p', {class: 'muted'}, 'Loading…'));
  try {
    await load();
  } catch (e) {
    clear(root, h('h1', {}, 'Just-in-time VM access'), errorBox(e));
    return;
  }
  draw();
}

export async function load() {
  const subs = await list('/subscriptions');
  const vms = [], policies = [];
  await Promise.all(subs.map(async (s) => {
    const base = `/subscriptions/${s.subscriptionId}`;
    const [v, p] = await Promise.all([
      list(`${base}/providers/Microsoft.Compute/virtualMachines`).catch((e) =>
        e.status === 403 ? [] : Promise.reject(e)),
      list(`${base}/providers/Microsoft.Security/jitNetworkAccessPolicies`).catch((e) =>
        e.status === 403 ? [] : Promise.reject(e)),
    ]);
    vms.push(...v);
    policies.push(...p);
  }));
  const byVm = new Map();
  for (const p of policies)
    for (const r of p.properties.virtualMachines || []) byVm.set(r.id.toLowerCase(), {policy: p, rule: r});
  state.policies = policies;
  state.vms = vms.map((vm) => {
    const j = vm.properties.jit || {};
    const at = byVm.get(vm.id.toLowerCase()) || {};
    const id = parseId(vm.id);
    return {vm, id: vm.id, name: vm.name, rg: id.rg, sub: id.sub, os: vm.properties.osType,
      jit: j, state: j.state, policy: at.policy, rule: at.rule,
      approved: j.approvedRequestsLast7Days || 0, lastAccess: j.lastAccessUtc || '',
      lastUser: j.lastUser || '', reason: j.reason || '',
      agent: j.enforcementPointHealthy === undefined ? '' : j.enforcementPointHealthy ?
        'Healthy' : 'Unhealthy'};
  });
}

function matches(v) {
  const q = state.search.trim().toLowerCase();
  return !q || [v.name, v.rg, v.os, v.reason, v.lastUser].some((s) => (s || '').toLowerCase().includes(q));
}

function sorted(rows) {
  const k = state.sort, dir = state.desc ? -1 : 1;
  return rows.sort((a, b) => {
    const x = a[k], y = b[k];
    if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
    return String(x || '').localeCompare(String(y || ''), undefined, {numeric: true}) * dir;
  });
}

// Background work (a grant being applied, a countdown ending) redraws only while the
// page is still showing: the user may have gone to another page meanwhile.
const showing = () => ['', '#', '#/jit'].includes(location.hash.split('?')[0]);

export function draw() {
  if (!showing()) return;
  const root = state.root;
  const counts = Object.fromEntries(TABS.map((t) => [t.key, state.vms.filter((v) => v.state === t.key).length]));
  const tablist = h('div', {role: 'tablist', 'aria-label': 'VM JIT state', class: 'tabs'},
    TABS.map((t) => h('button', {
      role: 'tab', type: 'button', id: `tab-${t.key}`, 'aria-selected': String(state.tab === t.key),
      'aria-controls': 'tabpanel', tabindex: state.tab === t.key ? '0' : '-1',
      onclick: () => { state.tab = t.key; state.sort = 'name'; draw(); focusTab(); },
      onkeydown: tabKeys,
    }, `${t.label} (${counts[t.key]})`)));
  const search = h('input', {type: 'search', id: 'vm-search', value: state.search,
    placeholder: 'Search by name, group, OS…',
    oninput: (e) => { state.search = e.target.value; drawTable(); }});
  const banner = canWithin(A.policyWrite, '/') ? null :
    h('p', {class: 'note'}, 'Enabling or editing JIT is not available to you: ',
      why(A.policyWrite, 'any scope'));
  clear(root,
    h('h1', {}, 'Just-in-time VM access'),
    activePanel(),
    banner,
    tablist,
    h('div', {class: 'toolbar'},
      h('label', {for: 'vm-search', class: 'inline'}, 'Search'), search,
      h('button', {type: 'button', onclick: () => renderJit(root, state.session)}, 'Refresh')),
    h('div', {id: 'tabpanel', role: 'tabpanel', 'aria-labelledby': `tab-${state.tab}`}));
  drawTable();
  tick();
}

function focusTab() {
  const t = document.getElementById(`tab-${state.tab}`);
  if (t) t.focus();
}

function tabKeys(e) {
  const i = TABS.findIndex((t) => t.key === state.tab);
  let j = i;
  if (e.key === 'ArrowRight') j = (i + 1) % TABS.length;
  else if (e.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
  else if (e.key === 'Home') j = 0;
  else if (e.key === 'End') j = TABS.length - 1;
  else return;
  e.preventDefault();
  state.tab = TABS[j].key;
  draw();
  focusTab();
}

function drawTable() {
  const panel = document.getElementById('tabpanel');
  const rows = sorted(state.vms.filter((v) => v.state === state.tab && matches(v)));
  const cols = COLUMNS[state.tab];
  const head = h('tr', {},
    state.tab === 'NotConfigured' ? h('th', {scope: 'col'}, h('span', {class: 'sr'}, 'Select')) : null,
    cols.map(([k, label]) => h('th', {scope: 'col',
      'aria-sort': state.sort === k ? (state.desc ? 'descending' : 'ascending') : null},
    h('button', {type: 'button', class: 'sort', onclick: () => {
      state.desc = state.sort === k ? !state.desc : false;
      state.sort = k;
      drawTable();
    }}, label, state.sort === k ? (state.desc ? ' ▼' : ' ▲') : ''))),
    state.tab !== 'Unsupported' ? h('th', {scope: 'col'}, 'Actions') : null);
  const body = h('tbody', {}, rows.map((v) => row(v)));
  const tools = [];
  if (state.tab === 'NotConfigured') {
    const sel = [...state.selected].map((id) => state.vms.find((v) => v.id === id)).filter(
      (v) => v && v.state === 'NotConfigured');
    const allowed = sel.every((v) => can(A.policyWrite, v.id));
    tools.push(h('div', {class: 'toolbar'},
      h('button', {type: 'button', class: 'primary', id: 'enable-jit',
        disabled: sel.length === 0 || !allowed,
        onclick: () => openPolicyDialog(sel, state.policies, refresh)},
      sel.length ? `Enable JIT on ${sel.length} VM${sel.length > 1 ? 's' : ''}` : 'Enable JIT'),
      h('button', {type: 'button', disabled: sel.length === 0 || !allowed,
        onclick: () => quickEnable(sel, state.policies).then(refresh, (e) => toast(e.message))},
      'Quick enable (defaults)'),
      sel.length && !allowed ? h('span', {class: 'note'}, why(A.policyWrite, sel.find(
        (v) => !can(A.policyWrite, v.id)).id)) : null));
  }
  clear(panel, tools,
    rows.length === 0 ? h('p', {class: 'muted'}, state.vms.length ? 'No virtual machines match.' :
      'No virtual machines yet.') :
      h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Virtual machines'},
        h('table', {class: 'grid cards', id: 'vm-table'}, h('thead', {}, head), body)),
    h('p', {class: 'muted small'}, `${rows.length} shown`));
}

function connection(v) {
  const c = v.jit.connection || {};
  const addrs = (c.addresses || []).join(', ');
  const ports = (c.ports || []).map((p) => p.mappedPort ? `${p.number}→${p.mappedPort}` : p.number).join(', ');
  return addrs ? `${addrs}${ports ? ' : ' + ports : ''}` : '—';
}

// A cell with its column's name, which narrow screens show beside the value.
const td = (label, ...children) => h('td', {'data-label': label}, ...children);

function row(v) {
  const name = td('Virtual machine', h('span', {class: 'vmname'}, v.name), h('span', {class: 'sub'}, v.rg));
  if (state.tab === 'Configured') {
    const actions = [];
    if (can(A.initiate, v.id))
      actions.push(h('button', {type: 'button', class: 'primary small',
        'aria-label': `Request access to ${v.name}`,
        onclick: () => openRequestDialog(v, state.session, onRequested)}, 'Request access'));
    if (can(A.policyWrite, v.id))
      actions.push(h('button', {type: 'button', class: 'small', 'aria-label': `Edit JIT on ${v.name}`,
        onclick: () => openPolicyDialog([v], state.policies, refresh)}, 'Edit'));
    actions.push(h('a', {href: `#/activity?vm=${encodeURIComponent(v.id)}`, class: 'small',
      'aria-label': `Activity log of ${v.name}`}, 'Activity log'));
    if (!can(A.initiate, v.id))
      actions.push(viewOnly(why(A.initiate, v.id)));
    return h('tr', {'data-vm': v.name}, name, td('Approved (last 7 days)', String(v.approved)),
      td('Last access', fmtTime(v.lastAccess)), td('Last user', v.lastUser || '—'),
      td('Connection details', h('code', {}, connection(v))), td('Agent health', agentCell(v)),
      h('td', {class: 'actions', 'data-label': 'Actions'}, actions));
  }
  if (state.tab === 'NotConfigured') {
    const box = h('input', {type: 'checkbox', checked: state.selected.has(v.id),
      'aria-label': `Select ${v.name}`,
      onchange: (e) => {
        if (e.target.checked) state.selected.add(v.id); else state.selected.delete(v.id);
        drawTable();
        const again = document.querySelector(`tr[data-vm="${CSS.escape(v.name)}"] input`);
        if (again) again.focus();
      }});
    const act = can(A.policyWrite, v.id) ?
      h('button', {type: 'button', class: 'small', 'aria-label': `Enable JIT on ${v.name}`,
        onclick: () => openPolicyDialog([v], state.policies, refresh)}, 'Enable JIT') :
      viewOnly(why(A.policyWrite, v.id));
    return h('tr', {'data-vm': v.name}, td('Select', box), name, td('Resource group', v.rg),
      td('OS', v.os), td('Agent health', agentCell(v)),
      h('td', {class: 'actions', 'data-label': 'Actions'}, act));
  }
  return h('tr', {'data-vm': v.name}, name, td('Resource group', v.rg), td('Reason', v.reason));
}

// Where a button is missing: say so, and why (the reason is read out, and shown on hover).
function viewOnly(reason) {
  return h('span', {class: 'note small', title: reason}, 'View only', h('span', {class: 'sr'}, ': ' + reason));
}

function agentCell(v) {
  if (!v.agent) return h('span', {class: 'muted'}, 'no agent');
  const seen = v.jit.enforcementPointLastSeenUtc;
  return h('span', {class: v.agent === 'Healthy' ? 'ok' : 'bad',
    title: seen ? `last seen ${fmtTime(seen)}` : 'never seen'}, v.agent);
}

async function refresh() {
  if (!showing()) return;
  await load();
  draw();
}

// ---- the user's active access ----

// Requests of the policies this user sees that are still running, newest first.
function activeGrants() {
  const now = Date.now(), out = [], seen = new Set();
  for (const p of state.policies) {
    for (const r of p.properties.requests || []) {
      for (const rv of r.virtualMachines || []) {
        const v = state.vms.find((x) => x.id.toLowerCase() === rv.id.toLowerCase());
        if (!v) continue;
        for (const port of rv.ports || []) {
          const end = Date.parse(port.endTimeUtc);
          const key = `${v.id}|${port.number}|${port.allowedSourceAddressPrefix}`;
          if (port.status !== 'Initiated' || end <= now || seen.has(key)) continue;
          seen.add(key);
          out.push({v, policy: p, port, end, requestor: r.requestor});
        }
      }
    }
  }
  return out;
}

function activePanel() {
  const grants = activeGrants();
  if (!grants.length) return h('section', {id: 'active', 'aria-label': 'Active access', hidden: true});
  return h('section', {id: 'active', class: 'card', 'aria-labelledby': 'active-title'},
    h('h2', {id: 'active-title'}, 'Active access'),
    h('ul', {class: 'grants'}, grants.map(grantItem)));
}

function grantItem(g) {
  const v = g.v, port = g.port;
  const pend = state.pending.get(v.id.toLowerCase());
  const applied = !pend || pend.applied;
  const addr = ((v.jit.connection || {}).addresses || [])[0] || '';
  const hint = port.number === 22 ? `ssh user@${addr}` : port.number === 3389 ?
    `mstsc /v:${addr}` : `${addr}:${port.number}`;
  const actions = [];
  if (can(A.revoke, v.id))
    actions.push(h('button', {type: 'button', class: 'danger small',
      'aria-label': `Revoke now: ${v.name} port ${port.number}`,
      onclick: (e) => revoke(g, e.target)}, 'Revoke now'));
  if (can(A.initiate, v.id))
    actions.push(h('button', {type: 'button', class: 'small',
      'aria-label': `Extend: ${v.name} port ${port.number}`,
      onclick: () => openRequestDialog(v, state.session, onRequested,
        {number: port.number, source: port.allowedSourceAddressPrefix})}, 'Extend'));
  return h('li', {class: 'grant', 'data-vm': v.name, 'data-port': String(port.number)},
    h('div', {}, h('strong', {}, `${v.name} · port ${port.number}`),
      ' from ', h('code', {}, port.allowedSourceAddressPrefix), ' · ', g.requestor),
    h('div', {class: 'state', role: 'status'},
      applied ? h('span', {class: 'ok grant-state'}, 'Applied') :
        h('span', {class: 'pending grant-state'}, pend.text || 'Applying…')),
    h('div', {}, 'Connect: ', h('code', {class: 'conn'}, hint)),
    h('div', {}, 'Ends ', fmtTime(port.endTimeUtc), ' · ',
      h('span', {class: 'countdown', 'data-end': String(g.end)}, fmtDuration(g.end - Date.now())),
      ' left'),
    h('div', {class: 'actions'}, actions));
}

function tick() {
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (!showing()) { clearInterval(state.timer); return; }
    let ended = false;
    for (const el of document.querySelectorAll('.countdown')) {
      const left = +el.dataset.end - Date.now();
      el.textContent = fmtDuration(left);
      if (left <= 0) ended = true;
    }
    if (ended) refresh().catch(() => {});
  }, 1000);
}

// After an initiate: wait until the VM's enforcement point reports the desired-state
// version that holds the grant (what `jitgate request --wait` does).
async function onRequested(v, desired) {
  const key = v.id.toLowerCase();
  state.pending.set(key, {applied: false, text: 'Applying… (sent to the enforcement point)'});
  await refresh();
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const vm = await get(v.id);
    const j = vm.properties.jit || {};
    if ((j.enforcementPointAppliedVersion || 0) >= desired) {
      state.pending.set(key, {applied: true});
      await refresh();
      toast(`Access to ${v.name} is applied.`);
      return;
    }
    state.pending.set(key, {applied: false, text:
      `Applying… enforcement point at version ${j.enforcementPointAppliedVersion || 0} of ${desired}`});
    draw();
    await new Promise((r) => setTimeout(r, 400));
  }
  state.pending.set(key, {applied: false,
    text: 'Not applied yet: the enforcement point has not confirmed it (is its agent running?)'});
  draw();
}

async function revoke(g, button) {
  button.disabled = true;
  try {
    await post(`${g.policy.id}/revoke`, {virtualMachines: [{id: g.v.id, ports: [
      {number: g.port.number, allowedSourceAddressPrefix: g.port.allowedSourceAddressPrefix}]}]});
    toast(`Access to ${g.v.name} port ${g.port.number} revoked.`);
    state.pending.delete(g.v.id.toLowerCase());
    await refresh();
  } catch (e) {
    button.disabled = false;
    button.after(errorBox(e));
  }
}
