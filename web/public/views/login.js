import { api } from '../api.js';
import { h, replace } from '../dom.js';

/** Username and password → POST /api/login; the API's message (wrong password, too many tries) is shown as is. */
export async function renderLogin(view, _app, { onLoggedIn }) {
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error', hidden: true });
  const username = h('input', {
    id: 'username',
    name: 'username',
    autocomplete: 'username',
    required: true,
    'data-autofocus': true,
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, '登录');
  const form = h(
    'form',
    { class: 'login-form', novalidate: true, 'aria-describedby': 'login-error', on: { submit: onSubmit } },
    h('div', { class: 'field' }, h('label', { for: 'username' }, '用户名'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, '密码'), password),
    error,
    submit,
  );

  async function onSubmit(ev) {
    ev.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      showError('请输入用户名和密码。');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = '正在登录……';
    try {
      const res = await api('/api/login', {
        method: 'POST',
        json: { username: username.value.trim(), password: password.value },
      });
      await onLoggedIn(res);
    } catch (e) {
      showError(e.message);
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = '登录';
    }
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  replace(
    view,
    h(
      'section',
      { class: 'login-card', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, '登录'),
      h('p', { class: 'muted' }, '信用信息归集 · 退回数据复核与修正'),
      form,
    ),
  );
}
