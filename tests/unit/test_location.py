"""Where backups live: the probe proving a recovery site reads a source's backups."""
import json
from unittest import mock

import fixtures
from oslotest import base

from actions import checkpoint
from actions.replication import location


def cinder(volume_id, backup_status='available', fail_reason=None):
    """A Cinder whose volumes are available at once and whose backups are `backup_status`."""
    bs = mock.Mock()
    bs.create_volume.return_value = mock.Mock(id=volume_id)
    bs.get_volume.return_value = mock.Mock(status='available')
    bs.create_backup.return_value = mock.Mock(id='b1')
    bs.get_backup.return_value = mock.Mock(id='b1', status=backup_status,
                                           fail_reason=fail_reason)
    bs.export_backup.return_value = {'backup-record': {'backup_service': 'x',
                                                       'backup_url': 'eA=='}}
    bs.find_backup.return_value = None
    bs.post.return_value = mock.Mock(status_code=201)
    return bs


class TestProbe(base.BaseTestCase):

    def test_a_backup_the_target_imports_and_restores_is_readable_and_all_goes(self):
        source, target = mock.Mock(), mock.Mock()
        source.block_storage = sbs = cinder('v-src')
        target.block_storage = tbs = cinder('v-dst')
        result = location.probe_backup(source, target, timeout=5)
        self.assertEqual((True, None), (result['readable'], result['reason']))
        self.assertEqual(sbs.export_backup.return_value,  # the source's record, imported
                         tbs.post.call_args[1]['json'])
        tbs.restore_backup.assert_called_once_with('b1', volume_id='v-dst')
        for bs, volume in ((sbs, 'v-src'), (tbs, 'v-dst')):
            bs.delete_volume.assert_called_once_with(volume, ignore_missing=True)
            bs.delete_backup.assert_called_once_with('b1', ignore_missing=True)

    def test_an_import_the_target_fails_says_so_with_cinder_s_reason(self):
        source, target = mock.Mock(), mock.Mock()
        source.block_storage = sbs = cinder('v-src')
        target.block_storage = tbs = cinder('v-dst', 'error', 'Import record failed, cannot '
                                            'find backup service to perform the import.')
        result = location.probe_backup(source, target, timeout=5)
        self.assertFalse(result['readable'])
        self.assertEqual('importing the backup record at the recovery site: imported backup '
                         'in error: b1 (Cinder: Import record failed, cannot find backup '
                         'service to perform the import.)', result['reason'])
        tbs.create_volume.assert_not_called()
        tbs.delete_backup.assert_called_once_with('b1', ignore_missing=True)  # its record
        sbs.delete_volume.assert_called_once_with('v-src', ignore_missing=True)
        sbs.delete_backup.assert_called_once_with('b1', ignore_missing=True)


