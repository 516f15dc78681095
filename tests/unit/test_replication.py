"""Data movers with a fake Cinder/Glance: incremental chains, consistency, hashes."""
import base64
import collections
import concurrent.futures
import hashlib
import json
import threading
import time
from unittest import mock

import fixtures
from openstack import exceptions as sdk_exceptions
from oslotest import base

from actions.replication import images
from actions.replication import volumes


class FakeBlockStorage:
    """Snapshots and backups that become available at once; records what was asked. As
    Cinder, an incremental backup builds on the volume's newest backup."""

    def __init__(self, existing_backups=()):
        self.snaps, self.backups_made, self.deleted_snaps = [], [], []
        # (volume ID, backup ID), oldest first
        self.existing = [mock.Mock(id=bid, volume_id=vid, status='available',
                                   data_timestamp='2026-01-01T00:00:%02d' % i)
                         for i, (vid, bid) in enumerate(existing_backups)]

    def create_snapshot(self, **kw):
        snap = mock.Mock(id='snap-%s' % kw['volume_id'], status='available', **kw)
        self.snaps.append(snap)
        return snap

    def snapshots(self, **kw):
        return self.snaps

    def create_backup(self, **kw):
        mine = [b for b in self.existing if b.volume_id == kw['volume_id']]
        b = mock.Mock(id='backup-%s' % kw['volume_id'], status='available',
                      is_incremental=kw['is_incremental'], data_timestamp='2026-02-01',
                      parent_id=mine[-1].id if kw['is_incremental'] and mine else None)
        b.kw = kw
        self.backups_made.append(b)
        return b

    def backups(self, **kw):
        return self.existing + self.backups_made

    def delete_snapshot(self, snap_id, ignore_missing=True):
        self.deleted_snaps.append(snap_id)

    def export_backup(self, backup_id):
        made = {b.id: b for b in self.backups_made}[backup_id]
        return {'backup-record': {'backup_service': 'swift', 'backup_url': base64.b64encode(
            json.dumps({'id': backup_id, 'parent_id': made.parent_id}).encode()).decode()}}


