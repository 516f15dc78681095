"""Drills: restores into an isolated bubble of the recovery site, verified, then removed.

A drill is a restore (actions/restore/) whose ID is "drill-<id>". It makes a project of its
own and names it, and every resource in it, with the suffix "-drill-<id>"; Neutron resources,
servers and the project carry the tag "draas-restore=drill-<id>" (volumes the same in their
metadata). It never touches the target's users, gives routers no gateway and servers no
floating IP unless the plan names options.drill.external_network, and reads nothing from the
source site: checkpoints keep running meanwhile.

cleanup() removes what a drill made, found by its tag, its ID map and its suffix (never
anything else), and is safe to run again; the drill's record stays in the checkpoint store with
its summary (the report's measured RTO) and the time it was cleaned.
"""
import collections
import re
import time

from openstack import exceptions

from actions import checkpoint
from actions import errors
from actions import plan as plan_mod
from actions import resources
from actions import restore
from actions import sites
from actions.resources import block_storage

BUSY = ('in-use', 'attaching', 'detaching', 'creating', 'restoring-backup', 'downloading',
        'uploading', 'maintenance')


class DrillError(errors.DraasError):
    pass


def drill_id_for(seed):
    """A drill ID from any unique text (the workbook gives its Mistral execution ID)."""
    chars = re.sub('[^a-z0-9]', '', str(seed).lower())[:8]
    if len(chars) < 4:
        raise DrillError('drill_id: cannot make a drill ID of %r' % seed)
    return 'drill-' + chars


def _checkpoints(plan, admin):
    return checkpoint.Checkpoints(checkpoint.open_store(plan['options']['store'], admin),
                                  plan['name'])


