"""Restore planning and applying with a fake target: bad input is refused before anything
is made; what exists is not made twice; levels, boot order and failures are reported."""
import json
import types
from unittest import mock

import fixtures
from openstack import exceptions as sdk_exceptions
from oslotest import base

from actions import checkpoint
from actions import resources
from actions.replication import adapters
from actions import restore
from actions.restore import levels
from actions.resources import identity
from tests.unit.test_sites import CloudsYamlFixture

RESOURCES = {
    'project': [{'id': 'p1', 'name': 'shop', 'domain_id': 'default'}],
    'flavor': [{'id': 'f1', 'name': 'm1.small', 'vcpus': 1, 'ram': 512}],
    'image': [{'id': 'i1', 'name': 'cirros'}],
    'network': [{'id': 'n-ext', 'name': 'public', 'is_router_external': True},
                {'id': 'n1', 'name': 'front', 'project_id': 'p1'}],
    'volume': [{'id': 'v1', 'name': 'data', 'size': 1}],
    'server': [{'id': 's%d' % i, 'name': 'srv%d' % i, 'flavor_id': 'f1'} for i in (1, 2, 3)],
}
DATA = {'images': {'i1': {'target_id': 'copy-i1'}},
        'volumes': {'v1': {'method': 'backup', 'backup_id': 'b1', 'record': {'x': 1}}},
        'consistency': 'crash-consistent'}


class FakeTarget:
    """The admin connection to the target: networks and flavors that exist there."""

    def __init__(self, networks=('public',), flavors=('m1.small',), images=('copy-i1',)):
        self.conn = mock.MagicMock(draas_mode='admin')

        def find(names):
            return lambda name, **kw: (mock.Mock(id='id-' + name, vcpus=1, ram=512,
                                                 status='active') if name in names else None)
        self.conn.network.find_network.side_effect = find(networks)
        self.conn.compute.find_flavor.side_effect = find(flavors)
        self.conn.image.find_image.side_effect = find(images)
        self.conn.image.images.side_effect = lambda id='', **kw: [
            mock.Mock(id=i, status='active') for i in id[len('in:'):].split(',')
            if i in images]
        self.conn.identity.find_project.return_value = None
        self.conn.compute.keypairs.return_value = []
        self.conn.network.extensions.return_value = [
            mock.Mock(alias=a) for a in ('standard-attr-tag', 'net-mtu-writable')]
        self.set_default_quotas()

    def project_quotas(self, instances=10, used=0):
        """The limits and usage of a project the target has, and no network in it."""
        conn = self.conn
        conn.compute.get_quota_set.return_value = types.SimpleNamespace(
            usage={'instances': used}, instances=instances, cores=20, ram=51200)
        conn.block_storage.get_quota_set.return_value = types.SimpleNamespace(
            usage={}, volumes=10, gigabytes=1000)
        conn.network.get_quota.return_value = types.SimpleNamespace(usage={}, **{
            k: 10 for k in ('ports', 'floating_ips', 'networks', 'subnets', 'routers',
                            'security_groups')})
        for call in ('networks', 'subnets', 'ports', 'routers', 'security_groups', 'ips'):
            getattr(conn.network, call).return_value = []

    def set_default_quotas(self, **limits):
        quota = dict(dict(instances=10, cores=20, ram=51200, volumes=10, gigabytes=1000,
                          ports=50, floating_ips=10, networks=10, subnets=10, routers=10,
                          security_groups=10), **limits)
        for service, call in (('compute', 'get_quota_set_defaults'),
                              ('block_storage', 'get_quota_set_defaults'),
                              ('network', 'get_quota_default')):
            getattr(getattr(self.conn, service), call).return_value = types.SimpleNamespace(
                usage={}, **quota)


class RestoreTestCase(base.BaseTestCase):
    DATA = DATA

    def setUp(self):
        super().setUp()
        self.useFixture(CloudsYamlFixture())
        self.root = self.useFixture(fixtures.TempDir()).path
        self.cps = checkpoint.Checkpoints(checkpoint.FileStore(self.root), 'shop')
        self.commit_checkpoint(RESOURCES)
        self.target = FakeTarget()
        self.connect = self.useFixture(fixtures.MockPatch(
            'actions.sites.connect', return_value=self.target.conn)).mock

    def commit_checkpoint(self, resources):
        """A committed checkpoint of `resources`; it becomes self.cid."""
        self.cid = checkpoint.new_checkpoint_id()
        parts = {'resources': self.cps.put_part(self.cid, 'resources', {
                     'project_id': 'p1', 'window': {}, 'resources': resources}),
                 'data': self.cps.put_part(self.cid, 'data', self.DATA)}
        self.cps.commit(self.cid, parts, {'created_at': '2026-01-01T00:00:00Z'})

    def plan(self, **restore_options):
        return {'name': 'shop', 'source': 'site-a', 'target': 'site-b',
                'scope': {'project': 'shop'}, 'policy': 'gold',
                'options': {'store': 'file://' + self.root, 'restore': restore_options}}

    def assert_nothing_made(self):
        made = [c for c in self.target.conn.mock_calls if c[0].rsplit('.', 1)[-1].startswith(
            ('create', 'add_', 'assign', 'update', 'set_', 'delete', 'post', 'put'))]
        self.assertEqual([], made)


