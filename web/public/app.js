/**
 * The steward page: a hash router over a few views. Boot asks /api/me whether a session exists;
 * without one (401) the login view is shown. No build step: plain ES modules served as they are.
 */
import { ApiError, api, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { h, replace } from './dom.js';
import { ROLE_LABEL } from './format.js';
import { renderBatches } from './views/batches.js';
import { renderLogin } from './views/login.js';
import { renderRejections } from './views/rejections.js';
import { renderUpload } from './views/upload.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const toastEl = document.getElementById('toast');

/** What every view receives: the signed-in user, catalog titles, navigation and messages. */
const app = {
  user: null,
  catalogs: new Map(),
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  toast,
  catalogTitle(id) {
    return app.catalogs.get(id) ?? id ?? '-';
  },
  isSteward() {
    return app.user?.role === 'steward' || app.user?.role === 'admin';
  },
};

let toastTimer = null;
/** A short message in a polite live region (screen readers read it too). kind: ok | error | info. */
function toast(text, kind = 'info') {
  toastEl.className = `toast show ${kind}`;
  toastEl.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastEl.classList.remove('show'), kind === 'error' ? 9000 : 5000);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/batches';
  const [path, qs = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(qs) };
}

// Each render gets a number; a slower, older render that finishes late must not overwrite a newer one.
let renderSeq = 0;

async function route() {
  const seq = ++renderSeq;
  const { parts, params } = parseHash();
  if (!app.user) {
    if (parts[0] !== 'login') {
      sessionStorage.setItem('guiji.after-login', location.hash);
      location.replace('#/login');
      return;
    }
  } else if (parts[0] === 'login') {
    location.replace('#/batches');
    return;
  }
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.nav === parts[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = document.createElement('div');
  view.className = 'view';
  const isCurrent = () => seq === renderSeq;
  try {
    if (parts[0] === 'login') await renderLogin(view, app, { onLoggedIn });
    else if (parts[0] === 'batches' && parts[1])
      await renderRejections(view, app, { batchId: parts[1], params, isCurrent });
    else if (parts[0] === 'batches') await renderBatches(view, app, { params, isCurrent });
    else if (parts[0] === 'rejections') await renderRejections(view, app, { batchId: null, params, isCurrent });
    else if (parts[0] === 'upload') await renderUpload(view, app, { isCurrent });
    else replace(view, h('h1', {}, '页面不存在'), h('p', {}, h('a', { href: '#/batches' }, '返回导入批次')));
  } catch (e) {
    if (!isCurrent()) return;
    if (e instanceof ApiError && e.status === 401) return; // the handler already shows the login
    replace(view, h('h1', {}, '出错了'), h('p', { class: 'error', role: 'alert' }, messageOf(e)));
  }
  if (!isCurrent()) return;
  replace(main, view);
  // Move focus into the new screen (for keyboard and screen-reader users): a field marked for it, else the title.
  const heading = main.querySelector('h1');
  heading?.setAttribute('tabindex', '-1');
  (main.querySelector('[data-autofocus]') ?? heading)?.focus({ preventScroll: true });
}

export function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

function showUser() {
  const u = app.user;
  nav.hidden = !u;
  who.hidden = !u;
  if (!u) {
    who.replaceChildren();
    return;
  }
  const county = u.county ? ` · ${u.county}` : '';
  replace(
    who,
    h('span', { class: 'who-name' }, u.displayName || u.username),
    h('span', { class: 'who-role' }, `${ROLE_LABEL[u.role] ?? u.role}${county}`),
    h('button', { type: 'button', class: 'link', id: 'logout', on: { click: logout } }, '退出登录'),
  );
}

async function loadCatalogs() {
  try {
    const list = await api('/api/catalogs');
    app.catalogs = new Map((list ?? []).map((c) => [c.id, c.title]));
  } catch {
    app.catalogs = new Map(); // titles are a nicety; ids still show
  }
}

async function onLoggedIn({ user, csrfToken }) {
  app.user = user;
  setCsrfToken(csrfToken);
  showUser();
  await loadCatalogs();
  const next = sessionStorage.getItem('guiji.after-login');
  sessionStorage.removeItem('guiji.after-login');
  location.replace(next && !next.startsWith('#/login') ? next : '#/batches');
}

async function logout() {
  try {
    await api('/api/logout', { method: 'POST' });
  } catch {
    // Logging out of an already ended session is fine.
  }
  signedOut();
  toast('已退出登录。');
}

function signedOut() {
  app.user = null;
  setCsrfToken(null);
  showUser();
  location.replace('#/login');
}

setUnauthenticatedHandler(() => {
  if (!app.user) return;
  sessionStorage.setItem('guiji.after-login', location.hash);
  signedOut();
  toast('登录已过期，请重新登录。', 'error');
});

async function boot() {
  try {
    const me = await api('/api/me');
    app.user = me.user;
    setCsrfToken(me.csrfToken);
    await loadCatalogs();
  } catch (e) {
    app.user = null;
    if (!(e instanceof ApiError && e.status === 401)) toast(messageOf(e), 'error');
  }
  showUser();
  window.addEventListener('hashchange', route);
  await route();
}

boot();
