"""Root disks of servers booted from an image (actions/replication/root_disks.py) and what a
restore says of them."""
import copy
import types
from unittest import mock

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions
from oslotest import base

from actions import restore
from actions.replication import root_disks
from tests.unit import test_restore

PLAN = {'name': 'shop', 'options': {'root_disk': 'snapshot', 'root_disks': {}}}


def server(name, **doc):
    return dict({'id': 'id-' + name, 'name': name, 'image_id': 'i1', 'tags': []}, **doc)


class TestWhichRootDisks(base.BaseTestCase):

    def test_the_plan_then_the_server_s_tag_then_the_plan_s_default(self):
        plan = copy.deepcopy(PLAN)
        self.assertEqual('snapshot', root_disks.mode(plan, server('web')))
        plan['options']['root_disk'] = 'base_image'
        self.assertEqual('base_image', root_disks.mode(plan, server('web')))
        tagged = server('web', tags=['draas-root-disk=snapshot'])
        self.assertEqual('snapshot', root_disks.mode(plan, tagged))
        plan['options']['root_disks'] = {'web': 'base_image'}
        self.assertEqual('base_image', root_disks.mode(plan, tagged))
        # a tag of another value is not a mode: the plan's default
        self.assertEqual('snapshot', root_disks.mode(
            PLAN, server('x', tags=['draas-root-disk=maybe'])))

    def test_volume_backed_servers_have_no_root_disk_here(self):
        self.assertIsNone(root_disks.mode(PLAN, server('db', boot_volume_id='v1')))
        self.assertIsNone(root_disks.mode(PLAN, server('db', image_id=None)))


