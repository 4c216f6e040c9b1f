// admin.js: administration for Owners and Contributors: enforcement points (health,
// sync, last seen, enrollment tokens), principals, tokens (the secret shown once;
// revoke), role assignments at any scope, and JIT settings (disable JIT at a scope).
import {get, put, post, del, list} from './api.js';
import {h, clear, field, fmtTime, errorBox, toast} from './dom.js';
import {A, can, canWithin, why} from './perms.js';

export async function renderAdmin(root) {
  clear(root, h('h1', {}, 'Administration'));
  if (!canWithin(A.epRead, '/') && !can(A.principalsRead, '/')) {
    root.append(h('p', {class: 'note'}, 'Administration is for Owners and Contributors. ',
      why(A.principalsRead, '/')));
    return;
  }
  const subs = await list('/subscriptions');
  const groups = (await Promise.all(subs.map((s) =>
    list(`/subscriptions/${s.subscriptionId}/resourceGroups`).catch(() => [])))).flat();
  const sections = [
    ['Enforcement points', () => enforcementPoints(subs, groups)],
    ['Principals and tokens', () => principals()],
    ['Role assignments', () => assignments()],
    ['JIT settings', () => settings(subs, groups)],
  ];
  for (const [title, build] of sections) {
    const id = 'adm-' + title.toLowerCase().replace(/[^a-z]+/g, '-');
    const sec = h('section', {class: 'card', 'aria-labelledby': id}, h('h2', {id}, title));
    root.append(sec);
    try { sec.append(...[await build()].flat()); } catch (e) { sec.append(errorBox(e)); }
  }
}