class TestPreflight(RestoreTestCase):

    def test_a_good_target_gives_a_preview_and_makes_nothing(self):
        out = restore.preflight(self.plan(), dry_run=True)
        self.assertEqual('failover-' + self.cid, out['restore_id'])
        self.assertEqual(list(restore.LEVELS), out['levels'])
        self.assertIn('create project shop', out['preview'])
        self.assertIn('map network public -> public', out['preview'])
        self.assertEqual({'create': 3, 'exists': 0}, out['counts']['server'])
        self.assertEqual({'create': 1, 'exists': 0}, out['counts']['network'])
        self.assert_nothing_made()
        self.assertIsNone(self.cps.get_restore(out['restore_id'], 'state'))
        restore.preflight(self.plan())  # not a dry run: the start is recorded
        self.assertIn('started_at', self.cps.get_restore(out['restore_id'], 'state'))

    def test_a_planned_failovers_rto_counts_from_the_stop_of_the_source(self):
        out = restore.preflight(self.plan(), mode='planned', started_at=1234.5)
        self.assertEqual(1234.5, self.cps.get_restore(out['restore_id'], 'state')[
            'started_at'])

    def test_every_problem_is_named_before_anything_is_made(self):
        self.target = FakeTarget(images=())
        self.connect.return_value = self.target.conn
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(
            networks={'public': 'ext-net'}, flavors={'m1.small': 'small'}))
        text = str(err)
        self.assertIn("network 'public' is external on site-a and site-b has no network "
                      "'ext-net'", text)
        self.assertIn("flavor 'small' (mapped from 'm1.small') does not exist on site-b",
                      text)
        self.assertIn("the copy of image 'cirros' (copy-i1) is missing on site-b", text)
        self.assert_nothing_made()

    def test_insufficient_quota_is_named(self):
        self.target.set_default_quotas(instances=2)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan())
        self.assertIn('compute quota instances of the project on site-b: 3 needed, 0 of 2 '
                      'in use (default quota of a new project)', str(err))
        self.assert_nothing_made()

    def test_a_volume_type_the_target_lacks_is_refused_unless_mapped_or_created(self):
        resources = json.loads(json.dumps(RESOURCES))
        resources['volume_type'] = [{'id': 't1', 'name': 'fast',
                                     'extra_specs': {'iops': '900'}}]
        self.commit_checkpoint(resources)
        self.target.conn.block_storage.types.return_value = [mock.Mock()]
        self.target.conn.block_storage.types.return_value[0].name = 'ssd'
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, dry_run=True)
        self.assertIn("volume type 'fast' is not on site-b: map it in "
                      "options.restore.volume_types, e.g. {'fast': <type of site-b>}, or set "
                      "options.restore.create_volume_types", str(err))
        err = self.assertRaises(restore.RestoreError, restore.preflight,
                                self.plan(volume_types={'fast': 'gold'}), self.cid,
                                dry_run=True)
        self.assertIn("volume type 'gold' (mapped from 'fast') does not exist on site-b",
                      str(err))
        out = restore.preflight(self.plan(volume_types={'fast': 'ssd'}), self.cid,
                                dry_run=True)
        self.assertIn('use volume type ssd', out['preview'])
        out = restore.preflight(self.plan(create_volume_types=True), self.cid,
                                dry_run=True)
        self.assertIn('create volume type fast (extra specs {"iops": "900"})', out['preview'])
        self.assert_nothing_made()

    def test_an_mtu_the_target_cannot_set_is_refused_unless_mapped_to_its_default(self):
        resources = json.loads(json.dumps(RESOURCES))
        resources['network'][1]['mtu'] = 1400
        self.commit_checkpoint(resources)
        self.target.conn.network.extensions.return_value = [mock.Mock(
            alias='standard-attr-tag')]
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, dry_run=True)
        self.assertIn('Neutron of site-b cannot set a network\'s MTU (no "net-mtu-writable" '
                      'extension) and the workload\'s networks have MTU 1400: map them in '
                      'options.restore.mtu (0: the target\'s default), e.g. {"1400": 0}',
                      str(err))
        restore.preflight(self.plan(mtu={'1400': 0}), self.cid, dry_run=True)
        self.assert_nothing_made()

    def test_a_zone_mapped_to_one_the_target_lacks_is_refused(self):
        resources = json.loads(json.dumps(RESOURCES))
        resources['server'][0]['availability_zone'] = 'east'
        resources['volume'][0]['availability_zone'] = 'east'
        self.commit_checkpoint(resources)
        conn = self.target.conn
        conn.compute.availability_zones.return_value = [types.SimpleNamespace(name='west')]
        conn.block_storage.availability_zones.return_value = [types.SimpleNamespace(
            name='nova')]
        err = self.assertRaises(restore.RestoreError, restore.preflight,
                                self.plan(availability_zones={'east': 'west'}), self.cid,
                                dry_run=True)
        self.assertNotIn('compute availability zone', str(err))
        self.assertIn("options.restore.availability_zones: site-b has no block storage "
                      "availability zone 'west' for the volumes mapped to it (it has nova)",
                      str(err))
        self.assert_nothing_made()

    def test_a_domain_the_checkpoint_does_not_describe_must_exist_on_the_target(self):
        self.target.conn.identity.find_domain.return_value = None
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                dry_run=True)
        self.assertIn('project shop: site-b has no domain default and checkpoint %s does not '
                      'describe it (take a new checkpoint, which does)' % self.cid, str(err))
        self.assert_nothing_made()

    def test_compare_refuses_a_strange_restore_id_and_a_restore_not_made(self):
        err = self.assertRaises(restore.RestoreError, restore.compare, self.plan(),
                                self.cid, '../../etc')
        self.assertEqual("restore_id: expected failover-<checkpoint id>, drill-<id> or "
                         "standby-<id> (a summary's restore_id), got '../../etc'", str(err))
        err = self.assertRaises(restore.RestoreError, restore.compare, self.plan(), self.cid)
        self.assertEqual('restore failover-%s of checkpoint %s has made nothing on site-b '
                         'yet (no project in its ID map)' % (self.cid, self.cid), str(err))
        self.assert_nothing_made()

    def test_a_limit_the_restore_raises_to_the_source_projects_is_not_a_problem(self):
        self.target.set_default_quotas(instances=2)
        resources = json.loads(json.dumps(RESOURCES))
        resources['project'][0]['quotas'] = {'compute': {'instances': 50},
                                             'network': {'ports': -1}}
        self.commit_checkpoint(resources)
        out = restore.preflight(self.plan(), self.cid, dry_run=True)
        self.assertEqual({'create': 3, 'exists': 0}, out['counts']['server'])
        # what the source allows is the ceiling: 60 servers would not fit in 50
        resources['server'] = [dict(resources['server'][0], id='s%d' % i, name='s%d' % i)
                               for i in range(60)]
        self.commit_checkpoint(resources)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, dry_run=True)
        self.assertIn('compute quota instances of the project on site-b: 60 needed, 0 of 50',
                      str(err))

    def test_backup_records_to_import_must_fit_the_importing_projects_quota(self):
        bs = self.target.conn.block_storage
        bs.get_quota_set.return_value = types.SimpleNamespace(
            usage={'backups': 10, 'backup_gigabytes': 10}, backups=10, backup_gigabytes=-1)
        bs.find_backup.return_value = None  # not imported yet
        self.target.conn.current_project_id = 'admin-project'
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan())
        self.assertIn('block storage quota backups of project admin-project on site-b '
                      '(where the restore imports 1 backup record(s)): 1 needed, 10 of 10 in '
                      'use', str(err))
        self.assertNotIn('backup_gigabytes', str(err))  # -1: no limit
        self.assert_nothing_made()
        bs.find_backup.return_value = mock.Mock(id='b1')  # a re-run: imported already
        restore.preflight(self.plan(), dry_run=True)

    def project_exists(self):
        """The target has the project, with 3 instances of quota in use, and no network."""
        conn = self.target.conn
        conn.identity.find_project.return_value = types.SimpleNamespace(id='tp1', name='shop')
        self.target.project_quotas(instances=3, used=3)
        return conn

    def test_what_exists_already_is_not_counted_twice_against_quotas(self):
        conn = self.project_exists()
        made = self.copies('failover-' + self.cid)
        conn.compute.servers.return_value = made
        # A re-run: the 3 servers of this restore use the 3 instances of the quota.
        out = restore.preflight(self.plan(), dry_run=True)
        self.assertEqual({'create': 0, 'exists': 3}, out['counts']['server'])
        conn.compute.servers.return_value = []
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan())
        self.assertIn('compute quota instances of the project on site-b: 3 needed, 3 of 3',
                      str(err))

    def copies(self, restore_id):
        """The target's copies of the checkpoint's servers made by restore `restore_id`."""
        return [types.SimpleNamespace(id='t' + s['id'], name=s['name'], tags=[
            'draas-src=' + s['id'], 'draas-restore=' + restore_id])
            for s in RESOURCES['server']]

    def test_a_second_copy_beside_another_restores_is_refused(self):
        conn = self.project_exists()
        older = 'failover-20260101T000000Z-abcdef'
        conn.compute.servers.return_value = self.copies(older)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan())
        self.assertIn('project shop on site-b already holds copies of these servers (srv1, '
                      'srv2, srv3) made by restore %s: a failover of another checkpoint '
                      'would run a second copy' % older, str(err))
        self.assert_nothing_made()

    def test_wrong_inputs_and_boot_orders_are_refused_before_anything_is_recorded(self):
        for kwargs, problem in [
                ({'stop_after': 'bogus'}, "stop_after: expected one of identity, compute"),
                ({'dry_run': 'false'}, "dry_run: expected true or false, got 'false'")]:
            self.assertIn(problem, str(self.assertRaises(
                Exception, restore.preflight, self.plan(), **kwargs)))
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(
            boot_order=[['srv1', 'nosuch'], ['srv2', 'srv1']]))
        self.assertIn("options.restore.boot_order: checkpoint %s has no server 'nosuch'"
                      % self.cid, str(err))
        self.assertIn("options.restore.boot_order: server 'srv1' listed more than once",
                      str(err))
        err = self.assertRaises(checkpoint.StoreError, restore.preflight, self.plan(),
                                checkpoint_id='../x')
        self.assertIn("checkpoint_id: expected an ID like 20261121T234535Z-10a33b", str(err))
        self.assertEqual([], self.cps.restores())
        self.assert_nothing_made()

    def test_unknown_or_tampered_checkpoints_are_refused(self):
        err = self.assertRaises(checkpoint.StoreError, restore.preflight, self.plan(),
                                checkpoint_id='20200101T000000Z-000000')
        self.assertIn('no committed checkpoint 20200101T000000Z-000000', str(err))
        key = 'shop/%s/data.json' % self.cid
        tampered = json.loads(self.cps.store.get(key))
        tampered['images']['i1']['target_id'] = 'evil'
        self.cps.store.put(key, json.dumps(tampered).encode())
        err = self.assertRaises(checkpoint.StoreError, restore.preflight, self.plan())
        self.assertIn('part data does not match its sha256', str(err))
        self.assert_nothing_made()

    def test_bad_mode_and_level_are_refused_first(self):
        self.assertIn("mode: expected one of unplanned, planned, drill, got 'later'", str(
            self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                              mode='later')))
        self.assertIn("level: expected one of identity", str(self.assertRaises(
            restore.RestoreError, restore.apply, self.plan(), self.cid, 'r', 'everything')))
        self.assertIn("stop_after: expected one of", str(self.assertRaises(
            restore.RestoreError, restore.apply, self.plan(), self.cid, 'r', 'identity',
            'never')))
        self.connect.assert_not_called()


