import json
from unittest import mock

import fixtures
from mistral_lib import actions as ml_actions
from oslotest import base

from actions import mistral
from actions.replication import location
from actions import sites


class TestSitesCheckAction(base.BaseTestCase):

    def report(self, healthy):
        return {'healthy': healthy, 'problems': [] if healthy else ["site 'a': compute: x"],
                'sites': {'a': {'healthy': healthy}, 'b': {'healthy': True}}}

    PATHS = {'a -> b': {'backup': {'readable': True, 'checked_at': '2026-11-30T12:00:00Z'}},
             'b -> a': {'backup': {'readable': False, 'reason': 'importing: in error'}}}

    def setUp(self):
        super().setUp()
        self.pairs = self.useFixture(fixtures.MockPatchObject(
            location, 'check_pairs', return_value=self.PATHS)).mock

    @mock.patch.object(sites, 'check_sites')
    def test_healthy_report_is_the_result(self, check):
        check.return_value = self.report(True)
        result = mistral.SitesCheck(['site-a']).run(mock.Mock())
        self.assertEqual(dict(self.report(True), data_paths=self.PATHS, outcome=[
            'Sites a, b are healthy: every core service answered.',
            'Backups of a are readable at b without it (probed 2026-11-30T12:00:00Z).',
            'Backups of b are NOT readable at a (importing: in error): plans b -> a use '
            'replication "image".']), result)
        check.assert_called_once_with(['site-a'], timeout=sites.DEFAULT_TIMEOUT)
        self.pairs.assert_called_once_with(['a', 'b'], False)
        # Without data_paths: no probe.
        check.return_value = self.report(True)
        result = mistral.SitesCheck(['site-a'], data_paths=False).run(mock.Mock())
        self.assertNotIn('data_paths', result)
        self.assertEqual(1, self.pairs.call_count)

    @mock.patch.object(sites, 'check_sites')
    def test_unhealthy_fails_the_task_unless_asked_not_to(self, check):
        check.return_value = self.report(False)
        self.pairs.return_value = {}  # one healthy site: no pair
        result = mistral.SitesCheck(['site-a']).run(mock.Mock())
        self.assertIsInstance(result, ml_actions.Result)
        self.assertEqual({'healthy': False, 'problems': ["site 'a': compute: x"]},
                         result.error)
        result = mistral.SitesCheck(['site-a'], require_healthy=False).run(mock.Mock())
        self.assertEqual(dict(self.report(False), data_paths={}, outcome=[
            'Sites a, b are not healthy:', "site 'a': compute: x",
            'Next: fix this before a failover.']), result)
        self.pairs.assert_called_with(['b'], False)  # only healthy sites are probed

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


class TestExecutionDescriptions(base.BaseTestCase):

    def test_draas_says_first_what_the_execution_is(self):
        text = 'draas.checkpoint.create: plan web (site-a -> site-b)'
        self.assertEqual(text, mistral.described(None, text))
        self.assertEqual(text, mistral.described('', text))
        self.assertEqual(text + '; nightly', mistral.described('nightly', text))
        self.assertEqual(text + '; nightly', mistral.described(text + '; nightly', text))

    def test_a_cron_trigger_s_stays_json_with_its_trigger(self):
        text = 'draas.checkpoint.create: plan web (site-a -> site-b)'
        given = json.dumps({'description': "Workflow execution created by cron trigger "
                                           "'(t1)'.",
                            'triggered_by': {'type': 'cron_trigger', 'id': 't1'}})
        once = mistral.described(given, text)
        self.assertEqual({'description': text + "; Workflow execution created by cron "
                                                "trigger '(t1)'.",
                          'triggered_by': {'type': 'cron_trigger', 'id': 't1'}},
                         json.loads(once))
        self.assertEqual(once, mistral.described(once, text))

    def context(self):
        return mock.Mock(execution=mock.Mock(workflow_execution_id='e1',
                                             workflow_name='draas.sites.check'),
                         security=mock.Mock(auth_token='tok'))

    @mock.patch.object(mistral.mistral_client, 'client')
    def test_written_with_the_caller_s_token_at_the_catalog_s_mistral(self, client):
        client.return_value.executions.get.return_value.description = 'nightly'
        mistral.describe_execution(self.context(), {'mistral_url': 'http://m:8989/v2'},
                                   {'sites': ['site-a']})
        self.assertEqual('http://m:8989/v2', client.call_args.kwargs['mistral_url'])
        self.assertEqual('tok', client.call_args.kwargs['session'].auth.token)
        client.return_value.executions.update.assert_called_once_with(
            'e1', None, description='draas.sites.check: sites site-a; nightly')

    @mock.patch.object(mistral.mistral_client, 'client', side_effect=OSError('no route'))
    def test_a_workflow_never_fails_for_its_description(self, client):
        mistral.describe_execution(self.context(), {'mistral_url': 'http://m:8989/v2'},
                                   {'sites': ['site-a']})
        client.assert_called_once()
        mistral.describe_execution(self.context(), None, {})  # no authentication: nothing
        client.assert_called_once()
