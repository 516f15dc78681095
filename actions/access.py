"""Who may act on which plan through draas.

Mistral runs draas' actions with the sites' clouds.yaml credentials whoever started the
workflow, so draas checks the caller itself. Mistral hands every action the caller's Keystone
token (the action context's security part); draas asks the Keystone Mistral trusts what that
token is (a token may always read itself) and then:
- a caller with the admin role there may act on every plan;
- any other caller only on plans an admin saved at their recovery site (draas-install
  --plans) granting the project its token is scoped to, by ID: the saved plan's
  access.projects, which draas-install resolves at Mistral's Keystone. The plan acted on must
  be the saved one (its reference "<name>@<site>", or the same document). Names never
  decide: a project of the same name at the recovery site is another tenant's.
  The member role there lets it act, the reader role (which member and admin imply) only
  read: list, show and verify checkpoints, the report.
A plan is bound to its source project's ID (saved as scope.project_id, and held by every
checkpoint): a plan whose project is now another one, or whose checkpoints hold another, is
refused with both IDs named.
Refused too: a context with Mistral's X-Target-* headers (they put a token of the caller's
choice in the place of the caller's), and a call without a token unless Mistral runs without
authentication ([pecan] auth_enable = false): then draas cannot tell callers apart, lets every
call through and logs a warning saying so.
"""
import importlib
import logging

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from actions import errors
from actions import plan as plan_mod

LOG = logging.getLogger(__name__)

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


def mistral_authenticates():
    """Whether the Mistral this runs in checks its callers' tokens ([pecan] auth_enable);
    outside a Mistral (nothing says otherwise) draas assumes it does."""
    try:
        from oslo_config import cfg
        importlib.import_module('mistral.config')  # registers the options
        return bool(cfg.CONF.pecan.auth_enable)
    except Exception:  # no Mistral here, or options not parsed
        return True


def caller(security, timeout=TIMEOUT):
    """{user, project_id, project_name, roles, mistral_url} of the token in a Mistral
    security context, as its Keystone says; None when Mistral runs without authentication."""
    token = getattr(security, 'auth_token', None)
    if not token:
        if mistral_authenticates():
            raise AccessError('Mistral passed no token with this call: draas acts only for '
                              'a caller Keystone vouches for (start the workflow with a '
                              'token; [pecan] auth_enable = false turns the checks off)')
        LOG.warning('Mistral runs without authentication ([pecan] auth_enable = false): '
                    'draas cannot tell callers apart and lets every call act on every plan')
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
            'roles': sorted(r['name'] for r in body.get('roles') or ()),
            'mistral_url': next((e['url'] for s in body.get('catalog') or ()
                                 if s.get('type') == 'workflowv2'
                                 for e in s.get('endpoints') or ()
                                 if e.get('interface') == 'public'), None)}


def authorize(who, plan, role=WRITE_ROLE):
    """Raise AccessError unless caller `who` (see caller) may act on validated `plan` with
    `role` (WRITE_ROLE or READ_ROLE): see the module's rule."""
    if who is None or ADMIN_ROLE in who['roles']:
        return
    reference = '%s@%s' % (plan['name'], plan['target'])
    refused = 'not authorized: user %s (project %s, %s; roles %s) may not %s plan %s: ' % (
        who['user'], who['project_name'], who['project_id'], ', '.join(who['roles']) or
        'none', 'read' if role == READ_ROLE else 'act on', plan['name'])
    try:
        saved = plan_mod.validate(reference)
    except plan_mod.PlanError:
        saved = None
    if not saved or who['project_id'] not in saved.get('access', {}).get('projects', ()):
        raise AccessError(refused + (
            'an admin grants a project a plan by listing it in the plan\'s access.projects '
            'and saving it (draas-install --plans)' if saved else
            'no plan of that name is saved at %s; an admin saves plans, granting them to '
            'projects (draas-install --plans)' % plan['target']))
    if plan != saved:
        changed = sorted(k for k in set(plan) | set(saved) if plan.get(k) != saved.get(k))
        raise AccessError(refused + 'it differs from the plan saved as %s (%s): run the '
                          'saved plan (its reference %s)' % (
                              reference, ', '.join(changed), reference))
    roles = set(who['roles'])
    if not (WRITE_ROLE in roles or (role == READ_ROLE and READ_ROLE in roles)):
        raise AccessError(refused + 'draas needs the %s role in your project (or the '
                          'admin role)' % role)


def check_owner(plan, manifest):
    """Raise AccessError when a checkpoint of `plan` (its manifest) holds another project
    than the plan's: another ID than the plan is bound to (scope.project_id), or, for a plan
    not bound yet, another name or ID than its scope names (a plan name used twice)."""
    project = manifest.get('project')
    if not project:
        return  # written before draas kept it
    bound = plan['scope'].get('project_id')
    if bound and bound != project['id']:
        raise AccessError(
            'plan %s is bound to project %s, its checkpoints (e.g. %s) hold project %s '
            '(%s): a plan protects one project; give this plan another name' % (
                plan['name'], bound, manifest['checkpoint_id'], project['id'],
                project['name']))
    if not bound and plan['scope']['project'] not in (project['id'], project['name']):
        raise AccessError(
            'plan %s: its checkpoints (e.g. %s) hold project %s (%s), its scope names '
            'project %s: a plan protects one project; give this plan another name' % (
                plan['name'], manifest['checkpoint_id'], project['name'], project['id'],
                plan['scope']['project']))


def check_source_project(plan, project_id, manifest=None):
    """Raise AccessError when the plan's project on the source is now `project_id` but the
    plan was made for another (scope.project_id) or its checkpoints hold another."""
    was = plan['scope'].get('project_id') or (manifest or {}).get('project', {}).get('id')
    if was and was != project_id:
        raise AccessError(
            'plan %s: project %r on %s is now %s, but the plan was made for project %s%s: '
            'a project of the same name is another project; nothing done (an admin saves '
            'the plan again for the new project, under another name)' % (
                plan['name'], plan['scope']['project'], plan['source'], project_id, was,
                '' if plan['scope'].get('project_id') else ' (its checkpoints hold it)'))