class TestCache(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.store = checkpoint.FileStore(self.useFixture(fixtures.TempDir()).path)
        self.probe = self.useFixture(fixtures.MockPatchObject(
            location, 'probe_backup', return_value={'readable': True, 'reason': None,
                                                    'seconds': 9.0})).mock

    def path(self, store=True):
        return location.backup_path('site-a', 'site-b', 'src', 'dst',
                                    self.store if store else None)

    def test_a_pair_that_passed_is_not_probed_again_for_a_day(self):
        first = self.path()
        self.assertEqual((True, False), (first['readable'], first['cached']))
        second = self.path()
        self.assertEqual(dict(first, cached=True), second)
        self.assertEqual(1, self.probe.call_count)
        # A day later: probed again.
        key = location.CACHE % ('site-a', 'site-b')
        self.store.put(key, json.dumps(dict(first, checked_at='2026-11-28T12:00:00Z'))
                       .encode())
        self.assertFalse(self.path()['cached'])
        self.assertEqual(2, self.probe.call_count)
        # The pair the other way round is another pair.
        location.backup_path('site-b', 'site-a', 'dst', 'src', self.store)
        self.assertEqual(3, self.probe.call_count)

    def test_a_pair_that_failed_is_probed_at_each_check(self):
        self.probe.return_value = {'readable': False, 'reason': 'no', 'seconds': 1.0}
        self.assertFalse(self.path()['readable'])
        self.probe.return_value = {'readable': True, 'reason': None, 'seconds': 1.0}
        self.assertTrue(self.path()['readable'])  # fixed meanwhile: seen at once
        self.assertEqual(2, self.probe.call_count)

    def test_without_a_store_every_check_probes(self):
        self.path(store=False)
        self.path(store=False)
        self.assertEqual(2, self.probe.call_count)

    def test_backups_of_another_driver_than_the_probed_drop_the_probe(self):
        self.useFixture(fixtures.MockPatchObject(location, '_cache', return_value=self.store))
        swift, posix = ('cinder.backup.drivers.swift.SwiftBackupDriver',
                        'cinder.backup.drivers.posix.PosixBackupDriver')
        self.probe.return_value = {'readable': True, 'reason': None, 'service': swift,
                                   'seconds': 1.0}
        probed = self.path()
        data = {'v1': {'backup_id': 'b1', 'record': {'backup_service': swift}}}
        location.confirm('site-a', 'site-b', 'dst', data)  # as probed: nothing to say
        self.assertTrue(self.path()['cached'])
        data['v2'] = {'backup_id': 'b2', 'record': {'backup_service': posix}}
        exc = self.assertRaises(location.DataLocationError, location.confirm,
                                'site-a', 'site-b', 'dst', data)
        self.assertEqual(
            'the backups of site-a were written by %s, not by %s that the probe of %s proved '
            'readable at site-b: its cinder-backup was reconfigured. Run the checkpoint '
            'again: it probes where the backups are read first' % (
                posix, swift, probed['checked_at']), str(exc))
        self.assertEqual(['b1', 'b2'], exc.orphan_backups)
        self.assertFalse(self.path()['cached'])  # probed again


    def test_a_probe_failed_while_the_checkpoint_ran_fails_it(self):
        self.useFixture(fixtures.MockPatchObject(location, '_cache', return_value=self.store))
        self.probe.return_value = {'readable': False, 'reason': 'importing: in error',
                                   'service': 'swift', 'seconds': 1.0}
        probed = self.path()
        exc = self.assertRaises(location.DataLocationError, location.confirm, 'site-a',
                                'site-b', 'dst', {'v1': {'backup_id': 'b1', 'record': {
                                    'backup_service': 'swift'}}})
        self.assertEqual("site-b cannot read the backups site-a makes (probe of %s: "
                         "importing: in error): this checkpoint's would not survive the loss "
                         "of site-a" % probed['checked_at'], str(exc))
        self.assertEqual(['b1'], exc.orphan_backups)

class TestPairs(base.BaseTestCase):

    def test_each_ordered_pair_is_probed_except_where_a_member_cannot(self):
        conns = {'a': mock.Mock(draas_mode='admin'), 'b': mock.Mock(draas_mode='admin'),
                 'm': mock.Mock(draas_mode='member')}
        self.useFixture(fixtures.MockPatch('actions.sites.connect', side_effect=conns.get))
        self.useFixture(fixtures.MockPatchObject(location, '_cache', return_value=None))
        path = self.useFixture(fixtures.MockPatchObject(
            location, 'backup_path', side_effect=lambda s, t, *a, **kw: {
                'readable': True, 'pair': (s, t), 'fresh': kw['fresh']})).mock
        found = location.check_pairs(['a', 'b', 'm'], fresh=True)
        self.assertEqual({'a -> b', 'b -> a', 'a -> m', 'm -> a', 'b -> m', 'm -> b'},
                         set(found))
        self.assertEqual({'readable': True, 'pair': ('a', 'b'), 'fresh': True},
                         found['a -> b']['backup'])
        self.assertEqual(2, path.call_count)
        self.assertEqual(
            {'readable': None, 'reason': "not probed: Cinder exports and imports backup "
                                         "records for admins only, and m is a member's"},
            found['m -> a']['backup'])
        self.assertEqual({}, location.check_pairs(['a']))

