/**
 * `window.collab`: what a FileMaker script calls with Perform JavaScript in Web Viewer.
 * Every parameter arrives as text. FileMaker ignores return values, so results that matter
 * also go to the bridge script (getState with a request id, errors of actions).
 */

export function installExternal (win, deps) {
  const { form, access, comments, bridge, state, event, writable, setNotice, setToken } = deps

  function act (action) {
    return (comment) => access.run(action, comment === undefined ? '' : String(comment)).then(
      (result) => {
        bridge.send(event('action', { action, ok: true }))
        return result
      },
      (error) => {
        bridge.send(event('action', { action, ok: false, message: error.message || String(error), code: error.code || '' }))
        return null
      }
    )
  }

  win.collab = {
    version: 1,
    /** Write a field into the live document; false when not possible (unknown, read-only). */
    setField (name, value) {
      const field = String(name)
      if (!form.has(field) || !form.editable(field) || !writable()) {
        setNotice('setField(' + field + ') refused: ' + (!form.has(field) ? 'no such field' : 'read-only'))
        return false
      }
      form.setValue(field, value === undefined || value === null ? '' : String(value))
      return true
    },
    submit: act('submit'),
    approve: act('approve'),
    reject: act('reject'),
    withdraw: act('withdraw'),
    reopen: act('reopen'),
    takeLease: act('lease'),
    releaseLease: act('release'),
    focusField (name) {
      return form.focus(String(name))
    },
    /** Hand over a fresh token (after a `closed` event with code 4401, or before expiry). */
    setToken (next) {
      if (!next) return false
      setToken(String(next))
      return true
    },
    addComment (text) {
      return comments.add(String(text))
    },
    /** The page state as JSON text; with a request id it is also sent to the bridge script. */
    getState (requestId) {
      const current = state()
      if (requestId !== undefined && requestId !== null && String(requestId) !== '') {
        bridge.send(event('state', { id: String(requestId), state: current }))
      }
      return JSON.stringify(current)
    }
  }
}
