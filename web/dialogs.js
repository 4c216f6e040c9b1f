// dialogs.js: Enable / Edit JIT (ports with protocol, allowed source, max request time;
// add, edit, remove; quick enable; disable JIT) and Request access (per port toggle,
// My IP or a range, time range up to the port's maximum, justification). Each is a
// modal <dialog>: keyboard-operable, Escape closes, errors shown inline.
import {get, put, del, post} from './api.js';
import {h, clear, field, errorBox, isoDurationMs, msToIso, newId, toast} from './dom.js';

const RECOMMENDED = {Linux: [22, 3389, 5985, 5986], Windows: [3389, 5985, 5986, 22]};
const QUICK = {Linux: 22, Windows: 3389};
const HOURS = [1, 2, 3, 4, 6, 8, 12, 24];

function defaultRule(number) {
  return {number, protocol: '*', allowedSourceAddressPrefix: '*', maxRequestAccessDuration: 'PT3H'};
}

function modal(title, build) {
  const id = newId('dlg-title');
  const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': id});
  const close = () => { dlg.close(); dlg.remove(); };
  dlg.addEventListener('close', () => dlg.remove());
  dlg.append(h('h2', {id}, title), build(close, dlg));
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

// The policy that covers a resource group (the first one there), or a new "default".
function policyFor(v, policies) {
  const rg = `/subscriptions/${v.sub}/resourceGroups/${v.rg}`.toLowerCase();
  const p = policies.find((x) => x.id.toLowerCase().startsWith(rg + '/providers/'));
  if (p) return {id: p.id, kind: p.kind || 'Basic', vms: p.properties.virtualMachines.slice()};
  return {id: `/subscriptions/${v.sub}/resourceGroups/${v.rg}/providers/Microsoft.Security` +
    `/locations/${v.vm.location}/jitNetworkAccessPolicies/default`, kind: 'Basic', vms: []};
}

// Writes the rules for VMs (replacing theirs), one PUT per policy.
async function save(vms, rulesFor, policies) {
  const byPolicy = new Map();
  for (const v of vms) {
    const p = v.policy ? {id: v.policy.id, kind: v.policy.kind || 'Basic',
      vms: v.policy.properties.virtualMachines.slice()} : policyFor(v, policies);
    const cur = byPolicy.get(p.id.toLowerCase()) || p;
    cur.vms = cur.vms.filter((r) => r.id.toLowerCase() !== v.id.toLowerCase());
    cur.vms.push({id: v.id, ports: rulesFor(v)});
    byPolicy.set(p.id.toLowerCase(), cur);
  }
  for (const p of byPolicy.values())
    await put(p.id, {kind: p.kind, properties: {virtualMachines: p.vms}});
}

export async function quickEnable(vms, policies) {
  await save(vms, (v) => [defaultRule(QUICK[v.os] || 22)], policies);
  toast(`JIT enabled on ${vms.length} VM${vms.length > 1 ? 's' : ''} with the defaults.`);
}

function ruleSource(r) {
  if (r.allowedSourceAddressPrefixes) return r.allowedSourceAddressPrefixes.join(', ');
  return r.allowedSourceAddressPrefix === '*' ? 'Per request (any source)' : r.allowedSourceAddressPrefix;
}

const protoName = (p) => (p === '*' ? 'Any' : p);

export function openPolicyDialog(vms, policies, done) {
  const editing = vms.length === 1 && vms[0].rule;
  const os = vms[0].os;
  let rules = editing ? vms[0].rule.ports.map((p) => ({...p})) :
    (RECOMMENDED[os] || RECOMMENDED.Linux).map(defaultRule);
  const title = editing ? `Edit JIT on ${vms[0].name}` :
    `Enable JIT on ${vms.length === 1 ? vms[0].name : vms.length + ' VMs'}`;
  modal(title, (close) => {
    const table = h('tbody');
    const err = h('div');
    const draw = () => clear(table, rules.map((r, i) => h('tr', {},
      h('td', {}, String(r.number)), h('td', {}, protoName(r.protocol)), h('td', {}, ruleSource(r)),
      h('td', {}, r.maxRequestAccessDuration),
      h('td', {class: 'actions'},
        h('button', {type: 'button', class: 'small', 'aria-label': `Edit port ${r.number}`,
          onclick: () => portDialog(r, (nr) => { rules[i] = nr; draw(); })}, 'Edit'),
        h('button', {type: 'button', class: 'small', 'aria-label': `Remove port ${r.number}`,
          onclick: () => { rules.splice(i, 1); draw(); }}, 'Remove')))));
    draw();
    const submit = async (e) => {
      e.preventDefault();
      clear(err);
      if (!rules.length) { err.append(errorBox('Add at least one port, or disable JIT.')); return; }
      try {
        await save(vms, () => rules, policies);
        close();
        toast(editing ? `JIT on ${vms[0].name} saved.` : `JIT enabled on ${vms.map((v) => v.name).join(', ')}.`);
        await done();
      } catch (ex) { err.append(errorBox(ex)); }
    };
    const disable = editing ? h('button', {type: 'button', class: 'danger', onclick: async () => {
      if (!confirm(`Disable JIT on ${vms[0].name}? Its ports are unlocked.`)) return;
      clear(err);
      try {
        const p = vms[0].policy;
        const rest = p.properties.virtualMachines.filter((r) => r.id.toLowerCase() !== vms[0].id.toLowerCase());
        if (rest.length) await put(p.id, {kind: p.kind || 'Basic', properties: {virtualMachines: rest}});
        else await del(p.id);
        close();
        toast(`JIT disabled on ${vms[0].name}.`);
        await done();
      } catch (ex) { err.append(errorBox(ex)); }
    }}, 'Disable JIT') : null;
    return h('form', {onsubmit: submit},
      h('p', {}, editing ? 'The ports JIT keeps closed until access is requested.' :
        'Recommended ports are filled in; edit, remove or add ports.'),
      h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Ports'},
        h('table', {class: 'grid'}, h('thead', {}, h('tr', {},
          ['Port', 'Protocol', 'Allowed source', 'Max request time', 'Actions'].map(
            (c) => h('th', {scope: 'col'}, c)))), table)),
      h('div', {class: 'toolbar'},
        h('button', {type: 'button', onclick: () => portDialog(null, (nr) => { rules.push(nr); draw(); })},
          'Add port')),
      err,
      h('div', {class: 'buttons'},
        h('button', {type: 'submit', class: 'primary'}, editing ? 'Save' : 'Enable JIT'),
        disable,
        h('button', {type: 'button', onclick: close}, 'Cancel')));
  });
}