class FakeKind(resources.Kind):
    name = 'server'

    def __init__(self, existing=(), failing=()):
        self.existing = dict(existing)
        self.failing = failing
        self.made = []

    def restored(self, rc):
        return dict(self.existing)

    def restore(self, rc, doc, target_id):
        if doc['id'] in self.failing:
            raise RuntimeError('no capacity')
        if target_id:
            return target_id
        self.made.append(doc['id'])
        return 'new-' + doc['id']


class TestApply(RestoreTestCase):

    def restore_of(self, **options):
        return restore.Restore(self.plan(**options), self.cid)

    def test_existing_resources_are_not_made_again_and_all_land_in_the_id_map(self):
        r = self.restore_of()
        kind = FakeKind(existing={'s1': 'old-s1'})
        self.assertEqual((2, 1), levels._restore_kind(r, kind))
        self.assertEqual(['s2', 's3'], sorted(kind.made))
        saved = self.cps.get_restore(r.restore_id, 'idmap')
        self.assertEqual({'s1': 'old-s1', 's2': 'new-s2', 's3': 'new-s3'}, saved['server'])

    def test_what_a_kind_made_in_bulk_is_not_made_again(self):
        r = self.restore_of()
        kind = FakeKind(existing={'s1': 'old-s1'})
        kind.create_all = mock.Mock(return_value={'s2': 'bulk-s2'})
        self.assertEqual((2, 1), levels._restore_kind(r, kind))
        self.assertEqual(['s2', 's3'], sorted(d['id'] for d in
                                              kind.create_all.call_args.args[1]))
        self.assertEqual(['s3'], kind.made)
        self.assertEqual('bulk-s2', r.map('server', 's2'))

    def test_failures_are_reported_together_after_the_others_finish(self):
        for tagged in (False, True):
            r = restore.Restore(self.plan(), self.cid, 'restore-%s' % tagged)
            kind = FakeKind(failing=('s1', 's3'))
            kind.tagged = tagged
            err = self.assertRaises(restore.RestoreError, levels._restore_kind, r, kind)
            self.assertEqual('server srv1 (s1), server srv3 (s3): site-b: RuntimeError: '
                             'no capacity', str(err))
            self.assertEqual({'s2': 'new-s2'},
                             self.cps.get_restore(r.restore_id, 'idmap')['server'])

    def test_many_failing_alike_make_one_short_phrase(self):
        r = self.restore_of()
        docs = [{'id': 'p%d' % i} for i in range(50)] + [{'id': 'q', 'name': 'db'}]

        def work(doc):
            raise (restore.RestoreError('quota') if doc['id'] == 'q' else KeyError('x'))
        err = self.assertRaises(restore.RestoreError, levels.in_parallel, r, docs, work,
                                'port')
        self.assertEqual("port db (q): quota; port p0, port p1, port p10 and 47 more: "
                         "site-b: KeyError: 'x'", str(err))

    def test_the_id_map_of_tagged_copies_is_saved_once_per_kind(self):
        writes = {}
        for tagged in (False, True):
            r = restore.Restore(self.plan(), self.cid, 'restore-%s' % tagged)
            kind = FakeKind()
            kind.tagged = tagged  # a re-run finds tagged copies without the ID map
            with mock.patch.object(r.checkpoints, 'put_restore',
                                   wraps=r.checkpoints.put_restore) as put:
                self.assertEqual((3, 0), levels._restore_kind(r, kind))
            writes[tagged] = put.call_count
            self.assertEqual({'s1': 'new-s1', 's2': 'new-s2', 's3': 'new-s3'},
                             self.cps.get_restore(r.restore_id, 'idmap')['server'])
        self.assertEqual({False: 3, True: 1}, writes)

    def test_boot_order_groups_then_the_rest(self):
        r = self.restore_of(boot_order=[['srv3'], ['srv1', 'nosuch']])
        self.assertEqual([['s3'], ['s1'], ['s2']],
                         [[s['id'] for s in g] for g in levels._boot_groups(r)])
        self.assertEqual([['s1', 's2', 's3']],
                         [[s['id'] for s in g] for g in levels._boot_groups(
                             self.restore_of())])


