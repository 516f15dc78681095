"""Failover of the sample workload through the real Mistral (issue 4's acceptance)."""
import datetime
import time

import openstack

from actions import checkpoint
from actions import restore
from tests.functional import base
from tests.functional import workload


class FailoverTestCase(base.FunctionalTestCase):
    """A sample workload on site-a in its own project, its volumes of `volume_type`."""
    volume_type = None  # the site's default

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = '%s-%x' % (cls.prefix, int(time.time()))
        cls.sample = workload.create('site-a', cls.name, volume_type=cls.volume_type)
        cls.addClassCleanup(workload.delete, 'site-a', cls.name)
        cls.addClassCleanup(workload.delete, 'site-b', cls.name)
        cls.plan = {'name': cls.name, 'source': 'site-a', 'target': 'site-b',
                    'scope': {'project': cls.name}, 'policy': 'silver'}
        cls.target = openstack.connect(cloud='site-b')
        cls.checkpoints = checkpoint.Checkpoints(
            checkpoint.SwiftStore(cls.target, 'draas-checkpoints'), cls.name)
        cls.addClassCleanup(workload.delete_checkpoints, cls.checkpoints)

    def failover(self, stop_after=None, **inputs):
        execution = self.run_workflow('draas.failover.failover',
                                      dict({'plan': self.plan}, **inputs), timeout=600,
                                      stop_after=stop_after)
        return execution, self.output(execution)

    def restored(self, project=None):
        """What exists in the workload's project on site-b (or `project`), by kind (names
        and IDs)."""
        b = self.target
        project = b.identity.find_project(project or self.name, ignore_missing=True)
        if project is None:
            return None
        pid = project.id
        return {
            'server': list(b.compute.servers(all_projects=True, project_id=pid)),
            'network': list(b.network.networks(project_id=pid)),
            'subnet': list(b.network.subnets(project_id=pid)),
            'router': list(b.network.routers(project_id=pid)),
            'port': [p for p in b.network.ports(project_id=pid)
                     if p.device_owner.startswith('compute:') or not p.device_owner],
            'security_group': [g for g in b.network.security_groups(project_id=pid)
                               if g.name != 'default'],
            'floating_ip': list(b.network.ips(project_id=pid)),
            'volume': list(b.block_storage.volumes(all_projects=True, project_id=pid)),
        }


