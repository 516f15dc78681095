"""Retention with data: expired checkpoints go, and so do the backups only they used."""
import datetime
import time
from unittest import mock

import fixtures
from oslotest import base

from actions import access
from actions import checkpoint
from actions import protect
from actions.replication import images
from actions.replication import location
from actions.replication import volumes


class FakeCinder:
    """Backups with their dependents; deleting one frees its parent (as Cinder does)."""

    def __init__(self, parents):
        self.parents = dict(parents)  # backup -> parent (None for a full backup)
        self.deleted = []

    def find_backup(self, backup_id, ignore_missing=True):
        if backup_id not in self.parents:
            return None
        return mock.Mock(id=backup_id, status='available',
                         has_dependent_backups=backup_id in self.parents.values())

    def delete_backup(self, backup):
        self.deleted.append(backup.id)
        del self.parents[backup.id]


def old_id(day):
    return datetime.datetime(2020, 1, day, tzinfo=datetime.timezone.utc).strftime(
        '%Y%m%dT%H%M%SZ') + '-aaaaaa'


class TestPrune(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')
        self.cinder = FakeCinder({'b1': None, 'b2': 'b1', 'b3': None, 'b4': 'b3'})
        # Restores imported the records of b1..b3 at the target.
        self.target = FakeCinder({'b1': None, 'b2': 'b1', 'b3': None})
        conns = {'site-a': mock.Mock(block_storage=self.cinder),
                 'site-b': mock.Mock(block_storage=self.target)}
        self.useFixture(fixtures.MockPatch('actions.sites.connect', side_effect=conns.get))
        self.ids = [old_id(1), old_id(2), old_id(3), checkpoint.new_checkpoint_id()]
        for cid, backup in zip(self.ids, ('b1', 'b2', 'b3', 'b4')):
            parts = {'data': self.cps.put_part(cid, 'data', {'volumes': {
                'v1': {'backup_id': backup}}})}
            self.cps.commit(cid, parts, {})
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'policy': {'retention': {'count': 1, 'max_age_hours': 1}}}

    def test_backups_go_once_nothing_builds_on_them(self):
        removed = protect.prune(self.plan, self.cps, keep=[self.ids[3]])
        self.assertEqual(self.ids[:3], removed)
        self.assertEqual([self.ids[3]], self.cps.list())
        # b2 goes first (newest first), which frees b1; b3 stays: b4 builds on it.
        self.assertEqual(['b2', 'b1'], self.cinder.deleted)
        self.assertEqual(['b3'], [p['backup_id'] for p in self.cps.pending_deletions()])
        # The target's imported records of b2 and b1 go with them; b3's stays while the
        # source's b3 (same backup objects) is kept.
        self.assertEqual(['b2', 'b1'], self.target.deleted)

    def test_pending_backups_are_retried_at_the_next_prune(self):
        protect.prune(self.plan, self.cps, keep=[self.ids[3]])
        del self.cinder.parents['b4']  # its checkpoint went, b4 was deleted elsewhere
        protect.prune(self.plan, self.cps, keep=[self.ids[3]])
        self.assertIn('b3', self.cinder.deleted)
        self.assertEqual(['b2', 'b1', 'b3'], self.target.deleted)
        self.assertEqual([], self.cps.pending_deletions())

    def test_a_record_the_target_cannot_delete_yet_is_retried(self):
        self.target.find_backup = lambda i, **kw: mock.Mock(id=i, status='restoring')
        protect.prune(self.plan, self.cps, keep=[self.ids[3]])
        self.assertEqual({'b1': None, 'b2': 'b1', 'b3': None}, self.target.parents)
        pending = self.cps.pending_deletions()
        self.assertEqual([('site-a', 'b3'), ('site-b', 'b2'), ('site-b', 'b1')],
                         [(p['site'], p.get('backup_id') or p['imported_backup_id'])
                          for p in pending])
        del self.target.find_backup  # the restore is over: the records go at the next prune
        protect.prune(self.plan, self.cps, keep=[self.ids[3]])
        self.assertEqual(['b2', 'b1'], self.target.deleted)
        self.assertEqual(['b3'], [p.get('backup_id') for p in self.cps.pending_deletions()])


