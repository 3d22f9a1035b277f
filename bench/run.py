#!/usr/bin/env python3
"""run.py: `make bench`. imgpipe beside sharp, vipsthumbnail, ImageMagick and
Pillow on real photographs, and what each costs on Lambda.

    python3 bench/run.py [--quick] [--label host|image] [--bin build/imgpipe]
                         [--bench-bin build/imgpipe-bench] [--price KEY=VALUE]...
    python3 bench/run.py --report-only bench/results/DATE-LABEL.json

It installs its peers (Debian: imagemagick, python3-pil; npm: sharp at the
version bench/sharp/package-lock.json pins), prepares the corpus
(bench/corpus.sh), runs every tool on every source in one process per
source and thread count, interleaved so that the noise of a shared machine
falls on all of them alike, measures cold starts against a loopback Runtime
API, and writes bench/results/DATE-LABEL.{json,md} and two SVG plots.
Medians everywhere; absolute milliseconds move with the machine's load,
ratios from one run are what to read.
"""
import argparse
import datetime
import functools
import http.server
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cores  # noqa: E402
import cost  # noqa: E402
import front  # noqa: E402
import history  # noqa: E402
import iotime  # noqa: E402
import report  # noqa: E402

WEB = [('small', 320, 320), ('medium', 800, 800), ('large', 1600, 1600)]
SETS = {
    'web-jpeg': [dict(name=n, width=w, height=h, format='jpeg', q=80) for n, w, h in WEB],
    'web-webp': [dict(name=n, width=w, height=h, format='webp', q=80) for n, w, h in WEB],
    # each tool at its own AVIF default (imgpipe: config.h; sharp: q50, effort 4, 4:4:4)
    'web-avif': [dict(name=n, width=w, height=h, format='avif', q=None) for n, w, h in WEB],
}
HEADLINE_FILE, HEADLINE_SET = 'camera-12mp.jpg', 'web-jpeg'
TOOLS = ['imgpipe', 'sharp', 'vipsthumbnail', 'convert', 'pillow']


def log(*a):
    print('bench:', *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True,
                          stdout=subprocess.PIPE, **kw).stdout


def spec_string(vs):
    return ';'.join(f"{v['name']}={v['width']}x{v['height']},format={v['format']}"
                    + (f",q={v['q']}" if v['q'] is not None else '') for v in vs)


# --- setup --------------------------------------------------------------------

def have_deb(p):
    r = subprocess.run(['dpkg-query', '-W', '-f=${Status}', p], capture_output=True, text=True)
    return 'install ok installed' in r.stdout


def pillow_python():
    for py in ('/usr/bin/python3', sys.executable):
        if os.path.exists(py) and subprocess.run([py, '-c', 'import PIL'],
                                                 capture_output=True).returncode == 0:
            return py
    return None


def setup(args):
    missing = [p for p in ('imagemagick', 'python3-pil', 'bc', 'libvips-tools', 'butteraugli', 'nodejs', 'npm')
               if not have_deb(p)]
    if missing and shutil.which('node') and shutil.which('npm'):
        missing = [p for p in missing if p not in ('nodejs', 'npm')]
    if missing:
        log('installing Debian packages:', ' '.join(missing))
        sudo = [] if os.geteuid() == 0 else ['sudo']
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(sudo + ['apt-get', 'update', '-qq'], check=True, env=env)
        subprocess.run(sudo + ['apt-get', 'install', '-y', '-qq', '--no-install-recommends']
                       + missing, check=True, env=env, stdout=subprocess.DEVNULL)
    sharp_dir = os.path.join(HERE, 'sharp')
    stamp = os.path.join(sharp_dir, 'node_modules', '.package-lock.json')
    lock = os.path.join(sharp_dir, 'package-lock.json')
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(lock):
        log('npm ci in bench/sharp')
        r = subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error'],
                           cwd=sharp_dir)
        if r.returncode:
            log('sharp could not be installed: every ratio of this run is against it, '
                'so the run will fail')
    corpus = os.path.join(ROOT, 'build', 'bench', 'corpus')
    subprocess.run([os.path.join(HERE, 'corpus.sh')] + (['--quick'] if args.quick else [])
                   + [corpus], check=True)
    setdir = os.path.join(corpus, f'set-{int(args.quick)}')
    return [os.path.join(setdir, f) for f in sorted(os.listdir(setdir))]


