"""Functional tests: the real mistral-server of the lab, driving draas against both sites.

They run when DRAAS_FUNCTIONAL=1 (tox -e functional, tools/run-tests) and then fail, not skip,
when the lab does not answer. The Mistral is reached through the Keystone catalog of the
cloud named by DRAAS_MISTRAL_CLOUD (default site-b, where the lab runs it).
"""
import glob
import json
import os
import time

from mistralclient.api import client as mistral_client
import openstack
from oslotest import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')


def mistral():
    conn = openstack.connect(cloud=os.environ.get('DRAAS_MISTRAL_CLOUD', 'site-b'))
    url = conn.session.get_endpoint(service_type='workflowv2', interface='public')
    return mistral_client.client(mistral_url=url, session=conn.session)


def upload_definitions(client):
    """Create or update every workflow and workbook of the tree in Mistral."""
    existing_wf = {w.name for w in client.workflows.list()}
    existing_wb = {w.name for w in client.workbooks.list()}
    for path in sorted(glob.glob(os.path.join(ROOT, 'workflows', '*.yaml'))):
        with open(path) as f:
            text = f.read()
        import yaml
        names = [k for k in yaml.safe_load(text) if k != 'version']
        if set(names) & existing_wf:
            client.workflows.update(text)
        else:
            client.workflows.create(text)
    for path in sorted(glob.glob(os.path.join(ROOT, 'workbooks', '*.yaml'))):
        with open(path) as f:
            text = f.read()
        import yaml
        if yaml.safe_load(text)['name'] in existing_wb:
            client.workbooks.update(text)
        else:
            client.workbooks.create(text)


class FunctionalTestCase(base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.environ.get('DRAAS_FUNCTIONAL') != '1':
            raise __import__('unittest').SkipTest('set DRAAS_FUNCTIONAL=1 with the lab up')
        cls.mistral = mistral()
        upload_definitions(cls.mistral)

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
