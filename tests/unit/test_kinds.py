"""Each kind's declaration of its attributes is whole, and is what its restore does: every
attribute of the openstacksdk resource is restored, kept for information or dropped (with a
reason), and every restored field reaches the call that makes the copy."""
import copy
from unittest import mock

from oslotest import base

from actions import plan
from actions import resources

# A value for a field of a document, where "some text" would not do.
SAMPLES = {
    'fixed_ips': [{'subnet_id': 'sn1', 'ip_address': '10.0.0.5'}],
    'extra_dhcp_opts': [{'opt_name': 'mtu', 'opt_value': '1400', 'ip_version': 4}],
    'binding_vnic_type': 'direct', 'is_port_security_enabled': True, 'mtu': 1400,
    'is_public': False, 'tags': ['t1'], 'metadata': {'k': 'v'}, 'extra_specs': {'k': 'v'},
    'boot_volume_id': None, 'quotas': {},
    'vcpus': 2, 'ram': 512, 'disk': 1, 'ephemeral': 1, 'swap': 512, 'size': 1,
}


def sample_doc(kind):
    """A document of `kind` giving every restored field a value."""
    doc = {'id': 'src-1', 'name': 'x'}
    for field in kind.restores:
        if field.name in SAMPLES:
            doc[field.name] = copy.deepcopy(SAMPLES[field.name])
        elif field.ref or field.name.endswith('_ids'):
            doc[field.name] = ['src-2'] if field.name.endswith('_ids') else 'src-2'
        else:
            doc[field.name] = 'value-of-' + field.name
    return doc


def fake_restore():
    """A restore context whose calls are recorded (rc.conn and rc.admin are mocks)."""
    rc = mock.MagicMock(member=False)
    rc.name = lambda name: name
    rc.map = lambda kind, source_id: 'copy-of-' + source_id
    rc.options = dict(plan.DEFAULT_RESTORE, keep_mac_addresses=True, keep_floating_ips=True,
                      create_volume_types=True)
    rc.drill = False
    rc.restore_id = 'failover-1'
    rc.network_has = lambda alias: True
    rc.is_external = lambda doc: False
    rc.idmap = {'project': {'src-2': 'p'}}
    rc.data = {'volumes': {'src-1': {'method': 'image', 'image_id': 'img'}}}
    return rc


def create_call(rc, kind):
    """The kwargs of the call that made the copy (the only create_* call of its service)."""
    calls = [c for c in rc.mock_calls if c[0].split('.')[-1].startswith('create_')
             and c[0].split('.')[-2] == kind.service and '_extra_specs' not in c[0]]
    assert len(calls) == 1, calls
    return calls[0].kwargs


class TestDeclarations(base.BaseTestCase):

    def test_every_attribute_of_every_kind_is_declared_once_with_a_reason(self):
        for kind in resources.all_kinds().values():
            restored = [f.name for f in kind.restores]
            self.assertEqual(len(restored), len(set(restored)), kind.name)
            for one, other in ((restored, kind.keeps), (restored, kind.drops),
                               (kind.keeps, kind.drops)):
                self.assertEqual(set(), set(one) & set(other), kind.name)
            for name, reason in list(kind.keeps.items()) + list(kind.drops.items()):
                self.assertTrue(isinstance(reason, str) and reason, (kind.name, name))
            if kind.sdk is None:
                continue
            attributes = set(resources.sdk_attributes(kind.sdk)) - {'id'}
            declared = set(restored) | set(kind.keeps) | set(kind.drops)
            self.assertEqual(set(), attributes - declared,
                             '%s: attributes of %s declared nowhere' % (
                                 kind.name, kind.sdk.__name__))
            # What is not an attribute is computed, and the table says so.
            for field in kind.restores:
                if field.name not in attributes:
                    self.assertTrue(field.how.startswith('(computed'),
                                    (kind.name, field.name))

    def test_secrets_are_dropped(self):
        kinds = resources.all_kinds()
        for kind, name in (('server', 'admin_password'), ('keypair', 'private_key'),
                           ('user', 'password')):
            self.assertIn(name, kinds[kind].drops)
            self.assertNotIn(name, kinds[kind].fields)

    def test_every_restored_field_reaches_the_create_call(self):
        checked = []
        for kind in resources.all_kinds().values():
            if kind.name in ('image', 'role_assignment'):
                continue  # copied by the checkpoint (test_replication); one role by name
            rc = fake_restore()
            rc.admin.identity.find_user.return_value = None
            kind.restore(rc, sample_doc(kind), None)
            kwargs = create_call(rc, kind)
            for field in kind.restores:
                if field.arg:
                    self.assertIn(field.arg, kwargs, '%s.%s' % (kind.name, field.name))
            checked.append(kind.name)
        self.assertEqual(16, len(checked), checked)

    def test_references_are_mapped_to_the_copies(self):
        rc = fake_restore()
        port = resources.all_kinds()['port']
        port.restore(rc, sample_doc(port), None)
        kwargs = create_call(rc, port)
        self.assertEqual('copy-of-src-2', kwargs['network_id'])
        self.assertEqual(['copy-of-src-2'], kwargs['security_group_ids'])
        self.assertEqual([{'subnet_id': 'copy-of-sn1', 'ip_address': '10.0.0.5'}],
                         kwargs['fixed_ips'])


