"""Discovery: a plan's scope on the source site -> the workload's resource documents.

Every kind is read with its list call (server-side filters on the project, and tags) and the
lists are read in parallel; what the workload uses is then selected locally. The number of API
requests therefore grows with pages, not with resources.
"""
import concurrent.futures
import time
import urllib.parse

from openstack import exceptions as sdk_exceptions

from actions import access
from actions import errors
from actions import resources
from actions import sites


class DiscoveryError(errors.DraasError):
    """The scope cannot be resolved on the source site (message says why)."""


class Context:
    """What the list calls of the kinds need to know."""

    def __init__(self, project, scope, mode=sites.ADMIN):
        self.project = project
        self.scope = scope
        self.mode = mode  # sites.ADMIN or sites.MEMBER: what the lists may ask for
        self.image_ids = set()
        self.keypair_users = set()
        self.quotas = {}  # the project's limits, read by the project's list call


class Workload:
    """The selected resources of one workload as checkpoint documents, by kind and ID."""

    def __init__(self, project_id, keep_user_data=False):
        self.project_id = project_id
        self.keep_user_data = keep_user_data
        self.resources = {}
        self.raw = {}

    def add(self, kind, doc):
        self.resources.setdefault(kind, {})[doc['id']] = doc

    def docs(self, kind):
        return list(self.resources.get(kind, {}).values())

    def by_name(self, kind, name):
        for doc in self.docs(kind):
            if doc.get('name') == name:
                return doc
        return None

    def root_volume(self, server):
        """The volume a server boots from, if it boots from a volume."""
        if (server.image or {}).get('id'):
            return None
        for volume in self.raw.get('volume', ()):
            for att in volume.attachments or ():
                if att.get('server_id') == server.id and att.get('device') in (
                        server.root_device_name, '/dev/vda', '/dev/sda'):
                    return volume.id
        return None

    def router_ports(self, router_id):
        return [p for p in self.raw.get('router_port', ())
                if p['device_id'] == router_id]

    def counts(self):
        return {kind: len(docs) for kind, docs in self.resources.items()}

    def to_dict(self):
        return {kind: sorted(docs.values(), key=lambda d: str(d['id']))
                for kind, docs in self.resources.items()}


def _select_servers(servers, wanted):
    if not wanted:
        return servers
    chosen = [s for s in servers if s.id in wanted or s.name in wanted]
    missing = set(wanted) - {s.id for s in chosen} - {s.name for s in chosen}
    if missing:
        raise DiscoveryError('scope.servers: no server %s in the project' % ', '.join(
            repr(m) for m in sorted(missing)))
    return chosen


def source_project(conn, plan, manifest=None):
    """The plan's project on the source; refused when it is not the project the plan is
    bound to (its scope.project_id, or the project its checkpoints hold: `manifest`)."""
    name = plan['scope']['project']
    if sites.mode(conn) == sites.MEMBER:
        # A member sees its own project only: Keystone refuses it the list of projects.
        project = conn.identity.get_project(conn.current_project_id)
        if name not in (project.id, project.name):
            raise DiscoveryError(
                'scope.project: %r is not the project of %s, whose credentials are a '
                'member\'s of project %r (%s) and see no other: give that project, or an '
                'entry of %r' % (name, plan['source'], project.name, project.id, name))
        access.check_source_project(plan, project.id, manifest)
        return project
    try:
        project = conn.identity.find_project(name, ignore_missing=True)
    except sdk_exceptions.DuplicateResource:
        raise DiscoveryError('scope.project: several projects are named %r on %s (in '
                             'different domains): give its ID' % (name, plan['source'])
                             ) from None
    if project is None:
        raise DiscoveryError('scope.project: no project %r on %s' % (name, plan['source']))
    access.check_source_project(plan, project.id, manifest)
    return project


def find_servers(conn, plan):
    """The project and the servers of a plan's scope on the source: (Context, servers)."""
    scope = plan['scope']
    project = source_project(conn, plan)
    ctx = Context(project, scope, sites.mode(conn))
    servers = _select_servers(list(resources.all_kinds()['server'].list(conn, ctx)),
                              scope.get('servers'))
    if not servers:
        raise DiscoveryError('scope matches no server (project %s%s)' % (
            project.name, ', tags %s' % scope['tags'] if scope.get('tags') else ''))
    return ctx, servers


