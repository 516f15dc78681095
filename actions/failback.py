"""Reprotect and failback: the way back after a failover.

The reverse plan of a plan protects the failed-over workload where it now runs: source and
target swapped, the same scope (the restored project has the same name, servers their names
and tags) and policy, the restore mappings inverted. Reprotect saves it at the original site
(where its checkpoints live) and checkpoints it; failback is a planned failover of it: the
servers at the recovery site stopped, a final checkpoint, a restore on the original site that
uses again what still exists there (networks, subnets, routers, security groups, ports,
floating IPs, found by the source-ID tags the failover gave their copies) and replaces the
stale servers with ones booted from the checkpoint's volumes.
"""
import copy

from actions import plan as plan_mod
from actions import protect
from actions.replication import adapters
from actions import sites

SUFFIX = '-back'
MAPS = ('networks', 'flavors', 'volume_types', 'availability_zones')


def reverse_plan(document):
    """The plan protecting `document`'s workload at its target site, back to its source."""
    plan = plan_mod.validate(document)
    if plan['name'].endswith(SUFFIX):
        raise plan_mod.PlanError(['plan.name: %r is already a reverse plan: fail back with '
                                  'the plan it reverses (%r)' % (
                                      plan['name'], plan['name'][:-len(SUFFIX)])])
    if len(plan['name']) + len(SUFFIX) > 63:
        raise plan_mod.PlanError(['plan.name: %r is too long to name its reverse plan '
                                  '(at most %d characters)' % (plan['name'],
                                                               63 - len(SUFFIX))])
    options = copy.deepcopy(plan['options'])
    restore = options['restore']
    for key in MAPS:  # {source name: target name} becomes {target name: source name}
        restore[key] = {v: k for k, v in restore[key].items()}
    restore.pop('replica_host', None)  # the original site's replica backend is another one
    # Its project is the restored one at the target: bound by its first checkpoint.
    scope = {k: v for k, v in plan['scope'].items() if k != 'project_id'}
    if restore.get('project'):  # restored under another name: back into the original
        scope['project'], restore['project'] = restore['project'], plan['scope']['project']
    reverse = dict(copy.deepcopy(plan), name=plan['name'] + SUFFIX, source=plan['target'],
                   target=plan['source'], options=options, scope=scope,
                   description='reverse of plan %s (draas reprotect)' % plan['name'])
    return plan_mod.validate(reverse)


def reprotect(document):
    """Save the reverse plan at the original site and, for volumes an array replicated,
    reverse their replication (reverse_replicas); returns {plan, reference,
    replicas_reversed}."""
    reverse = reverse_plan(document)
    return {'plan': reverse, 'reference': plan_mod.save(reverse),
            'replicas_reversed': len(reverse_replicas(plan_mod.validate(document)))}


def reverse_replicas(plan):
    """After a failover of volumes an array replicated (policy.replication "replication",
    an adapter that can reverse): each volume the failover made of a replica replicates
    back to the original site, its replica there started from the original volume, so the
    reverse plan's checkpoints and the failback move only what changed since. Idempotent.
    Returns {volume ID at the target: its replica}."""
    if plan['policy']['replication'] != 'replication':
        return {}
    adapter = adapters.load(plan)
    if adapters.REVERSE not in adapter.capabilities:
        return {}
    checkpoints = protect.checkpoints_of(plan)
    failovers = [r for r in checkpoints.restores() if r.startswith('failover-')]
    if not failovers:
        return {}
    state = checkpoints.get_restore(failovers[-1], 'state')  # the newest checkpoint's
    volumes = checkpoints.get_part(state['checkpoint_id'], 'data')['volumes']
    made = (checkpoints.get_restore(failovers[-1], 'idmap') or {}).get('volume', {})
    with sites.calls_to(plan['target'], 'reversing replication'):
        return {copy: adapter.reverse(volumes[orig]['replica'], copy)
                for orig, copy in sorted(made.items())
                if volumes.get(orig, {}).get('method') == 'replication'}
