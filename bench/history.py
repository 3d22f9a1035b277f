"""history.py: a bench that remembers, so a change that makes imgpipe slower
than it was fails `make bench` instead of going unnoticed in a report.

Every run appends one row per target ratio to bench/history.csv
(commit,date,machine,label,quick,target,value,goal,lower_is_better); runs are
compared only with runs of the same machine class, label and mode. Runs of
one commit are repeats: their spread is the noise this machine puts on each
ratio, and a ratio is a regression when it is worse than the last recorded
run by more than that band. trend_svg draws the ratios over the runs.

    python3 bench/history.py show CSV [-n 5]      the last runs per machine
    python3 bench/history.py svg CSV OUT.svg [--machine M] [--label L] [--quick|--full]
"""
import argparse
import csv
import math
import os
from xml.sax.saxutils import escape

FIELDS = ['commit', 'date', 'machine', 'label', 'quick', 'target', 'value', 'goal', 'lower_is_better']
DEFAULT_BAND = 0.10   # used per target while no repeats of it are recorded
MIN_BAND = 0.02       # no measured band narrower: two quiet repeats can agree far closer than the machine does
PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f',
           '#bcbd22', '#17becf']   # report.py's colours first, then the rest of the same palette


def machine_key(m):
    """The machine class from a run's 'machine' dict: CPU model and count (not
    the host name, kernel or load, which change without changing the speed)."""
    return f"{m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs"


def ratios_from(tg, goals, higher_is_better=()):
    """record()'s ratios from a {target: value} dict such as report.targets()'s;
    goals: {target: goal or None} names the targets to keep (report.TARGETS
    gives {key: goal for key, _, goal in TARGETS}); None values are left out."""
    return [dict(target=k, value=tg[k], goal=g, lower_is_better=k not in higher_is_better)
            for k, g in goals.items() if isinstance(tg.get(k), (int, float))]


