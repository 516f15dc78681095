from actions import sites
from tests.functional import base


class TestSitesCheck(base.FunctionalTestCase):

    def test_both_sites_healthy_through_mistral(self):
        execution = self.run_workflow('draas.sites.check', {'sites': ['site-a', 'site-b']})
        output = self.output(execution)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertTrue(output['healthy'])
        self.assertEqual([], output['problems'])
        for site in ('site-a', 'site-b'):
            services = output['report']['sites'][site]['services']
            for service in list(sites.CORE_SERVICES) + list(sites.OPTIONAL_SERVICES):
                self.assertEqual('ok', services[service]['status'], (site, service))

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
