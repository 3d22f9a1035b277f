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
    """tool: {'runs', 'peak_rss_mb', 'cold_ms' (None: no INIT), 'puts'}."""
    gbs_price = p[f'lambda_gb_second_{arch}']
    d = duration_ms(tool['runs'], mem, p)
    gbs = mem / 1024 * billed(d, p) / 1000
    compute = gbs * gbs_price
    requests = p['lambda_request']
    s3 = p['s3_get'] + tool['puts'] * p['s3_put']
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
