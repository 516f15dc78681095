"""Continuous volume replication through a storage replication adapter (issue 21): the lab's
array (tools/drlab/storage_array.py) replicates the sample workload's volumes from site-a to site-b,
draas speaks to it through the adapter `lab`, an entry point of draas.replication."""
import json
import os
import shutil
import time
import urllib.request

import openstack

from actions import checkpoint
from tests.functional import base
from tests.functional import test_failover
from tests.functional import workload

LAG_BOUND = 5.0  # seconds: the lab array's rounds are 0.5 s apart


def array(site, path):
    """What a site's array says (tools/drlab/storage_array.py), as JSON."""
    port = 7480 + (10000 if site == 'site-b' else 0)
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=10) as r:
        return json.loads(r.read())


def write(site, volume_id, offset, data):
    with open(workload.backing_file(site, volume_id), 'r+b') as f:
        f.seek(offset)
        f.write(data)


def read(path, offset, size):
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(size)


class ReplicationTestCase(test_failover.FailoverTestCase):
    """The sample workload, its volumes of the lab's replicated type, under a gold policy
    (warm standby) whose volumes the lab's array replicates."""
    volume_type = 'replicated'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = dict(cls.plan, policy={'name': 'gold', 'replication': 'replication'},
                        options={'replication': {'adapter': 'lab'}})
        cls.volumes = dict(cls.sample['data_volumes'], boot=cls.sample['boot_volume'])

    def replicas(self):
        found = array('site-b', '/replicas')
        return {vid: found.get(vid) for vid in self.volumes.values()}


