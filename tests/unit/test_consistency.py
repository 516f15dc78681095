"""Consistency a checkpoint names per server (actions/replication/consistency.py) and the
plan's hook workflows, checked before a checkpoint starts (actions/hooks.py)."""
import json
import types
from unittest import mock

from oslotest import base

from actions import hooks
from actions.replication import consistency
from actions.replication import quiesce


def srv(name, volume_ids=(), status='ACTIVE'):
    return {'id': 'id-' + name, 'name': name, 'volume_ids': list(volume_ids),
            'status': status}


class TestLevels(base.BaseTestCase):

    def levels(self, servers, volume_ids, roots, hooks_ran=False, method='backup',
               group_of=None):
        out = consistency.levels(servers, set(volume_ids), roots, hooks_ran, method,
                                 group_of)
        return out['level'], {s['name']: s['level'] for s in out['servers'].values()}

    def test_each_server_gets_what_it_got(self):
        roots = {'id-web': {'mode': 'snapshot', 'quiesced': False},
                 'id-agent': {'mode': 'snapshot', 'quiesced': True},
                 'id-cache': {'mode': 'base_image'},
                 'id-app': {'mode': 'snapshot', 'quiesced': True}}
        servers = [srv('web'), srv('agent'), srv('cache'), srv('db', ['v1', 'v2']),
                   srv('app', ['v3']), srv('lone', ['v4']), srv('off', ['v5', 'v6'], 'SHUTOFF')]
        plan, by_server = self.levels(servers, ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'], roots)
        self.assertEqual({'web': 'crash-consistent', 'agent': 'application-consistent',
                          'cache': 'stateless', 'db': 'per-volume',
                          # quiesced root disk, its volume snapshotted apart
                          'app': 'per-volume', 'lone': 'crash-consistent',
                          'off': 'crash-consistent'}, by_server)
        self.assertEqual('per-volume', plan)  # the weakest server's

    def test_hooks_make_every_server_with_a_disk_application_consistent(self):
        plan, by_server = self.levels([srv('db', ['v1', 'v2']), srv('cache')], ['v1', 'v2'],
                                      {'id-cache': {'mode': 'base_image'}}, hooks_ran=True)
        self.assertEqual(('application-consistent', {
            'db': 'application-consistent', 'cache': 'stateless'}), (plan, by_server))

    def test_a_group_snapshot_holding_all_of_a_server_s_disks(self):
        roots = {'id-app': {'mode': 'snapshot'}}
        plan, by_server = self.levels(
            [srv('db', ['v1', 'v2']), srv('app', ['v3', 'v4']), srv('half', ['v5', 'v6'])],
            ['v%d' % i for i in range(1, 7)], roots,
            group_of={'v1': 'gs1', 'v2': 'gs1', 'v3': 'gs1', 'v4': 'gs1', 'v5': 'gs1'})
        self.assertEqual({'db': 'crash-consistent-group',
                          'app': 'per-volume',  # its root disk is not in the group
                          'half': 'per-volume'}, by_server)
        self.assertEqual('per-volume', plan)

    def test_a_volume_backed_server_nova_quiesced(self):
        out = consistency.levels([srv('db', ['v1', 'v2'])], {'v1', 'v2'}, {}, False,
                                 'backup', quiesced={'id-db'})
        self.assertEqual(('application-consistent', 'Nova quiesced the guest (guest agent) '
                          'and snapshotted its 2 volumes'), (
                              out['servers']['id-db']['level'], out['servers']['id-db']['how']))

    def test_volumes_of_no_server_and_replicated_volumes(self):
        self.assertEqual(('per-volume', {}), self.levels([], ['v1', 'v2'], {}))
        self.assertEqual(('crash-consistent', {}), self.levels([], ['v1'], {}))
        self.assertEqual(('crash-consistent-group', {}), self.levels(
            [], ['v1', 'v2'], {}, group_of={'v1': 'gs', 'v2': 'gs'}))
        self.assertEqual(('stateless', {}), self.levels([], [], {}))
        self.assertEqual(('backend-replication', {'db': 'backend-replication'}),
                         self.levels([srv('db', ['v1'])], ['v1'], {}, method='replication'))


def workflow(*inputs):
    """As python-mistralclient gives it: its interface is JSON text."""
    return types.SimpleNamespace(interface=json.dumps({'input': list(inputs)}))


class TestHooks(base.BaseTestCase):
    WORKFLOWS = {'db.flush': workflow('host', {'port': 22}, 'checkpoint_id'),
                 'db.thaw': workflow('host')}

    def plan(self, **given):
        return {'name': 'shop', 'options': {'hooks': given}}

    def check(self, plan, checkpoint_id='cp1'):
        return hooks.check(self.WORKFLOWS.get, plan, checkpoint_id)

    def test_inputs_are_checked_and_the_run_s_filled_in(self):
        self.assertEqual({
            'pre': {'workflow': 'db.flush', 'input': {'host': 'h', 'checkpoint_id': 'cp1'}},
            'post': {'workflow': 'db.thaw', 'input': {'host': 'h'}},
            'freeze_seconds': hooks.DEFAULT_FREEZE_SECONDS}, self.check(self.plan(
                pre={'workflow': 'db.flush', 'input': {'host': 'h'}},
                post={'workflow': 'db.thaw', 'input': {'host': 'h'}})))
        self.assertIsNone(self.check({'name': 'shop', 'options': {}}))

    def test_a_missing_workflow_or_other_inputs_are_named(self):
        err = self.assertRaises(hooks.HookError, self.check, self.plan(
            pre={'workflow': 'db.flsh'},
            post={'workflow': 'db.thaw', 'input': {'hots': 'h'}}))
        self.assertEqual(
            "plan 'shop': pre-hook: there is no Mistral workflow 'db.flsh' (openstack "
            "workflow list); post-hook workflow 'db.thaw' takes inputs host; not hots; "
            "missing host", str(err))

    def test_a_name_of_the_checkpoint_workbook_is_refused(self):
        err = self.assertRaises(hooks.HookError, self.check, self.plan(
            post={'workflow': 'create'}))
        self.assertIn("post-hook: a workflow named 'create' would run draas.checkpoint."
                      "create", str(err))

    def test_a_secret_in_a_hook_s_input_is_refused(self):
        err = self.assertRaises(hooks.HookError, self.check, self.plan(
            pre={'workflow': 'db.flush', 'input': {'host': 'h', 'DB_Password': 'x'}}))
        self.assertIn("pre-hook 'db.flush': input DB_Password may hold a secret", str(err))


class TestQuiescedByNova(base.BaseTestCase):

    def test_running_volume_backed_servers_whose_image_asks_for_the_agent(self):
        vols = [{'id': 'b1', 'volume_image_metadata': {'hw_qemu_guest_agent': 'yes'}},
                {'id': 'd1'}, {'id': 'b2', 'volume_image_metadata': {}},
                {'id': 'b3', 'volume_image_metadata': {'hw_qemu_guest_agent': 'True'}}]
        servers = [dict(srv('db', ['b1', 'd1']), boot_volume_id='b1'),
                   dict(srv('plain', ['b2']), boot_volume_id='b2'),
                   dict(srv('off', ['b3']), boot_volume_id='b3', status='SHUTOFF'),
                   dict(srv('partial', ['b3', 'elsewhere']), boot_volume_id='b3'),
                   srv('image-booted', ['d1'])]
        self.assertEqual(['db'], [s['name'] for s in quiesce.candidates(servers, vols)])

    def test_the_snapshots_nova_made_are_read_from_its_image(self):
        source = mock.Mock()
        source.image.get.return_value.json.return_value = {
            'block_device_mapping': json.dumps([{'snapshot_id': 's1', 'boot_index': 0},
                                                {'snapshot_id': 's2'}, {'no': 'snapshot'}])}
        source.block_storage.get_snapshot.side_effect = lambda sid: mock.Mock(
            id=sid, volume_id='v-' + sid)
        self.assertEqual({'v-s1': 's1', 'v-s2': 's2'}, quiesce.snapshots(source, ['img']))
        source.image.get.assert_called_once_with('/images/img')
