import datetime
import hashlib
import json
from unittest import mock

import fixtures
from openstack import exceptions as sdk_exceptions
from oslotest import base

from actions import checkpoint


class TestFileStoreCheckpoints(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.store = checkpoint.open_store('file://' + root)
        self.cps = checkpoint.Checkpoints(self.store, 'shop')

    def commit(self, cid, payload='x'):
        parts = {'resources': self.cps.put_part(cid, 'resources', {'v': payload})}
        return self.cps.commit(cid, parts, {'counts': {}})

    def test_parts_then_manifest_make_a_checkpoint(self):
        cid = checkpoint.new_checkpoint_id()
        self.cps.put_part(cid, 'resources', {'v': 1})
        self.assertEqual([], self.cps.list())  # no manifest: does not exist
        self.commit(cid)
        self.assertEqual([cid], self.cps.list())
        self.assertEqual('committed', self.cps.verify(cid)['status'])

    def test_tampered_truncated_and_missing(self):
        cid = checkpoint.new_checkpoint_id()
        self.commit(cid)
        key = 'shop/%s/resources.json' % cid
        good = self.store.get(key)
        self.store.put(key, good[:-3])
        exc = self.assertRaises(checkpoint.StoreError, self.cps.verify, cid)
        self.assertIn('part resources does not match its sha256', str(exc))
        self.store.delete(key)
        self.assertIn('has no part resources',
                      str(self.assertRaises(checkpoint.StoreError, self.cps.verify, cid)))
        self.store.delete('shop/%s/manifest.json' % cid)
        self.assertIn('no committed checkpoint',
                      str(self.assertRaises(checkpoint.StoreError, self.cps.verify, cid)))

    def test_a_manifest_changed_with_its_hashes_is_refused(self):
        """Whoever can write the store can change a part and its hash in the manifest; only
        the executors' key signs: refused, naming the newest intact checkpoint."""
        old, cid = '20261101T000000Z-000000', checkpoint.new_checkpoint_id()
        self.commit(old)
        self.commit(cid)
        part = json.dumps({'v': 'forged'}).encode()
        self.store.put('shop/%s/resources.json' % cid, part)
        key = 'shop/%s/manifest.json' % cid
        manifest = json.loads(self.store.get(key))
        manifest['parts']['resources'] = {'sha256': hashlib.sha256(part).hexdigest(),
                                          'size': len(part)}
        self.store.put(key, json.dumps(manifest).encode())
        exc = self.assertRaises(checkpoint.StoreError, self.cps.read, cid)
        self.assertIn("checkpoint %s of plan shop: the manifest's signature is wrong (it was "
                      "written or changed without the executors' key); the newest intact "
                      "checkpoint is %s" % (cid, old), str(exc))
        # Re-signed with another key (not the executors'), or unsigned: refused alike.
        manifest['signature'] = checkpoint.signature(manifest, b'k' * 32)
        self.store.put(key, json.dumps(manifest).encode())
        self.assertIn('signature is wrong', str(self.assertRaises(
            checkpoint.StoreError, self.cps.verify, cid)))
        del manifest['signature']
        self.store.put(key, json.dumps(manifest).encode())
        self.assertIn('signature is missing', str(self.assertRaises(
            checkpoint.StoreError, self.cps.verify, cid)))

    def test_without_the_key_nothing_is_committed_nor_read(self):
        cid = checkpoint.new_checkpoint_id()
        self.commit(cid)
        missing = self.useFixture(fixtures.TempDir()).join('none.key')
        self.useFixture(fixtures.EnvironmentVariable('DRAAS_MANIFEST_KEY_FILE', missing))
        exc = self.assertRaises(checkpoint.StoreError, self.commit,
                                checkpoint.new_checkpoint_id())
        self.assertIn('no manifest key in %s (No such file or directory): draas signs '
                      'checkpoint manifests with a key only Mistral\'s executors hold'
                      % missing, str(exc))
        self.assertRaises(checkpoint.StoreError, self.cps.verify, cid)
        self.assertEqual([cid], self.cps.list())

    def test_manifest_of_another_plan_is_refused(self):
        cid = checkpoint.new_checkpoint_id()
        other = checkpoint.Checkpoints(self.store, 'other')
        other.commit(cid, {}, {})
        self.store.put('shop/%s/manifest.json' % cid,
                       self.store.get('other/%s/manifest.json' % cid))
        exc = self.assertRaises(checkpoint.StoreError, self.cps.verify, cid)
        self.assertIn('belongs to other/', str(exc))

    def test_a_damaged_checkpoint_names_the_newest_intact_one(self):
        ids = ['20261101T00000%dZ-00000%d' % (i, i) for i in range(4)]
        for cid in ids:
            self.commit(cid)
        # The newest two damaged: byte changed, manifest gone; the third is the one to use.
        key = 'shop/%s/resources.json' % ids[3]
        self.store.put(key, self.store.get(key).replace(b'x', b'y'))
        self.store.delete('shop/%s/manifest.json' % ids[2])
        exc = self.assertRaises(checkpoint.StoreError, self.cps.read, ids[3])
        self.assertIn('part resources does not match its sha256', str(exc))
        self.assertIn('the newest intact checkpoint is %s: run again with checkpoint_id %s'
                      % (ids[1], ids[1]), str(exc))
        manifest, parts = self.cps.read(ids[1])
        self.assertEqual({'resources': {'v': 'x'}}, parts)
        for cid in ids[:2]:
            self.store.delete('shop/%s/resources.json' % cid)
        self.assertIn('plan shop has no other intact checkpoint',
                      str(self.assertRaises(checkpoint.StoreError, self.cps.verify, ids[3])))

    def test_lock_is_exclusive_and_expires(self):
        self.cps.lock('run-1', 10)
        exc = self.assertRaises(checkpoint.LockedError, self.cps.lock, 'run-2', 10)
        self.assertIn('already running (run-1', str(exc))
        self.cps.unlock('run-2')  # not the owner: no effect
        self.assertRaises(checkpoint.LockedError, self.cps.lock, 'run-2', 10)
        self.cps.unlock('run-1')
        self.cps.lock('run-2', 10)
        # A lock left by a dead run is taken over once expired.
        info = json.loads(self.store.get('shop/lock'))
        info['expires_at'] = '2000-01-01T00:00:00Z'
        self.store.put('shop/lock', json.dumps(info).encode())
        self.cps.lock('run-3', 10)
        self.assertEqual('run-3', json.loads(self.store.get('shop/lock'))['owner'])

    def test_retention_keeps_count_and_young_ones(self):
        old = [(datetime.datetime(2020, 1, d, tzinfo=datetime.timezone.utc)
                .strftime('%Y%m%dT%H%M%SZ') + '-aaaaaa') for d in (1, 2, 3, 4)]
        for cid in old:
            self.commit(cid)
        new = checkpoint.new_checkpoint_id()
        self.commit(new)
        dead = old[0].replace('aaaaaa', 'dddddd')
        self.cps.put_part(dead, 'resources', {})  # a run that died long ago
        expired = self.cps.expired({'count': 2, 'max_age_hours': 24})
        self.assertEqual(sorted(old[:3] + [dead]), sorted(expired))
        self.assertEqual(old[:3], self.cps.expired({'count': 1, 'max_age_hours': 24},
                                                   keep=[old[3], dead, new]))

    def test_keys_cannot_leave_the_store(self):
        self.assertRaises(checkpoint.StoreError, self.store.put, '../x', b'')

    def test_unknown_store_url(self):
        exc = self.assertRaises(checkpoint.StoreError, checkpoint.open_store, 'ftp://x')
        self.assertIn("unknown store 'ftp://x'", str(exc))


class TestSwiftStore(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.conn = mock.Mock()
        self.store = checkpoint.SwiftStore(self.conn, 'c')
        self.conn.object_store.create_container.assert_called_once_with('c')

    def test_exclusive_create_uses_if_none_match(self):
        swift = self.conn.object_store
        self.assertTrue(self.store.create('k', b'v'))
        swift.create_object.assert_called_with('c', 'k', data=b'v', if_none_match=['*'])
        swift.create_object.side_effect = sdk_exceptions.HttpException(
            response=mock.Mock(status_code=412, headers={}))
        self.assertFalse(self.store.create('k', b'v'))

    def test_missing_is_none_other_errors_name_the_key(self):
        swift = self.conn.object_store
        swift.download_object.side_effect = sdk_exceptions.NotFoundException()
        self.assertIsNone(self.store.get('k'))
        swift.objects.side_effect = sdk_exceptions.NotFoundException()
        self.assertEqual([], self.store.list('p/'))
        swift.create_object.side_effect = sdk_exceptions.HttpException(
            response=mock.Mock(status_code=507, headers={}))
        exc = self.assertRaises(checkpoint.StoreError, self.store.put, 'p/k', b'v')
        self.assertEqual('cannot write p/k in Swift: HTTP 507', str(exc))
