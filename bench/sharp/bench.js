// bench.js: the sharp peer of imgpipe's benchmark (bench/run.py runs it).
//
//   node bench.js SPEC_JSON FILE REPS WARMUP THREADS [OUTDIR]
//   node bench.js --ready HOST:PORT     cold start: require sharp, GET /next
//
// One process per source, like imgpipe-bench: the file is read once, then
// every variant is made WARMUP times untimed and REPS times timed, the way a
// sharp Lambda function makes them (one pipeline per variant from the same
// buffer; with one libuv worker they run one after the other anyway). sharp
// is set up as the fair Lambda-128 MB peer: cache off, `concurrency(THREADS)`
// libvips threads, UV_THREADPOOL_SIZE=THREADS (set by the caller). Same
// geometry as imgpipe: fit inside, never enlarge, EXIF orientation applied;
// same savers: JPEG quality with mozjpeg off (libjpeg-turbo's defaults and
// optimised Huffman tables, as imgpipe), WebP effort 4, AVIF effort 4.
'use strict';
const fs = require('fs');
const path = require('path');

if (process.argv[2] === '--ready') {
  // Cold start: what a Node handler does before it can take its first event.
  const sharp = require('sharp');
  sharp.cache(false);
  const [host, port] = process.argv[3].split(':');
  require('http').get({ host, port, path: '/2018-06-01/runtime/invocation/next' },
    (res) => { res.resume(); res.on('end', () => process.exit(0)); })
    .on('error', () => process.exit(1));
  return;
}

const sharp = require('sharp');
const [specJson, file, repsArg, warmArg, threadsArg, outdir] = process.argv.slice(2);
const variants = JSON.parse(specJson);
const reps = +repsArg, warmup = +warmArg, threads = +threadsArg;
sharp.cache(false);
sharp.concurrency(threads);

function pipeline(buf, v) {
  let p = sharp(buf, { failOn: 'warning' }).rotate()
    .resize(v.width, v.height, { fit: 'inside', withoutEnlargement: true });
  if (v.format === 'webp') p = p.webp({ quality: v.q, effort: 4 });
  // q null: sharp's own AVIF default (q50, effort 4, 4:4:4)
  else if (v.format === 'avif') p = p.avif(v.q == null ? {} : { quality: v.q, effort: 4 });
  else p = p.jpeg({ quality: v.q, mozjpeg: false, optimiseCoding: true });
  return p.toBuffer({ resolveWithObject: true });
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

(async () => {
  const buf = fs.readFileSync(file);
  const wall = [], cpu = [];
  let outs = [];
  for (let i = -warmup; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    outs = [];
    for (const v of variants) outs.push(await pipeline(buf, v));
    const c = process.cpuUsage(c0);
    if (i < 0) continue;
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    cpu.push((c.user + c.system) / 1e3);
  }
  if (outdir) {
    outs.forEach((o, k) => fs.writeFileSync(
      path.join(outdir, `${variants[k].name}.${o.info.format === 'jpeg' ? 'jpg' : o.info.format === 'heif' ? 'avif' : o.info.format}`), o.data));
  }
  process.stdout.write(JSON.stringify({
    file, threads, reps,
    wall_ms: median(wall), cpu_ms: median(cpu), wall_min_ms: Math.min(...wall),
    peak_rss_kb: process.resourceUsage().maxRSS,
    outputs: outs.map((o, k) => ({ name: variants[k].name, bytes: o.data.length,
                                   width: o.info.width, height: o.info.height })),
    versions: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips,
                node: process.versions.node, mozjpeg: sharp.versions.mozjpeg },
  }) + '\n');
})().catch((e) => { console.error(e.message); process.exit(1); });