class TestBackupMethod(base.BaseTestCase):

    @staticmethod
    def backup(bs, vols, previous=None, full_every=8):
        """volumes.backup of the snapshots volumes.take_snapshots took of `vols`."""
        snaps = volumes.take_snapshots(bs, vols, 'cp1', {})
        return volumes.backup(mock.Mock(block_storage=bs), vols, 'cp1', snaps, previous,
                              full_every)

    def run_backup(self, existing=(), previous=None, full_every=3):
        bs = FakeBlockStorage(existing)
        data = self.backup(bs, [{'id': 'v1'}, {'id': 'v2'}], previous, full_every)
        return bs, data

    def test_first_backups_are_full_from_snapshots_taken_together(self):
        bs, data = self.run_backup()
        self.assertEqual(['v1', 'v2'], [s.volume_id for s in bs.snaps])
        self.assertEqual({'draas_checkpoint': 'cp1'}, bs.snaps[0].metadata)
        self.assertEqual([False, False], [b.kw['is_incremental'] for b in bs.backups_made])
        self.assertEqual(['snap-v1', 'snap-v2'], [b.kw['snapshot_id'] for b in bs.backups_made])
        self.assertEqual(['snap-v1', 'snap-v2'], bs.deleted_snaps)
        self.assertEqual('swift', data['v1']['record']['backup_service'])
        self.assertIsNone(volumes.parent_of(data['v1']['record']))

    def test_incremental_until_the_chain_is_full_every_long(self):
        full = {'backup_id': 'b0', 'record': 'r0'}
        previous = {'v1': {'chain': 1, 'backup_id': 'b1', 'record': 'r1', 'parents': [full]},
                    'v2': {'chain': 2, 'backup_id': 'b2', 'record': 'r2', 'parents': []}}
        bs, data = self.run_backup(existing=(('v1', 'b1'), ('v2', 'b2')),
                                      previous=previous)
        self.assertEqual({'v1': (True, 2), 'v2': (False, 0)},
                         {v: (d['incremental'], d['chain']) for v, d in data.items()})
        # The chain's records travel with each checkpoint, oldest first.
        self.assertEqual([full, {'backup_id': 'b1', 'record': 'r1'}], data['v1']['parents'])
        self.assertEqual([], data['v2']['parents'])

    def test_what_cinder_made_is_recorded_not_what_was_asked(self):
        # No parent found: Cinder makes a full backup; the chain restarts.
        bs = FakeBlockStorage([('v1', 'b')])
        made = bs.create_backup
        bs.create_backup = lambda **kw: made(**dict(kw, is_incremental=False))
        data = self.backup(bs, [{'id': 'v1'}],
                           {'v1': {'chain': 1, 'backup_id': 'b', 'record': 'r'}}, 3)
        self.assertEqual((False, 0, []), (data['v1']['incremental'], data['v1']['chain'],
                                          data['v1']['parents']))

    def test_a_chain_never_builds_on_a_backup_not_the_plans_last(self):
        previous = {'v1': {'chain': 1, 'backup_id': 'b1', 'record': 'r1', 'parents': []},
                    'v2': {'chain': 1, 'backup_id': 'b2', 'record': 'r2', 'parents': []}}
        # v2's newest backup is another plan's (or a failed run's): a full backup instead.
        bs, data = self.run_backup(existing=(('v1', 'b1'), ('v2', 'b2'),
                                                ('v2', 'other-plan')), previous=previous)
        self.assertEqual({'v1': True, 'v2': False},
                         {b.kw['volume_id']: b.kw['is_incremental'] for b in bs.backups_made})
        self.assertEqual((True, False), (data['v1']['incremental'], data['v2']['incremental']))

    def test_a_parent_that_is_not_the_recorded_one_fails_the_checkpoint(self):
        previous = {'v1': {'chain': 1, 'backup_id': 'b1', 'record': 'r1', 'parents': []}}
        bs = FakeBlockStorage([('v1', 'b1')])
        made = bs.create_backup

        def another_came_in_between(**kw):
            b = made(**kw)
            b.parent_id = 'sneaked-in'
            return b
        bs.create_backup = another_came_in_between
        exc = self.assertRaises(volumes.VolumeReplicationError, self.backup,
                                bs, [{'id': 'v1'}], previous, 3)
        self.assertIn('backup backup-v1 of volume v1 builds on backup sneaked-in, not on b1 '
                      'of the plan\'s previous checkpoint', str(exc))
        self.assertEqual(['backup-v1'], exc.orphan_backups)

    def test_snapshots_are_removed_even_when_backups_fail(self):
        bs = FakeBlockStorage()
        bs.create_backup = mock.Mock(side_effect=RuntimeError('cinder down'))
        self.assertRaises(RuntimeError, self.backup, bs, [{'id': 'v1'}])
        self.assertEqual(['snap-v1'], bs.deleted_snaps)

    def test_backups_of_a_failed_run_are_named_for_deletion(self):
        bs = FakeBlockStorage()
        made = bs.create_backup

        def second_refused(**kw):
            if kw['volume_id'] != 'v1':
                raise RuntimeError('backup quota exceeded')
            return made(**kw)
        bs.create_backup = second_refused
        exc = self.assertRaises(RuntimeError, self.backup, bs, [{'id': 'v1'}, {'id': 'v2'}])
        self.assertEqual(['backup-v1'], exc.orphan_backups)

    def test_error_state_is_reported_with_ids(self):
        bs = FakeBlockStorage()
        orig = bs.create_snapshot

        def failing(**kw):
            snap = orig(**kw)
            snap.status = 'error'
            return snap
        bs.create_snapshot = failing
        snaps = volumes.take_snapshots(bs, [{'id': 'v1'}], 'cp1', {})
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.wait_all,
                                bs.snapshots, snaps.values(), 'available', 5, 'snapshot')
        self.assertEqual('snapshot in error: snap-v1', str(exc))

    def test_only_groups_whose_type_asks_for_consistency_get_a_group_snapshot(self):
        bs = mock.Mock()
        bs.get_group.side_effect = lambda gid: mock.Mock(group_type='t-' + gid)
        bs.get_group_type.side_effect = lambda tid: mock.Mock(group_specs={
            'consistent_group_snapshot_enabled': '<is> True'} if tid == 't-g1' else {})
        vols = [{'id': 'v1', 'group_id': 'g1'}, {'id': 'v2', 'group_id': 'g1'},
                {'id': 'v3', 'group_id': 'g2'}, {'id': 'v4'}]
        groups = volumes.consistent_groups(bs, vols)
        self.assertEqual({'g1': ['v1', 'v2']}, groups)
        bs.create_group_snapshot.return_value = mock.Mock(id='gs1')
        self.assertEqual({'gs1': 'g1'}, volumes.take_group_snapshots(bs, groups, 'cp1', {}))
        bs.snapshots.return_value = [
            mock.Mock(id='s1', volume_id='v1', group_snapshot_id='gs1'),
            mock.Mock(id='s2', volume_id='v2', group_snapshot_id='gs1'),
            mock.Mock(id='s9', volume_id='not-the-plans', group_snapshot_id='gs1'),
            mock.Mock(id='s4', volume_id='v4', group_snapshot_id=None)]
        self.assertEqual(({'v1': 's1', 'v2': 's2'}, {'v1': 'gs1', 'v2': 'gs1'}),
                         volumes.group_members(bs, {'gs1': 'g1'}, {'v1', 'v2'}))

    def test_a_failed_run_deletes_its_group_snapshot_once_it_leaves_creating(self):
        # Cinder refuses to delete a group snapshot still 'creating': it would stay, and
        # its group could never be deleted.
        self.useFixture(fixtures.MockPatchObject(volumes, 'POLL', 0.01))
        bs = mock.Mock()
        states = iter(['creating', 'creating', 'available'])
        bs.group_snapshots.side_effect = lambda **kw: [mock.Mock(id='gs1',
                                                                 status=next(states))]
        bs.snapshots.return_value = [mock.Mock(id='s1', status='available')]

        left_when_deleted = []
        bs.delete_group_snapshot.side_effect = lambda *a, **kw: left_when_deleted.append(
            list(states))
        volumes.delete_snapshots(bs, ['s1'], {'gs1': 'g1'}, settle=5)
        self.assertEqual([[]], left_when_deleted)  # only once it was available
        bs.delete_group_snapshot.assert_called_once_with('gs1', ignore_missing=True)
        bs.delete_snapshot.assert_called_once_with('s1', ignore_missing=True)

    def test_a_volume_without_a_snapshot_is_an_error_not_a_gap(self):
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.backup,
                                mock.Mock(), [{'id': 'v1'}, {'id': 'v2'}], 'cp1',
                                {'v1': 's1'})
        self.assertEqual('no snapshot of volumes v2', str(exc))

    def test_unknown_method_is_a_clear_error(self):
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.replicate,
                                {'policy': {'replication': 'tape'}}, None, None, [], 'cp1')
        self.assertIn("method 'tape' is not available (available: backup, replication, "
                      "image)", str(exc))


