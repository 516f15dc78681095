"""Every shape of the workload zoo through the whole lifecycle, through Mistral (issue 16):
checkpoint -> failover -> fidelity (no difference) -> failover again (nothing made) -> drill
and its cleanup (nothing left, nothing to clean again) -> reprotect twice -> failback ->
fidelity -> failback again (nothing made).

One test class per shape, so that tools/functional-tests runs the shapes in parallel.
"""
import time

import openstack

from actions import checkpoint
from tests.functional import base
from tests.functional import workload
from tests.functional import zoo


def drill_leftovers(conn, drill_id):
    """What of drill `drill_id` is still on the recovery site, by kind (names)."""
    tag = 'draas-restore=' + drill_id
    net, compute, bs = conn.network, conn.compute, conn.block_storage
    left = {
        'project': [p.name for p in conn.identity.projects() if p.name.endswith(drill_id)],
        'server': [s.name for s in compute.servers(all_projects=True, tags=tag)],
        'flavor': [f.name for f in compute.flavors(is_public=None)
                   if f.name.endswith(drill_id)],
        'keypair': [k.name for k in compute.keypairs() if k.name.endswith(drill_id)],
        'server_group': [g.name for g in compute.server_groups(all_projects=True)
                         if g.name.endswith(drill_id)],
        'volume_type': [t.name for t in bs.types() if t.name.endswith(drill_id)],
        'domain': [d.name for d in conn.identity.domains() if d.name.endswith(drill_id)],
        'volume': [v.name for v in bs.volumes(all_projects=True)
                   if (v.name or '').endswith(drill_id)],
    }
    for kind, call in (('network', net.networks), ('subnet', net.subnets),
                       ('port', net.ports), ('router', net.routers),
                       ('security_group', net.security_groups), ('floating_ip', net.ips)):
        left[kind] = [r.name or r.id for r in call(tags=tag)]
    return {kind: names for kind, names in left.items() if names}


class ZooLifecycle:
    """The lifecycle test; a test class per shape mixes it in."""
    shape = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = 'zoo-%s-%x' % (cls.shape, int(time.time()))
        for site in ('site-a', 'site-b'):
            cls.addClassCleanup(zoo.delete, site, cls.name)
        options = zoo.create(cls.shape, 'site-a', cls.name)
        cls.plan = {'name': cls.name, 'source': 'site-a', 'target': 'site-b',
                    'scope': {'project': cls.name}, 'policy': 'silver', 'options': options}
        target = openstack.connect(cloud='site-b')
        cls.addClassCleanup(workload.delete_checkpoints, checkpoint.Checkpoints(
            checkpoint.SwiftStore(target, 'draas-checkpoints'), cls.name))
        back = checkpoint.Checkpoints(checkpoint.SwiftStore(
            openstack.connect(cloud='site-a'), 'draas-checkpoints'), cls.name + '-back')
        cls.addClassCleanup(workload.delete_checkpoints, back, 'site-b', 'site-a')

    def run_ok(self, workflow, inputs, timeout=900):
        execution = self.run_workflow(workflow, inputs, timeout=timeout)
        self.assertEqual('SUCCESS', execution.state, '%s: %s' % (workflow,
                                                                  execution.state_info))
        return self.output(execution)

    def assert_faithful(self, summary, what):
        fidelity = summary['fidelity']
        base.measured('zoo %s %s: fidelity %d resources, %d fields, differences %s' % (
            self.shape, what, fidelity.get('resources', 0), fidelity.get('fields', 0),
            fidelity.get('differences', fidelity.get('error'))))
        self.assertEqual([], fidelity.get('differences', fidelity.get('error')), what)
        self.assertGreater(fidelity['fields'], 40, what)

    def test_the_whole_lifecycle(self):
        self.run_ok('draas.checkpoint.create', {'plan': self.plan})
        summary = self.run_ok('draas.failover.failover', {'plan': self.plan})['summary']
        self.assert_faithful(summary, 'failover')
        on_demand = self.run_ok('draas.restore.compare', {'plan': self.plan})['fidelity']
        self.assertEqual((summary['restore_id'], []),
                         (on_demand['restore_id'], on_demand['differences']))

        again = self.run_ok('draas.failover.failover',
                            {'plan': self.plan, 'checkpoint_id': summary['checkpoint_id']})
        made = {lv['level']: lv['created'] for lv in again['summary']['levels']}
        self.assertEqual({lv: 0 for lv in made}, made, 'the re-run made something')

        out = self.run_ok('draas.drill.drill', {'plan': self.plan})
        self.assert_faithful(out['summary'], 'drill')
        self.assertEqual({}, drill_leftovers(openstack.connect(cloud='site-b'),
                                             out['drill_id']))
        again = self.run_ok('draas.drill.cleanup', {'plan': self.plan,
                                                    'drill_id': out['drill_id']})
        self.assertEqual({}, again['cleanup']['cleaned'][out['drill_id']])  # nothing left

        for _ in range(2):  # a re-run saves the same reverse plan, checkpoints it again
            self.assertEqual(self.name + '-back@site-a', self.run_ok(
                'draas.failback.reprotect', {'plan': self.plan})['reverse_plan'])
        summary = self.run_ok('draas.failback.failback', {'plan': self.plan})['summary']
        self.assert_faithful(summary, 'failback')
        # Run again, the failback restores its final checkpoint again: nothing made.
        again = self.run_ok('draas.failback.failback', {'plan': self.plan})['summary']
        self.assertEqual(summary['restore_id'], again['restore_id'])
        made = {lv['level']: lv['created'] for lv in again['levels']}
        self.assertEqual({lv: 0 for lv in made}, made, 'the failback re-run made something')


# One test class per shape (tools/functional-tests runs classes in parallel).
for _shape in zoo.SHAPES:
    _name = 'Test%sShape' % _shape.capitalize()
    globals()[_name] = type(_name, (ZooLifecycle, base.FunctionalTestCase),
                            {'shape': _shape, '__module__': __name__})
