"""The consistency a checkpoint reached, per server and for the plan: named, not assumed.

Levels, strongest first:
  application-consistent  the application was told: the plan's hook workflows ran around the
                          snapshots (within the freeze window), or Nova quiesced the guest
                          (qemu guest agent: hw_qemu_guest_agent) for its only disk, or for
                          all its volumes (a volume-backed server: Nova's snapshot)
  crash-consistent-group  its volumes (all its disks) in one consistent Cinder group snapshot:
                          the array took them at one instant
  crash-consistent        every disk of the server captured at one instant (it has one, or it
                          was stopped or shelved: nothing wrote between its snapshots)
  per-volume              its disks captured one after the other, each crash-consistent alone
                          (no write order across them)
  backend-replication     its volumes replicated by the storage array (method "replication"):
                          whatever the backend keeps, out of draas' sight
  stateless               nothing of its disks is kept (root disk "base_image", no volumes)
"""
QUIET = ('SHUTOFF', 'SHELVED', 'SHELVED_OFFLOADED')  # nothing writes to their disks
LEVELS = ('application-consistent', 'crash-consistent-group', 'crash-consistent', 'per-volume',
          'backend-replication')
STATELESS = 'stateless'


def server_level(disks, quiesced, hooks, method, status=None, group=None):
    """(level, how) of a server (its `status` then) whose kept disks number `disks`: its
    root disk (quiesced or not) and its volumes replicated by `method`; `group`: the one
    group snapshot holding all its disks, if any."""
    if not disks:
        return STATELESS, 'no disk kept'
    if hooks:
        return 'application-consistent', 'hook workflows around the snapshots'
    if method == 'replication':
        return 'backend-replication', 'the storage array replicates its volumes'
    if disks == 1:
        return (('application-consistent', 'Nova quiesced the guest (guest agent)')
                if quiesced else ('crash-consistent', 'one disk'))
    if group:
        return 'crash-consistent-group', 'its %d volumes in group snapshot %s' % (disks, group)
    if status in QUIET:
        return 'crash-consistent', '%s: nothing wrote between its disks\' snapshots' % status
    return 'per-volume', '%d disks snapshotted one after the other' % disks


def levels(servers, volume_ids, root_disks, hooks, method, group_of=None, quiesced=()):
    """{'level': the plan's (its weakest server's), 'servers': {server ID: {name, level,
    how}}} of a checkpoint: `servers` its server documents, `volume_ids` the volumes it
    kept, `root_disks` its part data's root disks, `hooks` whether a pre-hook ran before them,
    `group_of` {volume ID: the group snapshot that took it}, `quiesced` the volume-backed
    servers whose volumes Nova snapshotted with the guest frozen (quiesce.py)."""
    group_of = group_of or {}
    out = {}
    for s in servers:
        root = root_disks.get(s['id'], {})
        kept = [v for v in s.get('volume_ids') or () if v in volume_ids]
        disks = len(kept) + (root.get('mode') == 'snapshot')
        groups = {group_of.get(v) for v in kept}
        group = groups.pop() if len(groups) == 1 and disks == len(kept) else None
        level, how = server_level(disks, root.get('quiesced') and not kept, hooks, method,
                                  s.get('status'), group)
        if s['id'] in quiesced and not hooks:
            level, how = ('application-consistent', 'Nova quiesced the guest (guest agent) '
                          'and snapshotted its %d volumes' % disks)
        out[s['id']] = {'name': s['name'], 'level': level, 'how': how}
    attached = {v for s in servers for v in s.get('volume_ids') or ()}
    loose = set(volume_ids) - attached  # volumes of no server: a set of their own
    groups = {group_of.get(v) for v in loose}
    found = [d['level'] for d in out.values() if d['level'] != STATELESS] + (
        [server_level(len(loose), False, hooks, method, group=groups.pop()
                      if len(groups) == 1 else None)[0]] if loose else [])
    return {'level': max(found, key=LEVELS.index) if found else STATELESS, 'servers': out}
