"""test_history.py: bench/history.py on a CSV made here, in a temp dir.

    python3 -m unittest bench/test_history.py
"""
import contextlib
import io
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import history  # noqa: E402

M1, M2 = 'AMD EPYC, 2 CPUs', 'Intel Xeon, 8 CPUs'
SVG = '{http://www.w3.org/2000/svg}'


def ratios(jpeg, cores, rss=0.6):
    return [dict(target='jpeg_cpu', value=jpeg, goal=0.45, lower_is_better=True),
            dict(target='cores_resize', value=cores, goal=1.8, lower_is_better=False),
            dict(target='rss', value=rss, goal=None, lower_is_better=True)]


class History(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.csv = os.path.join(self.tmp.name, 'history.csv')
        rec = history.record
        # commit aaaa: three repeats; bbbb: two; cccc: one; a run of M2 in between
        rec(self.csv, 'aaaa111', '2026-12-01 10:00 UTC', M1, 'host', True, ratios(0.50, 1.90))
        rec(self.csv, 'aaaa111', '2026-12-01 10:05 UTC', M1, 'host', True, ratios(0.52, 1.95))
        rec(self.csv, 'aaaa111', '2026-12-01 10:10 UTC', M1, 'host', True, ratios(0.51, 2.00))
        rec(self.csv, 'bbbb222', '2026-12-02 10:00 UTC', M1, 'host', True, ratios(0.40, 1.80))
        rec(self.csv, 'bbbb222', '2026-12-02 10:05 UTC', M1, 'host', True, ratios(0.42, 1.80))
        rec(self.csv, 'xxxx999', '2026-12-02 11:00 UTC', M2, 'host', True, ratios(9.0, 0.1))
        rec(self.csv, 'cccc333', '2026-12-03 10:00 UTC', M1, 'host', True, ratios(0.41, 1.85))

    def tearDown(self):
        self.tmp.cleanup()

    def test_csv_header_and_rows(self):
        with open(self.csv) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], ','.join(history.FIELDS))
        self.assertEqual(len(lines), 1 + 7 * 3)
        # a target not measured (None) or not finite is left out, not written as a row
        history.record(self.csv, 'dddd444', 'd', M1, 'host', True,
                       [dict(target='a', value=None, goal=None), dict(target='b', value=float('inf'))])
        with open(self.csv) as f:
            self.assertEqual(len(f.read().splitlines()), 1 + 7 * 3)
        self.assertEqual(lines[1], 'aaaa111,2026-12-01 10:00 UTC,"AMD EPYC, 2 CPUs",host,1,'
                                   'jpeg_cpu,0.5,0.45,1')

    def test_runs_and_last(self):
        rs = history.runs(self.csv, M1, 'host', True)
        self.assertEqual([r['commit'] for r in rs], ['aaaa111'] * 3 + ['bbbb222'] * 2 + ['cccc333'])
        self.assertEqual(history.last(self.csv, M1, 'host', True),
                         {'jpeg_cpu': 0.41, 'cores_resize': 1.85, 'rss': 0.6})
        # after recording cccc, its previous run is bbbb's last repeat
        self.assertEqual(history.last(self.csv, M1, 'host', True, before_commit='cccc333')['jpeg_cpu'],
                         0.42)
        self.assertEqual(history.last(self.csv, M1, 'image', True), {})
        self.assertEqual(history.last(self.csv, M1, 'host', False), {})

    def test_same_commit_and_date_twice_is_two_runs(self):
        two = os.path.join(self.tmp.name, 'two.csv')
        for v in (0.50, 0.55):
            history.record(two, 'aaaa111', '2026-12-01 10:00 UTC', M1, 'host', True, ratios(v, 2.0))
        self.assertEqual([r['values']['jpeg_cpu'] for r in history.runs(two)], [0.50, 0.55])
        self.assertAlmostEqual(history.noise_band(two, M1, 'host', True)['jpeg_cpu']['band'], 0.1)

    def test_noise_band(self):
        b = history.noise_band(self.csv, M1, 'host', True)
        # jpeg_cpu: aaaa 0.52/0.50 - 1 = 4%, bbbb 0.42/0.40 - 1 = 5%: the wider
        self.assertAlmostEqual(b['jpeg_cpu']['band'], 0.05, places=6)
        self.assertEqual((b['jpeg_cpu']['repeats'], b['jpeg_cpu']['groups']), (5, 2))
        self.assertTrue(b['jpeg_cpu']['measured'])
        self.assertAlmostEqual(b['cores_resize']['band'], 2.00 / 1.90 - 1, places=6)
        # rss never moved: its spread is 0, its band the floor
        self.assertEqual((b['rss']['spread'], b['rss']['band']), (0.0, history.MIN_BAND))
        # no repeats at all: the default, said so
        one = os.path.join(self.tmp.name, 'one.csv')
        history.record(one, 'aaaa111', 'd', M1, 'host', True, ratios(0.5, 2.0))
        history.record(one, 'bbbb222-dirty', 'd1', M1, 'host', True, ratios(0.5, 2.0))
        history.record(one, 'bbbb222-dirty', 'd2', M1, 'host', True, ratios(0.9, 2.0))
        d = history.noise_band(one, M1, 'host', True)['jpeg_cpu']
        self.assertEqual(d, dict(band=history.DEFAULT_BAND, spread=None, repeats=0, groups=0,
                                 measured=False))

    def check(self, current):
        prev = history.last(self.csv, M1, 'host', True)
        bands = history.noise_band(self.csv, M1, 'host', True)
        lower = {'cores_resize': False}
        return history.check(current, prev, bands, lower)

    def test_worse_beyond_band_is_a_regression(self):
        regs, _ = self.check({'jpeg_cpu': 0.48, 'cores_resize': 1.85, 'rss': 0.6})  # +17%
        self.assertEqual(len(regs), 1)
        self.assertIn('jpeg_cpu: 0.41 -> 0.48 (+17%)', regs[0])
        self.assertIn('noise band of 5.0% (measured from 5 repeats)', regs[0])

    def test_worse_within_band_is_not(self):
        # +4.9%, -2.7%, and rss +1.7%: within its band, the MIN_BAND floor of 2%
        regs, notes = self.check({'jpeg_cpu': 0.43, 'cores_resize': 1.80, 'rss': 0.61})
        self.assertEqual(regs, [])
        self.assertEqual(notes, [])
        regs, _ = self.check({'jpeg_cpu': 0.41, 'cores_resize': 1.85, 'rss': 0.62})   # +3.3%
        self.assertEqual([r.split(':')[0] for r in regs], ['rss'])

    def test_higher_is_better_falling_is_a_regression(self):
        regs, _ = self.check({'jpeg_cpu': 0.41, 'cores_resize': 1.50, 'rss': 0.6})
        self.assertEqual(len(regs), 1)
        self.assertTrue(regs[0].startswith('cores_resize: 1.85 -> 1.5 (-19%)'), regs[0])
        # and rising is no regression, but an improvement beyond the band
        regs, notes = self.check({'jpeg_cpu': 0.41, 'cores_resize': 2.5, 'rss': 0.6})
        self.assertEqual(regs, [])
        self.assertTrue(any(n.startswith('cores_resize') and 'better' in n for n in notes), notes)

    def test_new_and_vanished_are_notes(self):
        regs, notes = self.check({'jpeg_cpu': 0.41, 'cores_resize': 1.85, 'webp_cpu': 0.7})
        self.assertEqual(regs, [])
        self.assertTrue(any(n.startswith('webp_cpu: new') for n in notes), notes)
        self.assertTrue(any(n.startswith('rss: was 0.6') for n in notes), notes)
        regs, notes = history.check({'jpeg_cpu': 9.0}, {}, {}, {})
        self.assertEqual((regs, len(notes)), ([], 1))

    def test_plain_float_band_and_default(self):
        regs, _ = history.check({'a': 1.08, 'b': 1.12}, {'a': 1.0, 'b': 1.0}, {'a': 0.05}, {})
        self.assertEqual([r.split(':')[0] for r in regs], ['a', 'b'])   # b: default 10%
        self.assertIn('default, not measured', regs[1])

    def test_machines_are_not_compared(self):
        # M2's ratios (9.0) sit between bbbb and cccc in the file; M1 never sees them
        self.assertNotIn(9.0, [r['values']['jpeg_cpu'] for r in history.runs(self.csv, M1, 'host', True)])
        self.assertEqual(history.last(self.csv, M2, 'host', True)['jpeg_cpu'], 9.0)
        regs, notes = history.check({'jpeg_cpu': 9.0}, history.last(self.csv, M1, 'host', True),
                                    history.noise_band(self.csv, M1, 'host', True), {})
        self.assertEqual(len(regs), 1)
        self.assertEqual(history.noise_band(self.csv, M2, 'host', True)['jpeg_cpu']['measured'], False)
        self.assertEqual(history.machine_key({'cpu': 'AMD EPYC', 'cpus': 2, 'host': 'vm'}), M1)

    def svg(self, csv, **kw):
        out = os.path.join(self.tmp.name, 'trend.svg')
        self.assertEqual(history.trend_svg(csv, M1, 'host', True, out, **kw), out)
        return ET.parse(out).getroot()

    def test_svg_a_polyline_per_target(self):
        root = self.svg(self.csv)
        lines = root.findall(f'{SVG}polyline')
        self.assertEqual(len(lines), 3)
        self.assertEqual([len(p.get('points').split()) for p in lines], [6, 6, 6])
        self.assertEqual(len({p.get('stroke') for p in lines}), 3)
        texts = [t.text for t in root.iter(f'{SVG}text')]
        self.assertIn('cccc333', texts)
        self.assertIn('jpeg_cpu (goal ≤ 0.45)', texts)
        self.assertIn('cores_resize (goal ≥ 1.8)', texts)
        dashed = [e for e in root.iter(f'{SVG}line') if e.get('stroke-dasharray') == '6 4']
        self.assertEqual(len(dashed), 2)   # jpeg_cpu's and cores_resize's goals; rss has none
        self.assertEqual(len(self.svg(self.csv, targets=['rss']).findall(f'{SVG}polyline')), 1)

    def test_svg_one_run_and_none(self):
        one = os.path.join(self.tmp.name, 'one.csv')
        history.record(one, 'aaaa111', '2026-12-01', M1, 'host', True, ratios(0.5, 2.0))
        root = self.svg(one)
        self.assertEqual([len(p.get('points').split()) for p in root.findall(f'{SVG}polyline')],
                         [1, 1, 1])
        self.assertEqual(len(root.findall(f'{SVG}circle')), 3)
        # no runs: an absent file, and a file with runs of another machine only
        for csv, machine in ((os.path.join(self.tmp.name, 'absent.csv'), M1), (one, M2)):
            out = history.trend_svg(csv, machine, 'host', True, os.path.join(self.tmp.name, 'n.svg'))
            root = ET.parse(out).getroot()
            self.assertIn('no history yet', [t.text for t in root.iter(f'{SVG}text')])
            self.assertEqual(root.findall(f'{SVG}polyline'), [])

    def test_show(self):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            history.show(self.csv, n=2)
        out = buf.getvalue()
        self.assertIn('host (quick) on AMD EPYC, 2 CPUs: 6 runs, the last 2', out)
        self.assertIn('host (quick) on Intel Xeon, 8 CPUs: 1 runs', out)
        self.assertRegex(out, r'jpeg_cpu\s+0.45\s+5.0%\s+0.420\s+0.410')


if __name__ == '__main__':
    unittest.main()
