#!/usr/bin/env node
// Runs the mnemo binary of this platform's package (an optional dependency
// npm installed next to this one) with this process's arguments, stdio and
// exit status.
'use strict'

const { spawnSync } = require('child_process')
const path = require('path')

const platform = `${process.platform}-${process.arch}`
const binaryName = process.platform === 'win32' ? 'mnemo.exe' : 'mnemo'

function fail(message) {
  process.stderr.write(`mnemo: ${message}\n`)
  process.exit(1)
}

let packageDir
try {
  packageDir = path.dirname(require.resolve(`@mnemo-memory/mnemo-${platform}/package.json`))
} catch {
  const supported = Object.keys(require('../package.json').optionalDependencies || {})
    .map((name) => name.replace('@mnemo-memory/mnemo-', ''))
    .join(', ')
  fail(
    `no prebuilt binary for ${platform} (packages exist for ${supported}; ` +
      'if yours is listed, reinstall without --omit=optional), or build mnemo from source (its README says how)'
  )
}

const result = spawnSync(path.join(packageDir, 'bin', binaryName), process.argv.slice(2), {
  stdio: 'inherit',
})
if (result.error) {
  fail(`cannot run ${path.join(packageDir, 'bin', binaryName)}: ${result.error.message}`)
}
if (result.signal) {
  // Die of the same signal, so the caller sees what the binary saw.
  process.kill(process.pid, result.signal)
}
process.exit(result.status === null ? 1 : result.status)
