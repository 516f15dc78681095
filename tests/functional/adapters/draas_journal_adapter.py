"""A storage replication adapter from a package of its own, as a vendor would ship one:
tests/functional/test_replication.py installs it (module and dist-info with its
draas.replication entry point) where the lab's Mistral executor finds packages. It drives
the lab's arrays like the lab adapter, with that adapter's settings, and writes each call it
makes to a journal beside itself, so the test sees a plan used it."""
import json
import os

import draas_lab_array_adapter

from actions import sites

JOURNAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'draas_journal.log')


class JournalAdapter(draas_lab_array_adapter.LabAdapter):
    name = 'journal'

    def __init__(self, plan, settings):
        super().__init__(plan, {site: sites.settings(site)['replication']['lab']
                                for site in (plan['source'], plan['target'])})

    def _call(self, site, method, path, body=None):
        with open(JOURNAL, 'a') as f:
            f.write(json.dumps([self.plan['name'], site, method, path]) + '\n')
        return super()._call(site, method, path, body)