class TestPruneImageCopies(base.BaseTestCase):
    """Expired checkpoints' image copies at the target (of images, and of volumes by the
    image method) go, unless a kept checkpoint uses them (an unchanged image or volume keeps
    its copy) or the plan does not own them (another plan's, or one made before copies had
    an owner)."""

    def test_only_the_plan_s_unused_copies_are_deleted_at_the_target(self):
        root = self.useFixture(fixtures.TempDir()).path
        cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')
        conns = {'site-a': mock.Mock(), 'site-b': mock.Mock()}
        self.useFixture(fixtures.MockPatch('actions.sites.connect', side_effect=conns.get))
        mine = images.owner_key('shop', cps.store.url)
        owners = {'i2': mine, 'i3': mine, 'g1': mine, 'old': None}
        conns['site-b'].image.get.side_effect = lambda url: mock.Mock(
            status_code=200, json=lambda: {images.OWNER_PROPERTY: owners[url.split('/')[-1]]})
        ids = [old_id(1), old_id(2), checkpoint.new_checkpoint_id()]
        for cid, used, boot in zip(ids, (('i1', 'i2'), ('i1', 'i3', 'old'), ('i1', 'i4')),
                                   ('g1', 'g2', 'g2')):
            parts = {'data': cps.put_part(cid, 'data', {
                'images': {'src-' + boot: {'target_id': boot}},
                'volumes': {'v%d' % n: {'method': 'image', 'image_id': i}
                            for n, i in enumerate(used)}})}
            cps.commit(cid, parts, {})
        plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                'policy': {'retention': {'count': 1, 'max_age_hours': 1}}}
        self.assertEqual(ids[:2], protect.prune(plan, cps, keep=[ids[2]]))
        deleted = [c.args[0] for c in conns['site-b'].image.delete_image.call_args_list]
        self.assertEqual(['g1', 'i2', 'i3'], deleted)
        conns['site-a'].image.delete_image.assert_not_called()
        self.assertEqual([], cps.pending_deletions())


