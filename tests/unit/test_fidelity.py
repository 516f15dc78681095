"""The fidelity report: what a restore changes on purpose is not a difference, the rest is."""
import copy
import types

from oslotest import base

from actions import fidelity
from actions import plan

CHECKPOINT = {
    'network': [{'id': 'n1', 'name': 'front', 'mtu': 1400, 'description': 'web tier',
                 'is_admin_state_up': True, 'is_port_security_enabled': True,
                 'tags': ['prod'], 'project_id': 'p1'}],
    'subnet': [{'id': 'sn1', 'name': 'front-v4', 'network_id': 'n1', 'cidr': '10.1.0.0/24',
                'ip_version': 4, 'gateway_ip': '10.1.0.1', 'host_routes': [
                    {'destination': '10.9.0.0/24', 'nexthop': '10.1.0.9'}],
                'is_dhcp_enabled': False, 'tags': []}],
    'port': [{'id': 'pt1', 'name': 'web-0', 'network_id': 'n1', 'subnet_ids': ['sn1'],
              'fixed_ips': [{'subnet_id': 'sn1', 'ip_address': '10.1.0.5'}],
              'mac_address': 'fa:16:3e:00:00:01', 'security_group_ids': [],
              'allowed_address_pairs': [{'ip_address': '10.1.0.100'}], 'tags': []}],
}
# The same workload restored: new IDs, draas' tags, another MAC (not kept by default).
RESTORED = {
    'network': [dict(CHECKPOINT['network'][0], id='N1', project_id='P1',
                     tags=['prod', 'draas-src=n1', 'draas-restore=failover-x'])],
    'subnet': [dict(CHECKPOINT['subnet'][0], id='SN1', network_id='N1',
                    tags=['draas-src=sn1', 'draas-restore=failover-x'])],
    'port': [dict(CHECKPOINT['port'][0], id='PT1', network_id='N1', subnet_ids=['SN1'],
                  fixed_ips=[{'subnet_id': 'SN1', 'ip_address': '10.1.0.5'}],
                  mac_address='fa:16:3e:99:99:99',
                  tags=['draas-src=pt1', 'draas-restore=failover-x'])],
}
IDMAP = {'network': {'n1': 'N1'}, 'subnet': {'sn1': 'SN1'}, 'port': {'pt1': 'PT1'}}


def restore(drill=False, **options):
    suffix = '-drill-x' if drill else ''
    r = types.SimpleNamespace(
        docs=lambda kind: CHECKPOINT.get(kind, []), idmap=IDMAP, drill=drill,
        drill_network=None, options=dict(plan.DEFAULT_RESTORE, **options),
        plan={'options': {}}, name=lambda n: n + suffix if n else n,
        is_external=lambda net: False, member=False)
    r.makes = lambda kind: kind.in_restore(r)
    return r


class TestCompare(base.BaseTestCase):

    def test_a_faithful_restore_has_no_difference(self):
        out = fidelity.compare(restore(), RESTORED)
        self.assertEqual([], out['differences'])
        self.assertEqual(3, out['resources'])
        self.assertGreater(out['fields'], 15)

    def test_every_field_that_differs_is_named_with_both_values(self):
        restored = copy.deepcopy(RESTORED)
        restored['network'][0]['mtu'] = 1500
        restored['subnet'][0]['host_routes'] = []
        restored['port'][0]['fixed_ips'][0]['ip_address'] = '10.1.0.77'
        del restored['port'][0]
        out = fidelity.compare(restore(), restored)
        self.assertEqual(['network front: mtu is 1400 in the checkpoint, 1500 restored',
                          "port web-0: not found in the restored project (PT1)",
                          "subnet front-v4: host_routes is [{'destination': '10.9.0.0/24', "
                          "'nexthop': '10.1.0.9'}] in the checkpoint, [] restored"],
                         sorted(out['differences']))

    def test_what_the_plan_changes_on_purpose_is_no_difference(self):
        restored = copy.deepcopy(RESTORED)
        restored['network'][0]['mtu'] = 1300
        restored['port'][0]['fixed_ips'][0]['ip_address'] = '10.1.0.77'
        out = fidelity.compare(restore(mtu={'1400': 1300}, keep_fixed_ips=False), restored)
        self.assertEqual([], out['differences'])
        # ... but a MAC address the plan keeps must be the same
        out = fidelity.compare(restore(keep_mac_addresses=True), RESTORED)
        self.assertEqual(["port web-0: mac_address is 'fa:16:3e:00:00:01' in the "
                          "checkpoint, 'fa:16:3e:99:99:99' restored"], out['differences'])

    def test_a_drills_names_carry_its_suffix(self):
        restored = copy.deepcopy(RESTORED)
        for docs in restored.values():
            for doc in docs:
                doc['name'] += '-drill-x'
        self.assertEqual([], fidelity.compare(restore(drill=True), restored)['differences'])
        self.assertEqual(3, len(fidelity.compare(restore(drill=True),
                                                 RESTORED)['differences']))