function portDialog(rule, done) {
  const r = rule || defaultRule('');
  modal(rule ? `Port ${rule.number}` : 'Add port', (close) => {
    const number = h('input', {type: 'number', min: '1', max: '65535', required: true, value: String(r.number)});
    const proto = h('select', {}, [['*', 'Any'], ['TCP', 'TCP'], ['UDP', 'UDP']].map(([v, l]) =>
      h('option', {value: v, selected: (r.protocol || '*').toUpperCase() === v}, l)));
    const list = r.allowedSourceAddressPrefixes ? r.allowedSourceAddressPrefixes.join('\n') :
      r.allowedSourceAddressPrefix !== '*' ? r.allowedSourceAddressPrefix : '';
    const perRequest = h('input', {type: 'radio', name: 'src', id: 'src-any', checked: !list});
    const ranges = h('input', {type: 'radio', name: 'src', id: 'src-list', checked: !!list});
    const cidrs = h('textarea', {rows: '3', value: list, placeholder: '10.0.0.0/8\n192.168.1.5'});
    const maxMs = isoDurationMs(r.maxRequestAccessDuration) || 3 * 3600000;
    const max = h('select', {}, HOURS.map((n) => h('option', {value: String(n),
      selected: n * 3600000 === maxMs}, `${n} hour${n > 1 ? 's' : ''}`)));
    const err = h('div');
    const submit = (e) => {
      e.preventDefault();
      e.stopPropagation();
      clear(err);
      const n = Number(number.value);
      if (!Number.isInteger(n) || n < 1 || n > 65535) { err.append(errorBox('The port must be 1-65535.')); return; }
      const nr = {number: n, protocol: proto.value, maxRequestAccessDuration: `PT${max.value}H`};
      if (ranges.checked) {
        const items = cidrs.value.split(/[\s,]+/).filter(Boolean);
        if (!items.length) { err.append(errorBox('List at least one address or CIDR range.')); return; }
        if (items.length === 1) nr.allowedSourceAddressPrefix = items[0];
        else nr.allowedSourceAddressPrefixes = items;
      } else nr.allowedSourceAddressPrefix = '*';
      close();
      done(nr);
    };
    return h('form', {onsubmit: submit},
      field('Port', number), field('Protocol', proto),
      h('fieldset', {}, h('legend', {}, 'Allowed source'),
        h('div', {class: 'radio'}, perRequest, h('label', {for: 'src-any'}, 'Per request (the requester\'s address)')),
        h('div', {class: 'radio'}, ranges, h('label', {for: 'src-list'}, 'IP addresses or CIDR ranges')),
        field('Addresses or ranges', cidrs, 'One per line; requests must lie inside them.')),
      field('Max request time', max),
      err,
      h('div', {class: 'buttons'}, h('button', {type: 'submit', class: 'primary'}, 'OK'),
        h('button', {type: 'button', onclick: close}, 'Cancel')));
  });
}