class TestUnplannedFailover(FailoverTestCase):
    prefix = 'fo'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # What web's guest wrote to its root disk after boot: the failover brings it back.
        cls.written = workload.content_for(cls.name + '-root-disk', 4096)
        with open(workload.root_disk('site-a', cls.sample['servers']['web']), 'r+b') as f:
            f.seek(8192)
            f.write(cls.written)
        execution = cls.run_workflow('draas.checkpoint.create', {'plan': cls.plan})
        assert execution.state == 'SUCCESS', execution.state_info
        cls.checkpoint_id = cls.output(execution)['checkpoint_id']

    def test_1_bad_input_fails_before_anything_is_made(self):
        plan = dict(self.plan, options={'restore': {'networks': {'public': 'nowhere'}}})
        self.plan, saved = plan, self.plan
        self.addCleanup(setattr, self, 'plan', saved)
        execution, out = self.failover(dry_run=True)
        self.assertEqual('ERROR', execution.state)
        self.assertIn("network 'public' is external on site-a and site-b has no network "
                      "'nowhere'", out['error'])
        self.plan = saved
        execution, out = self.failover(checkpoint_id='20200101T000000Z-000000')
        self.assertEqual('ERROR', execution.state)
        self.assertIn('no committed checkpoint 20200101T000000Z-000000', out['error'])
        self.assertIsNone(self.restored(), 'a failed preflight made something on site-b')

        execution, out = self.failover(dry_run=True)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertIsNone(out['summary'])
        self.assertIn('create project %s' % self.name, out['preflight']['preview'])
        self.assertIsNone(self.restored(), 'a dry run made something on site-b')

    def test_2_failover_with_site_a_gone_survives_a_fault_in_each_level(self):
        """Site-a is lost in the middle of a checkpoint: that checkpoint fails and is never
        used. Then, every site-a process stopped, each failover run meets a fault in one
        level in turn (the applier stops after it; the Mistral executor is killed in the
        middle of the volumes; site-b's Nova API is down for a while during the servers) and
        the next run goes on: in the end exactly one copy of each resource runs."""
        self.addCleanup(base.lab, 'up')
        execution = self.mistral.executions.create('draas.checkpoint.create',
                                                   workflow_input={'plan': self.plan})
        self.wait_task(execution, 'replicate')
        base.lab('stop-site', 'site-a')
        execution = self.wait_execution(execution)
        self.assertEqual('ERROR', execution.state)
        error = str(self.output(execution)['error'])
        self.assertIn('site-a', error)
        self.assertNotIn('internal error', error)
        self.assertEqual([self.checkpoint_id], self.checkpoints.list())
        self.assertIsNone(self.checkpoints.store.get(self.name + '/lock'))
        measured = ['checkpoint with site-a lost during its replication: %s' % error[:200]]

        expected = {'server': 3, 'network': 2, 'subnet': 2, 'router': 1, 'port': 4,
                    'security_group': 2, 'floating_ip': 1, 'volume': 3}
        faults = {'volumes': ('mistral-executor', 0, "Heartbeat wasn't received"),
                  'servers': ('site-b-nova-api', 15, None)}
        for level in restore.LEVELS[:-1]:
            if level in faults:
                process, down, expected_error = faults[level]
                execution = self.mistral.executions.create(
                    'draas.failover.failover', workflow_input={'plan': self.plan})
                self.wait_task(execution, 'apply', restore.LEVELS.index(level) + 1)
                base.lab('kill', process)
                time.sleep(down)
                base.lab('up', 'site-b')  # site-a stays lost
                execution = self.wait_execution(execution, 600)
                out = self.output(execution)
                measured.append('%s killed during level %s: %s %s' % (
                    process, level, execution.state, str(out.get('error'))[:200]))
                if expected_error:
                    self.assertEqual('ERROR', execution.state)
                    self.assertIn(expected_error, str(out['error']))
                elif execution.state == 'ERROR':
                    self.assertNotIn('internal error', str(out['error']))
                    self.assertNotIn('Traceback', str(out['error']))
                else:
                    self.assertEqual('SUCCESS', execution.state)
            else:
                execution, out = self.failover(stop_after=level)
                self.assertEqual('ERROR', execution.state)
                self.assertIn('stopped after level %s' % level, str(out['error']))
            made = self.restored() or {}
            for kind, items in made.items():
                self.assertLessEqual(len(items), expected[kind],
                                     'duplicate %s after a stop at %s' % (kind, level))
        started = time.monotonic()
        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = out['summary']
        self.assertEqual(self.checkpoint_id, summary['checkpoint_id'])
        base.measured('faults: %s' % '; '.join(measured))
        base.measured('failover (last run, after 7 faults): %.1f s; summary %s' % (
            time.monotonic() - started, summary))
        made = self.restored()
        self.assertEqual(expected, {k: len(v) for k, v in made.items()})
        self.assert_workload_runs(made)
        web = [s for s in made['server'] if s.name == self.name + '-web'][0]
        with open(workload.root_disk('site-b', web.id), 'rb') as f:
            f.seek(8192)
            self.assertEqual(self.written, f.read(4096))
        # Faults and all, the copy is the checkpoint's, field by field.
        self.assertEqual([], summary['fidelity']['differences'])
        # The project's user exists on site-b, disabled, without a password, listed.
        self.assertEqual([self.name + '-owner'], summary['users_to_enable'])
        owner = self.target.identity.find_user(self.name + '-owner', domain_id='default')
        self.assertFalse(owner.is_enabled)

        # Once more: nothing new.
        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual(0, sum(lv['created'] for lv in out['summary']['levels']))
        self.assertEqual(expected, {k: len(v) for k, v in self.restored().items()})

        # No secret in what the failovers wrote (ID map, state) or returned.
        texts = [self.checkpoints.store.get(k) for k in self.checkpoints.store.list(
            self.name + '/restores/')]
        self.assertEqual(2, len(texts))
        self.assert_no_secret(texts + self.execution_texts('draas.failover.failover'))

    def assert_workload_runs(self, made):
        docs = self.checkpoints.get_part(self.checkpoint_id, 'resources')['resources']
        servers = {s.name: s for s in made['server']}
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        for doc in docs['server']:
            server = servers[doc['name']]
            self.assertEqual(doc['flavor']['original_name'], server.flavor['original_name'])
            self.assertEqual(doc['key_name'], server.key_name)
            self.assertEqual(doc['metadata'], {k: v for k, v in server.metadata.items()})
        # Fixed IPs kept (the default), security groups by name.
        ports = {p.id: p for p in made['port']}
        groups = {g.id: g.name for g in made['security_group']}
        source_ips = sorted(ip['ip_address'] for p in docs['port'] for ip in p['fixed_ips'])
        self.assertEqual(source_ips, sorted(ip['ip_address'] for p in ports.values()
                                            for ip in p.fixed_ips))
        source_groups = {g['id']: g['name'] for g in docs['security_group']}
        self.assertEqual(sorted(source_groups[g] for p in docs['port']
                                for g in p['security_group_ids']),
                         sorted(groups[g] for p in ports.values()
                                for g in p.security_group_ids))
        # Every rule, remote groups by name (IPv6 ones too).

        def rules(groups, names):
            return {g['name']: sorted(
                (r['direction'], r['ethertype'], r['protocol'], r['port_range_min'],
                 r['port_range_max'], r['remote_ip_prefix'],
                 names.get(r['remote_group_id'])) for r in g['rules'])
                for g in groups}
        target_groups = [{'name': g.name, 'rules': g.security_group_rules}
                         for g in made['security_group']]
        self.assertEqual(rules(docs['security_group'], source_groups),
                         rules(target_groups, groups))
        # The floating IP is on the target's external network, on web's port.
        [fip] = made['floating_ip']
        web = servers[self.name + '-web']
        self.assertIn(fip.port_id, {p.id for p in ports.values() if p.device_id == web.id})
        self.assertEqual(self.target.network.find_network('public').id,
                         fip.floating_network_id)
        # Server group membership; keypair with the source public key.
        [group] = [g for g in self.target.compute.server_groups(all_projects=True)
                   if g.name == self.name + '-group']
        self.assertEqual({servers[self.name + '-web'].id, servers[self.name + '-app'].id},
                         set(group.member_ids))
        key = self.target.compute.find_keypair(self.name + '-key')
        self.assertEqual(workload.PUBLIC_KEY.strip(), key.public_key.strip())
        # db boots from its restored volume; data volumes hold site-a's known content.
        volumes = {v.name: v for v in made['volume']}
        db = servers[self.name + '-db']
        self.assertIn(volumes[self.name + '-db-boot'].id,
                      {a['id'] for a in db.attached_volumes})
        for name in self.sample['data_volumes']:
            self.assertEqual('in-use', volumes[name].status)
            with open(workload.backing_file('site-b', volumes[name].id), 'rb') as f:
                self.assertEqual(workload.content_for(name), f.read(1 << 20), name)


