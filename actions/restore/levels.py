"""The levels runner: each level makes its kinds' resources (in dependency order, a kind's
resources in parallel), then its per-level steps (rules, interfaces, attachments)."""
import collections
import concurrent.futures
import time

from actions import checkpoint
from actions import errors
from actions import resources
from actions.replication import volumes as movers
from actions.restore.context import Restore
from actions.restore.context import RestoreError
from actions.restore.context import StoppedByRequest
from actions import sites
from actions import waits

# Dependency levels; each kind says its level (Kind.level). Within a level kinds go in
# dependency order and the resources of a kind in parallel. Volumes come before the
# networks they do not need: their data fills while the networks are made.
LEVELS = ('identity', 'compute', 'volumes', 'network', 'network_links', 'ports', 'servers',
          'attach')


def check_stop_after(stop_after):
    """stop_after (fault injection): None or a level."""
    if stop_after is not None and stop_after not in LEVELS:
        raise RestoreError('stop_after: expected one of %s, got %r' % (
            ', '.join(LEVELS), stop_after))


def in_parallel(r, docs, work, what):
    """Run work(doc) for every doc with the plan's parallelism; wait for all of them,
    then raise one error naming every failure (those failing alike in one phrase)."""
    failures = collections.defaultdict(list)  # error -> what failed so
    with concurrent.futures.ThreadPoolExecutor(r.options['parallel']) as pool:
        futures = {pool.submit(work, doc): doc for doc in docs}
        results = []
        for future in concurrent.futures.as_completed(futures):
            doc = futures[future]
            try:
                results.append(future.result())
            except Exception as exc:
                failures[str(exc) if isinstance(exc, errors.DraasError) else
                         sites.explain(exc, r.site)].append(
                    '%s %s (%s)' % (what, doc['name'], doc['id']) if doc.get('name') else
                    '%s %s' % (what, doc['id']))
    if failures:
        raise RestoreError('; '.join(sorted('%s: %s' % (_some(items), error)
                                            for error, items in failures.items())))
    return results


def _some(items, shown=3):
    items = sorted(items)
    return ', '.join(items[:shown]) + (' and %d more' % (len(items) - shown)
                                       if len(items) > shown else '')


def _restore_kind(r, kind, docs=None):
    """Restore every document of `kind`; returns (created, existing)."""
    docs = r.docs(kind.name) if docs is None else docs
    if not docs or not r.makes(kind):
        return 0, 0
    # What the target holds, not what the ID map says: it may list resources since deleted.
    found = kind.restored(r)

    made = kind.create_all(r, [d for d in docs if d['id'] not in found])

    def one(doc):
        target_id = kind.restore(r, doc, found.get(doc['id']) or made.get(doc['id']))
        if target_id is not None:
            r.remember(kind.name, doc['id'], target_id, save=not kind.tagged)
        return doc['id'] in found

    try:
        existed = in_parallel(r, docs, one, kind.name)
    finally:
        r.save_idmap()
    return existed.count(False), existed.count(True)


def _wait_servers(r, ids):
    """Wait until the servers are ACTIVE; one in ERROR fails the level naming its fault."""
    movers.wait_all(r.conn.compute.servers, ids, 'ACTIVE', r.timeout, 'server',
                    poll=movers.RESTORE_POLL, error=RestoreError,
                    describe=lambda s: '%s (%s): %s' % (
                        s.name, s.id, (s.fault or {}).get('message', 'ERROR')))


def _boot_groups(r):
    """Servers in the plan's boot order (groups of names); the others boot last."""
    servers = r.docs('server')
    groups, placed = [], set()
    for names in r.options['boot_order']:
        group = [s for s in servers if s['name'] in names and s['id'] not in placed]
        placed |= {s['id'] for s in group}
        if group:
            groups.append(group)
    rest = [s for s in servers if s['id'] not in placed]
    return groups + ([rest] if rest else [])


