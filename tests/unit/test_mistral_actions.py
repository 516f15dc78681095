from unittest import mock

from mistral_lib import actions as ml_actions
from oslotest import base

from actions import mistral
from actions import sites


class TestSitesCheckAction(base.BaseTestCase):

    def report(self, healthy):
        return {'healthy': healthy, 'problems': [] if healthy else ["site 'a': compute: x"],
                'sites': {'a': {}, 'b': {}}}

    @mock.patch.object(sites, 'check_sites')
    def test_healthy_report_is_the_result(self, check):
        check.return_value = self.report(True)
        result = mistral.SitesCheck(['site-a']).run(mock.Mock())
        self.assertEqual(dict(self.report(True), outcome='Sites a, b are healthy: every core '
                              'service answered.'), result)
        check.assert_called_once_with(['site-a'], timeout=sites.DEFAULT_TIMEOUT)

    @mock.patch.object(sites, 'check_sites')
    def test_unhealthy_fails_the_task_unless_asked_not_to(self, check):
        check.return_value = self.report(False)
        result = mistral.SitesCheck(['site-a']).run(mock.Mock())
        self.assertIsInstance(result, ml_actions.Result)
        self.assertEqual({'healthy': False, 'problems': ["site 'a': compute: x"]},
                         result.error)
        result = mistral.SitesCheck(['site-a'], require_healthy=False).run(mock.Mock())
        self.assertEqual(dict(self.report(False), outcome="Sites a, b are not healthy: site "
                              "'a': compute: x. Fix this before a failover."), result)

    @mock.patch.object(sites, 'check_sites', side_effect=sites.SiteError('unknown site x'))
    def test_bad_input_is_an_error_result_with_the_message(self, check):
        result = mistral.SitesCheck(['x']).run(mock.Mock())
        self.assertEqual(['unknown site x'], result.error['problems'])

    def test_instance_state_is_json_safe(self):
        # Mistral serialises vars(action) to send it to a remote executor.
        import json
        json.dumps(vars(mistral.SitesCheck(['site-a'], False, 3)))

    @mock.patch.object(sites, 'check_sites', side_effect=KeyError('boom'))
    def test_unexpected_failure_is_reported_not_raised(self, check):
        result = mistral.SitesCheck(['site-a']).run(mock.Mock())
        self.assertIn('internal error: KeyError', result.error['problems'][0])
