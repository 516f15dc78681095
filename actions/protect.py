"""A checkpoint run, in the steps the draas.checkpoint workbook calls.

begin (validate, lock, new ID) -> export (metadata of the workload, as the part "resources")
-> [the plan's pre-hook workflow] -> snapshot (the point-in-time step: root disks and volumes
snapshotted, recorded in the part "snapshots") -> [post-hook workflow] -> replicate (images,
root disks and volume data copied, as the part "data") -> commit (manifest, prune, unlock).
abort unlocks and removes the parts and snapshots of a run that failed. Each step takes the
plan and the checkpoint ID: nothing large travels through Mistral.
"""
import collections
import hashlib
import json
import time

from actions import access
from actions import checkpoint
from actions import discovery
from actions import errors
from actions import plan as plan_mod
from actions.replication import adapters
from actions.replication import consistency as consistency_mod
from actions.replication import images as images_mod
from actions.replication import location
from actions.replication import quiesce
from actions.replication import root_disks as root_disks_mod
from actions.replication import volumes
from actions import sites

SNAPSHOT_TIMEOUT = 1800  # seconds the snapshots may take without a freeze window
RELEASE_SETTLE = 120  # seconds a failed run waits for its snapshots to leave 'creating'


def _store(plan):
    target = sites.connect(plan['target'])
    store = checkpoint.open_store(plan['options']['store'], target)
    return checkpoint.Checkpoints(store, plan['name']), target


def checkpoints_of(document):
    """The checkpoints of a plan, in its store at the recovery site."""
    return _store(plan_mod.validate(document))[0]


def begin(document):
    """Validate the plan, check it still names the project it is bound to (on the source,
    and in its checkpoints) and that its volume data would survive the source (location),
    take its lock, write the part "plan"; returns the new ID."""
    plan = plan_mod.validate(document)
    checkpoints, target = _store(plan)
    latest = checkpoints.latest()
    manifest = {}
    if latest:
        try:
            manifest = checkpoints.manifest(latest)
        except checkpoint.StoreError:
            pass  # damaged: the restores say so; it does not stop a new checkpoint
        access.check_owner(plan, manifest)
    source = sites.connect(plan['source'])
    with sites.calls_to(plan['source'], 'discovery'):
        discovery.source_project(source, plan, manifest)
    volumes.check_method(plan['policy']['replication'], {
        plan['source']: sites.mode(source), plan['target']: sites.mode(target)})
    location.require(plan['policy']['replication'], plan['source'], plan['target'], source,
                     target)
    if plan['policy']['replication'] == 'replication':
        adapters.load(plan)  # installed, and loads
    checkpoint_id = checkpoint.new_checkpoint_id()
    checkpoints.lock(checkpoint_id, plan['options']['lock_timeout_minutes'])
    try:
        checkpoints.put_part(checkpoint_id, 'plan', plan)
    except Exception:
        checkpoints.unlock(checkpoint_id)
        raise
    return {'checkpoint_id': checkpoint_id, 'plan': plan['name'],
            'store': checkpoints.store.url}


def export(document, checkpoint_id):
    """Discover the workload on the source; store its documents. Returns counts/requests."""
    plan = plan_mod.validate(document)
    checkpoints, _ = _store(plan)
    started = time.monotonic()
    source = sites.connect(plan['source'], timing=True)
    with sites.calls_to(plan['source'], 'discovery'):
        workload = discovery.discover(source, plan)
    requests = discovery.request_counts(source)
    checkpoints.put_part(checkpoint_id, 'resources', {
        'project_id': workload.project_id, 'window': workload.window,
        'mode': workload.mode, 'not_protected': workload.skipped,
        'resources': workload.to_dict()})
    return {'counts': workload.counts(), 'requests': requests, 'mode': workload.mode,
            'not_protected': sorted(workload.skipped), 'seconds': checkpoint.elapsed(started)}


