"""Checkpoints of the sample workload through the real Mistral (issue 3's acceptance)."""
import hashlib
import json
import time

import openstack

from actions import checkpoint
from actions import install
from actions import plan as plan_mod
from actions import resources
from tests.functional import base
from tests.functional import workload


def make_plan(project, name):
    return {'name': name, 'source': 'site-a', 'target': 'site-b',
            'scope': {'project': project}, 'policy': 'silver'}


class TestCheckpoint(base.FunctionalTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.suffix = '%x' % int(time.time())
        cls.project = 'cp-' + cls.suffix
        cls.sample = workload.create('site-a', cls.project)
        cls.addClassCleanup(workload.delete, 'site-a', cls.project)
        cls.plan = make_plan(cls.project, 'cp-' + cls.suffix)
        cls.target = openstack.connect(cloud='site-b')
        cls.checkpoints = checkpoint.Checkpoints(
            checkpoint.SwiftStore(cls.target, 'draas-checkpoints'), cls.plan['name'])
        cls.addClassCleanup(workload.delete_checkpoints, cls.checkpoints)

    def create(self, plan=None):
        execution = self.run_workflow('draas.checkpoint.create', {'plan': plan or self.plan})
        return execution, self.output(execution)

    @staticmethod
    def written(data):
        """Bytes of the objects the backups of a checkpoint's data have in the lab's vault."""
        vault = openstack.connect(cloud='site-b-vault')
        return sum(o.content_length for vid, v in data['volumes'].items()
                   for o in vault.object_store.objects('volumebackups',
                                                       prefix='volume_%s/' % vid)
                   if v['backup_id'] in o.name)

    def test_1_checkpoint_holds_the_workload_and_its_data_at_the_target(self):
        execution, out = self.create()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        cid = out['checkpoint_id']
        counts = out['summary']['commit']['counts']
        expected = {'server': 3, 'router': 1, 'floating_ip': 1, 'security_group': 2,
                    'volume': 3, 'keypair': 1, 'server_group': 1, 'flavor': 1, 'image': 1,
                    'subnet': 2, 'project': 1}
        for kind, n in expected.items():
            self.assertEqual(n, counts.get(kind), kind)
        self.assertEqual(3, counts['network'])  # front, back and the external "public"
        base.measured('checkpoint of the sample workload: export %s, replicate %s' % (
            out['summary']['export'], out['summary']['replicate']))

        manifest = self.checkpoints.verify(cid)
        docs = self.checkpoints.get_part(cid, 'resources', manifest['parts']['resources'])
        docs = docs['resources']
        ids = {kind: {d['id'] for d in items} for kind, items in docs.items()}
        kinds = resources.all_kinds()
        for kind, items in docs.items():
            for doc in items:
                for ref_kind, ref in kinds[kind].references(doc):
                    self.assertIn(ref, ids.get(ref_kind, ()),
                                  '%s %s refers to missing %s %s' % (kind, doc['id'],
                                                                     ref_kind, ref))
        servers = {d['name'].rsplit('-', 1)[1]: d for d in docs['server']}
        self.assertEqual(self.sample['boot_volume'], servers['db']['boot_volume_id'])
        self.assertIsNone(servers['db']['image_id'])
        self.assertEqual(self.sample['image'], servers['web']['image_id'])
        router = docs['router'][0]
        self.assertEqual(2, len(router['interfaces']))
        self.assertTrue(router['gateway_network_id'])
        self.assertEqual(self.sample['floating_ip'],
                         docs['floating_ip'][0]['floating_ip_address'])
        [keypair] = docs['keypair']
        self.assertEqual(workload.PUBLIC_KEY, keypair['public_key'])

        data = self.checkpoints.get_part(cid, 'data', manifest['parts']['data'])
        copy = self.target.image.get_image(data['images'][self.sample['image']]['target_id'])
        self.assertEqual('active', copy.status)
        self.assertEqual(docs['image'][0]['hash_value'], copy.hash_value)
        self.assertEqual(set(self.sample['data_volumes'].values()) |
                         {self.sample['boot_volume']}, set(data['volumes']))
        # A backup record is importable at the target (site-b's cinder-backup reads the
        # vault there). Never deleted there: that would delete the data of site-a's backup
        # (one vault), on which the next incremental backup builds.
        record = data['volumes'][self.sample['boot_volume']]['record']
        resp = self.target.block_storage.post('/backups/import_record',
                                              json={'backup-record': record})
        self.assertEqual(201, resp.status_code, resp.text)
        imported = resp.json()['backup']['id']
        workload.wait_status(lambda: self.target.block_storage.get_backup(imported),
                             'available', what='backup')
        # db's two volumes were snapshotted one after the other; web's one root disk.
        self.assertEqual('per-volume', manifest['consistency'])
        self.assertEqual({'per-volume', 'crash-consistent'},
                         set(manifest['server_consistency'].values()))
        self.assertEqual('crash-consistent',
                         manifest['server_consistency'][self.project + '-web'])
        # What the backups wrote, as the vault lists it.
        first = out['summary']['replicate']['volume_bytes_copied']
        self.assertEqual(self.written(data), first)
        self.assertGreater(first, 0)

        # The second checkpoint of the unchanged workload copies no image byte and takes
        # incremental backups only.
        execution, out = self.create()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        base.measured('second checkpoint: replicate %s' % out['summary']['replicate'])
        self.assertEqual(0, out['summary']['replicate']['image_bytes_copied'])
        self.assertEqual(3, out['summary']['replicate']['incremental_backups'])
        # Unchanged volumes: the incremental backups write their metadata, no data.
        data = self.checkpoints.get_part(out['checkpoint_id'], 'data')
        self.assertEqual(self.written(data), out['summary']['replicate']['volume_bytes_copied'])
        self.assertLess(out['summary']['replicate']['volume_bytes_copied'], first)
        self.assertEqual([cid, out['checkpoint_id']], self.checkpoints.list()[-2:])

    def test_2_no_secret_in_checkpoints_or_executions(self):
        texts = [self.checkpoints.store.get(k) or b''
                 for k in self.checkpoints.store.list(self.plan['name'] + '/')]
        texts += self.execution_texts('draas.checkpoint.create')
        self.assertGreater(len(texts), 5)
        self.assert_no_secret(texts)
        # Keypairs: the public key only; users: no password (nor its hash).
        docs = self.checkpoints.get_part(self.checkpoints.latest(), 'resources')['resources']
        self.assertTrue(docs['keypair'] and docs['user'])
        for keypair in docs['keypair']:
            self.assertFalse(keypair.get('private_key'))
        for user in docs['user']:
            self.assertEqual([], [k for k in user if 'password' in k.lower()], user)

    def test_3_concurrent_run_fails_fast(self):
        self.checkpoints.lock('held-by-test', 10)
        self.addCleanup(self.checkpoints.unlock, 'held-by-test')
        start = time.monotonic()
        execution, out = self.create()
        self.assertEqual('ERROR', execution.state)
        self.assertLess(time.monotonic() - start, 30)
        self.assertIn('already running (held-by-test', out['error'])

    def test_4_damaged_checkpoints_are_refused_and_the_newest_intact_one_named(self):
        """Truncated part, changed byte, missing manifest, a part changed with its hash in the
        manifest (not signed with the executors' key), another plan's manifest: verify
        and restore (dry run: touches nothing) refuse each and name the checkpoint to use."""
        good, newest = self.checkpoints.list()[-2:]  # test_1 leaves two
        store, prefix = self.checkpoints.store, '%s/%s/' % (self.plan['name'], newest)
        part, manifest = prefix + 'resources.json', prefix + checkpoint.MANIFEST
        originals = {k: store.get(k) for k in (part, manifest)}
        for key, data in originals.items():
            self.addCleanup(store.put, key, data)
        other = checkpoint.Checkpoints(store, 'other-' + self.plan['name'])
        other.commit(newest, {}, {})
        self.addCleanup(other.delete, newest)
        # Whoever can write the store changes a part and its hash, and cannot sign.
        changed = originals[part].replace(b'"name"', b'"nAme"', 1)
        rehashed = json.loads(originals[manifest])
        rehashed['parts']['resources'] = {'sha256': hashlib.sha256(changed).hexdigest(),
                                          'size': len(changed)}
        damages = [
            ('truncated part', part, originals[part][:-40],
             'part resources does not match its sha256'),
            ('changed byte', part, originals[part].replace(b'"name"', b'"nAme"', 1),
             'part resources does not match its sha256'),
            ('missing manifest', manifest, None, 'no committed checkpoint %s' % newest),
            ('part and manifest changed together', manifest, json.dumps(rehashed).encode(),
             "the manifest's signature is wrong"),
            ('manifest of another plan', manifest,
             store.get('%s/%s/%s' % (other.plan, newest, checkpoint.MANIFEST)),
             'the manifest belongs to %s/%s' % (other.plan, newest)),
        ]
        instead = 'the newest intact checkpoint is %s: run again with checkpoint_id %s' % (
            good, good)
        for what, key, data, problem in damages:
            store.delete(key) if data is None else store.put(key, data)
            for workflow in ('draas.checkpoint.verify', 'draas.failover.failover'):
                inputs = {'plan': self.plan, 'checkpoint_id': newest}
                if workflow == 'draas.failover.failover':
                    inputs['dry_run'] = True
                execution = self.run_workflow(workflow, inputs)
                self.assertEqual('ERROR', execution.state, '%s: %s' % (what, workflow))
                error = self.output(execution)['error']
                self.assertIn(problem, error, what)
                self.assertIn(instead, error, what)
            for k, v in originals.items():
                store.put(k, v)
        self.assertIsNone(self.target.identity.find_project(self.project,
                                                            ignore_missing=True),
                          'a refused restore made something on site-b')
        execution = self.run_workflow('draas.checkpoint.verify', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual(newest, self.output(execution)['result']['checkpoint_id'])

    def test_5_export_requests_do_not_grow_with_servers(self):
        project = 'cp15-' + self.suffix
        workload.create('site-a', project, servers=15)
        self.addCleanup(workload.delete, 'site-a', project)
        big_plan = make_plan(project, project)
        self.addCleanup(workload.delete_checkpoints, checkpoint.Checkpoints(
            self.checkpoints.store, project))
        execution, out = self.create(big_plan)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual(15, out['summary']['commit']['counts']['server'])
        big = out['summary']['export']['requests']
        _, first = self.create()
        base.measured('export requests: 3 servers %s, 15 servers %s' % (
            first['summary']['export']['requests'], big))
        self.assertLessEqual(abs(big['total'] -
                                 first['summary']['export']['requests']['total']), 2)

    def test_6_installed_cron_trigger_takes_checkpoints(self):
        """draas-install's trigger of a plan fires in Mistral's periodic server."""
        plan = dict(self.plan, policy={'name': 'silver', 'schedule': '* * * * *'})
        before = set(self.checkpoints.list())
        made = install.install_triggers(self.mistral, [plan_mod.validate(plan)])
        name = 'draas.%s.checkpoint' % plan['name']
        self.addCleanup(self.mistral.cron_triggers.delete, name)
        trigger = self.mistral.cron_triggers.get(name)
        self.addCleanup(self.mistral.cron_triggers.delete, 'draas.%s.drill' % plan['name'])
        self.assertEqual(['%s (draas.checkpoint.create, * * * * *)' % name,
                          'draas.%s.drill (draas.drill.drill, 30 3 1 * *)' % plan['name']],
                         made)
        deadline = time.monotonic() + 150
        while not set(self.checkpoints.list()) - before:
            self.assertLess(time.monotonic(), deadline, 'the trigger took no checkpoint')
            time.sleep(3)
        # Its execution says what it is (Horizon shows it) and stays Mistral's JSON.
        descriptions = [json.loads(e.description) for e in self.mistral.executions.list(
            workflow_name='draas.checkpoint.create', sort_keys='created_at', sort_dirs='desc',
            limit=20) if 'triggered_by' in (e.description or '')]
        self.assertEqual(
            ("draas.checkpoint.create: plan %s (site-a -> site-b); Workflow execution "
             "created by cron trigger '(%s)'." % (plan['name'], trigger.id)),
            descriptions[0]['description'])

    def test_7_retention_removes_checkpoints_and_their_backups(self):
        plan = dict(self.plan, name=self.plan['name'] + '-ret',
                    policy={'name': 'silver', 'retention': {'count': 1, 'max_age_hours': 0}})
        cps = checkpoint.Checkpoints(self.checkpoints.store, plan['name'])
        self.addCleanup(workload.delete_checkpoints, cps)
        source = openstack.connect(cloud='site-a')
        # Saved at the recovery site as draas-install does, then used by reference.
        reference = plan_mod.save(plan_mod.validate(plan))
        self.assertEqual(plan['name'] + '@site-b', reference)
        backups = []
        for _ in range(3):
            execution, out = self.create(reference)
            self.assertEqual('SUCCESS', execution.state, execution.state_info)
            data = cps.get_part(out['checkpoint_id'], 'data')
            # retention count 1 means a full backup every time: no chain to wait for
            self.assertEqual(0, out['summary']['replicate']['incremental_backups'])
            backups.append([v['backup_id'] for v in data['volumes'].values()])
            if len(backups) == 1:  # a restore of the first checkpoint imports its records
                for volume in data['volumes'].values():
                    resp = self.target.block_storage.post(
                        '/backups/import_record', json={'backup-record': volume['record']})
                    self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual([out['checkpoint_id']], cps.list())
        self.assertEqual([], cps.pending_deletions())
        for backup_id in backups[0] + backups[1]:
            deadline = time.monotonic() + 60
            while source.block_storage.find_backup(backup_id):
                self.assertLess(time.monotonic(), deadline, 'backup %s stays' % backup_id)
                time.sleep(1)
        # The imported records went with the source's backups (their objects went first).
        for backup_id in backups[0]:
            deadline = time.monotonic() + 60
            while self.target.block_storage.find_backup(backup_id):
                self.assertLess(time.monotonic(), deadline,
                                'imported record %s stays on site-b' % backup_id)
                time.sleep(1)
        for backup_id in backups[2]:
            self.assertIsNotNone(source.block_storage.find_backup(backup_id))

    def test_8_show_and_prune_workflows(self):
        plan = dict(self.plan, name=self.plan['name'] + '-prune')
        cps = checkpoint.Checkpoints(self.checkpoints.store, plan['name'])
        self.addCleanup(workload.delete_checkpoints, cps)
        ids = [self.output(self.create(plan)[0])['checkpoint_id'] for _ in range(2)]
        self.assertEqual(ids, cps.list())

        execution = self.run_workflow('draas.checkpoint.show', {'plan': plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        shown = self.output(execution)['checkpoint']
        self.assertEqual(ids[1], shown['checkpoint_id'])
        self.assertEqual(['data', 'plan', 'resources'], shown['parts'])
        self.assertEqual(set(self.sample['data_volumes'].values()) |
                         {self.sample['boot_volume']}, set(shown['volumes']))
        self.assertTrue(all(v['incremental'] for v in shown['volumes'].values()))
        self.assertNotIn('record', json.dumps(shown))  # the records stay in the store

        # Tighter retention, applied now: the older checkpoint goes; its backups are
        # still the base of the newer incremental ones, so they wait as pending.
        plan['policy'] = {'name': 'silver', 'retention': {'count': 1, 'max_age_hours': 0}}
        execution = self.run_workflow('draas.checkpoint.prune', {'plan': plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual({'pruned': ids[:1], 'kept': ids[1:], 'pending_deletions': 3,
                          'outcome': [
                              'Retention of plan %s removed 1 checkpoints and keeps %d.' % (
                                  plan['name'], len(ids) - 1),
                              '3 deletions wait for their backups to be free; the next run '
                              'retries.']},
                         self.output(execution)['result'])
        self.assertEqual(ids[1:], cps.list())

        cps.lock('held-by-test', 10)
        self.addCleanup(cps.unlock, 'held-by-test')
        execution = self.run_workflow('draas.checkpoint.prune', {'plan': plan})
        self.assertEqual('ERROR', execution.state)
        self.assertIn('already running (held-by-test', self.output(execution)['error'])
