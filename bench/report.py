"""report.py: the bench's JSON into bench/results/<stem>.md and two SVG plots.

Called by run.py at the end of a run, or again on a saved run with
`run.py --report-only FILE.json` (after a change of prices, for example).
The closing note, written by a person, is kept in bench/results/NOTES-<label>.md
and included at the end if present.
"""
import math
import os

import cost
import front
import history

COLOURS = {'imgpipe': '#d62728', 'sharp': '#1f77b4', 'vipsthumbnail': '#2ca02c',
           'convert': '#9467bd', 'pillow': '#ff7f0e'}
NAMES = {'imgpipe': 'imgpipe', 'sharp': 'sharp', 'vipsthumbnail': 'vipsthumbnail',
         'convert': 'ImageMagick', 'pillow': 'Pillow'}
# key, what, goal, lower is better. Ratios of CPU are imgpipe / sharp, both
# pinned to one CPU, medians over the camera set (corpus.sh).
TARGETS = [
    ('jpeg_cpu', 'JPEG set: CPU per image, imgpipe / sharp', 0.45, True),
    ('webp_cpu', 'WebP set: CPU per image, at equal bytes (±3 %) and distance', 0.65, True),
    ('avif_cpu', 'AVIF set: CPU per image, at bytes within 3 % and mean butteraugli no worse', 0.35, True),
    ('picture_cpu', 'the `<picture>` set (AVIF + WebP + JPEG, 3 widths each): CPU per image', 0.40, True),
    ('threads_jpeg', 'one image on 2 threads / 1 thread, wall, JPEG set', 0.6, True),
    ('threads_webp', 'one image on 2 threads / 1 thread, wall, WebP set', 0.6, True),
    ('threads_avif', 'one image on 2 threads / 1 thread, wall, AVIF set', 0.6, True),
    ('threads_picture', 'one image on 2 threads / 1 thread, wall, `<picture>` set', 0.6, True),
    ('cores_resize', '`imgpipe resize -j 2` / `-j 1`, images per second', 1.8, False),
    ('cores_serve', '`imgpipe serve` at concurrency 2 / 1, images per second', 1.8, False),
    ('warm', 'JPEG set: warm time (1 thread), imgpipe / sharp', 0.5, True),
    ('rss', 'JPEG set: peak RSS (1 thread), imgpipe / sharp', 0.5, True),
    ('cold', 'cold start, imgpipe / Node with sharp loaded', 0.3, True),
    ('floor', 'JPEG set, the headline photo: warm time (1 thread), imgpipe / floor', 1.3, True),
    ('usd', 'JPEG set, the headline photo: $ per million on Lambda at the cheapest usable size, imgpipe / sharp', 0.5, True),
]
SET_NAMES = {'web-jpeg': 'JPEG', 'web-webp': 'WebP', 'web-avif': 'AVIF'}


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
    n = len(data['sets'][set_name])
    io = data.get('io')
    if tool == 'imgpipe' and io:
        # the requests it was measured making (iotime.py) for the web set:
        # beyond the variants, the manifest's PUT; the HEADs of its
        # idempotence checks are billed as reads
        return {'runs': runs, 'peak_rss_mb': r['1']['peak_rss_kb'] / 1024, 'cold_ms': cold,
                'puts': n + io['puts'] - io.get('variants', 3), 'gets': io.get('gets', 1) + io.get('heads', 0)}
    return {'runs': runs, 'peak_rss_mb': r['1']['peak_rss_kb'] / 1024, 'cold_ms': cold, 'puts': n}


def fmt_ms(x):
    return '—' if x is None else f'{x:,.0f}' if x >= 100 else f'{x:.1f}'


def fmt_usd(x):
    return f'${x:,.2f}' if x >= 1 else f'${x:.3f}'


def mean(xs):
    return sum(xs) / len(xs)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if not n else xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def pair(data, set_name, f, threads='1'):
    r = data['results'].get(set_name, {}).get(f, {})
    ip, sh = r.get('imgpipe', {}).get(threads), r.get('sharp', {}).get(threads)
    return (ip, sh) if ip and sh and 'cpu_ms' in ip and 'cpu_ms' in sh else (None, None)


def photos_of(data, set_name):
    """The camera photos this set has both tools' results for."""
    return [f for f in data.get('camera', []) if pair(data, set_name, f)[0]]