def _wait(what, listing, timeout, done):
    """Poll listing() (one list call per round) until done(items) or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        items = list(listing())
        if done(items):
            return items
        if time.monotonic() > deadline:
            raise DrillError('%s: still waiting after %d s' % (what, timeout))
        time.sleep(1)


def _cleanup_one(admin, checkpoints, drill_id, timeout):
    """Delete what drill `drill_id` made on the target; returns counts per kind."""
    tag = resources.RESTORE_TAG + drill_id
    suffix = '-' + drill_id
    idmap = checkpoints.get_restore(drill_id, 'idmap') or {}
    deleted = collections.Counter()
    net, compute, bs = admin.network, admin.compute, admin.block_storage
    # Only projects a drill made: tagged, or in its ID map, and named with its suffix.
    projects = {p.id: p for p in admin.identity.projects(tags=tag)}
    for pid in idmap.get('project', {}).values():
        found = admin.identity.find_project(pid, ignore_missing=True)
        if found is not None:
            projects[found.id] = found
    projects = [p for p in projects.values() if p.name.endswith(suffix)]

    def servers():
        seen = {s.id: s for s in compute.servers(all_projects=True, tags=tag)}
        for p in projects:
            seen.update({s.id: s for s in compute.servers(all_projects=True,
                                                          project_id=p.id)})
        return seen.values()
    for server in servers():
        compute.delete_server(server)
        deleted['server'] += 1
    _wait('deleting the servers of %s' % drill_id, servers, timeout, lambda s: not s)
    for ip in net.ips(tags=tag):
        net.delete_ip(ip)
        deleted['floating_ip'] += 1
    for router in net.routers(tags=tag):
        if router.routes:  # Neutron keeps an interface a route goes through (HTTP 409)
            net.update_router(router, routes=[])
        for port in net.ports(device_id=router.id, device_owner='network:router_interface'):
            net.remove_interface_from_router(router, port=port.id)
        net.delete_router(router)
        deleted['router'] += 1
    for kind, listing, delete in (('port', net.ports, net.delete_port),
                                  ('subnet', net.subnets, net.delete_subnet),
                                  ('network', net.networks, net.delete_network)):
        for res in listing(tags=tag):
            delete(res)
            deleted[kind] += 1
    groups = {g.id: g for g in net.security_groups(tags=tag)}
    for p in projects:  # Neutron made a "default" group in the project on first use
        groups.update({g.id: g for g in net.security_groups(project_id=p.id)})
    for group in groups.values():
        net.delete_security_group(group)
        deleted['security_group'] += 1

    # Volumes: those of the drill's projects, and those its ID map lists (a volume being
    # filled has lost its metadata for a while).
    def volumes():
        seen = {v.id: v for p in projects
                for v in bs.volumes(all_projects=True, project_id=p.id)}
        for vid in idmap.get('volume', {}).values():
            if vid not in seen:
                found = bs.find_volume(vid, ignore_missing=True, all_projects=True)
                if found is not None and (found.metadata or {}).get(
                        block_storage.RESTORE_KEY, drill_id) == drill_id:
                    seen[vid] = found
        return seen.values()
    for volume in _wait('volumes of %s to settle' % drill_id, volumes, timeout,
                        lambda vs: all(v.status not in BUSY for v in vs)):
        bs.delete_volume(volume, cascade=True)
        deleted['volume'] += 1
    _wait('deleting the volumes of %s' % drill_id, volumes, timeout, lambda vs: not vs)

    project_ids = {p.id for p in projects}
    for group in compute.server_groups(all_projects=True):
        if group.project_id in project_ids or group.name.endswith(suffix):
            compute.delete_server_group(group)
            deleted['server_group'] += 1
    for key in compute.keypairs():  # the restoring user's
        if key.name.endswith(suffix):
            compute.delete_keypair(key)
            deleted['keypair'] += 1
    for vtype in bs.types():  # made with options.restore.create_volume_types
        if vtype.name.endswith(suffix):
            bs.delete_type(vtype)
            deleted['volume_type'] += 1
    for flavor in compute.flavors(is_public=None):
        if flavor.name.endswith(suffix):
            compute.delete_flavor(flavor)
            deleted['flavor'] += 1
        elif not flavor.is_public and flavor.id in idmap.get('flavor', {}).values():
            for pid in project_ids:
                try:
                    compute.flavor_remove_tenant_access(flavor, pid)
                except exceptions.NotFoundException:
                    pass
    # Image copies shared with the drill's project (boot images, volumes of the image
    # method): the membership goes, the copy stays.
    images = set(idmap.get('image', {}).values())
    try:
        state = checkpoints.get_restore(drill_id, 'state') or {}
        data = checkpoints.get_part(state['checkpoint_id'], 'data')
        images |= {v['image_id'] for v in data['volumes'].values()
                   if v.get('method') == 'image'}
    except (KeyError, checkpoint.StoreError):
        pass  # the checkpoint is gone (pruned since): its boot images are in the ID map
    for image_id in images:
        for pid in project_ids:
            admin.image.remove_member(pid, image_id)
    for project in projects:
        admin.identity.delete_project(project)
        deleted['project'] += 1
    return dict(deleted)


def _left_behind(checkpoints, min_age_minutes):
    """Drills of the plan not cleaned: finished ones (kept), and unfinished ones older than
    `min_age_minutes` (younger ones may still be running). Returns (IDs, skipped IDs)."""
    ids, skipped = [], []
    limit = time.time() - min_age_minutes * 60
    for rid in checkpoints.restores():
        state = checkpoints.get_restore(rid, 'state') or {}
        if not restore.DRILL_ID.match(rid) or state.get('cleaned_at'):
            continue
        if 'summary' in state or state.get('started_at', 0) <= limit:
            ids.append(rid)
        else:
            skipped.append(rid)
    return ids, skipped


def cleanup(document, drill_id=None, min_age_minutes=None, timeout_minutes=10):
    """Remove what a drill made on the target: `drill_id`, or every drill of the plan left
    behind (kept, or whose run died: unfinished and older than `min_age_minutes`, default
    the plan's restore timeout). Returns {cleaned: {drill ID: counts per kind}, skipped,
    seconds}; raises DrillError naming what could not be removed (run it again)."""
    plan = plan_mod.validate(document)
    if drill_id is not None and not (isinstance(drill_id, str) and
                                     restore.DRILL_ID.match(drill_id)):
        raise DrillError('drill_id: expected "drill-" and 4 to 16 lower-case letters or '
                         'digits, got %r' % drill_id)
    if min_age_minutes is None:
        min_age_minutes = plan['options']['restore']['timeout_minutes']
    if not isinstance(min_age_minutes, int) or min_age_minutes < 0:
        raise DrillError('min_age_minutes: expected a number of minutes (0 or more), got %r'
                         % (min_age_minutes,))
    started = time.monotonic()
    site = plan['target']
    admin = sites.connect(site)
    cleaned, failures = {}, []
    with sites.calls_to(site, 'drill cleanup'):
        checkpoints = _checkpoints(plan, admin)
        ids, skipped = ([drill_id], []) if drill_id else _left_behind(checkpoints,
                                                                      min_age_minutes)
        for did in ids:
            try:
                cleaned[did] = _cleanup_one(admin, checkpoints, did, timeout_minutes * 60)
            except (exceptions.SDKException, DrillError) as exc:
                failures.append('%s: %s' % (did, sites.explain(exc, site)
                                            if isinstance(exc, exceptions.SDKException)
                                            else exc))
                continue
            state = checkpoints.get_restore(did, 'state')
            if state is None and not any(cleaned[did].values()):
                continue  # no such drill: leave no record of one
            state = state or {'restore_id': did}
            state['cleaned_at'] = checkpoint.iso(checkpoint.now())
            state['cleanup'] = cleaned[did]
            checkpoints.put_restore(did, 'state', state)
    if failures:
        raise DrillError('drill cleanup on %s did not finish (run draas.drill.cleanup '
                         'again): %s' % (site, '; '.join(failures)))
    return {'cleaned': cleaned, 'skipped': skipped, 'seconds': checkpoint.elapsed(started)}
