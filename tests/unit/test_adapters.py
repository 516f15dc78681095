"""Storage replication adapters: loading by entry point, the Cinder adapter, the replication
method's checkpoint step, and the lab's array with its adapter (real files, real HTTP)."""
import http.server
import importlib.util
import os
import threading
from unittest import mock

import fixtures
from oslotest import base

from actions import plan as plan_mod
from actions.replication import adapters
from actions.replication import volumes

TOOLS = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'drlab')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


array_mod = load_tool('storage_array')
array_adapter = load_tool('storage_array_adapter')


def plan(**replication):
    return plan_mod.validate({
        'name': 'shop', 'source': 'site-a', 'target': 'site-b', 'scope': {'project': 'shop'},
        'policy': {'name': 'gold', 'replication': 'replication'},
        'options': {'replication': replication}}, check_sites=False)


class FakeEntryPoint:
    def __init__(self, name, cls):
        self.name, self.cls = name, cls

    def load(self):
        if isinstance(self.cls, Exception):
            raise self.cls
        return self.cls


class TestLoad(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.eps = [FakeEntryPoint('cinder', adapters.CinderAdapter),
                    FakeEntryPoint('broken', ImportError('No module named vendor_sdk'))]
        self.useFixture(fixtures.MockPatch(
            'actions.replication.adapters.metadata.entry_points',
            lambda group: self.eps if group == adapters.GROUP else []))
        self.useFixture(fixtures.MockPatch('actions.sites.settings', lambda site: {
            'replication': {'cinder': {'site': site}}}))

    def test_the_plan_s_adapter_gets_each_site_s_settings(self):
        adapter = adapters.load(plan())
        self.assertIsInstance(adapter, adapters.CinderAdapter)
        self.assertEqual({'site-a': {'site': 'site-a'}, 'site-b': {'site': 'site-b'}},
                         adapter.settings)

    def test_an_adapter_not_installed_is_named_with_those_that_are(self):
        exc = self.assertRaises(adapters.ReplicationError, adapters.load,
                                plan(adapter='netapp'))
        self.assertEqual("plan.options.replication.adapter: no adapter 'netapp' is installed "
                         "(installed: broken, cinder; an adapter is a draas.replication entry "
                         "point)", str(exc))

    def test_an_adapter_that_does_not_import_says_why(self):
        exc = self.assertRaises(adapters.ReplicationError, adapters.load,
                                plan(adapter='broken'))
        self.assertEqual("replication adapter 'broken' does not load: No module named "
                         "vendor_sdk", str(exc))

    def test_the_adapter_name_is_validated_with_the_plan(self):
        exc = self.assertRaises(plan_mod.PlanError, plan, adapter='Not A Name')
        self.assertIn('plan.options.replication.adapter: expected the storage replication '
                      'adapter', str(exc))


class TestCinderAdapter(base.BaseTestCase):

    def conn(self, *vols):
        c = mock.Mock()
        c.block_storage.volumes.return_value = [
            mock.Mock(id=i, replication_status=st, volume_type='rep', size=1, host='h@b')
            for i, st in vols]
        return c

    def test_volumes_of_replicated_types_are_recorded(self):
        c = self.conn(('v1', 'enabled'), ('v2', 'enabled'), ('other', 'disabled'))
        replicas = adapters.CinderAdapter(plan(), {}).enable(c, [{'id': 'v1'}, {'id': 'v2'}])
        self.assertEqual({'v1', 'v2'}, set(replicas))
        self.assertEqual('enabled', replicas['v1']['replication_status'])

    def test_a_volume_that_is_not_replicated_is_named(self):
        c = self.conn(('v1', 'enabled'), ('v2', 'disabled'))
        exc = self.assertRaises(adapters.ReplicationError,
                                adapters.CinderAdapter(plan(), {}).enable, c,
                                [{'id': 'v1'}, {'id': 'v2'}, {'id': 'v3'}])
        self.assertIn('not so: v2 (rep, replication disabled), v3 (gone)', str(exc))

    def test_a_restore_needs_the_backend_holding_the_replicas(self):
        exc = self.assertRaises(adapters.ReplicationError,
                                adapters.CinderAdapter(plan(), {}).restorable)
        self.assertIn('options.restore.replica_host', str(exc))
        adapter = adapters.CinderAdapter(plan_mod.validate(dict(
            plan(), options={'restore': {'replica_host': 'b@rep#pool'}}),
            check_sites=False), {})
        adapter.restorable()
        self.assertEqual({'host': 'b@rep#pool', 'ref': {'source-name': 'volume-v1'},
                          'synced_at': None, 'lag_seconds': None},
                         adapter.promote({'volume_id': 'v1'}))
        self.assertRaises(adapters.ReplicationError, adapter.clone, {}, 'drill-x')


class FakeAdapter(adapters.Adapter):
    name = 'fake'

    def __init__(self, states):
        self.states, self.enabled = list(states), []

    def enable(self, conn, volumes):
        self.enabled += [v['id'] for v in volumes]
        return {v['id']: {'replica_id': 'r-' + v['id']} for v in volumes}

    def status(self, replicas):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {vid: {'state': state, 'synced_at': 100.0, 'lag_seconds': 0.4}
                for vid in replicas}


class TestReplicationMethod(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch('actions.replication.volumes.POLL', 0))

    def use(self, adapter):
        self.useFixture(fixtures.MockPatch('actions.replication.adapters.load',
                                           lambda p: adapter))

    def test_replicas_are_enabled_then_waited_for_until_in_sync(self):
        adapter = FakeAdapter(['missing', 'syncing', 'replicating'])
        self.use(adapter)
        data = volumes.replicate(plan(), 'src', 'dst', [{'id': 'v1', 'size': 1}], 'cp1')
        self.assertEqual(['v1'], adapter.enabled)
        self.assertEqual({'v1': {'method': 'replication', 'adapter': 'fake',
                                 'replica': {'replica_id': 'r-v1'}, 'synced_at': 100.0,
                                 'lag_seconds': 0.4, 'size': 1, 'received_bytes': None,
                                 'bytes_copied': None}},
                         data)
        self.assertEqual([], adapter.states[1:])

    def test_a_replica_never_in_sync_fails_the_checkpoint_naming_it(self):
        self.use(FakeAdapter(['syncing']))
        exc = self.assertRaises(volumes.VolumeReplicationError, volumes.replication,
                                plan(), 'src', [{'id': 'v1', 'size': 1}], timeout=0)
        self.assertEqual('replicas not in sync after 0 s: v1 (syncing)', str(exc))


class ArrayPair(fixtures.Fixture):
    """Two lab arrays (site-a, site-b) over real HTTP on ephemeral ports, with real files;
    rounds are driven by the test (push), not by a thread."""

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        self.arrays, self.urls = {}, {}
        for site in ('site-a', 'site-b'):
            export = os.path.join(self.root, site, 'export')
            os.makedirs(export)
            array = array_mod.Array(site, os.path.join(self.root, site, 'array'), export,
                                    '%s-cinder@nfs#nfs' % site)
            server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     array_mod.handler(array))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.addCleanup(server.server_close)
            self.addCleanup(server.shutdown)
            self.arrays[site] = array
            self.urls[site] = 'http://127.0.0.1:%d' % server.server_address[1]
        self.adapter = array_adapter.LabAdapter(plan(adapter='lab'), {
            site: {'url': url} for site, url in self.urls.items()})

    def volume(self, vid, size=1 << 30):
        path = self.arrays['site-a'].volume_file(vid)
        with open(path, 'wb') as f:
            f.truncate(size)  # sparse, like the lab's Cinder makes them
        return path


