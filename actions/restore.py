"""Restore: rebuild a workload on the target site from a committed checkpoint.

    preflight (dry run: checks the target, returns what would be made, touches nothing)
    -> apply(level) for each of LEVELS, in order -> finish (verify, ID map, RTO/RPO).

Only the target site is contacted: an unplanned failover works with the source gone.
Every resource made carries its source ID and the restore ID (Neutron/Nova tags, Cinder
metadata) and the ID map (source ID -> target ID) is saved in the checkpoint store (after
each copy; once per level for copies found by their tags), so a re-run of the same restore
finds what exists and creates only what is missing.
"""
import collections
import concurrent.futures
import functools
import hashlib
import json
import re
import threading
import time

from actions import access
from actions import checkpoint
from actions import discovery
from actions import errors
from actions import fidelity
from actions import plan as plan_mod
from actions import resources
from actions.resources import identity
from actions.resources import network as network_kind
from actions.replication import volumes as movers
from actions import sites
from actions import verify

# Dependency levels; each kind says its level (Kind.level). Within a level kinds go in
# dependency order and the resources of a kind in parallel. Volumes come before the
# networks they do not need: their data fills while the networks are made.
LEVELS = ('identity', 'compute', 'volumes', 'network', 'network_links', 'ports', 'servers',
          'attach')
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
        self.admin = sites.connect(self.site, timing=True)
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

    @property
    def project_id(self):
        return self.idmap.get('project', {}).get(self.source_project_id)

    @property
    def conn(self):
        """A connection of the restoring user scoped to the restored project."""
        if self._conn is None:
            if not self.project_id:
                raise RestoreError('the project is not restored yet (level identity)')
            self._conn = sites.connect_as_project(self.admin, self.project_id, self._made)
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

    def domain(self, source_domain_id):
        # Domains are not restored: the same ID when the target has it, else "default".
        found = self.admin.identity.find_domain(source_domain_id, ignore_missing=True)
        return found.id if found else 'default'

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


# ---- preflight

def _quota_problems(admin, site, project_id, need, source_limits):
    """Quota limits and usage of the target project vs what the restore needs; for a
    project the restore will create, the target's default quotas. A limit lower than the
    source project's counts as the source's: the restore raises it."""
    problems = []
    if project_id:
        quotas = (admin.compute.get_quota_set(project_id, usage=True),
                  admin.block_storage.get_quota_set(project_id, usage=True),
                  admin.network.get_quota(project_id, details=True))
    else:
        own = admin.current_project_id
        quotas = (admin.compute.get_quota_set_defaults(own),
                  admin.block_storage.get_quota_set_defaults(own),
                  admin.network.get_quota_default(own))
    for service, quota, keys in zip(
            ('compute', 'block_storage', 'network'), quotas,
            (('instances', 'cores', 'ram'), ('volumes', 'gigabytes'),
             ('ports', 'floating_ips', 'networks', 'subnets', 'routers',
              'security_groups'))):
        usage = getattr(quota, 'usage', None) or {}
        for key in keys:
            value = getattr(quota, key, None)
            if isinstance(value, dict):  # network details: {limit, used, reserved}
                limit, used = value.get('limit'), (value.get('used') or 0) + (
                    value.get('reserved') or 0)
            else:
                limit, used = value, usage.get(key) or 0
            wanted = (source_limits or {}).get(service, {}).get(key)
            if wanted is not None and identity.above(wanted, limit):
                limit = wanted
            if limit is not None and limit >= 0 and used + need.get(key, 0) > limit:
                problems.append('%s quota %s of the project on %s: %d needed, %d of %d '
                                'in use%s' % (service.replace('_', ' '), key, site,
                                              need[key], used, limit,
                                              '' if project_id else ' (default quota of a '
                                              'new project)'))
    return problems


def _import_quota_problems(admin, r):
    """The backup records the restore imports count against the backup quotas of the
    project of the target's clouds.yaml entry (10 backups by Cinder's default)."""
    sizes = {v['id']: v['size'] for v in r.docs('volume')}
    todo = [sizes[vid] for vid, data in r.data['volumes'].items()
            if vid in sizes and data.get('method') == 'backup'
            for item in data.get('parents', []) + [data]
            if admin.block_storage.find_backup(item['backup_id'], ignore_missing=True) is None]
    if not todo:
        return []
    quota = admin.block_storage.get_quota_set(admin.current_project_id, usage=True)
    problems = []
    for key, need in (('backups', len(todo)), ('backup_gigabytes', sum(todo))):
        limit, used = getattr(quota, key, None), (quota.usage or {}).get(key) or 0
        if limit is not None and limit >= 0 and used + need > limit:
            problems.append('block storage quota %s of project %s on %s (where the restore '
                            'imports %d backup record(s)): %d needed, %d of %d in use' % (
                                key, admin.current_project_id, r.site, len(todo), need,
                                used, limit))
    return problems


