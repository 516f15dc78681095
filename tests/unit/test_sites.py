import http.server
import os
import threading
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from openstack import exceptions as sdk_exc
from oslotest import base

from actions import sites

CLOUDS = """
clouds:
  site-a:
    auth: {auth_url: 'http://127.0.0.1:1/v3', username: u, password: hunter2,
           project_name: p, user_domain_name: Default, project_domain_name: Default}
  site-b:
    auth: {auth_url: 'http://127.0.0.1:1/v3', username: u, password: hunter2,
           project_name: p, user_domain_name: Default, project_domain_name: Default}
"""


class CloudsYamlFixture(fixtures.Fixture):
    """A private clouds.yaml for the test, so the machine's own files are never read."""

    def __init__(self, text=CLOUDS):
        self.text = text

    def _setUp(self):
        d = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(d, 'clouds.yaml')
        with open(path, 'w') as f:
            f.write(self.text)
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', path))


def fake_conn(catalog=('identity', 'compute', 'network', 'volumev3', 'image', 'placement',
                       'object-store'), failures=None):
    """A Connection stand-in whose probes raise the exceptions named in `failures`."""
    failures = failures or {}
    conn = mock.Mock()
    conn.service_catalog = [{'type': t} for t in catalog]

    def proxy(service, method):
        m = getattr(getattr(conn, service), method)
        if service in failures:
            m.side_effect = failures[service]
        else:
            m.return_value = iter([object()])
    proxy('identity', 'get_user')
    proxy('compute', 'flavors')
    proxy('network', 'networks')
    proxy('block_storage', 'volumes')
    proxy('image', 'images')
    proxy('placement', 'resource_providers')
    proxy('object_store', 'get_account_metadata')
    return conn


class TestSiteNames(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())

    def test_known_sites_pass(self):
        self.assertEqual(['site-a', 'site-b'], sites.validate_site_names(['site-a', 'site-b']))

    def test_single_name_becomes_list(self):
        self.assertEqual(['site-a'], sites.validate_site_names('site-a'))

    def test_unknown_site_is_named_with_the_known_ones(self):
        exc = self.assertRaises(sites.SiteError, sites.validate_site_names,
                                ['site-a', 'site-z'])
        self.assertIn("'site-z'", str(exc))
        self.assertIn('site-a, site-b', str(exc))

    def test_empty_and_wrong_types(self):
        for bad in ([], None, {}, [''], [3]):
            self.assertRaises(sites.SiteError, sites.validate_site_names, bad)

    def test_unreadable_clouds_yaml(self):
        self.useFixture(CloudsYamlFixture('clouds: [unclosed'))
        exc = self.assertRaises(sites.SiteError, sites.validate_site_names, ['site-a'])
        self.assertIn('cannot read clouds.yaml', str(exc))

    def test_entry_without_auth_url_is_named(self):
        self.useFixture(CloudsYamlFixture('clouds: {bare: {region_name: RegionOne}}'))
        exc = self.assertRaises(sites.SiteError, sites.connect, 'bare')
        self.assertEqual("site 'bare': identity: incomplete clouds.yaml entry "
                         "(missing auth_url)", str(exc))

    def test_unreachable_keystone_names_site_and_service_without_password(self):
        report = sites.check_sites(['site-a'], timeout=2)
        self.assertFalse(report['healthy'])
        [problem] = report['problems']
        self.assertIn("site 'site-a'", problem)
        self.assertIn('identity: unreachable', problem)
        self.assertNotIn('hunter2', repr(report))


class TestBackupStore(base.BaseTestCase):

    def test_an_entry_names_where_its_backups_are(self):
        self.useFixture(CloudsYamlFixture(CLOUDS + "    draas: {backup_store: site-b}\n"))
        with mock.patch.object(sites, 'connect') as connect:
            self.assertIs(connect.return_value, sites.backup_store('site-b'))
            connect.assert_called_once_with('site-b')
            self.assertIsNone(sites.backup_store('site-a'))


class TestCheckConnection(base.BaseTestCase):

    def test_all_services_answer(self):
        result = sites.check_connection(fake_conn())
        self.assertEqual({'ok'}, {r['status'] for r in result.values()})
        self.assertTrue(sites._healthy(result))
        self.assertEqual(set(sites.CORE_SERVICES) | set(sites.OPTIONAL_SERVICES), set(result))

    def test_refused_service_is_an_error_naming_it(self):
        conn = fake_conn(failures={'compute': ks_exc.ConnectFailure(
            'Unable to establish connection to http://127.0.0.1:8774/v2.1/flavors: refused')})
        result = sites.check_connection(conn)
        self.assertEqual('error', result['compute']['status'])
        self.assertEqual('compute: unreachable (http://127.0.0.1:8774/v2.1/flavors)',
                         result['compute']['detail'])
        self.assertFalse(sites._healthy(result))

    def test_forbidden_means_answering(self):
        conn = fake_conn(failures={'placement': sdk_exc.ForbiddenException('policy')})
        result = sites.check_connection(conn)
        self.assertEqual('denied', result['placement']['status'])
        self.assertTrue(sites._healthy(result))

    def test_missing_optional_service_is_healthy_missing_core_is_not(self):
        result = sites.check_connection(fake_conn(catalog=(
            'identity', 'compute', 'network', 'block-storage', 'image')))
        self.assertEqual('missing', result['object-store']['status'])
        self.assertTrue(sites._healthy(result))
        result = sites.check_connection(fake_conn(catalog=('identity', 'compute', 'image')))
        self.assertEqual('missing', result['network']['status'])
        self.assertFalse(sites._healthy(result))

    def test_server_error_is_reported_with_code(self):
        conn = fake_conn(failures={'image': sdk_exc.HttpException(
            message='Internal Server Error', http_status=500)})
        result = sites.check_connection(conn)
        self.assertEqual('error', result['image']['status'])
        self.assertIn('image: HTTP 500', result['image']['detail'])


