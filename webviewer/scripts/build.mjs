// Bundle the web viewer into collab/webviewer/dist (or --outdir DIR): app.js, dashboard.js,
// app.css and the two pages, served by the hub under /webviewer/. Deterministic:
// same sources and package-lock -> same bytes (no timestamps, no absolute paths).
import { build } from 'esbuild'
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const flag = args.indexOf('--outdir')
const outdir = resolve(flag === -1 ? join(root, '..', 'collab', 'webviewer', 'dist') : args[flag + 1])

// What both web viewer engines run: WKWebView (Safari 14+ on macOS 11+) and WebView2 (Chromium).
const target = ['es2019', 'safari14', 'chrome90', 'edge90']

await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/app.js', dashboard: 'src/dashboard.js' },
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target,
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  sourcemap: false,
  metafile: false,
  logLevel: 'warning'
})
await build({
  absWorkingDir: root,
  entryPoints: ['src/app.css'],
  outfile: join(outdir, 'app.css'),
  bundle: true,
  target,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning'
})
for (const page of ['index.html', 'approvals.html']) {
  await copyFile(join(root, 'src', page), join(outdir, page))
}
console.log('built ' + outdir)