def _to_snapshot(plan, resources):
    """(servers whose root disk is snapshotted, volumes snapshotted) of a checkpoint."""
    return ([s for s in resources.get('server', ())
             if root_disks_mod.mode(plan, s) == 'snapshot'],
            resources.get('volume', []) if plan['policy']['replication'] in
            volumes.SNAPSHOT_METHODS else [])


def snapshot(document, checkpoint_id, freeze_seconds=None):
    """The point-in-time step: ask Nova to snapshot the root disks and Cinder the volumes,
    back to back, and wait until every one has its bytes taken; with hook workflows, within
    `freeze_seconds` (the application waits frozen meanwhile). What it makes is recorded as
    the part "snapshots" before waiting: replicate uses it, abort deletes it."""
    plan = plan_mod.validate(document)
    checkpoints, _ = _store(plan)
    part = checkpoints.get_part(checkpoint_id, 'resources')
    servers, vols = _to_snapshot(plan, part['resources'])
    source = sites.connect(plan['source'])
    timeout = freeze_seconds or SNAPSHOT_TIMEOUT
    started = time.time()
    made = {'root_disks': {}, 'volumes': {}, 'group_snapshots': {}, 'quiesced': {},
            'requested_from': started}
    shelved = [s for s in servers if s.get('status') in root_disks_mod.SHELVED]
    bs = source.block_storage
    try:
        with sites.calls_to(plan['source'], 'snapshots'):
            made['shelved'] = root_disks_mod.shelved_images(source, shelved)
            servers = [s for s in servers if s not in shelved]
            # Volume-backed servers whose guest Nova can freeze: their volumes through Nova.
            frozen = quiesce.candidates(part['resources'].get('server', ()), vols)
            by_nova = {v for s in frozen for v in s['volume_ids']}
            groups = volumes.consistent_groups(bs, [v for v in vols if v['id'] not in by_nova])
            grouped = {v for ids in groups.values() for v in ids}
            quiesce.start(source, frozen, checkpoint_id, made['quiesced'])
            root_disks_mod.start(source, servers, checkpoint_id, made['root_disks'])
            volumes.take_group_snapshots(bs, groups, checkpoint_id, made['group_snapshots'])
            volumes.take_snapshots(bs, [v for v in vols if v['id'] not in grouped | by_nova],
                                   checkpoint_id, made['volumes'])
            made['volumes'].update(quiesce.snapshots(source, made['quiesced'].values()))
            made['requested_until'] = time.time()
            checkpoints.put_part(checkpoint_id, 'snapshots', made)
            left = lambda: max(1, timeout - (time.time() - started))  # noqa: E731
            root_disks_mod.wait_captured(source, part['project_id'], servers,
                                         made['root_disks'], left())
            if groups:
                volumes.wait_all(lambda: bs.group_snapshots(details=True),
                                 list(made['group_snapshots']), 'available', left(),
                                 'group snapshot')
                made['grouped'], made['group_of'] = volumes.group_members(
                    bs, made['group_snapshots'], grouped)
            volumes.wait_all(lambda: bs.snapshots(all_projects=True),
                             list(made['volumes'].values()), 'available', left(),
                             'volume snapshot')
    except Exception as exc:
        _release(source, made)  # at once: the post-hook thaws next; abort then waits
        if freeze_seconds and time.time() - started >= freeze_seconds:
            raise errors.DraasError(
                'the snapshots did not fit in the freeze window of %d s (options.hooks.'
                'freeze_seconds): %s' % (freeze_seconds, exc)) from None
        raise
    made['captured_at'] = time.time()
    checkpoints.put_part(checkpoint_id, 'snapshots', made)
    return {'root_disks': len(made['root_disks']), 'volumes': len(made['volumes']),
            'seconds': round(made['captured_at'] - started, 3),
            'freeze_seconds': freeze_seconds}