class TestOriginals(base.BaseTestCase):
    """Going back, a failover replaces the servers its checkpoint's were restored from; a
    drill (a member's shares the project with them) never does."""

    def restore(self, drill):
        server = {'id': 's1', 'tags': ['draas-src=orig-1']}
        r = types.SimpleNamespace(drill=drill, docs=lambda kind: [server], conn=mock.Mock(),
                                  state={}, save_state=mock.Mock(), timeout=5,
                                  _lock=mock.MagicMock())
        r.conn.compute.servers.side_effect = [[mock.Mock(id='orig-1')], []]
        return r

    def test_a_failover_replaces_the_originals(self):
        r = self.restore(drill=False)
        levels._replace_originals(r)
        r.conn.compute.delete_server.assert_called_once()

    def test_a_drill_leaves_them(self):
        r = self.restore(drill=True)
        levels._replace_originals(r)
        r.conn.compute.servers.assert_not_called()


class TestReplicatedVolumes(RestoreTestCase):
    """The replication method: the adapter hands over each volume's replica (a clone in a
    drill), the target's Cinder manages it; how far replicas trail is checked first."""
    DATA = dict(DATA, volumes={'v1': {'method': 'replication', 'adapter': 'cinder',
                                      'replica': {'replication_status': 'enabled'}}})

    def setUp(self):
        super().setUp()
        self.states = {'v1': {'state': 'replicating', 'synced_at': 1000.0,
                              'lag_seconds': 0.7}}
        self.handed = []

        class Adapter(adapters.CinderAdapter):
            capabilities = (adapters.CLONE,)

            def status(adapter, replicas):
                return {v: self.states[v] for v in replicas}

            def promote(adapter, replica):
                self.handed.append(('promote', replica))
                return dict(super().promote(replica), synced_at=1000.0, lag_seconds=0.7)

            def clone(adapter, replica, name):
                self.handed.append(('clone', name))
                return dict(super().promote(replica), synced_at=1000.0, lag_seconds=0.7)
        self.useFixture(fixtures.MockPatch('actions.replication.adapters.load',
                                           lambda p: Adapter(p, {})))

    def test_preflight_asks_for_what_the_adapter_needs(self):
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan())
        self.assertIn("replicated volumes: set options.restore.replica_host to the backend "
                      "of site-b holding the replicas", str(err))
        out = restore.preflight(self.plan(replica_host='b@rep#pool'), dry_run=True)
        self.assertIn('promote 1 replicas through adapter cinder', out['preview'])

    def test_a_replica_missing_or_trailing_past_the_rpo_is_named(self):
        self.states['v1'] = {'state': 'missing'}
        err = self.assertRaises(restore.RestoreError, restore.preflight,
                                self.plan(replica_host='b@rep#pool'))
        self.assertIn("volume 'data' (v1): its replica at site-b is missing", str(err))
        self.states['v1'] = {'state': 'source silent', 'synced_at': 1000.0,
                             'lag_seconds': 901.5}  # gold: RPO 15 minutes
        err = self.assertRaises(restore.RestoreError, restore.preflight,
                                self.plan(replica_host='b@rep#pool'))
        self.assertIn("volume 'data' (v1): its replica trailed it by 901.5 s when last in "
                      "contact, past the RPO of 900 s: up to 901.5 s of writes are lost "
                      "(options.replication.failover_when_lagging: true to fail over "
                      "anyway)", str(err))
        plan = dict(self.plan(replica_host='b@rep#pool'))
        plan['options']['replication'] = {'failover_when_lagging': True}
        out = restore.preflight(plan, dry_run=True)
        self.assertIn("volume 'data' (v1): its replica trailed it by 901.5 s when last in "
                      "contact, past the RPO of 900 s: up to 901.5 s of writes are lost",
                      out['warnings'])

    def test_the_replica_is_managed_into_the_project(self):
        from actions.resources import block_storage
        r = restore.Restore(self.plan(replica_host='b@rep#pool',
                                      replica_ref={'source-name': 'vol-{id}-{name}'}),
                            self.cid)
        r.idmap = {'project': {'p1': 'tp1'}}
        bs = r.conn.block_storage
        bs.manage_volume.return_value = mock.Mock(id='t1')
        bs.get_volume.return_value = mock.Mock(status='available', metadata={
            block_storage.DATA_KEY: 'restored'})
        kind = block_storage.Volume()
        self.assertEqual('t1', kind.restore(r, RESOURCES['volume'][0], None))
        attrs = bs.manage_volume.call_args.kwargs
        self.assertEqual(('b@rep#pool', {'source-name': 'vol-v1-data'}),
                         (attrs['host'], attrs['ref']))
        self.assertEqual({'draas_source_id': 'v1', 'draas_restore': r.restore_id,
                          'draas_data': 'restored'}, attrs['metadata'])
        self.assertEqual({'v1': 't1'}, self.cps.get_restore(r.restore_id, 'idmap')['volume'])
        self.assertEqual({'v1': {'synced_at': 1000.0, 'lag_seconds': 0.7}},
                         self.cps.get_restore(r.restore_id, 'state')['replicas'])
        self.assertEqual(['promote'], [h[0] for h in self.handed])
        bs.restore_backup.assert_not_called()
        r.admin.block_storage.restore_backup.assert_not_called()

    def test_a_drill_manages_a_clone(self):
        from actions.resources import block_storage
        r = restore.Restore(self.plan(replica_host='b@rep#pool'), self.cid, 'drill-abcd')
        r.idmap = {'project': {'p1': 'tp1'}}
        r.conn.block_storage.manage_volume.return_value = mock.Mock(id='t1')
        block_storage.Volume().restore(r, RESOURCES['volume'][0], None)
        self.assertEqual([('clone', 'drill-abcd')], self.handed)


