"""Where volume data lives: a checkpoint must survive the loss of its source.

`backup`: Cinder writes backups wherever the source's cinder-backup is configured to (a
Swift or NFS share at the recovery site, or a disk next to the source). draas proves the
recovery site can read them: a probe volume is backed up at the source, its record imported
at the target and restored into a new volume there; all of it is deleted after. The result
is kept per site pair in the target's default Swift store with its time: checkpoints trust a
pass for PROBE_MAX_AGE (and check each backup was written by the driver probed: confirm), a
failure not at all (it may have been fixed); draas.sites.check too, unless asked to probe
anew (reprobe: after reconfiguring a cinder-backup).
`image`: draas copies the data into the target's Glance itself: nothing to prove.
`replication`: the array's; Cinder reports the replicated types (not probed here).
"""
import concurrent.futures
import datetime
import itertools
import json
import time
import uuid

from openstack import exceptions as sdk_exc

from actions import checkpoint
from actions import errors
from actions.replication import volumes
from actions import sites

PROBE_MAX_AGE = 24 * 3600  # seconds a passed probe stands for
PROBE_TIMEOUT = 300  # seconds each step of a probe may take
CACHE = '_data-paths/%s--%s.json'  # in the target's default store (plans never start with _)


class DataLocationError(errors.DraasError):
    pass


def probe_backup(source, target, timeout=PROBE_TIMEOUT):
    """Back up a 1 GiB volume at `source` (a Connection), import the backup's record at
    `target` and restore it there; delete everything it made. Returns {readable, reason
    (None when readable), service (the source's backup driver), probe (the name of what it
    made), seconds}."""
    name = 'draas-probe-%s' % uuid.uuid4().hex[:12]
    sbs, tbs = source.block_storage, target.block_storage
    started = time.monotonic()
    made = {}
    step = 'creating a probe volume at the source'
    try:
        made['source_volume'] = sbs.create_volume(size=1, name=name,
                                                  description='draas data path probe').id
        volumes.wait_volume(sbs, made['source_volume'], timeout)
        step = 'backing the probe volume up at the source'
        made['source_backup'] = backup_id = sbs.create_backup(
            volume_id=made['source_volume'], name=name, force=True).id
        volumes.wait_all(lambda: [sbs.get_backup(backup_id)], [backup_id], 'available',
                         timeout, 'probe backup')
        record = sbs.export_backup(backup_id)['backup-record']
        made['service'] = record.get('backup_service')
        step = 'importing the backup record at the recovery site'
        made['target_backup'] = backup_id  # Cinder keeps a failed import's record: delete it
        volumes.import_chain(target, {'backup_id': backup_id, 'record': record}, timeout)
        step = 'restoring the imported backup at the recovery site'
        made['target_volume'] = tbs.create_volume(size=1, name=name).id
        volumes.wait_volume(tbs, made['target_volume'], timeout)
        tbs.restore_backup(backup_id, volume_id=made['target_volume'])
        volumes.wait_volume(tbs, made['target_volume'], timeout)
        readable, reason = True, None
    except (volumes.VolumeReplicationError, sdk_exc.SDKException) as exc:
        readable, reason = False, '%s: %s%s' % (step, exc, _fail_reason(
            sbs if step.endswith('at the source') else tbs, made))
    finally:
        _delete(tbs, made.get('target_volume'), made.get('target_backup'))
        _delete(sbs, made.get('source_volume'), made.get('source_backup'))
    return {'readable': readable, 'reason': reason, 'service': made.get('service'),
            'probe': name, 'seconds': round(time.monotonic() - started, 3)}


def _fail_reason(bs, made):
    """Cinder's own words on why the probe's backup failed, when it kept them."""
    try:
        backup = bs.get_backup(made.get('target_backup') or made['source_backup'])
        return ' (Cinder: %s)' % backup.fail_reason if backup.fail_reason else ''
    except Exception:
        return ''


def _delete(bs, volume_id, backup_id):
    """The probe's volume and backup at one site; a failure leaves a 'draas-probe-'
    leftover rather than hiding the probe's answer."""
    for delete, item in ((bs.delete_volume, volume_id), (bs.delete_backup, backup_id)):
        try:
            if item:
                delete(item, ignore_missing=True)
        except Exception:
            pass


