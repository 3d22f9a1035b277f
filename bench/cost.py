"""cost.py: milliseconds and megabytes into Lambda's bill.

The model, per tool and memory size M (MB):

- CPU share c = M / 1,769 vCPUs (lambda_mb_per_vcpu), at most 6. Below one
  vCPU the function gets that fraction of one core's time; above, more cores,
  which only a tool that runs in parallel can use.
- Predicted duration, from what the bench measured at t threads (wall w_t,
  the fastest repetition's; CPU time u_t, the median): d_t = max(w_t, u_t / min(c, t)), plus io_ms;
  d = the smallest d_t over the thread counts measured. A one-thread tool
  never goes faster than w_1, whatever M is.
- Billed: d rounded up to lambda_billing_ms; GB-seconds = M/1024 x d/1000.
- Dollars per million images = 1e6 x (GB-s x price + request
  + 1 GET + one PUT per variant
  + cold_start_rate x INIT), INIT being the measured cold start stretched
  the same way (c < 1 slows it), billed as GB-seconds when lambda_init_billed.
- A size is usable when peak RSS x rss_margin <= M.
"""
import json
import math

MEMORY_SIZES = [128, 192, 256, 320, 384, 512, 640, 768, 1024, 1280, 1536, 1769,
                2048, 2560, 3008, 3538, 4096, 5120, 6144, 7076, 8192, 10240]


def load_prices(path, overrides=()):
    with open(path) as f:
        raw = json.load(f)
    prices = {}
    for k, v in raw.items():
        if k.startswith('_'):
            continue
        prices[k] = v['usd'] if 'usd' in v else v['value']
    for o in overrides:
        k, _, v = o.partition('=')
        if k not in prices:
            raise SystemExit(f'cost: no price called {k!r} (known: {", ".join(prices)})')
        prices[k] = v.lower() in ('1', 'true', 'yes') if isinstance(prices[k], bool) else float(v)
    return prices, raw


def vcpus(mem, p):
    return min(mem / p['lambda_mb_per_vcpu'], p['lambda_max_vcpus'])


def duration_ms(runs, mem, p):
    """runs: {threads: {'wall_ms': w, 'cpu_ms': u}} measured on an idle core."""
    c = vcpus(mem, p)
    best = math.inf
    for t, r in runs.items():
        best = min(best, max(r['wall_ms'], r['cpu_ms'] / min(c, int(t))))
    return best + p['io_ms']


def billed(ms, p):
    step = p['lambda_billing_ms']
    return math.ceil(ms / step) * step


def predict(tool, mem, p, arch='x86_64'):
    """tool: {'runs', 'peak_rss_mb', 'cold_ms' (None: no INIT), 'puts', 'gets'
    (reads: the source, and any HEAD; 1 when absent)}."""
    gbs_price = p[f'lambda_gb_second_{arch}']
    d = duration_ms(tool['runs'], mem, p)
    gbs = mem / 1024 * billed(d, p) / 1000
    compute = gbs * gbs_price
    requests = p['lambda_request']
    s3 = tool.get('gets', 1) * p['s3_get'] + tool['puts'] * p['s3_put']
    init_ms = 0.0
    if tool.get('cold_ms'):
        init_ms = tool['cold_ms'] / min(vcpus(mem, p), 1)
    init = p['cold_start_rate'] * (mem / 1024 * billed(init_ms, p) / 1000 * gbs_price
                                   if p['lambda_init_billed'] else 0)
    return {
        'memory_mb': mem,
        'duration_ms': d,
        'gb_seconds': gbs,
        'usable': tool['peak_rss_mb'] * p['rss_margin'] <= mem,
        'usd_per_million': {
            'compute': compute * 1e6, 'requests': requests * 1e6, 's3': s3 * 1e6,
            'init': init * 1e6,
            'total': (compute + requests + s3 + init) * 1e6,
        },
        'init_ms': init_ms,
    }


def table(tool, p, arch='x86_64'):
    return [predict(tool, m, p, arch) for m in MEMORY_SIZES]


def cheapest(rows):
    usable = [r for r in rows if r['usable']]
    return min(usable, key=lambda r: r['usd_per_million']['total']) if usable else None


# --- the same image on other clouds ------------------------------------------------
#
# One function per platform, each at its cheapest configuration that fits
# (peak RSS x rss_margin), one image per invocation, the same durations:
#
# - Cloud Run functions (request-based billing): 1 vCPU and the smallest of
#   0.5, 1, 2, 4 GiB that fits; vCPU-seconds and GiB-seconds of the request
#   rounded up to cloudrun_billing_ms, a request price, Cloud Storage's
#   class B (GET) and class A (PUT) operations; a cold start bills its
#   startup the same way.
# - Azure Functions, Consumption: about one vCPU an instance; memory is what
#   the function used rounded up to 128 MB (at most 1,536), duration at
#   least azfunc_min_ms; an execution price; Blob Storage's read and write
#   operations. A cold start is not execution time.
# - Azure Functions, Flex Consumption (on demand): instances of 512 MB
#   (0.25 vCPU), 2,048 MB (1 vCPU) or 4,096 MB (2 vCPU), billed on the
#   instance's memory for at least azflex_min_ms, then in 100 ms steps.