class FakeCinder:
    """Volumes, and backup restores that Cinder runs on its own: a volume is
    "restoring-backup" (metadata replaced by the backup's) until fill_done()."""

    def __init__(self, fill_after_lists=None):
        self.vols, self.fills, self.lists = {}, [], 0
        self.fill_after_lists = fill_after_lists  # the fill ends after so many list calls

    def create_volume(self, **kw):
        vid = 'tv%d' % (len(self.vols) + 1)
        # Cinder marks a volume made from an image bootable
        self.vols[vid] = types.SimpleNamespace(id=vid, status='available',
                                               metadata=dict(kw['metadata']),
                                               is_bootable=bool(kw.get('image_id')))
        return self.vols[vid]

    def get_volume(self, vid):
        return self.vols[vid]

    def volumes(self, **kw):
        self.lists += 1
        if self.fill_after_lists is not None and self.lists >= self.fill_after_lists:
            for vid in self.fills:
                self.fill_done(vid)
        return list(self.vols.values())

    def find_backup(self, backup_id, **kw):
        return mock.Mock(id=backup_id)

    def get_backup(self, backup_id):  # no backups(): a list of every backup would be slow
        return mock.Mock(id=backup_id, status='available')

    def restore_backup(self, backup_id, volume_id):
        self.fills.append(volume_id)
        self.vols[volume_id].status = 'restoring-backup'
        self.vols[volume_id].metadata = {'from': 'the backup'}

    def fill_done(self, vid):
        if self.vols[vid].status == 'restoring-backup':
            self.vols[vid].status = 'available'

    def set_volume_metadata(self, vid, **metadata):
        self.vols[vid].metadata.update(metadata)

    def set_volume_bootable_status(self, vid, bootable):
        self.vols[vid].is_bootable = bootable


class TestVolumeFill(RestoreTestCase):
    """Volumes fill while the next levels run; a server waits for its boot volume, the
    attach level for the others."""

    def restore(self, resources=RESOURCES, **cinder):
        from actions.resources import block_storage
        self.useFixture(fixtures.MockPatch('actions.replication.volumes.RESTORE_POLL', 0))
        self.commit_checkpoint(resources)
        r = restore.Restore(self.plan(), self.cid)
        r.idmap = {'project': {'p1': 'tp1'}}
        self.cinder = FakeCinder(**cinder)
        r._conn = mock.Mock(block_storage=self.cinder)
        r.admin.block_storage = self.cinder
        return r, block_storage.Volume(), resources['volume'][0]

    def test_a_data_volume_is_only_started_and_a_rerun_never_fills_it_twice(self):
        from actions.resources.block_storage import DATA_KEY
        r, kind, doc = self.restore()
        vid = kind.restore(r, doc, None)
        self.assertEqual(('restoring-backup', [vid]), (self.cinder.vols[vid].status,
                                                       self.cinder.fills))
        kind.restore(r, doc, vid)  # a re-run while Cinder fills it
        self.cinder.fill_done(vid)
        kind.restore(r, doc, vid)  # and after: the backup's metadata says it is filled
        self.assertEqual([vid], self.cinder.fills)
        self.assertNotIn(DATA_KEY, self.cinder.vols[vid].metadata)
        kind.finish(r, doc, vid)
        self.assertEqual('restored', self.cinder.vols[vid].metadata[DATA_KEY])
        self.cinder.vols[vid].status = 'in-use'  # attached since: finishing again is a no-op
        kind.finish(r, doc, vid)
        self.assertEqual([vid], self.cinder.fills)

    def test_a_volume_of_the_image_method_is_bootable_as_on_the_source(self):
        r, kind, doc = self.restore()
        r.data['volumes']['v1'] = {'method': 'image', 'image_id': 'copy-v1'}
        self.useFixture(fixtures.MockPatch(
            'actions.resources.block_storage.share_with_project', return_value='copy-v1'))
        vid = kind.restore(r, doc, None)
        self.assertTrue(self.cinder.vols[vid].is_bootable)  # as Cinder made it
        kind.finish(r, doc, vid)
        self.assertFalse(self.cinder.vols[vid].is_bootable)
        vid = self.cinder.create_volume(metadata={}).id  # e.g. filled from a backup
        kind.finish(r, dict(doc, is_bootable=True), vid)
        self.assertTrue(self.cinder.vols[vid].is_bootable)

    def test_a_server_booting_from_a_volume_is_created_once_its_data_is_there(self):
        from actions.resources.block_storage import DATA_KEY
        from actions.resources.compute import Server
        server = dict(RESOURCES['server'][0], boot_volume_id='v1', port_ids=[])
        r, kind, doc = self.restore(dict(RESOURCES, server=[server]), fill_after_lists=3)
        vid = kind.restore(r, doc, None)
        self.assertEqual('restoring-backup', self.cinder.vols[vid].status)  # not waited for
        r.remember('volume', 'v1', vid)
        r.remember('flavor', 'f1', 'tf1')

        def create_server(**attrs):
            self.assertEqual(('available', 'restored'), (
                self.cinder.vols[vid].status, self.cinder.vols[vid].metadata[DATA_KEY]))
            self.assertEqual(vid, attrs['block_device_mapping'][0]['uuid'])
            return mock.Mock(id='ts1')
        r.conn.compute.create_server.side_effect = create_server
        self.assertEqual('ts1', Server().restore(r, server, None))

    def test_attach_waits_for_the_fills_then_attaches(self):
        from actions.resources.block_storage import DATA_KEY
        servers = [dict(RESOURCES['server'][0], volume_ids=['v1'])]
        r, kind, doc = self.restore(dict(RESOURCES, server=servers), fill_after_lists=4)
        r.remember('server', 's1', 'ts1')
        r.remember('volume', 'v1', kind.restore(r, doc, None))
        r.conn.compute.servers.return_value = [mock.Mock(id='ts1', attached_volumes=[])]

        def attach(server, volume_id):
            self.assertEqual('restored', self.cinder.vols[volume_id].metadata[DATA_KEY])
            self.cinder.vols[volume_id].status = 'in-use'
        r.conn.compute.create_volume_attachment.side_effect = attach
        self.assertEqual((1, 0), levels._attach_volumes(r))
        r.conn.compute.create_volume_attachment.assert_called_once_with(
            'ts1', volume_id='tv1')


