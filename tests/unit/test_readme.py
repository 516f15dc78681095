"""Every command README.rst shows is exercised by a test or by the demo (issue 6)."""
import os
import re

from oslotest import base

from tests import readme

# (pattern of README commands, file that runs them, what in that file runs them). Commands
# that test_readme runs are taken from the README itself by readme.command(...).
RUN_BY_README_TEST = 'tests/functional/test_readme.py'
EXERCISED = [
    (r'^tools/demo$', 'tests/functional/test_demo.py',
     "DEMO = os.path.join(base.ROOT, 'tools', 'demo')"),
    (r'^tools/run-tests$', '.ci/run', 'exec tools/run-tests'),
    (r'^tox -e ', 'tools/run-tests', 'tox" -e py3,docs,functional'),
    (r'^tools/functional-tests$', 'tox.ini', 'tools/functional-tests {posargs}'),
    (r'^tools/lab( up)?$', 'tools/run-tests', 'tools/lab up'),
    (r'^tools/lab down$', 'tools/run-tests', 'tools/lab down'),
    (r'^tools/lab stop-site site-a$', 'tools/demo', 'tools/lab stop-site site-a'),
    (r'^tools/lab status$', RUN_BY_README_TEST, "readme.command('tools/lab status')"),
    (r'^tools/lab restart-mistral$', RUN_BY_README_TEST,
     "readme.command('tools/lab restart-mistral')"),
    (r'tools/lab env', RUN_BY_README_TEST, "readme.command('tools/lab env')"),
    (r'^tools/lab backups (local|shared) site-a$', 'tests/functional/test_tenant.py',
     "base.lab('backups', 'local', 'site-a')"),
    (r'^openstack --os-cloud site-a server list$', RUN_BY_README_TEST,
     "readme.command('openstack --os-cloud site-a server list')"),
    (r'application credential create', RUN_BY_README_TEST,
     "readme.command('application credential create')"),
    (r'^pip install', RUN_BY_README_TEST, "readme.command('pip install')"),
    (r'/etc/draas/manifest\.key\)$', RUN_BY_README_TEST, "readme.command('manifest.key')"),
    (r'^draas-install --cloud site-b$', RUN_BY_README_TEST,
     "command = 'draas-install --cloud site-b'"),
    (r'^draas-install (--cloud site-b )?--plans', RUN_BY_README_TEST,
     "readme.command('--plans plans.yaml')"),
    (r'cron trigger list', RUN_BY_README_TEST, "readme.command('cron trigger list')"),
    (r'create draas\.sites\.check', 'tools/demo',
     """run draas.sites.check '{"sites": ["site-a", "site-b"]}'"""),
    (r'workflow execution output show <execution id>$', 'tools/demo',
     'workflow execution output show "$id"'),
    (r'workflow \.\.\.$', 'tools/demo', 'openstack --os-cloud site-b workflow execution'),
    (r'create draas\.checkpoint\.create .*shop\.yaml', RUN_BY_README_TEST,
     "readme.command('draas.checkpoint.create')"),
    (r'draas\.failover\.failover .*"dry_run": true', RUN_BY_README_TEST,
     "readme.command('draas.failover.failover', 'dry_run')"),
    (r"""draas\.failover\.failover '{"plan": "shop@site-b"}'$""", 'tools/demo',
     'run draas.failover.failover'),
    (r'draas\.failover\.failover .*"mode": "planned"', 'tests/functional/test_failover.py',
     "self.failover(mode='planned')"),
    (r'draas\.failback\.reprotect', 'tests/functional/test_failover.py',
     "'draas.failback.reprotect', {'plan': self.plan}"),
    (r'draas\.failback\.failback', 'tests/functional/test_failover.py',
     "'draas.failback.failback', {'plan': self.plan}"),
    (r"""draas\.drill\.drill '{"plan": "shop@site-b"}'$""", 'tests/functional/test_drill.py',
     "self.run_workflow('draas.drill.drill',\n"
     "                                      dict({'plan': plan or self.plan}"),
    (r'draas\.drill\.drill .*"keep": true', 'tests/functional/test_drill.py',
     'self.drill(keep=True)'),
    (r'draas\.drill\.cleanup', RUN_BY_README_TEST, "readme.command('draas.drill.cleanup')"),
    (r'create draas\.report\.report', RUN_BY_README_TEST,
     "readme.command('draas.report.report')"),
    (r'output show <execution id> \| python3', RUN_BY_README_TEST,
     "readme.command('output show', 'table')"),
    (r'^draas-report ', RUN_BY_README_TEST, "readme.command('draas-report')"),
]


class TestReadmeCommands(base.BaseTestCase):

    def test_the_commands_are_read(self):
        commands = readme.commands()
        self.assertEqual(['tools/demo', 'tools/run-tests'], commands[:2])
        self.assertIn("""openstack --os-cloud site-b workflow execution create draas.drill.drill \
'{"plan": "shop@site-b", "keep": true}'""", commands)  # a continuation joined
        self.assertIn('tools/lab status', commands)  # a comment dropped, and an inline one

    def test_every_command_is_exercised(self):
        self.assertEqual([], [c for c in readme.commands()
                              if not any(re.search(p, c) for p, _, _ in EXERCISED)])

    def test_what_exercises_them_does(self):
        commands = readme.commands()
        for pattern, path, needle in EXERCISED:
            self.assertTrue(any(re.search(pattern, c) for c in commands),
                            'no README command matches %r any more' % pattern)
            with open(os.path.join(readme.ROOT, path)) as f:
                self.assertIn(needle, f.read(), '%s runs no %r' % (path, pattern))