def _release(source, made, settle=0):
    """Delete the snapshots a run made (those already used are gone: ignored), waiting up
    to `settle` seconds for those still 'creating' (Cinder deletes them only after)."""
    nova = made.get('quiesced', {}).values()
    try:  # Nova's volume snapshots, even those the run had not recorded yet
        by_nova = quiesce.snapshots(source, nova).values()
    except Exception:
        by_nova = ()
    root_disks_mod.delete_snapshots(source, list(made.get('root_disks', {}).values()) +
                                    list(nova))
    volumes.delete_snapshots(source.block_storage,
                             set(made.get('volumes', {}).values()) | set(by_nova),
                             made.get('group_snapshots', {}), settle=settle)


def replicate(document, checkpoint_id, hooks=None):
    """Copy images, the root disk snapshots and the volume data to the recovery site; store
    what a restore needs, and the consistency reached per server, as part "data". `hooks`:
    the hook workflows that ran around the snapshots ({pre, post: {workflow,
    finished_at}}), None without."""
    plan = plan_mod.validate(document)
    checkpoints, target = _store(plan)
    resources = checkpoints.get_part(checkpoint_id, 'resources')['resources']
    made = checkpoints.get_part(checkpoint_id, 'snapshots')
    source = sites.connect(plan['source'])
    started = time.monotonic()
    owner = images_mod.owner_key(plan['name'], checkpoints.store.url)
    transfer = plan['options'].get('transfer', {})
    throttle = images_mod.Throttle(transfer.get('bytes_per_second'),
                                   transfer.get('streams', images_mod.STREAMS))
    with sites.calls_to('%s -> %s' % (plan['source'], plan['target']), 'image copy'):
        image_map = images_mod.copy_images(source, target, resources.get('image', []), owner,
                                           throttle)
    try:
        with sites.calls_to('%s -> %s' % (plan['source'], plan['target']),
                            'root disk copy'):
            root_disks = root_disks_mod.copy_servers(
                plan, source, target, resources.get('server', []), made['root_disks'], owner,
                made.get('shelved'), throttle)
        latest = checkpoints.latest()
        previous = checkpoints.get_part(latest, 'data')['volumes'] if latest else {}
        with sites.calls_to(plan['source'], 'volume ' + plan['policy']['replication']):
            volume_data = volumes.replicate(
                plan, source, target, resources.get('volume', []), checkpoint_id,
                dict(made['volumes'], **made.get('grouped', {})), previous, owner, throttle)
        if plan['policy']['replication'] == 'backup':
            location.confirm(plan['source'], plan['target'], target, volume_data)
        # Backed up or copied: the group snapshots go (their members go with them only),
        # and Nova's images naming the snapshots of quiesced servers.
        volumes.delete_snapshots(source.block_storage, (), made.get('group_snapshots', {}))
        root_disks_mod.delete_snapshots(source, made.get('quiesced', {}).values())
    except Exception as exc:
        orphans = getattr(exc, 'orphan_backups', None) or getattr(
            exc.__context__, 'orphan_backups', None)
        if orphans:  # deleted by the next prune (they may still be in progress now)
            checkpoints.set_pending_deletions(checkpoints.pending_deletions() + [
                {'site': plan['source'], 'backup_id': b, 'checkpoint_id': checkpoint_id}
                for b in orphans])
        raise
    backups = [v for v in volume_data.values() if v.get('method') == 'backup']
    store = backups and sites.backup_store(plan['source'])
    for v in backups:  # what they wrote, when draas may read where they are
        with sites.calls_to(plan['source'], 'reading the backup store'):
            v['bytes_copied'] = volumes.stored_bytes(store, v['record']) if store else None
    thawed = (hooks or {}).get('post') or {}
    consistency = dict(
        consistency_mod.levels(resources.get('server', []), set(volume_data), root_disks,
                               bool((hooks or {}).get('pre')), plan['policy']['replication'],
                               made.get('group_of', {}), set(made.get('quiesced', {}))),
        snapshots_requested_from=made['requested_from'],
        snapshots_captured_at=made.get('captured_at'), hooks=hooks or None,
        # how long the pre-hook held the application: until thawed, or the snapshots taken
        frozen_seconds=round(thawed.get('finished_at', made['captured_at']) -
                             hooks['pre']['finished_at'], 3)
        if hooks and hooks.get('pre') else None)
    checkpoints.put_part(checkpoint_id, 'data', {'images': image_map, 'volumes': volume_data,
                                                 'root_disks': root_disks,
                                                 'consistency': consistency})
    moved = [v.get('bytes_copied', 0) for v in volume_data.values()]
    snapshots = [r for r in root_disks.values() if r['mode'] == 'snapshot']
    return {'images': len(image_map),
            'image_bytes_copied': sum(i['bytes_copied'] for i in image_map.values()),
            'root_disks': len(snapshots),
            'root_disk_bytes_copied': sum(r['bytes_copied'] for r in snapshots),
            'volumes': len(volume_data),
            'incremental_backups': sum(1 for v in volume_data.values()
                                       if v.get('incremental')),
            'volume_bytes_copied': None if None in moved else sum(moved),
            'replica_bytes_received': sum(v.get('received_bytes') or 0
                                          for v in volume_data.values()),
            'consistency': consistency['level'],
            'frozen_seconds': consistency['frozen_seconds'],
            'servers_by_consistency': dict(collections.Counter(
                d['level'] for d in consistency['servers'].values())),
            'seconds': checkpoint.elapsed(started)}