class TestPortsInBulk(base.BaseTestCase):
    """Where Neutron tags ports at creation, ports are made BULK at a time, tags included;
    elsewhere one by one, tagged right after."""

    def setUp(self):
        super().setUp()
        self.rc = mock.Mock(restore_id='failover-x', port_tags_at_creation=True,
                            options={'keep_fixed_ips': False, 'keep_mac_addresses': False})
        self.rc.map.side_effect = lambda kind, sid: 't' + sid
        self.rc.name.side_effect = lambda name: name or ''
        self.net = self.rc.conn.network
        self.net.create_ports.side_effect = lambda bodies: [
            mock.Mock(id='t' + b['tags'][0].split('=')[1], tags=b['tags']) for b in bodies]
        self.docs = [{'id': 'p%d' % i, 'name': '', 'network_id': 'n1',
                      'fixed_ips': [{'subnet_id': 's1', 'ip_address': '10.0.0.%d' % i}],
                      'security_group_ids': ['g1']} for i in range(150)]

    def http_error(self, status):
        return sdk_exceptions.HttpException(response=mock.Mock(status_code=status,
                                                               headers={}))

    def test_many_ports_per_request_each_with_its_tags(self):
        from actions.resources import network
        made = network.Port().create_all(self.rc, self.docs)
        self.assertEqual({d['id']: 't' + d['id'] for d in self.docs}, made)
        self.assertEqual([100, 50], [len(c.args[0])
                                     for c in self.net.create_ports.call_args_list])
        first = self.net.create_ports.call_args_list[0].args[0][0]
        self.assertEqual((['draas-src=p0', 'draas-restore=failover-x'], 'tn1', ['tg1'],
                          [{'subnet_id': 'ts1'}]),
                         (first['tags'], first['network_id'], first['security_group_ids'],
                          first['fixed_ips']))
        self.net.create_port.assert_not_called()
        self.net.set_tags.assert_not_called()

    def test_a_refused_bulk_is_left_to_one_by_one_a_failed_one_stops(self):
        from actions.resources import network
        self.net.create_ports.side_effect = self.http_error(400)
        self.assertEqual({}, network.Port().create_all(self.rc, self.docs))
        # Neutron may have made the ports of a bulk that failed on its side: no second
        # try; the level fails and its re-run finds them by their tags.
        self.net.create_ports.side_effect = self.http_error(504)
        self.assertRaises(sdk_exceptions.HttpException, network.Port().create_all,
                          self.rc, self.docs)

    def test_without_tags_at_creation_ports_are_tagged_after(self):
        from actions.resources import network
        self.rc.port_tags_at_creation = False
        self.assertEqual({}, network.Port().create_all(self.rc, self.docs))
        self.net.create_ports.assert_not_called()
        self.net.create_port.return_value = mock.Mock(id='tp0')
        self.assertEqual('tp0', network.Port().restore(self.rc, self.docs[0], None))
        self.assertNotIn('tags', self.net.create_port.call_args.kwargs)
        self.net.set_tags.assert_called_once_with(
            self.net.create_port.return_value, ['draas-src=p0', 'draas-restore=failover-x'])


class TestSecurityGroupRules(base.BaseTestCase):
    """Rules are made in one bulk request; a conflict falls back to one at a time."""

    def setUp(self):
        super().setUp()
        self.rc = mock.Mock(project_id='tp1', options={'parallel': 4},
                            idmap={'security_group': {'g1': 'tg1', 'g2': 'tg2'}})
        self.rc.map.side_effect = lambda kind, sid: self.rc.idmap[kind][sid]
        self.rc.conn.network.security_group_rules.return_value = []
        rule = {'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'tcp',
                'port_range_min': 22, 'port_range_max': 22}
        self.docs = [{'id': 'g1', 'rules': [rule, dict(rule, port_range_min=80,
                                                       port_range_max=80)]},
                     {'id': 'g2', 'rules': [rule]}]

    def test_one_request_per_group_for_its_missing_rules(self):
        from actions.resources import network
        net = self.rc.conn.network
        net.create_security_group_rules.side_effect = lambda todo: iter(todo)
        self.assertEqual((3, 0), network.SecurityGroup().restore_rules(self.rc, self.docs))
        self.assertEqual([[('tg1', 22), ('tg1', 80)], [('tg2', 22)]], sorted(
            [(r['security_group_id'], r['port_range_min']) for r in call.args[0]]
            for call in net.create_security_group_rules.call_args_list))
        net.create_security_group_rule.assert_not_called()

    def test_a_conflict_makes_them_one_by_one(self):
        from actions.resources import network
        net = self.rc.conn.network
        net.create_security_group_rules.side_effect = network.exceptions.ConflictException

        def one(**rule):
            if rule['port_range_min'] == 22:
                raise network.exceptions.ConflictException()
        net.create_security_group_rule.side_effect = one
        self.assertEqual((1, 2), network.SecurityGroup().restore_rules(self.rc, self.docs))
        self.assertEqual(3, net.create_security_group_rule.call_count)


class TestImageSharing(base.BaseTestCase):
    """Glance caps an image's members: those of deleted projects make room."""

    def rc(self, *members):
        rc = mock.Mock(project_id='new')
        rc.admin.image.get_image.return_value = mock.Mock(id='img', visibility='shared',
                                                          owner='admin')
        rc.admin.image.members.return_value = [mock.Mock(member_id=m) for m in members]

        def get_project(pid):
            if pid.startswith('gone'):
                raise sdk_exceptions.NotFoundException()
            if pid == 'elsewhere':  # a project of a domain this admin may not read
                raise sdk_exceptions.ForbiddenException()
            return mock.Mock(id=pid)
        rc.admin.identity.get_project.side_effect = get_project
        rc.admin.image.add_member.side_effect = [
            sdk_exceptions.HttpException(http_status=413), mock.Mock()]
        return rc

    def test_members_of_deleted_projects_are_removed_when_the_image_is_full(self):
        from actions.resources import image
        rc = self.rc('alive', 'gone-1', 'elsewhere', 'gone-2')
        self.assertEqual('img', image.share_with_project(rc, 'img'))
        self.assertEqual(['gone-1', 'gone-2'], sorted(
            c.args[0] for c in rc.admin.image.remove_member.call_args_list))
        self.assertEqual(2, rc.admin.image.add_member.call_count)
        rc.conn.image.update_member.assert_called_once_with(
            'new', rc.admin.image.get_image.return_value, status='accepted')

    def test_a_full_image_without_stale_members_stays_an_error(self):
        from actions.resources import image
        rc = self.rc('alive', 'admin')
        exc = self.assertRaises(sdk_exceptions.HttpException, image.share_with_project,
                                rc, 'img')
        self.assertEqual(413, exc.status_code)
        rc.admin.image.remove_member.assert_not_called()