class TestLabArray(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.pair = self.useFixture(ArrayPair())
        self.a = self.pair.arrays['site-a']
        self.conn = mock.Mock()
        self.conn.block_storage.volumes.return_value = [
            mock.Mock(id='v1', replication_status=None, volume_type='replicated'),
            mock.Mock(id='v2', replication_status='disabled', volume_type='plain')]
        self.conn.block_storage.find_type.side_effect = lambda name: mock.Mock(extra_specs={
            'replication_enabled': '<is> True'} if name == 'replicated' else {})

    def write(self, path, offset, data):
        with open(path, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def test_only_changed_blocks_cross_and_the_replica_holds_the_bytes(self):
        path = self.pair.volume('v1')
        self.write(path, 0, b'a' * 200000)
        self.write(path, 500 << 20, b'tail')
        replicas = self.pair.adapter.enable(self.conn, [{'id': 'v1'}])
        self.assertEqual('missing', self.pair.adapter.status(replicas)['v1']['state'])
        self.a.push('v1')
        first = self.a.outgoing['v1']['sent_bytes']
        # 4 blocks of 64 KiB hold the 200000 bytes, 1 the tail; a 1 GiB volume otherwise
        self.assertEqual(5 * (array_mod.BLOCK + array_mod.FRAME.size), first)
        self.a.push('v1')  # nothing changed: nothing read, nothing sent
        self.assertEqual(first, self.a.outgoing['v1']['sent_bytes'])
        self.write(path, 70000, b'b' * 10)
        self.a.push('v1')
        self.assertEqual(first + array_mod.BLOCK + array_mod.FRAME.size,
                         self.a.outgoing['v1']['sent_bytes'])
        state = self.pair.adapter.status(replicas)['v1']
        self.assertEqual('replicating', state['state'])
        self.assertLess(state['lag_seconds'], 5)
        replica = self.pair.arrays['site-b'].replica_file('v1')
        with open(replica, 'rb') as f:
            self.assertEqual(b'a' * 70000 + b'b' * 10 + b'a' * 129990, f.read(200000))
            f.seek(500 << 20)
            self.assertEqual(b'tail\0', f.read(5))
        st = os.stat(replica)
        self.assertEqual(1 << 30, st.st_size)
        self.assertLessEqual(st.st_blocks * 512, 5 * array_mod.BLOCK)  # sparse too

    def test_a_volume_of_a_type_not_replicated_is_named(self):
        self.pair.volume('v2')
        exc = self.assertRaises(adapters.ReplicationError, self.pair.adapter.enable,
                                self.conn, [{'id': 'v1'}, {'id': 'v2'}, {'id': 'v3'}])
        self.assertEqual('volumes not of a replicated type (replication_enabled "<is> '
                         'True"): v2 (type plain), v3 (gone)', str(exc))

    def test_a_clone_leaves_the_replica_receiving_a_promote_stops_it(self):
        path = self.pair.volume('v1', 1 << 20)
        self.write(path, 0, b'before')
        replicas = self.pair.adapter.enable(self.conn, [{'id': 'v1'}])
        self.a.push('v1')
        b = self.pair.arrays['site-b']
        clone = self.pair.adapter.clone(replicas['v1'], 'drill-x')
        self.assertEqual({'source-name': '127.0.0.1:%s/clone-drill-x-v1' % b.export},
                         clone['ref'])
        self.assertEqual('site-b-cinder@nfs#nfs', clone['host'])
        self.write(path, 0, b'after!')
        self.a.push('v1')
        with open(os.path.join(b.export, 'clone-drill-x-v1'), 'rb') as f:
            self.assertEqual(b'before', f.read(6))
        with open(b.replica_file('v1'), 'rb') as f:
            self.assertEqual(b'after!', f.read(6))
        handed = self.pair.adapter.promote(replicas['v1'])
        self.assertEqual({'source-name': '127.0.0.1:%s/replica-v1' % b.export},
                         handed['ref'])
        self.assertEqual(handed['ref'], self.pair.adapter.promote(replicas['v1'])['ref'])
        with open(os.path.join(b.export, 'replica-v1'), 'rb') as f:
            self.assertEqual(b'after!', f.read(6))
        self.write(path, 0, b'later!')
        self.a.push('v1')  # refused by the peer: this direction is over
        self.assertEqual('promoted at the peer', self.a.outgoing['v1']['state'])
        with open(os.path.join(b.export, 'replica-v1'), 'rb') as f:
            self.assertEqual(b'after!', f.read(6))
        self.assertEqual('promoted', self.pair.adapter.status(replicas)['v1']['state'])

    def test_a_reversed_volume_sends_back_only_what_changed(self):
        """After a failover: site-b's copy of v1 replicates back to site-a, its replica
        there started from the original v1; the original's own replication stops."""
        path = self.pair.volume('v1')
        self.write(path, 0, b'x' * (4 << 20))  # 4 MiB of data
        replicas = self.pair.adapter.enable(self.conn, [{'id': 'v1'}])
        self.a.push('v1')
        b = self.pair.arrays['site-b']
        handed = self.pair.adapter.promote(replicas['v1'])
        copy = os.path.join(b.export, 'volume-c1')  # as Cinder's manage renames it
        os.rename(os.path.join(b.export, handed['ref']['source-name'].rsplit('/', 1)[1]),
                  copy)
        self.write(copy, 1 << 20, b'written at site-b')
        back = self.pair.adapter.reverse(replicas['v1'], 'c1')
        self.assertEqual({'replica_id': 'c1'}, back)
        self.assertNotIn('v1', self.a.outgoing)
        b.push('c1')
        self.assertEqual(array_mod.BLOCK + array_mod.FRAME.size,
                         b.outgoing['c1']['sent_bytes'])
        with open(self.a.replica_file('c1'), 'rb') as f:
            f.seek(1 << 20)
            self.assertEqual(b'written at site-b', f.read(17))
            f.seek(0)
            self.assertEqual(b'x' * 1024, f.read(1024))
        self.assertEqual(handed['ref'], self.pair.adapter.promote(replicas['v1'])['ref'])
        self.assertEqual({'replica_id': 'c1'}, self.pair.adapter.reverse(replicas['v1'],
                                                                         'c1'))

    def test_a_deleted_volume_takes_its_replica_along(self):
        path = self.pair.volume('v1', 1 << 20)
        replicas = self.pair.adapter.enable(self.conn, [{'id': 'v1'}])
        self.a.push('v1')
        b = self.pair.arrays['site-b']
        self.assertTrue(os.path.exists(b.replica_file('v1')))
        os.unlink(path)
        self.a.push('v1')
        self.assertEqual({}, self.a.outgoing)
        self.assertFalse(os.path.exists(b.replica_file('v1')))
        self.assertEqual('missing', self.pair.adapter.status(replicas)['v1']['state'])

    def test_a_silent_source_leaves_the_replica_as_last_synced(self):
        self.pair.volume('v1', 1 << 20)
        replicas = self.pair.adapter.enable(self.conn, [{'id': 'v1'}])
        self.a.push('v1')
        b = self.pair.arrays['site-b']
        b.incoming['v1']['contact_at'] -= 60  # a minute without news
        b.incoming['v1']['synced_at'] -= 60.2
        state = self.pair.adapter.status(replicas)['v1']
        self.assertEqual('source silent', state['state'])
        # as of the last contact, plus the round that did not come
        self.assertAlmostEqual(0.2 + array_mod.INTERVAL, state['lag_seconds'], delta=0.05)

    def test_an_array_missing_or_silent_is_named(self):
        adapter = array_adapter.LabAdapter(plan(adapter='lab'), {'site-b': {}})
        exc = self.assertRaises(adapters.ReplicationError, adapter.status, {})
        self.assertEqual('the clouds.yaml entry of site-b names no array for adapter lab '
                         '(draas: {replication: {lab: {url: ...}}})', str(exc))
        adapter = array_adapter.LabAdapter(plan(adapter='lab'), {
            'site-b': {'url': 'http://127.0.0.1:9'}})  # nothing listens there
        exc = self.assertRaises(adapters.ReplicationError, adapter.status, {})
        self.assertIn('the array of site-b does not answer (http://127.0.0.1:9)', str(exc))