class TestPlannedFailover(FailoverTestCase):
    prefix = 'pfo'

    def test_planned_failover_stops_the_source_and_loses_nothing(self):
        source = openstack.connect(cloud='site-a')
        # A dry run stops nothing, planned or not (no checkpoint yet: it fails, saying so).
        execution, out = self.failover(mode='planned', dry_run=True)
        self.assertEqual('ERROR', execution.state)
        self.assertIn('has no committed checkpoint', out['error'])
        self.assertEqual({'ACTIVE'}, {s.status for s in source.compute.servers(
            all_projects=True, project_id=self.sample['project'])})
        # The project exists on site-b with smaller limits than site-a's: raised, not used.
        source.compute.update_quota_set(self.sample['project'], instances=23)
        source.network.update_quota(self.sample['project'], ports=77)
        project = self.target.identity.create_project(name=self.name, domain_id='default')
        self.target.compute.update_quota_set(project.id, instances=2, cores=-1)
        self.target.network.update_quota(project.id, ports=5)
        # Written after any earlier checkpoint, right before the failover.
        name, vid = sorted(self.sample['data_volumes'].items())[0]
        latest = workload.content_for(name + '-latest')
        with open(workload.backing_file('site-a', vid), 'r+b') as f:
            f.write(latest)
        execution, out = self.failover(mode='planned')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        base.measured('planned failover: summary %s' % out['summary'])
        self.assertEqual('planned', out['summary']['mode'])
        # The RTO counts from the stop of the source (the final checkpoint included), and
        # nothing written before the stop is lost.
        began = datetime.datetime.strptime(execution.created_at, '%Y-%m-%d %H:%M:%S')
        ended = datetime.datetime.strptime(out['summary']['finished_at'],
                                           '%Y-%m-%dT%H:%M:%SZ')
        self.assertGreaterEqual(out['summary']['rto_seconds'],
                                (ended - began).total_seconds() - 5)
        self.assertEqual(0, out['summary']['rpo_seconds'])
        states = {s.name: s.status for s in source.compute.servers(
            all_projects=True, project_id=self.sample['project'])}
        self.assertEqual({'SHUTOFF'}, set(states.values()), states)
        made = self.restored()
        self.assertEqual({'ACTIVE'}, {s.status for s in made['server']})
        self.assertEqual(project.id, out['summary']['project_id'])
        self.assertEqual((23, -1), tuple(getattr(self.target.compute.get_quota_set(
            project.id), k) for k in ('instances', 'cores')))  # cores: not lowered
        self.assertEqual(77, self.target.network.get_quota(project.id).ports)
        [restored] = [v for v in made['volume'] if v.name == name]
        with open(workload.backing_file('site-b', restored.id), 'rb') as f:
            self.assertEqual(latest, f.read(len(latest)))