def commit(document, checkpoint_id, summary=None):
    """Write the manifest (hashes of every part), apply retention, release the lock."""
    plan = plan_mod.validate(document)
    checkpoints, _ = _store(plan)
    parts, content = {}, {}
    for name in ('plan', 'resources', 'data'):
        raw = checkpoints.store.get('%s/%s/%s.json' % (plan['name'], checkpoint_id, name))
        if raw is None:
            raise checkpoint.StoreError('checkpoint %s: part %s is missing' % (
                checkpoint_id, name))
        parts[name] = {'sha256': hashlib.sha256(raw).hexdigest(), 'size': len(raw)}
        content[name] = json.loads(raw)
    consistency = content['data']['consistency']
    if isinstance(consistency, str):  # a run of a version before per-server levels
        consistency = {'level': consistency, 'servers': {}}
    project_id = content['resources']['project_id']
    project = [d for d in content['resources']['resources'].get('project', ())
               if d['id'] == project_id]
    manifest = checkpoints.commit(checkpoint_id, parts, {
        'project': {'id': project_id, 'name': project[0]['name'] if project else None},
        'source': plan['source'], 'target': plan['target'], 'policy': plan['policy']['name'],
        'created_at': checkpoint.iso(checkpoint.checkpoint_time(checkpoint_id)),
        'window': content['resources']['window'],
        'consistency': consistency['level'],
        # the report shows them without reading the parts
        'server_consistency': {d['name']: d['level']
                               for d in consistency['servers'].values()},
        'counts': {k: len(v) for k, v in content['resources']['resources'].items()},
        'mode': content['resources'].get('mode', sites.ADMIN),
        'not_protected': content['resources'].get('not_protected', {}),
        'summary': summary or {}})
    checkpoints.drop_part(checkpoint_id, 'snapshots')  # used up by replicate
    removed = prune(plan, checkpoints, keep=[checkpoint_id])
    checkpoints.unlock(checkpoint_id)
    return {'checkpoint_id': checkpoint_id, 'committed_at': manifest['committed_at'],
            'counts': manifest['counts'], 'consistency': manifest['consistency'],
            'servers_by_consistency': dict(collections.Counter(
                manifest['server_consistency'].values())),
            'mode': manifest['mode'], 'not_protected': manifest['not_protected'],
            'pruned': removed}


def copies_of(data):
    """IDs of the image copies at the target a checkpoint's part "data" uses."""
    return ({i['target_id'] for i in data.get('images', {}).values()} |
            {r['target_id'] for r in data.get('root_disks', {}).values() if 'target_id' in r} |
            {v['image_id'] for v in data.get('volumes', {}).values() if v.get('image_id')})


