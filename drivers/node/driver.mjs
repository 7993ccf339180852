// Sends a bounded burst of GETs with undici or Node's http.Agent, built from an emitted settings
// file (or the library's defaults), and prints one JSON line of counts and latencies.
// See drivers/README.md for the arguments and the output.

import { readFileSync } from 'node:fs'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { Agent, interceptors, request } from 'undici'

const { values: args } = parseArgs({
  options: {
    library: { type: 'string' },
    url: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    'time-limit': { type: 'string' },
    settings: { type: 'string' },
    warmup: { type: 'string', default: '0' }
  }
})

// The flat YAML `plan --emit` writes: `key: value  # comment`, scalars and `[a, b]` lists.
function scalar (text) {
  if (text === 'null' || text === '~' || text === '') return null
  if (text === 'true' || text === 'false') return text === 'true'
  if (text === '.inf') return Infinity
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  if (text.startsWith('[') && text.endsWith(']')) {
    return text.slice(1, -1).split(',').map((s) => scalar(s.trim())).filter((v) => v !== null)
  }
  return text.replace(/^"(.*)"$/, '$1')
}

function readSettings (path, library) {
  if (!path) return null
  const values = {}
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim()
    if (!line) continue
    const at = line.indexOf(':')
    values[line.slice(0, at).trim()] = scalar(line.slice(at + 1).trim())
  }
  if ((values.library ?? library) !== library) throw new Error(`${path} is not a ${library} file`)
  delete values.library
  return values
}

// Takes the keys the driver applies; refuses a file with any other.
function take (settings, keys) {
  const out = {}
  for (const key of Object.keys(settings)) {
    if (!keys.includes(key)) throw new Error(`the driver does not apply ${key}`)
  }
  for (const key of keys) if (key in settings) out[key] = settings[key]
  return out
}

function undiciGet (settings) {
  let agent = new Agent()
  if (settings) {
    const s = take(settings, ['connections', 'pipelining', 'keepAliveTimeout',
      'keepAliveMaxTimeout', 'connect.timeout', 'connect.useH2c', 'allowH2', 'retry.maxRetries'])
    const options = { ...s }
    delete options['connect.timeout']
    delete options['connect.useH2c']
    delete options['retry.maxRetries']
    // The connector's options: an Agent's pools build theirs from `connect`.
    const connect = {}
    if ('connect.timeout' in s) connect.timeout = s['connect.timeout']
    if ('connect.useH2c' in s) connect.useH2c = s['connect.useH2c']
    if (Object.keys(connect).length > 0) options.connect = connect
    agent = new Agent(options)
    if ('retry.maxRetries' in s) {
      // The retry interceptor the snippet composes: idempotent requests answered 503.
      agent = agent.compose(interceptors.retry({
        maxRetries: s['retry.maxRetries'],
        statusCodes: [503],
        minTimeout: 25,
        timeoutFactor: 2,
        throwOnError: false
      }))
    }
  }
  return async (url) => {
    const { statusCode, headers, body } = await request(url, { dispatcher: agent })
    await body.dump()
    return [statusCode, headers['x-envoy-overloaded']]
  }
}

function nodeHttpGet (settings) {
  const agent = settings
    ? new http.Agent(take(settings, ['keepAlive', 'keepAliveMsecs', 'maxSockets',
      'maxTotalSockets', 'maxFreeSockets', 'timeout']))
    : new http.Agent()
  return (url) => new Promise((resolve) => {
    http.get(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => resolve([res.statusCode, res.headers['x-envoy-overloaded']]))
      res.on('error', () => resolve([0, undefined]))
    }).on('error', () => resolve([0, undefined]))
  })
}

async function main () {
  const library = args.library
  const settings = readSettings(args.settings, library)
  const get = library === 'undici' ? undiciGet(settings)
    : library === 'node-http' ? nodeHttpGet(settings)
      : null
  if (!get) throw new Error(`unknown library ${library}`)
  const limit = Number(args['time-limit']) * 1000
  // A burst of `requests` from `concurrency` callers, until they or the time run out; the
  // latency of each 2xx in whole microseconds, every caller's first request timed from the
  // burst's start. Resolves to that start.
  async function burst (requests, okUs, counts) {
    let left = requests
    const started = performance.now()
    const deadline = started + limit
    async function caller () {
      let began = started
      while (left > 0 && performance.now() < deadline) {
        left -= 1
        let status = 0
        let overloaded
        try {
          [status, overloaded] = await get(args.url)
        } catch {
          status = 0
        }
        const now = performance.now()
        if (status >= 200 && status < 300) okUs.push(Math.max(1, Math.floor((now - began) * 1000)))
        else if (status === 503 && overloaded === 'true') counts.overflow += 1
        else counts.errors += 1
        began = now
      }
    }
    await Promise.all(Array.from({ length: Number(args.concurrency) }, caller))
    return started
  }
  // A warm-up with the same client, not counted.
  if (Number(args.warmup) > 0) {
    await burst(Number(args.warmup), [], { overflow: 0, errors: 0 })
    // Tell the bench, which reads Envoy's counters now, and wait for its go.
    console.log('warm')
    await new Promise((resolve) => process.stdin.once('data', resolve))
    process.stdin.pause()
  }
  const okUs = []
  const counts = { overflow: 0, errors: 0 }
  const started = await burst(Number(args.requests), okUs, counts)
  const { overflow, errors } = counts
  // The bench reads the quantiles from the latencies, as for its own clients.
  console.log(JSON.stringify({
    ok_us: okUs,
    overflow,
    errors,
    elapsed_s: (performance.now() - started) / 1000
  }))
  process.exit(0)
}

main().catch((e) => { console.error(e.message); process.exit(2) })