class TestStoredBytes(base.BaseTestCase):
    """What a backup wrote, read from the Swift holding Cinder's backups."""

    @staticmethod
    def record(service):
        return {'backup_url': base64.b64encode(json.dumps({
            'service': service, 'container': 'volumebackups',
            'service_metadata': 'volume_v1/2026/az_nova_backup_b1'}).encode()).decode()}

    def test_the_objects_of_the_backup_are_summed(self):
        swift = mock.Mock()
        swift.object_store.objects.return_value = [mock.Mock(content_length=n)
                                                   for n in (700, 20, 5)]
        self.assertEqual(725, volumes.stored_bytes(
            swift, self.record('cinder.backup.drivers.swift.SwiftBackupDriver')))
        swift.object_store.objects.assert_called_once_with(
            'volumebackups', prefix='volume_v1/2026/az_nova_backup_b1')

    def test_another_driver_is_unknown(self):
        swift = mock.Mock()
        self.assertIsNone(volumes.stored_bytes(
            swift, self.record('cinder.backup.drivers.nfs.NFSBackupDriver')))
        swift.object_store.objects.assert_not_called()


IMAGE_PLAN = {'policy': {'replication': 'image'}}


class TestImageMethod(base.BaseTestCase):
    """Volumes as images: snapshot -> temporary volume -> image -> copy to the target."""

    def setUp(self):
        super().setUp()
        self.bs = FakeBlockStorage()
        self.bs.create_volume = lambda **kw: mock.Mock(id='tmp-' + kw['name'][-2:],
                                                       status='available')
        self.bs.volumes = lambda **kw: [mock.Mock(id='tmp-v1', status='available'),
                                        mock.Mock(id='tmp-v2', status='available')]
        self.bs.upload_volume_to_image = lambda vol, name, **kw: {'image_id': 'up-' + vol.id}
        self.bs.delete_volume = mock.Mock()
        self.src = mock.Mock(block_storage=self.bs)
        self.src.image.images.return_value = [mock.Mock(id='up-tmp-v1', status='active'),
                                              mock.Mock(id='up-tmp-v2', status='active')]
        self.src.image.get_image.side_effect = lambda i: mock.Mock(
            id=i, hash_algo='sha512', hash_value='h-' + i, size=1 << 30)
        self.copy = self.useFixture(fixtures.MockPatchObject(volumes.images_mod,
                                                             'copy_image')).mock
        self.copy.side_effect = lambda src, dst, doc, owner, throttle: {
            'target_id': 'copy-' + doc['id'], 'hash_value': doc['hash_value'],
            'bytes_copied': 0 if doc['id'].endswith('v2') else 1 << 30}

    def test_images_are_copied_and_temporaries_removed(self):
        data = volumes.replicate(
            IMAGE_PLAN, self.src, 'dst', [{'id': 'v1', 'size': 1}, {'id': 'v2', 'size': 1}],
            'cp1', {'v1': 'snap-v1', 'v2': 'snap-v2'}, owner='shop:1')
        self.assertEqual({'shop:1'}, {c.args[3] for c in self.copy.call_args_list})
        self.assertEqual({'v1': ('copy-up-tmp-v1', 1 << 30), 'v2': ('copy-up-tmp-v2', 0)},
                         {v: (d['image_id'], d['bytes_copied']) for v, d in data.items()})
        self.assertEqual(['snap-v1', 'snap-v2'], self.bs.deleted_snaps)
        self.assertEqual(2, self.bs.delete_volume.call_count)
        self.assertEqual(2, self.src.image.delete_image.call_count)

    def test_copies_run_as_many_at_once_as_the_plan_s_streams(self):
        both = threading.Barrier(2, timeout=1)  # each copy waits for the other: in parallel
        copied = self.copy.side_effect
        self.copy.side_effect = lambda *a, **kw: (both.wait(), copied(*a, **kw))[1]
        vols = [{'id': 'v1', 'size': 1}, {'id': 'v2', 'size': 1}]
        snaps = {'v1': 'snap-v1', 'v2': 'snap-v2'}
        data = volumes.replicate(IMAGE_PLAN, self.src, 'dst', vols, 'cp1', dict(snaps),
                                 throttle=images.Throttle(streams=2))
        self.assertEqual({'v1', 'v2'}, set(data))
        # One stream: the first copy waits alone, in vain.
        both.reset()
        self.assertRaises(threading.BrokenBarrierError, volumes.replicate, IMAGE_PLAN,
                          self.src, 'dst', vols, 'cp1', dict(snaps),
                          throttle=images.Throttle(streams=1))

    def test_a_failed_copy_still_removes_the_temporaries(self):
        self.copy.side_effect = RuntimeError('glance down')
        self.assertRaises(RuntimeError, volumes.replicate, IMAGE_PLAN, self.src, 'dst',
                          [{'id': 'v1', 'size': 1}], 'cp1', {'v1': 'snap-v1'})
        self.assertEqual(['snap-v1'], self.bs.deleted_snaps)
        self.assertEqual(1, self.bs.delete_volume.call_count)
        self.src.image.delete_image.assert_called_once_with('up-tmp-v1', ignore_missing=True)


