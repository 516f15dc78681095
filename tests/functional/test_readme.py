"""README.rst's commands, run as they are written there (taken from the README itself),
where the other tests run the same workflows through python-mistralclient or do not run them
at all: installing, application credentials, saved plans and triggers, the report, the lab."""
import json
import os
import re
import subprocess
import tempfile
import time
from unittest import mock

import openstack
import yaml

from actions import checkpoint
from actions import plan as plan_mod
from tests.functional import base
from tests import readme

VENV_BIN = os.path.join(base.LAB, 'venv', 'bin')


def shell(command, cwd=None, env=None, check=True):
    """Run a README command with bash, as an operator would after `eval "$(tools/lab env)"`;
    the finished process (stdout and stderr apart)."""
    environ = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(base.LAB, 'clouds.yaml'),
                   PATH=VENV_BIN + ':' + os.environ['PATH'])
    environ.update(env or {})
    proc = subprocess.run(['bash', '-c', command], cwd=cwd or base.ROOT, env=environ,
                          text=True, capture_output=True, timeout=600)
    if check and proc.returncode:
        raise AssertionError('%s: exit %d\n%s%s' % (
            command, proc.returncode, proc.stdout, proc.stderr))
    return proc


class TestReadme(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir])

    def execute(self, command):
        """Run a README `workflow execution create` command; the finished execution."""
        out = shell(command, cwd=self.dir).stdout
        execution_id = re.search(r'\|\s*ID\s*\|\s*(\S+)', out).group(1)
        deadline = time.monotonic() + 300
        execution = self.mistral.executions.get(execution_id)
        while execution.state not in base.FINAL_STATES:
            self.assertLess(time.monotonic(), deadline, command)
            time.sleep(1)
            execution = self.mistral.executions.get(execution_id)
        return execution

    def test_pip_install_into_an_executor_environment_then_draas_install(self):
        # A fresh virtualenv that sees the lab's packages (Mistral's dependencies) through a
        # .pth file but not its editable draas: draas comes from `pip install` alone.
        venv = os.path.join(self.dir, 'venv')
        subprocess.run([os.path.join(VENV_BIN, 'python'), '-m', 'venv', '--without-pip', venv],
                       check=True)
        lab_site = subprocess.check_output([os.path.join(VENV_BIN, 'python'), '-c', (
            'import sysconfig; print(sysconfig.get_path("purelib"))')], text=True).strip()
        site = lab_site.replace(os.path.join(base.LAB, 'venv'), venv)
        with open(os.path.join(site, 'lab-dependencies.pth'), 'w') as f:
            f.write(lab_site + '\n')
        command = readme.command('pip install')
        # --ignore-installed: else pip removes the lab's own draas while installing elsewhere.
        shell(command.replace('pip install', '%s -m pip install -q --no-deps --ignore-installed'
                              % os.path.join(VENV_BIN, 'python')).replace(
            '/path/to/draas', base.ROOT) + ' --prefix ' + venv)
        python = os.path.join(venv, 'bin', 'python')
        installed = json.loads(subprocess.check_output([python, '-c', (
            'import actions, json, importlib.metadata as m; print(json.dumps([actions.__file__,'
            ' sorted(e.name for e in m.entry_points(group="mistral.actions"))]))')], text=True,
            cwd=self.dir))
        self.assertTrue(installed[0].startswith(venv), installed[0])
        self.assertIn('draas.restore.apply', installed[1])
        self.assertIn('draas.report.plans', installed[1])
        # Step 2, the manifest key, made where the test may write.
        keys = os.path.join(self.dir, 'etc-draas')
        shell(readme.command('manifest.key').replace('/etc/draas', keys))
        key = os.path.join(keys, 'manifest.key')
        self.assertEqual(0o600, os.stat(key).st_mode & 0o777)
        with mock.patch.dict(os.environ, DRAAS_MANIFEST_KEY_FILE=key):
            self.assertEqual(64, len(checkpoint.signing_key()))
        # Step 4 with the installed copy: its workbooks come from <venv>/share/draas.
        command = 'draas-install --cloud site-b'
        self.assertIn(command, readme.commands())
        out = shell(command.replace('draas-install', '%s %s' % (
            python, os.path.join(venv, 'bin', 'draas-install'))), cwd=self.dir).stdout
        self.assertIn('uploaded: ', out)
        self.assertIn('draas.failover', out)

    def test_application_credentials_in_clouds_yaml(self):
        entries = {}
        with open(os.path.join(base.LAB, 'clouds.yaml')) as f:
            lab = yaml.safe_load(f)['clouds']
        command = readme.command('application credential create')
        for site in ('site-a', 'site-b'):
            mine = command.replace('site-b', site)
            shell('openstack --os-cloud %s application credential delete draas' % site,
                  check=False)
            credential_id, secret = shell(mine).stdout.split()
            self.addCleanup(openstack.connect(cloud=site).identity.delete_application_credential,
                            openstack.connect(cloud=site).current_user_id, credential_id)
            entries[site] = {'auth_type': 'v3applicationcredential',
                             'auth': {'auth_url': lab[site]['auth']['auth_url'],
                                      'application_credential_id': credential_id,
                                      'application_credential_secret': secret},
                             'region_name': lab[site].get('region_name', 'RegionOne')}
        clouds = os.path.join(self.dir, 'clouds.yaml')
        with open(clouds, 'w') as f:
            yaml.safe_dump({'clouds': entries}, f)
        env = {'OS_CLIENT_CONFIG_FILE': clouds}
        out = shell('python3 -c "import json; from actions import sites; '
                    'print(json.dumps(sites.check_sites([\'site-a\', \'site-b\'])))"',
                    env=dict(env, PYTHONPATH=base.ROOT)).stdout
        report = json.loads(out.splitlines()[-1])
        self.assertTrue(report['healthy'], report['problems'])
        command = 'draas-install --cloud site-b'
        self.assertIn(command, readme.commands())
        out = shell(command, env=env).stdout
        self.assertIn('uploaded: ', out)

    def test_saved_plans_triggers_report_and_refusals(self):
        """The plans `shop` and `crm` of the README, saved (bound to their projects on
        site-a) and scheduled by draas-install, used by reference; the projects hold no
        server, so what needs a checkpoint fails, saying why."""
        plans = [{'name': n, 'source': 'site-a', 'target': 'site-b', 'scope': {'project': n},
                  'policy': 'bronze'} for n in ('shop', 'crm')]
        site_a = openstack.connect(cloud='site-a')
        for name in ('shop', 'crm'):
            project = site_a.identity.create_project(name=name, domain_id='default')
            self.addCleanup(site_a.identity.delete_project, project)
            for trigger in ('checkpoint', 'drill'):
                self.addCleanup(self.mistral.cron_triggers.delete,
                                'draas.%s.%s' % (name, trigger))
            self.addCleanup(plan_mod._registry('site-b').delete, name + '.json')
        with open(os.path.join(self.dir, 'plans.yaml'), 'w') as f:
            yaml.safe_dump(plans, f)
        with open(os.path.join(self.dir, 'shop.yaml'), 'w') as f:
            yaml.safe_dump(plans[0], f)
        out = shell(readme.command('--plans plans.yaml'), cwd=self.dir).stdout
        self.assertIn('plan saved: shop@site-b', out)
        self.assertIn('plan saved: crm@site-b', out)
        out = shell(readme.command('cron trigger list')).stdout
        for name in ('draas.shop.checkpoint', 'draas.shop.drill', 'draas.crm.checkpoint'):
            self.assertIn(name, out)

        execution = self.execute(readme.command('draas.checkpoint.create'))
        self.assertEqual('ERROR', execution.state)
        self.assertIn('scope matches no server (project shop)',
                      self.output(execution)['error'])
        execution = self.execute(readme.command('draas.failover.failover', 'dry_run'))
        self.assertEqual('ERROR', execution.state)
        self.assertIn('no committed checkpoint', execution.state_info + (execution.output or ''))
        execution = self.execute(readme.command('draas.drill.cleanup'))
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual({'drill-3f2a9c1b': {}}, self.output(execution)['cleanup']['cleaned'])
        store = checkpoint.SwiftStore(openstack.connect(cloud='site-b'), 'draas-checkpoints')
        self.assertEqual([], store.list('shop/restores/'))  # no record of a drill that never was

        execution = self.execute(readme.command('draas.report.report'))
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        table = shell(readme.command('output show', 'table').replace(
            '<execution id>', execution.id)).stdout
        self.assertRegex(table, r'shop\s+bronze\s.*NO CHECKPOINT')
        self.assertRegex(table, r'crm\s+bronze\s.*NO CHECKPOINT')
        proc = shell(readme.command('draas-report'), cwd=self.dir, check=False)
        self.assertEqual(1, proc.returncode, proc.stdout)  # a plan misses its targets
        self.assertIn('NO CHECKPOINT', proc.stdout)
        with open(os.path.join(self.dir, 'report.html')) as f:
            self.assertIn('shop', f.read())

    def test_lab_commands(self):
        out = shell(readme.command('tools/lab status')).stdout
        running, total = re.search(r'(\d+) of (\d+) lab processes running', out).groups()
        self.assertEqual(total, running, out)
        out = shell('%s && %s' % (readme.command('tools/lab env'),
                                  readme.command('openstack --os-cloud site-a server list')),
                    env={'OS_CLIENT_CONFIG_FILE': '', 'PATH': os.environ['PATH']}).stdout
        self.assertNotIn('Error', out)
        shell(readme.command('tools/lab restart-mistral'))
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a', 'site-b']})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
