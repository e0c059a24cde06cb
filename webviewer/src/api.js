/** HTTP calls to the hub with the page's bearer token; errors carry the problem `code`. */

export class ApiError extends Error {
  constructor (status, code, detail) {
    super(detail || code || 'HTTP ' + status)
    this.status = status
    this.code = code || ''
  }
}

/** @param {string|(() => string)} token the token, or a function returning the current one */
export function createApi (base, token) {
  async function request (method, path, body) {
    const headers = { Accept: 'application/json' }
    const current = typeof token === 'function' ? token() : token
    if (current) headers.Authorization = 'Bearer ' + current
    const init = { method, headers, credentials: 'omit', cache: 'no-store' }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    const response = await fetch(base + path, init)
    const text = await response.text()
    let data = null
    try {
      data = text ? JSON.parse(text) : null
    } catch (_) {
      data = { detail: text }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data && data.code, data && (data.detail || data.title))
    }
    return data
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body === undefined ? {} : body),
    del: (path) => request('DELETE', path)
  }
}

/** `/api/records/{db}/{layout}/{key}` with each part percent-encoded. */
export function recordPath (record) {
  return '/api/records/' + [record.database, record.layout, record.key].map(encodeURIComponent).join('/')
}
