import openstack

from actions import sites
from tests.functional import base


class TestSitesCheck(base.FunctionalTestCase):

    def test_both_sites_healthy_through_mistral(self):
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a', 'site-b'],
                                                            'reprobe': True})
        output = self.output(execution)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertTrue(output['healthy'])
        self.assertEqual([], output['problems'])
        for site in ('site-a', 'site-b'):
            services = output['report']['sites'][site]['services']
            for service in list(sites.CORE_SERVICES) + list(sites.OPTIONAL_SERVICES):
                self.assertEqual('ok', services[service]['status'], (site, service))
        # Both sites' backups go to site-b's vault Swift, which both read: each pair is
        # proven by a probe just made (reprobe), and the probes left nothing behind.
        paths = output['report']['data_paths']
        self.assertEqual({'site-a -> site-b', 'site-b -> site-a'}, set(paths))
        for pair, found in paths.items():
            self.assertEqual((True, None, False), (
                found['backup']['readable'], found['backup']['reason'],
                found['backup']['cached']), pair)
        self.assertIn('Backups of site-a are readable at site-b without it (probed %s).' %
                      paths['site-a -> site-b']['backup']['checked_at'], output['outcome'])
        probes = {found['backup']['probe'] for found in paths.values()}
        for site in ('site-a', 'site-b'):
            bs = openstack.connect(cloud=site).block_storage
            self.assertEqual([], [v.name for v in bs.volumes(all_projects=True)
                                  if v.name in probes and v.status != 'deleting'], site)
            self.assertEqual([], [b.name for b in bs.backups(all_projects=True)
                                  if b.name in probes and b.status != 'deleting'], site)
        base.measured('data path probes: %s' % ', '.join(
            '%s %.1f s' % (pair, found['backup']['seconds'])
            for pair, found in sorted(paths.items())))

    def test_member_user_sees_admin_only_service_as_denied(self):
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a-demo']})
        services = self.output(execution)['report']['sites']['site-a-demo']['services']
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual('denied', services['placement']['status'])
        self.assertEqual('ok', services['compute']['status'])

    def test_unknown_site_fails_with_a_clear_message(self):
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a', 'nowhere']})
        self.assertEqual('ERROR', execution.state)
        problems = self.output(execution)['problems']
        self.assertEqual(1, len(problems), problems)
        self.assertIn("unknown site 'nowhere'", problems[0])
