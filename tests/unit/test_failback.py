"""Reverse plans (reprotect) and what a restore going back uses again."""
import types
from unittest import mock

import fixtures
from oslotest import base

from actions import checkpoint
from actions import failback
from actions import plan as plan_mod
from actions import resources
from actions.replication import adapters
from tests.unit.test_sites import CloudsYamlFixture


class TestReversePlan(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop', 'project_id': 'a1b', 'tags': ['dr']},
                     'access': {'projects': ['f00']}, 'policy': 'gold',
                     'options': {'restore': {'networks': {'public': 'ext-b'},
                                             'flavors': {'m1.large': 'm1.small'},
                                             'replica_host': 'b@rep#pool'}}}

    def test_sites_swapped_and_mappings_inverted(self):
        reverse = failback.reverse_plan(self.plan)
        self.assertEqual(('shop-back', 'site-b', 'site-a'),
                         (reverse['name'], reverse['source'], reverse['target']))
        # The project by name (its ID at the target is another), granted to the same.
        self.assertEqual({'project': 'shop', 'tags': ['dr']}, reverse['scope'])
        self.assertEqual({'projects': ['f00']}, reverse['access'])
        self.assertEqual('gold', reverse['policy']['name'])
        self.assertEqual({'ext-b': 'public'}, reverse['options']['restore']['networks'])
        self.assertEqual({'m1.small': 'm1.large'}, reverse['options']['restore']['flavors'])
        self.assertNotIn('replica_host', reverse['options']['restore'])
        self.assertEqual(reverse, plan_mod.validate(reverse))

    def test_a_workload_restored_into_another_project_goes_back_into_its_own(self):
        self.plan['options']['restore']['project'] = 'shop-dr'
        reverse = failback.reverse_plan(self.plan)
        self.assertEqual('shop-dr', reverse['scope']['project'])
        self.assertEqual('shop', reverse['options']['restore']['project'])

    def test_replicated_volumes_of_the_newest_failover_replicate_back(self):
        root = self.useFixture(fixtures.TempDir()).path
        plan = plan_mod.validate(dict(self.plan, policy={
            'name': 'gold', 'replication': 'replication'}, options={
            'store': 'file://' + root, 'replication': {'adapter': 'lab'}}))
        cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')
        for cid, vols in (('20261130T100000Z-aaaaaa', {'v1': 'old'}),
                          ('20261130T110000Z-bbbbbb', {'v1': 'c1', 'v2': 'c2', 'v3': 'c3'})):
            cps.put_part(cid, 'data', {'volumes': {
                'v1': {'method': 'replication', 'replica': {'replica_id': 'r1'}},
                'v2': {'method': 'replication', 'replica': {'replica_id': 'r2'}},
                'v3': {'method': 'backup'}}})
            cps.put_restore('failover-' + cid, 'state', {'checkpoint_id': cid})
            cps.put_restore('failover-' + cid, 'idmap', {'volume': vols})
        cps.put_restore('drill-abcd', 'state', {'checkpoint_id': 'x'})
        adapter = mock.Mock(capabilities=(adapters.REVERSE,))
        adapter.reverse.side_effect = lambda replica, vid: {'replica_id': 'back-' + vid}
        self.useFixture(fixtures.MockPatch('actions.replication.adapters.load',
                                           lambda p: adapter))
        self.useFixture(fixtures.MockPatch('actions.sites.connect'))
        self.assertEqual({'c1': {'replica_id': 'back-c1'}, 'c2': {'replica_id': 'back-c2'}},
                         failback.reverse_replicas(plan))
        self.assertEqual([mock.call({'replica_id': 'r1'}, 'c1'),
                          mock.call({'replica_id': 'r2'}, 'c2')],
                         adapter.reverse.call_args_list)
        adapter.capabilities = ()  # this adapter cannot: the volumes go back whole
        self.assertEqual({}, failback.reverse_replicas(plan))

    def test_no_reverse_of_a_reverse_nor_a_name_too_long(self):
        err = self.assertRaises(plan_mod.PlanError, failback.reverse_plan,
                                failback.reverse_plan(self.plan))
        self.assertIn("'shop-back' is already a reverse plan: fail back with the plan it "
                      "reverses ('shop')", str(err))
        err = self.assertRaises(plan_mod.PlanError, failback.reverse_plan,
                                dict(self.plan, name='x' * 60))
        self.assertIn('too long to name its reverse plan (at most 58 characters)', str(err))


class TestOrigins(base.BaseTestCase):

    def test_a_restored_resource_names_its_origin_and_loses_old_restore_tags(self):
        doc = {'id': 'b-net', 'tags': ['blue', 'draas-src=a-net', 'draas-restore=failover-x']}
        self.assertEqual('a-net', resources.origin(doc))
        self.assertIsNone(resources.origin({'id': 'n', 'tags': ['blue']}))
        rc = types.SimpleNamespace(restore_id='failover-y')
        self.assertEqual(['blue', 'draas-src=b-net', 'draas-restore=failover-y'],
                         resources.restore_tags(rc, doc))

    def test_a_volume_restored_before_is_not_taken_for_filled(self):
        from actions.resources import block_storage
        doc = {'metadata': {'app': 'db', 'draas_source_id': 'a-v', 'draas_restore': 'x',
                            'draas_data': 'restored'}}
        self.assertEqual({'app': 'db'}, block_storage.own_metadata(doc))
