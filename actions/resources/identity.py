"""Keystone: the project owning the workload (with its quota limits), its users (never
passwords), the groups holding roles on it (with their members), role assignments."""
from openstack.identity.v3 import domain as sdk_domain
from openstack.identity.v3 import group as sdk_group
from openstack.identity.v3 import project as sdk_project
from openstack.identity.v3 import user as sdk_user

from actions import errors
from actions.resources import ASSIGNED
from actions.resources import Field
from actions.resources import Kind
from actions.resources import NOT_COMPARED
from actions.resources import reused_name
from actions.resources import RESTORE_TAG
from actions.resources import why


# The quota limits a project takes along: restored into a new project, a workload must fit
# in it, and a recovery site's default quotas are often smaller (Nova: 10 instances).
QUOTAS = {
    'compute': ('instances', 'cores', 'ram', 'key_pairs', 'server_groups',
                'server_group_members'),
    'block_storage': ('volumes', 'gigabytes', 'snapshots', 'backups'),
    'network': ('networks', 'subnets', 'ports', 'routers', 'floating_ips', 'security_groups',
                'security_group_rules'),
}


def read_quotas(conn, project_id):
    """{service: {key: limit}} of a project (-1: unlimited); three GETs."""
    sets = {'compute': conn.compute.get_quota_set(project_id),
            'block_storage': conn.block_storage.get_quota_set(project_id),
            'network': conn.network.get_quota(project_id)}
    return {service: {key: getattr(q, key) for key in QUOTAS[service]
                      if isinstance(getattr(q, key, None), int)}
            for service, q in sets.items()}


def above(wanted, limit):
    """Whether limit `wanted` allows more than `limit` (-1: unlimited; None: the target has
    no such limit)."""
    if limit is None or limit == -1:
        return False
    return wanted == -1 or wanted > limit


def raise_quotas(conn, project_id, wanted):
    """Raise the project's limits to `wanted` ({service: {key: limit}}) where they are lower;
    never lowers one. Returns what was raised."""
    current = read_quotas(conn, project_id)
    update = {'compute': conn.compute.update_quota_set,
              'block_storage': conn.block_storage.update_quota_set,
              'network': conn.network.update_quota}
    raised = {}
    for service, limits in sorted((wanted or {}).items()):
        changes = {k: v for k, v in limits.items() if k in QUOTAS.get(service, ()) and
                   isinstance(v, int) and above(v, current[service].get(k))}
        if changes:
            update[service](project_id, **changes)
            raised[service] = changes
    return raised


def placed(rc, kind, doc):
    """The target domain of a document's domain; an error when the target has none (the
    domain level made every domain the checkpoint names: an older checkpoint names none)."""
    domain = rc.domain(doc['domain_id'])
    if domain is None:
        raise errors.DraasError('%s %s: %s has no domain %s and the checkpoint does not '
                                'describe it' % (kind, doc['name'], rc.site, doc['domain_id']))
    return domain