def set_figures(data, set_name):
    """CPU ratio (median of per-photo ratios), bytes ratio (totals), mean
    butteraugli of each tool, over the camera set."""
    fs = photos_of(data, set_name)
    if not fs:
        return None
    cpu = median([pair(data, set_name, f)[0]['cpu_ms'] / pair(data, set_name, f)[1]['cpu_ms'] for f in fs])
    b = [sum(o['bytes'] for o in x['outputs']) for f in fs for x in [pair(data, set_name, f)[0]]]
    c = [sum(o['bytes'] for o in x['outputs']) for f in fs for x in [pair(data, set_name, f)[1]]]
    q = data.get('quality', {}).get('butteraugli', {}).get(set_name, {})
    out = dict(photos=len(fs), cpu=cpu, bytes=sum(b) / sum(c),
               imgpipe_cpu_ms=median([pair(data, set_name, f)[0]['cpu_ms'] for f in fs]),
               sharp_cpu_ms=median([pair(data, set_name, f)[1]['cpu_ms'] for f in fs]),
               wall=median([pair(data, set_name, f)[0]['wall_ms'] / pair(data, set_name, f)[1]['wall_ms'] for f in fs]),
               rss=median([pair(data, set_name, f)[0]['peak_rss_kb'] / pair(data, set_name, f)[1]['peak_rss_kb'] for f in fs]))
    if q.get('imgpipe') and q.get('sharp'):
        out.update(ba=mean(q['imgpipe']), ba_sharp=mean(q['sharp']), ba_max=max(q['imgpipe']),
                   ba_sharp_max=max(q['sharp']))
    # two threads: imgpipe's median wall at 2 over its wall at 1, where measured
    two = [pair(data, set_name, f, '2')[0]['wall_ms'] / pair(data, set_name, f)[0]['wall_ms']
           for f in fs if pair(data, set_name, f, '2')[0]]
    if two:
        out['threads'] = median(two)
        out['threads_photos'] = len(two)
    return out


def picture(data):
    """The <picture> set per photo: the three sets' CPU summed (imgpipe then
    decodes three times, not once: its ratio is if anything too high)."""
    sets = ('web-jpeg', 'web-webp', 'web-avif')
    fs = [f for f in data.get('camera', []) if all(pair(data, s, f)[0] for s in sets)]
    if not fs:
        return None
    ratio = median([sum(pair(data, s, f)[0]['cpu_ms'] for s in sets) /
                    sum(pair(data, s, f)[1]['cpu_ms'] for s in sets) for f in fs])
    out = dict(photos=len(fs), cpu=ratio)
    h = data['headline']['file']
    if all(pair(data, s, h, '2')[0] for s in sets):
        out['threads'] = (sum(pair(data, s, h, '2')[0]['wall_ms'] for s in sets) /
                          sum(pair(data, s, h)[0]['wall_ms'] for s in sets))
    return out


def targets(data, p):
    f, s = data['headline']['file'], data['headline']['set']
    out, detail = {}, {}
    for set_name in SET_NAMES:
        fig = set_figures(data, set_name)
        if not fig:
            continue
        key = set_name.split('-')[1]
        detail[key] = fig
        out[key + '_cpu'] = fig['cpu']
        if 'threads' in fig:
            out['threads_' + key] = fig['threads']
    if 'jpeg' in detail:
        out['warm'], out['rss'] = detail['jpeg']['wall'], detail['jpeg']['rss']
    pic = picture(data)
    if pic:
        detail['picture'] = pic
        out['picture_cpu'] = pic['cpu']
        if 'threads' in pic:
            out['threads_picture'] = pic['threads']
    ip, _ = pair(data, s, f)
    if ip and 'floor' in ip:
        out['floor_ms'] = ip['floor']['decode_ms'] + ip['floor']['encode_ms']
        out['floor'] = ip['wall_ms'] / out['floor_ms']
        out['floor_cpu'] = ip['cpu_ms'] / out['floor_ms']
    c = data.get('cold', {})
    if 'imgpipe' in c and 'sharp' in c:
        out['cold'] = c['imgpipe']['median_ms'] / c['sharp']['median_ms']
    co = data.get('cores')
    if co:
        out['cores_resize'] = co['resize']['ratio']
        out['cores_serve'] = co['serve']['ratio']
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
    out['detail'] = detail
    return out