// extend: {number, source} to renew one running grant.
export function openRequestDialog(v, session, done, extend) {
  const myIp = session.callerAddress;
  modal(extend ? `Extend access to ${v.name}` : `Request access to ${v.name}`, (close) => {
    const rows = v.rule.ports.filter((p) => !extend || p.number === extend.number).map((p, i) => {
      const maxMs = isoDurationMs(p.maxRequestAccessDuration);
      const toggle = h('input', {type: 'checkbox', id: `req-port-${p.number}`, checked: i === 0 || !!extend});
      const mine = h('input', {type: 'radio', name: `src-${p.number}`, id: `my-${p.number}`,
        checked: !extend || extend.source === myIp});
      const range = h('input', {type: 'radio', name: `src-${p.number}`, id: `range-${p.number}`,
        checked: !!extend && extend.source !== myIp});
      const cidr = h('input', {type: 'text', id: `cidr-${p.number}`, value: extend && extend.source !== myIp ? extend.source : '',
        placeholder: '10.0.0.0/24', 'aria-label': `IP range for port ${p.number}`});
      const opts = [15, 30, 60, 120, 180, 240, 360, 480, 720, 1440].map((m) => m * 60000).filter((ms) => ms <= maxMs);
      if (!opts.includes(maxMs)) opts.push(maxMs);
      const time = h('select', {id: `time-${p.number}`, 'aria-label': `Time range for port ${p.number}`},
        opts.map((ms) => h('option', {value: String(ms), selected: ms === Math.min(maxMs, 3600000)},
          ms < 3600000 ? `${ms / 60000} minutes` : `${ms / 3600000} hour${ms > 3600000 ? 's' : ''}`)));
      const allowed = p.allowedSourceAddressPrefixes ? p.allowedSourceAddressPrefixes.join(', ') :
        p.allowedSourceAddressPrefix;
      return {p, toggle, mine, range, cidr, time, el: h('fieldset', {class: 'port'},
        h('legend', {}, h('span', {class: 'radio'}, toggle,
          h('label', {for: toggle.id}, `Port ${p.number} (${protoName(p.protocol)}, up to ${msToIso(maxMs).slice(2)})`))),
        h('div', {class: 'radio'}, mine, h('label', {for: mine.id}, `My IP (${myIp})`)),
        h('div', {class: 'radio'}, range, h('label', {for: range.id}, 'IP range'), cidr),
        h('p', {class: 'hint'}, `Allowed by the policy: ${allowed === '*' ? 'any source' : allowed}`),
        field('Time range', time))};
    });
    const just = h('textarea', {rows: '2', maxlength: '1024', id: 'req-justification'});
    const err = h('div');
    // The button is off, with the reason beside it, while no port is on.
    const why = h('span', {class: 'hint', id: newId('req-why')});
    const send = h('button', {type: 'submit', class: 'primary', 'aria-describedby': why.id},
      extend ? 'Extend' : 'Open ports');
    const update = () => {
      // A port that is off has its fields off too (its toggle, in the legend, stays on).
      for (const r of rows) r.el.disabled = !r.toggle.checked;
      const none = !rows.some((r) => r.toggle.checked);
      send.disabled = none;
      why.textContent = none ? 'Turn on at least one port to request access.' : '';
    };
    for (const r of rows) r.toggle.addEventListener('change', update);
    update();
    const health = v.jit.enforcementPointHealthy === false ? h('p', {class: 'note'},
      `The agent protecting ${v.name} has not been heard from recently: the request is recorded, ` +
      'and applies once it is back.') : null;
    const submit = async (e) => {
      e.preventDefault();
      clear(err);
      const ports = [];
      for (const r of rows) {
        if (!r.toggle.checked) continue;
        const port = {number: r.p.number,
          endTimeUtc: new Date(Date.now() + Number(r.time.value)).toISOString()};
        if (r.range.checked) {
          if (!r.cidr.value.trim()) { err.append(errorBox(`Give an IP range for port ${r.p.number}.`)); return; }
          port.allowedSourceAddressPrefix = r.cidr.value.trim();
        }
        ports.push(port);
      }
      if (!ports.length) { err.append(errorBox('Turn on at least one port.')); return; }
      const body = {virtualMachines: [{id: v.id, ports}]};
      if (just.value.trim()) body.justification = just.value.trim();
      try {
        await post(`${v.policy.id}/initiate`, body);
        // The state version that holds the grant: applied when the agent reports it.
        const vm = await get(v.id);
        close();
        done(v, (vm.properties.jit || {}).enforcementPointDesiredVersion || 0);
      } catch (ex) { err.append(errorBox(ex)); }
    };
    return h('form', {onsubmit: submit}, health, rows.map((r) => r.el),
      field('Justification', just, 'Why you need access (recorded in the activity log).'),
      err,
      h('div', {class: 'buttons'}, send,
        h('button', {type: 'button', onclick: close}, 'Cancel'), why));
  });
}
