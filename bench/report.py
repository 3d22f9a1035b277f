"""report.py: the bench's JSON into bench/results/<stem>.md and two SVG plots.

Called by run.py at the end of a run, or again on a saved run with
`run.py --report-only FILE.json` (after a change of prices, for example).
The closing note, written by a person, is kept in bench/results/NOTES-<label>.md
and included at the end if present.
"""
import math
import os

import cost

COLOURS = {'imgpipe': '#d62728', 'sharp': '#1f77b4', 'vipsthumbnail': '#2ca02c',
           'convert': '#9467bd', 'pillow': '#ff7f0e'}
NAMES = {'imgpipe': 'imgpipe', 'sharp': 'sharp', 'vipsthumbnail': 'vipsthumbnail',
         'convert': 'ImageMagick', 'pillow': 'Pillow'}
TARGETS = [
    ('warm_cpu', 'CPU per image (1 thread, pinned to one CPU), imgpipe / sharp', 0.45),
    ('webp_cpu', 'WebP: CPU per image (1 thread), imgpipe / sharp, at equal output bytes (±3%)', 0.65),
    ('warm', 'warm time (1 thread), imgpipe / sharp', 0.5),
    ('rss', 'peak RSS (1 thread), imgpipe / sharp', 0.5),
    ('cold', 'cold start, imgpipe / Node with sharp loaded', 0.3),
    ('floor', 'warm time (1 thread), imgpipe / floor', 1.3),
    ('usd', '$ per million at the cheapest usable size, imgpipe / sharp', 0.5),
]


def stem_of(data):
    return data['date'][:10] + '-' + data['label'] + ('-quick' if data.get('quick') else '')


def tool_model(data, set_name, file, tool):
    r = data['results'].get(set_name, {}).get(file, {}).get(tool, {})
    # the least-contended repetition's wall and the median CPU time: on a
    # shared machine the median wall carries other people's load
    runs = {t: {'wall_ms': x.get('wall_min_ms', x['wall_ms']), 'cpu_ms': x['cpu_ms']}
            for t, x in r.items() if 'wall_ms' in x}
    if '1' not in runs:
        return None
    cold = data.get('cold', {}).get(tool, {}).get('median_ms')
    return {'runs': runs, 'peak_rss_mb': r['1']['peak_rss_kb'] / 1024, 'cold_ms': cold,
            'puts': len(data['sets'][set_name])}


def fmt_ms(x):
    return '—' if x is None else f'{x:,.0f}' if x >= 100 else f'{x:.1f}'


def fmt_usd(x):
    return f'${x:,.2f}' if x >= 1 else f'${x:.3f}'


def mean(xs):
    return sum(xs) / len(xs)


def front_peer(data, fmt):
    return next((r for r in data.get('front', {}).get('peers', []) if r['format'] == fmt), None)


def webp_equal_bytes(data):
    """From the measured front: imgpipe's WebP settings whose bytes are within
    3 % of sharp's default output, and of those the one with the least CPU
    whose butteraugli distances (mean over the variants) are no worse than
    sharp's; if none is as good, the closest in quality, marked so."""
    peer = front_peer(data, 'webp')
    if not peer:
        return None
    rows = [r for r in data['front']['rows'] if r['format'] == 'webp'
            and abs(r['bytes'] / peer['bytes'] - 1) <= 0.03]
    if not rows:
        return None
    good = [r for r in rows if mean(r['butteraugli']) <= mean(peer['butteraugli'])]
    r = min(good, key=lambda r: r['cpu_ms']) if good else min(rows, key=lambda r: mean(r['butteraugli']))
    return dict(setting=r['setting'], cpu=r['cpu_ms'] / peer['cpu_ms'], bytes=r['bytes'] / peer['bytes'],
                quality_ok=bool(good), butteraugli=mean(r['butteraugli']),
                peer_butteraugli=mean(peer['butteraugli']))