def comparable(key, tg):
    """Why a CPU ratio does not count, or None: bytes more than 3 % apart, or
    imgpipe's mean butteraugli worse than sharp's (the WebP and AVIF targets
    are set at equal bytes and distance; JPEG's shows both beside it)."""
    d = tg['detail'].get(key.split('_')[0]) if key in ('webp_cpu', 'avif_cpu') else None
    if not d:
        return None
    if abs(d['bytes'] - 1) > 0.03:
        return f"bytes {d['bytes']:.3f}x sharp's, not within 3 %"
    if 'ba' in d and d['ba'] > d['ba_sharp']:
        return f"mean butteraugli {d['ba']:.2f} against sharp's {d['ba_sharp']:.2f}"
    if 'ba' not in d:
        return 'distance not measured'
    return None


def verdict(key, goal, lower, v, tg):
    ok = v <= goal if lower else v >= goal
    why = comparable(key, tg)
    if ok and why:
        return f'not comparable: {why}'
    if ok:
        return 'met'
    miss = (v / goal - 1) if lower else (1 - v / goal)
    return (f'missed by {miss * 100:.0f}%' if miss >= 0.01 else f'missed by {miss * 100:.1f}%') \
        + (f' ({why})' if why else '')


def ratios(data, p):
    """The targets as history.py records them."""
    tg = targets(data, p)
    return [dict(target=k, value=tg[k], goal=g, lower_is_better=lo)
            for k, _, g, lo in TARGETS if isinstance(tg.get(k), (int, float))]


def lambda_sizes(data, p):
    """Per format set, on the headline photo: the Lambda memory size with the
    lowest $ per million and the one with the lowest latency."""
    f = data['headline']['file']
    L = ['### Which Lambda size, per format set', '',
         f'On `{f}`, x86_64 prices, the model of "What it costs" below '
         f"(I/O time {p['io_ms']:.0f} ms added to every invocation"
         + (', measured below)' if data.get('io') else ', an assumption)') + '.', '',
         '| set | tool | lowest $ per million | at | lowest latency | at | $ per million there |',
         '|---|---|---|---|---|---|---|']
    for set_name in SET_NAMES:
        for t in ('imgpipe', 'sharp'):
            m = tool_model(data, set_name, f, t)
            if not m:
                continue
            rows = cost.table(m, p)
            c, q = cost.cheapest(rows), cost.fastest(rows)
            if not c:
                L.append(f'| {set_name} | {NAMES[t]} | none fits | | | | |')
                continue
            L.append(f"| {set_name} | {NAMES[t]} | {fmt_usd(c['usd_per_million']['total'])} | "
                     f"{c['memory_mb']} MB ({c['duration_ms']:.0f} ms) | {q['duration_ms']:.0f} ms | "
                     f"{q['memory_mb']} MB | {fmt_usd(q['usd_per_million']['total'])} |")
    L.append('')
    io = data.get('io')
    if io:
        L.append('### I/O time beside CPU time')
        L.append('')
        L.append(f"`imgpipe lambda` warm against a loopback Runtime API and the S3 stand-in (s3rver "
                 f"behind the tests' SigV4 check), {io['events']} events of `{f}`: one GET and "
                 f"{io['puts']} PUTs each.")
        L.append('')
        L.append('| per event | median |')
        L.append('|---|---|')
        ov = io.get('overlap') or {}
        for k, what, v in (('wall_ms', 'wall, event handed out to reply', io.get('wall_ms')),
                           ('render_ms', 'render alone (imgpipe-bench, same photo)', io.get('render_ms')),
                           ('io_ms', '**what I/O adds on the critical path (wall − render)**', io.get('io_ms')),
                           ('get_ms', 'GET of the source', io.get('get_ms')),
                           ('head_ms', f"HEADs (idempotence: {io.get('heads', '?')} a event)", io.get('head_ms')),
                           ('put_ms', f"PUTs ({io.get('puts', '?')}: the variants, then the manifest)", io.get('put_ms')),
                           ('sum', 'PUT time summed', ov.get('put_sum_ms')),
                           ('par', 'of it hidden by PUTs in parallel', ov.get('hidden_by_parallel_puts_ms')),
                           ('enc', 'of it hidden behind encodes', ov.get('hidden_behind_encode_ms'))):
            if v is not None:
                L.append(f'| {what} | {v:.1f} ms |')
        if io.get('connections') is not None:
            L.append(f"| TCP connections over all {io['events']} events (+ warm-up), "
                     f"{io.get('requests', '?')} requests | {io['connections']} |")
        if io.get('steady') is False:
            L.append('')
            L.append('The machine was not steady during this measurement (render-alone wall above its CPU, '
                     'or the events\' render off the render alone by over 10 %): the I/O figure is not reliable.')
        L.append('')
    return L


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


