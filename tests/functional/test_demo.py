"""tools/demo, the README's first command, run as a newcomer runs it. It stops every site-a
process, then fails over: this also proves the lab's design (site-a's volume backups live in
the vault at site-b and restore there with site-a gone, with the bytes written on site-a)."""
import os
import re
import subprocess
import time

import openstack

from tests.functional import base
from tests.functional import workload

DEMO = os.path.join(base.ROOT, 'tools', 'demo')


def demo(**env):
    proc = subprocess.run([DEMO], env=dict(os.environ, **env), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1500)
    return proc.returncode, proc.stdout


class TestDemo(base.FunctionalTestCase):

    def test_1_a_bad_plan_stops_the_demo_before_anything_is_made(self):
        rc, out = demo(DRAAS_DEMO_PROJECT='demo-bad', DRAAS_DEMO_POLICY='platinum')
        self.assertEqual(1, rc, out)
        self.assertIn("plan.policy: expected gold or silver or bronze, got 'platinum'", out)
        self.assertRegex(out, r'DEMO FAILED after \d+s at step: The protection plan')
        self.assertNotIn('A sample workload', out)
        self.assertIsNone(openstack.connect(cloud='site-a').identity.find_project('demo-bad'))

    def test_2_the_demo_runs_to_the_end(self):
        self.addCleanup(workload.reset, 'demo-shop')
        self.addCleanup(base.lab, 'up')  # the demo leaves site-a down
        started = time.monotonic()
        rc, out = demo()
        self.assertEqual(0, rc, out[-4000:])
        steps = re.findall(r'^== \[\s*(\d+)s\] (.*)$', out, re.M)
        expected = ['Lab up', 'The protection plan', 'Install', 'Check both sites',
                    'A sample workload', 'Checkpoint', 'Disaster', 'Fail over',
                    'Verify on site-b', 'RPO/RTO report', 'The DR report', 'Done']
        self.assertEqual(len(expected), len(steps), steps)
        for prefix, (_, title) in zip(expected, steps):
            self.assertTrue(title.startswith(prefix), (prefix, title))
        elapsed = [int(s) for s, _ in steps]
        self.assertEqual(sorted(elapsed), elapsed)
        self.assertEqual(9, out.count('\n   proves: '))
        report = out[out.index('RPO/RTO report of the failover'):]
        self.assertIn('verified on site-b: 3 servers ACTIVE, 4 ports bound and up, '
                      '3 volumes attached', report)
        self.assertIn('data check: passed (2 data volumes hold the bytes written on site-a)',
                      report)
        self.assertRegex(report, r'RPO achieved +[\d.]+ s, target +900 s: met')
        self.assertRegex(report, r'RTO achieved +[\d.]+ s, target +1800 s: met')
        self.assertRegex(report, r'demo-shop +gold .* OK')
        self.assertIn('openstack --os-cloud site-b server list', out)
        # Site-a is really gone, as Mistral's executor sees it (the demo leaves it down).
        execution = self.run_workflow('draas.sites.check',
                                      {'sites': ['site-a', 'site-b'], 'require_healthy': False})
        report = self.output(execution)['report']
        self.assertFalse(report['sites']['site-a']['healthy'])
        self.assertTrue(report['sites']['site-b']['healthy'])
        self.assertIn("site 'site-a': identity: unreachable", report['problems'][0])
        base.measured('demo: %.0f s, steps at %s s' % (
            time.monotonic() - started, ', '.join(s for s, _ in steps)))