def sharp_ok():
    return subprocess.run(['node', '-e', "require('sharp')"], cwd=os.path.join(HERE, 'sharp'),
                          capture_output=True).returncode == 0


def versions(args, pillow_py):
    v = {}
    v['imgpipe'] = ', '.join(sh([args.bin, '--version']).strip().splitlines())
    v['vipsthumbnail'] = sh(['vips', '--version'], env=dict(os.environ, **vipsthumbnail_env())).strip()
    v['convert'] = sh(['convert', '-version']).splitlines()[0].replace('Version: ', '')
    if pillow_py:
        v['pillow'] = 'Pillow ' + sh([pillow_py, '-c', 'import PIL,sys; print(PIL.__version__, "on Python", sys.version.split()[0])']).strip()
    if sharp_ok():
        s = json.loads(sh(['node', '-e', "const s=require('sharp');console.log(JSON.stringify(s.versions))"],
                          cwd=os.path.join(HERE, 'sharp')))
        v['sharp'] = (f"sharp {s['sharp']} (libvips {s['vips']}, mozjpeg {s.get('mozjpeg', '?')}, "
                      f"libwebp {s.get('webp', '?')}, aom {s.get('aom', '?')}) on Node "
                      + sh(['node', '--version']).strip())
    return v


def commit():
    """HEAD, with -dirty when the tree differs from it (the bench's own
    results and history aside): a dirty run is never counted as a repeat."""
    if os.environ.get('IMGPIPE_BENCH_COMMIT'):
        return os.environ['IMGPIPE_BENCH_COMMIT']   # bench/image.sh: no git in the image
    if not shutil.which('git'):
        return 'unknown'
    r = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--',
                            '.', ':!bench/results', ':!bench/history.csv'],
                           capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or 'unknown') + ('-dirty' if dirty else '')


def machine():
    m = {'host': platform.node(), 'kernel': platform.release(), 'cpus': os.cpu_count()}
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                m['cpu'] = line.split(':', 1)[1].strip()
                break
        for line in open('/proc/meminfo'):
            if line.startswith('MemTotal'):
                m['memory'] = f"{int(line.split()[1]) // 1024 // 1024} GiB"
        for line in open('/etc/os-release'):
            if line.startswith('PRETTY_NAME'):
                m['os'] = line.split('=', 1)[1].strip().strip('"')
        m['load'] = open('/proc/loadavg').read().split()[:3]
    except OSError:
        pass
    return m


# --- the runners ----------------------------------------------------------------

def pin(cmd, threads):
    """One thread is one CPU: a 1,769 MB Lambda has one vCPU, and below that
    the bill follows CPU time, so no tool may borrow a second core."""
    return (['taskset', '-c', '0'] + cmd) if threads == 1 else cmd


def run_json(cmd, env=None, cwd=None, threads=1):
    r = subprocess.run(pin(cmd, threads), capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])}...: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_imgpipe(args, src, vs, reps, warmup, threads, outdir):
    # --placeholders: the manifest's placeholder too, as the handler makes it by default
    cmd = [args.bench_bin, '--placeholders', '--variants', spec_string(vs), '--reps', str(reps),
           '--warmup', str(warmup), '--threads', str(threads)]
    if threads == 1:
        cmd += ['--floor', '--out', outdir]
    return run_json(cmd + [src], env=dict(os.environ, VIPS_CONCURRENCY=str(threads)),
                    threads=threads)