class TestTenantPreflight(RestoreTestCase):
    """A target entry of a project's member (tenant mode)."""
    DATA = dict(DATA, volumes={'v1': {'method': 'image', 'image_id': 'copy-v1'}})

    def setUp(self):
        super().setUp()
        self.target = FakeTarget(images=('copy-i1', 'copy-v1'))
        self.connect.return_value = conn = self.target.conn
        conn.draas_mode, conn.current_project_id = 'member', 'tp'
        conn.identity.get_project.return_value = mock.Mock(id='tp')
        conn.identity.get_project.return_value.name = 'demo'
        conn.identity.find_project.side_effect = AssertionError('admins only')
        conn.identity.domains.side_effect = AssertionError('admins only')
        self.flavors([('m1.tiny', 1, 256, 1), ('m1.medium', 2, 4096, 40),
                      ('m1.large', 4, 8192, 80), ('m1.big-ram', 1, 65536, 10)])
        self.target.project_quotas()

    def flavors(self, specs):
        flavors = [mock.Mock(vcpus=v, ram=r, disk=d) for _, v, r, d in specs]
        for flavor, (name, _, _, _) in zip(flavors, specs):
            flavor.name = name
        self.target.conn.compute.flavors.return_value = flavors

    def test_a_member_restores_into_its_project_choosing_flavors_and_checking_quota(self):
        resources = json.loads(json.dumps(RESOURCES))
        resources['user'] = [{'id': 'u1', 'name': 'ann', 'domain_id': 'default'}]
        resources['server'] = resources['server'][:2]
        self.commit_checkpoint(resources)
        out = restore.preflight(self.plan(), self.cid, dry_run=True)
        self.assertEqual("use project demo (of site-b, whose credentials are a member's: "
                         "no project, user, flavor or quota is made or changed)",
                         out['preview'][0])
        # m1.small (1 vCPU, 512 MiB) is not there: the closest that fits
        self.assertIn('use flavor m1.medium for m1.small', out['preview'])
        self.assertIn("flavor 'm1.small' (1 vCPU, 512 MiB RAM, None GB disk) becomes "
                      "'m1.medium' (2 vCPU, 4096 MiB RAM, 40 GB disk), the closest of site-b "
                      "that fits (map it in options.restore.flavors to choose)",
                      out['warnings'])
        self.assertIn("skip 1 user (Keystone lists users to admins: not restored with a "
                      "member's credentials)", out['preview'])
        self.target.conn.compute.get_quota_set.assert_called_with('tp', usage=True)
        self.assert_nothing_made()
        # the project's own limits, never raised: 3 servers do not fit in 2 left
        self.target.project_quotas(used=8)
        resources['project'][0]['quotas'] = {'compute': {'instances': 50}}
        resources['server'] = RESOURCES['server']
        self.commit_checkpoint(resources)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, dry_run=True)
        self.assertIn('compute quota instances of the project on site-b: 3 needed, 8 of 10 '
                      'in use', str(err))

    def test_a_flavor_none_fits_and_what_only_an_admin_does_are_refused(self):
        self.flavors([('m1.tiny', 1, 256, 1)])
        self.DATA = DATA  # volumes by backup
        self.commit_checkpoint(RESOURCES)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(
            keep_floating_ips=True, create_volume_types=True), self.cid)
        text = str(err)
        self.assertIn("no flavor site-b may use fits flavor 'm1.small' (1 vCPU, 512 MiB RAM, "
                      "None GB disk), and a member's credentials make none: map it in "
                      "options.restore.flavors, e.g. {'m1.small': <a flavor of site-b>}", text)
        self.assertIn("volume 'data' (v1): its data (method backup) restores with an admin's "
                      "credentials only (Cinder exports and imports backup records for admins "
                      "only), and site-b's are a member's", text)
        self.assert_nothing_made()

    def test_a_project_option_may_name_only_the_entry_s_own(self):
        self.commit_checkpoint(RESOURCES)
        out = restore.preflight(self.plan(project='demo'), self.cid, dry_run=True)
        self.assertTrue(out['preview'][0].startswith('use project demo (of site-b'))
        err = self.assertRaises(restore.RestoreError, restore.preflight,
                                self.plan(project='shop-dr'), self.cid, dry_run=True)
        self.assertIn("options.restore.project: 'shop-dr' is not the project of site-b "
                      "(demo), whose credentials are a member's: they restore into that "
                      "project only", str(err))
        self.assert_nothing_made()

    def test_the_plans_mapping_wins_and_must_name_a_flavor_it_may_use(self):
        out = restore.preflight(self.plan(flavors={'m1.small': 'm1.large'}), dry_run=True)
        self.assertIn('use flavor m1.large', out['preview'])
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(
            flavors={'m1.small': 'm9.secret'}), dry_run=True)
        self.assertIn("flavor 'm9.secret' (mapped from 'm1.small') is not a flavor site-b may "
                      "use", str(err))

    def test_the_restore_uses_the_flavor_preflight_chose(self):
        flavors = self.target.conn.compute.flavors.return_value
        flavors[1].id = 'medium-id'
        chosen = resources.all_kinds()['flavor'].restored(restore.Restore(self.plan(),
                                                                          self.cid))
        self.assertEqual({'f1': 'medium-id'}, chosen)

    def test_closest_fit_weighs_each_size_against_the_sources(self):
        from actions.resources import compute
        flavors = self.target.conn.compute.flavors.return_value
        pick = lambda **doc: getattr(compute.closest(doc, flavors), 'name', None)  # noqa
        self.assertEqual('m1.tiny', pick(vcpus=1, ram=256, disk=0))
        self.assertEqual('m1.big-ram', pick(vcpus=1, ram=32768, disk=5))
        self.assertEqual('m1.medium', pick(vcpus=2, ram=1024, disk=20))
        self.assertIsNone(pick(vcpus=8, ram=1024, disk=0))


