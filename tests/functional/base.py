"""Functional tests: the real mistral-server of the lab, driving draas against both sites.

They run when DRAAS_FUNCTIONAL=1 (tox -e functional, tools/run-tests) and then fail, not skip,
when the lab does not answer. The Mistral is reached through the Keystone catalog of the
cloud named by DRAAS_MISTRAL_CLOUD (default site-b, where the lab runs it).
"""
import json
import os
import subprocess
import time
import unittest

from oslotest import base

from keystoneauth1 import exceptions as ks_exceptions
import openstack

from actions import install

LAB = os.environ.get('DRAAS_LAB', '/opt/draas-lab')
# Tests write and read checkpoints as the lab's executor does: with its manifest key.
os.environ['DRAAS_MANIFEST_KEY_FILE'] = os.path.join(LAB, 'mistral', 'manifest.key')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')
# Numbers the tests measure; tools/run-tests prints them after the run (stdout of passing
# tests is not shown).
MEASUREMENTS = os.path.join(ROOT, '.stestr', 'measurements.txt')


def measured(line):
    os.makedirs(os.path.dirname(MEASUREMENTS), exist_ok=True)
    with open(MEASUREMENTS, 'a') as f:
        f.write(line + '\n')


def lab(*args):
    """Run tools/lab (up, stop-site SITE, ...)."""
    subprocess.run([os.path.join(ROOT, 'tools', 'lab')] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


class FunctionalTestCase(base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.environ.get('DRAAS_FUNCTIONAL') != '1':
            raise unittest.SkipTest('set DRAAS_FUNCTIONAL=1 with the lab up')
        # tools/functional-tests has uploaded this tree's workflows and workbooks.
        cls.mistral = install.mistral_for(os.environ.get('DRAAS_MISTRAL_CLOUD', 'site-b'))
        # Mistral's clock (UTC, seconds): the executions of this class started after it.
        cls.since = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(time.time() - 2))

    @classmethod
    def run_workflow(cls, name, inputs, timeout=300, stop_after=None):
        """Execute `name` through Mistral, wait for a final state, return the execution.
        `stop_after`: fault injection, a restore level (in the execution's env)."""
        env = {'env': {'draas_stop_after': stop_after}} if stop_after else {}
        return cls.wait_execution(
            cls.mistral.executions.create(name, workflow_input=inputs, **env), timeout)

    @classmethod
    def wait_execution(cls, execution, timeout=300, client=None):
        """Wait for an execution already started (by `client`, default the admin's Mistral
        client) to reach a final state; return it."""
        client = client or cls.mistral
        deadline = time.monotonic() + timeout
        while execution.state not in FINAL_STATES:
            if time.monotonic() > deadline:
                raise AssertionError('execution %s of %s still %s after %d s' % (
                    execution.id, execution.workflow_name, execution.state, timeout))
            time.sleep(0.5)  # the catalogues of refused input wait for dozens of executions
            execution = client.executions.get(execution.id)
        return execution

    @classmethod
    def tasks(cls, execution_id, client=None):
        """The tasks of an execution and of the sub-workflows it started (e.g. the restore
        of a failover or drill), in no set order."""
        client = client or cls.mistral
        found = list(client.tasks.list(workflow_execution_id=execution_id))
        for task in [t for t in found if t.type == 'WORKFLOW']:
            for sub in client.executions.list(task=task.id):
                found += cls.tasks(sub.id, client)
        return found

    @classmethod
    def wait_task(cls, execution, name, count=1, timeout=300):
        """Wait until the `count`-th task `name` of a running execution (or of a
        sub-workflow of it) runs (a fault is injected then); fails if the execution ended
        first."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = [t for t in cls.tasks(execution.id) if t.name == name]
            if len(tasks) == count and any(t.state == 'RUNNING' for t in tasks):
                return
            execution = cls.mistral.executions.get(execution.id)
            if (execution.state in FINAL_STATES or len(tasks) > count or
                    time.monotonic() > deadline):
                raise AssertionError('execution %s is %s, task %s #%d never ran' % (
                    execution.id, execution.state, name, count))
            time.sleep(0.5)

    def assert_no_secret(self, texts, secrets=None):
        """None of the lab's passwords, the tokens in use (`secrets`, default lab_secrets())
        or a private key in `texts` (bytes): e.g. checkpoints, execution inputs/outputs, task
        results."""
        blob = b'\n'.join(texts)
        for secret in secrets or self.lab_secrets():
            self.assertNotIn(secret.encode(), blob)
        self.assertNotIn(b'PRIVATE KEY', blob)

    def lab_secrets(self):
        """The lab's passwords and the tokens in use."""
        with open(os.path.join(LAB, 'lab.json')) as f:
            lab = json.load(f)
        secrets = [lab['db'], lab['rabbit']]
        secrets += [v for site in ('site-a', 'site-b') for v in lab[site].values()]
        secrets += [self.mistral.executions.http_client.session.get_token()]
        for site in ('site-a', 'site-b'):
            try:
                secrets.append(openstack.connect(cloud=site).auth_token)
            except (openstack.exceptions.SDKException, ks_exceptions.ClientException):
                pass  # a site stopped by the test: it issues no token
        return secrets

    def execution_texts(self, workflow):
        """Inputs, outputs and task results of the executions of `workflow` this test class
        started (the lab's Mistral keeps those of earlier runs)."""
        texts = []
        for ex in self.mistral.executions.list(workflow_name=workflow,
                                               created_at='gte:' + self.since):
            full = self.mistral.executions.get(ex.id)
            texts += [(full.input or '').encode(), (full.output or '').encode()]
            for task in self.tasks(ex.id):
                texts.append((self.mistral.tasks.get(task.id).result or '').encode())
        return texts

    def timeline(self, execution):
        """Where an execution's time went, from Mistral's task records (second precision):
        'validate 0+1 s, preflight 1+2 s, ...' (start after the execution's, duration)."""
        def at(stamp):
            return time.mktime(time.strptime(stamp.split('.')[0], '%Y-%m-%d %H:%M:%S'))
        start = at(execution.created_at)
        tasks = sorted(self.tasks(execution.id), key=lambda t: (t.created_at, t.updated_at))
        return ', '.join('%s %d+%d s' % (t.name, at(t.created_at) - start,
                                         at(t.updated_at) - at(t.created_at)) for t in tasks)

    @staticmethod
    def output(execution):
        return json.loads(execution.output or '{}')
