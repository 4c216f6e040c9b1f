// perms.js: what the signed-in user may do, from Azure's
// GET {scope}/providers/Microsoft.Authorization/permissions (with includeBelow, one call
// covers roles held on single VMs). The console shows a button only when its action is
// allowed at the resource, and otherwise says which action is missing. The server checks
// again on every call: this only keeps the page honest.
import {get} from './api.js';

export const A = {
  policyRead: 'Microsoft.Security/locations/jitNetworkAccessPolicies/read',
  policyWrite: 'Microsoft.Security/locations/jitNetworkAccessPolicies/write',
  policyDelete: 'Microsoft.Security/locations/jitNetworkAccessPolicies/delete',
  initiate: 'Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action',
  revoke: 'Microsoft.Security/locations/jitNetworkAccessPolicies/revoke/action',
  auditRead: 'Jitgate/auditLogs/read',
  epRead: 'Jitgate/enforcementPoints/read',
  enroll: 'Jitgate/enrollmentTokens/write',
  principalsRead: 'Jitgate/principals/read',
  principalsWrite: 'Jitgate/principals/write',
  tokensWrite: 'Jitgate/principals/tokens/write',
  assignRead: 'Microsoft.Authorization/roleAssignments/read',
  assignWrite: 'Microsoft.Authorization/roleAssignments/write',
  settingsWrite: 'Microsoft.Security/jitSettings/write',
};

let perms = [];

export async function loadPermissions() {
  const r = await get('/providers/Microsoft.Authorization/permissions', {includeBelow: 'true'});
  perms = r.value || [];
  return perms;
}

function wildcard(pattern) {
  const rx = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*');
  return new RegExp('^' + rx + '$', 'i');
}

export function roleAllows(p, action) {
  return (p.actions || []).some((a) => wildcard(a).test(action)) &&
    !(p.notActions || []).some((a) => wildcard(a).test(action));
}

// Is resource inside scope (the same ID or below it, segment-wise, case-insensitively)?
export function inScope(scope, resource) {
  const s = scope.toLowerCase().replace(/\/+$/, ''), r = resource.toLowerCase();
  return s === '' || r === s || r.startsWith(s + '/');
}

export function can(action, resource) {
  return perms.some((p) => inScope(p.scope, resource) && roleAllows(p, action));
}

// At resource or anywhere inside it (lists, the admin pages).
export function canWithin(action, resource) {
  return perms.some((p) => (inScope(p.scope, resource) || inScope(resource, p.scope)) &&
    roleAllows(p, action));
}

export function why(action, resource) {
  const roles = perms.map((p) => `${p.roleName} at ${p.scope}`).join(', ') || 'no role';
  return `You may not do this: it needs '${action}' at ${resource} (your roles: ${roles}).`;
}

export const isAdmin = () => perms.some((p) => p.scope === '/' &&
  (p.roleName === 'Owner' || p.roleName === 'Contributor'));
export const canAdminSomewhere = () => perms.some((p) =>
  p.roleName === 'Owner' || p.roleName === 'Contributor');