def _d(tool, vcpu, p):
    c = vcpu
    best = math.inf
    for t, r in tool['runs'].items():
        best = min(best, max(r['wall_ms'], r['cpu_ms'] / min(c, int(t))))
    return best + p['io_ms']


def _ceil(ms, step):
    return math.ceil(ms / step) * step


def cloud_run(tool, p):
    need = tool['peak_rss_mb'] * p['rss_margin']
    gib = next((g for g in (0.5, 1, 2, 4) if g * 1024 >= need), None)
    if gib is None:
        return None
    d = _d(tool, 1, p)
    billed_s = _ceil(d, p['cloudrun_billing_ms']) / 1000
    rate = p['cloudrun_vcpu_second'] + gib * p['cloudrun_gib_second']
    compute = billed_s * rate
    init = 0.0
    if tool.get('cold_ms'):
        init = p['cold_start_rate'] * _ceil(tool['cold_ms'], p['cloudrun_billing_ms']) / 1000 * rate
    storage = tool.get('gets', 1) * p['gcs_class_b'] + tool['puts'] * p['gcs_class_a']
    return _row('Cloud Run functions', f'1 vCPU, {gib:g} GiB', d, compute, p['cloudrun_request'],
                storage, init)


def azure_consumption(tool, p):
    mem = math.ceil(tool['peak_rss_mb'] * p['rss_margin'] / 128) * 128
    if mem > 1536:
        return None
    d = _d(tool, 1, p)
    billed_s = max(_ceil(d, 1), p['azfunc_min_ms']) / 1000
    compute = mem / 1024 * billed_s * p['azfunc_gb_second']
    storage = tool.get('gets', 1) * p['azblob_read'] + tool['puts'] * p['azblob_write']
    return _row('Azure Functions, Consumption', f'{mem} MB used, ~1 vCPU', d, compute,
                p['azfunc_execution'], storage, 0.0)


def azure_flex(tool, p):
    rows = []
    for mem, vcpu in ((512, 0.25), (2048, 1), (4096, 2)):
        if tool['peak_rss_mb'] * p['rss_margin'] > mem:
            continue
        d = _d(tool, vcpu, p)
        billed_s = max(_ceil(d, 100), p['azflex_min_ms']) / 1000
        compute = mem / 1024 * billed_s * p['azflex_gb_second']
        storage = tool.get('gets', 1) * p['azblob_read'] + tool['puts'] * p['azblob_write']
        rows.append(_row('Azure Functions, Flex Consumption', f'{mem} MB ({vcpu:g} vCPU)', d,
                         compute, p['azflex_execution'], storage, 0.0))
    return min(rows, key=lambda r: r['usd_per_million']['total']) if rows else None


def _row(platform, config, d, compute, request, storage, init):
    return {
        'platform': platform, 'config': config, 'duration_ms': d,
        'usd_per_million': {
            'compute': compute * 1e6, 'requests': request * 1e6, 'storage': storage * 1e6,
            'init': init * 1e6, 'total': (compute + request + storage + init) * 1e6,
        },
    }


def clouds(tool, p):
    """The cheapest fitting row of each platform (None where nothing fits)."""
    rows = []
    for arch in ('x86_64', 'arm64'):
        lam = cheapest(table(tool, p, arch))
        if lam:
            u = lam['usd_per_million']
            rows.append({'platform': f'AWS Lambda ({arch})', 'config': f"{lam['memory_mb']} MB",
                         'duration_ms': lam['duration_ms'],
                         'usd_per_million': {'compute': u['compute'], 'requests': u['requests'],
                                             'storage': u['s3'], 'init': u['init'],
                                             'total': u['total']}})
        else:
            rows.append(None)
    rows += [cloud_run(tool, p), azure_consumption(tool, p), azure_flex(tool, p)]
    return rows


PLATFORMS = ['AWS Lambda (x86_64)', 'AWS Lambda (arm64)', 'Cloud Run functions',
             'Azure Functions, Consumption', 'Azure Functions, Flex Consumption']


def fastest(rows, within=0.01):
    """The smallest usable size whose duration is within 1 % of the least."""
    usable = [r for r in rows if r['usable']]
    if not usable:
        return None
    least = min(r['duration_ms'] for r in usable)
    return min((r for r in usable if r['duration_ms'] <= least * (1 + within)),
               key=lambda r: r['memory_mb'])