def pareto(rows):
    """The rows no other row beats on bytes, CPU and mean butteraugli at once."""
    def key(r):
        return (r['bytes'], r['cpu_ms'], mean(r['butteraugli']))
    return [r for r in rows if not any(
        all(a <= b for a, b in zip(key(o), key(r))) and key(o) != key(r) for o in rows)]


def front_section(data):
    fr = data.get('front')
    if not fr:
        return []
    L = ['## The measured front', '',
         f"Every effort and quality setting on `{fr['file']}` into the web set, imgpipe one thread "
         'pinned to one CPU: total bytes of the three variants, CPU ms per image (median of 3; '
         'AVIF one render), and butteraugli distance of each variant against the source resized '
         'with Lanczos 3 to the same size (lower is better; about 1 is visually lossless). '
         '**front** marks the settings no other setting beats on bytes, CPU and distance at once. '
         "sharp's row is its output of the same file in this run, at its defaults.", '']
    for fmt in ('jpeg', 'webp', 'avif'):
        rows = [r for r in fr['rows'] if r['format'] == fmt]
        if not rows:
            continue
        front = pareto(rows)
        names = rows[0]['names']
        L.append(f'### {fmt.upper()}')
        L.append('')
        L.append('| setting | bytes | CPU ms | ' + ' | '.join(f'butteraugli {n}' for n in names) + ' | mean | |')
        L.append('|---|---|---|' + '---|' * len(names) + '---|---|')
        peer = front_peer(data, fmt)
        for r in ([dict(peer, setting={'sharp': 'defaults', **peer['setting']})] if peer else []) + rows:
            st = ', '.join(f'{k}={v}' for k, v in r['setting'].items())
            L.append(f"| {st} | {r['bytes']:,} | {r['cpu_ms']:.0f} | "
                     + ' | '.join(f'{d:.2f}' for d in r['butteraugli'])
                     + f" | {mean(r['butteraugli']):.2f} | {'front' if r in front else ''} |")
        L.append('')
    eq = webp_equal_bytes(data)
    if eq:
        st = ', '.join(f'{k}={v}' for k, v in eq['setting'].items())
        L.append(f"WebP at equal bytes: imgpipe {st} writes {eq['bytes']:.3f}x sharp's bytes "
                 f"for {eq['cpu']:.2f}x its CPU, mean butteraugli {eq['butteraugli']:.2f} against "
                 f"sharp's {eq['peer_butteraugli']:.2f}"
                 + ('' if eq['quality_ok'] else ': no setting within 3 % of its bytes is as good') + '.')
        L.append('')
    return L


def targets(data, p):
    f, s = data['headline']['file'], data['headline']['set']
    res = data['results'].get(s, {}).get(f, {})
    ip, sh = res.get('imgpipe', {}).get('1'), res.get('sharp', {}).get('1')
    out = {}
    if ip and sh:
        out['warm'] = ip['wall_ms'] / sh['wall_ms']
        out['warm_cpu'] = ip['cpu_ms'] / sh['cpu_ms']
        out['rss'] = ip['peak_rss_kb'] / sh['peak_rss_kb']
    if ip and 'floor' in ip:
        out['floor_ms'] = ip['floor']['decode_ms'] + ip['floor']['encode_ms']
        out['floor'] = ip['wall_ms'] / out['floor_ms']
        out['floor_cpu'] = ip['cpu_ms'] / out['floor_ms']
    wres = data['results'].get('web-webp', {}).get(f, {})
    wi, ws = wres.get('imgpipe', {}).get('1'), wres.get('sharp', {}).get('1')
    if wi and ws:
        out['webp_cpu'] = wi['cpu_ms'] / ws['cpu_ms']
        out['webp_bytes'] = (sum(o['bytes'] for o in wi['outputs']) /
                             sum(o['bytes'] for o in ws['outputs']))
    eq = webp_equal_bytes(data)
    if eq:
        # the front holds the comparison the target asks for: equal bytes, and quality
        out['webp_cpu'], out['webp_bytes'] = eq['cpu'], eq['bytes']
        out['webp_eq'] = eq
    c = data.get('cold', {})
    if 'imgpipe' in c and 'sharp' in c:
        out['cold'] = c['imgpipe']['median_ms'] / c['sharp']['median_ms']
    mi, ms = tool_model(data, s, f, 'imgpipe'), tool_model(data, s, f, 'sharp')
    if mi and ms:
        ci, cs = cost.cheapest(cost.table(mi, p)), cost.cheapest(cost.table(ms, p))
        if ci and cs:
            out['usd'] = ci['usd_per_million']['total'] / cs['usd_per_million']['total']
            out['usd_compute'] = ci['usd_per_million']['compute'] / cs['usd_per_million']['compute']
    rss = [r['imgpipe']['1']['peak_rss_kb'] / 1024
           for files in data['results'].values() for r in files.values()
           if 'imgpipe' in r and '1' in r['imgpipe']]
    out['corpus_rss_mb'] = max(rss) if rss else None
    return out