class TestExplain(base.BaseTestCase):

    def test_messages(self):
        self.assertEqual('identity: authentication failed (check the clouds.yaml credentials)',
                         sites.explain(ks_exc.Unauthorized(), 'identity'))
        self.assertEqual('network: no endpoint in the catalog',
                         sites.explain(ks_exc.EndpointNotFound(), 'network'))
        self.assertIn('missing auth_url', sites.explain(
            ks_exc.MissingRequiredOptions([mock.Mock(dest='auth_url')]), 'identity'))


class SlowService(http.server.ThreadingHTTPServer):
    """A local HTTP service answering each request with the next of `answers`: a status code,
    or 'stall' (sleeps past the client's timeout, then answers 200)."""

    def __init__(self, answers):
        self.answers, self.seen = list(answers), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(handler):
                self.seen.append(handler.command)
                what = self.answers.pop(0) if self.answers else 200
                if what == 'stall':
                    threading.Event().wait(0.6)  # not time.sleep: the tests mock it
                    what = 200
                handler.send_response(what)
                handler.send_header('Content-Length', '0')
                handler.end_headers()
            do_GET = do_POST = answer

            def log_message(handler, *args):
                pass

        super().__init__(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return 'http://127.0.0.1:%d/v3/volumes' % self.server_address[1]


class TestReadRetries(base.BaseTestCase):

    def session(self, service, retries=sites.READ_RETRIES):
        self.addCleanup(service.shutdown)
        session = ks_session.Session(timeout=0.3)
        sites.retry_reads(session, retries)
        self.useFixture(fixtures.MockPatch('time.sleep'))  # keystoneauth's back-off
        return session

    def test_a_read_that_times_out_or_gets_503_is_sent_again(self):
        service = SlowService(['stall', 503])
        response = self.session(service).get(service.url(), authenticated=False)
        self.assertEqual(200, response.status_code)
        self.assertEqual(['GET'] * 3, service.seen)

    def test_a_read_fails_after_its_retries(self):
        service = SlowService([503, 502, 504])
        self.assertRaises(ks_exc.HttpError, self.session(service).get, service.url(),
                          authenticated=False)
        self.assertEqual(['GET'] * 3, service.seen)

    def test_a_write_is_never_sent_twice(self):
        service = SlowService(['stall'])
        self.assertRaises(ks_exc.ConnectTimeout, self.session(service).post, service.url(),
                          authenticated=False)
        self.assertEqual(['POST'], service.seen)

    def test_health_checks_do_not_retry(self):
        service = SlowService([503])
        self.assertRaises(ks_exc.HttpError, self.session(service, retries=0).get,
                          service.url(), authenticated=False)
        self.assertEqual(['GET'], service.seen)


class TestClosingConnections(base.BaseTestCase):
    """An action closes the connections it made: idle sockets left open in the long-lived
    executor silence an eventlet API (Cinder) once they hold all its green threads."""

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.made = []
        self.useFixture(fixtures.MockPatch(
            'openstack.connect', side_effect=lambda **kw: self.made.append(mock.Mock()) or
            self.made[-1]))

    def test_connections_made_inside_are_closed_at_the_end(self):
        with sites.closing_connections():
            admin = sites.connect('site-a')
            made = sites.made_here()
            # a worker thread scopes a connection to a project with the action's list
            worker = threading.Thread(
                target=lambda: sites.connect_as_project(admin, 'p1', made))
            worker.start()
            worker.join()
            admin.close.assert_not_called()
        admin.close.assert_called_once_with()
        admin.connect_as_project.return_value.close.assert_called_once_with()
        self.assertIsNone(sites.made_here())

    def test_outside_an_action_nothing_is_tracked(self):
        conn = sites.connect('site-a')
        self.assertIsNone(sites.made_here())
        conn.close.assert_not_called()


class TestMode(base.BaseTestCase):

    def conn(self, roles):
        conn = mock.Mock(spec=['session'])
        conn.session.auth.get_access.return_value.role_names = roles
        return conn

    def test_the_admin_role_makes_an_admin(self):
        self.assertEqual(sites.ADMIN, sites.mode(self.conn(['reader', 'member', 'admin'])))

    def test_any_other_role_makes_a_member(self):
        conn = self.conn(['member', 'reader', 'load-balancer_member'])
        self.assertEqual(sites.MEMBER, sites.mode(conn))
        self.assertEqual({}, sites.in_every_project(conn, 'p1'))
        sites.mode(conn)  # asked once per connection
        self.assertEqual(1, conn.session.auth.get_access.call_count)

    def test_an_admin_lists_one_project_among_all(self):
        self.assertEqual({'all_projects': True, 'project_id': 'p1'},
                         sites.in_every_project(self.conn(['admin']), 'p1'))