def _restore_servers(r, kind):
    created = existing = 0
    for group in _boot_groups(r):
        c, e = _restore_kind(r, kind, group)
        created, existing = created + c, existing + e
        _wait_servers(r, [r.map('server', s['id']) for s in group])
    return created, existing


def _replace_originals(r):
    """Going back (failback), the servers this checkpoint's servers were restored from
    are on the target, stale since the failover: deleted before their successors are made
    (before the ports, so that ports Nova made for them go too). Their volumes stay."""
    origins = {resources.origin(s) for s in r.docs('server')} - {None}
    # A drill never touches what it did not make (a member's shares the project).
    if not origins or r.drill:
        return
    stale = [s for s in r.conn.compute.servers() if s.id in origins]
    for server in stale:
        r.conn.compute.delete_server(server)
    if stale:
        with r._lock:
            r.state.setdefault('replaced_servers', []).extend(
                '%s (%s)' % (s.name, s.id) for s in stale)
            r.save_state()
    waits.until(lambda: None if any(s.id in origins for s in r.conn.compute.servers())
                else True, r.timeout, 1, lambda: RestoreError(
                    'servers %s not deleted after %d s' % (
                        ', '.join(sorted(s.id for s in stale)), r.timeout)))


def _attach_volumes(r):
    """Wait for the data of the volumes no server boots from (they filled while the
    servers booted), then attach each server's (its boot volume is attached at boot)."""
    kind, boot = resources.all_kinds()['volume'], r.boot_volume_ids
    in_parallel(r, [d for d in r.docs('volume') if d['id'] not in boot],
              lambda d: kind.finish(r, d, r.map('volume', d['id'])), 'volume')
    attached = {s.id: {a['id'] for a in s.attached_volumes or ()}
                for s in r.conn.compute.servers()}
    todo = [(r.map('server', s['id']), r.map('volume', v))
            for s in r.docs('server') for v in s.get('volume_ids') or ()
            if v != s.get('boot_volume_id')]
    missing = [(sid, vid) for sid, vid in todo if vid not in attached.get(sid, ())]
    in_parallel(r, [{'id': vid, 'server': sid} for sid, vid in missing],
              lambda d: r.conn.compute.create_volume_attachment(d['server'],
                                                                volume_id=d['id']),
              'volume attachment')
    for _, vid in missing:
        movers.wait_volume(r.conn.block_storage, vid, r.timeout, want='in-use',
                           statuses=r.volume_statuses)
    return len(missing), len(todo) - len(missing)


def apply(document, checkpoint_id, restore_id, level, stop_after=None):
    """Apply one level of a restore; returns {level, created, existing, seconds, requests}."""
    if level not in LEVELS:
        raise RestoreError('level: expected one of %s, got %r' % (', '.join(LEVELS), level))
    check_stop_after(stop_after)
    started = time.monotonic()
    r = Restore(document, checkpoint_id, restore_id)
    created = existing = 0
    with sites.calls_to(r.site, 'restore level %s' % level):
        if level == 'ports':
            _replace_originals(r)
        for kind in resources.all_kinds().values():
            if kind.level != level:
                continue
            if kind.name == 'server':
                c, e = _restore_servers(r, kind)
            else:
                c, e = _restore_kind(r, kind)
            created, existing = created + c, existing + e
        if level == 'network_links':
            sg = resources.all_kinds()['security_group']
            c, e = sg.restore_rules(r, r.docs('security_group'))
            created, existing = created + c, existing + e
        if level == 'attach':
            c, e = _attach_volumes(r)
            created, existing = created + c, existing + e
    result = {'level': level, 'created': created, 'existing': existing,
              'seconds': checkpoint.elapsed(started), 'requests': r.requests()}
    r.state['levels'][level] = result
    r.save_state()
    if stop_after == level:
        raise StoppedByRequest('stopped after level %s as asked (stop_after): run the '
                               'failover again to finish it' % level)
    return result
