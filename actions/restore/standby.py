"""Warm standby: what changes rarely, staged at the target after each checkpoint."""
import time

from actions import checkpoint
from actions import plan as plan_mod
from actions import resources
from actions.replication import volumes as movers
from actions.restore.context import Restore
from actions.restore.context import standby_id_for
from actions.restore.levels import in_parallel
from actions.restore.levels import apply
from actions.restore.checks import preflight
from actions import sites

# No volume: a standby's data would be as old as the checkpoint it was staged from.
STAGED_LEVELS = ('identity', 'compute', 'network', 'network_links', 'ports')


def stage(document, checkpoint_id):
    """Warm standby (policy standby "warm"): restore on the target, from a checkpoint just
    committed, what changes rarely - STAGED_LEVELS: project, users, roles,
    flavors, keypairs, networks, subnets, security groups, routers, ports, floating IPs - so
    that a failover only restores volumes and boots servers. Made once, then only what is
    new since (the standby is one restore of the plan, see standby_id_for). The records of
    the volume backups are imported ahead too. Returns {staged, restore_id, levels,
    backups_imported, seconds}."""
    plan = plan_mod.validate(document)
    if plan['policy'].get('standby') != 'warm':
        return {'staged': False}
    started = time.monotonic()
    standby = standby_id_for(plan['name'])
    r = Restore(plan, checkpoint_id, standby)
    # Servers a restore made in the project on the target: a failover runs there (or left
    # its copy after a failback). Staging would add a second network beside theirs.
    project = r.doc('project', r.source_project_id)
    with sites.calls_to(r.site, 'warm standby'):
        there = (r.admin.identity.get_project(r.admin.current_project_id) if r.member else
                 r.admin.identity.find_project(r.project_name(project), ignore_missing=True))
        restored = sorted({t[len(resources.RESTORE_TAG):] for s in (r.admin.compute.servers(
            **sites.in_every_project(r.admin, there.id)) if there else ())
            for t in s.tags or () if t.startswith(resources.RESTORE_TAG)})
    if restored:
        return {'staged': False, 'reason': 'project %s on %s holds servers of restore %s '
                '(a failover, or what a failback left): reprotect or fail back, and remove '
                'that copy before the standby is staged again' % (
                    project['name'], r.site, ', '.join(restored))}
    preflight(plan, checkpoint_id, restore_id=standby, dry_run=True)  # clear errors first
    levels = [apply(plan, checkpoint_id, standby, level) for level in STAGED_LEVELS]
    # The volume backups' records imported ahead too: a failover only restores their data.
    backups = [d for d in r.data['volumes'].values() if d.get('method') == 'backup']
    with sites.calls_to(r.site, 'warm standby backup imports'):
        in_parallel(r, [dict(d, id=d['backup_id']) for d in backups],
                  lambda d: movers.import_chain(r.admin, d, r.timeout), 'backup import')
    return {'staged': True, 'restore_id': standby, 'levels': levels,
            'backups_imported': len(backups), 'seconds': checkpoint.elapsed(started)}