class TestImageMethod(FailoverTestCase):
    """Volume data as images copied to the target: checkpoint, then fail over."""
    prefix = 'img'

    def test_volumes_as_images_fail_over_with_their_data_into_another_project(self):
        # Server db only: its boot volume and one data volume (2 GiB to copy, not 3),
        # restored into a project of another name (options.restore.project).
        into = self.name + '-dr'
        self.addCleanup(workload.delete, 'site-b', into)
        self.plan = dict(self.plan, policy={'name': 'silver', 'replication': 'image'},
                         scope={'project': self.name, 'servers': [self.name + '-db']},
                         options={'restore': {'project': into}})
        runs, ids = [], []
        for _ in range(2):
            execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan},
                                          timeout=900)
            self.assertEqual('SUCCESS', execution.state, execution.state_info)
            runs.append(self.output(execution)['summary']['replicate'])
            ids.append(self.output(execution)['checkpoint_id'])
        base.measured('image method: first checkpoint %s; second %s' % tuple(runs))
        # The qcow2 images crossed the sites: what the 2 GiB of volumes hold (the boot
        # volume's 1 MiB image, data-2's 1 MiB), not their unwritten blocks.
        images = self.checkpoints.get_part(ids[0], 'data')['volumes'].values()
        self.assertEqual(sum(v['image_bytes'] for v in images), runs[0]['volume_bytes_copied'])
        self.assertLess(runs[0]['volume_bytes_copied'], 4 << 20)
        self.assertEqual(0, runs[1]['volume_bytes_copied'])  # unchanged: same hashes

        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        base.measured('failover, image method: summary %s' % out['summary'])
        self.assertIn('create project %s' % into, out['preflight']['preview'])
        self.assertEqual([], out['summary']['fidelity']['differences'])
        self.assertIsNone(self.restored())  # no project of the source's name
        made = self.restored(into)
        self.assertEqual({'ACTIVE'}, {s.status for s in made['server']})
        self.assertEqual([self.name + '-db'], [s.name for s in made['server']])
        volumes = {v.name: v for v in made['volume']}
        self.assertEqual({self.name + '-db-boot', self.name + '-data-2'}, set(volumes))
        name = self.name + '-data-2'
        with open(workload.backing_file('site-b', volumes[name].id), 'rb') as f:
            self.assertEqual(workload.content_for(name), f.read(1 << 20), name)