def discover(conn, plan):
    """Discover the workload of `plan` on the site behind `conn`; returns a Workload."""
    kinds = resources.all_kinds()
    started = time.time()
    ctx, servers = find_servers(conn, plan)
    project = ctx.project
    server_ids = {s.id for s in servers}
    ctx.image_ids = {(s.image or {}).get('id') for s in servers} - {None, ''}
    ctx.keypair_users = {s.user_id for s in servers if s.key_name}

    # Everything else in parallel: one list call (and its pages) per kind.
    names = [k for k in kinds if k != 'server' and kinds[k].allowed(ctx.mode)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        lists = dict(zip(names, pool.map(lambda k: list(kinds[k].list(conn, ctx)), names)))
    finished = time.time()
    skipped = {k: kinds[k].admin_only for k in kinds if not kinds[k].allowed(ctx.mode)}
    lists.update(dict.fromkeys(skipped, []))

    wl = Workload(project.id, plan['options'].get('keep_user_data', False))
    wl.mode, wl.skipped = ctx.mode, skipped
    wl.raw['volume'] = lists['volume']
    wl.raw['quotas'] = ctx.quotas

    ports = [p for p in lists['port'] if p.device_id in server_ids]
    port_ids = {p.id for p in ports}
    net_ids = {p.network_id for p in ports}
    subnet_ids = {ip['subnet_id'] for p in ports for ip in p.fixed_ips or ()}
    subnet_ids |= {s.id for s in lists['subnet'] if s.network_id in net_ids}
    router_ports = [p for p in lists['port']
                    if (p.device_owner or '').startswith('network:router_interface')
                    and {ip['subnet_id'] for ip in p.fixed_ips or ()} & subnet_ids]
    router_ids = {p.device_id for p in router_ports}
    wl.raw['router_port'] = [{'id': p.id, 'device_id': p.device_id,
                              'fixed_ips': p.fixed_ips} for p in router_ports]
    routers = [r for r in lists['router'] if r.id in router_ids]
    net_ids |= {(r.external_gateway_info or {}).get('network_id') for r in routers} - {None}
    # Addresses on no port belong to the project: kept when the scope is all of it.
    whole = not (plan['scope'].get('servers') or plan['scope'].get('tags'))
    fips = [f for f in lists['floating_ip']
            if f.port_id in port_ids or (whole and not f.port_id)]
    net_ids |= {f.floating_network_id for f in fips}
    sg_ids = _closure({sg for p in ports for sg in p.security_group_ids or ()},
                      lists['security_group'])
    volumes = [v for v in lists['volume']
               if any(a.get('server_id') in server_ids for a in v.attachments or ())]
    flavor_names = {(s.flavor or {}).get('original_name') for s in servers}
    keypairs_used = {(s.user_id, s.key_name) for s in servers if s.key_name}
    # Groups with a role on the project give it to their members: both kept.
    group_ids = {(a.group or {}).get('id') for a in lists['role_assignment']} - {None}
    members = {g: list(conn.identity.group_users(g)) for g in sorted(group_ids)}
    wl.raw['group_members'] = {g: [u.id for u in users] for g, users in members.items()}
    user_ids = {(a.user or {}).get('id') for a in lists['role_assignment']} - {None}
    user_ids |= {u.id for users in members.values() for u in users}
    # Users of other domains with a role on the project (e.g. an admin of Default): the
    # users of their domains too (users are listed per domain).
    known = {u.id for u in lists['user']}
    for domain_id in sorted({((a.user or {}).get('domain') or {}).get('id')
                             for a in lists['role_assignment']
                             if (a.user or {}).get('id') not in known} - {None}):
        lists['user'] += list(conn.identity.users(domain_id=domain_id))
    users = {u.id: u for users in members.values() for u in users}
    users.update({u.id: u for u in lists['user'] if u.id in user_ids})
    users = list(users.values())
    groups = [g for g in lists['group'] if g.id in group_ids]

    # Keys of one name held by several users with other public keys: kept apart.
    keys = [k for k in lists['keypair'] if (k.user_id, k.name) in keypairs_used]
    public = {}
    for key in keys:
        public.setdefault(key.name, set()).add((key.public_key or '').strip())
    wl.raw['keypair_clash'] = {name for name, found in public.items() if len(found) > 1}

    chosen = {
        'domain': [d for d in lists['domain'] if d.id in {project.domain_id} | {
            u.domain_id for u in users} | {g.domain_id for g in groups}],
        'project': lists['project'],
        'user': users,
        'group': groups,
        'role_assignment': [a for a in lists['role_assignment'] if a.user or a.group],
        'flavor': [f for f in lists['flavor'] if f.name in flavor_names],
        'keypair': keys,
        'volume_type': [t for t in lists['volume_type']
                        if t.name in {v.volume_type for v in volumes}],
        'image': lists['image'],
        'network': [n for n in lists['network'] if n.id in net_ids],
        'subnet': [s for s in lists['subnet'] if s.id in subnet_ids],
        'security_group': [g for g in lists['security_group'] if g.id in sg_ids],
        'router': routers,
        'port': ports,
        'floating_ip': fips,
        'volume': volumes,
        'server_group': [g for g in lists['server_group']
                         if set(g.member_ids or ()) & server_ids],
        'server': servers,
    }
    for name, kind in kinds.items():
        for res in chosen[name]:
            wl.add(name, kind.export(res, wl))
    dangling = ['%s %s refers to %s %s' % (name, doc['id'], ref_kind, ref)
                for name, kind in kinds.items() for doc in wl.docs(name)
                for ref_kind, ref in kind.references(doc)
                if ref not in wl.resources.get(ref_kind, {}) and ref_kind not in skipped]
    if dangling:
        # e.g. an image deleted while servers still run from it: such a checkpoint could
        # not be restored, so it is refused now rather than found out on the worst day.
        raise DiscoveryError('the workload refers to resources missing on %s: %s' % (
            plan['source'], '; '.join(sorted(dangling))))
    wl.window = {'started_at': started, 'listed_at': finished}
    return wl


def _closure(sg_ids, groups):
    """Security groups used by ports plus those their rules refer to (remote groups)."""
    by_id = {g.id: g for g in groups}
    todo, seen = list(sg_ids), set()
    while todo:
        gid = todo.pop()
        if gid in seen or gid not in by_id:
            continue
        seen.add(gid)
        todo += [r.get('remote_group_id') for r in by_id[gid].security_group_rules or ()
                 if r.get('remote_group_id')]
    return seen


def request_counts(conn):
    """API requests made through `conn` (opened with timing=True), total and per service."""
    endpoints = []
    for entry in conn.service_catalog or ():
        for ep in entry.get('endpoints', ()):
            url = urllib.parse.urlsplit(ep.get('url', ''))
            endpoints.append(((url.hostname, url.port), entry.get('type')))
    by_service = {}
    for timing in conn.session.get_timings():
        url = urllib.parse.urlsplit(timing.url)
        service = dict(endpoints).get((url.hostname, url.port), 'other')
        by_service[service] = by_service.get(service, 0) + 1
    return {'total': sum(by_service.values()), 'by_service': by_service}
