import http.server
import json
import threading
from unittest import mock

from mistral_lib import actions as ml_actions
from mistral_lib.actions import context as ml_context
from oslotest import base

from actions import access
from actions import mistral
from actions import plan as plan_mod
from actions import protect

PLAN = plan_mod.validate({'name': 'p1', 'source': 'site-a', 'target': 'site-b',
                          'scope': {'project': 'shop'}, 'policy': 'silver'})


def who(project='shop', project_id='f00', roles=('member', 'reader')):
    return {'user': 'ann', 'project_name': project, 'project_id': project_id,
            'roles': sorted(roles)}


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
            'roles': [{'name': 'reader', 'id': 'r1'}, {'name': 'member', 'id': 'r2'}]})
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

    def test_no_token_no_check(self):
        self.assertIsNone(access.caller(self.security(token=None)))
        self.assertIsNone(access.caller(None))


class TestAuthorize(base.BaseTestCase):

    def test_members_act_on_their_project_by_name_or_id(self):
        access.authorize(who(), PLAN)
        access.authorize(who(project='other', project_id='shop'), PLAN)

    def test_admins_act_on_every_plan_and_no_token_is_not_checked(self):
        access.authorize(who(project='admin', roles=['admin']), PLAN)
        access.authorize(None, PLAN)

    def test_members_of_another_project_are_refused(self):
        exc = self.assertRaises(access.AccessError, access.authorize,
                                who(project='rival', project_id='b4d'), PLAN)
        self.assertIn('not authorized: user ann (project rival, roles member, reader) may '
                      'not act on plan p1, which protects project shop', str(exc))
        exc = self.assertRaises(access.AccessError, access.authorize,
                                who(project=None, project_id=None), PLAN, access.READ_ROLE)
        self.assertIn('may not read plan p1', str(exc))

    def test_readers_read_and_do_not_act(self):
        reader = who(roles=['reader'])
        access.authorize(reader, PLAN, access.READ_ROLE)
        exc = self.assertRaises(access.AccessError, access.authorize, reader, PLAN)
        self.assertIn('draas needs the member role in that project', str(exc))

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


class TestActions(base.BaseTestCase):

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
        result = mistral.CheckpointList(PLAN).run(mock.Mock())
        self.assertEqual('20261121T234535Z-10a33b', result[0]['checkpoint_id'])
        result = mistral.CheckpointBegin(PLAN).run(mock.Mock())
        self.assertIn('needs the member role', result.error)

    @mock.patch.object(access, 'caller', return_value=who(project='rival', project_id='b'))
    def test_a_report_of_a_foreign_plan_is_refused(self, caller):
        result = mistral.ReportPlans([PLAN, {'name': 'not valid'}]).run(mock.Mock())
        self.assertIn('may not read plan p1', result.error)
