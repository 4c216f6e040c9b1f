// activity.js: the activity log, global or of one VM: filters (time, user, operation),
// Download as CSV (the API's own CSV for the same filter, saved byte for byte) and the
// audit chain's verify status.
import {get, url, ApiError} from './api.js';
import {h, clear, field, fmtTime, errorBox} from './dom.js';

const OPS = [
  ['', 'Any operation'],
  ['Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action', 'Request access (initiate)'],
  ['Microsoft.Security/locations/jitNetworkAccessPolicies/revoke/action', 'Revoke'],
  ['Microsoft.Security/locations/jitNetworkAccessPolicies/expire/action', 'Expired'],
  ['Microsoft.Security/locations/jitNetworkAccessPolicies/write', 'Enable / edit JIT'],
  ['Microsoft.Security/locations/jitNetworkAccessPolicies/delete', 'Disable JIT'],
  ['Jitgate/enforcementPoints/apply/action', 'Agent applied the state'],
  ['Jitgate/signIn/action', 'Failed sign-in'],
  ['Jitgate/sessions/*', 'Console sign-in / sign-out'],
  ['Microsoft.Authorization/*', 'Roles'],
];

const shortOp = (op) => (OPS.find(([v]) => v === op) || [op, op.replace(/^.*jitNetworkAccessPolicies\//, '')])[1];

export async function renderActivity(root, params) {
  const vm = params.get('vm') || '';
  const base = vm ? `${vm}/providers/Jitgate/auditLogs` : '/providers/Jitgate/auditLogs';
  const since = h('input', {type: 'datetime-local', id: 'f-since'});
  const until = h('input', {type: 'datetime-local', id: 'f-until'});
  const user = h('input', {type: 'text', id: 'f-user', placeholder: 'principal name'});
  const op = h('select', {id: 'f-op'}, OPS.map(([v, l]) => h('option', {value: v}, l)));
  const out = h('div', {id: 'log-out'});
  const verify = h('p', {id: 'verify', role: 'status'}, 'Checking the audit chain…');
  const filter = () => {
    const q = {};
    if (since.value) q.since = new Date(since.value).toISOString();
    if (until.value) q.until = new Date(until.value).toISOString();
    if (user.value.trim()) q.principal = user.value.trim();
    if (op.value) q.operation = op.value;
    return q;
  };
  const show = async () => {
    clear(out, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const page = await get(base, {...filter(), top: '200'});
      drawRows(out, page.value || [], page.nextLink);
    } catch (e) { clear(out, errorBox(e)); }
  };
  const download = async (e) => {
    const btn = e.target;
    btn.disabled = true;
    try {
      const res = await fetch(url(base, {...filter(), format: 'csv'}),
        {credentials: 'same-origin', cache: 'no-store'});
      if (!res.ok) throw new ApiError(res.status, '', (await res.json()).error.message);
      const blob = new Blob([await res.arrayBuffer()], {type: 'text/csv'});
      const a = h('a', {href: URL.createObjectURL(blob), download: vm ? `${vm.split('/').pop()}-audit.csv` : 'jitgate-audit.csv'});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (ex) { out.prepend(errorBox(ex)); }
    btn.disabled = false;
  };
  clear(root,
    h('h1', {}, vm ? `Activity log: ${vm.split('/').pop()}` : 'Activity log'),
    vm ? h('p', {}, h('a', {href: '#/activity'}, 'All activity')) : null,
    verify,
    h('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); show(); }},
      field('From', since), field('To', until), field('User', user), field('Operation', op),
      h('div', {class: 'buttons'},
        h('button', {type: 'submit', class: 'primary'}, 'Apply filters'),
        h('button', {type: 'button', id: 'download-csv', onclick: download}, 'Download as CSV'))),
    out);
  show();
  try {
    const v = await get('/providers/Jitgate/auditLogs/verify');
    verify.className = v.verified ? 'ok' : 'bad';
    verify.textContent = v.verified ?
      `Audit chain verified: ${v.entries} entries, head ${v.head.slice(0, 16)}…` :
      `Audit chain BROKEN at entry ${v.firstBrokenSeq}: ${v.reason}`;
  } catch (e) {
    verify.className = 'muted';
    verify.textContent = e.status === 403 ? 'Verifying the audit chain needs Jitgate/auditLogs/read at /.' : e.message;
  }
}

function drawRows(out, rows, more) {
  if (!rows.length) { clear(out, h('p', {class: 'muted'}, 'No entries match.')); return; }
  clear(out, h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Activity entries'},
    h('table', {class: 'grid cards', id: 'log-table'},
      h('thead', {}, h('tr', {}, ['Time', 'User', 'Operation', 'Resource', 'Result', 'Caller'].map(
        (c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {'data-op': r.operationName},
        h('td', {'data-label': 'Time'}, fmtTime(r.timeUtc)),
        h('td', {'data-label': 'User'}, r.principalName || '—'),
        h('td', {'data-label': 'Operation', title: r.operationName}, shortOp(r.operationName)),
        h('td', {class: 'rid', 'data-label': 'Resource', title: r.resourceId},
          (r.virtualMachines && r.virtualMachines.length ?
            r.virtualMachines.map((x) => x.split('/').pop()).join(', ') : r.resourceId.split('/').pop()) || '/'),
        h('td', {class: r.result === 'Succeeded' ? 'ok' : 'bad', 'data-label': 'Result'},
          `${r.result} (${r.statusCode})`),
        h('td', {'data-label': 'Caller'}, r.callerAddress || '—')))))),
  more ? h('p', {class: 'muted small'}, 'Showing the newest 200; narrow the filters or download the CSV for all.') : null);
}
