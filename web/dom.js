// dom.js: building the page from nodes, never from HTML strings (the CSP's Trusted
// Types forbid that anyway). h('button', {class: 'primary', onclick: f}, 'Save').
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

let uid = 0;
export const newId = (p) => `${p}-${++uid}`;

// A labelled form field: [label, control] with the label's for= set.
export function field(label, control, hint) {
  if (!control.id) control.id = newId('f');
  const hintEl = hint ? h('span', {class: 'hint', id: control.id + '-hint'}, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', {class: 'field'}, h('label', {for: control.id}, label), control, hintEl);
}

export function toast(msg) {
  const t = $('#toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

// The Azure error message of a failed call, shown inline where it happened.
export function errorBox(err) {
  return h('p', {class: 'error', role: 'alert'}, err && err.message ? err.message : String(err));
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtDuration(ms) {
  if (ms <= 0) return '0s';
  const s = Math.floor(ms / 1000), hh = Math.floor(s / 3600), mm = Math.floor(s % 3600 / 60);
  const ss = s % 60;
  return (hh ? `${hh}h ` : '') + (hh || mm ? `${mm}m ` : '') + `${ss}s`;
}

// ISO 8601 durations of the policy (PT3H, P1D, PT90M, PT1H30M) in milliseconds.
export function isoDurationMs(d) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(d || '');
  if (!m) return 0;
  return ((+m[1] || 0) * 86400 + (+m[2] || 0) * 3600 + (+m[3] || 0) * 60 + (+m[4] || 0)) * 1000;
}

export function msToIso(ms) {
  const s = Math.round(ms / 1000), hh = Math.floor(s / 3600), mm = Math.floor(s % 3600 / 60);
  return 'PT' + (hh ? `${hh}H` : '') + (mm ? `${mm}M` : '') + (!hh && !mm ? `${s}S` : '');
}
