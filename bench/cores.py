#!/usr/bin/env python3
"""Does imgpipe use the machine's second core when many images arrive?

Images per second of `imgpipe resize -j 1` against `-j 2` (and of one
worker pinned to one core: what `-j 2` is worth over a machine of one), and of `imgpipe
serve --concurrency 1` against `2` with as many events in flight, on the same
files and spec, alternated within each repetition, medians kept. Beside each
rate, the cores the run kept busy (CPU s / wall s): one worker whose libvips
threads already keep 1.3 cores busy leaves a second worker little to gain,
so a ratio is read with its cores. resize's time is the whole process (its
start and exit included); serve's, the first post to the last reply. Every
render is checked (on disk, and in serve's reply); anything missing raises
RuntimeError. Stdlib only, loopback only.

    import cores
    r = cores.measure(bin_path, files, spec, workdir, reps=3)
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

SPEC = ('small=320x320,format=jpeg,q=80;medium=800x800,format=jpeg,q=80;'
        'large=1600x1600,format=jpeg,q=80')
BUCKET = 'sources'      # the folder of staged sources: resize's input, serve's bucket
# what could steer a child elsewhere than the files and settings given here
DROP_PREFIXES = ('IMGPIPE_', 'AWS_', 'GCE_', 'AZURE_', 'FUNCTIONS_', 'VIPS_')
PROXIES = ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'ftp_proxy')


def child_env(**extra):
    """The environment of every child: no proxies, no cloud, loopback only."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(DROP_PREFIXES) and k.lower() not in PROXIES and k != 'PORT'}
    return dict(env, AWS_EC2_METADATA_DISABLED='true', GCE_METADATA_HOST='127.0.0.1:9', **extra)


def check_outputs(tool, outdir, staged, spec):
    """Every staged source has its manifest and each variant it lists, non-empty."""
    names = {v.split('=', 1)[0].strip() for v in spec.split(';') if v.strip()}
    for name, src in staged.items():
        mpath = os.path.join(outdir, 'manifest', os.path.splitext(name)[0] + '.json')
        try:
            with open(mpath) as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise RuntimeError(f'{tool}: no manifest for {src} ({mpath}: {e})') from None
        made = {v.get('name') for v in manifest.get('variants', [])}
        if not names <= made:
            raise RuntimeError(f'{tool}: {src}: no variant {sorted(names - made)} in {mpath}')
        for v in manifest['variants']:
            path = os.path.join(outdir, v['key'])
            if not os.path.isfile(path) or os.path.getsize(path) == 0:
                raise RuntimeError(f'{tool}: {src}: variant {v["name"]} missing or empty: {path}')


def run_resize(bin_path, root, staged, spec, jobs, outdir, one_core=False):
    """One `imgpipe resize -j JOBS --force` of the staged files: (seconds, CPU
    seconds); one_core: pinned to one CPU, the worker a single core gives."""
    tool = f'imgpipe resize -j {jobs}' + (' on one core' if one_core else '')
    errpath = outdir + '.stderr'
    cmd = ([] if not one_core else ['taskset', '-c', '0']) + [
        bin_path, 'resize', '-j', str(jobs), '--force', '--quiet', '--variants', spec,
        '-o', outdir, *staged]
    with open(errpath, 'w') as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=os.path.join(root, BUCKET), env=child_env(),
                             stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        with open(errpath) as f:
            raise RuntimeError(f'{tool}: exit status {p.returncode}: {f.read()[-2000:].strip()}')
    check_outputs(tool, outdir, staged, spec)
    return wall, ru.ru_utime + ru.ru_stime