class Domain(Kind):
    name = 'domain'
    admin_only = 'Keystone lists domains to admins'
    service = 'identity'
    sdk = sdk_domain.Domain
    restores = (
        Field('name', how='the domain of that name on the target, made when missing (a drill '
              'uses it, else makes its own, suffixed)'),
        Field('description'))
    keeps = {'is_enabled': 'the copy is enabled: the restore works in it',
             'options': 'Keystone resource options are the target admin\'s choice'}
    drops = dict(why(ASSIGNED, 'id'), links='URLs of the source\'s API')
    level = 'identity'

    def list(self, conn, ctx):
        return conn.identity.domains()  # few; discovery keeps the project's and users'

    def restored(self, rc):
        names = {d.name: d.id for d in rc.admin.identity.domains()}
        out = {}
        for doc in rc.docs('domain'):
            for name in (doc['name'], rc.name(doc['name'])):
                if name in names:
                    out[doc['id']] = names[name]
                    break
        return out

    def restore(self, rc, doc, target_id):
        return target_id or rc.admin.identity.create_domain(**dict(
            self.args(rc, doc), is_enabled=True)).id

    def check(self, rc, found):
        """Every domain of the project, users and groups can be placed: the checkpoint's
        domains are found by name or made; one it does not describe (an older checkpoint)
        must exist on the target with the same ID."""
        described = {d['id'] for d in rc.docs('domain')}
        wanted = {}
        for kind in ('project', 'user', 'group'):
            for doc in rc.docs(kind) if kind == 'project' or not rc.drill else ():
                if doc['domain_id'] not in described:
                    wanted.setdefault(doc['domain_id'], []).append(
                        '%s %s' % (kind, doc['name']))
        for domain_id, what in sorted(wanted.items()):
            if rc.domain(domain_id) is None:
                found.problems.append(
                    '%s: %s has no domain %s and checkpoint %s does not describe it (take a '
                    'new checkpoint, which does)' % (', '.join(what), rc.site, domain_id,
                                                     rc.checkpoint_id))

    def intended(self, rc, field, doc):
        if field.name == 'name':
            return reused_name(rc, doc, {})
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        mine = [d for d in bubble.admin.identity.domains() if bubble.made(d.name)]
        for domain in mine:  # after its projects; Keystone deletes disabled domains only
            bubble.admin.identity.update_domain(domain, is_enabled=False)
            bubble.admin.identity.delete_domain(domain)
        return len(mine)


class Project(Kind):
    name = 'project'
    service = 'identity'
    sdk = sdk_project.Project
    restores = (
        Field('name', how='options.restore.project, else the same; a project of that name '
              'in the domain is used when there is one (with a member\'s credentials at the '
              'target: the target entry\'s project, as it is)'),
        Field('description'),
        Field('domain_id', arg=False, ref='domain', how='the restored domain (checkpoints '
              'without domains: the same domain ID when the target has it, else Default)'),
        Field('tags', how='with the restore\'s tag added'),
        Field('quotas', arg=False, how='(computed: the project\'s limits) raised to the '
              'source\'s where the target\'s are lower, never lowered'))
    keeps = {'is_enabled': 'the copy is enabled: the restore works in it',
             'parent_id': 'made at the top of its domain (parents are not protected)',
             'options': 'Keystone resource options (e.g. immutable) are the target '
                        'admin\'s choice'}
    drops = dict(why(ASSIGNED, 'id'), links='URLs of the source\'s API',
                 is_domain='a workload\'s project is never a domain')
    level = 'identity'

    def list(self, conn, ctx):
        ctx.quotas = read_quotas(conn, ctx.project.id)
        return [ctx.project]

    def derived(self, resource, workload):
        return {'quotas': workload.raw.get('quotas', {})}

    def restored(self, rc):
        if rc.member:  # tenant mode: the entry's own project, as it is
            return {doc['id']: rc.admin.current_project_id for doc in rc.docs('project')}
        out = {}
        for doc in rc.docs('project'):
            domain = rc.domain(doc['domain_id'])
            found = domain and rc.admin.identity.find_project(
                rc.project_name(doc), domain_id=domain, ignore_missing=True)
            if found:
                out[doc['id']] = found.id
        return out

    def restore(self, rc, doc, target_id):
        """The project of the same name in the same domain (recovery sites often have it
        already), created when missing; the restoring user gets the admin role on it so
        that it can create the workload's resources there, and its quota limits are raised
        to the source project's where lower. A drill makes its own."""
        if rc.member:
            return rc.admin.current_project_id  # its quota is checked, never raised
        identity = rc.admin.identity
        if not target_id:
            target_id = identity.create_project(**dict(
                self.args(rc, doc), name=rc.project_name(doc),
                domain_id=placed(rc, 'project', doc),
                description=doc.get('description') or '', is_enabled=True,
                tags=list(doc.get('tags') or ()) + [RESTORE_TAG + rc.restore_id])).id
        identity.assign_project_role_to_user(target_id, rc.admin.current_user_id,
                                             identity.find_role('admin'))
        raise_quotas(rc.admin, target_id, doc.get('quotas'))
        return target_id

    def intended(self, rc, field, doc):
        if field.name == 'quotas' or rc.member:
            # raised to the source's, never lowered: may be higher; in tenant mode the
            # target entry's project is used as it is
            return NOT_COMPARED
        if field.name == 'name':
            return rc.project_name(doc)
        return super().intended(rc, field, doc)

    def remove(self, bubble):
        for project in bubble.projects:
            bubble.admin.identity.delete_project(project)
        return len(bubble.projects)


