"""tools/benchmark.py's own logic: its inputs and its report (the runs need the lab)."""
import importlib.util
import io
import os
from unittest import mock

from oslotest import base

from tests import readme


def benchmark_module():
    path = os.path.join(readme.ROOT, 'tools', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def size(n, failover_seconds):
    levels = [{'level': 'volumes', 'seconds': 20.0, 'requests': 30},
              {'level': 'servers', 'seconds': failover_seconds - 25, 'requests': 9}]
    return {'n': n, 'export': {'seconds': 0.9, 'requests': {'total': 27}, 'peak_rss_mib': 80},
            'floor': {'seconds': 0.8, 'requests': {'total': 23}},
            'checkpoint': {'seconds': 40, 'task_executions': 5},
            'checkpoints': [{'run': 'without root disks', 'seconds': 30,
                             'snapshot_seconds': 1.24, 'root_disks': 0,
                             'root_disk_bytes_copied': 0},
                            {'run': 'with root disks', 'seconds': 40,
                             'snapshot_seconds': 8.0, 'root_disks': n,
                             'root_disk_bytes_copied': n << 20, 'volumes': n // 10,
                             'volume_bytes_copied': n // 10 << 30}],
            'replication': 'image', 'credentials': 'member',
            'failover': {'seconds': failover_seconds + 3, 'rto_seconds': failover_seconds,
                         'requests': 39, 'task_executions': 11, 'levels': levels,
                         'servers_level_peak_rss_mib': 95,
                         'cpu_seconds': {'all': 24.0, 'site-b-nova-compute': 20.5,
                                         'mistral-executor': 3.0}},
            'baseline_seconds': 30, 'failover_vs_baseline': round(failover_seconds / 30, 2)}


class TestBenchmark(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.bench = benchmark_module()

    def test_bad_sizes_are_refused_before_anything_runs(self):
        for argv in (['--sizes', '10,lots'], ['--sizes', '0'], ['--volume-every', '0']):
            with mock.patch('sys.stderr', io.StringIO()) as err, \
                    mock.patch.object(self.bench.install, 'mistral_for') as mistral:
                self.assertRaises(SystemExit, self.bench.main, argv)
            mistral.assert_not_called()
            self.assertIn('--', err.getvalue())

    def test_the_table_has_a_row_per_size_and_says_which_failed(self):
        results = {'environment': {'date': '2026-11-21T21:00:00Z', 'draas_commit': 'abc',
                                   'versions': {'nova': '31.0.0'},
                                   'machine': {'cpus': 2, 'memory_gib': 24,
                                               'platform': 'Linux', 'python': '3.11'}},
                   'sizes': [size(10, 35.0), size(50, 45.0), {'n': 200, 'error': 'boom'}]}
        results['sizes'][0]['lag'] = {'volumes': 10, 'writes_per_second': 200,
                                      'samples': 400, 'lag_max': 1.234, 'lag_mean': 0.61,
                                      'lag_p95': 0.98}
        text = self.bench.markdown(results)
        self.assertIn('| N | volumes | writes/s | lag max s | mean s | p95 s |\n'
                      '|---|---|---|---|---|---|\n| 10 | 10 | 200 | 1.23 | 0.61 | 0.98 |\n',
                      text)
        self.assertIn('| 10 | 27 (23) | 0.90 (0.80) | 40 | 5 | 38 (35.0) | 39 | 11 | 30 | '
                      '1.17 | 80 / 95 |', text)
        self.assertIn('| 50 | 27 (23) |', text)
        self.assertIn('| 200 | failed: boom |', text)
        self.assertIn('| 50 | without root disks | 30 | 1.2 | 0 | 0 | - (image, member) | - |', text)
        self.assertIn('| 50 | with root disks | 40 | 8.0 | 50 | 52428800 | 5 (image, member) | '
                      '5368709120 |', text)
        self.assertIn('| 50 | 20.0 s, 30 req | 20.0 s, 9 req |', text)
        self.assertIn('Machine: 2 CPUs, 24 GiB, Linux, Python 3.11.', text)
        # 'all' CPU seconds in the failover's wall time (48 s) on 2 CPUs: how busy it was
        self.assertIn('- N=50, failover: all 24.0 in 48 s = 25 % of the CPUs; '
                      'site-b-nova-compute 20.5, mistral-executor 3.0', text)

    def test_cpu_is_counted_per_lab_process_with_its_children(self):
        before = {'nova': 10.0, 'mistral': 5.0, 'idle': 1.0}
        after = {'nova': 31.5, 'mistral': 6.0, 'idle': 1.0, 'new': 2.0}
        self.assertEqual({'all': 24.5, 'nova': 21.5, 'new': 2.0},
                         self.bench.busiest(before, after, top=2))
        spent = self.bench.cpu_seconds()
        self.assertGreater(spent['bench (this process)'], 0)