def record(path, commit, date, machine, label, quick, ratios):
    """Append one row per ratio ({target, value, goal, lower_is_better}; a value
    None or not finite is left out) to the CSV at path, with the header first
    if the file is new or empty."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, 'a', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        if new:
            w.writerow(FIELDS)
        for r in ratios:
            v = float('nan' if r['value'] is None else r['value'])
            if math.isfinite(v):
                w.writerow([commit, date, machine, label, int(bool(quick)), r['target'],
                            f'{v:.6g}', '' if r.get('goal') is None else r['goal'],
                            int(bool(r.get('lower_is_better', True)))])


def runs(path, machine=None, label=None, quick=None):
    """The recorded runs in file order, each {commit, date, machine, label, quick,
    values, goals, lower}: a run is a block of consecutive rows with the same
    commit, date, machine, label and mode in which no target comes twice."""
    if not os.path.exists(path):
        return []
    out = []
    _yes = lambda s: s.strip().lower() in ('1', 'true', 'yes')  # noqa: E731
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            key = tuple(row[k] for k in ('commit', 'date', 'machine', 'label', 'quick'))
            t = row['target']
            if not out or out[-1]['key'] != key or t in out[-1]['values']:
                out.append(dict(zip(('commit', 'date', 'machine', 'label'), key), key=key,
                                quick=_yes(row['quick']), values={}, goals={}, lower={}))
            out[-1]['values'][t] = float(row['value'])
            out[-1]['goals'][t] = float(row['goal']) if row['goal'] else None
            out[-1]['lower'][t] = _yes(row['lower_is_better'])
    return [r for r in out if machine in (None, r['machine']) and label in (None, r['label'])
            and (quick is None or r['quick'] == bool(quick))]


def last_run(path, machine, label, quick, before_commit=None):
    """The newest run of this machine, label and mode (of a commit other than
    before_commit, if given), or None."""
    rs = [r for r in runs(path, machine, label, quick) if r['commit'] != before_commit]
    return rs[-1] if rs else None


def last(path, machine, label, quick, before_commit=None):
    """{target: value} of the newest run of this machine, label and mode; with
    before_commit, the newest run of another commit (so it may be called after
    record() of the current run, and skips the current commit's repeats).
    {} when there is none."""
    r = last_run(path, machine, label, quick, before_commit)
    return dict(r['values']) if r else {}


def noise_band(path, machine, label, quick):
    """{target: {'band', 'spread', 'repeats', 'groups', 'measured'}}, every target recorded.

    Runs of one commit on one machine, label and mode are repeats (a commit
    ending in 'dirty' never is: its tree may have differed). For each target,
    spread = max over commits with >= 2 runs of (largest value / smallest - 1):
    the widest ratio between two runs of the same code, which is the quantity
    check() compares (current / previous - 1); band = max(spread, MIN_BAND).
    repeats: the number of runs in those groups; groups: how many commits.
    A target with no repeats gets band DEFAULT_BAND, 'measured': False,
    spread None and repeats 0."""
    by_commit, targets = {}, []
    for r in runs(path, machine, label, quick):
        targets += [t for t in r['values'] if t not in targets]
        if not r['commit'].endswith('dirty'):
            by_commit.setdefault(r['commit'], []).append(r['values'])
    out = {}
    for t in targets:
        band, n, g = 0.0, 0, 0
        for vals in by_commit.values():
            vs = [v[t] for v in vals if t in v and v[t] > 0]
            if len(vs) >= 2:
                band, n, g = max(band, max(vs) / min(vs) - 1), n + len(vs), g + 1
        out[t] = dict(band=max(band, MIN_BAND) if g else DEFAULT_BAND, spread=band if g else None,
                      repeats=n, groups=g, measured=bool(g))
    return out


def _pct(x, sign=''):
    return f'{x * 100:{sign}.{0 if abs(x) >= 0.1 else 1}f}%'


def _band(b):
    if isinstance(b, dict):
        return b['band'], f"measured from {b['repeats']} repeats" if b['measured'] else 'default, not measured'
    return (DEFAULT_BAND, 'default, not measured') if b is None else (b, 'given')


def check(current, previous, bands, lower_is_better):
    """(regressions, notes): each a list of sentences. A target is a regression
    when worse than previous by more than its band: current / previous - 1 >
    band where lower is better, previous / current - 1 > band where higher is
    (lower_is_better: {target: bool}, True when absent). bands: {target: band}
    as floats or noise_band()'s dicts; DEFAULT_BAND where absent. notes: the
    targets new or vanished since the previous run, and improvements beyond
    the band; neither is a regression."""
    regs, notes = [], []
    if not previous:
        return regs, ['no earlier run of this machine, label and mode to compare with']
    for t in sorted(set(current) | set(previous)):
        p, c = previous.get(t), current.get(t)
        if p is None or c is None or p <= 0 or c <= 0:
            notes.append(f'{t}: new, {c:.3g} (nothing to compare with)' if p is None else
                         f'{t}: was {p:.3g}, not measured in this run' if c is None else
                         f'{t}: {p:.3g} -> {c:.3g}, not a positive ratio: not compared')
            continue
        band, how = _band(bands.get(t))
        lower = lower_is_better.get(t, True)
        worse = (c / p if lower else p / c) - 1
        said = f"{t}: {p:.3g} -> {c:.3g} ({_pct(c / p - 1, '+')}){'' if lower else ' (higher is better)'}"
        if worse > band:
            regs.append(f'{said}, beyond the noise band of {_pct(band)} ({how})')
        elif -worse / (1 + worse) > band:    # better / worse - 1 > band
            notes.append(f'{said}: better by more than the noise band of {_pct(band)} ({how})')
    return regs, notes


def _ticks(hi):
    step = 10 ** math.floor(math.log10(hi / 5))
    step *= next(k for k in (1, 2, 5, 10) if hi / (step * k) <= 8)
    return [i * step for i in range(int(hi / step + 1e-9) + 1)]


def trend_svg(path, machine, label, quick, out_svg, targets=None):
    """An SVG line chart of the ratios over the runs of this machine, label and
    mode: one polyline (and a dot a run) per target, its goal dashed in its
    colour; x ticks are the runs, labelled with the short commit and date.
    With no runs it says 'no history yet'."""
    rs = runs(path, machine, label, quick)
    seen = [t for r in rs for t in r['values']]
    targets = [t for t in (targets or dict.fromkeys(seen)) if t in seen]
    W, H, L, R, T, B = 760, 440, 60, 190, 40, 60
    title = escape(f"Target ratios, run by run: {label}{' (quick)' if quick else ''}, {machine}")
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    goals = {t: next((r['goals'][t] for r in reversed(rs) if r['goals'].get(t) is not None), None)
             for t in targets}
    ys = [r['values'][t] for r in rs for t in targets if t in r['values']]
    ys += [g for g in goals.values() if g is not None]
    if not ys or max(ys) <= 0:
        o.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" font-size="15" '
                 'fill="#888">no history yet</text>')
        targets, rs = [], []
    hi, n = max(ys + [1e-9]) * 1.1, len(rs)

    def X(i):
        return L + 20 + (W - L - R - 40) * (0.5 if n == 1 else i / (n - 1))

    def Y(v):
        return H - B - max(v, 0) / hi * (H - T - B)

    for v in _ticks(hi) if rs else []:
        o.append(f'<line x1="{L}" y1="{Y(v):.1f}" x2="{W - R}" y2="{Y(v):.1f}" stroke="#eee"/>')
        o.append(f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    every = max(1, math.ceil(n / 8))
    for i, r in enumerate(rs):
        o.append(f'<line x1="{X(i):.1f}" y1="{T}" x2="{X(i):.1f}" y2="{H - B}" stroke="#eee"/>')
        if i % every == 0 or i == n - 1:
            o.append(f'<text x="{X(i):.1f}" y="{H - B + 16}" text-anchor="middle">{escape(r["commit"][:7])}</text>')
            o.append(f'<text x="{X(i):.1f}" y="{H - B + 30}" text-anchor="middle" font-size="10">'
                     f'{escape(r["date"][:10])}</text>')
    if rs:
        o.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#888"/>')
    if any(goals.get(t) is not None for t in targets):
        o.append(f'<text x="{W - R + 10}" y="{T + 14 + len(targets) * 20 + 6}" font-size="10">'
                 'dashed: the goal</text>')
    for k, t in enumerate(targets):
        col = PALETTE[k % len(PALETTE)]
        pts = [(X(i), Y(r['values'][t])) for i, r in enumerate(rs) if t in r['values']]
        o.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="'
                 + ' '.join(f'{x:.1f},{y:.1f}' for x, y in pts) + '"/>')
        o += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{col}"/>' for x, y in pts]
        if goals[t] is not None:
            o.append(f'<line x1="{L}" y1="{Y(goals[t]):.1f}" x2="{W - R}" y2="{Y(goals[t]):.1f}" '
                     f'stroke="{col}" stroke-dasharray="6 4" stroke-opacity="0.7"/>')
        ly = T + 14 + k * 20
        o.append(f'<line x1="{W - R + 10}" y1="{ly - 4}" x2="{W - R + 30}" y2="{ly - 4}" stroke="{col}" stroke-width="2"/>')
        lower = next(r['lower'][t] for r in reversed(rs) if t in r['lower'])
        goal = '' if goals[t] is None else f" (goal {'≤' if lower else '≥'} {goals[t]:g})"
        o.append(f'<text x="{W - R + 35}" y="{ly}">{escape(t + goal)}</text>')
    with open(out_svg, 'w', encoding='utf-8') as f:
        f.write('\n'.join(o + ['</svg>']) + '\n')
    return out_svg


def show(path, n=5):
    """The last n runs of each machine, label and mode, a row per target."""
    groups = {}
    for r in runs(path):
        groups.setdefault((r['machine'], r['label'], r['quick']), []).append(r)
    if not groups:
        print(f'{path}: no history yet')
    for (m, lab, q), every in groups.items():
        bands, rs = noise_band(path, m, lab, q), every[-n:]
        print(f"\n{lab}{' (quick)' if q else ''} on {m}: {len(every)} runs, the last {len(rs)}")
        head = ['target', 'goal', 'band'] + [f"{r['commit'][:7]} {r['date'][:10]}" for r in rs]
        rows = [[t, '' if rs[-1]['goals'].get(t) is None else f"{rs[-1]['goals'][t]:g}",
                 f"{bands[t]['band'] * 100:.1f}%{'' if bands[t]['measured'] else ' (default)'}"]
                + [f"{r['values'][t]:.3f}" if t in r['values'] else '-' for r in rs]
                for t in dict.fromkeys(t for r in rs for t in r['values'])]
        w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
        for x in [head] + rows:
            print('  '.join(c.ljust(w[i]) for i, c in enumerate(x)).rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('show', help='the last runs per machine, label and mode')
    s.add_argument('csv')
    s.add_argument('-n', type=int, default=5, help='how many runs (5)')
    v = sub.add_parser('svg', help='the trend of one machine, label and mode (default: the newest run\'s)')
    for arg in ('csv', 'out', '--machine', '--label'):
        v.add_argument(arg)
    v.add_argument('--quick', action='store_true')
    v.add_argument('--full', action='store_true')
    a = ap.parse_args()
    if a.cmd == 'show':
        return show(a.csv, a.n)
    new = (runs(a.csv) or [dict(machine='?', label='host', quick=True)])[-1]
    print(trend_svg(a.csv, a.machine or new['machine'], a.label or new['label'],
                    not a.full and (a.quick or new['quick']), a.out))


if __name__ == '__main__':
    main()