class User(Kind):
    name = 'user'
    admin_only = 'Keystone lists users to admins'
    service = 'identity'
    sdk = sdk_user.User
    restores = (
        Field('name', how='a user of that name in the domain is used when there is one'),
        Field('domain_id', arg=False, ref='domain', how='the restored domain'),
        Field('email'), Field('description'),
        Field('default_project_id', ref='project', how='when it is the restored project'))
    keeps = {'is_enabled': 'a user the restore makes is disabled: it has no password '
                           '(listed in the summary for the operator to act on)',
             'options': 'Keystone resource options (e.g. lockout) are the target admin\'s'}
    drops = dict(why(ASSIGNED, 'id'), links='URLs of the source\'s API',
                 password='a secret: Keystone never returns it',
                 password_expires_at='belongs to the password the operator sets',
                 federated='federated identities belong to the identity provider')
    level = 'identity'

    def in_restore(self, rc):
        return not rc.drill  # a drill never touches the target's users

    def list(self, conn, ctx):
        return conn.identity.users(domain_id=ctx.project.domain_id)

    def restored(self, rc):
        """Users of the same name in the same domain (listed per domain: a domain's users
        may live in its own backend, e.g. LDAP)."""
        domains = {d['id']: rc.domain(d['domain_id']) for d in rc.docs('user')}
        have = {(dom, u.name): u.id for dom in set(domains.values()) - {None}
                for u in rc.admin.identity.users(domain_id=dom)}
        return {d['id']: have[domains[d['id']], d['name']] for d in rc.docs('user')
                if (domains[d['id']], d['name']) in have}

    def restore(self, rc, doc, target_id):
        """The user of the same name, or a new one created disabled and without a password
        (never the old one, which draas never had): listed for the operator to act on."""
        if target_id:
            return target_id
        identity = rc.admin.identity
        domain = placed(rc, 'user', doc)
        user = identity.find_user(doc['name'], domain_id=domain, ignore_missing=True)
        if user is None:
            own = doc.get('default_project_id') in rc.idmap.get('project', {})
            user = identity.create_user(**dict(
                self.args(rc, doc, skip=() if own else ('default_project_id',)),
                name=doc['name'], domain_id=domain, is_enabled=False))
            rc.users_to_enable(doc['name'])
        return user.id


