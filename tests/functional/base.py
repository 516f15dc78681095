"""Functional tests: the real mistral-server of the lab, driving draas against both sites.

They run when DRAAS_FUNCTIONAL=1 (tox -e functional, tools/run-tests) and then fail, not skip,
when the lab does not answer. The Mistral is reached through the Keystone catalog of the
cloud named by DRAAS_MISTRAL_CLOUD (default site-b, where the lab runs it).
"""
import json
import os
import time
import unittest

from oslotest import base

from actions import install

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')
# Numbers the tests measure; tools/run-tests prints them after the run (stdout of passing
# tests is not shown).
MEASUREMENTS = os.path.join(ROOT, '.stestr', 'measurements.txt')


def measured(line):
    os.makedirs(os.path.dirname(MEASUREMENTS), exist_ok=True)
    with open(MEASUREMENTS, 'a') as f:
        f.write(line + '\n')


class FunctionalTestCase(base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.environ.get('DRAAS_FUNCTIONAL') != '1':
            raise unittest.SkipTest('set DRAAS_FUNCTIONAL=1 with the lab up')
        cls.mistral = install.mistral_for(os.environ.get('DRAAS_MISTRAL_CLOUD', 'site-b'))
        install.upload(cls.mistral)

    def run_workflow(self, name, inputs, timeout=300):
        """Execute `name` through Mistral, wait for a final state, return the execution."""
        execution = self.mistral.executions.create(name, workflow_input=inputs)
        deadline = time.monotonic() + timeout
        while execution.state not in FINAL_STATES:
            if time.monotonic() > deadline:
                self.fail('execution %s of %s still %s after %d s' % (
                    execution.id, name, execution.state, timeout))
            time.sleep(1)
            execution = self.mistral.executions.get(execution.id)
        return execution

    @staticmethod
    def output(execution):
        return json.loads(execution.output or '{}')