# --- SVG ------------------------------------------------------------------------

def svg_plot(path, title, ylabel, series, logy=True, yfmt=str):
    """series: [(tool, [(mem, y, usable)], cheapest_mem or None)]"""
    W, H, L, R, T, B = 760, 440, 80, 150, 40, 50
    xs = cost.MEMORY_SIZES
    ys = [y for _, pts, _ in series for _, y, _ in pts if y > 0]
    if not ys:
        return
    lo, hi = min(ys), max(ys)
    if logy:
        lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    else:
        lo, hi = 0, hi * 1.1

    def X(m):
        return L + (math.log(m) - math.log(xs[0])) / (math.log(xs[-1]) - math.log(xs[0])) * (W - L - R)

    def Y(v):
        if logy:
            f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo)
        return H - B - f * (H - T - B)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
         f'<text x="16" y="{(T + H - B) / 2}" transform="rotate(-90 16 {(T + H - B) / 2})" '
         f'text-anchor="middle">{ylabel}</text>',
         f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">Lambda memory size (MB, log scale)</text>']
    for m in (128, 256, 512, 1024, 1769, 3008, 5120, 10240):
        o.append(f'<line x1="{X(m):.1f}" y1="{T}" x2="{X(m):.1f}" y2="{H - B}" stroke="#ddd"/>')
        o.append(f'<text x="{X(m):.1f}" y="{H - B + 16}" text-anchor="middle">{m}</text>')
    ticks = []
    if logy:
        d = lo
        while d <= hi * 1.0001:
            for k in (1, 2, 5):
                if lo <= d * k <= hi * 1.0001:
                    ticks.append(d * k)
            d *= 10
    else:
        step = 10 ** math.floor(math.log10(hi / 5))
        ticks = [i * step for i in range(0, int(hi / step) + 1) if i * step <= hi][::max(1, int(hi / step) // 8)]
    for v in ticks:
        o.append(f'<line x1="{L}" y1="{Y(v):.1f}" x2="{W - R}" y2="{Y(v):.1f}" stroke="#eee"/>')
        o.append(f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{yfmt(v)}</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#888"/>')
    for i, (tool, pts, best) in enumerate(series):
        col = COLOURS.get(tool, 'black')
        for (m0, y0, u0), (m1, y1, u1) in zip(pts, pts[1:]):
            dash = '' if u0 and u1 else ' stroke-dasharray="3 4" stroke-opacity="0.5"'
            o.append(f'<line x1="{X(m0):.1f}" y1="{Y(y0):.1f}" x2="{X(m1):.1f}" y2="{Y(y1):.1f}" '
                     f'stroke="{col}" stroke-width="2"{dash}/>')
        if best:
            y = next(y for m, y, _ in pts if m == best)
            o.append(f'<circle cx="{X(best):.1f}" cy="{Y(y):.1f}" r="5" fill="{col}"/>')
        ly = T + 14 + i * 20
        o.append(f'<line x1="{W - R + 10}" y1="{ly - 4}" x2="{W - R + 30}" y2="{ly - 4}" stroke="{col}" stroke-width="2"/>')
        o.append(f'<text x="{W - R + 35}" y="{ly}">{NAMES.get(tool, tool)}</text>')
    ly = T + 14 + len(series) * 20 + 10
    o.append(f'<text x="{W - R + 10}" y="{ly}" font-size="10">dashed: peak RSS</text>')
    o.append(f'<text x="{W - R + 10}" y="{ly + 12}" font-size="10">does not fit</text>')
    o.append(f'<text x="{W - R + 10}" y="{ly + 26}" font-size="10">dot: cheapest usable</text>')
    o.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(o) + '\n')


# --- markdown ---------------------------------------------------------------------

def write(data, prices_path, overrides, outdir):
    p, raw = cost.load_prices(prices_path, overrides)
    stem = stem_of(data)
    f, s = data['headline']['file'], data['headline']['set']
    tools = [t for t in ('imgpipe', 'sharp', 'vipsthumbnail', 'convert', 'pillow')
             if tool_model(data, s, f, t)]
    tables = {t: cost.table(tool_model(data, s, f, t), p) for t in tools}
    best = {t: cost.cheapest(tables[t]) for t in tools}

    svg_plot(os.path.join(outdir, stem + '-dollars.svg'),
             f'$ per million images, {f} into the standard web set (x86_64)',
             '$ per million images', [(t, [(r['memory_mb'], r['usd_per_million']['total'], r['usable'])
                                          for r in tables[t]], best[t] and best[t]['memory_mb'])
                                     for t in tools],
             yfmt=lambda v: f'${v:g}')
    svg_plot(os.path.join(outdir, stem + '-latency.svg'),
             f'Predicted duration per image, {f} into the standard web set',
             'milliseconds per image', [(t, [(r['memory_mb'], r['duration_ms'], r['usable'])
                                            for r in tables[t]], best[t] and best[t]['memory_mb'])
                                       for t in tools],
             yfmt=lambda v: f'{v:g}')

    tg = targets(data, p)
    m = data['machine']
    L = []
    L.append(f"# imgpipe benchmark: {data['label']}{' (quick)' if data.get('quick') else ''}, {data['date']}")
    L.append('')
    if data.get('errors'):
        L.append(f"**This run FAILED**: {len(data['errors'])} runs gave no result, or fewer or "
                 "other outputs than asked (see Errors at the end); their rows are missing below.")
        L.append('')
    L.append('Made by `make bench` (bench/run.py); the raw figures are in '
             f'[{stem}.json]({stem}.json). Medians of many repetitions in one run on one machine; '
             'the machine is shared and noisy, so read the ratios, not the absolute milliseconds.')
    L.append('')
    L.append(f"- **Machine**: {m.get('cpu', '?')}, {m.get('cpus')} CPUs, {m.get('memory', '?')}, "
             f"{m.get('os', '?')}, kernel {m.get('kernel')}; load average at start {' '.join(m.get('load', []))}")
    for k, v in data['versions'].items():
        L.append(f'- **{NAMES.get(k, k)}**: {v}')
    L.append(f"- Run took {data.get('elapsed_s', '?')} s")
    L.append('')

    L.append('## Targets')
    L.append('')
    L.append(f'On `{f}` (a 12-megapixel JPEG with a camera\'s grain, '
             f"{data['files'].get(f, {}).get('bytes_per_pixel', '?')} bytes a pixel) into the "
             'standard web set (320, 800, 1600 px boxes, fit inside, JPEG q80), one thread each, '
             'every tool pinned to one CPU:')
    L.append('')
    L.append('| target | measured | goal | |')
    L.append('|---|---|---|---|')
    for key, what, goal in TARGETS:
        v = tg.get(key)
        if v is None:
            L.append(f'| {what} | not measured | ≤ {goal} | |')
            continue
        ok = v <= goal
        verdict = 'met' if ok else f'missed by {(v / goal - 1) * 100:.0f}%'
        extra = ''
        if key == 'warm':
            extra = f" (CPU time: {tg['warm_cpu']:.2f})"
        if key == 'webp_cpu':
            b = tg['webp_bytes']
            eq = tg.get('webp_eq')
            how = (f"imgpipe {', '.join(f'{k}={v}' for k, v in eq['setting'].items())}, "
                   f"butteraugli {eq['butteraugli']:.2f} vs {eq['peer_butteraugli']:.2f}; "
                   if eq else 'both q80 (run --front for equal bytes); ')
            extra = f" ({how}bytes {b:.3f}x sharp's{'' if abs(b - 1) <= 0.03 else ': NOT equal, the ratio does not count'})"
            if abs(b - 1) > 0.03:
                verdict = 'not comparable'
            elif eq and not eq['quality_ok']:
                verdict = 'not comparable: lower quality at equal bytes'
        if key == 'usd':
            extra = f" (compute alone: {tg['usd_compute']:.2f})" if 'usd_compute' in tg else ''
        if key == 'floor':
            extra = f" (CPU time: {tg['floor_cpu']:.2f}; floor {tg['floor_ms']:.0f} ms)"
        L.append(f'| {what} | **{v:.2f}**{extra} | ≤ {goal} | {verdict} |')
    c = tg.get('corpus_rss_mb')
    if c is not None:
        fits = c * p['rss_margin'] <= 128
        L.append(f"| whole corpus in a 128 MB Lambda: largest imgpipe peak RSS (× {p['rss_margin']} margin) | "
                 f"**{c:.0f} MB** ({c * p['rss_margin']:.0f} MB) | ≤ 128 MB | {'met' if fits else 'missed'} |")
    L.append('')
    L.append(f'![$ per million images against memory size]({stem}-dollars.svg)')
    L.append(f'![duration against memory size]({stem}-latency.svg)')
    L.append('')

    # headline detail
    L.append(f'## {f}, every set, every tool')
    L.append('')
    L.append('Warm milliseconds per image (all variants) and CPU milliseconds at one thread, '
             'wall at two, peak RSS of the process at one thread, output bytes against imgpipe\'s.')
    L.append('')
    for set_name in data['results']:
        r = data['results'][set_name].get(f)
        if not r:
            continue
        vs = data['sets'][set_name]
        L.append(f"**{set_name}**: " + ', '.join(f"{v['width']}x{v['height']} {v['format']} q{v['q']}" for v in vs))
        L.append('')
        L.append('| tool | ms (1 thread) | CPU ms | ms (2 threads) | peak RSS | output bytes | vs imgpipe |')
        L.append('|---|---|---|---|---|---|---|')
        ib = sum(o['bytes'] for o in r['imgpipe']['1']['outputs']) if 'imgpipe' in r and 'outputs' in r['imgpipe'].get('1', {}) else None
        for t in ('imgpipe', 'sharp', 'vipsthumbnail', 'convert', 'pillow'):
            x = r.get(t, {}).get('1')
            if not x:
                continue
            if 'skipped' in x:
                L.append(f"| {NAMES[t]} | {x['skipped']} | | | | | |")
                continue
            b = sum(o['bytes'] for o in x['outputs'])
            two = r[t].get('2', {}).get('wall_ms')
            L.append(f"| {NAMES[t]} | {fmt_ms(x['wall_ms'])} | {fmt_ms(x['cpu_ms'])} | {fmt_ms(two)} | "
                     f"{x['peak_rss_kb'] / 1024:.0f} MB | {b:,} | {b / ib:.2f} |" if ib else '|')
        L.append('')

    # imgpipe's split and the floor
    L.append('## imgpipe: where the time goes, and the floor')
    L.append('')
    L.append('One thread, standard web set. The floor is one decode at the scale the largest variant '
             'needs (shrink-on-load, into memory) plus the encode of every output from pixels already '
             'at their size; the resizes are left out of it. placeholder: the manifest\'s ThumbHash, '
             'BlurHash, average colour and data: URI, made from the decode (part of imgpipe\'s time).')
    L.append('')
    L.append('| source | size | probe | decode | placeholder | resize | encode | imgpipe | CPU | floor (decode + encode) | imgpipe / floor | peak RSS |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for file, r in data['results'].get(s, {}).items():
        x = r.get('imgpipe', {}).get('1')
        if not x:
            continue
        fl = x.get('floor', {})
        fm = fl.get('decode_ms', 0) + fl.get('encode_ms', 0)
        ph = x.get('placeholder_ms')
        L.append(f"| {file} | {data['files'][file]['size']} | {x['probe_ms']:.1f} | {x['decode_ms']:.1f} | "
                 f"{'—' if ph is None else f'{ph:.2f}'} | {x['resize_ms']:.1f} | {x['encode_ms']:.1f} | {x['wall_ms']:.1f} | {x['cpu_ms']:.1f} | "
                 f"{fl.get('decode_ms', 0):.1f} + {fl.get('encode_ms', 0):.1f} | "
                 f"{x['wall_ms'] / fm:.2f} | {x['peak_rss_kb'] / 1024:.0f} MB |")
    L.append('')

    # corpus tables
    for set_name, files in data['results'].items():
        L.append(f'## The corpus, {set_name}: ms per image (1 thread) and peak RSS')
        L.append('')
        L.append('| source | size | bytes/pixel | ' + ' | '.join(NAMES[t] for t in tools) + ' |')
        L.append('|---|---|---|' + '---|' * len(tools))
        for file, r in files.items():
            cells = []
            for t in tools:
                x = r.get(t, {}).get('1')
                cells.append('—' if not x or 'wall_ms' not in x else
                             f"{fmt_ms(x['wall_ms'])} ms, {x['peak_rss_kb'] / 1024:.0f} MB")
            bpp = data['files'][file].get('bytes_per_pixel')
            L.append(f"| {file} | {data['files'][file]['size']} | {bpp if bpp is not None else '?'} | "
                     + ' | '.join(cells) + ' |')
        sizes = []
        for t in tools:
            ratios = []
            for r in files.values():
                x, i = r.get(t, {}).get('1'), r.get('imgpipe', {}).get('1')
                if x and i and 'outputs' in x and 'outputs' in i:
                    ratios.append(sum(o['bytes'] for o in x['outputs']) / sum(o['bytes'] for o in i['outputs']))
            sizes.append(f'{sorted(ratios)[len(ratios) // 2]:.2f}' if ratios else '—')
        L.append('| output bytes vs imgpipe (median) | | | ' + ' | '.join(sizes) + ' |')
        L.append('')

    # cold starts
    L.append('## Cold start')
    L.append('')
    L.append('Process start until the first `GET /2018-06-01/runtime/invocation/next` reaches a loopback '
             'Runtime API: `imgpipe lambda` (its whole INIT: config, libvips, the store), `node` '
             "running `require('sharp')` then the GET, `python3` importing PIL then the GET. Files are in "
             'the page cache. vipsthumbnail and convert start a process per variant and pay that in '
             'their per-image time.')
    L.append('')
    L.append('| runtime | median | min | trials |')
    L.append('|---|---|---|---|')
    for t, c in data.get('cold', {}).items():
        L.append(f"| {NAMES[t]} | {c['median_ms']:.1f} ms | {c['min_ms']:.1f} ms | {c['n']} |")
    L.append('')

    # cost
    L.append('## What it costs on Lambda')
    L.append('')
    L.append('The model is in [bench/cost.py](../cost.py), prices in [bench/prices.json](../prices.json):')
    L.append('')
    for k, v in raw.items():
        if k.startswith('_'):
            continue
        val = v.get('usd', v.get('value'))
        L.append(f"- `{k}` = {p[k]}{' (overridden)' if p[k] != val else ''}: {v['source']}, {v['date']}")
    L.append('')
    L.append(f'Per image of `{f}` into the standard web set: one GET, {len(data["sets"][s])} PUTs, '
             f"INIT at a cold-start rate of {p['cold_start_rate']:g}. "
             'Predicted duration at a memory size M stretches the measured CPU time by the CPU share '
             'M / 1,769 MB, and uses a second core only for tools measured faster at two threads. '
             'Its inputs are the fastest repetition\'s wall time (the least disturbed by the other '
             'work on this shared machine) and the median CPU time.')
    L.append('')
    L.append('| tool | cheapest usable size | duration | $ compute | $ requests | $ S3 | $ INIT | **$ per million** (x86_64) | arm64* |')
    L.append('|---|---|---|---|---|---|---|---|---|')
    for t in tools:
        b = best[t]
        if not b:
            L.append(f'| {NAMES[t]} | none fits | | | | | | | |')
            continue
        arm = cost.predict(tool_model(data, s, f, t), b['memory_mb'], p, 'arm64')
        u = b['usd_per_million']
        L.append(f"| {NAMES[t]} | {b['memory_mb']} MB | {b['duration_ms']:.0f} ms | {fmt_usd(u['compute'])} | "
                 f"{fmt_usd(u['requests'])} | {fmt_usd(u['s3'])} | {fmt_usd(u['init'])} | **{fmt_usd(u['total'])}** | "
                 f"{fmt_usd(arm['usd_per_million']['total'])} |")
    L.append('')
    L.append('\\* arm64: the arm64 price applied to the durations measured here on x86_64; not measured on Arm.')
    L.append('')
    L.append('$ per million images (x86_64) by memory size; — where peak RSS × margin does not fit:')
    L.append('')
    L.append('| memory | ' + ' | '.join(NAMES[t] for t in tools) + ' |')
    L.append('|---|' + '---|' * len(tools))
    for i, mem in enumerate(cost.MEMORY_SIZES):
        cells = []
        for t in tools:
            r = tables[t][i]
            cells.append(f"{fmt_usd(r['usd_per_million']['total'])} ({r['duration_ms']:.0f} ms)"
                         if r['usable'] else '—')
        L.append(f'| {mem} MB | ' + ' | '.join(cells) + ' |')
    L.append('')

    # the same image on the other clouds
    L.append('## The same image on four clouds')
    L.append('')
    L.append('Each platform at its cheapest configuration that fits (peak RSS × margin), one image per '
             'invocation, the durations measured here; the model and its assumptions are in '
             '[bench/cost.py](../cost.py) (`clouds`), the prices (each with its source and date) in '
             '[bench/prices.json](../prices.json). Storage is each cloud\'s own: one read of the '
             f'source and {len(data["sets"][s])} writes.')
    L.append('')
    L.append('| platform | tool | configuration | duration | $ compute | $ requests | $ storage | $ INIT | **$ per million** | vs sharp |')
    L.append('|---|---|---|---|---|---|---|---|---|---|')
    cloud_rows = {t: cost.clouds(tool_model(data, s, f, t), p) for t in ('imgpipe', 'sharp') if t in tools}
    for i in range(4):
        for t, rows in cloud_rows.items():
            r = rows[i]
            other = cloud_rows.get('sharp', [None] * 4)[i]
            if not r:
                L.append(f'| {("AWS Lambda (x86_64)", "Cloud Run functions", "Azure Functions, Consumption", "Azure Functions, Flex Consumption")[i]} | {NAMES[t]} | none fits | | | | | | | |')
                continue
            u = r['usd_per_million']
            ratio = (f"{u['total'] / other['usd_per_million']['total']:.2f}"
                     if t != 'sharp' and other else '')
            L.append(f"| {r['platform']} | {NAMES[t]} | {r['config']} | {r['duration_ms']:.0f} ms | "
                     f"{fmt_usd(u['compute'])} | {fmt_usd(u['requests'])} | {fmt_usd(u['storage'])} | "
                     f"{fmt_usd(u['init'])} | **{fmt_usd(u['total'])}** | {ratio} |")
    L.append('')

    L.extend(front_section(data))
    if data.get('errors'):
        L.append('## Errors')
        L.append('')
        for e in data['errors']:
            L.append(f'- {e}')
        L.append('')
    notes = os.path.join(outdir, f"NOTES-{data['label']}.md")
    if os.path.exists(notes):
        L.append(open(notes).read().rstrip())
        L.append('')
    with open(os.path.join(outdir, stem + '.md'), 'w') as fh:
        fh.write('\n'.join(L))
