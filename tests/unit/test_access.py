import http.server
import json
import threading
from unittest import mock

from mistral_lib import actions as ml_actions
from mistral_lib.actions import context as ml_context
import fixtures
from oslotest import base

from actions import access
from actions import install
from actions import mistral
from actions import plan as plan_mod
from actions import protect

PLAN = plan_mod.validate({'name': 'p1', 'source': 'site-a', 'target': 'site-b',
                          'scope': {'project': 'shop'}, 'policy': 'silver'})
# PLAN as an admin saved it: bound to project a1b on site-a, granted to project f00.
SAVED = plan_mod.validate(dict(PLAN, scope={'project': 'shop', 'project_id': 'a1b'},
                               access={'projects': ['f00']}))


def who(project='shop', project_id='f00', roles=('member', 'reader')):
    return {'user': 'ann', 'project_name': project, 'project_id': project_id,
            'roles': sorted(roles), 'mistral_url': MISTRAL}


MISTRAL = 'http://127.0.0.1:8989/v2'


class Keystone(http.server.ThreadingHTTPServer):
    """GET /v3/auth/tokens of a Keystone knowing one token (a token may read itself)."""

    def __init__(self, token, body):
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):
                self.seen.append((handler.path, dict(handler.headers)))
                ok = (handler.path == '/v3/auth/tokens' and
                      handler.headers['X-Auth-Token'] == token and
                      handler.headers['X-Subject-Token'] == token)
                data = json.dumps({'token': body} if ok else {'error': {}}).encode()
                handler.send_response(200 if ok else 404)
                handler.send_header('Content-Length', str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)

            def log_message(handler, *args):
                pass

        super().__init__(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def uri(self, suffix=''):
        return 'http://127.0.0.1:%d%s' % (self.server_address[1], suffix)


class TestCaller(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.keystone = Keystone('tok', {
            'user': {'name': 'ann', 'id': 'u1'}, 'project': {'id': 'f00', 'name': 'shop'},
            'roles': [{'name': 'reader', 'id': 'r1'}, {'name': 'member', 'id': 'r2'}],
            # where draas writes the execution's description (actions/mistral.py)
            'catalog': [{'type': 'identity', 'endpoints': [
                {'interface': 'public', 'url': 'http://127.0.0.1:5000/v3'}]},
                {'type': 'workflowv2', 'endpoints': [
                    {'interface': 'internal', 'url': 'http://10.0.0.1:8989/v2'},
                    {'interface': 'public', 'url': MISTRAL}]}]})
        self.addCleanup(self.keystone.shutdown)

    def security(self, token='tok', uri=None, is_target=False):
        return ml_context.SecurityContext(auth_token=token, is_target=is_target,
                                          auth_uri=uri or self.keystone.uri('/v3'))

    def test_the_token_says_who_calls(self):
        for uri in (self.keystone.uri(), self.keystone.uri('/v3/')):
            self.assertEqual(who(), access.caller(self.security(uri=uri)))

    def test_a_token_keystone_does_not_know_is_refused(self):
        exc = self.assertRaises(access.AccessError, access.caller, self.security('forged'))
        self.assertIn('could not check who runs this workflow', str(exc))

    def test_target_headers_are_refused_before_any_request(self):
        exc = self.assertRaises(access.AccessError, access.caller,
                                self.security(is_target=True))
        self.assertIn('X-Target', str(exc))
        self.assertEqual([], self.keystone.seen)

    def test_a_cron_trigger_run_is_checked_at_mistral_s_keystone(self):
        # The context of a trust (a cron trigger's run) carries a token and no URL.
        trust = ml_context.SecurityContext(auth_token='tok', is_trust_scoped=True)
        with mock.patch.object(access, 'mistral_keystone', return_value=self.keystone.uri()):
            self.assertEqual(who(), access.caller(trust))
        with mock.patch.object(access, 'mistral_keystone', return_value=None):
            exc = self.assertRaises(access.AccessError, access.caller, trust)
        self.assertIn('set [keystone_authtoken] www_authenticate_uri', str(exc))

    def test_no_token_is_refused_unless_mistral_checks_no_token(self):
        for security in (self.security(token=None), None):
            exc = self.assertRaises(access.AccessError, access.caller, security)
            self.assertIn('Mistral passed no token with this call', str(exc))
        with mock.patch.object(access, 'mistral_authenticates', return_value=False):
            with self.assertLogs(access.LOG, 'WARNING') as logs:
                self.assertIsNone(access.caller(self.security(token=None)))
        self.assertIn('Mistral runs without authentication', logs.output[0])

    def test_outside_a_mistral_tokens_are_required(self):
        self.assertTrue(access.mistral_authenticates())


class TestAuthorize(base.BaseTestCase):
    """PLAN is saved granting project f00 (ann's, at Mistral's Keystone)."""

    def setUp(self):
        super().setUp()
        self.saved = {'p1@site-b': SAVED}
        self.useFixture(fixtures.MockPatchObject(
            plan_mod, 'fetch', side_effect=lambda ref: self.saved.get(ref) or
            self.fail('no plan %s' % ref)))

    def test_members_of_a_granted_project_act_on_the_saved_plan(self):
        access.authorize(who(), SAVED)
        access.authorize(who(project='renamed'), SAVED)  # the ID decides

    def test_admins_act_on_every_plan_and_no_token_is_not_checked(self):
        access.authorize(who(project='admin', roles=['admin']), PLAN)
        access.authorize(None, PLAN)

    def test_a_project_of_the_plan_s_name_is_not_granted_it(self):
        exc = self.assertRaises(access.AccessError, access.authorize,
                                who(project_id='b4d'), SAVED)
        self.assertIn('not authorized: user ann (project shop, b4d; roles member, reader) '
                      'may not act on plan p1: an admin grants a project a plan by listing '
                      'it in the plan\'s access.projects', str(exc))
        exc = self.assertRaises(access.AccessError, access.authorize,
                                who(project=None, project_id=None), SAVED, access.READ_ROLE)
        self.assertIn('may not read plan p1', str(exc))

    def test_only_saved_plans_are_granted(self):
        del self.saved['p1@site-b']
        with mock.patch.object(plan_mod, 'fetch', side_effect=plan_mod.PlanError(['none'])):
            exc = self.assertRaises(access.AccessError, access.authorize, who(), PLAN)
        self.assertIn('no plan of that name is saved at site-b', str(exc))

    def test_a_member_runs_the_saved_plan_as_saved(self):
        changed = dict(SAVED, scope={'project': 'rival', 'project_id': 'b4d'},
                       options=dict(SAVED['options'], store='file:///tmp/x'))
        exc = self.assertRaises(access.AccessError, access.authorize, who(), changed)
        self.assertIn('it differs from the plan saved as p1@site-b (options, scope): run the '
                      'saved plan (its reference p1@site-b)', str(exc))

    def test_readers_read_and_do_not_act(self):
        reader = who(roles=['reader'])
        access.authorize(reader, SAVED, access.READ_ROLE)
        exc = self.assertRaises(access.AccessError, access.authorize, reader, SAVED)
        self.assertIn('draas needs the member role in your project', str(exc))

    def test_a_plan_name_holds_one_project(self):
        manifest = {'checkpoint_id': 'c1', 'project': {'id': 'b4d', 'name': 'rival'}}
        exc = self.assertRaises(access.AccessError, access.check_owner, PLAN, manifest)
        self.assertIn('plan p1: its checkpoints (e.g. c1) hold project rival (b4d), its '
                      'scope names project shop', str(exc))
        access.check_owner(PLAN, {'checkpoint_id': 'c1',
                                  'project': {'id': 'f00', 'name': 'shop'}})
        access.check_owner(dict(PLAN, scope={'project': 'f00'}), {
            'checkpoint_id': 'c1', 'project': {'id': 'f00', 'name': 'shop'}})
        access.check_owner(PLAN, {'checkpoint_id': 'c1'})  # written before draas kept it

    def test_a_bound_plan_holds_its_project_s_id_only(self):
        same_name = {'checkpoint_id': 'c1', 'project': {'id': 'n3w', 'name': 'shop'}}
        exc = self.assertRaises(access.AccessError, access.check_owner, SAVED, same_name)
        self.assertIn('plan p1 is bound to project a1b, its checkpoints (e.g. c1) hold '
                      'project n3w (shop)', str(exc))
        access.check_owner(SAVED, {'checkpoint_id': 'c1',
                                   'project': {'id': 'a1b', 'name': 'renamed'}})


class TestActions(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(plan_mod, 'fetch', return_value=SAVED))

    @mock.patch.object(protect, 'begin')
    @mock.patch.object(access, 'caller', return_value=who(project='rival', project_id='b'))
    def test_a_refused_caller_gets_an_error_and_nothing_runs(self, caller, begin):
        result = mistral.CheckpointBegin(PLAN).run(mock.Mock())
        self.assertIsInstance(result, ml_actions.Result)
        self.assertIn('not authorized: user ann', result.error)
        begin.assert_not_called()

    @mock.patch.object(protect, 'checkpoints_of')
    @mock.patch.object(access, 'caller', return_value=who(roles=['reader']))
    def test_readers_list_checkpoints_and_cannot_begin_one(self, caller, checkpoints_of):
        checkpoints_of.return_value.list.return_value = ['20261121T234535Z-10a33b']
        result = mistral.CheckpointList('p1@site-b').run(mock.Mock())
        self.assertEqual('20261121T234535Z-10a33b', result[0]['checkpoint_id'])
        result = mistral.CheckpointBegin('p1@site-b').run(mock.Mock())
        self.assertIn('needs the member role', result.error)

    @mock.patch.object(access, 'caller', return_value=who())
    def test_a_workflow_s_first_task_types_its_inputs_for_those_granted(self, caller):
        result = mistral.InputsValidate({'plan': '"p1@site-b"', 'dry_run': '"False"'}).run(
            mock.Mock())
        self.assertEqual({'plan': SAVED, 'dry_run': False}, result)
        caller.return_value = who(project_id='b4d')
        result = mistral.InputsValidate({'plan': 'p1@site-b'}, role='reader').run(mock.Mock())
        self.assertIn('may not read plan p1', result.error)
        result = mistral.InputsValidate({'plan': 'p1@site-b'}, role='owner').run(mock.Mock())
        self.assertEqual("role: expected member or reader, got 'owner'", result.error)

    @mock.patch.object(access, 'caller', return_value=who(project='rival', project_id='b'))
    def test_a_report_of_a_foreign_plan_is_refused(self, caller):
        result = mistral.ReportPlans([PLAN, {'name': 'not valid'}]).run(mock.Mock())
        self.assertIn('may not read plan p1', result.error)


class TestBind(base.BaseTestCase):
    """draas-install binds a plan before it saves it: project ID on the source, granted
    projects' IDs at Mistral's Keystone."""

    def setUp(self):
        super().setUp()
        self.source, self.keystone = mock.Mock(), mock.Mock()
        self.source.identity.find_project.return_value = mock.Mock(id='a1b')
        self.keystone.identity.find_project.side_effect = lambda name, **kw: {
            'shop': mock.Mock(id='f00')}.get(name)
        self.useFixture(fixtures.MockPatch('actions.sites.connect', return_value=self.source))

    def test_a_plan_is_saved_with_ids(self):
        bound = install.bind(dict(PLAN, access={'projects': ['shop']}), self.keystone)
        self.assertEqual(SAVED, bound)

    def test_a_plan_made_for_another_project_id_is_not_saved(self):
        self.source.identity.find_project.return_value = mock.Mock(id='n3w')
        exc = self.assertRaises(access.AccessError, install.bind, SAVED, self.keystone)
        self.assertIn("plan p1: project 'shop' on site-a is now n3w, but the plan was made for "
                      "project a1b", str(exc))

    def test_an_unknown_granted_project_is_named(self):
        exc = self.assertRaises(access.AccessError, install.bind,
                                dict(PLAN, access={'projects': ['shop', 'nobody']}),
                                self.keystone)
        self.assertIn("plan p1: access.projects: no project 'nobody' at Mistral's Keystone",
                      str(exc))