def check_stop_after(stop_after):
    """stop_after (fault injection): None or a level."""
    if stop_after is not None and stop_after not in LEVELS:
        raise RestoreError('stop_after: expected one of %s, got %r' % (
            ', '.join(LEVELS), stop_after))


def preflight(document, checkpoint_id=None, mode='unplanned', restore_id=None,
              dry_run=False, stop_after=None):
    """Check the target for a restore of the checkpoint and say what it would do; unless
    it is a dry run, record the restore's start (its measured RTO counts from there).

    Returns {restore_id, checkpoint_id, checkpoint_created_at, levels, preview, warnings,
    counts}; raises RestoreError listing every problem (nothing is created either way).
    """
    if mode not in MODES:
        raise RestoreError('mode: expected one of %s, got %r' % (', '.join(MODES), mode))
    errors.flag('dry_run', dry_run)
    check_stop_after(stop_after)
    if (mode == 'drill') != bool(restore_id and DRILL_ID.match(restore_id)):
        raise RestoreError('restore_id: a drill (and only a drill) has an ID "drill-" and '
                           '4 to 16 lower-case letters or digits; got %r for mode %s'
                           % (restore_id, mode))
    r = Restore(document, checkpoint_id, restore_id)
    problems, warnings, preview = [], [], []
    admin = r.admin
    ordered = [name for group in r.options['boot_order'] for name in group]
    unknown = sorted(set(ordered) - {s['name'] for s in r.docs('server')})
    if unknown:
        problems.append('options.restore.boot_order: checkpoint %s has no server %s' % (
            r.checkpoint_id, ', '.join(repr(n) for n in unknown)))
    twice = sorted({name for name in ordered if ordered.count(name) > 1})
    if twice:
        problems.append('options.restore.boot_order: server %s listed more than once' %
                        ', '.join(repr(n) for n in twice))

    with sites.calls_to(r.site, 'preflight'):
        # Restored Neutron resources are found again by their tags.
        if not r.network_has('standard-attr-tag'):
            problems.append('Neutron of %s does not support tags (no "standard-attr-tag" '
                            'extension: enable the service plugin "tag")' % r.site)
        # External networks: mapped (or the same name), and there.
        server_ports = {p for s in r.docs('server') for p in s.get('port_ids') or ()}
        for net in r.docs('network'):
            if r.is_external(net):
                want = r.mapped_network(net)
                if want is None:  # a drill without a network to the outside
                    if any(p['network_id'] == net['id'] for p in r.docs('port')
                           if p['id'] in server_ports):
                        problems.append(
                            'servers have ports on the external network %r: a drill needs '
                            'options.drill.external_network for them' % net['name'])
                    else:
                        preview.append('no gateway to network %s and no floating IPs '
                                       '(isolated drill)' % net['name'])
                elif r._find_network(want) is None and r.drill:
                    problems.append('options.drill.external_network: %s has no network %r'
                                    % (r.site, want))
                elif r._find_network(want) is None:
                    problems.append(
                        'network %r is external on %s and %s has no network %r: map it '
                        'in options.restore.networks, e.g. {%r: <network of %s>}' % (
                            net['name'], r.plan['source'], r.site, want, net['name'],
                            r.site))
                else:
                    preview.append('map network %s -> %s' % (net['name'], want))
        # Flavors: mapped ones must exist; others are reused or created.
        for flavor in r.docs('flavor'):
            name = r.options['flavors'].get(flavor['name'], flavor['name'])
            found = admin.compute.find_flavor(name, ignore_missing=True)
            if found is None and name != flavor['name']:
                problems.append('flavor %r (mapped from %r) does not exist on %s' % (
                    name, flavor['name'], r.site))
            elif found is None:
                preview.append('create flavor %s (%d vCPU, %d MiB)' % (
                    name, flavor['vcpus'], flavor['ram']))
            else:
                if (found.vcpus, found.ram) != (flavor['vcpus'], flavor['ram']):
                    warnings.append('flavor %s on %s has %d vCPU/%d MiB, the source %d/%d'
                                    % (name, r.site, found.vcpus, found.ram,
                                       flavor['vcpus'], flavor['ram']))
                preview.append('use flavor %s' % name)
        types = {t.name for t in admin.block_storage.types()}
        for vtype in r.docs('volume_type'):
            name = r.options['volume_types'].get(vtype['name'], vtype['name'])
            if name in types:
                preview.append('use volume type %s' % name)
            elif r.options['create_volume_types']:
                preview.append('create volume type %s (extra specs %s)' % (
                    r.name(name), json.dumps(vtype.get('extra_specs') or {},
                                             sort_keys=True)))
            elif name != vtype['name']:
                problems.append('volume type %r (mapped from %r) does not exist on %s' % (
                    name, vtype['name'], r.site))
            else:
                problems.append('volume type %r is not on %s: map it in '
                                'options.restore.volume_types, e.g. {%r: <type of %s>}, or '
                                'set options.restore.create_volume_types' % (
                                    name, r.site, name, r.site))
        # Network MTUs: the target must be able to set them (or the plan says otherwise).
        mtus = sorted({n['mtu'] for n in r.docs('network')
                       if not r.is_external(n) and n.get('mtu') and
                       network_kind.target_mtu(r, n)})
        if mtus and not r.network_has('net-mtu-writable'):
            problems.append('Neutron of %s cannot set a network\'s MTU (no "net-mtu-writable" '
                            'extension) and the workload\'s networks have MTU %s: map them '
                            'in options.restore.mtu (0: the target\'s default), e.g. {"%d": '
                            '0}' % (r.site, ', '.join(map(str, mtus)), mtus[0]))
        # Data: image copies present, volume data restorable.
        for image in r.docs('image'):
            copy = r.data['images'].get(image['id'], {}).get('target_id')
            found = copy and admin.image.find_image(copy, ignore_missing=True)
            if not found or found.status != 'active':
                problems.append('the copy of image %r (%s) is missing on %s' % (
                    image.get('name'), copy, r.site))
        for vol in r.docs('volume'):
            data = r.data['volumes'].get(vol['id']) or {}
            if data.get('method') == 'image':
                copy = admin.image.find_image(data['image_id'], ignore_missing=True)
                restorable = copy is not None and copy.status == 'active'
            elif data.get('method') == 'replication':
                restorable = bool(r.options.get('replica_host'))
                if not restorable:
                    problems.append('volume %r (%s) is replicated by the storage array: set '
                                    'options.restore.replica_host to the backend of %s '
                                    'holding the replicas' % (vol.get('name'), vol['id'],
                                                              r.site))
                    continue
            else:
                restorable = data.get('method') == 'backup' and data.get('record')
            if not restorable:
                problems.append('volume %r (%s): the checkpoint holds no data %s can '
                                'restore (method %s)' % (vol.get('name'), vol['id'], r.site,
                                                         data.get('method')))
        problems += _import_quota_problems(admin, r)
        # Keypairs are the restoring user's: one of the same name must hold the same key.
        problems += verify.probe_problems(r)
        mine = {k.name: k for k in admin.compute.keypairs()}
        for key in r.docs('keypair') if not r.drill else ():  # a drill's keys are its own
            have = mine.get(key['name'])
            if have is not None and have.public_key.strip() != key['public_key'].strip():
                problems.append('keypair %r of the restoring user on %s holds another '
                                'public key' % (key['name'], r.site))
        # The project, its quotas, and what the restore would create there.
        project = r.doc('project', r.source_project_id)
        exists = admin.identity.find_project(r.name(project['name']), ignore_missing=True)
        preview.insert(0, '%s project %s' % ('use' if exists else 'create',
                                             r.name(project['name'])))
        flavors = {f['id']: f for f in r.docs('flavor')}
        servers = r.docs('server')
        need = {'instances': len(servers),
                'cores': sum(flavors[s['flavor_id']]['vcpus'] for s in servers),
                'ram': sum(flavors[s['flavor_id']]['ram'] for s in servers),
                'volumes': len(r.docs('volume')),
                'gigabytes': sum(v['size'] for v in r.docs('volume')),
                'ports': len(r.docs('port')) + sum(
                    len(x['interfaces']) for x in r.docs('router')),
                'floating_ips': len(r.docs('floating_ip')),
                'networks': sum(1 for n in r.docs('network') if not r.is_external(n)),
                'subnets': len(r.docs('subnet')), 'routers': len(r.docs('router')),
                'security_groups': len(r.docs('security_group'))}
        done = {}
        if exists is not None:
            # As the admin: the restoring user may have no role on the project yet.
            done = {k: resources.by_source_tag(getattr(admin.network, call)(
                        **r.tag_query()))
                    for k, call in (('network', 'networks'), ('subnet', 'subnets'),
                                    ('port', 'ports'), ('router', 'routers'),
                                    ('security_group', 'security_groups'),
                                    ('floating_ip', 'ips'))}
            done['server'] = resources.by_source_tag(admin.compute.servers(
                all_projects=True, tags=resources.RESTORE_TAG + r.restore_id))
            there = list(admin.compute.servers(all_projects=True, project_id=exists.id))
            names = {s.name for s in there}
            originals = sorted(s.name for s in there if s.id in {
                resources.origin(d) for d in servers})
            if originals:
                preview.append('replace servers %s (those the checkpoint\'s servers were '
                               'restored from; their volumes are kept)' % ', '.join(originals))
            clash = sorted(s['name'] for s in servers
                           if s['name'] in names and s['id'] not in done['server'] and
                           s['name'] not in originals)
            if clash:
                warnings.append('project %s on %s already has servers named %s (not made '
                                'by this restore)' % (project['name'], r.site,
                                                      ', '.join(clash)))
            cidrs = {s.cidr for s in admin.network.subnets(project_id=exists.id)}
            overlap = sorted(s['cidr'] for s in r.docs('subnet')
                             if s['cidr'] in cidrs and s['id'] not in done['subnet'])
            if overlap:
                warnings.append('project %s on %s already has subnets %s' % (
                    project['name'], r.site, ', '.join(overlap)))
            # What exists already (a re-run, a warm standby) is in use, not needed again.
            for s in servers:
                if s['id'] in done['server']:
                    need['instances'] -= 1
                    need['cores'] -= flavors[s['flavor_id']]['vcpus']
                    need['ram'] -= flavors[s['flavor_id']]['ram']
            for key, kind in (('networks', 'network'), ('subnets', 'subnet'),
                              ('routers', 'router'), ('security_groups', 'security_group'),
                              ('floating_ips', 'floating_ip')):
                need[key] = max(0, need[key] - len(done[kind]))
            need['ports'] = max(0, need['ports'] - len(done['port']) - sum(
                len(x['interfaces']) for x in r.docs('router') if x['id'] in done['router']))
        problems += _quota_problems(admin, r.site, exists.id if exists else None, need,
                                    project.get('quotas'))
    if problems:
        raise RestoreError('restore of checkpoint %s of plan %s on %s is not possible: %s'
                           % (r.checkpoint_id, r.plan['name'], r.site, '; '.join(problems)))
    counts = {}
    for kind, what in resources.all_kinds().items():  # in dependency order
        docs = [d for d in r.docs(kind) if kind != 'network' or not r.is_external(d)]
        if kind in ('flavor', 'volume_type', 'project', 'image') or not docs:
            continue  # reused, mapped or shared: said above
        if not what.in_restore(r):
            preview.append('skip %d %s (not in a drill%s)' % (
                len(docs), kind, '' if kind != 'floating_ip' else
                ' without options.drill.external_network'))
            continue
        made = len(done.get(kind, ()))
        counts[kind] = {'create': len(docs) - made, 'exists': made}
        preview.append('create %d %s%s' % (len(docs) - made, kind,
                                           ' (%d exist already)' % made if made else ''))
    methods = sorted({d['method'] for d in r.data['volumes'].values()})
    preview.append('fill %d volumes from %s' % (len(r.docs('volume')), ' and '.join(
        {'backup': 'imported backups', 'image': 'image copies',
         'replication': 'array replicas'}.get(m, m)
        for m in methods)))
    users = [u['name'] for u in r.docs('user')]
    if users and not r.drill:
        preview.append('users without a password (disabled) unless they exist: %s'
                       % ', '.join(sorted(users)))
    if not dry_run:
        r.state.setdefault('started_at', time.time())
        r.state['mode'] = mode
        r.save_state()
    return {'restore_id': r.restore_id, 'checkpoint_id': r.checkpoint_id,
            'checkpoint_created_at': r.manifest['created_at'], 'levels': list(LEVELS),
            'preview': preview, 'warnings': warnings, 'counts': counts}


