/**
 * The page's only door to the server: same-origin JSON with the session cookie, and the CSRF token
 * (from /api/login or /api/me) on every mutation. Errors become ApiError with a Chinese message.
 */

let csrfToken = null;
let onUnauthenticated = null;

export function setCsrfToken(token) {
  csrfToken = token ?? null;
}

/** Called once with the error when any call answers 401 (the session ended): the app shows the login. */
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

const FALLBACK = {
  0: '无法连接服务器，请检查网络后重试。',
  400: '请求有误，请检查填写的内容。',
  401: '登录已过期，请重新登录。',
  403: '您没有权限执行此操作。',
  404: '找不到所请求的内容，或您无权查看。',
  409: '这条记录已被他人处理或修改，请刷新后重试。',
  413: '文件太大，超过了允许的上传大小。',
  422: '修改后仍未通过校验。',
  429: '操作过于频繁，请稍后再试。',
};

export class ApiError extends Error {
  /** @param {number} status @param {{code?: string, message?: string, en?: string}} body */
  constructor(status, body) {
    const zh = body?.message || FALLBACK[status] || '服务器出错，请稍后重试；如果一直出错，请联系系统管理员。';
    super(zh);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code ?? (status === 0 ? 'NETWORK' : `HTTP_${status}`);
    this.body = body ?? {};
  }
}

/**
 * api('/api/batches?limit=50') → parsed JSON. `json` sends a JSON body, `form` a FormData (multipart;
 * the browser sets the boundary). Non-GET requests carry x-csrf-token.
 */
export async function api(path, { method = 'GET', json, form, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal });
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && onUnauthenticated && !path.startsWith('/api/login')) onUnauthenticated(err);
    throw err;
  }
  return data;
}

/** '?a=1&b=2' from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