const table = (label, cols, rows) => h('div', {class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label},
  h('table', {class: 'grid'}, h('thead', {}, h('tr', {}, cols.map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', {}, rows)));

function secretBox(label, secret) {
  return h('div', {class: 'secret', role: 'alert'}, h('p', {}, `${label} (shown once; copy it now):`),
    h('code', {class: 'token'}, secret));
}

async function enforcementPoints(subs, groups) {
  const eps = (await Promise.all(subs.map((s) =>
    list(`/subscriptions/${s.subscriptionId}/providers/Jitgate/enforcementPoints`).catch(() => [])))).flat();
  const rows = eps.map((e) => {
    const p = e.properties, st = p.status || {};
    return h('tr', {}, h('td', {}, e.name), h('td', {}, e.id.split('/')[4]), h('td', {}, p.kind),
      h('td', {class: st.healthy ? 'ok' : 'bad'}, st.healthy ? 'Healthy' : 'Unhealthy'),
      h('td', {}, p.inSync ? 'In sync' : `Behind (${p.appliedVersion}/${p.desiredVersion})`),
      h('td', {}, fmtTime(p.lastSeenUtc)));
  });
  const rg = h('select', {}, groups.map((g) => h('option', {value: g.id}, g.name)));
  const valid = h('select', {}, [['PT1H', '1 hour'], ['PT30M', '30 minutes'], ['PT4H', '4 hours']].map(
    ([v, l]) => h('option', {value: v}, l)));
  const out = h('div');
  const form = h('form', {class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(out);
    try {
      const t = await post(`${rg.value}/providers/Jitgate/enrollmentTokens`, {validFor: valid.value});
      out.append(secretBox(`Enrollment token for ${rg.value.split('/').pop()}, valid until ${fmtTime(t.expiresAtUtc)}`, t.token));
    } catch (ex) { out.append(errorBox(ex)); }
  }}, field('Resource group', rg), field('Valid for', valid),
  h('button', {type: 'submit', class: 'primary'}, 'Create enrollment token'));
  return [eps.length ? table('Enforcement points', ['Name', 'Resource group', 'Kind', 'Health', 'Sync', 'Last seen'], rows) :
    h('p', {class: 'muted'}, 'No enforcement points yet.'), groups.length && can(A.enroll, groups[0].id) ? form : null, out];
}

async function principals() {
  const box = h('div');
  const draw = async () => {
    const ps = await list('/providers/Jitgate/principals');
    clear(box, table('Principals', ['Name', 'Display name', 'Kind', 'Created', 'Tokens'], ps.map((p) =>
      h('tr', {}, h('td', {}, p.name), h('td', {}, p.properties.displayName), h('td', {}, p.properties.kind),
        h('td', {}, fmtTime(p.properties.createdUtc)),
        h('td', {}, h('button', {type: 'button', class: 'small', 'aria-label': `Tokens of ${p.name}`,
          onclick: () => tokens(p.name, tokBox)}, 'Tokens'))))));
  };
  const tokBox = h('div', {id: 'tokens'});
  const name = h('input', {type: 'text', required: true, id: 'new-principal'});
  const display = h('input', {type: 'text', id: 'new-display'});
  const kind = h('select', {}, h('option', {value: 'User'}, 'User'), h('option', {value: 'ServicePrincipal'}, 'Service principal'));
  const err = h('div');
  const form = h('form', {class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(err);
    try {
      await put(`/providers/Jitgate/principals/${encodeURIComponent(name.value.trim())}`,
        {properties: {kind: kind.value, displayName: display.value.trim() || name.value.trim()}});
      toast(`Principal ${name.value} created.`);
      name.value = display.value = '';
      await draw();
    } catch (ex) { err.append(errorBox(ex)); }
  }}, field('Name', name), field('Display name', display), field('Kind', kind),
  h('button', {type: 'submit', class: 'primary'}, 'Create principal'));
  await draw();
  return [box, can(A.principalsWrite, '/') ? form : null, err, tokBox];
}

async function tokens(who, box) {
  const base = `/providers/Jitgate/principals/${encodeURIComponent(who)}/tokens`;
  const out = h('div');
  const draw = async () => {
    const ts = await list(base);
    clear(box, h('h3', {}, `Tokens of ${who}`),
      ts.length ? table(`Tokens of ${who}`, ['Name', 'Id', 'State', 'Created', 'Expires', 'Last used', ''], ts.map((t) =>
        h('tr', {}, h('td', {}, t.name), h('td', {}, h('code', {}, t.id)), h('td', {}, t.state),
          h('td', {}, fmtTime(t.createdUtc)), h('td', {}, fmtTime(t.expiresUtc)), h('td', {}, fmtTime(t.lastUsedUtc)),
          h('td', {}, t.state === 'Active' ? h('button', {type: 'button', class: 'danger small',
            'aria-label': `Revoke token ${t.name}`, onclick: async () => {
              try { await del(`${base}/${t.id}`); toast(`Token ${t.name} revoked.`); await draw(); } catch (ex) { out.append(errorBox(ex)); }
            }}, 'Revoke') : null)))) : h('p', {class: 'muted'}, 'No tokens.'),
      form, out);
  };
  const name = h('input', {type: 'text', required: true, id: 'new-token-name'});
  // Nothing made with a credential outlives it: here, the console session (8 hours at
  // most). Longer-lived tokens are made with the CLI and a token that lives that long.
  const valid = h('select', {}, [['', 'As long as allowed'], ['PT1H', '1 hour'], ['PT4H', '4 hours']].map(
    ([v, l]) => h('option', {value: v}, l)));
  const form = h('form', {class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(out);
    try {
      const body = {name: name.value.trim()};
      if (valid.value) body.validFor = valid.value;
      const t = await post(base, body);
      await draw();
      out.append(secretBox(`Token ${t.name} for ${who}`, t.token));
    } catch (ex) { out.append(errorBox(ex)); }
  }}, field('Token name', name), field('Valid for', valid, 'At most until your console session ends.'),
  h('button', {type: 'submit', class: 'primary'}, 'Create token'));
  try { await draw(); } catch (e) { clear(box, errorBox(e)); }
}

async function assignments() {
  const box = h('div');
  const roles = await list('/providers/Microsoft.Authorization/roleDefinitions');
  const draw = async () => {
    const as = await list('/providers/Microsoft.Authorization/roleAssignments');
    const roleName = (id) => (roles.find((r) => id.toLowerCase().endsWith(r.name.toLowerCase())) || {properties: {roleName: id}}).properties.roleName;
    clear(box, table('Role assignments', ['Principal', 'Role', 'Scope', ''], as.map((a) =>
      h('tr', {}, h('td', {}, a.properties.principalName), h('td', {}, roleName(a.properties.roleDefinitionId)),
        h('td', {class: 'rid'}, a.properties.scope || '/'),
        h('td', {}, can(A.assignWrite, a.properties.scope || '/') ? h('button', {type: 'button', class: 'danger small',
          'aria-label': `Remove ${roleName(a.properties.roleDefinitionId)} of ${a.properties.principalName}`,
          onclick: async () => {
            try { await del(a.id); toast('Role assignment removed.'); await draw(); } catch (ex) { err.append(errorBox(ex)); }
          }}, 'Remove') : null)))));
  };
  const role = h('select', {}, roles.map((r) => h('option', {value: r.name}, r.properties.roleName)));
  const who = h('input', {type: 'text', required: true, id: 'assign-principal'});
  const scope = h('input', {type: 'text', id: 'assign-scope', placeholder: '/subscriptions/…/resourceGroups/…', value: '/'});
  const err = h('div');
  const form = h('form', {class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(err);
    const s = scope.value.trim().replace(/\/+$/, '');
    try {
      await put(`${s}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}`,
        {properties: {roleDefinitionId: role.value, principalId: who.value.trim()}});
      toast('Role assigned.');
      await draw();
    } catch (ex) { err.append(errorBox(ex)); }
  }}, field('Role', role), field('Principal', who), field('Scope', scope, 'An ID: /, a subscription, a resource group or a VM.'),
  h('button', {type: 'submit', class: 'primary'}, 'Assign role'));
  await draw();
  return [box, canWithin(A.assignWrite, '/') ? form : null, err];
}

