"""One restore of a checkpoint at the target: its plan, documents, options, state and ID map,
and what resource kinds ask of it (actions/resources/)."""
import functools
import hashlib
import re
import threading

from actions import access
from actions import checkpoint
from actions import discovery
from actions import errors
from actions import plan as plan_mod
from actions import resources
from actions.replication import adapters
from actions.replication import volumes as movers
from actions import sites

MODES = ('unplanned', 'planned', 'drill')
# A drill restores into its own bubble: names get the suffix "-<drill id>"; short, since
# Neutron tags hold at most 60 characters ("draas-restore=" + the ID).
DRILL_ID = re.compile(r'^drill-[a-z0-9]{4,16}$')


class RestoreError(errors.DraasError):
    pass


class StoppedByRequest(RestoreError):
    """Fault injection: the applier was asked to stop after a level."""


def restore_id_for(checkpoint_id, purpose='failover'):
    """Failovers of one checkpoint share an ID: a re-run resumes the same restore."""
    return '%s-%s' % (purpose, checkpoint_id)


def standby_id_for(plan_name):
    """The restore that stages a warm standby: one per plan, updated at each checkpoint
    (short: Neutron tags hold 60 characters)."""
    return 'standby-' + hashlib.sha256(plan_name.encode()).hexdigest()[:12]


