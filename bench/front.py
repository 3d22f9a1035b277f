"""front.py: the measured front. What each encoder setting costs and gives,
for choosing the defaults (`run.py --front`), and the distances the targets
are read at.

For every setting: the web set's total bytes, CPU ms per image on one
pinned CPU, peak RSS, and butteraugli's distance of each variant from the
source decoded whole and resized with Lanczos 3 to that variant's size
(lower is better; about 1 is visually lossless). Butteraugli's score is
its maximum over the picture; "mean" and "max" below are over the photos
and variants of a setting.

- JPEG and WebP: every quality and effort on the headline photo.
- AVIF: every encoder libheif offers here (aom, and svt or rav1e where
  their plugins are installed), every effort at q50, and a quality sweep
  at the efforts that matter, each with chroma 4:2:0 and 4:4:4, on three
  photos of the camera set of different sizes and aspects. sharp at its
  AVIF defaults (q50, effort 4, 4:4:4) on the same photos is the point the
  rows are read against.
"""
import concurrent.futures
import os
import shutil
import subprocess

AVIF_PHOTOS = ['camera-12mp.jpg', 'camera-6mp-portrait.jpg', 'camera-8mp-16x9.jpg']
SETTINGS = {
    'jpeg': [dict(q=q, progressive=p) for q in (70, 75, 80, 85, 90) for p in (False, True)],
    'webp': [dict(q=q, effort=e) for e in (0, 2, 3, 4, 6) for q in (70, 75, 78, 80, 85)],
}
AVIF_EFFORTS = range(10)
AVIF_SWEEP = dict(q=(40, 45, 55, 60, 65), effort=(2, 3, 4))
# a setting whose render takes longer than this (CPU s per photo) ends the
# effort sweep of its encoder and chroma: the next effort only costs more
TOO_SLOW_S = 90


def mean(xs):
    return sum(xs) / len(xs)


def avif_settings(encoders):
    out = []
    for enc in encoders:
        # SVT-AV1 writes 4:2:0 only (imgpipe refuses encoder=svt,chroma=444)
        for chroma in ('420',) if enc == 'svt' else ('420', '444'):
            for e in AVIF_EFFORTS:
                out.append(dict(encoder=enc, chroma=chroma, effort=e, q=50))
            for e in AVIF_SWEEP['effort']:
                for q in AVIF_SWEEP['q']:
                    out.append(dict(encoder=enc, chroma=chroma, effort=e, q=q))
    return out


def setting_spec(fmt, st, web):
    opts = f'format={fmt}' + ''.join(f',{k}={v}' for k, v in st.items()
                                     if k != 'progressive' or v)
    opts = opts.replace('progressive=True', 'progressive=yes')
    return ';'.join(f'{n}={w}x{h},{opts}' for n, w, h in web)


