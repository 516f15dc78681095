"""Keystone: the project owning the workload, its users (never passwords), role assignments."""
from actions.resources import Kind


class Project(Kind):
    name = 'project'
    service = 'identity'
    fields = ('name', 'description', 'domain_id', 'is_enabled', 'tags')

    def list(self, conn, ctx):
        return [ctx.project]


class User(Kind):
    name = 'user'
    service = 'identity'
    fields = ('name', 'domain_id', 'email', 'description', 'is_enabled',
              'default_project_id')
    secret_fields = ('password',)  # Keystone never returns it; restores set a new one

    def list(self, conn, ctx):
        return conn.identity.users(domain_id=ctx.project.domain_id)


class RoleAssignment(Kind):
    name = 'role_assignment'
    service = 'identity'
    refs = {'user_id': 'user', 'project_id': 'project'}

    def list(self, conn, ctx):
        return conn.identity.role_assignments(scope_project_id=ctx.project.id,
                                              include_names=True)

    def export(self, resource, workload):
        user = resource.user or {}
        role = resource.role or {}
        return {'id': '%s:%s:%s' % (user.get('id'), role.get('id'), workload.project_id),
                'user_id': user.get('id'), 'role_id': role.get('id'),
                'role_name': role.get('name'), 'project_id': workload.project_id}


KINDS = (Project(), User(), RoleAssignment())