class Restore:
    """One restore of a checkpoint at the target: its documents, options and ID map."""

    def __init__(self, document, checkpoint_id=None, restore_id=None):
        self.plan = plan_mod.validate(document)
        self.site = self.plan['target']
        # The target entry's connection: an admin's, or (tenant mode, sites.MEMBER) a
        # project member's, which restores into its own project and makes no Keystone kind.
        self.admin = sites.connect(self.site, timing=True)
        self.mode = sites.mode(self.admin)
        store = checkpoint.open_store(self.plan['options']['store'], self.admin)
        self.checkpoints = checkpoint.Checkpoints(store, self.plan['name'])
        self.checkpoint_id = self.checkpoints.chosen(checkpoint_id)
        # Every part is checked against its hash at every step (each part read once): a
        # part changed since preflight is refused.
        self.manifest, parts = self.checkpoints.read(self.checkpoint_id)
        access.check_owner(self.plan, self.manifest)
        self.resources = parts['resources']['resources']
        self.source_project_id = parts['resources']['project_id']
        self.data = parts['data']
        self.restore_id = restore_id or restore_id_for(self.checkpoint_id)
        self.options = self.plan['options']['restore']
        # A drill: a project and resources of its own, no users, no production addresses.
        self.drill = bool(DRILL_ID.match(self.restore_id))
        self.drill_network = self.plan['options']['drill'].get('external_network')
        self.timeout = self.options['timeout_minutes'] * 60
        # A failover of a warm standby plan takes over what the standby staged.
        standby = standby_id_for(self.plan['name'])
        self.adopted = [standby] if (self.plan['policy'].get('standby') == 'warm' and
                                     not self.drill and self.restore_id != standby) else []
        self.idmap = (self.checkpoints.get_restore(self.restore_id, 'idmap') or
                      (self.checkpoints.get_restore(self.adopted[0], 'idmap')
                       if self.adopted else None) or {})
        self.state = self.checkpoints.get_restore(self.restore_id, 'state') or {
            'restore_id': self.restore_id, 'checkpoint_id': self.checkpoint_id,
            'levels': {}, 'users_to_enable': list((
                self.adopted and self.checkpoints.get_restore(self.adopted[0], 'state') or
                {}).get('users_to_enable', []))}
        self._lock = threading.Lock()
        self._unsaved = False  # the ID map has entries the store has not
        self._conn = self._volume_statuses = None
        self._domains = {}  # source domain ID -> the target's, found by domain()
        self._made = sites.made_here()  # worker threads make self.conn: closed with the action

    # ---- what resource kinds use
    @functools.cached_property
    def network_extensions(self):
        """The aliases of the target Neutron's extensions (one request)."""
        return {e.alias for e in self.admin.network.extensions()}

    def network_has(self, alias):
        return alias in self.network_extensions

    @property
    def port_tags_at_creation(self):
        """Whether Neutron takes a port's tags in its create request (ML2 extension
        driver tag_ports_during_bulk_creation)."""
        return self.network_has('tag-ports-during-bulk-creation')

    def tag_query(self):
        """Neutron list filter for what this restore (or the standby it adopts) made."""
        tags = [resources.RESTORE_TAG + rid for rid in [self.restore_id] + self.adopted]
        return {'any_tags': tags} if len(tags) > 1 else {'tags': tags[0]}

    def name(self, name):
        """The name a restored resource gets: in a drill, with the drill ID appended."""
        return '%s-%s' % (name, self.restore_id) if self.drill and name else name

    def project_name(self, doc):
        """The name of the project the workload (project document `doc`) is restored into:
        options.restore.project, else the source project's (a drill's: with its ID)."""
        return self.name(self.options.get('project') or doc['name'])

    @property
    def member(self):
        """Tenant mode: the target entry is a project member's."""
        return self.mode == sites.MEMBER

    def makes(self, kind):
        """Whether this restore makes copies of `kind` (a Kind): not of a kind its
        credentials may not (Kind.admin_only, in tenant mode), nor of one its purpose
        skips (Kind.in_restore)."""
        return kind.allowed(self.mode) and kind.in_restore(self)

    @property
    def project_id(self):
        return self.idmap.get('project', {}).get(self.source_project_id)

    @property
    def conn(self):
        """A connection of the restoring user scoped to the restored project."""
        if self._conn is None:
            if not self.project_id:
                raise RestoreError('the project is not restored yet (level identity)')
            self._conn = self.admin if self.project_id == self.admin.current_project_id \
                else sites.connect_as_project(self.admin, self.project_id, self._made)
        return self._conn

    @property
    def volume_statuses(self):
        """The restored project's volume states, shared by the threads waiting for them."""
        with self._lock:
            if self._volume_statuses is None:
                self._volume_statuses = movers.VolumeStatuses(self.conn.block_storage)
            return self._volume_statuses

    @property
    def boot_volume_ids(self):
        """Source IDs of the volumes servers boot from: the servers level needs their data."""
        return {s['boot_volume_id'] for s in self.docs('server') if s.get('boot_volume_id')}

    def requests(self):
        """API requests this action made to the target so far (the store's included)."""
        return sum(discovery.request_counts(c)['total']
                   for c in (self.admin, self._conn) if c is not None)

    def docs(self, kind):
        return self.resources.get(kind, [])

    def doc(self, kind, source_id):
        for d in self.docs(kind):
            if d['id'] == source_id:
                return d
        raise RestoreError('the checkpoint has no %s %s' % (kind, source_id))

    def map(self, kind, source_id):
        try:
            return self.idmap[kind][source_id]
        except KeyError:
            raise RestoreError('%s %s is not restored yet' % (kind, source_id)) from None

    def remember(self, kind, source_id, target_id, save=True):
        """Map a source ID to its copy; saved at once unless `save` is false (then by
        save_idmap)."""
        with self._lock:
            if self.idmap.get(kind, {}).get(source_id) != target_id:
                self.idmap.setdefault(kind, {})[source_id] = target_id
                self._unsaved = not save
                if save:
                    self.checkpoints.put_restore(self.restore_id, 'idmap', self.idmap)

    def save_idmap(self):
        with self._lock:
            if self._unsaved:
                self.checkpoints.put_restore(self.restore_id, 'idmap', self.idmap)
                self._unsaved = False

    def users_to_enable(self, name):
        """A user created disabled: saved at once (a re-run finds the user, not this)."""
        with self._lock:
            if name not in self.state['users_to_enable']:
                self.state['users_to_enable'].append(name)
                self.save_state()

    @functools.cached_property
    def adapter(self):
        """The storage replication adapter of the plan (volumes of method replication)."""
        return adapters.load(self.plan)

    def handed_over(self, volume_id, handed):
        """Record when the replica the adapter handed over for volume `volume_id` was last
        in sync (promote or clone): the summary's RPO of replicated data."""
        with self._lock:
            self.state.setdefault('replicas', {})[volume_id] = {
                k: handed.get(k) for k in ('synced_at', 'lag_seconds')}
            self.save_state()

    def domain(self, source_domain_id):
        """The target's domain for a source domain, or None while the target has none: its
        copy (the domain of that name, the drill's own in a drill); for a checkpoint without
        domains, the domain of the same ID. Names are matched within it, never across
        domains."""
        if source_domain_id in self.idmap.get('domain', {}):
            return self.idmap['domain'][source_domain_id]
        if source_domain_id not in self._domains:
            doc = {d['id']: d for d in self.docs('domain')}.get(source_domain_id)
            wanted = dict.fromkeys([doc['name'], self.name(doc['name'])] if doc else
                                   [source_domain_id])
            found = [self.admin.identity.find_domain(w, ignore_missing=True) for w in wanted]
            found = [f for f in found if f is not None]
            if not found:
                return None  # not cached: the identity level may make it
            self._domains[source_domain_id] = found[0].id
        return self._domains[source_domain_id]

    def is_external(self, net):
        """Networks the workload uses but does not own (external or shared ones) are
        mapped to networks of the target, never created."""
        owned = net.get('project_id', self.source_project_id) == self.source_project_id
        shared = bool(net.get('is_shared')) and not owned
        return bool(net.get('is_router_external')) or shared

    def mapped_network(self, net):
        """The target network (name or ID) an external network maps to; in a drill the
        plan's drill network (options.drill.external_network) or none."""
        if self.drill:
            return self.drill_network
        networks = self.options['networks']
        return networks.get(net['name'], networks.get(net['id'], net['name']))

    def external_network(self, net):
        want = self.mapped_network(net)
        return self._find_network(want) if want else None

    def _find_network(self, name):
        found = self.admin.network.find_network(name, ignore_missing=True)
        return found.id if found else None

    def save_state(self):
        self.checkpoints.put_restore(self.restore_id, 'state', self.state)