class TestWarmStandby(FailoverTestCase):
    """The same workload failed over cold (silver), then warm (gold, staged at checkpoint)."""
    prefix = 'ws'
    STAGED = ('identity', 'compute', 'network', 'network_links', 'ports')

    def test_gold_stages_the_network_and_fails_over_faster_than_silver(self):
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        silver = out['summary']
        silver_timeline = self.timeline(execution)
        expected = {k: len(v) for k, v in self.restored().items()}
        workload.delete('site-b', self.name)

        self.plan = dict(self.plan, name=self.name + '-gold', policy='gold')
        self.addCleanup(workload.delete_checkpoints, checkpoint.Checkpoints(
            self.checkpoints.store, self.plan['name']))
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        standby = self.output(execution)['standby']
        base.measured('warm standby staging at a gold checkpoint: %s' % standby)
        self.assertEqual(list(self.STAGED), [lv['level'] for lv in standby['levels']])
        staged = {k: len(v) for k, v in self.restored().items()}
        self.assertEqual(dict(expected, server=0, volume=0), staged)
        # A second gold checkpoint stages nothing new.
        execution = self.run_workflow('draas.checkpoint.create', {'plan': self.plan})
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual(0, sum(lv['created'] for lv in self.output(execution)['standby'][
            'levels']))

        execution, out = self.failover()
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        gold = out['summary']
        gold_timeline = self.timeline(execution)
        created = {lv['level']: lv['created'] for lv in gold['levels']}
        self.assertEqual({lv: 0 for lv in self.STAGED},
                         {lv: created[lv] for lv in self.STAGED}, gold['levels'])
        self.assertEqual(expected, {k: len(v) for k, v in self.restored().items()})
        self.assertEqual([self.name + '-owner'], gold['users_to_enable'])

        def staged_part(summary):
            return round(sum(lv['seconds'] for lv in summary['levels']
                             if lv['level'] in self.STAGED), 1)

        def work(summary):  # the restore's own time: its levels and the verification
            return round(sum(lv['seconds'] for lv in summary['levels']) +
                         summary['verify_seconds'], 1)
        line = ('failover RTO: silver (cold) %.1f s, gold (warm standby) %.1f s; levels and '
                'verification: silver %.1f s, gold %.1f s; levels identity..ports: silver '
                '%.1f s, gold %.1f s; per level: silver %s, gold %s; Mistral tasks: silver %s; '
                'gold %s' % (
                    silver['rto_seconds'], gold['rto_seconds'], work(silver), work(gold),
                    staged_part(silver), staged_part(gold),
                    [lv['seconds'] for lv in silver['levels']],
                    [lv['seconds'] for lv in gold['levels']], silver_timeline, gold_timeline))
        base.measured(line)
        self.assertLess(staged_part(gold), staged_part(silver), line)
        # The restores' own time, not their RTOs, which also hold Mistral's time between
        # tasks: seconds apart here, noise of the same size (the line above shows both).
        self.assertLess(work(gold), work(silver), line)


class TestFailback(FailoverTestCase):
    """Fail over to site-b, reprotect, change data there, fail back to site-a."""
    prefix = 'fb'

    def test_the_workload_comes_back_with_its_new_data_and_its_old_network(self):
        source = openstack.connect(cloud='site-a')
        pid = self.sample['project']

        def site_a():
            net = source.network
            return {'network': sorted(n.id for n in net.networks(project_id=pid)),
                    'subnet': sorted(n.id for n in net.subnets(project_id=pid)),
                    'router': sorted(n.id for n in net.routers(project_id=pid)),
                    'security_group': sorted(n.id for n in net.security_groups(
                        project_id=pid)),
                    'floating_ip': sorted(n.id for n in net.ips(project_id=pid))}
        before = site_a()
        execution, out = self.failover(mode='planned')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)

        execution = self.run_workflow('draas.failback.reprotect', {'plan': self.plan},
                                      timeout=600)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        out = self.output(execution)
        self.assertEqual(self.name + '-back@site-a', out['reverse_plan'])
        back = checkpoint.Checkpoints(checkpoint.SwiftStore(source, 'draas-checkpoints'),
                                      self.name + '-back')
        self.addCleanup(workload.delete_checkpoints, back, 'site-b', 'site-a')
        self.assertEqual([out['checkpoint_id']], back.list())

        # The workload lives on site-b now: new data there.
        restored = {v.name: v for v in self.restored()['volume']}
        name = sorted(self.sample['data_volumes'])[0]
        changed = workload.content_for(name + '-changed-on-site-b')
        with open(workload.backing_file('site-b', restored[name].id), 'r+b') as f:
            f.write(changed)

        execution = self.run_workflow('draas.failback.failback', {'plan': self.plan},
                                      timeout=900)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        summary = self.output(execution)['summary']
        base.measured('failback: summary %s' % summary)
        self.assertEqual(3, len(summary['replaced_servers']))
        # On site-a: the same networks, routers, security groups, floating IP (used again,
        # not duplicated); one server of each name, ACTIVE; the data written on site-b.
        self.assertEqual(before, site_a())
        servers = list(source.compute.servers(all_projects=True, project_id=pid))
        self.assertEqual(sorted(self.name + s for s in ('-app', '-db', '-web')),
                         sorted(s.name for s in servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in servers})
        attached = {a['id'] for s in servers for a in s.attached_volumes}
        [back_volume] = [v for v in source.block_storage.volumes(
            all_projects=True, project_id=pid) if v.name == name and v.id in attached]
        with open(workload.backing_file('site-a', back_volume.id), 'rb') as f:
            self.assertEqual(changed, f.read(len(changed)))
        self.assertEqual({'SHUTOFF'}, {s.status for s in self.restored()['server']})
