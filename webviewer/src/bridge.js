/**
 * The FileMaker side of the page.
 *
 * FileMaker injects `window.FileMaker` only after the page has loaded (and calls made before
 * that do nothing), so events are queued until it appears; we poll for it and also listen
 * for `filemaker-ready` (onfmready.js). Every event goes to one configurable script as
 * `FileMaker.PerformScriptWithOption(script, JSON, "0")` (option 0: queue after the running
 * script), where the script reads it with Get(ScriptParameter) and JSONGetElement.
 */

const MAX_QUEUE = 200

export function createBridge (script, win) {
  const target = win || window
  const queue = []
  let fm = null
  let timer = 0
  let waited = 0
  const calls = []

  function found () {
    const candidate = target.FileMaker
    if (!fm && candidate && (typeof candidate.PerformScriptWithOption === 'function' || typeof candidate.PerformScript === 'function')) {
      fm = candidate
      clearTimeout(timer)
      flush()
    }
    return !!fm
  }

  function call (event) {
    const parameter = JSON.stringify(event)
    calls.push(event.event)
    try {
      if (typeof fm.PerformScriptWithOption === 'function') fm.PerformScriptWithOption(script, parameter, '0')
      else fm.PerformScript(script, parameter)
    } catch (error) {
      console.warn('FileMaker script call failed', error)
    }
  }

  function flush () {
    while (fm && queue.length) call(queue.shift())
  }

  function poll () {
    if (found()) return
    waited++
    // Quickly at first (FileMaker injects right after load), then once a second forever.
    timer = setTimeout(poll, waited < 50 ? 100 : 1000)
  }

  if (script) {
    target.addEventListener('filemaker-ready', found)
    poll()
  }

  return {
    get available () {
      return !!script && found()
    },
    get queued () {
      return queue.length
    },
    get script () {
      return script
    },
    /** Events sent so far (their `event` names), for getState. */
    get sent () {
      return calls.slice(-20)
    },
    send (event) {
      if (!script) return
      if (found()) {
        call(event)
      } else {
        queue.push(event)
        if (queue.length > MAX_QUEUE) queue.shift()
      }
    }
  }
}
