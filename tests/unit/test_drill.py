"""Drill cleanup removes only what a drill made; verification probes really connect."""
import http.server
import socket
import threading
import time
import types
from unittest import mock

import fixtures
from oslotest import base

from actions import checkpoint
from actions import drill
from actions import verify
from tests.unit.test_sites import CloudsYamlFixture


def res(id, name='', **kw):
    return types.SimpleNamespace(id=id, name=name, **kw)


class TestCleanup(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.root = self.useFixture(fixtures.TempDir()).path
        self.conn = mock.MagicMock(draas_mode='admin')
        self.useFixture(fixtures.MockPatch('actions.sites.connect',
                                           return_value=self.conn))
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop'}, 'policy': 'gold',
                     'options': {'store': 'file://' + self.root}}
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(self.root), 'shop')
        c = self.conn
        for listing in (c.compute.servers, c.network.ips, c.network.routers,
                        c.network.ports, c.network.subnets, c.network.networks,
                        c.network.security_groups, c.block_storage.volumes,
                        c.compute.server_groups, c.compute.keypairs, c.compute.flavors,
                        c.block_storage.types, c.identity.domains):
            listing.return_value = []
        # A project tagged like the drill but not named after it is never deleted.
        c.identity.projects.return_value = [res('p-drill', 'shop-drill-ab12'),
                                            res('p-prod', 'shop')]
        c.identity.find_project.return_value = None

    def test_only_the_drills_resources_go_and_the_drill_is_marked_cleaned(self):
        c = self.conn
        c.network.networks.return_value = [res('n1')]
        c.compute.keypairs.return_value = [res('k1', 'key-drill-ab12'), res('k2', 'key')]
        c.compute.flavors.return_value = [res('f1', 'm1-drill-ab12', is_public=False),
                                          res('f2', 'm1', is_public=True)]
        cid = checkpoint.new_checkpoint_id()
        self.cps.put_part(cid, 'data', {'volumes': {'v1': {'method': 'image',
                                                           'image_id': 'vol-image'}}})
        self.cps.put_restore('drill-ab12', 'idmap', {'image': {'i1': 'boot-image'}})
        self.cps.put_restore('drill-ab12', 'state', {'restore_id': 'drill-ab12',
                                                     'checkpoint_id': cid})
        out = drill.cleanup(self.plan, 'drill-ab12')
        self.assertEqual({'network': 1, 'keypair': 1, 'flavor': 1, 'project': 1},
                         out['cleaned']['drill-ab12'])
        c.network.networks.assert_called_with(tags='draas-restore=drill-ab12')
        c.identity.delete_project.assert_called_once_with(
            c.identity.projects.return_value[0])
        c.compute.delete_keypair.assert_called_once_with(c.compute.keypairs.return_value[0])
        c.compute.delete_flavor.assert_called_once_with(c.compute.flavors.return_value[0])
        self.assertEqual([('p-drill', 'boot-image'), ('p-drill', 'vol-image')],
                         sorted(call.args for call in c.image.remove_member.mock_calls))
        self.assertIn('cleaned_at', self.cps.get_restore('drill-ab12', 'state'))
        # Without a drill ID: the drills not cleaned yet, so none now.
        self.assertEqual({}, drill.cleanup(self.plan)['cleaned'])

    def test_a_members_drill_leaves_the_project_it_shares_with_production(self):
        c = self.conn
        c.draas_mode = 'member'
        c.identity.projects.side_effect = AssertionError('admins only')
        c.compute.servers.side_effect = [[res('s1', 'web-drill-ab12')], []]  # then gone
        c.network.security_groups.return_value = [res('sg1', 'default-drill-ab12')]
        self.cps.put_restore('drill-ab12', 'idmap', {'project': {'p1': 'p-prod'}})
        out = drill.cleanup(self.plan, 'drill-ab12')
        self.assertEqual({'server': 1, 'security_group': 1}, out['cleaned']['drill-ab12'])
        c.compute.servers.assert_called_with(tags='draas-restore=drill-ab12')  # no all_projects
        c.network.security_groups.assert_called_once_with(tags='draas-restore=drill-ab12')
        c.identity.delete_project.assert_not_called()
        c.identity.find_project.assert_not_called()

    def test_a_routers_extra_routes_go_before_its_interfaces(self):
        # Neutron refuses to remove an interface an extra route goes through (HTTP 409).
        c = self.conn
        router = res('r1', 'rt-drill-ab12', routes=[{'destination': '10.9.0.0/24',
                                                     'nexthop': '10.0.0.9'}])
        c.network.routers.return_value = [router]
        c.network.ports.side_effect = lambda **kw: [res('rp1')] if kw.get(
            'device_id') == 'r1' else []
        c.block_storage.types.return_value = [res('t1', 'fast-drill-ab12'), res('t2', 'fast')]
        out = drill.cleanup(self.plan, 'drill-ab12')
        self.assertEqual({'router': 1, 'volume_type': 1, 'project': 1},
                         out['cleaned']['drill-ab12'])
        steps = [call[0].split('.')[-1] for call in c.network.mock_calls
                 if call[0].split('.')[-1] in ('update_router', 'remove_interface_from_router',
                                               'delete_router')]
        self.assertEqual(['update_router', 'remove_interface_from_router', 'delete_router'],
                         steps)
        c.network.update_router.assert_called_once_with(router, routes=[])
        c.block_storage.delete_type.assert_called_once_with(
            c.block_storage.types.return_value[0])

    def test_a_domain_the_drill_made_goes_last_disabled_first(self):
        c = self.conn
        c.identity.domains.return_value = [res('d1', 'corp-drill-ab12'), res('d2', 'corp')]
        out = drill.cleanup(self.plan, 'drill-ab12')
        self.assertEqual({'domain': 1, 'project': 1}, out['cleaned']['drill-ab12'])
        steps = [call[0].split('.')[-1] for call in c.identity.mock_calls
                 if call[0].split('.')[-1] in ('delete_project', 'update_domain',
                                               'delete_domain')]
        self.assertEqual(['delete_project', 'update_domain', 'delete_domain'], steps)
        c.identity.update_domain.assert_called_once_with(c.identity.domains.return_value[0],
                                                         is_enabled=False)

    def test_without_an_id_drills_that_may_still_run_are_left_alone(self):
        now = time.time()
        self.cps.put_restore('drill-run1', 'state', {'started_at': now})
        self.cps.put_restore('drill-dead', 'state', {'started_at': now - 3600})
        self.cps.put_restore('drill-kept', 'state', {'started_at': now, 'summary': {}})
        self.cps.put_restore('failover-x', 'state', {'started_at': now - 3600})
        out = drill.cleanup(self.plan)  # default: the restore timeout, 30 minutes
        self.assertEqual(['drill-dead', 'drill-kept'], sorted(out['cleaned']))
        self.assertEqual(['drill-run1'], out['skipped'])
        self.assertEqual(['drill-run1'], list(drill.cleanup(self.plan,
                                                            min_age_minutes=0)['cleaned']))
        self.assertIn('min_age_minutes: expected a number of minutes', str(self.assertRaises(
            drill.DrillError, drill.cleanup, self.plan, min_age_minutes=-1)))

    def test_a_bad_drill_id_is_refused_before_anything(self):
        err = self.assertRaises(drill.DrillError, drill.cleanup, self.plan, 'failover-x')
        self.assertIn('drill_id: expected "drill-" and 4 to 16', str(err))
        self.conn.identity.projects.assert_not_called()

    def test_drill_ids_from_execution_ids(self):
        self.assertEqual('drill-3f2a9c1b',
                         drill.drill_id_for('3F2A9C1B-77aa-4e3e-9a51-0123456789ab'))
        self.assertRaises(drill.DrillError, drill.drill_id_for, '--')


class TestProbes(base.BaseTestCase):

    def serve(self, status):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        return server.server_address[1]

    def test_tcp_and_http_probes(self):
        port = self.serve(200)
        self.assertIsNone(verify.probe('127.0.0.1', port, 'tcp'))
        self.assertIsNone(verify.probe('127.0.0.1', port, 'http', '/'))
        self.assertEqual('HTTP 503', verify.probe('127.0.0.1', self.serve(503), 'http'))
        closed = socket.socket()
        closed.bind(('127.0.0.1', 0))
        free = closed.getsockname()[1]
        closed.close()
        self.assertIn('refused', verify.probe('127.0.0.1', free, 'tcp').lower())

    def test_floating_address_first(self):
        server = types.SimpleNamespace(addresses={'front': [
            {'addr': '10.0.0.5', 'OS-EXT-IPS:type': 'fixed'},
            {'addr': '172.24.4.20', 'OS-EXT-IPS:type': 'floating'}]})
        self.assertEqual('172.24.4.20', verify.address_of(server))
        server.addresses['front'].pop()
        self.assertEqual('10.0.0.5', verify.address_of(server))
        self.assertIsNone(verify.address_of(types.SimpleNamespace(addresses={})))
