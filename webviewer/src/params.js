/** What the page URL says: the record, the token, the hub, the FileMaker bridge script. */

export function readParams (search, location) {
  const query = new URLSearchParams(search)
  const token = query.get('token') || ''
  // The hub is where the page came from (keeping a proxy's path prefix), unless ?hub= says.
  const served = location.origin && location.origin !== 'null'
    ? location.origin + String(location.pathname || '').replace(/\/webviewer(\/.*)?$/, '')
    : ''
  const hub = (query.get('hub') || served).replace(/\/+$/, '')
  const fmscript = query.has('fmscript') ? query.get('fmscript') : 'collab event'
  const result = { token, hub, fmscript, record: null, error: '' }
  // Read `record` undecoded so a key part may carry %2F: split on the real slashes, then
  // decode each part. A fully encoded value (Sales%2FInvoices%2F...) is decoded once first.
  let raw = rawParam(search, 'record') || ''
  if (raw.indexOf('/') === -1) raw = safeDecode(raw)
  const parts = raw.split('/')
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    result.error = raw ? 'record must be database/layout/key, got "' + raw + '"' : 'no record given (?record=database/layout/key)'
    return result
  }
  let decoded
  try {
    decoded = parts.map((part) => decodeURIComponent(part.replace(/\+/g, ' ')))
  } catch (_) {
    result.error = 'record is not valid percent-encoding'
    return result
  }
  result.record = {
    database: decoded[0],
    layout: decoded[1],
    key: decoded[2],
    path: decoded.join('/'),
    room: decoded.map(encodeURIComponent).join('/')
  }
  return result
}

function safeDecode (text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch (_) {
    return text
  }
}

/** The raw (still percent-encoded) value of a query parameter, or null. */
export function rawParam (search, name) {
  for (const pair of String(search || '').replace(/^\?/, '').split('&')) {
    const at = pair.indexOf('=')
    const key = at === -1 ? pair : pair.slice(0, at)
    if (safeDecode(key) === name) return at === -1 ? '' : pair.slice(at + 1)
  }
  return null
}

export function wsBase (hub) {
  return hub.replace(/^http(s?):/, 'ws$1:')
}

/** The unverified claims of a JWT, for display only (the hub verifies). */
export function tokenClaims (token) {
  try {
    const part = token.split('.')[1]
    let normal = part.replace(/-/g, '+').replace(/_/g, '/')
    while (normal.length % 4) normal += '='
    const json = decodeURIComponent(Array.from(atob(normal), (c) => '%' + ('0' + c.charCodeAt(0).toString(16)).slice(-2)).join(''))
    const claims = JSON.parse(json)
    return claims && typeof claims === 'object' ? claims : {}
  } catch (_) {
    return {}
  }
}