class TestImageCopy(base.BaseTestCase):
    DATA = b'x' * 3000000
    OWNER = images.owner_key('shop', 'swift://draas-checkpoints')

    def doc(self, digest=None):
        return {'id': 'i1', 'name': 'img', 'disk_format': 'raw', 'container_format': 'bare',
                'hash_algo': 'sha512',
                'hash_value': digest or hashlib.sha512(self.DATA).hexdigest()}

    def conns(self, existing=()):
        src, dst = mock.Mock(), mock.Mock()
        src.image.download_image.return_value.iter_content.return_value = [
            self.DATA[:1 << 20], self.DATA[1 << 20:]]
        dst.image.get.return_value = mock.Mock(status_code=200, json=lambda: {
            'images': list(existing)})
        dst.image.get_image.side_effect = lambda i: mock.Mock(id=i)
        dst.image.create_image.return_value = mock.Mock(id='copy')
        dst.current_project_id = 'draas-project'
        return src, dst

    @staticmethod
    def copy_of(image_id, **image):
        """Glance's JSON of an image draas copied to the target (its project, its mark)."""
        return dict({'id': image_id, 'status': 'active', 'owner': 'draas-project',
                     images.SOURCE_PROPERTY: 'i1',
                     images.OWNER_PROPERTY: TestImageCopy.OWNER}, **image)

    def test_copy_is_skipped_when_the_target_has_the_same_hash(self):
        other = self.copy_of('other', os_hash_value='f' * 128)
        same = self.copy_of('there', os_hash_value=self.doc()['hash_value'])
        src, dst = self.conns([other, same])
        self.assertEqual({'target_id': 'there', 'bytes_copied': 0,
                          'hash_value': self.doc()['hash_value']},
                         images.copy_image(src, dst, self.doc(), self.OWNER))
        src.image.download_image.assert_not_called()
        self.assertEqual({'os_hash_value': self.doc()['hash_value'], 'status': 'active'},
                         dst.image.get.call_args.kwargs['params'])

    def test_the_copy_is_found_on_a_later_page(self):
        src, dst = self.conns()
        same = self.copy_of('there', os_hash_value=self.doc()['hash_value'])
        pages = {'/images': {'images': [self.copy_of('other-server', os_hash_value=self.doc()[
                                 'hash_value'], instance_uuid='s2')],
                             'next': '/v2/images?marker=x&os_hash_value=h'},
                 '/images?marker=x&os_hash_value=h': {'images': [same]}}
        dst.image.get.side_effect = lambda url, params=None: mock.Mock(
            status_code=200, json=lambda: pages[url])
        doc = dict(self.doc(), properties={'instance_uuid': 's1'})
        same['instance_uuid'] = 's1'
        self.assertEqual('there', images.copy_image(src, dst, doc, self.OWNER)['target_id'])
        src.image.download_image.assert_not_called()

    def test_an_image_with_another_hash_is_never_taken_for_a_copy(self):
        # As when a filter is ignored: what comes back is checked.
        src, dst = self.conns([{'id': 'other', 'status': 'active',
                                'os_hash_value': 'f' * 128}])
        result = images.copy_image(src, dst, self.doc(), self.OWNER)
        self.assertEqual('copy', result['target_id'])

    def test_copy_streams_and_verifies(self):
        src, dst = self.conns()
        doc = dict(self.doc(), tags=['db'], min_ram=512,
                   properties={'hw_disk_bus': 'scsi', 'os_distro': 'debian', 'team': 'a'})
        result = images.copy_image(src, dst, doc, self.OWNER)
        self.assertEqual(('copy', len(self.DATA)), (result['target_id'],
                                                    result['bytes_copied']))
        kwargs = dst.image.create_image.call_args.kwargs
        self.assertEqual({'hw_disk_bus': 'scsi', 'os_distro': 'debian', 'team': 'a',
                          images.SOURCE_PROPERTY: 'i1', images.OWNER_PROPERTY: self.OWNER},
                         kwargs['properties'])
        self.assertEqual((['db'], 512), (kwargs['tags'], kwargs['min_ram']))

    def test_an_image_of_the_same_bytes_with_other_properties_is_not_a_copy(self):
        doc = dict(self.doc(), tags=['db'], properties={'os_distro': 'debian'})
        same = {'os_hash_value': doc['hash_value'], 'tags': ['db']}
        src, dst = self.conns([self.copy_of('bare', **same),
                               self.copy_of('other', os_distro='ubuntu', **same),
                               self.copy_of('untagged', **dict(same, tags=[],
                                                               os_distro='debian'))])
        self.assertEqual('copy', images.copy_image(src, dst, doc, self.OWNER)['target_id'])
        src, dst = self.conns([self.copy_of('other', os_distro='ubuntu', **same),
                               self.copy_of('there', os_distro='debian', **same)])
        self.assertEqual('there', images.copy_image(src, dst, doc, self.OWNER)['target_id'])

    def test_only_the_plan_s_own_copies_are_reused(self):
        # Another tenant's image of the same bytes (its owner could delete it), one of the
        # project that draas did not copy, or another plan's copy (its retention deletes it)
        # is never taken for a copy.
        same = {'os_hash_value': self.doc()['hash_value']}
        other_plan = images.owner_key('shop', 'swift://elsewhere')
        src, dst = self.conns([self.copy_of('tenants', **dict(same, owner='tenant')),
                               {'id': 'uploaded', 'status': 'active',
                                'owner': 'draas-project', **same},
                               self.copy_of('other plan', **dict(
                                   same, **{images.OWNER_PROPERTY: other_plan}))])
        result = images.copy_image(src, dst, self.doc(), self.OWNER)
        self.assertEqual('copy', result['target_id'])

    def test_a_copy_the_target_refuses_names_the_image_and_its_properties(self):
        src, dst = self.conns()
        dst.image.create_image.side_effect = sdk_exceptions.HttpException(
            message='Forbidden', details='Property zoo_owner is protected',
            response=mock.Mock(status_code=403, headers={}))
        doc = dict(self.doc(), properties={'zoo_owner': 'a', 'os_distro': 'debian'})
        exc = self.assertRaises(images.ImageCopyError, images.copy_image, src, dst, doc,
                                self.OWNER)
        self.assertEqual("image 'img' (i1): the recovery site's Glance refuses its copy "
                         "(HTTP 403: Property zoo_owner is protected); its properties: "
                         "os_distro, zoo_owner", str(exc))

    def test_corrupt_download_is_refused(self):
        src, dst = self.conns()
        exc = self.assertRaises(images.ImageCopyError, images.copy_image, src, dst,
                                self.doc('0' * 128), self.OWNER)
        self.assertIn('does not match its sha512 hash', str(exc))
        dst.image.create_image.assert_not_called()

    def test_every_chunk_read_from_the_source_waits_for_the_throttle(self):
        src, dst = self.conns()
        throttle = mock.Mock()
        images.copy_image(src, dst, self.doc(), self.OWNER, throttle=throttle)
        self.assertEqual([mock.call(1 << 20), mock.call(len(self.DATA) - (1 << 20))],
                         throttle.spend.mock_calls)