def run_sharp(args, src, vs, reps, warmup, threads, outdir):
    cmd = ['node', os.path.join(HERE, 'sharp', 'bench.js'), json.dumps(vs), src,
           str(reps), str(warmup), str(threads)] + ([outdir] if threads == 1 else [])
    return run_json(cmd, env=dict(os.environ, UV_THREADPOOL_SIZE=str(threads),
                                  VIPS_CONCURRENCY=str(threads)),
                    cwd=os.path.join(HERE, 'sharp'), threads=threads)


def run_pillow(args, src, vs, reps, warmup, threads, outdir):
    if any(v['format'] == 'avif' for v in vs):
        raise NotImplementedError('no AVIF saver in this Pillow')
    return run_json([args.pillow_py, os.path.join(HERE, 'pillow_bench.py'), json.dumps(vs), src,
                     str(reps), str(warmup), outdir], threads=threads)


def ext(fmt):
    return 'jpg' if fmt == 'jpeg' else fmt


MAGIC = {
    'jpeg': lambda b: b[:3] == b'\xff\xd8\xff',
    'png': lambda b: b[:8] == b'\x89PNG\r\n\x1a\n',
    'webp': lambda b: b[:4] == b'RIFF' and b[8:12] == b'WEBP',
    'avif': lambda b: b[4:12] == b'ftypavif',
}


class MissingOutput(Exception):
    """A tool wrote fewer outputs than asked, or not what was asked."""


def check_outputs(tool, set_name, name, vs, r, outdir, threads):
    """Every variant asked for is there, not empty, in its format (from its
    bytes, where the run wrote them): else a loud error naming the tool, the
    format and the source, never a table with a hole in it."""
    problems = []
    outs = r.get('outputs') or []
    if len(outs) != len(vs):
        problems.append(f'{len(outs)} outputs of the {len(vs)} asked for')
    for v, o in zip(vs, outs):
        if not o.get('bytes'):
            problems.append(f"{v['name']} is empty")
    if threads == 1:
        for v in vs:
            f = os.path.join(outdir, f"{v['name']}.{ext(v['format'])}")
            if not os.path.exists(f):
                problems.append(f'{os.path.basename(f)} was not written')
            elif not MAGIC[v['format']](open(f, 'rb').read(16)):
                problems.append(f"{os.path.basename(f)} is not {v['format']}")
    if problems:
        raise MissingOutput(f"{tool} {threads}t {set_name} ({vs[0]['format']}) {name}: "
                            + '; '.join(problems))


@functools.cache
def vipsthumbnail_env():
    """vipsthumbnail with the libvips it was packaged with: in the image,
    imgpipe's own libvips sits in /usr/local/lib, ahead of Debian's."""
    multiarch = subprocess.run(['dpkg-architecture', '-qDEB_HOST_MULTIARCH'],
                               capture_output=True, text=True).stdout.strip()
    lib = f'/usr/lib/{multiarch}'
    return {'LD_LIBRARY_PATH': lib} if os.path.exists(f'{lib}/libvips.so.42') else {}


def vipsthumbnail_cmds(src, vs, outdir):
    opts = {'jpeg': '[Q={q},optimize_coding,strip]', 'webp': '[Q={q},effort=4,strip]',
            'avif': '[Q={q},effort=4,compression=av1,strip]'}
    return [['vipsthumbnail', src, '-s', f"{v['width']}x{v['height']}>", '-o',
             os.path.join(outdir, f"{v['name']}.{ext(v['format'])}") + opts[v['format']].format(**v)]
            for v in vs]


def convert_cmds(src, vs, outdir):
    extra = {'jpeg': ['-define', 'jpeg:optimize-coding=true'],
             'webp': ['-define', 'webp:method=4'], 'avif': []}
    return [['convert', src, '-auto-orient', '-resize', f"{v['width']}x{v['height']}>",
             '-strip', '-quality', str(v['q'])] + extra[v['format']]
            + [os.path.join(outdir, f"{v['name']}.{ext(v['format'])}")] for v in vs]