class Group(Kind):
    name = 'group'
    admin_only = 'Keystone lists groups to admins'
    service = 'identity'
    sdk = sdk_group.Group
    restores = (
        Field('name', how='a group of that name in the domain is used when there is one'),
        Field('domain_id', arg=False, ref='domain', how='the restored domain'),
        Field('description'),
        Field('user_ids', arg=False, ref='user', how='(computed) its members, users of the '
              'workload, added to the copy'))
    drops = why(ASSIGNED, 'id')
    level = 'identity'

    def in_restore(self, rc):
        return not rc.drill  # a drill never touches the target's users

    def list(self, conn, ctx):
        return conn.identity.groups()  # discovery keeps those with a role on the project

    def derived(self, resource, workload):
        return {'user_ids': sorted(workload.raw['group_members'].get(resource.id, ()))}

    def restored(self, rc):
        have = {(g.domain_id, g.name): g.id for g in rc.admin.identity.groups()}
        return {d['id']: have[rc.domain(d['domain_id']), d['name']]
                for d in rc.docs('group') if (rc.domain(d['domain_id']), d['name']) in have}

    @staticmethod
    def roles_elsewhere(rc, group_id, project_id):
        """Whether the target's group holds roles beyond the restored project: adding
        members to it would give them those too."""
        return any(((a.scope or {}).get('project') or {}).get('id') != project_id
                   for a in rc.admin.identity.role_assignments(group_id=group_id))

    def check(self, rc, found):
        if rc.drill or not rc.docs('group'):
            return
        # The project found as the identity level will find it (within its domain).
        there = PROJECT.restored(rc).get(rc.source_project_id)
        found_groups = self.restored(rc)
        for doc in rc.docs('group'):
            group_id = found_groups.get(doc['id'])
            if group_id and self.roles_elsewhere(rc, group_id, there):
                found.warnings.append(
                    'group %s on %s holds roles on other projects: the workload\'s users are '
                    'not added to it (add them if they should have those roles)' % (
                        doc['name'], rc.site))

    def restore(self, rc, doc, target_id):
        """The group of the same name in the domain, created when missing, with the
        workload's users among its members (members it has already stay), unless it holds
        roles elsewhere (preflight warns)."""
        identity = rc.admin.identity
        if not target_id:
            target_id = identity.create_group(**dict(
                self.args(rc, doc), domain_id=placed(rc, 'group', doc))).id
        elif self.roles_elsewhere(rc, target_id, rc.project_id):
            return target_id
        members = {u.id for u in identity.group_users(target_id)}
        for user_id in doc.get('user_ids') or ():
            if rc.map('user', user_id) not in members:
                identity.add_user_to_group(rc.map('user', user_id), target_id)
        return target_id

    def observed(self, rc, field, copy):
        if field.name == 'user_ids':  # members the target's group had already may stay
            return sorted(set(copy.get('user_ids') or ()) &
                          set(rc.idmap.get('user', {}).values()))
        return super().observed(rc, field, copy)


class RoleAssignment(Kind):
    name = 'role_assignment'
    admin_only = 'Keystone lists role assignments to admins'
    service = 'identity'
    restores = (Field('user_id', ref='user', how='a user\'s role, or'),
                Field('group_id', ref='group', how='a group\'s role'),
                Field('project_id', ref='project'),
                Field('role_name', how='the role of that name on the target'))
    keeps = {'role_id': 'roles are matched by name (IDs differ between clouds)'}
    level = 'identity'

    def in_restore(self, rc):
        return not rc.drill

    def list(self, conn, ctx):
        return conn.identity.role_assignments(scope_project_id=ctx.project.id,
                                              include_names=True)

    def export(self, resource, workload):
        user = resource.user or {}
        group = resource.group or {}
        role = resource.role or {}
        return {'id': '%s:%s:%s' % (user.get('id') or group.get('id'), role.get('id'),
                                    workload.project_id),
                'user_id': user.get('id'), 'group_id': group.get('id'),
                'role_id': role.get('id'), 'role_name': role.get('name'),
                'project_id': workload.project_id}

    def restored(self, rc):
        if not rc.project_id:
            return {}
        have = {((a.user or {}).get('id'), (a.group or {}).get('id'), (a.role or {}).get(
            'name')) for a in rc.admin.identity.role_assignments(
                scope_project_id=rc.project_id, include_names=True)}
        users, groups = rc.idmap.get('user', {}), rc.idmap.get('group', {})
        return {d['id']: d['id'] for d in rc.docs('role_assignment')
                if (users.get(d['user_id']), groups.get(d.get('group_id')),
                    d['role_name']) in have}

    def restore(self, rc, doc, target_id):
        if target_id:
            return target_id
        identity = rc.admin.identity
        project = rc.map('project', doc['project_id'])
        role = identity.find_role(doc['role_name'])
        if doc.get('group_id'):
            identity.assign_project_role_to_group(project, rc.map('group', doc['group_id']),
                                                  role)
        else:
            identity.assign_project_role_to_user(project, rc.map('user', doc['user_id']),
                                                 role)
        return doc['id']


PROJECT = Project()
KINDS = (Domain(), PROJECT, User(), Group(), RoleAssignment())
