// Drives Debian's node-eventsource (the npm `eventsource` package, an EventSource for Node) for the e2e
// suite: `node node_eventsource.js URL ENDS TYPES_JSON`. Prints one JSON object per line on stdout:
//   {"kind": "request", "lastEventId": the Last-Event-ID header sent, or null}
//   {"kind": "open"}
//   {"kind": "message", "type", "data", "lastEventId"}
//   {"kind": "error", "status": N or null, "message", "readyState"}
//   {"kind": "done", "by": "test" | "client"}
// and exits. The test stops it (from inside the `error` handler, so no reconnect races the stop) once ENDS
// connections have ended (end of stream, reset, error response); it stops by itself when the library
// closes the EventSource (a status it does not retry). Listens for every type in TYPES_JSON.
'use strict'

const http = require('http')
// Each connection attempt, with the Last-Event-ID it sends: the library calls http.request per attempt.
const request = http.request
let requestOpen = false // an attempt whose end has not been counted yet
http.request = function (options, ...rest) {
  requestOpen = true
  const id = options && options.headers ? options.headers['Last-Event-ID'] : undefined
  out({ kind: 'request', lastEventId: id === undefined ? null : id })
  return request.call(this, options, ...rest)
}
// Debian installs Node packages under /usr/share/nodejs; NODE_PATH set by e2e/clients.py finds it.
const EventSource = require('eventsource')

const [url, endsArg, typesArg] = process.argv.slice(2)
const ends = Number(endsArg)
const types = JSON.parse(typesArg)
let ended = 0
let finished = false

function out (record) {
  process.stdout.write(JSON.stringify(record) + '\n')
}

function finish (by) {
  if (finished) return
  finished = true
  source.close()
  out({ kind: 'done', by })
  process.exit(0)
}

const source = new EventSource(url)

source.addEventListener('open', () => out({ kind: 'open' }))
for (const type of types) {
  source.addEventListener(type, (e) => out({ kind: 'message', type, data: e.data, lastEventId: e.lastEventId }))
}
source.addEventListener('error', (e) => {
  const status = e.status === undefined ? null : e.status
  out({ kind: 'error', status, message: e.message === undefined ? null : String(e.message), readyState: source.readyState })
  // One attempt may report several errors (a 5xx: its status, then the end; a reset: the request's error
  // and the response's close): its end is counted once.
  if (requestOpen) {
    requestOpen = false
    ended += 1
    if (ended >= ends) return finish('test')
  }
  // A status it does not retry: the library closes the EventSource right after this handler.
  setImmediate(() => { if (source.readyState === EventSource.CLOSED) finish('client') })
})