SCATTER = ['#d62728', '#ff9896', '#1f77b4', '#aec7e8', '#2ca02c', '#98df8a', '#9467bd', '#c5b0d5',
           '#8c564b', '#c49c94', '#e377c2', '#f7b6d2', '#bcbd22', '#dbdb8d', '#17becf', '#9edae5']


def svg_scatter(path, title, xlabel, ylabel, series):
    """series: [(name, [(x, y, label)], joined)]; x on a log scale."""
    W, H, L, R, T, B = 900, 500, 70, 300, 40, 50
    pts = [(x, y) for _, ps, _ in series for x, y, _ in ps if x > 0]
    if not pts:
        return
    x0 = 10 ** (math.floor(math.log10(min(x for x, _ in pts)) * 10) / 10)
    x1 = 10 ** (math.ceil(math.log10(max(x for x, _ in pts)) * 10) / 10)
    y0 = math.floor(min(y for _, y in pts) * 2) / 2
    y1 = math.ceil(max(y for _, y in pts) * 2) / 2 + 0.25

    def X(v):
        return L + (math.log10(v) - math.log10(x0)) / (math.log10(x1) - math.log10(x0)) * (W - L - R)

    def Y(v):
        return H - B - (v - y0) / (y1 - y0) * (H - T - B)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{(W - R + L) / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
         f'<text x="16" y="{(T + H - B) / 2}" transform="rotate(-90 16 {(T + H - B) / 2})" '
         f'text-anchor="middle">{ylabel}</text>',
         f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>']
    d = 10 ** math.floor(math.log10(x0))
    steps = (1, 2, 5) if x1 / x0 > 10 else (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
    while d <= x1 * 1.0001:
        for k in steps:
            if x0 <= d * k <= x1 * 1.0001:
                o.append(f'<line x1="{X(d * k):.1f}" y1="{T}" x2="{X(d * k):.1f}" y2="{H - B}" stroke="#eee"/>')
                o.append(f'<text x="{X(d * k):.1f}" y="{H - B + 16}" text-anchor="middle">{d * k:g}</text>')
        d *= 10
    v = y0
    while v <= y1:
        o.append(f'<line x1="{L}" y1="{Y(v):.1f}" x2="{W - R}" y2="{Y(v):.1f}" stroke="#eee"/>')
        o.append(f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += 0.5
    o.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#888"/>')
    for i, (name, ps, joined) in enumerate(series):
        col = 'black' if name.startswith('sharp') else SCATTER[i % len(SCATTER)]
        if joined and len(ps) > 1:
            o.append('<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>'.format(
                col, ' '.join(f'{X(x):.1f},{Y(y):.1f}' for x, y, _ in ps)))
        for x, y, label in ps:
            shape = (f'<rect x="{X(x) - 5:.1f}" y="{Y(y) - 5:.1f}" width="10" height="10" fill="{col}"/>'
                     if name.startswith('sharp') else
                     f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="{3.5 if joined else 2.5}" fill="{col}"/>')
            o.append(shape)
            if joined or name.startswith('sharp'):
                o.append(f'<text x="{X(x) + 5:.1f}" y="{Y(y) - 5:.1f}" font-size="9">{label}</text>')
        ly = T + 14 + i * 20
        o.append(f'<circle cx="{W - R + 20}" cy="{ly - 4}" r="4" fill="{col}"/>')
        o.append(f'<text x="{W - R + 30}" y="{ly}">{name}</text>')
    o.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(o) + '\n')


# --- markdown ---------------------------------------------------------------------

def write_front(fr, outdir, stem):
    """A --front-only run's report: the front's tables and its plot."""
    L = [f"# imgpipe's measured front: {fr.get('label', '?')}, {fr.get('date', '?')}", '',
         f"Commit {fr.get('commit', '?')}; {fr.get('machine', {}).get('cpu', '?')}, "
         f"{fr.get('machine', {}).get('os', '?')}; {fr.get('versions', {}).get('imgpipe', '')}. "
         f"The raw figures: [{stem}.json]({stem}.json).", '']
    if fr.get('recovered'):
        L += [f"Note: {fr['recovered']}.", '']
    plotted = front.plot(fr, os.path.join(outdir, stem + '.svg'), svg_scatter)
    L += front.section(fr, stem + '.svg' if plotted else None)
    with open(os.path.join(outdir, stem + '.md'), 'w') as fh:
        fh.write('\n'.join(L) + '\n')


def prices_for(data, prices_path, overrides):
    """The prices, with the run's measured I/O time in place of prices.json's
    assumption unless --price io_ms=... says otherwise."""
    p, raw = cost.load_prices(prices_path, overrides)
    if data.get('io') and data['io'].get('steady', True) and not any(o.startswith('io_ms=') for o in overrides):
        p['io_ms'] = data['io']['io_ms']
    return p, raw


def write(data, prices_path, overrides, outdir):
    p, raw = prices_for(data, prices_path, overrides)
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
    cam = data.get('camera', [])
    L.append(f"Every tool pinned to one CPU, one thread unless said, the web set (320, 800, 1600 px "
             f"boxes, fit inside; JPEG and WebP q80, AVIF at each tool's default), from this one run. "
             f"CPU ratios are medians of the per-photo ratios over the camera set ({len(cam)} photos: "
             f"{', '.join(f'`{c}`' for c in cam)}; sizes and bytes per pixel in the corpus tables "
             f"below); bytes are totals over it; butteraugli distances (lower is better) are means "
             f"over the variants of the first {len(data.get('quality', {}).get('photos', []))} photos.")
    L.append('')
    L.append('| target | measured | goal | |')
    L.append('|---|---|---|---|')
    det = tg['detail']
    for key, what, goal, lower in TARGETS:
        v = tg.get(key)
        rel = '≤' if lower else '≥'
        if v is None:
            L.append(f'| {what} | not measured | {rel} {goal} | |')
            continue
        extra = ''
        k = key.split('_')[0]
        if key in ('jpeg_cpu', 'webp_cpu', 'avif_cpu') and k in det:
            d = det[k]
            extra = (f" ({d['imgpipe_cpu_ms']:,.0f} against {d['sharp_cpu_ms']:,.0f} ms; bytes "
                     f"{d['bytes']:.3f}x" + (f"; butteraugli {d['ba']:.2f} against {d['ba_sharp']:.2f}, "
                                             f"max {d['ba_max']:.2f} against {d['ba_sharp_max']:.2f}"
                                             if 'ba' in d else '') + f"; {d['photos']} photos)")
        if key == 'picture_cpu':
            extra = f" ({det['picture']['photos']} photos; the three sets' CPU summed)"
        if key.startswith('threads_') and key != 'threads_picture':
            extra = f" ({det[key.split('_')[1]].get('threads_photos', 0)} photos)"
        if key == 'threads_picture':
            extra = ' (the headline photo)'
        if key.startswith('cores_'):
            c = data['cores'][key.split('_')[1]]
            one, two = (c['j1_ips'], c['j2_ips']) if key == 'cores_resize' else (c['c1_ips'], c['c2_ips'])
            extra = f" ({one:.2f} against {two:.2f} images/s, {data['cores']['files']} photos"
            c1 = c.get('j1_cores', c.get('c1_cores'))
            if c1 is not None:
                extra += f"; one worker already keeps {c1:.2f} cores busy"
            if key == 'cores_resize' and 'p1_ips' in c:
                extra += (f"; against one worker pinned to one core ({c['p1_ips']:.2f} images/s): "
                          f"**{c['ratio_one_core']:.2f}**")
            extra += ')'

        if key == 'usd':
            extra = f" (compute alone: {tg['usd_compute']:.2f})" if 'usd_compute' in tg else ''
        if key == 'floor':
            extra = f" (CPU time: {tg['floor_cpu']:.2f}; floor {tg['floor_ms']:.0f} ms)"
        L.append(f'| {what} | **{v:.2f}**{extra} | {rel} {goal} | {verdict(key, goal, lower, v, tg)} |')
    c = tg.get('corpus_rss_mb')
    if c is not None:
        fits = c * p['rss_margin'] <= 128
        L.append(f"| whole corpus in a 128 MB Lambda: largest imgpipe peak RSS (× {p['rss_margin']} margin) | "
                 f"**{c:.0f} MB** ({c * p['rss_margin']:.0f} MB) | ≤ 128 MB | {'met' if fits else 'missed'} |")
    L.append('')
    h = data.get('history')
    if h:
        L.append('### Against the last run')
        L.append('')
        prev = h.get('previous')
        L.append(f"Compared with the run of {prev['commit']} on {prev['date']} (same machine class, "
                 f"{'quick' if data.get('quick') else 'full'} runs), each ratio against the noise band "
                 f"measured from repeat runs of one commit here (default "
                 f"{history.DEFAULT_BAND:.0%} where none are recorded):" if prev else
                 'No earlier run of this machine class and mode is recorded: nothing to compare with.')
        L.append('')
        if prev:
            L.append('| target | last | now | band | |')
            L.append('|---|---|---|---|---|')
            for key, _, _, _ in TARGETS:
                if key not in h['current']:
                    continue
                b = h['bands'].get(key, {})
                band = (f"{b['band']:.1%} ({b['repeats']} repeats)" if b.get('measured')
                        else f'{history.DEFAULT_BAND:.0%} (default)')
                last = prev['values'].get(key)
                bad = any(r.startswith(key + ':') for r in h['regressions'])
                L.append(f"| {key} | {'—' if last is None else f'{last:.3f}'} | {h['current'][key]:.3f} | "
                         f"{band} | {'**REGRESSION**' if bad else ''} |")
            L.append('')
        for r in h['regressions']:
            L.append(f'- **regression**: {r}')
        for n in h['notes']:
            L.append(f'- {n}')
        L.append('')
        L.append(f"![the ratios over the recorded runs]({stem}-trend.svg)")
        L.append('')
    L.extend(lambda_sizes(data, p))
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
        L.append(f"**{set_name}**: " + ', '.join(f"{v['width']}x{v['height']} {v['format']} "
                                                + (f"q{v['q']}" if v['q'] is not None else "at each tool's default")
                                                for v in vs))
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
        how = (' (measured in this run, below)' if k == 'io_ms' and data.get('io') and p[k] == data['io']['io_ms']
               else ' (overridden)' if p[k] != val else '')
        L.append(f"- `{k}` = {p[k]:g}{how}: {v['source']}, {v['date']}" if isinstance(p[k], float) else
                 f"- `{k}` = {p[k]}{how}: {v['source']}, {v['date']}")
    L.append('')
    L.append(f'Per image of `{f}` into the standard web set: sharp one GET and {len(data["sets"][s])} PUTs, imgpipe '
             + (f"the {data['io'].get('gets', 1)} GET, {data['io'].get('heads', 0)} HEADs and {data['io']['puts']} PUTs "
                'it was measured making (below: the manifest, and the checks that make a redelivery write nothing), '
                if data.get('io') else 'the same, ')
             + f"INIT at a cold-start rate of {p['cold_start_rate']:g}. "
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
    L.append('## The same image on three clouds')
    L.append('')
    L.append('Each platform at its cheapest configuration that fits (peak RSS × margin), one image per '
             'invocation, the durations measured here; the model and its assumptions are in '
             '[bench/cost.py](../cost.py) (`clouds`), the prices (each with its source and date) in '
             '[bench/prices.json](../prices.json). Storage is each cloud\'s own, for the reads and '
             'writes each tool makes (as in the Lambda table above).')
    L.append('')
    L.append('| platform | tool | configuration | duration | $ compute | $ requests | $ storage | $ INIT | **$ per million** | vs sharp |')
    L.append('|---|---|---|---|---|---|---|---|---|---|')
    cloud_rows = {t: cost.clouds(tool_model(data, s, f, t), p) for t in ('imgpipe', 'sharp') if t in tools}
    for i, platform in enumerate(cost.PLATFORMS):
        for t, rows in cloud_rows.items():
            r = rows[i]
            other = cloud_rows.get('sharp', [None] * len(cost.PLATFORMS))[i]
            if not r:
                L.append(f'| {platform} | {NAMES[t]} | none fits | | | | | | | |')
                continue
            u = r['usd_per_million']
            ratio = (f"{u['total'] / other['usd_per_million']['total']:.2f}"
                     if t != 'sharp' and other else '')
            L.append(f"| {r['platform']} | {NAMES[t]} | {r['config']} | {r['duration_ms']:.0f} ms | "
                     f"{fmt_usd(u['compute'])} | {fmt_usd(u['requests'])} | {fmt_usd(u['storage'])} | "
                     f"{fmt_usd(u['init'])} | **{fmt_usd(u['total'])}** | {ratio} |")
    L.append('')

    if data.get('front'):
        fr = data['front']
        if 'date' in fr:
            L.append(f"The front below was measured by `run.py --front-only` on {fr['date']} at commit "
                     f"{fr.get('commit', '?')} ({fr.get('machine', {}).get('os', '?')}; "
                     f"{fr.get('versions', {}).get('imgpipe', '')}), not in this run.")
            L.append('')
        plotted = front.plot(fr, os.path.join(outdir, stem + '-avif-front.svg'), svg_scatter)
        L.extend(front.section(fr, stem + '-avif-front.svg' if plotted else None))
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