def prune(plan, checkpoints, keep=()):
    """Apply the policy's retention: remove expired checkpoints and the data that only they
    used (source backups and the records restores imported of them at the target; the
    plan's image copies at the target: of images and of volumes). Backups still needed (an
    incremental builds on them) wait in the plan's pending-deletions list, recorded before
    anything is deleted, for a later prune."""
    pending = checkpoints.pending_deletions()
    removed = checkpoints.expired(plan['policy']['retention'], keep)
    images = set()
    for cid in removed:
        try:
            data = checkpoints.get_part(cid, 'data')
        except checkpoint.StoreError:
            data = {}  # a run that died before replicating: nothing to delete
        volumes_data = data.get('volumes', {})
        pending += [{'site': plan['source'], 'backup_id': v['backup_id'],
                     'checkpoint_id': cid}
                    for v in volumes_data.values() if v.get('backup_id')]
        images |= copies_of(data)
    if images:  # a copy of an unchanged image or volume is used by later checkpoints too
        for cid in set(checkpoints.list()) - set(removed):
            try:
                images -= copies_of(checkpoints.get_part(cid, 'data'))
            except checkpoint.StoreError:
                pass  # a run in progress: its copies are not among the expired ones
        pending += [{'site': plan['target'], 'image_id': i, 'checkpoint_id': ''}
                    for i in sorted(images)]
    if pending:
        checkpoints.set_pending_deletions(pending)
    for cid in removed:
        checkpoints.delete(cid)
    if pending:
        left, forget = [], []
        for site in sorted({p['site'] for p in pending}):
            conn = sites.connect(site)
            mine = [p for p in pending if p['site'] == site]
            with sites.calls_to(site, 'deletion of expired volume data'):
                backups = [p for p in mine if 'backup_id' in p]
                kept = volumes.delete_backups(conn, backups)
                left += kept
                # Restores imported these backups' records at the target: they go too.
                forget += [{'site': plan['target'], 'imported_backup_id': p['backup_id'],
                            'checkpoint_id': p['checkpoint_id']}
                           for p in backups if p not in kept]
                forget += [p for p in mine if 'imported_backup_id' in p]
                owner = images_mod.owner_key(plan['name'], checkpoints.store.url)
                for item in mine:
                    if 'image_id' in item:
                        images_mod.delete_copy(conn, item['image_id'], owner)
        if forget:
            checkpoints.set_pending_deletions(left + forget)
            with sites.calls_to(plan['target'], 'deletion of imported backup records'):
                left += volumes.forget_imports(sites.connect(plan['target']), forget)
        checkpoints.set_pending_deletions(left)
    return removed


def verify(document, checkpoint_id=None):
    """Check a committed checkpoint (default: the latest) against its manifest."""
    plan = plan_mod.validate(document)
    checkpoints = _store(plan)[0]
    cid = checkpoints.chosen(checkpoint_id)
    manifest = checkpoints.verify(cid)
    access.check_owner(plan, manifest)
    return {'checkpoint_id': cid, 'verified': True, 'committed_at': manifest['committed_at'],
            'counts': manifest['counts'], 'parts': sorted(manifest['parts'])}


def show(document, checkpoint_id=None):
    """A committed checkpoint (default: the latest), verified, as a summary: its manifest
    without hashes, and per volume and image what the restore will use."""
    plan = plan_mod.validate(document)
    checkpoints = _store(plan)[0]
    cid = checkpoints.chosen(checkpoint_id)
    manifest, parts = checkpoints.read(cid)
    access.check_owner(plan, manifest)
    data = parts['data']
    volumes = {vid: dict({k: v for k, v in d.items() if k not in ('record', 'parents')},
                         **({'parents': [p['backup_id'] for p in d['parents']]}
                            if d.get('parents') else {}))
               for vid, d in data['volumes'].items()}
    return dict({k: v for k, v in manifest.items() if k != 'parts'},
                parts=sorted(manifest['parts']), images=data['images'], volumes=volumes)