# ---- apply

def _parallel(r, docs, work, what):
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
    if not docs or not kind.in_restore(r):
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
        existed = _parallel(r, docs, one, kind.name)
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
    if not origins:
        return
    stale = [s for s in r.conn.compute.servers() if s.id in origins]
    for server in stale:
        r.conn.compute.delete_server(server)
    if stale:
        with r._lock:
            r.state.setdefault('replaced_servers', []).extend(
                '%s (%s)' % (s.name, s.id) for s in stale)
            r.save_state()
    deadline = time.monotonic() + r.timeout
    while any(s.id in origins for s in r.conn.compute.servers()):
        if time.monotonic() > deadline:
            raise RestoreError('servers %s not deleted after %d s' % (
                ', '.join(sorted(s.id for s in stale)), r.timeout))
        time.sleep(1)


def _attach_volumes(r):
    """Wait for the data of the volumes no server boots from (they filled while the
    servers booted), then attach each server's (its boot volume is attached at boot)."""
    kind, boot = resources.all_kinds()['volume'], r.boot_volume_ids
    _parallel(r, [d for d in r.docs('volume') if d['id'] not in boot],
              lambda d: kind.finish(r, d, r.map('volume', d['id'])), 'volume')
    attached = {s.id: {a['id'] for a in s.attached_volumes or ()}
                for s in r.conn.compute.servers()}
    todo = [(r.map('server', s['id']), r.map('volume', v))
            for s in r.docs('server') for v in s.get('volume_ids') or ()
            if v != s.get('boot_volume_id')]
    missing = [(sid, vid) for sid, vid in todo if vid not in attached.get(sid, ())]
    _parallel(r, [{'id': vid, 'server': sid} for sid, vid in missing],
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


# ---- warm standby

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
        there = r.admin.identity.find_project(project['name'], ignore_missing=True)
        restored = sorted({t[len(resources.RESTORE_TAG):] for s in (r.admin.compute.servers(
            all_projects=True, project_id=there.id) if there else ())
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
        _parallel(r, [dict(d, id=d['backup_id']) for d in backups],
                  lambda d: movers.import_chain(r.admin, d, r.timeout), 'backup import')
    return {'staged': True, 'restore_id': standby, 'levels': levels,
            'backups_imported': len(backups), 'seconds': checkpoint.elapsed(started)}


# ---- finish

def finish(document, checkpoint_id, restore_id):
    """Verify the restored workload (actions.verify) and compare it with the checkpoint
    (actions.fidelity); record and return the restore's summary (counts, timings per level,
    checks passed, measured RTO, achieved RPO, fidelity, users needing action)."""
    r = Restore(document, checkpoint_id, restore_id)
    started = time.monotonic()
    with sites.calls_to(r.site, 'verification'):
        verified = verify.workload(r)
    finished = time.time()
    with sites.calls_to(r.site, 'fidelity report'):
        fidelity_report = fidelity.report(r)
    created_at = checkpoint.checkpoint_time(r.checkpoint_id).timestamp()
    summary = {
        'restore_id': r.restore_id, 'checkpoint_id': r.checkpoint_id,
        'target': r.site, 'project_id': r.project_id,
        'mode': r.state.get('mode'),
        'counts': {k: len(v) for k, v in sorted(r.idmap.items())},
        'levels': [r.state['levels'][lv] for lv in LEVELS if lv in r.state['levels']],
        'verified': verified,
        'verify_seconds': checkpoint.elapsed(started),
        'rto_seconds': round(finished - r.state.get('started_at', finished), 1),
        'rto_target_seconds': r.plan['policy']['rto_minutes'] * 60,
        'rpo_seconds': round(r.state.get('started_at', finished) - created_at, 1),
        'rpo_target_seconds': r.plan['policy']['rpo_minutes'] * 60,
        'fidelity': fidelity_report,
        'users_to_enable': sorted(r.state['users_to_enable']),
        'replaced_servers': r.state.get('replaced_servers', []),
        'finished_at': checkpoint.iso(checkpoint.now()),
    }
    r.state['summary'] = summary
    r.save_state()
    return summary