class TestThrottle(base.BaseTestCase):

    def throttle(self, rate):
        self.now, self.slept = 100.0, []
        return images.Throttle(rate, clock=lambda: self.now, sleep=self.slept.append)

    def test_chunks_take_turns_at_the_rate_shared_by_every_copy(self):
        throttle = self.throttle(1 << 20)  # 1 MiB/s
        for _ in range(3):
            throttle.spend(1 << 20)
        self.assertEqual([0.0, 1.0, 2.0], self.slept)
        self.now = 110.0  # idle since: no debt, no credit
        throttle.spend(512 << 10)
        throttle.spend(512 << 10)
        self.assertEqual([0.0, 1.0, 2.0, 0.0, 0.5], self.slept)

    def test_no_rate_no_wait(self):
        throttle = self.throttle(None)
        throttle.spend(1 << 30)
        self.assertEqual([], self.slept)


class SlowVolumes:
    """Volumes that turn 'available' after `rounds` list calls; counts the calls."""

    def __init__(self, ids, rounds):
        self.ids, self.rounds, self.lists, self.gets = ids, rounds, 0, 0

    def volumes(self):
        self.lists += 1
        status = 'available' if self.lists > self.rounds else 'restoring-backup'
        return [mock.Mock(id=i, status=status) for i in self.ids]

    def get_volume(self, volume_id):
        self.gets += 1
        return mock.Mock(id=volume_id, status='available')