class TestDrillPreflight(RestoreTestCase):

    def test_a_drill_makes_its_own_project_and_leaves_users_and_addresses_alone(self):
        out = restore.preflight(self.plan(), mode='drill', restore_id='drill-ab12cd',
                                dry_run=True)
        self.assertEqual('drill-ab12cd', out['restore_id'])
        self.assertIn('create project shop-drill-ab12cd', out['preview'])
        self.assertIn('no gateway to network public and no floating IPs (isolated drill)',
                      out['preview'])
        self.assertNotIn('map network public -> public', out['preview'])
        self.target.conn.identity.find_project.assert_called_with('shop-drill-ab12cd',
                                                                  ignore_missing=True)
        self.assert_nothing_made()

    def test_the_plan_s_project_option_names_the_target_project(self):
        out = restore.preflight(self.plan(project='shop-dr'), dry_run=True)
        self.assertIn('create project shop-dr', out['preview'])
        self.target.conn.identity.find_project.assert_called_with('shop-dr',
                                                                  ignore_missing=True)
        out = restore.preflight(self.plan(project='shop-dr'), mode='drill',
                                restore_id='drill-ab12cd', dry_run=True)
        self.assertIn('create project shop-dr-drill-ab12cd', out['preview'])
        # The copy's name is the intended one: no fidelity difference.
        r = restore.Restore(self.plan(project='shop-dr'), self.cid)
        kind = resources.all_kinds()['project']
        name = [f for f in kind.restores if f.name == 'name'][0]
        self.assertEqual('shop-dr', kind.intended(r, name, {'name': 'shop'}))
        self.assert_nothing_made()

    def test_drill_ids_and_modes_go_together(self):
        for mode, rid in (('drill', None), ('drill', 'failover-x'), ('drill', 'drill-A!'),
                          ('unplanned', 'drill-ab12cd')):
            err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                    mode=mode, restore_id=rid)
            self.assertIn('restore_id: a drill (and only a drill) has an ID', str(err))
        self.connect.assert_not_called()

    def test_servers_on_an_external_network_need_a_drill_network(self):
        resources = json.loads(json.dumps(RESOURCES))
        resources['port'] = [{'id': 'port1', 'network_id': 'n-ext', 'fixed_ips': []}]
        resources['server'][0]['port_ids'] = ['port1']
        self.commit_checkpoint(resources)
        err = self.assertRaises(restore.RestoreError, restore.preflight, self.plan(),
                                self.cid, mode='drill', restore_id='drill-ab12cd')
        self.assertIn("servers have ports on the external network 'public': a drill needs "
                      "options.drill.external_network", str(err))
        plan = dict(self.plan(), options=dict(self.plan()['options'],
                                              drill={'external_network': 'lab-net'}))
        err = self.assertRaises(restore.RestoreError, restore.preflight, plan, self.cid,
                                mode='drill', restore_id='drill-ab12cd')
        self.assertIn("options.drill.external_network: site-b has no network 'lab-net'",
                      str(err))
        self.assert_nothing_made()

    def test_probes_must_name_servers_of_the_checkpoint(self):
        plan = dict(self.plan(), options=dict(self.plan()['options'], verify={
            'probes': [{'server': 'nope', 'port': 80}]}))
        err = self.assertRaises(restore.RestoreError, restore.preflight, plan)
        self.assertIn("options.verify.probes: no server 'nope' in checkpoint", str(err))


class TestWarmStandby(RestoreTestCase):

    def test_a_warm_failover_takes_over_what_the_standby_staged(self):
        standby = restore.standby_id_for('shop')
        self.assertLessEqual(len('draas-restore=' + standby), 60)  # a Neutron tag
        self.cps.put_restore(standby, 'idmap', {'network': {'n1': 'staged-n1'}})
        self.cps.put_restore(standby, 'state', {'users_to_enable': ['shop-owner']})
        r = restore.Restore(self.plan(), self.cid)  # gold: warm standby
        self.assertEqual({'any_tags': ['draas-restore=failover-' + self.cid,
                                       'draas-restore=' + standby]}, r.tag_query())
        self.assertEqual('staged-n1', r.map('network', 'n1'))
        self.assertEqual(['shop-owner'], r.state['users_to_enable'])
        # The standby itself, a drill, and a cold policy adopt nothing.
        for plan, rid in ((self.plan(), standby), (self.plan(), 'drill-ab12'),
                          (dict(self.plan(), policy='silver'), None)):
            r = restore.Restore(plan, self.cid, rid)
            self.assertEqual({'tags': 'draas-restore=' + r.restore_id}, r.tag_query())

    def test_staging_is_for_warm_policies_only(self):
        self.assertEqual({'staged': False},
                         restore.stage(dict(self.plan(), policy='silver'), self.cid))
        self.connect.assert_not_called()

    def test_no_staging_beside_a_failed_over_workload(self):
        self.target.conn.identity.find_project.return_value = mock.Mock(id='tp1')
        self.target.conn.compute.servers.return_value = [types.SimpleNamespace(
            id='t1', tags=['draas-src=s1', 'draas-restore=failover-x'])]
        out = restore.stage(self.plan(), self.cid)
        self.assertFalse(out['staged'])
        self.assertIn('project shop on site-b holds servers of restore failover-x',
                      out['reason'])
        self.assert_nothing_made()
        # A member's: its own project, its own servers (Nova refuses it all_projects).
        conn = self.target.conn
        conn.draas_mode, conn.current_project_id = 'member', 'tp1'
        conn.identity.find_project.side_effect = AssertionError('admins only')
        self.assertFalse(restore.stage(self.plan(), self.cid)['staged'])
        conn.identity.get_project.assert_called_with('tp1')
        conn.compute.servers.assert_called_with()


class TestProjectQuotas(base.BaseTestCase):

    def test_limits_are_raised_to_the_sources_never_lowered(self):
        conn = mock.MagicMock()
        conn.compute.get_quota_set.return_value = types.SimpleNamespace(
            instances=10, cores=-1, ram=51200)
        conn.block_storage.get_quota_set.return_value = types.SimpleNamespace(
            volumes=10, gigabytes=1000)
        conn.network.get_quota.return_value = types.SimpleNamespace(ports=50, routers=10)
        raised = identity.raise_quotas(conn, 'tp1', {
            'compute': {'instances': 50, 'cores': 100, 'ram': 1024},
            'block_storage': {'volumes': -1, 'gigabytes': 1000},
            'network': {'ports': 500, 'routers': 5, 'rbac_policies': 99}})
        self.assertEqual({'compute': {'instances': 50}, 'block_storage': {'volumes': -1},
                          'network': {'ports': 500}}, raised)
        conn.compute.update_quota_set.assert_called_once_with('tp1', instances=50)
        conn.block_storage.update_quota_set.assert_called_once_with('tp1', volumes=-1)
        conn.network.update_quota.assert_called_once_with('tp1', ports=500)
        # nothing to raise: no update call at all
        conn.reset_mock()
        self.assertEqual({}, identity.raise_quotas(conn, 'tp1', {'compute': {'instances': 5}}))
        conn.compute.update_quota_set.assert_not_called()