def prune_now(document):
    """Apply the plan's retention now (cron-free): takes the plan's lock like a checkpoint
    run, so it never removes the parts of a run in progress."""
    plan = plan_mod.validate(document)
    checkpoints, _ = _store(plan)
    owner = 'prune-' + checkpoint.new_checkpoint_id()
    checkpoints.lock(owner, plan['options']['lock_timeout_minutes'])
    try:
        removed = prune(plan, checkpoints)
    finally:
        checkpoints.unlock(owner)
    return {'pruned': removed, 'kept': checkpoints.list(),
            'pending_deletions': len(checkpoints.pending_deletions())}


# Servers that write nothing to their disks; a paused one still holds its writes in memory.
QUIET = ('SHUTOFF', 'SUSPENDED', 'SHELVED', 'SHELVED_OFFLOADED')


def stop_servers(document, timeout=600):
    """Planned failover: stop the workload's servers on the source (their disks then hold
    everything written; a paused server is unpaused first) and wait until they are quiet.
    Returns {stopped: the names stopped now, stopped_at: when stopping began (the
    failover's RTO counts from there), current: the latest checkpoint when it is
    still the final one (taken with every server quiet, none changed since: a re-run of a
    planned failover restores it again instead of taking another) or None}."""
    plan = plan_mod.validate(document)
    source = sites.connect(plan['source'])
    stopped_at = time.time()  # a planned failover's RTO counts from here
    with sites.calls_to(plan['source'], 'stopping servers'):
        ctx, servers = discovery.find_servers(source, plan)
        loud = [s for s in servers if s.status not in QUIET]
        for server in loud:
            if server.status == 'PAUSED':
                source.compute.unpause_server(server)
                source.compute.wait_for_server(server, status='ACTIVE', wait=timeout)
            source.compute.stop_server(server)
        volumes.wait_all(lambda: source.compute.servers(
                             **sites.in_every_project(source, ctx.project.id)),
                         [s.id for s in loud], 'SHUTOFF', timeout, 'servers',
                         error=sites.SiteError)
    return {'stopped': sorted(s.name for s in loud), 'stopped_at': stopped_at,
            'current': None if loud else _final_checkpoint(plan, servers)}


def _final_checkpoint(plan, servers):
    """The latest checkpoint when it holds `servers` quiet and unchanged since, else None."""
    checkpoints, _ = _store(plan)
    latest = checkpoints.latest()
    if latest is None:
        return None
    _, parts = checkpoints.read(latest)
    docs = {d['id']: d for d in parts['resources']['resources'].get('server', ())}
    roots = (parts.get('data') or {}).get('root_disks') or {}  # a snapshot changed updated_at
    now = {s.id: (s.status, s.updated_at) for s in servers}
    then = {sid: (d.get('status'), (roots.get(sid) or {}).get('server_updated_at') or
                  d.get('updated_at')) for sid, d in docs.items()}
    return latest if now == then else None


def abort(document, checkpoint_id):
    """Undo a failed run: delete the snapshots it made, remove its parts (never a committed
    checkpoint), unlock."""
    plan = plan_mod.validate(document)
    checkpoints, _ = _store(plan)
    if checkpoint_id not in checkpoints.list():
        try:
            made = checkpoints.get_part(checkpoint_id, 'snapshots')
        except checkpoint.StoreError:
            made = {}  # it failed before taking any
        try:
            if made:
                with sites.calls_to(plan['source'], 'deleting the run\'s snapshots'):
                    _release(sites.connect(plan['source']), made, RELEASE_SETTLE)
        except errors.DraasError:
            pass  # the source unreachable: its snapshots stay, the run's parts go
        checkpoints.delete(checkpoint_id)
    checkpoints.unlock(checkpoint_id)
    return {'checkpoint_id': checkpoint_id, 'aborted': True}