class TestVolumeStatuses(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch('actions.replication.volumes.RESTORE_POLL', 0.01))

    def test_many_waiters_share_one_list_call_per_round(self):
        ids = ['vol-%d' % i for i in range(40)]
        bs = SlowVolumes(ids, rounds=3)
        statuses = volumes.VolumeStatuses(bs, poll=0.01)
        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            done = list(pool.map(
                lambda i: volumes.wait_volume(bs, i, 30, statuses=statuses).status, ids))
        self.assertEqual(['available'] * 40, done)
        # 40 volumes, 4 rounds: a handful of list calls (more when the threads start late on
        # a busy machine: 20 seen), never one call per volume and round (160).
        self.assertLess(bs.lists, 40)
        self.assertEqual(0, bs.gets)

    def test_a_list_from_before_the_wait_began_is_not_used(self):
        bs = SlowVolumes(['vol-1'], rounds=0)
        statuses = volumes.VolumeStatuses(bs, poll=0.05)
        statuses.get('vol-1', time.monotonic())  # lists: 'available'
        bs.rounds = 3  # a backup restore asked for now: 'restoring-backup' for 2 lists
        self.assertEqual('available', volumes.wait_volume(bs, 'vol-1', 30,
                                                          statuses=statuses).status)
        self.assertEqual(4, bs.lists)

    def test_a_volume_the_list_does_not_have_is_asked_for_alone(self):
        bs = SlowVolumes(['vol-1'], rounds=0)
        statuses = volumes.VolumeStatuses(bs, poll=0.01)
        self.assertEqual('available', volumes.wait_volume(bs, 'vol-2', 30,
                                                          statuses=statuses).status)
        self.assertEqual((1, 1), (bs.lists, bs.gets))


