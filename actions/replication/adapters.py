"""Storage replication adapters: how the `replication` method speaks to the arrays.

An array replicates volumes to the recovery site's storage continuously; draas asks it
through an adapter (as VMware SRM does through a storage replication adapter). Adapters are
loaded by name from the entry point group `draas.replication`, so a vendor adds one in its
own package without editing draas:

    [entry_points]
    draas.replication =
        myarray = myarray_draas:Adapter

A plan picks one with options.replication.adapter (default "cinder"). An adapter finds its
own settings (an array's address, its credentials) in the sites' clouds.yaml entries, under
draas: {replication: {<adapter name>: {...}}}: never in plans or workflow inputs.

Replicas are plain dicts the adapter makes (`enable`) and the checkpoint keeps (so no secrets
in them); draas never looks inside them. Times are seconds since the epoch.
"""
from importlib import metadata

from actions import errors
from actions import sites

GROUP = 'draas.replication'
# What an adapter may be able to do beyond enable/promote (its `capabilities`).
LAG = 'lag'  # status() tells when each replica was last in sync
CLONE = 'clone'  # a drill gets a copy; the replica goes on receiving
REVERSE = 'reverse'  # failback sends back only what changed


class ReplicationError(errors.DraasError):
    pass


class Adapter:
    """One kind of array. `plan`: the validated plan; `settings`: {site: this adapter's
    settings in that site's clouds.yaml entry}.

    Every method names the volumes it cannot serve in its error. promote, clone and status
    talk to the recovery site's side only: the source may be gone."""
    name = None
    capabilities = ()

    def __init__(self, plan, settings):
        self.plan, self.settings = plan, settings
        self.source, self.target = plan['source'], plan['target']

    def enable(self, conn, volumes):
        """Make sure each of `volumes` (checkpoint documents; `conn`: the source) replicates
        to the target; returns {volume ID: replica}. Idempotent."""
        raise NotImplementedError

    def restorable(self):
        """Raise what keeps a restore at the target from using replicas (its preflight
        asks): e.g. settings missing."""

    def status(self, replicas):
        """{volume ID: {state, synced_at, lag_seconds}} of `replicas` ({volume ID:
        replica}) as the recovery site sees them. state: "replicating" (receiving), "source
        silent" (nothing heard from the source lately: restorable as last synced), or why
        it is not restorable ("syncing" its first copy, "missing", ...). synced_at: the
        source's time up to which the replica holds every write; lag_seconds: how far it
        trailed its volume when last heard from (None when the array does not say)."""
        raise NotImplementedError

    def promote(self, replica):
        """Stop replicating into `replica` and hand it over for a failover: returns
        {host, ref} for Cinder's manage at the target (host@backend#pool, the backend's
        reference), and synced_at, lag_seconds as status() tells them. `replica` also
        holds volume_id and name: the source volume's."""
        raise NotImplementedError

    def clone(self, replica, name):
        """A copy of `replica` named after `name` for a drill (needs CLONE): like promote,
        the replica itself untouched and still receiving."""
        raise self.cannot_clone()

    def cannot_clone(self):
        return ReplicationError('adapter %r cannot clone replicas: a drill of a plan using '
                                'it would have to stop replication' % self.name)

    @staticmethod
    def current(conn, volumes):
        """({volume ID: volume} of `volumes` (checkpoint documents) as the source lists
        them now, ["<ID> (gone)" for those it no longer has])."""
        ids = {d['id'] for d in volumes}
        found = {v.id: v for v in conn.block_storage.volumes(all_projects=True)
                 if v.id in ids}
        return found, ['%s (gone)' % m for m in sorted(ids - set(found))]

    def reverse(self, replica, volume_id):
        """After a failover (needs REVERSE): volume `volume_id` at the target, what the
        failover made of `replica`, replicates to the source from now on, its replica
        there started from the original volume: only what changed since crosses. Returns
        the new replica (for the reverse plan, whose source is this target)."""
        raise ReplicationError('adapter %r cannot reverse replication: a failback sends '
                               'the volumes back whole' % self.name)


class CinderAdapter(Adapter):
    """Cinder's own volume replication: volumes of a replicated type (replication_enabled
    '<is> True') that the backend replicates by its own configuration (replication_device).
    A failover manages each replica into the target's Cinder: options.restore.replica_host
    names the backend holding them, replica_ref how it names them. Cinder tells no lag."""
    name = 'cinder'

    def enable(self, conn, volumes):
        current, gone = self.current(conn, volumes)
        bad = sorted('%s (%s, replication %s)' % (vid, v.volume_type, v.replication_status)
                     for vid, v in current.items() if v.replication_status != 'enabled')
        if bad + gone:
            raise ReplicationError(
                'the replication method needs volumes of a replicated type with '
                'replication enabled; not so: %s' % ', '.join(bad + gone))
        return {vid: {'replication_status': v.replication_status,
                      'volume_type': v.volume_type, 'backend': getattr(v, 'host', None)}
                for vid, v in current.items()}

    def restorable(self):
        if not self.plan['options']['restore'].get('replica_host'):
            raise ReplicationError('set options.restore.replica_host to the backend of %s '
                                   'holding the replicas' % self.target)

    def status(self, replicas):
        return {vid: {'state': 'replicating', 'synced_at': None, 'lag_seconds': None}
                for vid in replicas}

    def promote(self, replica):
        options = self.plan['options']['restore']
        return {'host': options['replica_host'], 'synced_at': None, 'lag_seconds': None,
                'ref': {k: v.format(id=replica['volume_id'], name=replica.get('name') or '')
                        for k, v in options['replica_ref'].items()}}


def available():
    """Names of the adapters installed."""
    return sorted({ep.name for ep in metadata.entry_points(group=GROUP)})


def load(plan):
    """The adapter the plan names (options.replication.adapter), ready for its sites."""
    name = plan['options']['replication']['adapter']
    found = [ep for ep in metadata.entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise ReplicationError(
            'plan.options.replication.adapter: no adapter %r is installed (installed: %s; '
            'an adapter is a %s entry point)' % (name, ', '.join(available()) or 'none',
                                                  GROUP))
    try:
        cls = found[0].load()
    except Exception as exc:
        raise ReplicationError('replication adapter %r does not load: %s' % (
            name, exc)) from None
    settings = {site: (sites.settings(site).get('replication') or {}).get(name) or {}
                for site in (plan['source'], plan['target'])}
    return cls(plan, settings)
