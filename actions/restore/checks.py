"""Preflight checks: check the target for a restore and say what it would do, making nothing."""
import collections
import time

from actions import errors
from actions import resources
from actions.resources import identity
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


def _made_already(r, exists, found):
    """{kind: {source ID: target ID}} of what this restore (or the standby it adopts) made
    in the existing target project `exists` already; adds to `found` what else is there:
    copies by another restore (a problem), servers and subnets alike (warnings), originals
    a failback replaces (preview). As the admin: the restoring user may have no role on the
    project yet."""
    admin, servers = r.admin, r.docs('server')
    done = {k: resources.by_source_tag(getattr(admin.network, call)(**r.tag_query()))
            for k, call in (('network', 'networks'), ('subnet', 'subnets'), ('port', 'ports'),
                            ('router', 'routers'), ('security_group', 'security_groups'),
                            ('floating_ip', 'ips'))}
    done['server'] = resources.by_source_tag(admin.compute.servers(
        tags=resources.RESTORE_TAG + r.restore_id, **sites.all_projects(admin)))
    done['volume'] = resources.all_kinds()['volume'].made_by(r, admin.block_storage.volumes(
        **sites.in_every_project(admin, exists.id)))
    there = list(admin.compute.servers(**sites.in_every_project(admin, exists.id)))
    names = {s.name for s in there}
    originals = sorted(s.name for s in there if s.id in {
        resources.origin(d) for d in servers}) if not r.drill else []
    if originals:
        found.preview.append('replace servers %s (those the checkpoint\'s servers were '
                             'restored from; their volumes are kept)' % ', '.join(originals))
    # Copies of these servers by another restore (a failover of an older checkpoint): a
    # second copy would run beside them.
    ours = {resources.RESTORE_TAG + rid for rid in [r.restore_id] + r.adopted}
    ids = {s['id'] for s in servers}
    others = {}
    for s in there:
        tags = set(s.tags or ())
        if resources.origin({'tags': s.tags}) in ids and not tags & ours:
            others.setdefault(', '.join(sorted(
                t[len(resources.RESTORE_TAG):] for t in tags
                if t.startswith(resources.RESTORE_TAG))), []).append(s.name)
    for restore_id, copies in sorted(others.items()) if not r.drill else ():
        # (a member's drill shares the project with production: beside it by design)
        found.problems.append(
            'project %s on %s already holds copies of these servers (%s) made by restore %s: '
            'a failover of another checkpoint would run a second copy beside them. Run the '
            'failover of that checkpoint again (checkpoint_id) to finish it, or delete those '
            'servers first' % (exists.name, r.site, ', '.join(sorted(copies)),
                               restore_id))
    clash = sorted(s['name'] for s in servers
                   if s['name'] in names and s['id'] not in done['server'] and
                   s['name'] not in originals)
    if clash:
        found.warnings.append('project %s on %s already has servers named %s (not made by '
                              'this restore)' % (exists.name, r.site, ', '.join(clash)))
    cidrs = {s.cidr for s in admin.network.subnets(project_id=exists.id)}
    overlap = sorted(s['cidr'] for s in r.docs('subnet')
                     if s['cidr'] in cidrs and s['id'] not in done['subnet'])
    if overlap:
        found.warnings.append('project %s on %s already has subnets %s' % (
            exists.name, r.site, ', '.join(overlap)))
    return done


def preflight(document, checkpoint_id=None, mode='unplanned', restore_id=None,
              dry_run=False, stop_after=None, started_at=None):
    """Check the target for a restore of the checkpoint and say what it would do; unless
    it is a dry run, record the restore's start (its measured RTO counts from there:
    `started_at`, a planned failover's stop of the source, or now).

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
    found = resources.Findings()
    problems, warnings, preview = found.problems, found.warnings, found.preview
    admin = r.admin
    with sites.calls_to(r.site, 'preflight'):
        # Restored Neutron resources are found again by their tags.
        if not r.network_has('standard-attr-tag'):
            problems.append('Neutron of %s does not support tags (no "standard-attr-tag" '
                            'extension: enable the service plugin "tag")' % r.site)
        for kind in resources.all_kinds().values():
            kind.check(r, found)
        problems += _import_quota_problems(admin, r)
        problems += verify.probe_problems(r)
        # The project, its quotas, and what the restore would create there.
        project = r.doc('project', r.source_project_id)
        if r.member:  # tenant mode: the entry's own project, whose quota is not raised
            exists = admin.identity.get_project(admin.current_project_id)
            preview.insert(0, 'use project %s (of %s, whose credentials are a member\'s: '
                              'no project, user, flavor or quota is made or changed)' % (
                                  exists.name, r.site))
            wanted = r.options.get('project')
            if wanted and wanted not in (exists.name, exists.id):
                problems.append('options.restore.project: %r is not the project of %s '
                                '(%s), whose credentials are a member\'s: they restore into '
                                'that project only' % (wanted, r.site, exists.name))
        else:
            exists = admin.identity.find_project(r.project_name(project), ignore_missing=True)
            preview.insert(0, '%s project %s' % ('use' if exists else 'create',
                                                 r.project_name(project)))
            domains = {d.name for d in admin.identity.domains()} if r.docs('domain') else ()
            for domain in r.docs('domain'):
                if domain['name'] not in domains:
                    preview.insert(0, 'create domain %s' % r.name(domain['name']))
        done = _made_already(r, exists, found) if exists is not None else {}
        need = collections.Counter()
        for kind in resources.all_kinds().values():
            need.update(kind.needs(r, done.get(kind.name, {})))
        problems += _quota_problems(admin, r.site, exists.id if exists else None, need,
                                    None if r.member else project.get('quotas'))
    if problems:
        raise RestoreError('restore of checkpoint %s of plan %s on %s is not possible: %s'
                           % (r.checkpoint_id, r.plan['name'], r.site, '; '.join(problems)))
    counts = {}
    for kind, what in resources.all_kinds().items():  # in dependency order
        docs = [d for d in r.docs(kind) if kind != 'network' or not r.is_external(d)]
        if kind in ('flavor', 'volume_type', 'project', 'image') or not docs:
            continue  # reused, mapped or shared: said above
        if not what.allowed(r.mode):
            preview.append('skip %d %s (%s: not restored with a member\'s credentials)' % (
                len(docs), kind, what.admin_only))
            continue
        if not what.in_restore(r):
            preview.append('skip %d %s (not in a drill%s)' % (
                len(docs), kind, '' if kind != 'floating_ip' else
                ' without options.drill.external_network'))
            continue
        made = len(done.get(kind, ()))
        counts[kind] = {'create': len(docs) - made, 'exists': made}
        preview.append('create %d %s%s' % (len(docs) - made, kind,
                                           ' (%d exist already)' % made if made else ''))
    users = [u['name'] for u in r.docs('user')]
    if users and not r.drill and not r.member:
        preview.append('users without a password (disabled) unless they exist: %s'
                       % ', '.join(sorted(users)))
    if not dry_run:
        r.state.setdefault('started_at', float(started_at or time.time()))
        r.state['mode'] = mode
        r.save_state()
    return {'restore_id': r.restore_id, 'checkpoint_id': r.checkpoint_id,
            'checkpoint_created_at': r.manifest['created_at'], 'levels': list(LEVELS),
            'preview': preview, 'warnings': warnings, 'counts': counts}
