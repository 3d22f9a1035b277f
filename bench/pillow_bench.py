"""pillow_bench.py: the Pillow peer (the AWS S3-trigger tutorial's choice).

    python3 pillow_bench.py SPEC_JSON FILE REPS WARMUP [OUTDIR]
    python3 pillow_bench.py --ready HOST:PORT     cold start: import PIL, GET /next

One process per source, like the others. Each variant is made the way the
tutorial and most Pillow Lambda functions write it: open the bytes,
`thumbnail()` into the box (which lets the JPEG decoder scale by 1/2..1/8
through draft()), orientation from EXIF, save at the same quality
(JPEG optimize=True as libvips' optimize_coding; WebP method 4). Pillow is
single-threaded. This Pillow has no AVIF saver: such sets are skipped.
"""
import io
import json
import os
import resource
import statistics
import sys
import time

if sys.argv[1] == '--ready':
    from PIL import Image, ImageOps  # noqa: F401  what a handler imports
    import urllib.request
    urllib.request.urlopen(f'http://{sys.argv[2]}/2018-06-01/runtime/invocation/next').read()
    sys.exit(0)

from PIL import Image, ImageOps  # noqa: E402
import PIL  # noqa: E402

variants = json.loads(sys.argv[1])
path, reps, warmup = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
outdir = sys.argv[5] if len(sys.argv) > 5 else None


def variant(buf, v):
    im = Image.open(io.BytesIO(buf))
    im.thumbnail((v['width'], v['height']))
    im = ImageOps.exif_transpose(im)
    if im.mode not in ('RGB', 'L'):
        im = im.convert('RGB')
    out = io.BytesIO()
    if v['format'] == 'webp':
        im.save(out, 'WEBP', quality=v['q'], method=4)
    else:
        im.save(out, 'JPEG', quality=v['q'], optimize=True)
    return out.getvalue(), im.size


with open(path, 'rb') as f:
    buf = f.read()
wall, cpu = [], []
for i in range(-warmup, reps):
    t0, c0 = time.perf_counter(), time.process_time()
    outs = [variant(buf, v) for v in variants]
    if i >= 0:
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
if outdir:
    for v, (data, _) in zip(variants, outs):
        with open(os.path.join(outdir, f"{v['name']}.{'jpg' if v['format'] == 'jpeg' else v['format']}"), 'wb') as f:
            f.write(data)
print(json.dumps({
    'file': path, 'threads': 1, 'reps': reps,
    'wall_ms': statistics.median(wall), 'cpu_ms': statistics.median(cpu),
    'wall_min_ms': min(wall),
    'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    'outputs': [{'name': v['name'], 'bytes': len(d), 'width': s[0], 'height': s[1]}
                for v, (d, s) in zip(variants, outs)],
    'versions': {'pillow': PIL.__version__, 'python': sys.version.split()[0]},
}))
