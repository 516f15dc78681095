"""Who may act on which plan through draas.

Mistral runs draas' actions with the sites' clouds.yaml credentials whoever started the
workflow, so draas checks the caller itself. Mistral hands every action the caller's Keystone
token (the action context's security part); draas asks the Keystone Mistral trusts what that
token is (a token may always read itself) and then:
- a caller with the admin role may act on every plan;
- any other caller only on the plans of its own project: the plan's scope.project is the
  project the token is scoped to, by name or ID (a project keeps its name when draas restores
  it on the other site), with the member role for anything that changes something, the
  reader role (which member and admin imply) for what only reads: list, show and verify
  checkpoints, the report.
A plan's checkpoints are of one project: a plan whose scope names another project than the one
its checkpoints hold is refused (the checkpoints of a plan name taken by another project are
never written over, pruned or restored).
Refused too: a context with Mistral's X-Target-* headers (they put a token of the caller's
choice in the place of the caller's). A Mistral without authentication (pecan auth_enable =
false) hands no token: draas cannot tell callers apart there and lets every call through.
"""
import importlib

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from actions import errors

ADMIN_ROLE = 'admin'
WRITE_ROLE = 'member'
READ_ROLE = 'reader'
TIMEOUT = 15


class AccessError(errors.DraasError):
    pass


def identity_url(auth_uri):
    """The Keystone v3 URL of Mistral's www_authenticate_uri (with or without /v3)."""
    url = auth_uri.rstrip('/')
    return url if url.endswith('/v3') else url + '/v3'


def mistral_keystone():
    """The Keystone of the Mistral this runs in ([keystone_authtoken] www_authenticate_uri):
    the context of a cron trigger's run (a trust's token) carries no URL."""
    try:
        from oslo_config import cfg
        importlib.import_module('keystonemiddleware.auth_token')  # registers the options
    except ImportError:
        return None
    try:
        return cfg.CONF.keystone_authtoken.www_authenticate_uri
    except cfg.Error:
        return None


def caller(security, timeout=TIMEOUT):
    """{user, project_id, project_name, roles} of the token in a Mistral security context,
    as its Keystone says; None when Mistral passes no token (no authentication)."""
    token = getattr(security, 'auth_token', None)
    if not token:
        return None
    if getattr(security, 'is_target', False):
        raise AccessError('draas does not run with Mistral\'s X-Target-* headers: start the '
                          'workflow with your own token only')
    auth_uri = security.auth_uri or mistral_keystone()
    if not auth_uri:
        raise AccessError('Mistral passed no Keystone URL to check the caller with: set '
                          '[keystone_authtoken] www_authenticate_uri in mistral.conf')
    session = ks_session.Session(timeout=timeout)
    try:
        body = session.get(identity_url(auth_uri) + '/auth/tokens',
                           headers={'X-Auth-Token': token, 'X-Subject-Token': token},
                           authenticated=False).json()['token']
    except ks_exc.ClientException as exc:
        raise AccessError('could not check who runs this workflow at %s: %s' % (
            auth_uri, exc)) from None
    finally:
        session.session.close()  # no idle socket left in the executor (see sites)
    project = body.get('project') or {}
    return {'user': (body.get('user') or {}).get('name'),
            'project_id': project.get('id'), 'project_name': project.get('name'),
            'roles': sorted(r['name'] for r in body.get('roles') or ())}


def authorize(who, plan, role=WRITE_ROLE):
    """Raise AccessError unless caller `who` (see caller) may act on validated `plan` with
    `role` (WRITE_ROLE or READ_ROLE)."""
    if who is None or ADMIN_ROLE in who['roles']:
        return
    project = plan['scope']['project']
    mine = project in (who['project_id'], who['project_name'])
    roles = set(who['roles'])
    enough = WRITE_ROLE in roles or (role == READ_ROLE and READ_ROLE in roles)
    if mine and enough:
        return
    raise AccessError(
        'not authorized: user %s (project %s, roles %s) may not %s plan %s, which protects '
        'project %s: %s' % (
            who['user'], who['project_name'], ', '.join(who['roles']) or 'none',
            'read' if role == READ_ROLE else 'act on', plan['name'], project,
            'draas needs the %s role in that project (or the admin role)' % role if mine else
            'only plans of the project your token is scoped to are yours (admins: all)'))


def check_owner(plan, manifest):
    """Raise AccessError when a checkpoint of `plan` (its manifest) holds another project
    than the plan's scope names (a plan name used for two projects)."""
    project = manifest.get('project')
    if project and plan['scope']['project'] not in (project['id'], project['name']):
        raise AccessError(
            'plan %s: its checkpoints (e.g. %s) hold project %s (%s), its scope names '
            'project %s: a plan protects one project; give this plan another name' % (
                plan['name'], manifest['checkpoint_id'], project['name'], project['id'],
                plan['scope']['project']))