def cpu_seconds(pid):
    """utime + stime of a live process, from /proc (fields 14 and 15)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Serve:
    """An `imgpipe serve` on a free port of 127.0.0.1, its log in a file."""

    def __init__(self, bin_path, root, logpath, env, args):
        self.logpath = logpath
        with open(logpath, 'w') as log:
            self.p = subprocess.Popen([bin_path, 'serve', '--listen', '127.0.0.1', '--port', '0']
                                      + args, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log)
        try:
            self.wait_ready()
        except BaseException:
            self.p.kill()
            self.p.wait()
            raise

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_ready(self, timeout=30):
        """Port and concurrency from the first log line ('listening on 127.0.0.1:PORT;
        N events at once'), then /healthz until 200."""
        self.port = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.p.poll() is None:
            if self.port is None:
                for line in self.log().splitlines():
                    try:
                        msg = json.loads(line).get('message', '')
                    except ValueError:      # not JSON, or half written yet
                        continue
                    if msg.startswith('listening on '):
                        where, rest = msg[len('listening on '):].split(';', 1)
                        self.port = int(where.rsplit(':', 1)[1])
                        self.concurrency = int(rest.split()[0])
            try:
                if self.port is not None and self.request('GET', '/healthz')[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f'imgpipe serve: not ready (port {self.port}): {self.log()[-2000:]}')

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=180)
        try:
            c.request(method, path, body, {'Content-Type': 'application/json'} if body else {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise RuntimeError('imgpipe serve: still running 30 s after SIGTERM') from None
        if rc:
            raise RuntimeError(f'imgpipe serve: exit status {rc}: {self.log()[-2000:]}')


def post_one(srv, tool, name, src, dest_dir):
    """Post the event of one source; raise unless its reply and outputs say it was rendered."""
    body = json.dumps({'bucket': BUCKET, 'key': name}).encode()
    status, reply = srv.request('POST', '/', body)
    if status != 200:
        raise RuntimeError(f'{tool}: {src}: HTTP {status}: {reply[:500]!r}')
    doc = json.loads(reply)
    res = doc.get('results') or [{}]
    if doc.get('outcome') != 'done' or len(res) != 1 or res[0].get('status') != 'OK':
        raise RuntimeError(f'{tool}: {src}: not processed: {reply[:500]!r}')
    outs = res[0].get('outputs') or []
    if not outs or not all(o.get('written') and o.get('bytes') for o in outs):
        raise RuntimeError(f'{tool}: {src}: not every variant written: {res[0].get("message")}')
    for o in outs:
        path = os.path.join(dest_dir, o['key'])
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise RuntimeError(f'{tool}: {src}: variant {o["variant"]} missing or empty: {path}')


def run_serve(bin_path, root, staged, spec, conc, dest):
    """`imgpipe serve --concurrency CONC` fed every source, CONC at a time: (seconds, CPU s)."""
    tool = f'imgpipe serve --concurrency {conc}'
    dest_dir = os.path.join(root, dest)
    os.mkdir(dest_dir)
    env = child_env(IMGPIPE_STORE='dir:' + root, IMGPIPE_DEST_BUCKET=dest, IMGPIPE_VARIANTS=spec)
    srv = Serve(bin_path, root, dest_dir + '.log', env, ['--concurrency', str(conc)])
    try:
        cpu0, t0 = cpu_seconds(srv.p.pid), time.perf_counter()
        pool = concurrent.futures.ThreadPoolExecutor(conc)
        try:
            for f in [pool.submit(post_one, srv, tool, n, s, dest_dir) for n, s in staged.items()]:
                f.result()
        finally:
            pool.shutdown(cancel_futures=True)   # a failure: post nothing more
        wall, cpu = time.perf_counter() - t0, cpu_seconds(srv.p.pid) - cpu0
    finally:
        srv.stop()
    check_outputs(tool, dest_dir, staged, spec)
    return wall, cpu


def default_concurrency(bin_path, root):
    """What serve says it takes at once when not told (the CPUs it may use)."""
    env = child_env(IMGPIPE_STORE='dir:' + root, IMGPIPE_DEST_BUCKET='probe')
    srv = Serve(bin_path, root, os.path.join(root, 'probe.log'), env, [])
    srv.stop()
    return srv.concurrency


def stage(files, root):
    """Copy the sources into root/BUCKET under unique names: {staged name: source}."""
    os.mkdir(os.path.join(root, BUCKET))
    staged = {}
    for i, src in enumerate(files):
        if not os.path.isfile(src) or os.path.getsize(src) == 0:
            raise RuntimeError(f'cores: source missing or empty: {src}')
        name = f'{i:04d}-{os.path.basename(src)}'
        shutil.copyfile(src, os.path.join(root, BUCKET, name))
        staged[name] = src
    return staged


def measure(bin_path, files, spec, workdir, reps=3):
    """Images per second of resize -j 1/2 and serve --concurrency 1/2, medians of reps."""
    if not files:
        raise RuntimeError('cores: no files to measure')
    if not os.access(bin_path, os.X_OK):
        raise RuntimeError(f'cores: not an executable: {bin_path}')
    bin_path = os.path.abspath(bin_path)
    os.makedirs(workdir, exist_ok=True)
    root = tempfile.mkdtemp(prefix='cores-', dir=os.path.abspath(workdir))
    runs = {k: [] for k in ('p1', 'j1', 'j2', 'c1', 'c2')}
    load = os.getloadavg()[0]   # others' work on the machine skews every figure
    try:
        staged = stage(files, root)
        default = default_concurrency(bin_path, root)
        for rep in range(reps):
            order = ['p1', 'j1', 'j2', 'c1', 'c2']
            for key in order if rep % 2 == 0 else order[::-1]:
                n, out = int(key[1]), f'out-{key}-r{rep}'
                if key[0] in 'jp':
                    wall, cpu = run_resize(bin_path, root, staged, spec, n, os.path.join(root, out),
                                           one_core=key[0] == 'p')
                else:
                    wall, cpu = run_serve(bin_path, root, staged, spec, n, out)
                runs[key].append((len(files) / wall, cpu / wall))
                shutil.rmtree(os.path.join(root, out))
    except Exception as e:
        # the work folder stays, logs and all, for whoever reads the message
        raise RuntimeError(f'{e} (work folder kept: {root})') from e
    shutil.rmtree(root)

    def med(key, i):
        return round(statistics.median(r[i] for r in runs[key]), 3)

    def pair(a, b):
        return {a + '_ips': med(a, 0), b + '_ips': med(b, 0),
                'ratio': round(med(b, 0) / med(a, 0), 3),
                a + '_cores': med(a, 1), b + '_cores': med(b, 1)}

    return {'cpus': len(os.sched_getaffinity(0)), 'files': len(files),
            'resize': dict(pair('j1', 'j2'), p1_ips=med('p1', 0), p1_cores=med('p1', 1),
                           ratio_one_core=round(med('j2', 0) / med('p1', 0), 3)),
            'serve': dict(pair('c1', 'c2'), default_concurrency=default),
            'reps': reps, 'load_before': round(load, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--bin', default='build/imgpipe')
    ap.add_argument('--spec', default=SPEC)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--workdir', default=tempfile.gettempdir())
    ap.add_argument('files', nargs='+')
    a = ap.parse_args()
    print(json.dumps(measure(a.bin, a.files, a.spec, a.workdir, a.reps), indent=1))


if __name__ == '__main__':
    main()