def run_processes(cmds_fn, env_threads):
    """One process per variant, as a shell script runs them: wall, CPU, RSS."""
    def runner(args, src, vs, reps, warmup, threads, outdir):
        env = dict(os.environ, **{k: str(threads) for k in env_threads},
                   **(vipsthumbnail_env() if cmds_fn is vipsthumbnail_cmds else {}))
        wall, cpu, rss = [], [], 0
        for i in range(-warmup, reps):
            t0, c = time.perf_counter(), 0.0
            for cmd in cmds_fn(src, vs, outdir):
                p = subprocess.Popen(pin(cmd, threads), env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                if p.returncode:
                    raise RuntimeError(f"{cmd[0]}: {p.stderr.read().decode()[-300:].strip()}")
                p.stderr.close()
                c += (ru.ru_utime + ru.ru_stime) * 1e3
                rss = max(rss, ru.ru_maxrss)
            if i >= 0:
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append(c)
        outs = []
        for v in vs:
            f = os.path.join(outdir, f"{v['name']}.{ext(v['format'])}")
            outs.append({'name': v['name'], 'bytes': os.path.getsize(f)})
        return {'threads': threads, 'reps': reps, 'wall_ms': statistics.median(wall),
                'cpu_ms': statistics.median(cpu), 'wall_min_ms': min(wall),
                'peak_rss_kb': rss, 'outputs': outs}
    return runner


RUNNERS = {
    'imgpipe': run_imgpipe,
    'sharp': run_sharp,
    'vipsthumbnail': run_processes(vipsthumbnail_cmds, ['VIPS_CONCURRENCY']),
    'convert': run_processes(convert_cmds, ['MAGICK_THREAD_LIMIT', 'OMP_NUM_THREADS']),
    'pillow': run_pillow,
}


# --- quality at the defaults -----------------------------------------------------------

QUALITY_PHOTOS = {False: 6, True: 3}   # of the camera set, full and quick


def quality(data, photos):
    """Butteraugli distance of imgpipe's and sharp's outputs (one-thread run)
    of each set from the Lanczos reference, on the first photos of the
    camera set: the "at equal distance" of the targets."""
    if not shutil.which('butteraugli'):
        raise RuntimeError('butteraugli is not installed (Debian package butteraugli)')
    env = dict(os.environ, **vipsthumbnail_env())
    outroot = os.path.join(ROOT, 'build', 'bench', 'out')
    refs = {f: front.references(f, os.path.join(ROOT, 'build', 'bench', 'ref', os.path.basename(f)),
                                WEB, env) for f in photos}
    jobs, where = [], []
    for set_name in ('web-jpeg', 'web-webp', 'web-avif'):
        fmt = SETS[set_name][0]['format']
        for f in photos:
            name = os.path.basename(f)
            for tool in ('imgpipe', 'sharp'):
                if '1' not in data['results'].get(set_name, {}).get(name, {}).get(tool, {}):
                    continue
                for v in SETS[set_name]:
                    jobs.append((refs[f][v['name']],
                                 os.path.join(outroot, set_name, name, tool, f"{v['name']}.{ext(fmt)}")))
                    where.append((set_name, tool))
    out = {}
    for (set_name, tool), d in zip(where, front.distances(jobs, env)):
        out.setdefault(set_name, {}).setdefault(tool, []).append(d)
    for set_name, tools in out.items():
        if set(tools) != {'imgpipe', 'sharp'}:
            raise RuntimeError(f'{set_name}: no distances for ' +
                               ', '.join({'imgpipe', 'sharp'} - set(tools)))
    return {'photos': [os.path.basename(f) for f in photos], 'butteraugli': out}


# --- the measured front (bench/front.py) ---------------------------------------------

def run_front(args, files, data):
    def run(fmt, spec, src, outdir):
        n = 1 if fmt == 'avif' else 3
        return run_json([args.bench_bin, '--variants', spec, '--reps', str(n),
                         '--warmup', '0' if fmt == 'avif' else '1', '--threads', '1',
                         '--out', outdir, src], env=dict(os.environ, VIPS_CONCURRENCY='1'))

    def sharp(fmt, src, outdir):
        vs = SETS['web-' + fmt]
        r = run_sharp(args, src, vs, 1 if fmt == 'avif' else 3, 0 if fmt == 'avif' else 1, 1, outdir)
        check_outputs('sharp', 'front', os.path.basename(src), vs, r, outdir, 1)
        return r

    if not shutil.which('butteraugli'):
        raise RuntimeError('butteraugli is not installed (Debian package butteraugli)')
    by_name = {os.path.basename(f): f for f in files}
    want = front.AVIF_PHOTOS[:args.front_photos]
    photos = [by_name[p] for p in want if p in by_name]
    if len(photos) != len(want):
        raise RuntimeError(f'the front needs {", ".join(want)} in the corpus')
    fr = front.Front(run, WEB, ext, dict(os.environ, **vipsthumbnail_env()), log,
                     os.path.join(ROOT, 'build', 'bench', 'front'))
    return fr.all(by_name[HEADLINE_FILE], photos, sharp)


# --- cold start -----------------------------------------------------------------

class RuntimeAPI(http.server.ThreadingHTTPServer):
    """Just enough of the Runtime API to see when a process asks for its first event."""
    daemon_threads = True

    def __init__(self):
        self.seen = threading.Event()
        self.when = None

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                if h.path.endswith('/invocation/next') and not self.seen.is_set():
                    self.when = time.perf_counter()
                    self.seen.set()
                time.sleep(0.5)
                body = b'{}'
                h.send_response(200)
                h.send_header('Content-Length', str(len(body)))
                h.send_header('Lambda-Runtime-Aws-Request-Id', 'bench')
                h.send_header('Lambda-Runtime-Deadline-Ms', str(int(time.time() * 1000) + 60000))
                try:
                    h.end_headers()
                    h.wfile.write(body)
                except OSError:
                    pass    # the process was ended once it had asked

            def do_POST(h):
                h.rfile.read(int(h.headers.get('Content-Length') or 0))
                h.send_response(202)
                h.send_header('Content-Length', '0')
                h.end_headers()

            def log_message(h, *a):
                pass
        super().__init__(('127.0.0.1', 0), H)


def cold_starts(args, trials):
    api = RuntimeAPI()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    addr = f'127.0.0.1:{api.server_address[1]}'
    store = os.path.join(ROOT, 'build', 'bench', 'cold-store')
    os.makedirs(store, exist_ok=True)
    cmds = {
        'imgpipe': ([args.bin, 'lambda'], dict(IMGPIPE_STORE=f'dir:{store}',
                                               IMGPIPE_DEST_BUCKET='bench-variants',
                                               AWS_REGION='us-east-1',
                                               AWS_LAMBDA_FUNCTION_MEMORY_SIZE='1024'), None),
    }
    if args.has_sharp:
        cmds['sharp'] = (['node', os.path.join(HERE, 'sharp', 'bench.js'), '--ready', addr],
                         dict(UV_THREADPOOL_SIZE='1'), os.path.join(HERE, 'sharp'))
    if args.pillow_py:
        cmds['pillow'] = ([args.pillow_py, os.path.join(HERE, 'pillow_bench.py'), '--ready', addr],
                          {}, None)
    out = {}
    samples = {k: [] for k in cmds}
    for _ in range(trials):
        for tool, (cmd, env, cwd) in cmds.items():
            api.seen.clear()
            e = dict(os.environ, AWS_LAMBDA_RUNTIME_API=addr, **env)
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, env=e, cwd=cwd, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            ok = api.seen.wait(20)
            if ok:
                samples[tool].append((api.when - t0) * 1e3)
            p.kill()
            p.wait()
    api.shutdown()
    for tool, s in samples.items():
        if s:
            out[tool] = {'median_ms': statistics.median(s), 'min_ms': min(s), 'n': len(s)}
    return out


# --- history (bench/history.py) --------------------------------------------------------

def remember(args, data, stem):
    """This run's ratios into bench/history.csv (a run with errors is not
    recorded), compared with the last recorded run of another commit on this
    machine class and mode; the trend drawn. The regressions found."""
    csv_path = args.history
    p, _ = report.prices_for(data, args.prices, args.price)
    rs = report.ratios(data, p)
    mk = history.machine_key(data['machine'])
    prev = history.last_run(csv_path, mk, args.label, args.quick, before_commit=data['commit'])
    if not data['errors']:
        history.record(csv_path, data['commit'], data['date'], mk, args.label, args.quick, rs)
    bands = history.noise_band(csv_path, mk, args.label, args.quick)
    current = {r['target']: r['value'] for r in rs}
    regs, notes = history.check(current, prev['values'] if prev else {}, bands,
                                {r['target']: r['lower_is_better'] for r in rs})
    data['history'] = dict(previous=prev and {k: prev[k] for k in ('commit', 'date', 'values')},
                           current=current, bands=bands, regressions=regs, notes=notes,
                           recorded=not data['errors'])
    history.trend_svg(csv_path, mk, args.label, args.quick, os.path.join(args.results, stem + '-trend.svg'),
                      targets=[k for k, _, _, _ in report.TARGETS])
    return regs


# --- main -------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='5 sources, fewer repetitions: < 5 min')
    ap.add_argument('--label', default=os.environ.get('IMGPIPE_BENCH_LABEL', 'host'))
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'imgpipe'))
    ap.add_argument('--bench-bin', default=os.path.join(ROOT, 'build', 'imgpipe-bench'))
    ap.add_argument('--bundle', metavar='DIR',
                    help='an unpacked make dist bundle: its imgpipe and imgpipe-bench')
    ap.add_argument('--prices', default=os.path.join(HERE, 'prices.json'))
    ap.add_argument('--price', action='append', default=[], metavar='KEY=VALUE')
    ap.add_argument('--results', default=os.path.join(HERE, 'results'))
    ap.add_argument('--history', default=os.path.join(HERE, 'history.csv'),
                    help='the ratios of every run, appended; compared with the last run')
    ap.add_argument('--tools', default=','.join(TOOLS))
    ap.add_argument('--report-only', metavar='JSON')
    ap.add_argument('--front', action='store_true',
                    help='also measure every effort and quality setting (bytes, CPU, butteraugli)')
    ap.add_argument('--front-only', action='store_true',
                    help='measure the front alone, into results/DATE-LABEL-front.json')
    ap.add_argument('--front-photos', type=int, default=len(front.AVIF_PHOTOS), metavar='N',
                    help='the AVIF front on the first N of its photos (%(default)s)')
    ap.add_argument('--front-from', metavar='JSON',
                    help="a --front-only run's front, to carry in this run's report")
    args = ap.parse_args()
    if args.bundle:
        args.bin = os.path.join(args.bundle, 'imgpipe')
        args.bench_bin = os.path.join(args.bundle, 'imgpipe-bench')
    args.bin = os.path.abspath(args.bin)
    args.bench_bin = os.path.abspath(args.bench_bin)

    if args.report_only:
        data = json.load(open(args.report_only))
        outdir = os.path.dirname(os.path.abspath(args.report_only))
        if 'results' not in data:          # a --front-only run's front
            report.write_front(data, outdir, os.path.splitext(os.path.basename(args.report_only))[0])
        else:
            report.write(data, args.prices, args.price, outdir)
        return

    started = time.time()
    files = setup(args)
    if args.front_only:
        fr = run_front(args, files, None)
        os.makedirs(args.results, exist_ok=True)
        with open(os.path.join(args.results, 'front-partial.json'), 'w') as f:
            json.dump(fr, f)        # what was measured, whatever fails below
        fr.update(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                  commit=commit(), label=args.label, machine=machine(),
                  versions=versions(args, pillow_python()), elapsed_s=round(time.time() - started))
        os.makedirs(args.results, exist_ok=True)
        path = os.path.join(args.results, datetime.date.today().isoformat() + '-' + args.label + '-front.json')
        with open(path, 'w') as f:
            json.dump(fr, f, indent=1)
        log(f'front done in {fr["elapsed_s"]} s: {path}')
        return
    args.pillow_py = pillow_python()
    args.has_sharp = sharp_ok()
    tools = [t for t in args.tools.split(',') if t in RUNNERS]
    missing_peers = []
    if not args.has_sharp and 'sharp' in tools:
        tools.remove('sharp')
        missing_peers.append("sharp: cannot be loaded (require('sharp') fails in bench/sharp)")
    if not args.pillow_py and 'pillow' in tools:
        tools.remove('pillow')
        missing_peers.append('pillow: no Python with PIL')

    # the camera set (corpus.sh): the headline is its median
    camera = [f for f in files if os.path.basename(f).startswith('camera-')]
    if args.quick:
        reps, warmup, cold_trials = 5, 1, 10
    else:
        reps, warmup, cold_trials = 15, 2, 30
    plan = {'web-jpeg': files, 'web-webp': camera, 'web-avif': camera}
    threads_for = {'imgpipe': [1, 2], 'sharp': [1, 2], 'vipsthumbnail': [1], 'convert': [1],
                   'pillow': [1]}

    data = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'label': args.label, 'quick': args.quick, 'machine': machine(),
        'versions': versions(args, args.pillow_py), 'sets': SETS,
        'headline': {'file': HEADLINE_FILE, 'set': HEADLINE_SET},
        'camera': [os.path.basename(f) for f in camera], 'commit': commit(),
        'files': {}, 'results': {}, 'errors': list(missing_peers),
    }
    for f in files:
        w, h = (int(sh(['vipsheader', '-f', k, f])) for k in ('width', 'height'))
        data['files'][os.path.basename(f)] = {
            'bytes': os.path.getsize(f), 'size': f'{w}x{h}',
            'bytes_per_pixel': round(os.path.getsize(f) / (w * h), 3)}
    outroot = os.path.join(ROOT, 'build', 'bench', 'out')
    for set_name, set_files in plan.items():
        vs = SETS[set_name]
        r_reps = reps if set_name == 'web-jpeg' else max(3, reps // 3)
        for f in set_files:
            name = os.path.basename(f)
            big = int(data['files'][name]['size'].split('x')[0]) * int(data['files'][name]['size'].split('x')[1]) > 20e6
            for threads in (1, 2):
                for tool in tools:
                    if threads not in threads_for[tool]:
                        continue
                    # the peers beside imgpipe and sharp: on the headline and
                    # the corpus outside the camera set (a process per
                    # variant costs seconds a repetition)
                    if (tool not in ('imgpipe', 'sharp') and f in camera
                            and name != HEADLINE_FILE):
                        continue
                    n = r_reps if tool in ('imgpipe', 'sharp') else max(3, r_reps // 3)
                    n = max(3, n // 2) if big else n
                    w = warmup if tool in ('imgpipe', 'sharp', 'pillow') else 0
                    if set_name == 'web-avif':
                        # seconds an image: one timed render, imgpipe and
                        # sharp, two threads on the headline only
                        if tool not in ('imgpipe', 'sharp') or (threads != 1 and name != HEADLINE_FILE):
                            continue
                        n, w = 1, 0
                    outdir = os.path.join(outroot, set_name, name, tool)
                    # nothing from an earlier run may stand in for a missing output
                    # (only the one-thread run writes them)
                    if threads == 1:
                        shutil.rmtree(outdir, ignore_errors=True)
                    os.makedirs(outdir, exist_ok=True)
                    try:
                        r = RUNNERS[tool](args, f, vs, n, w, threads, outdir)
                        check_outputs(tool, set_name, name, vs, r, outdir, threads)
                    except NotImplementedError as e:
                        r = {'skipped': str(e)}
                    except Exception as e:  # a peer that fails is reported, then fails the run
                        data['errors'].append(f'{tool} {threads}t {set_name} {name}: {e}'
                                              if not isinstance(e, MissingOutput) else str(e))
                        log('error:', data['errors'][-1])
                        continue
                    data['results'].setdefault(set_name, {}).setdefault(name, {}) \
                        .setdefault(tool, {})[str(threads)] = r
                    if 'wall_ms' in r:
                        log(f'{set_name:9} {name:24} {tool:13} {threads}t '
                            f"{r['wall_ms']:8.1f} ms  cpu {r['cpu_ms']:8.1f}  rss {r['peak_rss_kb'] / 1024:6.1f} MB")
    # a set asked for that nobody filled is an error too, not an empty table
    for set_name, set_files in plan.items():
        for f in set_files:
            got = data['results'].get(set_name, {}).get(os.path.basename(f), {})
            for tool in tools:
                if not got.get(tool, {}).get('1') and not any(
                        e.startswith(f'{tool} 1t {set_name}') for e in data['errors']):
                    if tool not in ('imgpipe', 'sharp') and (
                            set_name == 'web-avif' or (f in camera and os.path.basename(f) != HEADLINE_FILE)):
                        continue
                    data['errors'].append(f'{tool} 1t {set_name} {os.path.basename(f)}: '
                                          'no result')
    if args.front_from:
        data['front'] = json.load(open(args.front_from))
    elif args.front:
        log('the measured front')
        try:
            data['front'] = run_front(args, files, data)
        except Exception as e:
            data['errors'].append(f'the measured front: {e}')
    log('quality: butteraugli of imgpipe\'s and sharp\'s outputs')
    try:
        data['quality'] = quality(data, camera[:QUALITY_PHOTOS[args.quick]])
    except Exception as e:
        data['errors'].append(f'quality: {e}')
    log('two cores: resize -j and serve --concurrency')
    try:
        # every JPEG of the corpus: with few files the last ones run alone
        data['cores'] = cores.measure(args.bin, [f for f in files if f.endswith('.jpg')],
                                      spec_string(SETS[HEADLINE_SET]),
                                      os.path.join(ROOT, 'build', 'bench', 'cores'),
                                      reps=2 if args.quick else 3)
    except Exception as e:
        data['errors'].append(f'two cores: {e}')
    log('I/O against the loopback S3 stand-in')
    try:
        head = [f for f in files if os.path.basename(f) == HEADLINE_FILE][0]
        data['io'] = iotime.measure(args.bin, args.bench_bin, head, spec_string(SETS[HEADLINE_SET]),
                                    os.path.join(ROOT, 'build', 'bench', 'io'),
                                    events=5 if args.quick else 10)
    except Exception as e:
        data['errors'].append(f'I/O: {e}')
    log('cold starts')
    data['cold'] = cold_starts(args, cold_trials)
    for tool, c in data['cold'].items():
        log(f"cold start {tool:8} {c['median_ms']:7.1f} ms")
    data['elapsed_s'] = round(time.time() - started)
    os.makedirs(args.results, exist_ok=True)
    stem = datetime.date.today().isoformat() + '-' + args.label + ('-quick' if args.quick else '')
    path = os.path.join(args.results, stem + '.json')
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
    regressions = remember(args, data, stem)
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
    report.write(data, args.prices, args.price, args.results)
    log(f'done in {data["elapsed_s"]} s: {path}')
    if regressions:
        log(f'FAILED: {len(regressions)} ratios are worse than the last run by more than the noise band:')
        for r in regressions:
            log('  ' + r)
        sys.exit(1)
    if data['errors']:
        log(f"FAILED: {len(data['errors'])} runs gave no result or not what was asked:")
        for e in data['errors']:
            log('  ' + e)
        sys.exit(1)


if __name__ == '__main__':
    main()
