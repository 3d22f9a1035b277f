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
import cost  # noqa: E402
import report  # noqa: E402

WEB = [('small', 320, 320), ('medium', 800, 800), ('large', 1600, 1600)]
SETS = {
    'web-jpeg': [dict(name=n, width=w, height=h, format='jpeg', q=80) for n, w, h in WEB],
    'web-webp': [dict(name=n, width=w, height=h, format='webp', q=80) for n, w, h in WEB],
    'web-avif': [dict(name=n, width=w, height=h, format='avif', q=50) for n, w, h in WEB],
}
HEADLINE_FILE, HEADLINE_SET = 'camera-12mp.jpg', 'web-jpeg'
TOOLS = ['imgpipe', 'sharp', 'vipsthumbnail', 'convert', 'pillow']


def log(*a):
    print('bench:', *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True,
                          stdout=subprocess.PIPE, **kw).stdout


def spec_string(vs):
    return ';'.join(f"{v['name']}={v['width']}x{v['height']},format={v['format']},q={v['q']}"
                    for v in vs)


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
    missing = [p for p in ('imagemagick', 'python3-pil', 'bc', 'libvips-tools', 'nodejs', 'npm')
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


# --- the measured front: effort and quality, per output format ----------------------

SETTINGS = {
    'jpeg': [dict(q=q, progressive=p) for q in (70, 75, 80, 85, 90) for p in (False, True)],
    'webp': [dict(q=q, effort=e) for e in (0, 2, 3, 4, 6) for q in (70, 75, 78, 80, 85)],
    'avif': [dict(q=q, effort=e) for e in (0, 2, 4) for q in (40, 50, 60)],
}


def setting_spec(fmt, st):
    opts = f"format={fmt},q={st['q']}"
    if 'effort' in st:
        opts += f",effort={st['effort']}"
    if st.get('progressive'):
        opts += ',progressive=yes'
    return ';'.join(f'{n}={w}x{h},{opts}' for n, w, h in WEB)


def butteraugli(ref, out):
    """Butteraugli's distance between the reference and an output, both
    decoded to PNG (the tool reads PNG and JPEG only)."""
    png = out + '.png'
    sh(['vips', 'copy', out, png], env=dict(os.environ, **vipsthumbnail_env()), stderr=subprocess.DEVNULL)
    r = subprocess.run(['butteraugli', ref, png], capture_output=True, text=True)
    os.remove(png)
    return float(r.stdout.split()[0]) if r.returncode == 0 and r.stdout.strip() else None


def references(src, outdir):
    """What each variant should look like: the source decoded whole and
    resized with Lanczos 3 to that variant's size, as PNG."""
    env = dict(os.environ, **vipsthumbnail_env())
    w, h = (int(sh(['vipsheader', '-f', k, src], env=env)) for k in ('width', 'height'))
    refs = {}
    for n, bw, bh in WEB:
        s = min(bw / w, bh / h, 1)
        refs[n] = os.path.join(outdir, f'ref-{n}.png')
        sh(['vips', 'resize', src, refs[n], str(s), '--kernel', 'lanczos3'], env=env)
    return refs


def measured_front(args, src, reps, data):
    """Bytes, CPU ms (one thread, pinned) and butteraugli distance of every
    setting of SETTINGS on one source, for choosing the defaults; and of
    sharp's outputs of the same source in this run's web-* sets, the point
    each format's row is read against."""
    if not shutil.which('butteraugli'):
        raise RuntimeError('butteraugli is not installed (Debian package butteraugli)')
    outroot = os.path.join(ROOT, 'build', 'bench', 'front')
    shutil.rmtree(outroot, ignore_errors=True)
    os.makedirs(outroot)
    refs = references(src, outroot)
    rows = []
    for fmt, settings in SETTINGS.items():
        for st in settings:
            outdir = os.path.join(outroot, fmt + '-' + '-'.join(f'{k}{v}' for k, v in st.items()))
            os.makedirs(outdir)
            n = 1 if fmt == 'avif' else reps
            cmd = [args.bench_bin, '--variants', setting_spec(fmt, st), '--reps', str(n),
                   '--warmup', '0' if fmt == 'avif' else '1', '--threads', '1', '--out', outdir, src]
            r = run_json(cmd, env=dict(os.environ, VIPS_CONCURRENCY='1'))
            dist = [butteraugli(refs[o['name']], os.path.join(outdir, f"{o['name']}.{ext(fmt)}"))
                    for o in r['outputs']]
            if any(d is None for d in dist):
                raise RuntimeError(f'butteraugli failed on {fmt} {st}')
            rows.append(dict(format=fmt, setting=st, cpu_ms=r['cpu_ms'], encode_ms=r['encode_ms'],
                             bytes=sum(o['bytes'] for o in r['outputs']),
                             butteraugli=dist, names=[o['name'] for o in r['outputs']]))
            log(f"front {fmt:4} {st} cpu {r['cpu_ms']:7.1f} bytes {rows[-1]['bytes']:8d} "
                f"butteraugli {' '.join(f'{d:.2f}' for d in dist)}")
    peers = []
    for fmt in SETTINGS:
        set_name = 'web-' + fmt
        r = data['results'].get(set_name, {}).get(os.path.basename(src), {}).get('sharp', {}).get('1')
        if not r:
            continue
        outdir = os.path.join(ROOT, 'build', 'bench', 'out', set_name, os.path.basename(src), 'sharp')
        dist = [butteraugli(refs[v['name']], os.path.join(outdir, f"{v['name']}.{ext(fmt)}"))
                for v in SETS[set_name]]
        if any(d is None for d in dist):
            raise RuntimeError(f"butteraugli failed on sharp's {fmt}")
        peers.append(dict(tool='sharp', format=fmt, setting=dict(q=SETS[set_name][0]['q']),
                          cpu_ms=r['cpu_ms'], bytes=sum(o['bytes'] for o in r['outputs']),
                          butteraugli=dist, names=[v['name'] for v in SETS[set_name]]))
        log(f"front {fmt:4} sharp cpu {r['cpu_ms']:7.1f} bytes {peers[-1]['bytes']:8d} "
            f"butteraugli {' '.join(f'{d:.2f}' for d in dist)}")
    return rows, peers


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
    ap.add_argument('--tools', default=','.join(TOOLS))
    ap.add_argument('--report-only', metavar='JSON')
    ap.add_argument('--front', action='store_true',
                    help='also measure every effort and quality setting (bytes, CPU, butteraugli)')
    args = ap.parse_args()
    if args.bundle:
        args.bin = os.path.join(args.bundle, 'imgpipe')
        args.bench_bin = os.path.join(args.bundle, 'imgpipe-bench')
    args.bin = os.path.abspath(args.bin)
    args.bench_bin = os.path.abspath(args.bench_bin)

    if args.report_only:
        data = json.load(open(args.report_only))
        report.write(data, args.prices, args.price, os.path.dirname(os.path.abspath(args.report_only)))
        return

    started = time.time()
    files = setup(args)
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

    if args.quick:
        reps, warmup, cold_trials = 5, 1, 10
        plan = {'web-jpeg': files,
                'web-webp': [f for f in files if os.path.basename(f) == 'camera-12mp.jpg'],
                'web-avif': [f for f in files if os.path.basename(f) == 'camera-12mp.jpg']}
    else:
        reps, warmup, cold_trials = 15, 2, 30
        plan = {'web-jpeg': files,
                'web-webp': files,
                'web-avif': [f for f in files if os.path.basename(f) == 'camera-12mp.jpg']}
    threads_for = {'imgpipe': [1, 2], 'sharp': [1, 2], 'vipsthumbnail': [1], 'convert': [1],
                   'pillow': [1]}

    data = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'label': args.label, 'quick': args.quick, 'machine': machine(),
        'versions': versions(args, args.pillow_py), 'sets': SETS,
        'headline': {'file': HEADLINE_FILE, 'set': HEADLINE_SET},
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
        r_reps = 3 if set_name == 'web-avif' else reps
        for f in set_files:
            name = os.path.basename(f)
            big = int(data['files'][name]['size'].split('x')[0]) * int(data['files'][name]['size'].split('x')[1]) > 20e6
            for threads in (1, 2):
                for tool in tools:
                    if threads not in threads_for[tool]:
                        continue
                    # a process per variant costs seconds a repetition: fewer of them
                    n = r_reps if tool in ('imgpipe', 'sharp') else max(3, r_reps // 3)
                    n = max(3, n // 2) if big else n
                    w = warmup if tool in ('imgpipe', 'sharp', 'pillow') else 0
                    if set_name == 'web-avif' and args.quick:
                        # seconds an image: one timed render, imgpipe and sharp only
                        if tool not in ('imgpipe', 'sharp') or threads != 1:
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
                    if set_name == 'web-avif' and args.quick and tool not in ('imgpipe', 'sharp'):
                        continue
                    data['errors'].append(f'{tool} 1t {set_name} {os.path.basename(f)}: '
                                          'no result')
    if args.front:
        log('the measured front')
        head = [f for f in files if os.path.basename(f) == HEADLINE_FILE][0]
        try:
            rows, peers = measured_front(args, head, 3, data)
            data['front'] = {'file': HEADLINE_FILE, 'rows': rows, 'peers': peers}
        except Exception as e:
            data['errors'].append(f'the measured front: {e}')
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
    report.write(data, args.prices, args.price, args.results)
    log(f'done in {data["elapsed_s"]} s: {path}')
    if data['errors']:
        log(f"FAILED: {len(data['errors'])} runs gave no result or not what was asked:")
        for e in data['errors']:
            log('  ' + e)
        sys.exit(1)


if __name__ == '__main__':
    main()