class TestBegin(base.BaseTestCase):
    """A plan name holds one project: no checkpoint of another project is begun under it."""

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.source = mock.Mock(draas_mode='admin')
        self.source.identity.find_project.return_value = mock.Mock(id='f00')
        self.useFixture(fixtures.MockPatch('actions.sites.connect', return_value=self.source))
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop'}, 'policy': 'silver',
                     'options': {'store': 'file://' + root}}
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')
        self.first = old_id(1)
        self.probe = self.useFixture(fixtures.MockPatch(
            'actions.replication.location.backup_path',
            return_value={'readable': True, 'reason': None, 'checked_at': 'T'})).mock

    def test_backups_the_target_cannot_read_are_refused_before_the_lock(self):
        self.probe.return_value = {'readable': False, 'reason': 'importing: in error',
                                   'checked_at': '2026-11-30T12:00:00Z'}
        exc = self.assertRaises(location.DataLocationError, protect.begin, self.plan)
        self.assertIn("'backup' would not survive the loss of site-a: site-b cannot read the "
                      "backups site-a makes (probe of 2026-11-30T12:00:00Z: importing: in "
                      "error). Use \"image\"", str(exc))
        self.assertIsNone(self.cps.store.get('shop/lock'))
        self.assertEqual([], self.cps.list())
        self.assertEqual(('site-a', 'site-b'), self.probe.call_args[0][:2])
        # The image method has nothing to prove: no probe.
        self.probe.reset_mock()
        protect.begin(dict(self.plan, policy={'name': 'silver', 'replication': 'image'}))
        self.probe.assert_not_called()

    def committed(self, project):
        self.cps.commit(self.first, {}, {'project': project})

    def test_a_plan_name_of_another_project_is_refused_before_the_lock(self):
        self.committed({'id': 'b4d', 'name': 'rival'})
        exc = self.assertRaises(access.AccessError, protect.begin, self.plan)
        self.assertIn('its checkpoints (e.g. %s) hold project rival (b4d)' % self.first,
                      str(exc))
        self.assertIsNone(self.cps.store.get('shop/lock'))
        self.assertEqual([self.first], self.cps.list())

    def test_a_project_of_the_same_name_made_anew_is_refused_before_the_lock(self):
        self.committed({'id': 'f00', 'name': 'shop'})
        self.source.identity.find_project.return_value = mock.Mock(id='new')
        exc = self.assertRaises(access.AccessError, protect.begin, self.plan)
        self.assertIn("plan shop: project 'shop' on site-a is now new, but the plan was made "
                      "for project f00 (its checkpoints hold it)", str(exc))
        self.assertIsNone(self.cps.store.get('shop/lock'))

    def test_a_member_source_is_refused_the_backup_method_before_the_lock(self):
        member = mock.Mock(draas_mode='member', current_project_id='f00')
        member.identity.get_project.return_value = mock.Mock(id='f00')
        member.identity.get_project.return_value.name = 'shop'
        self.useFixture(fixtures.MockPatch('actions.sites.connect', side_effect=lambda site, **kw: {
            'site-a': member, 'site-b': self.source}[site]))
        exc = self.assertRaises(volumes.VolumeReplicationError, protect.begin, self.plan)
        self.assertEqual(
            'plan.policy.replication: \'backup\' needs admin credentials at both sites '
            '(Cinder exports and imports backup records for admins only), and site-a is a '
            'member\'s: use "image" (volume snapshots uploaded to Glance and copied to the '
            'recovery site\'s), which members may run', str(exc))
        self.assertIsNone(self.cps.store.get('shop/lock'))
        self.plan['policy'] = {'name': 'silver', 'replication': 'image'}
        self.assertIn('checkpoint_id', protect.begin(self.plan))

    def test_a_plan_saved_for_one_project_id_begins_for_no_other(self):
        self.plan['scope']['project_id'] = 'f00'
        self.source.identity.find_project.return_value = mock.Mock(id='new')
        exc = self.assertRaises(access.AccessError, protect.begin, self.plan)
        self.assertIn('is now new, but the plan was made for project f00: ', str(exc))
        self.assertIsNone(self.cps.store.get('shop/lock'))
        self.assertEqual([], self.cps.list())

    def test_the_same_project_begins(self):
        self.committed({'id': 'f00', 'name': 'shop'})
        cid = protect.begin(self.plan)['checkpoint_id']
        self.assertIsNotNone(self.cps.store.get('shop/lock'))
        self.assertEqual('shop', self.cps.get_part(cid, 'plan')['name'])


class TestStopServers(base.BaseTestCase):
    """A planned failover stops what runs (a paused server unpaused first) and, run again
    with nothing to stop, names the final checkpoint to restore again."""

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.source = mock.Mock()
        self.useFixture(fixtures.MockPatch('actions.sites.connect',
                                           return_value=self.source))
        self.servers = [mock.Mock(id='s1', status='ACTIVE', updated_at='t1'),
                        mock.Mock(id='s2', status='PAUSED', updated_at='t2')]
        for s in self.servers:
            s.name = s.id
        self.useFixture(fixtures.MockPatch('actions.discovery.find_servers',
                                           side_effect=lambda *a: (mock.Mock(),
                                                                   self.servers)))
        self.wait = self.useFixture(fixtures.MockPatch(
            'actions.replication.volumes.wait_all')).mock
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop'}, 'policy': 'silver',
                     'options': {'store': 'file://' + root}}
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')

    def checkpoint_of(self, servers, day=1):
        docs = [{'id': s.id, 'status': s.status, 'updated_at': s.updated_at}
                for s in servers]
        cid = old_id(day)
        parts = {'resources': self.cps.put_part(cid, 'resources', {
            'resources': {'server': docs}})}
        self.cps.commit(cid, parts, {})
        return cid

    def test_running_and_paused_servers_are_stopped(self):
        before = time.time()
        out = protect.stop_servers(self.plan)
        self.assertEqual((['s1', 's2'], None), (out['stopped'], out['current']))
        self.assertGreaterEqual(out['stopped_at'], before)  # the planned RTO's start
        compute = self.source.compute
        compute.unpause_server.assert_called_once_with(self.servers[1])
        self.assertEqual(self.servers, [c.args[0] for c in
                                        compute.stop_server.call_args_list])
        self.assertEqual(['s1', 's2'], self.wait.call_args.args[1])

    def test_a_rerun_names_the_final_checkpoint(self):
        for s in self.servers:
            s.status = 'SHUTOFF'
        self.checkpoint_of(self.servers, 1)
        final = self.checkpoint_of(self.servers, 2)
        out = protect.stop_servers(self.plan)
        self.assertEqual(([], final), (out['stopped'], out['current']))
        self.source.compute.stop_server.assert_not_called()

    def test_a_server_changed_since_the_checkpoint_needs_another(self):
        self.servers[0].status = self.servers[1].status = 'SHUTOFF'
        self.checkpoint_of(self.servers)
        self.servers[1].updated_at = 't3'  # started, written, stopped again
        self.assertIsNone(protect.stop_servers(self.plan)['current'])

    def test_a_checkpoint_of_running_servers_is_not_final(self):
        self.checkpoint_of(self.servers)
        for s in self.servers:
            s.status = 'SHUTOFF'
        self.assertIsNone(protect.stop_servers(self.plan)['current'])