async function settings(subs, groups) {
  const scopes = [...subs.map((s) => ({id: s.id, label: `Subscription ${s.displayName}`})),
    ...groups.map((g) => ({id: g.id, label: `Resource group ${g.name}`}))];
  const sel = h('select', {}, scopes.map((s) => h('option', {value: s.id}, s.label)));
  const enabled = h('input', {type: 'checkbox', id: 'jit-enabled', checked: true});
  const reason = h('input', {type: 'text', id: 'jit-reason'});
  const out = h('p', {role: 'status'});
  const loadOne = async () => {
    try {
      const s = await get(`${sel.value}/providers/Microsoft.Security/jitSettings/default`);
      enabled.checked = s.properties.enabled;
      reason.value = s.properties.reason || '';
      out.textContent = s.properties.enabled ? 'JIT is enabled here.' : `JIT is disabled here: ${s.properties.reason}`;
    } catch (e) { out.textContent = e.message; }
  };
  sel.addEventListener('change', loadOne);
  const form = h('form', {class: 'inline-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const body = {properties: {enabled: enabled.checked}};
      if (!enabled.checked) body.properties.reason = reason.value.trim() || 'disabled in the console';
      await put(`${sel.value}/providers/Microsoft.Security/jitSettings/default`, body);
      toast('JIT settings saved.');
      await loadOne();
    } catch (ex) { out.textContent = ex.message; }
  }}, field('Scope', sel), h('div', {class: 'radio'}, enabled, h('label', {for: 'jit-enabled'}, 'JIT enabled')),
  field('Reason (when disabled)', reason), h('button', {type: 'submit', class: 'primary'}, 'Save settings'));
  if (scopes.length) await loadOne();
  return [form, out];
}