class TestSnapshots(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.source = mock.MagicMock(draas_mode='admin')
        self.source.compute.create_server_image.side_effect = (
            lambda sid, **kw: types.SimpleNamespace(id='snap-' + sid))
        self.source.compute.get_server.return_value = types.SimpleNamespace(
            task_state=None, updated_at='2026-11-30T05:00:00Z')
        self.source.image.get_image.side_effect = lambda image_id: types.SimpleNamespace(
            id=image_id, name='n', disk_format='raw', container_format='bare', min_disk=1,
            min_ram=0, tags=[], hash_algo='sha512', hash_value='h-' + image_id,
            status='active',
            properties={'hw_qemu_guest_agent': 'yes'} if 'agent' in image_id else {})

    def test_each_snapshot_is_copied_then_deleted_at_the_source(self):
        servers = [server('web'), server('agent'), server('cache'),
                   server('db', boot_volume_id='v')]
        plan = dict(PLAN, options=dict(PLAN['options'], root_disks={'cache': 'base_image'}))
        made = root_disks.start(self.source, [s for s in servers if root_disks.mode(
            plan, s) == 'snapshot'], 'cp1', {})
        self.assertEqual({'id-web': 'snap-id-web', 'id-agent': 'snap-id-agent'}, made)
        self.assertEqual({'draas_checkpoint': 'cp1'},
                         self.source.compute.create_server_image.call_args.kwargs['metadata'])
        with mock.patch.object(root_disks.images_mod, 'copy_image', side_effect=(
                lambda src, dst, doc, owner, throttle: {'target_id': 'copy-' + doc['id'],
                                              'bytes_copied': 10,
                                              'hash_value': doc['hash_value']})) as copied:
            found = root_disks.copy_servers(plan, self.source, 'target', servers, made,
                                            'owner')
        self.assertEqual({
            'id-web': {'mode': 'snapshot', 'name': 'web', 'target_id': 'copy-snap-id-web',
                       'bytes_copied': 10, 'hash_value': 'h-snap-id-web', 'quiesced': False,
                       'server_updated_at': '2026-11-30T05:00:00Z'},
            'id-agent': {'mode': 'snapshot', 'name': 'agent', 'quiesced': True,
                         'target_id': 'copy-snap-id-agent', 'bytes_copied': 10,
                         'hash_value': 'h-snap-id-agent',
                         'server_updated_at': '2026-11-30T05:00:00Z'},
            'id-cache': {'mode': 'base_image', 'name': 'cache'}}, found)
        self.assertEqual(2, copied.call_count)
        self.assertEqual(sorted(['snap-id-web', 'snap-id-agent']), sorted(
            c.args[0] for c in self.source.image.delete_image.call_args_list))

    def test_a_failed_copy_still_deletes_the_snapshot(self):
        with mock.patch.object(root_disks.images_mod, 'copy_image',
                               side_effect=root_disks.images_mod.ImageCopyError('refused')):
            err = self.assertRaises(root_disks.images_mod.ImageCopyError,
                                    root_disks.copy_servers, PLAN, self.source, 'target',
                                    [server('web')], {'id-web': 'snap-id-web'}, 'owner')
        self.assertIn('refused', str(err))
        self.source.image.delete_image.assert_called_once_with('snap-id-web',
                                                               ignore_missing=True)

    def test_a_refused_snapshot_names_every_server_and_keeps_what_was_made(self):
        def refuse_app(sid, **kw):
            if sid == 'id-app':
                raise exceptions.ConflictException('quiesce failed')
            return types.SimpleNamespace(id='snap-' + sid)
        self.source.compute.create_server_image.side_effect = refuse_app
        made = {}
        err = self.assertRaises(root_disks.RootDiskError, root_disks.start, self.source,
                                [server('web'), server('app')], 'cp1', made)
        self.assertEqual("server 'app' (id-app): Nova could not snapshot its root disk: "
                         "quiesce failed", str(err))
        self.assertEqual({'id-web': 'snap-id-web'}, made)  # for the caller to delete
        # A site that does not answer is not the server's fault: sites.calls_to names it.
        self.source.compute.create_server_image.side_effect = ks_exc.ConnectFailure('refused')
        self.assertRaises(ks_exc.ConnectFailure, root_disks.start, self.source,
                          [server('web')], 'cp1', {})

    def test_a_shelved_server_s_disk_is_the_image_nova_took_copied_and_left(self):
        self.source.image.get.return_value.json.return_value = {'images': [
            {'id': 'mine', 'name': 'a snapshot of mine', 'status': 'active'},
            {'id': 'nova-took', 'name': 'web-shelved', 'status': 'active'}]}
        shelved = root_disks.shelved_images(self.source, [server('web', status='SHELVED')])
        self.assertEqual({'id-web': 'nova-took'}, shelved)
        self.assertEqual({'instance_uuid': 'id-web', 'sort': 'created_at:desc'},
                         self.source.image.get.call_args.kwargs['params'])
        with mock.patch.object(root_disks.images_mod, 'copy_image', return_value={
                'target_id': 'copy', 'bytes_copied': 1, 'hash_value': 'h'}):
            found = root_disks.copy_servers(PLAN, self.source, 'target', [server('web')], {},
                                            'owner', shelved)
        self.assertEqual('copy', found['id-web']['target_id'])
        self.source.image.delete_image.assert_not_called()
        self.source.image.get.return_value.json.return_value = {'images': []}
        err = self.assertRaises(root_disks.RootDiskError, root_disks.shelved_images,
                                self.source, [server('web', status='SHELVED_OFFLOADED')])
        self.assertEqual("server 'web' (id-web) is SHELVED_OFFLOADED and Nova kept no image "
                         "of its root disk: unshelve it, or declare it stateless (root_disks: "
                         "{web: base_image})", str(err))

    def listing(self, images, task_states):
        self.source.image.images.return_value = [
            types.SimpleNamespace(id=i, status=st) for i, st in images.items()]
        self.source.compute.servers.return_value = [
            types.SimpleNamespace(id=s, task_state=st) for s, st in task_states.items()]

    def test_captured_once_nova_uploads_or_is_done(self):
        self.listing({'snap-a': 'saving', 'snap-b': 'active'},
                     {'id-a': 'image_uploading', 'id-b': None})
        root_disks.wait_captured(self.source, 'p1', [server('a'), server('b')],
                                 {'id-a': 'snap-a', 'id-b': 'snap-b'}, 5, poll=0.01)
        self.source.compute.servers.assert_called_with(all_projects=True, project_id='p1')

    def test_a_snapshot_nova_deleted_or_still_pending_names_its_server(self):
        self.listing({'snap-b': 'queued'}, {'id-a': None, 'id-b': 'image_snapshot'})
        err = self.assertRaises(root_disks.RootDiskError, root_disks.wait_captured,
                                self.source, 'p1', [server('a'), server('b')],
                                {'id-a': 'snap-a', 'id-b': 'snap-b'}, 5, poll=0.01)
        self.assertIn("server 'a' (id-a): Nova could not snapshot its root disk (snapshot "
                      "snap-a deleted by Nova", str(err))
        self.listing({'snap-b': 'queued'}, {'id-b': 'image_pending_upload'})
        err = self.assertRaises(root_disks.RootDiskError, root_disks.wait_captured,
                                self.source, 'p1', [server('b')], {'id-b': 'snap-b'}, 0.05,
                                poll=0.01)
        self.assertEqual("root disk snapshots not taken after 0 s: 'b' (id-b)", str(err))


class TestPreflightSays(test_restore.RestoreTestCase):
    DATA = dict(test_restore.DATA, root_disks={
        's1': {'mode': 'snapshot', 'name': 'srv1', 'target_id': 'copy-i1'},
        's2': {'mode': 'base_image', 'name': 'srv2'}})

    def setUp(self):
        super().setUp()
        resources = copy.deepcopy(test_restore.RESOURCES)
        for doc in resources['server']:
            doc['image_id'] = 'i1'
        resources['flavor'][0].update(ephemeral=2, swap=512)
        self.commit_checkpoint(resources)

    def test_how_each_server_boots_and_that_ephemeral_and_swap_disks_are_empty(self):
        out = restore.preflight(self.plan(), self.cid, dry_run=True)
        self.assertIn('boot server srv1 from its root disk as checkpointed', out['preview'])
        self.assertIn("boot server srv2 from its base image (root_disk base_image: its root "
                      "disk's writes are not kept)", out['preview'])
        self.assertIn('server srv3 gets an empty ephemeral disk (2 GB) and swap (512 MB): '
                      'checkpoints keep neither', out['preview'])
        self.assertEqual([], out['warnings'])

    def test_a_missing_copy_is_a_problem(self):
        self.DATA['root_disks']['s1']['target_id'] = 'gone'
        self.addCleanup(self.DATA['root_disks']['s1'].update, target_id='copy-i1')
        resources = self.cps.get_part(self.cid, 'resources')['resources']
        self.commit_checkpoint(resources)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, dry_run=True)
        self.assertIn("the copy of the root disk of server 'srv1' (gone) is missing on site-b",
                      str(err))


    def test_fidelity_expects_the_base_image_only_where_a_server_still_boots_from_it(self):
        from actions import resources
        from actions.restore import context
        image = resources.all_kinds()['image']
        r = context.Restore(self.plan(), self.cid)
        self.assertTrue(image.seen(r, {'id': 'i1'}))  # srv2 and srv3 boot from it
        r.data['root_disks'] = {s['id']: {'mode': 'snapshot', 'target_id': 'copy-i1'}
                                for s in r.docs('server')}
        self.assertFalse(image.seen(r, {'id': 'i1'}))

class TestOlderCheckpoints(test_restore.RestoreTestCase):

    def test_servers_of_a_checkpoint_without_root_disks_are_said_to_boot_from_their_image(self):
        resources = copy.deepcopy(test_restore.RESOURCES)
        resources['server'][0]['image_id'] = 'i1'
        self.commit_checkpoint(resources)
        out = restore.preflight(self.plan(), self.cid, dry_run=True)
        self.assertEqual(['server srv1 boots from its base image: checkpoint %s kept no root '
                          'disks (taken before draas did)' % self.cid], out['warnings'])

