"""Discovery's selection, on a fake connection: what belongs to the workload and what not."""
from types import SimpleNamespace as R
from unittest import mock

from oslotest import base

from actions import discovery
from actions import resources


def res(**kw):
    """An openstacksdk-like resource: missing attributes read as None."""
    class Res(R):
        def __getattr__(self, name):
            return None
    return Res(**kw)


def fake_conn():
    c = mock.Mock(draas_mode='admin')
    project = res(id='p1', name='shop', domain_id='default')
    c.identity.find_project.return_value = project
    c.identity.domains.return_value = [res(id='default', name='Default'),
                                       res(id='d2', name='other')]
    c.compute.get_quota_set.return_value = res(instances=50, cores=-1, ram=1 << 20)
    c.block_storage.get_quota_set.return_value = res(volumes=20)
    c.network.get_quota.return_value = res(ports=500, networks=None)
    c.identity.users.return_value = [res(id='u1', name='alice'), res(id='u2', name='bob')]
    c.identity.role_assignments.return_value = [res(user={'id': 'u1'},
                                                    role={'id': 'r1', 'name': 'member'})]
    c.identity.groups.return_value = [res(id='gr1', name='ops', domain_id='d2'),
                                      res(id='gr2', name='idle', domain_id='default')]
    c.identity.group_users.return_value = []
    c.compute.servers.return_value = [
        res(id='s1', name='web', flavor={'original_name': 'small'}, image={'id': 'i1'},
            key_name='k', user_id='u1', attached_volumes=[{'id': 'v1'}]),
        res(id='s2', name='other', flavor={'original_name': 'big'}, image={'id': 'i2'},
            user_id='u1', attached_volumes=[])]
    c.compute.flavors.return_value = [res(id='f1', name='small'), res(id='f2', name='big')]
    c.compute.keypairs.return_value = [res(id='k', name='k', public_key='ssh-ed25519 A')]
    c.compute.server_groups.return_value = [res(id='g1', name='g', member_ids=['s1']),
                                            res(id='g2', name='h', member_ids=['s9'])]
    c.image.images.return_value = [res(id='i1', name='img'), res(id='i2', name='img2')]
    c.block_storage.types.return_value = [res(id='t1', name='fast'), res(id='t2', name='x')]
    c.block_storage.volumes.return_value = [
        res(id='v1', volume_type='fast', attachments=[{'server_id': 's1', 'device': '/dev/vdb'}]),
        res(id='v2', volume_type='x', attachments=[{'server_id': 's2'}])]
    c.network.networks.side_effect = lambda **q: {
        'project_id': [res(id='n1', name='front'), res(id='n2', name='unused')],
        'is_router_external': [res(id='ext', name='public', is_router_external=True)],
        'is_shared': []}[list(q)[0]]
    c.network.subnets.return_value = [res(id='sn1', network_id='n1'),
                                      res(id='sn2', network_id='n2')]
    c.network.ports.return_value = [
        res(id='port1', device_id='s1', network_id='n1', security_group_ids=['sg1'],
            fixed_ips=[{'subnet_id': 'sn1', 'ip_address': '10.0.0.5'}]),
        res(id='port2', device_id='s2', network_id='n2', security_group_ids=['sg3'],
            fixed_ips=[{'subnet_id': 'sn2', 'ip_address': '10.1.0.5'}]),
        res(id='rport', device_id='rt1', device_owner='network:router_interface',
            network_id='n1', fixed_ips=[{'subnet_id': 'sn1', 'ip_address': '10.0.0.1'}])]
    c.network.routers.return_value = [
        res(id='rt1', name='r', external_gateway_info={'network_id': 'ext'}),
        res(id='rt2', name='r2')]
    c.network.security_groups.return_value = [
        res(id='sg1', name='web', security_group_rules=[{'remote_group_id': 'sg2'}]),
        res(id='sg2', name='db', security_group_rules=[]),
        res(id='sg3', name='other', security_group_rules=[])]
    c.network.ips.return_value = [res(id='fip1', port_id='port1', floating_network_id='ext'),
                                  res(id='fip2', port_id='port2', floating_network_id='ext'),
                                  res(id='fip3', floating_network_id='ext')]
    return c


