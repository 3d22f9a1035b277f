#!/usr/bin/env python3
"""iotime: what S3 I/O adds to one upload event, beside the render's CPU time.

bench/prices.json sets io_ms = 0 by assumption; this measures it on loopback.
s3rver (tests/lib/s3server.js, SigV4 checked) stands in for S3, a Runtime API
here for Lambda, and `imgpipe lambda` runs warm between them as in a 1-vCPU
sandbox (1,769 MB, pinned to one CPU; s3rver elsewhere). Each event is an
ObjectCreated for its own copy of the source (a key already done is skipped by
the idempotence stamps after one HEAD), so each does HEADs + GET + render + PUTs.
Per event: the wall from handing the event out to its reply; the handler's
phases (its JSON log line: GetMs, DecodeMs, ResizeMs, EncodeMs, PutMs, TotalMs);
each TCP connection and request s3rver saw, timed by a preload in its node.
The render alone is imgpipe-bench (one thread, --placeholders as the handler
makes the manifest's), run before and after; the quieter median counts.

io_ms = median wall - render alone: what I/O and the handler around the render
add on the critical path; io_phases_ms = GetMs + PutMs + HEADs, measured
directly. steady is False when the render alone's wall exceeds its CPU time by
10%, or the events' own render strays 10% (+3 ms) from it: the CPU was shared
and io_ms is not to be trusted. Loopback has no network distance and s3rver is
not S3: what carries over is the shape (requests; rounds on the critical path:
HEADs, GET, the variants' PUTs in parallel, the manifest's; connection reuse)
and the client's own cost. Real S3 adds its latency to each round.

    r = iotime.measure(bin_path, bench_bin_path, src_file, spec, workdir, events=10)
    python3 bench/iotime.py --bin build/imgpipe --bench-bin build/imgpipe-bench FILE
"""
import argparse, hashlib, hmac, http.client, http.server, json, mimetypes, os, queue, shutil
import statistics, subprocess, sys, tempfile, threading, time, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S3SERVER = os.path.join(ROOT, 'tests', 'lib', 's3server.js')
SRC_BUCKET, DST_BUCKET, KEY, REGION = 'iotime-uploads', 'iotime-variants', 'S3RVER', 'us-east-1'
WEB = 'small=320x320,format=jpeg,q=80;medium=800x800,format=jpeg,q=80;large=1600x1600,format=jpeg,q=80'
# Preloaded into s3rver's node (-r): a stdout line per TCP connection and per request (epoch ms).
PRELOAD = r"""'use strict';
const http = require('http'), { performance } = require('perf_hooks');
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (ev, a, b) {
  if (ev === 'connection') process.stdout.write(`C ${now()} ${a.remotePort}\n`);
  else if (ev === 'request') {
    const t0 = now(), port = a.socket.remotePort;
    b.on('finish', () => process.stdout.write(
      `R ${t0} ${now()} ${port} ${b.statusCode} ${a.method} ${a.url}\n`));
  }
  return emit.apply(this, arguments);
};
"""