def butteraugli(ref, out, env):
    """Butteraugli's distance between the reference and an output, both
    decoded to PNG (the tool reads PNG and JPEG only)."""
    png = out + '.png'
    subprocess.run(['vips', 'copy', out, png], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run(['butteraugli', ref, png], capture_output=True, text=True)
    os.remove(png)
    if r.returncode or not r.stdout.strip():
        raise RuntimeError(f'butteraugli failed on {out}: {r.stderr.strip()[-200:]}')
    return float(r.stdout.split()[0])


def references(src, outdir, web, env):
    """What each variant should look like: the source decoded whole and
    resized with Lanczos 3 to that variant's size, as PNG."""
    def head(k):
        return int(subprocess.run(['vipsheader', '-f', k, src], env=env, check=True,
                                  capture_output=True, text=True).stdout)
    w, h = head('width'), head('height')
    os.makedirs(outdir, exist_ok=True)
    refs = {}
    for n, bw, bh in web:
        s = min(bw / w, bh / h, 1)
        refs[n] = os.path.join(outdir, f'ref-{n}.png')
        if not os.path.exists(refs[n]):
            subprocess.run(['vips', 'resize', src, refs[n], str(s), '--kernel', 'lanczos3'],
                           env=env, check=True)
    return refs


def distances(jobs, env):
    """[(ref, out)] -> [distance], two at a time: butteraugli is not timed,
    so it may have both cores."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda j: butteraugli(j[0], j[1], env), jobs))


class Front:
    def __init__(self, run, web, ext, env, log, root):
        """run(fmt, spec, src, outdir) -> the bench binary's JSON, one
        thread, pinned; run_sharp(fmt, src, outdir) likewise for sharp at its
        defaults for that format."""
        self.run, self.web, self.ext, self.env, self.log = run, web, ext, env, log
        self.root = root

    def encoders(self, probe_src):
        """The AV1 encoders this build offers: imgpipe refuses one libheif lacks."""
        out = []
        for enc in ('aom', 'svt', 'rav1e'):
            d = os.path.join(self.root, 'probe-' + enc)
            os.makedirs(d, exist_ok=True)
            try:
                self.run('avif', f'probe=64x64,format=avif,encoder={enc}', probe_src, d)
                out.append(enc)
            except RuntimeError as e:
                self.log(f'front: no AVIF encoder {enc} here: {str(e)[-160:]}')
        if not out:
            raise RuntimeError('no AV1 encoder is offered by this build: no AVIF front')
        return out

    def measure(self, fmt, st, photos, refs):
        name = fmt + '-' + '-'.join(f'{k}{v}' for k, v in st.items())
        per, jobs = [], []
        for p in photos:
            outdir = os.path.join(self.root, name, os.path.basename(p))
            os.makedirs(outdir, exist_ok=True)
            r = self.run(fmt, setting_spec(fmt, st, self.web), p, outdir)
            per.append(r)
            jobs += [(refs[p][o['name']], os.path.join(outdir, f"{o['name']}.{self.ext(fmt)}"))
                     for o in r['outputs']]
        return dict(format=fmt, setting=st, photos=[os.path.basename(p) for p in photos],
                    cpu_ms=mean([r['cpu_ms'] for r in per]),
                    bytes=sum(o['bytes'] for r in per for o in r['outputs']),
                    peak_rss_kb=max(r['peak_rss_kb'] for r in per),
                    names=[o['name'] for o in per[0]['outputs']], _jobs=jobs)

    def all(self, head, photos, run_sharp):
        """The whole front: rows per format, and sharp's peers."""
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        refs = {p: references(p, os.path.join(self.root, 'ref', os.path.basename(p)),
                              self.web, self.env) for p in [head] + photos}
        rows = []
        for fmt, settings in SETTINGS.items():
            for st in settings:
                rows.append(self.measure(fmt, st, [head], refs))
        encoders = self.encoders(head)
        slow = set()
        for st in avif_settings(encoders):
            key = (st['encoder'], st['chroma'])
            if key in slow and st['q'] == 50:
                continue
            try:
                row = self.measure('avif', st, photos, refs)
            except RuntimeError as e:
                # an encoder that cannot do this chroma says so once
                self.log(f'front: avif {st}: {str(e)[-200:]}')
                slow.add(key)
                continue
            rows.append(row)
            self.log(f"front avif {st} cpu {row['cpu_ms']:8.0f} bytes {row['bytes']:8d}")
            if row['cpu_ms'] > TOO_SLOW_S * 1000:
                slow.add(key)
        peers = []
        for fmt, st, ps in (('jpeg', dict(q=80), [head]), ('webp', dict(q=80, effort=4), [head]),
                            ('avif', dict(q=50, effort=4, chroma='444'), photos)):
            per = []
            for p in ps:
                outdir = os.path.join(self.root, 'sharp-' + fmt, os.path.basename(p))
                os.makedirs(outdir, exist_ok=True)
                per.append((run_sharp(fmt, p, outdir), p, outdir))
            peers.append(dict(tool='sharp', format=fmt, setting=st,
                              photos=[os.path.basename(p) for p in ps],
                              cpu_ms=mean([r['cpu_ms'] for r, _, _ in per]),
                              bytes=sum(o['bytes'] for r, _, _ in per for o in r['outputs']),
                              peak_rss_kb=max(r['peak_rss_kb'] for r, _, _ in per),
                              names=[o['name'] for o in per[0][0]['outputs']],
                              _jobs=[(refs[p][o['name']], os.path.join(d, f"{o['name']}.{self.ext(fmt)}"))
                                     for r, p, d in per for o in r['outputs']]))
        self.log(f'front: butteraugli of {sum(len(r["_jobs"]) for r in rows + peers)} outputs')
        for r in rows + peers:
            r['butteraugli'] = distances(r.pop('_jobs'), self.env)
        return dict(file=os.path.basename(head), avif_photos=[os.path.basename(p) for p in photos],
                    encoders=encoders, rows=rows, peers=peers)


# --- reading it -------------------------------------------------------------------

def peer(fr, fmt):
    return next((r for r in (fr or {}).get('peers', []) if r['format'] == fmt), None)


def pareto(rows):
    """The rows no other row beats on bytes, CPU and mean butteraugli at once."""
    def key(r):
        return (r['bytes'], r['cpu_ms'], mean(r['butteraugli']))
    return [r for r in rows if not any(
        all(a <= b for a, b in zip(key(o), key(r))) and key(o) != key(r) for o in rows)]


def equal_bytes(fr, fmt, tol=0.03):
    """The settings whose bytes are within tol of sharp's default output, and
    of those the one with the least CPU whose mean butteraugli is no worse
    than sharp's; if none is as good, the closest in quality, marked so."""
    pr = peer(fr, fmt)
    if not pr:
        return None
    rows = [r for r in fr['rows'] if r['format'] == fmt and abs(r['bytes'] / pr['bytes'] - 1) <= tol]
    if not rows:
        return None
    good = [r for r in rows if mean(r['butteraugli']) <= mean(pr['butteraugli'])]
    r = min(good, key=lambda r: r['cpu_ms']) if good else min(rows, key=lambda r: mean(r['butteraugli']))
    return dict(setting=r['setting'], cpu=r['cpu_ms'] / pr['cpu_ms'], bytes=r['bytes'] / pr['bytes'],
                quality_ok=bool(good), butteraugli=mean(r['butteraugli']),
                peer_butteraugli=mean(pr['butteraugli']))


def rss(r):
    return '—' if r.get('peak_rss_kb') is None else f"{r['peak_rss_kb'] / 1024:.0f} MB"


def setting_text(st):
    return ', '.join(f'{k}={v}' for k, v in st.items())


def section(fr, plot_name):
    if not fr:
        return []
    L = ['## The measured front', '',
         'Every setting into the web set, imgpipe one thread pinned to one CPU: total bytes of '
         'the variants, CPU ms per image (JPEG and WebP: median of 3; AVIF: one render of each '
         'photo, averaged), peak RSS, and butteraugli distance of each output against the source '
         'resized with Lanczos 3 to the same size (lower is better). **front** marks the settings '
         'no other setting beats on bytes, CPU and distance at once. sharp\'s row is its output of '
         'the same photos at its defaults.', '']
    for fmt in ('jpeg', 'webp', 'avif'):
        rows = [r for r in fr['rows'] if r['format'] == fmt]
        if not rows:
            continue
        front = pareto(rows)
        pr = peer(fr, fmt)
        photos = rows[0]['photos']
        L.append(f'### {fmt.upper()}: {", ".join(f"`{p}`" for p in photos)}')
        L.append('')
        if fmt == 'avif' and plot_name:
            L.append(f"Encoders offered by this build's libheif: {', '.join(fr.get('encoders', [])) or 'none'}.")
            L.append(f'![the AVIF front: bytes against mean butteraugli, one line per encoder, chroma and effort]({plot_name})')
            L.append('')
        L.append('| setting | bytes | vs sharp | CPU ms | vs sharp | peak RSS | butteraugli mean | max | |')
        L.append('|---|---|---|---|---|---|---|---|---|')
        for r in ([dict(pr, setting={'sharp': 'defaults', **pr['setting']})] if pr else []) + rows:
            b = f"{r['bytes'] / pr['bytes']:.2f}" if pr else ''
            c = f"{r['cpu_ms'] / pr['cpu_ms']:.2f}" if pr else ''
            L.append(f"| {setting_text(r['setting'])} | {r['bytes']:,} | {b} | {r['cpu_ms']:,.0f} | {c} | "
                     f"{rss(r)} | "
                     f"{mean(r['butteraugli']):.2f} | "
                     f"{max(r['butteraugli']):.2f} | {'front' if r in front else ''} |")
        L.append('')
        eq = equal_bytes(fr, fmt)
        if eq:
            L.append(f"At sharp's bytes (±3 %): imgpipe {setting_text(eq['setting'])} writes "
                     f"{eq['bytes']:.3f}x sharp's bytes for {eq['cpu']:.2f}x its CPU, mean butteraugli "
                     f"{eq['butteraugli']:.2f} against sharp's {eq['peer_butteraugli']:.2f}"
                     + ('' if eq['quality_ok'] else ': no setting within 3 % of its bytes is as good') + '.')
            L.append('')
    return L


def plot(fr, path, svg_scatter):
    """Bytes (as a share of sharp's) against mean butteraugli: one line per
    encoder, chroma and effort through its qualities, its CPU against
    sharp's in the legend; sharp's point. A line passing below and left of
    sharp's point is smaller and nearer at once."""
    rows = [r for r in (fr or {}).get('rows', []) if r['format'] == 'avif']
    pr = peer(fr, 'avif')
    if not rows or not pr:
        return False
    series = []
    keys = sorted({(r['setting']['encoder'], r['setting']['chroma'], r['setting']['effort']) for r in rows})
    for enc, chroma, effort in keys:
        line = sorted([r for r in rows if (r['setting']['encoder'], r['setting']['chroma'],
                                           r['setting']['effort']) == (enc, chroma, effort)],
                      key=lambda r: r['setting']['q'])
        if len(line) < 2:
            continue
        cpu = mean([r['cpu_ms'] for r in line]) / pr['cpu_ms']
        series.append((f'{enc} {chroma} effort {effort} ({cpu:.2f}x CPU)',
                       [(r['bytes'] / pr['bytes'], mean(r['butteraugli']), f"q{r['setting']['q']}")
                        for r in line], True))
    series.append(('sharp defaults (q50, effort 4, 444)', [(1.0, mean(pr['butteraugli']), 'sharp')], False))
    svg_scatter(path, 'The AVIF front: bytes against distance, each line one encoder, chroma, effort',
                "bytes, as a share of sharp's (log)", 'mean butteraugli (lower is better)', series)
    return True