def backup_path(source_name, target_name, source, target, store=None, max_age=PROBE_MAX_AGE,
                fresh=False):
    """Whether backups made at site `source_name` are readable at `target_name` without it:
    the cached answer when it passed less than `max_age` seconds ago (unless `fresh`), else
    a new probe (cached in `store`, the target's default store; None: not cached). Returns
    the probe's result with checked_at (UTC, ISO 8601) and cached (bool)."""
    key = CACHE % (source_name, target_name)
    known = None if fresh else _known(store, key)
    if known and known['readable'] and (_now() - datetime.datetime.fromisoformat(
            known['checked_at'])).total_seconds() < max_age:
        return dict(known, cached=True)
    result = dict(probe_backup(source, target),
                  checked_at=_now().strftime('%Y-%m-%dT%H:%M:%SZ'))
    if store is not None:
        try:
            store.put(key, json.dumps(result).encode())
        except errors.DraasError:
            pass  # not cached: the next check probes again
    return dict(result, cached=False)


def _known(store, key):
    """The probe kept at `key` of `store` (None: no store, none kept, or unreadable)."""
    try:
        known = json.loads(store.get(key) or 'null') if store is not None else None
        datetime.datetime.fromisoformat(known['checked_at'])  # a time we can compare
        return known if 'readable' in known else None
    except (errors.DraasError, ValueError, TypeError, KeyError):
        return None


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _cache(target):
    """The target's default store, where probes are kept; None when it has no Swift."""
    try:
        return checkpoint.open_store('swift', target)
    except errors.DraasError:
        return None


def require(method, source_name, target_name, source, target):
    """Refuse (DataLocationError, before anything is made) a replication `method` whose
    data would not survive the loss of the source; returns the probe (None: no probe)."""
    if method != 'backup':
        return None
    result = backup_path(source_name, target_name, source, target, _cache(target))
    if not result['readable']:
        raise DataLocationError(
            'plan.policy.replication: %r would not survive the loss of %s: %s cannot read '
            'the backups %s makes (probe of %s: %s). Use "image" (volume snapshots uploaded '
            'to Glance and copied to %s\'s), or have %s\'s cinder-backup write where %s '
            'reads it (e.g. a Swift at %s)' % (
                method, source_name, target_name, source_name, result['checked_at'],
                result['reason'], target_name, source_name, target_name, target_name))
    return result


def confirm(source_name, target_name, target, volume_data):
    """After a checkpoint's backups (`volume_data`, volumes.backup's): the pair's latest
    probe passed and saw the driver that wrote each; else (cinder-backup reconfigured, or a
    probe failed meanwhile) the probe is dropped (the next checkpoint probes again) and
    DataLocationError raised, naming the backups as orphan_backups (the caller has them
    deleted)."""
    store = _cache(target)
    key = CACHE % (source_name, target_name)
    known = _known(store, key)
    if not known:
        return
    changed = sorted({v['record'].get('backup_service') for v in volume_data.values()} -
                     {known.get('service')})
    if known['readable'] and not changed:
        return
    store.delete(key)
    if not known['readable']:  # probed anew (draas.sites.check) while this checkpoint ran
        exc = DataLocationError(
            '%s cannot read the backups %s makes (probe of %s: %s): this checkpoint\'s '
            'would not survive the loss of %s' % (target_name, source_name,
                                                  known['checked_at'], known['reason'],
                                                  source_name))
    else:
        exc = DataLocationError(
            'the backups of %s were written by %s, not by %s that the probe of %s proved '
            'readable at %s: its cinder-backup was reconfigured. Run the checkpoint again: '
            'it probes where the backups are read first' % (
                source_name, ', '.join(changed), known['service'], known['checked_at'],
                target_name))
    exc.orphan_backups = [v['backup_id'] for v in volume_data.values()]
    raise exc


def check_pairs(names, fresh=False):
    """Where the backups of each site of `names` can be read: {"A -> B": {backup: the probe
    (backup_path: a pass of the last day, or a new one; always new with `fresh`), or
    {readable: None, reason} when a member's credentials cannot probe}} for each ordered
    pair, probed in parallel."""
    conns = {name: sites.connect(name) for name in names}
    pairs = list(itertools.permutations(names, 2))

    def one(pair):
        source, target = pair
        members = [n for n in pair if sites.mode(conns[n]) != sites.ADMIN]
        if members:
            return {'backup': {'readable': None, 'reason': (
                'not probed: Cinder exports and imports backup records for admins only, '
                'and %s %s a member\'s' % (' and '.join(members),
                                          'are' if len(members) > 1 else 'is'))}}
        return {'backup': backup_path(source, target, conns[source], conns[target],
                                      _cache(conns[target]), fresh=fresh)}
    if not pairs:
        return {}
    with concurrent.futures.ThreadPoolExecutor(len(pairs)) as pool:
        return {'%s -> %s' % pair: found for pair, found in zip(pairs, pool.map(one, pairs))}
