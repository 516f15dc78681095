"""Preflight checks: check the target for a restore and say what it would do, making nothing."""
import json
import time

from actions import errors
from actions import resources
from actions.resources import identity
from actions.resources import network as network_kind
from actions.restore.context import DRILL_ID
from actions.restore.context import MODES
from actions.restore.context import Restore
from actions.restore.context import RestoreError
from actions.restore.levels import check_stop_after
from actions.restore.levels import LEVELS
from actions import sites
from actions import verify


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
        # Mapped availability zones: servers and volumes are created in them.
        zones = r.options['availability_zones']
        for service, kind in (('compute', 'server'), ('block_storage', 'volume')):
            wanted = sorted({zones[d['availability_zone']] for d in r.docs(kind)
                             if d.get('availability_zone') in zones})
            have = {z.name for z in getattr(admin, service).availability_zones()
                    } if wanted else set()
            for zone in wanted:
                if zone not in have:
                    problems.append(
                        'options.restore.availability_zones: %s has no %s availability zone '
                        '%r for the %ss mapped to it (it has %s)' % (
                            r.site, service.replace('_', ' '), zone, kind,
                            ', '.join(sorted(have)) or 'none'))
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
        keypair = resources.all_kinds()['keypair']
        for key in r.docs('keypair') if not r.drill else ():  # a drill's keys are its own
            have = mine.get(keypair.copy_name(r, key))
            if have is not None and have.public_key.strip() != key['public_key'].strip():
                problems.append('keypair %r of the restoring user on %s holds another '
                                'public key' % (keypair.copy_name(r, key), r.site))
        # The project, its quotas, and what the restore would create there.
        project = r.doc('project', r.source_project_id)
        exists = admin.identity.find_project(r.name(project['name']), ignore_missing=True)
        preview.insert(0, '%s project %s' % ('use' if exists else 'create',
                                             r.name(project['name'])))
        domains = {d.name for d in admin.identity.domains()} if r.docs('domain') else ()
        for domain in r.docs('domain'):
            if domain['name'] not in domains:
                preview.insert(0, 'create domain %s' % r.name(domain['name']))
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
            # Copies of these servers by another restore (a failover of an older
            # checkpoint): a second copy would run beside them.
            ours = {resources.RESTORE_TAG + rid for rid in [r.restore_id] + r.adopted}
            ids = {s['id'] for s in servers}
            others = {}
            for s in there:
                tags = set(s.tags or ())
                if resources.origin({'tags': s.tags}) in ids and not tags & ours:
                    others.setdefault(', '.join(sorted(
                        t[len(resources.RESTORE_TAG):] for t in tags
                        if t.startswith(resources.RESTORE_TAG))), []).append(s.name)
            for restore_id, names in sorted(others.items()):
                problems.append(
                    'project %s on %s already holds copies of these servers (%s) made by '
                    'restore %s: a failover of another checkpoint would run a second copy '
                    'beside them. Run the failover of that checkpoint again (checkpoint_id) '
                    'to finish it, or delete those servers first' % (
                        project['name'], r.site, ', '.join(sorted(names)), restore_id))
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