class TestPlanMappings(base.BaseTestCase):

    def test_an_mtu_is_mapped_and_zero_leaves_the_targets(self):
        network = resources.all_kinds()['network']
        for mapping, want in (({}, 1400), ({'1400': 1300}, 1300), ({'1400': 0}, None)):
            rc = fake_restore()
            rc.options['mtu'] = mapping
            network.restore(rc, sample_doc(network), None)
            self.assertEqual(want, create_call(rc, network).get('mtu'), mapping)


class TestFloatingIPAddress(base.BaseTestCase):
    """A floating IP forwards to the same address of its port's copy: kept, or the one
    at the same place on the subnet when the plan lets the target choose addresses."""

    def restore(self, keep):
        rc = fake_restore()
        rc.options['keep_fixed_ips'] = keep
        rc.docs.return_value = []  # no IPv6 subnet
        rc.doc = lambda kind, source_id: {'id': source_id, 'fixed_ips': [
            {'subnet_id': 'sn1', 'ip_address': '10.0.0.5'},
            {'subnet_id': 'sn2', 'ip_address': '10.1.0.5'},
            {'subnet_id': 'sn1', 'ip_address': '10.0.0.6'}]}
        rc.conn.network.get_port.return_value = mock.Mock(fixed_ips=[
            {'subnet_id': 'copy-of-sn1', 'ip_address': '10.9.0.7'},
            {'subnet_id': 'copy-of-sn2', 'ip_address': '10.8.0.7'},
            {'subnet_id': 'copy-of-sn1', 'ip_address': '10.9.0.8'}])
        fip = resources.all_kinds()['floating_ip']
        fip.restore(rc, {'id': 'f1', 'port_id': 'port1', 'floating_network_id': 'ext',
                         'fixed_ip_address': '10.0.0.6'}, None)
        return rc, create_call(rc, fip)['fixed_ip_address']

    def test_the_second_address_of_a_port_stays_the_one_forwarded_to(self):
        rc, address = self.restore(keep=True)
        self.assertEqual('10.0.0.6', address)
        rc.conn.network.get_port.assert_not_called()
        rc, address = self.restore(keep=False)
        self.assertEqual('10.9.0.8', address)
        rc.conn.network.get_port.assert_called_once_with('copy-of-port1')


class TestGroupMembers(base.BaseTestCase):
    """Users join a group of the target only when it gives them nothing beyond the
    restored project."""

    def restore(self, scope_project):
        rc = fake_restore()
        rc.project_id = 'p'
        rc.admin.identity.role_assignments.return_value = [
            mock.Mock(scope={'project': {'id': scope_project}})]
        rc.admin.identity.group_users.return_value = []
        group = resources.all_kinds()['group']
        group.restore(rc, {'id': 'g', 'name': 'ops', 'domain_id': 'd', 'user_ids': ['u1']},
                      'target-g')
        return rc.admin.identity.add_user_to_group

    def test_a_group_with_roles_elsewhere_gets_no_members(self):
        self.restore('p').assert_called_once_with('copy-of-u1', 'target-g')
        self.restore('another').assert_not_called()


class TestUsersByDomain(base.BaseTestCase):
    """A user is found again by name within its own domain, never in another one."""

    def test_a_same_named_user_of_another_domain_is_not_taken(self):
        rc = fake_restore()
        rc.domain = {'src-d1': 'd1', 'src-d2': 'd2'}.get
        rc.docs = lambda kind: [{'id': 'u1', 'name': 'ann', 'domain_id': 'src-d1'},
                                {'id': 'u2', 'name': 'bob', 'domain_id': 'src-d2'}]
        users = {'d1': [mock.Mock(id='t-ann', domain_id='d1')],
                 'd2': [mock.Mock(id='t-ann-of-d2', domain_id='d2')]}
        for members in users.values():
            members[0].name = 'ann'
        rc.admin.identity.users.side_effect = lambda domain_id: users[domain_id]
        self.assertEqual({'u1': 't-ann'}, resources.all_kinds()['user'].restored(rc))