class TestSnapshotStep(base.BaseTestCase):
    """The point-in-time step: what it made is recorded before it waits, deleted when it
    fails (the freeze window over, a snapshot refused) and by abort after a later failure."""

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.source = mock.MagicMock()
        self.source.compute.create_server_image.side_effect = (
            lambda sid, **kw: mock.Mock(id='img-' + sid))
        self.source.block_storage.create_snapshot.side_effect = (
            lambda volume_id, **kw: mock.Mock(id='snap-' + volume_id))
        self.useFixture(fixtures.MockPatch('actions.sites.connect', return_value=self.source))
        self.plan = {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                     'scope': {'project': 'shop'}, 'policy': 'silver',
                     'options': {'store': 'file://' + root}}
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(root), 'shop')
        self.cid = checkpoint.new_checkpoint_id()
        self.cps.put_part(self.cid, 'resources', {'project_id': 'p1', 'resources': {
            'server': [{'id': 's1', 'name': 'web', 'image_id': 'i1', 'tags': []}],
            'volume': [{'id': 'v1'}]}})

    def deleted(self):
        return ([c.args[0] for c in self.source.image.delete_image.call_args_list],
                [c.args[0] for c in self.source.block_storage.delete_snapshot.call_args_list])

    def test_taken_within_the_window_and_recorded(self):
        self.source.image.images.return_value = [mock.Mock(id='img-s1', status='active')]
        self.source.block_storage.snapshots.return_value = [
            mock.Mock(id='snap-v1', status='available')]
        out = protect.snapshot(self.plan, self.cid, freeze_seconds=30)
        made = self.cps.get_part(self.cid, 'snapshots')
        self.assertEqual(({'s1': 'img-s1'}, {'v1': 'snap-v1'}),
                         (made['root_disks'], made['volumes']))
        self.assertLessEqual(made['requested_from'], made['captured_at'])
        self.assertEqual((1, 1, 30), (out['root_disks'], out['volumes'],
                                      out['freeze_seconds']))
        self.assertEqual(([], []), self.deleted())

    def test_over_the_freeze_window_everything_made_is_deleted(self):
        self.source.image.images.return_value = [mock.Mock(id='img-s1', status='active')]
        self.source.block_storage.snapshots.return_value = [
            mock.Mock(id='snap-v1', status='creating')]
        err = self.assertRaises(protect.errors.DraasError, protect.snapshot, self.plan,
                                self.cid, freeze_seconds=1)
        self.assertIn('the snapshots did not fit in the freeze window of 1 s '
                      '(options.hooks.freeze_seconds): volume snapshot not available after',
                      str(err))
        self.assertEqual((['img-s1'], ['snap-v1']), self.deleted())

    def test_abort_deletes_what_a_run_made_and_its_parts(self):
        self.cps.put_part(self.cid, 'snapshots', {'root_disks': {'s1': 'img-s1'},
                                                  'volumes': {'v1': 'snap-v1'}})
        self.cps.lock(self.cid, 10)
        protect.abort(self.plan, self.cid)
        self.assertEqual((['img-s1'], ['snap-v1']), self.deleted())
        self.assertEqual([], self.cps.store.list('shop/%s/' % self.cid))
