/** Tiny DOM helpers (no framework). */

/**
 * @param {string} tag
 * @param {Object<string, any>} [attrs] `class`, `text`, `dataset` objects, `on*` handlers, attributes
 * @param {Array<Node|string|null>} [children]
 */
export function h (tag, attrs, children) {
  const el = document.createElement(tag)
  const props = attrs || {}
  for (const key of Object.keys(props)) {
    const value = props[key]
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = value
    else if (key === 'text') el.textContent = value
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children || []) {
    if (child === null || child === undefined) continue
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
  return el
}

export function $ (selector, root) {
  return (root || document).querySelector(selector)
}

export function clear (el) {
  while (el.firstChild) el.removeChild(el.firstChild)
}

/** A stable, readable color for a user id. */
export function colorFor (id) {
  let hash = 0
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0
  return 'hsl(' + (Math.abs(hash) % 360) + ', 65%, 42%)'
}

export function initials (name) {
  const parts = String(name || '?').trim().split(/\s+/)
  return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase()
}

export function randomId () {
  const bytes = new Uint8Array(8)
  if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  return Array.from(bytes, (b) => (b < 16 ? '0' : '') + b.toString(16)).join('')
}