class TestWaitAll(base.BaseTestCase):
    """One list call per round for any kind; a failed state ends the wait at once."""

    def listing(self, *rounds):
        calls = iter(rounds)
        return mock.Mock(side_effect=lambda: [mock.Mock(id=i, status=s, fault=f)
                                              for i, s, f in next(calls)])

    def test_waits_for_every_id_with_one_list_per_round(self):
        list_fn = self.listing([('a', 'BUILD', None), ('b', 'BUILD', None)],
                               [('a', 'ACTIVE', None), ('b', 'BUILD', None)],
                               [('a', 'ACTIVE', None), ('b', 'ACTIVE', None)])
        volumes.wait_all(list_fn, ['a', 'b'], 'ACTIVE', 30, 'server', poll=0)
        self.assertEqual(3, list_fn.call_count)

    def test_a_server_in_error_fails_naming_its_fault(self):
        list_fn = self.listing([('a', 'ERROR', {'message': 'No valid host'}),
                                ('b', 'BUILD', None)])
        exc = self.assertRaises(
            RuntimeError, volumes.wait_all, list_fn, ['a', 'b'], 'ACTIVE', 30, 'server',
            poll=0, error=RuntimeError,
            describe=lambda s: '%s: %s' % (s.id, s.fault['message']))
        self.assertEqual('server in error: a: No valid host', str(exc))

    def test_a_killed_image_fails_at_once_not_at_the_timeout(self):
        list_fn = self.listing([('img', 'killed', None)])
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.wait_all, list_fn,
                                ['img'], 'active', 3600, 'uploaded image', poll=0)
        self.assertEqual('uploaded image in error: img', str(exc))

    def test_the_timeout_names_what_is_still_pending(self):
        list_fn = self.listing([('a', 'available', None), ('b', 'creating', None)])
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.wait_all, list_fn,
                                ['a', 'b'], 'available', -1, 'snapshot', poll=0)
        self.assertEqual('snapshot not available after -1 s: b', str(exc))


class TestImportChain(base.BaseTestCase):
    """The recovery site imports the records it lacks and waits for them one by one."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch('actions.replication.volumes.RESTORE_POLL', 0))
        self.bs = mock.Mock(spec=['find_backup', 'post', 'get_backup'])
        self.known = {'full'}
        self.bs.find_backup.side_effect = lambda i, **kw: (
            mock.Mock(id=i) if i in self.known else None)
        self.bs.post.return_value = mock.Mock(status_code=201)
        polls = collections.Counter()

        def get_backup(backup_id):  # 'creating' at the first GET after an import
            polls[backup_id] += 1
            status = 'creating' if polls[backup_id] == 1 and backup_id not in self.known \
                else 'available'
            return mock.Mock(id=backup_id, status=status)
        self.bs.get_backup.side_effect = get_backup
        self.data = {'backup_id': 'incr', 'record': 'r-incr',
                     'parents': [{'backup_id': 'full', 'record': 'r-full'}]}

    def test_imports_only_the_missing_records_and_never_lists_every_backup(self):
        self.assertEqual('incr', volumes.import_chain(mock.Mock(block_storage=self.bs),
                                                      self.data, 30))
        self.bs.post.assert_called_once_with('/backups/import_record',
                                             json={'backup-record': 'r-incr'})
        # The spec has no backups(): a list call would have failed the test.
        self.assertEqual(['full', 'incr', 'incr'],
                         [c.args[0] for c in self.bs.get_backup.call_args_list])

    def test_a_refused_import_names_the_backup_and_cinder_answer(self):
        self.bs.post.return_value = mock.Mock(status_code=400, text='Invalid backup record')
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.import_chain,
                                mock.Mock(block_storage=self.bs), self.data, 30)
        self.assertEqual('importing backup incr: HTTP 400: Invalid backup record', str(exc))
