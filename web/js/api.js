// The one way the UI talks to the server.
// - same-origin cookies (the session cookie is HttpOnly; we never see it)
// - JSON in and out
// - X-CSRF-Token on unsafe methods (token from the login response or GET /me)
// - the error envelope { error: { code, message } } becomes a thrown ApiError
// - a 401 that means "no session" sends the user to #/login

const BASE = '/api/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An API failure: HTTP status, machine code from the envelope, human message. */
export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    // The parsed response body, for endpoints whose errors carry more than the envelope
    // (a knowledge-base import answers 422 with every bad row).
    this.body = body;
  }
}

let csrfToken = null;
let unauthorizedHandler = null;

/** Remember the CSRF token handed out by login or /me. */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called (once per failing request) when the session is gone. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

const FALLBACK_MESSAGES = {
  400: 'The request was not valid.',
  401: 'Your session has ended. Please sign in again.',
  403: "You don't have permission to do that.",
  404: 'Not found.',
  409: 'That conflicts with existing data.',
  413: 'That is too large.',
  422: 'Some fields are not valid.',
  429: 'Too many requests. Please wait a moment and try again.',
};

function buildUrl(path, query) {
  const url = new URL(BASE + path, window.location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  return url.pathname + url.search;
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * Perform a request. Resolves to the parsed JSON body (or null for 204 / empty body).
 * Throws ApiError for HTTP errors and for network failures (status 0, code "network").
 */
export async function request(method, path, { body, raw, contentType, query, signal, retried = false } = {}) {
  const upper = method.toUpperCase();
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw !== undefined) headers['Content-Type'] = contentType || 'application/octet-stream';
  if (UNSAFE.has(upper) && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response;
  try {
    response = await fetch(buildUrl(path, query), {
      method: upper,
      headers,
      body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }

  const text = response.status === 204 ? '' : await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (response.ok) return data;

  const envelope = data && typeof data === 'object' && data.error ? data.error : null;
  const code = (envelope && envelope.code) || `http_${response.status}`;
  const message = sentence(
    (envelope && envelope.message) || FALLBACK_MESSAGES[response.status] || `Request failed (HTTP ${response.status}).`,
  );
  const error = new ApiError(response.status, code, message, {
    retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
    body: data,
  });

  // A stale CSRF token (the user signed in again in another tab): fetch the
  // current one and try once more.
  if (response.status === 403 && code === 'csrf_failed' && !retried && UNSAFE.has(upper)) {
    try {
      const me = await request('GET', '/me', { signal });
      if (me && me.csrf_token) {
        setCsrfToken(me.csrf_token);
        return request(method, path, { body, raw, contentType, query, signal, retried: true });
      }
    } catch {
      /* fall through to the original error */
    }
  }

  // 401 means "no valid session" except where the server uses it for a wrong
  // password (login, password change): those are answered in place, not by a redirect.
  if (response.status === 401 && code !== 'invalid_credentials' && unauthorizedHandler) {
    unauthorizedHandler(error);
  }
  throw error;
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body: body === undefined ? {} : body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
  /** POST a file's raw bytes (uploads); `opts.contentType` names the type (default octet-stream). */
  upload: (path, file, opts) => request('POST', path, { ...opts, raw: file }),
  listAll,
  setCsrfToken,
};

/**
 * Fetch every page of a cursor-paginated list ({ items, next_cursor }) and
 * return all items. Stops after `maxPages` pages as a safety net.
 */
export async function listAll(path, { signal, query = {}, pageSize = 200, maxPages = 50 } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const res = await request('GET', path, { signal, query: { ...query, limit: pageSize, cursor } });
    items.push(...((res && res.items) || []));
    cursor = res && res.next_cursor;
    if (!cursor) break;
  }
  return items;
}

/** Server messages may be lower-case fragments: "email is taken" -> "Email is taken." */
function sentence(text) {
  const t = String(text).trim();
  const cap = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

/** Path segment escaping for ids coming from the server. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