class TestReplicationLifecycle(ReplicationTestCase):
    """Beside other tests: an adapter of another package, checkpoints, a drill, a planned
    failover, reprotect and failback."""
    prefix = 'repl'

    def test_0_an_adapter_of_another_package_is_used_by_a_plan(self):
        """An adapter installed as any vendor's (a module and its dist-info declaring the
        draas.replication entry point), picked by options.replication.adapter."""
        plugins = os.path.join(workload.LAB, 'plugins')
        module = os.path.join(plugins, 'draas_journal_adapter.py')
        info = os.path.join(plugins, 'draas_journal_adapter-1.0.dist-info')
        shutil.copy(os.path.join(os.path.dirname(__file__), 'adapters',
                                 'draas_journal_adapter.py'), module)
        os.makedirs(info, exist_ok=True)
        with open(os.path.join(info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: draas-journal-adapter\nVersion: 1.0\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
            f.write('[draas.replication]\njournal = draas_journal_adapter:JournalAdapter\n')
        journal = os.path.join(plugins, 'draas_journal.log')
        for path in (module, journal):
            self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
        self.addCleanup(shutil.rmtree, info)
        plan = dict(self.plan, options={'replication': {'adapter': 'journal'}})
        execution = self.run_workflow('draas.checkpoint.create', {'plan': plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        data = self.checkpoints.get_part(self.output(execution)['checkpoint_id'],
                                         'data')['volumes']
        self.assertEqual({'journal'}, {d['adapter'] for d in data.values()})
        with open(journal) as f:
            calls = [json.loads(line) for line in f]
        self.assertEqual(sorted([self.name, 'site-a', 'POST', '/replications']
                                for _ in self.volumes),
                         sorted(c for c in calls if c[2] == 'POST'))
        self.assertIn([self.name, 'site-b', 'GET', '/replicas'], calls)

    def test_1_a_checkpoint_enables_replication_and_records_the_lag(self):
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        out = self.output(execution)
        data = self.checkpoints.get_part(out['checkpoint_id'], 'data')['volumes']
        self.assertEqual(set(self.volumes.values()), set(data))
        for vid, d in data.items():
            self.assertEqual(('replication', 'lab', vid), (d['method'], d['adapter'],
                                                          d['replica']['replica_id']))
            self.assertLess(d['lag_seconds'], LAG_BOUND)
        replicas = self.replicas()
        self.assertEqual({'replicating'}, {r['state'] for r in replicas.values()})
        for name, vid in self.sample['data_volumes'].items():
            self.assertEqual(workload.content_for(name), read(
                os.path.join(workload.LAB, 'site-b', 'data', 'array', 'replicas', vid),
                0, 1 << 20))
        # The report: the RPO is the replicas' lag now, not the checkpoint's age.
        execution = self.run_workflow('draas.report.report', {'plans': [self.plan]})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        [report] = self.output(execution)['plans']
        self.assertEqual(('replicas', True), (report['rpo_of'], report['rpo_ok']))
        self.assertLess(report['rpo_seconds'], LAG_BOUND)
        self.assertEqual({'replicating'}, {r['state'] for r in report['replicas'].values()})
        base.measured('replication checkpoint: %s; replicas: %s' % (
            out['summary']['replicate'], {v: (r['lag_seconds'], r['received_bytes'])
                                          for v, r in replicas.items()}))

    def test_2_a_drill_clones_the_replicas_and_leaves_replication_running(self):
        execution = self.run_workflow('draas.drill.drill', {'plan': self.plan, 'keep': True},
                                      timeout=600)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        out = self.output(execution)
        drill_id = out['drill_id']
        export = os.path.join(workload.LAB, 'site-b', 'data', 'cinder', 'nfs-export')
        # Each clone is a volume of the drill now; the replicas receive what site-a writes.
        volumes = [v for v in self.target.block_storage.volumes(all_projects=True)
                   if (v.metadata or {}).get('draas_restore') == drill_id]
        self.assertEqual(3, len(volumes))
        [data_1] = [v for v in volumes if v.name.startswith(self.name + '-data-1')]
        vid = self.sample['data_volumes'][self.name + '-data-1']
        self.assertEqual(workload.content_for(self.name + '-data-1'),
                         read(workload.backing_file('site-b', data_1.id), 0, 1 << 20))
        marker = b'written during the drill'
        write('site-a', vid, 4096, marker)
        time.sleep(2)
        replica = os.path.join(workload.LAB, 'site-b', 'data', 'array', 'replicas', vid)
        self.assertEqual(marker, read(replica, 4096, len(marker)))
        self.assertNotEqual(marker, read(workload.backing_file('site-b', data_1.id), 4096,
                                         len(marker)))
        replicas = self.replicas()
        self.assertEqual({'replicating'}, {r['state'] for r in replicas.values()})
        self.assertLess(max(r['lag_seconds'] for r in replicas.values()), LAG_BOUND)

        execution = self.run_workflow('draas.drill.cleanup',
                                      {'plan': self.plan, 'drill_id': drill_id})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual([], [v.id for v in volumes if self.target.block_storage.find_volume(
            v.id, ignore_missing=True, all_projects=True)])
        self.assertEqual([], [v.id for v in volumes
                              if os.path.exists(workload.backing_file('site-b', v.id))])
        self.assertEqual([], [f for f in os.listdir(export) if f.startswith('clone-')])
        self.assertEqual({'replicating'}, {r['state'] for r in self.replicas().values()})

    def test_3_a_planned_failover_holds_the_last_writes(self):
        """The servers stopped, a final checkpoint: each replica promoted with what site-a
        wrote just before."""
        vid = self.sample['data_volumes'][self.name + '-data-2']
        write('site-a', vid, 65536, workload.content_for(self.name + '-last-write', 8192))
        execution, out = self.failover(mode='planned')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = out['summary']
        self.assertEqual('replicas', summary['rpo_of'])
        self.assertLess(summary['rpo_seconds'], LAG_BOUND)
        [copy] = [v for v in self.restored()['volume'] if v.name == self.name + '-data-2']
        self.assertEqual(workload.content_for(self.name + '-last-write', 8192),
                         read(workload.backing_file('site-b', copy.id), 65536, 8192))
        self.assertEqual([], summary['fidelity']['differences'])

    def test_4_reprotect_and_failback_move_only_what_changed(self):
        """Reprotect reverses the replication, each failed-over volume's replica at site-a
        started from its original; what site-b writes reaches site-a, and the failback
        manages those replicas there."""
        vid = self.sample['data_volumes'][self.name + '-data-2']
        [copy] = [v for v in self.restored()['volume'] if v.name == self.name + '-data-2']
        marker = workload.content_for(self.name + '-written-at-site-b', 8192)
        write('site-b', copy.id, 262144, marker)
        execution = self.run_workflow('draas.failback.reprotect', {'plan': self.plan},
                                      timeout=600)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.addCleanup(workload.delete_checkpoints, self.reverse_checkpoints(), 'site-b',
                        'site-a')
        self.assertEqual(3, self.output(execution)['replicas_reversed'])
        cid = self.output(execution)['checkpoint_id']
        data = self.reverse_checkpoints().get_part(cid, 'data')['volumes']
        self.assertEqual(3, len(data))
        moved = sum(d['received_bytes'] for d in data.values())
        # a whole copy: each data volume holds 1 MiB, the boot volume the 1 MiB image
        self.assertLess(moved, 1 << 20)
        self.assertNotIn(vid, array('site-a', '/replications'))  # that direction is over

        execution = self.run_workflow('draas.failback.failback', {'plan': self.plan},
                                      timeout=600)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = self.output(execution)['summary']
        a = openstack.connect(cloud='site-a')
        pid = self.sample['project']
        attached = {x['id'] for s in a.compute.servers(all_projects=True, project_id=pid)
                    for x in s.attached_volumes}
        [back] = [v for v in a.block_storage.volumes(all_projects=True, project_id=pid)
                  if v.name == self.name + '-data-2' and v.id in attached]
        self.assertNotEqual(vid, back.id)  # the replica, not the stale original
        path = workload.backing_file('site-a', back.id)
        self.assertEqual(marker, read(path, 262144, 8192))
        self.assertEqual(workload.content_for(self.name + '-last-write', 8192),
                         read(path, 65536, 8192))
        self.assertEqual('replicas', summary['rpo_of'])
        base.measured('failback of replicated volumes: %d bytes moved back (3 volumes of '
                      '1 GiB, 3 MiB written), RTO %.1f s, RPO %.1f s' % (
                          moved, summary['rto_seconds'], summary['rpo_seconds']))

    def reverse_checkpoints(self):
        a = openstack.connect(cloud='site-a')
        return checkpoint.Checkpoints(checkpoint.SwiftStore(a, 'draas-checkpoints'),
                                      self.name + '-back')


class TestReplicationSourceLost(ReplicationTestCase):
    """Alone (it stops site-a): a failover with the source gone."""
    prefix = 'repf'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        execution = cls.run_workflow('draas.checkpoint.create', {'plan': cls.plan})
        assert execution.state == 'SUCCESS', execution.state_info

    def test_1_failover_with_site_a_stopped_holds_what_was_written_seconds_before(self):
        self.addCleanup(base.lab, 'up')
        vid = self.sample['data_volumes'][self.name + '-data-2']
        marker = workload.content_for(self.name + '-last-write', 8192)
        write('site-a', vid, 65536, marker)
        written_at = time.time()
        time.sleep(1)
        base.lab('stop-site', 'site-a')
        stopped = time.time() - written_at  # every site-a process stopped by then
        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = out['summary']
        self.assertEqual('replicas', summary['rpo_of'])
        self.assertLess(summary['rpo_seconds'], LAG_BOUND)
        self.assertGreater(summary['checkpoint_age_seconds'], summary['rpo_seconds'])
        made = {v.name: v for v in self.restored()['volume']}
        self.assertEqual(3, len(made))
        restored = made[self.name + '-data-2']
        self.assertEqual('in-use', restored.status)
        self.assertEqual(marker, read(workload.backing_file('site-b', restored.id), 65536,
                                      8192))
        self.assertEqual(workload.content_for(self.name + '-data-2')[:65536], read(
            workload.backing_file('site-b', restored.id), 0, 65536))
        self.assertEqual([], summary['fidelity']['differences'])
        base.measured('failover of replicated volumes, site-a stopped %.1f s after the last '
                      'write: RTO %.1f s, RPO %.1f s (the replicas\' lag), checkpoint age '
                      '%.1f s' % (stopped, summary['rto_seconds'], summary['rpo_seconds'],
                                  summary['checkpoint_age_seconds']))