class TestDiscovery(base.BaseTestCase):

    def discover(self, servers=None, **scope):
        scope = dict(scope, project='shop')
        if servers:
            scope['servers'] = servers
        return discovery.discover(self.conn, {'scope': scope, 'source': 'site-a',
                                              'options': {}})

    def setUp(self):
        super().setUp()
        self.conn = fake_conn()

    def ids(self, wl, kind):
        return sorted(wl.resources.get(kind, {}))

    def test_selects_what_the_chosen_servers_use(self):
        wl = self.discover(servers=['web'])
        self.assertEqual(['s1'], self.ids(wl, 'server'))
        self.assertEqual(['port1'], self.ids(wl, 'port'))
        self.assertEqual(['ext', 'n1'], self.ids(wl, 'network'))
        self.assertEqual(['sn1'], self.ids(wl, 'subnet'))
        self.assertEqual(['rt1'], self.ids(wl, 'router'))
        self.assertEqual(['sg1', 'sg2'], self.ids(wl, 'security_group'))  # remote group too
        self.assertEqual(['fip1'], self.ids(wl, 'floating_ip'))
        self.assertEqual(['v1'], self.ids(wl, 'volume'))
        self.assertEqual(['t1'], self.ids(wl, 'volume_type'))
        self.assertEqual(['f1'], self.ids(wl, 'flavor'))
        self.assertEqual(['g1'], self.ids(wl, 'server_group'))
        self.assertEqual(['k'], self.ids(wl, 'keypair'))
        self.assertEqual(['u1'], self.ids(wl, 'user'))
        server = wl.resources['server']['s1']
        self.assertEqual(['port1'], server['port_ids'])
        self.assertEqual('g1', server['server_group_id'])
        self.assertEqual('f1', server['flavor_id'])
        router = wl.resources['router']['rt1']
        self.assertEqual([{'port_id': 'rport', 'subnet_id': 'sn1', 'ip_address': '10.0.0.1'}],
                         router['interfaces'])
        self.assertEqual('ext', router['gateway_network_id'])
        # the project takes its quota limits along (one GET per service)
        self.assertEqual({'compute': {'instances': 50, 'cores': -1, 'ram': 1 << 20},
                          'block_storage': {'volumes': 20}, 'network': {'ports': 500}},
                         wl.resources['project']['p1']['quotas'])
        self.conn.compute.get_quota_set.assert_called_once_with('p1')

    def member(self):
        """The connection as a member's of project shop (user u1)."""
        self.conn.draas_mode = 'member'
        self.conn.current_project_id, self.conn.current_user_id = 'p1', 'u1'
        self.conn.identity.get_project.return_value = res(id='p1', name='shop',
                                                          domain_id='default')
        self.conn.identity.find_project.side_effect = AssertionError('admins only')

    def test_a_member_reads_its_own_project_and_no_keystone_list(self):
        self.member()
        wl = self.discover()
        self.assertEqual(['p1'], self.ids(wl, 'project'))
        self.assertEqual(['s1', 's2'], self.ids(wl, 'server'))
        self.assertEqual(['k'], self.ids(wl, 'keypair'))
        self.assertEqual(['domain', 'group', 'role_assignment', 'user'], sorted(wl.skipped))
        for kind in wl.skipped:
            self.assertEqual([], self.ids(wl, kind))
        for call in ('users', 'groups', 'role_assignments', 'domains', 'group_users'):
            getattr(self.conn.identity, call).assert_not_called()
        # Nova refuses all_projects to a member: its list holds its project alone.
        self.conn.compute.servers.assert_called_once_with(details=True)
        self.conn.compute.keypairs.assert_called_once_with(user_id='u1')
        self.assertEqual('member', wl.mode)

    def test_a_member_of_another_project_is_refused_naming_its_own(self):
        self.member()
        self.conn.identity.get_project.return_value = res(id='p7', name='demo')
        exc = self.assertRaises(discovery.DiscoveryError, self.discover)
        self.assertEqual("scope.project: 'shop' is not the project of site-a, whose "
                         "credentials are a member's of project 'demo' (p7) and see no "
                         "other: give that project, or an entry of 'shop'", str(exc))

    def test_a_member_cannot_read_the_keypair_of_another_user(self):
        self.member()
        self.conn.current_user_id = 'u5'
        exc = self.assertRaises(Exception, self.discover)
        self.assertIn('a server of the scope has a keypair of user u1: Nova shows a keypair '
                      'to its user and to admins only', str(exc))
        self.conn.compute.keypairs.assert_not_called()

    def test_users_of_other_domains_with_a_role_come_with_their_domain(self):
        c = self.conn
        c.identity.role_assignments.return_value = [
            res(user={'id': 'u1'}, role={'id': 'r1', 'name': 'member'}),
            res(user={'id': 'u9', 'domain': {'id': 'd2'}}, role={'id': 'r1', 'name': 'admin'})]
        c.identity.users.side_effect = lambda domain_id: {
            'd2': [res(id='u9', name='root', domain_id='d2')]}.get(
                domain_id, [res(id='u1', name='alice', domain_id='default')])
        wl = self.discover()
        self.assertEqual(['u1', 'u9'], sorted(wl.resources['user']))
        self.assertEqual(['d2', 'default'], sorted(wl.resources['domain']))

    def two_users_keys(self, bob_key):
        c = self.conn
        web, other = c.compute.servers.return_value
        other.key_name, other.user_id = 'k', 'u2'
        c.compute.keypairs.side_effect = lambda user_id: {
            'u1': [res(id='k', name='k', public_key='ssh-ed25519 A')],
            'u2': [res(id='k', name='k', public_key=bob_key),
                   res(id='k2', name='unused', public_key='ssh-ed25519 C')]}[user_id]
        return self.discover()

    def test_keys_of_one_name_of_two_users_are_kept_apart(self):
        wl = self.two_users_keys('ssh-ed25519 B')
        self.assertEqual(['k@u1', 'k@u2'], self.ids(wl, 'keypair'))
        self.assertEqual({'s1': 'k@u1', 's2': 'k@u2'}, {
            sid: doc['key_name'] for sid, doc in wl.resources['server'].items()})
        self.assertEqual(['k'], self.ids(self.two_users_keys('ssh-ed25519 A'), 'keypair'))

    def test_addresses_on_no_port_come_with_the_whole_project_only(self):
        self.assertEqual(['fip1', 'fip2', 'fip3'], self.ids(self.discover(), 'floating_ip'))
        self.assertEqual(['fip1'], self.ids(self.discover(servers=['web']), 'floating_ip'))

    def test_groups_with_a_role_come_with_their_members_and_domain(self):
        c = self.conn
        c.identity.role_assignments.return_value = [
            res(user={'id': 'u1'}, role={'id': 'r1', 'name': 'member'}),
            res(group={'id': 'gr1'}, role={'id': 'r2', 'name': 'reader'})]
        c.identity.group_users.side_effect = lambda g: {
            'gr1': [res(id='u7', name='carol', domain_id='default')]}[g]
        wl = self.discover()
        self.assertEqual(['gr1'], sorted(wl.resources['group']))
        self.assertEqual(['u7'], wl.resources['group']['gr1']['user_ids'])
        self.assertEqual(['u1', 'u7'], sorted(wl.resources['user']))  # carol: by the group
        self.assertEqual(['d2', 'default'], sorted(wl.resources['domain']))
        assignment = wl.resources['role_assignment']['gr1:r2:p1']
        self.assertEqual((None, 'gr1', 'reader'), (assignment['user_id'],
                                                   assignment['group_id'],
                                                   assignment['role_name']))

    def test_every_reference_resolves_inside_the_workload(self):
        wl = self.discover()
        kinds = resources.all_kinds()
        for kind, docs in wl.to_dict().items():
            for doc in docs:
                for ref_kind, ref in kinds[kind].references(doc):
                    self.assertIn(ref, wl.resources.get(ref_kind, {}), (kind, doc['id']))

    def test_one_list_call_per_kind_whatever_the_size(self):
        self.discover()
        self.conn.network.ports.assert_called_once_with(project_id='p1')
        self.conn.compute.servers.assert_called_once_with(details=True, all_projects=True,
                                                          project_id='p1')
        self.conn.image.images.assert_called_once_with(id='in:i1,i2')

    def test_tags_are_a_server_side_filter(self):
        self.discover(tags=['dr', 'prod'])
        self.conn.compute.servers.assert_called_once_with(
            details=True, all_projects=True, project_id='p1', tags='dr,prod')

    def test_unknown_server_and_empty_scope_are_errors(self):
        exc = self.assertRaises(discovery.DiscoveryError, self.discover,
                                servers=['web', 'nope'])
        self.assertEqual("scope.servers: no server 'nope' in the project", str(exc))
        self.conn.compute.servers.return_value = []
        exc = self.assertRaises(discovery.DiscoveryError, self.discover)
        self.assertIn('scope matches no server (project shop', str(exc))
        self.conn.identity.find_project.return_value = None
        exc = self.assertRaises(discovery.DiscoveryError, self.discover)
        self.assertEqual("scope.project: no project 'shop' on site-a", str(exc))

    def test_no_secret_fields_are_kept(self):
        self.conn.compute.servers.return_value[0].user_data = 'cGFzc3dvcmQ='
        self.conn.compute.servers.return_value[0].admin_password = 'pw'
        self.conn.compute.keypairs.return_value[0].private_key = 'PRIVATE KEY'
        text = repr(self.discover().to_dict())
        for secret in ('cGFzc3dvcmQ=', "'pw'", 'PRIVATE KEY'):
            self.assertNotIn(secret, text)

    def test_dangling_reference_is_refused(self):
        self.conn.image.images.return_value = [res(id='i1', name='img')]  # i2 was deleted
        exc = self.assertRaises(discovery.DiscoveryError, self.discover)
        self.assertEqual('the workload refers to resources missing on site-a: server s2 '
                         'refers to image i2', str(exc))