class _S3:
    """SigV4-signed requests to s3rver on one keep-alive connection (its local ports noted)."""
    def __init__(self, port):
        self.host, self.ports = f'127.0.0.1:{port}', set()
        self.conn = http.client.HTTPConnection(self.host, timeout=30)

    def request(self, method, bucket, key, body=b'', headers=None):
        amz = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        scope = f'{amz[:8]}/{REGION}/s3/aws4_request'
        h = {'host': self.host, 'x-amz-date': amz,
             'x-amz-content-sha256': hashlib.sha256(body).hexdigest(), **(headers or {})}
        path, names = urllib.parse.quote(f'/{bucket}/{key}', safe='/-_.~'), sorted(h)
        creq = '\n'.join([method, path, '', ''.join(f'{n}:{h[n]}\n' for n in names),
                          ';'.join(names), h['x-amz-content-sha256']])
        sts = '\n'.join(['AWS4-HMAC-SHA256', amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
        k = b'AWS4' + KEY.encode()
        for part in scope.split('/'):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        h['authorization'] = (f'AWS4-HMAC-SHA256 Credential={KEY}/{scope}, SignedHeaders='
                              f'{";".join(names)}, Signature='
                              f'{hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()}')
        if self.conn.sock is None:   # first, or closed by the server
            self.conn.connect()
            self.ports.add(self.conn.sock.getsockname()[1])
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        return r.status, r.headers, r.read()


class _Runtime(http.server.ThreadingHTTPServer):
    """The Lambda Runtime API: /next hands out queued events; /response, /error are collected."""
    daemon_threads = True

    def __init__(self):
        self.events, self.replies, self.handed = queue.Queue(), queue.Queue(), {}
        rt = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            disable_nagle_algorithm = True   # else headers, then body: a 40 ms delayed ACK

            def head(h, code, body, extra=()):
                h.send_response(code)
                for name, value in [('Content-Type', 'application/json'),
                                    ('Content-Length', str(len(body)))] + list(extra):
                    h.send_header(name, value)
                h.end_headers()
                h.wfile.write(body)

            def do_GET(h):
                if not h.path.endswith('/runtime/invocation/next'):
                    return h.head(404, b'{}')
                rid, body = rt.events.get()   # blocks until the next event, as Lambda does
                trace = hashlib.md5(rid.encode()).hexdigest()
                rt.handed[rid] = time.time()
                h.head(200, body, [
                    ('Lambda-Runtime-Aws-Request-Id', rid),
                    ('Lambda-Runtime-Deadline-Ms', str(int(time.time() * 1000) + 120000)),
                    ('Lambda-Runtime-Invoked-Function-Arn',
                     'arn:aws:lambda:us-east-1:000000000000:function:iotime'),
                    ('Lambda-Runtime-Trace-Id', f'Root=1-{trace[:8]}-{trace[8:]};Sampled=0')])

            def do_POST(h):
                t = time.time()
                body = h.rfile.read(int(h.headers.get('Content-Length') or 0))
                parts = h.path.rstrip('/').split('/')   # .../invocation/ID/response or /error
                h.head(202, b'{"status":"OK"}')
                rt.replies.put((parts[-2], parts[-1], body, t))

            def log_message(h, *a):   # quiet
                return
        super().__init__(('127.0.0.1', 0), H)


def _reader(stream, sink):
    for line in iter(stream.readline, b''):
        sink.append(line.decode('utf-8', 'replace').rstrip('\n'))


def _pin(cpus):
    return ['taskset', '-c', ','.join(map(str, sorted(cpus)))] if cpus and shutil.which('taskset') else []


def _event(key, size, etag, i):
    obj = {'key': urllib.parse.quote_plus(key, safe='/'), 'size': size, 'eTag': etag,
           'sequencer': f'{i:016X}'}
    return json.dumps({'Records': [{'eventVersion': '2.1', 'eventSource': 'aws:s3',
        'awsRegion': REGION, 'eventName': 'ObjectCreated:Put',
        'eventTime': time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime()),
        's3': {'s3SchemaVersion': '1.0', 'bucket': {'name': SRC_BUCKET}, 'object': obj}}]}).encode()


def _union(spans):
    """Length of the union of (start, end) intervals."""
    total, end = 0.0, None
    for a, b in sorted(spans):
        if end is None or a > end:
            total, end = total + b - a, b
        elif b > end:
            total, end = total + b - end, b
    return total


def render_alone(bench_bin_path, src_file, spec, cpu=0, reps=5, warmup=1):
    """imgpipe-bench on one thread and one CPU: the render (and placeholder), no I/O."""
    cmd = _pin({cpu}) + [bench_bin_path, '--placeholders', '--variants', spec, '--reps', str(reps),
                         '--warmup', str(warmup), '--threads', '1', src_file]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, VIPS_CONCURRENCY='1'))
    if r.returncode:
        raise RuntimeError(f'iotime: {bench_bin_path} failed ({r.returncode}): {r.stderr.strip()[-400:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


def _row(i, a, b, reqs, line):
    """One event's figures: its window [a, b] (epoch s), s3rver's requests in it, its log line."""
    if line is None or line.get('status') != 'OK' or line.get('skipped'):
        raise RuntimeError(f'iotime: event {i}: no good log line: {line}')
    mine = [r for r in reqs if a <= r[0] <= b]
    bad = [r for r in mine if r[3] >= 400 and r[2] != 'HEAD']   # a HEAD's 404 is "not there yet"
    puts = [(r[0], r[1]) for r in mine if r[2] == 'PUT']
    gets, heads = [r for r in mine if r[2] == 'GET'], [(r[0], r[1]) for r in mine if r[2] == 'HEAD']
    if bad or not puts or len(gets) != 1:
        raise RuntimeError(f'iotime: event {i}: {len(gets)} GETs, {len(puts)} PUTs, failed: {bad[:3]}')
    compute = line['DecodeMs'] + line['ResizeMs'] + line['EncodeMs']
    gap = (min(p[0] for p in puts) - gets[0][1]) * 1e3   # GET answered -> first PUT arrives
    return {'wall': (b - a) * 1e3, 'total': line['TotalMs'], 'get': line['GetMs'],
            'put': line['PutMs'], 'compute': compute, 'puts': len(puts), 'heads': len(heads),
            'head': _union(heads) * 1e3, 'io': line['GetMs'] + line['PutMs'] + _union(heads) * 1e3,
            'put_sum': sum(e - s for s, e in puts) * 1e3, 'put_span': _union(puts) * 1e3,
            'behind_encode': max(0.0, compute - gap), 'handler': (b - a) * 1e3 - line['TotalMs']}


def measure(bin_path, bench_bin_path, src_file, spec, workdir, events=10, warmup=1, cpu=0,
            server_cpus=None, timeout=120):
    """Medians over `events` warm upload events (after `warmup` untimed ones); see the module doc.
    imgpipe and the render alone run on CPU `cpu`, s3rver on `server_cpus` (default: the others)."""
    for p in (bin_path, bench_bin_path, src_file, S3SERVER):
        if not os.path.exists(p):
            raise RuntimeError(f'iotime: {p} not found')
    if events < 1 or warmup < 0:
        raise RuntimeError('iotime: events must be >= 1 and warmup >= 0')
    os.makedirs(workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='iotime-', dir=workdir)   # a fresh store: no stamps from before
    procs, rt, s3log, log, diag = [], None, [], [], []
    try:
        renders = [render_alone(bench_bin_path, src_file, spec, cpu)]   # nothing else running
        preload = os.path.join(tmp, 's3count.js')
        with open(preload, 'w') as f:
            f.write(PRELOAD)
        os.mkdir(os.path.join(tmp, 's3'))
        srv = subprocess.Popen(['node', '-r', preload, S3SERVER, os.path.join(tmp, 's3'), SRC_BUCKET,
                                DST_BUCKET], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        procs.append(srv)
        others = set(server_cpus or set(os.sched_getaffinity(0)) - {cpu})
        if others and shutil.which('taskset'):   # s3rver off imgpipe's CPU, as S3 is elsewhere
            subprocess.run(['taskset', '-a', '-p', '-c', ','.join(map(str, sorted(others))),
                            str(srv.pid)], capture_output=True, check=True)
        line = srv.stdout.readline().decode()
        if not line.startswith('PORT '):
            raise RuntimeError(f'iotime: s3rver did not start: {line!r} {srv.stderr.read(2000)!r}')
        port = int(line.split()[1])
        readers = [threading.Thread(target=_reader, args=x, daemon=True)
                   for x in ((srv.stdout, s3log), (srv.stderr, diag))]
        for t in readers:
            t.start()

        s3 = _S3(port)
        with open(src_file, 'rb') as f:
            data = f.read()
        ctype = mimetypes.guess_type(src_file)[0] or 'application/octet-stream'
        n, base = warmup + events, os.path.basename(src_file)
        keys, etags = [f'iotime/e{i:03d}-{base}' for i in range(n)], []
        for k in keys:
            st, hd, body = s3.request('PUT', SRC_BUCKET, k, data, {'content-type': ctype})
            if st != 200:
                raise RuntimeError(f'iotime: PUT {SRC_BUCKET}/{k}: {st} {body[:300]!r}')
            etags.append((hd.get('ETag') or '').strip('"'))

        rt = _Runtime()
        threading.Thread(target=rt.serve_forever, daemon=True).start()
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': tmp, 'LANG': 'C.UTF-8',
               'AWS_LAMBDA_RUNTIME_API': f'127.0.0.1:{rt.server_address[1]}',
               'AWS_LAMBDA_FUNCTION_MEMORY_SIZE': '1769', 'AWS_LAMBDA_FUNCTION_NAME': 'iotime',
               'AWS_ENDPOINT_URL_S3': f'http://127.0.0.1:{port}', 'IMGPIPE_S3_ADDRESSING': 'path',
               'AWS_ACCESS_KEY_ID': KEY, 'AWS_SECRET_ACCESS_KEY': KEY, 'AWS_REGION': REGION,
               'AWS_EC2_METADATA_DISABLED': 'true', 'IMGPIPE_DEST_BUCKET': DST_BUCKET,
               'IMGPIPE_SOURCE_BUCKET': SRC_BUCKET, 'IMGPIPE_VARIANTS': spec,
               'IMGPIPE_MAX_INVOCATIONS': str(n), 'VIPS_CONCURRENCY': '1'}
        lam = subprocess.Popen(_pin({cpu}) + [bin_path, 'lambda'], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(lam)
        for stream, sink in ((lam.stdout, log), (lam.stderr, diag)):
            threading.Thread(target=_reader, args=(stream, sink), daemon=True).start()
        threading.Thread(target=lambda: rt.replies.put(('-', f'exit {lam.wait()}', b'', 0)),
                         daemon=True).start()   # an early exit ends the wait for a reply

        def tail():
            return ' | '.join(diag[-8:])[-800:]
        windows, replies = [], []
        for i, k in enumerate(keys):
            rid = f'iotime-{i:03d}'
            rt.events.put((rid, _event(k, len(data), etags[i], i)))
            try:
                r_id, kind, body, t_reply = rt.replies.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f'iotime: no reply to event {i} in {timeout} s: {tail()}') from None
            if r_id != rid or kind != 'response':
                raise RuntimeError(f'iotime: event {i} ({k}): {kind} ({r_id}) {body[:500]!r} {tail()}')
            res = json.loads(body).get('results') or [{}]
            if len(res) != 1 or res[0].get('status') != 'OK' or not res[0].get('outputs') or \
               not all(o.get('written') for o in res[0]['outputs']):
                raise RuntimeError(f'iotime: event {i} ({k}) did not write every variant: {body[:500]!r}')
            windows.append((rt.handed[rid], t_reply))
            replies.append(res[0])
        try:
            if lam.wait(timeout=30):
                raise RuntimeError(f'iotime: imgpipe lambda exited {lam.returncode}: {tail()}')
        except subprocess.TimeoutExpired:
            raise RuntimeError('iotime: imgpipe lambda did not exit after IMGPIPE_MAX_INVOCATIONS')

        # every variant and manifest is in the destination bucket
        for i, r in enumerate(replies):
            for k in [o['key'] for o in r['outputs']] + [r['manifestKey']] * ('manifestKey' in r):
                st, _, _ = s3.request('HEAD', DST_BUCKET, k)
                if st != 200:
                    raise RuntimeError(f'iotime: event {i}: {DST_BUCKET}/{k} missing ({st})')
        srv.stdin.close()   # s3server.js exits when its stdin closes: its log is then whole
        srv.wait(timeout=10)
        readers[0].join(timeout=10)

        conns, reqs = [], []   # imgpipe's only: not from this module's own connection
        for l in list(s3log):
            f = l.split(' ', 6)
            if f[0] == 'C' and int(f[2]) not in s3.ports:
                conns.append(float(f[1]) / 1e3)
            elif f[0] == 'R' and int(f[3]) not in s3.ports:
                reqs.append((float(f[1]) / 1e3, float(f[2]) / 1e3, f[5], int(f[4]), f[6]))
        stray = [r for r in reqs if not any(a <= r[0] <= b for a, b in windows)]
        if stray:
            raise RuntimeError(f'iotime: imgpipe requests outside any event: {stray[:3]}')
        renders.append(render_alone(bench_bin_path, src_file, spec, cpu))   # and again, after
        lines = {j.get('key'): j for j in (json.loads(l) for l in log if l.startswith('{'))}
        rows = [_row(i, *windows[i], reqs, lines.get(keys[i])) for i in range(warmup, n)]
    except (OSError, ValueError, KeyError, IndexError, http.client.HTTPException) as e:
        raise RuntimeError(f'iotime: {type(e).__name__}: {e}') from e
    finally:
        if rt:
            rt.shutdown()
            rt.server_close()
        for p in reversed(procs):
            if p.poll() is None:
                if p.stdin:
                    p.stdin.close()     # s3server.js exits when its stdin closes
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name):
        return round(statistics.median(r[name] for r in rows), 2)
    # the render alone: the quieter of its runs before and after (noise only adds time)
    render = min(renders, key=lambda r: r['wall_ms'])
    # steady: the events' own render took what the render alone did (else the CPU was shared)
    alone = render['probe_ms'] + render['decode_ms'] + render['resize_ms'] + render['encode_ms']
    return {'events': events, 'warmup': warmup, 'file': src_file, 'bytes': len(data), 'spec': spec,
            'wall_ms': med('wall'), 'wall_min_ms': round(min(r['wall'] for r in rows), 2),
            'render_ms': round(render['wall_ms'], 2), 'render_cpu_ms': round(render['cpu_ms'], 2),
            'render_runs_ms': [round(r['wall_ms'], 2) for r in renders],
            'io_ms': round(med('wall') - render['wall_ms'], 2), 'io_phases_ms': med('io'),
            'get_ms': med('get'), 'put_ms': med('put'), 'head_ms': med('head'),
            'job_ms': med('total'), 'job_render_ms': med('compute'), 'handler_ms': med('handler'),
            'puts': int(med('puts')), 'heads': int(med('heads')), 'gets': 1,
            'overlap': {'put_sum_ms': med('put_sum'), 'put_span_ms': med('put_span'),
                        'hidden_by_parallel_puts_ms': round(statistics.median(
                            r['put_sum'] - r['put_span'] for r in rows), 2),
                        'hidden_behind_encode_ms': med('behind_encode')},
            'connections': len(conns), 'requests': len(reqs),
            'connections_after_first_event': sum(t > windows[0][1] for t in conns),
            'steady': render['wall_ms'] <= 1.1 * render['cpu_ms'] + 1 and
                      abs(med('compute') - alone) <= 0.1 * alone + 3}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'imgpipe'))
    ap.add_argument('--bench-bin', default=os.path.join(ROOT, 'build', 'imgpipe-bench'))
    ap.add_argument('--variants', default=WEB, help='the variant spec (default: the web JPEG set)')
    ap.add_argument('--events', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=1, help='untimed events first (default 1)')
    ap.add_argument('--cpu', type=int, default=0, help="imgpipe's CPU (default 0, as bench/run.py)")
    ap.add_argument('--server-cpus', help="s3rver's CPUs, e.g. 1 or 0,2 (default: all but --cpu)")
    ap.add_argument('--workdir', help='scratch folder (default: a temporary one)')
    ap.add_argument('file')
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='iotime-') as tmp:
        try:
            r = measure(a.bin, a.bench_bin, a.file, a.variants, a.workdir or tmp, a.events,
                        a.warmup, a.cpu, a.server_cpus and
                        {int(c) for c in a.server_cpus.split(',')})
        except RuntimeError as e:
            sys.exit(str(e))
    print(json.dumps(r, indent=1))


if __name__ == '__main__':
    main()
