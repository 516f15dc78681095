"""Sites: OpenStack clouds named by clouds.yaml entries, and whether their services answer.

Credentials never come from workflow inputs: a site is only the name of a clouds.yaml entry,
read from the usual places (OS_CLIENT_CONFIG_FILE, ~/.config/openstack, /etc/openstack).
"""
import concurrent.futures
import contextlib
import os
import threading
import time

from keystoneauth1 import exceptions as ks_exc
import openstack
from openstack.config import loader as os_loader
from openstack import exceptions as sdk_exc
import yaml

from actions import errors

# Services a site must offer to host or protect a workload, and the cheapest authenticated
# call that proves each one answers for this user.
CORE_SERVICES = {
    'identity': lambda c: c.identity.get_user(c.current_user_id),
    'compute': lambda c: _first(c.compute.flavors(limit=1)),
    'network': lambda c: _first(c.network.networks(limit=1)),
    'block-storage': lambda c: _first(c.block_storage.volumes(limit=1)),
    'image': lambda c: _first(c.image.images(limit=1)),
}
# Checked when the site's catalog has them; their absence is not a fault.
OPTIONAL_SERVICES = {
    'placement': lambda c: _first(c.placement.resource_providers()),
    'object-store': lambda c: c.object_store.get_account_metadata(),
}
DEFAULT_TIMEOUT = 15  # health checks: a service slower than that is reported
# Work (checkpoints, restores): a recovery site under the load of a disaster answers slowly.
WORK_TIMEOUT = 60
# Work connections send a read (GET, HEAD) again when it times out, its connection fails or it
# gets HTTP 502/503/504; writes are never resent (the first may have worked: a duplicate).
READ_RETRIES = 2
RETRIED_STATUS = [502, 503, 504]


class SiteError(errors.DraasError):
    """A site cannot be used; the message names the site and what is wrong."""


def _first(iterator):
    return next(iter(iterator), None)


def validate_site_names(sites):
    """Return `sites` as a list of names, or raise SiteError saying what is wrong."""
    if isinstance(sites, str):
        sites = [sites]
    if not isinstance(sites, list) or not sites:
        raise SiteError('sites must be a non-empty list of clouds.yaml entry names, '
                        'got %r' % (sites,))
    bad = [s for s in sites if not isinstance(s, str) or not s.strip()]
    if bad:
        raise SiteError('site names must be non-empty strings, got %r' % (bad,))
    known = set(_read_clouds_yaml().get('clouds') or {})
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise SiteError('unknown site %s: no such entry in clouds.yaml (entries: %s)' % (
            ', '.join(repr(s) for s in unknown), ', '.join(sorted(known)) or 'none'))
    return sites


def _read_clouds_yaml():
    """The clouds.yaml openstacksdk would use; a broken one is an error, not skipped."""
    env = os.environ.get('OS_CLIENT_CONFIG_FILE')
    for path in ([env] if env else []) + list(os_loader.CONFIG_FILES):
        if not os.path.exists(path) or path.endswith('.json'):
            continue
        try:
            with open(path) as f:
                data = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SiteError('cannot read clouds.yaml %s: %s' % (path, _short(exc))) from None
        if not isinstance(data, dict) or not isinstance(data.get('clouds', {}), dict):
            raise SiteError('clouds.yaml %s: expected a mapping "clouds:" of entries' % path)
        return data
    raise SiteError('no clouds.yaml found (set OS_CLIENT_CONFIG_FILE or write '
                    '/etc/openstack/clouds.yaml)')


_made_here = threading.local()


@contextlib.contextmanager
def closing_connections():
    """Close, at the end, the connections connect() and connect_as_project() make inside
    (in this thread, or for a list taken with made_here()). Each action does: the Mistral
    executor lives long, and an idle keep-alive socket it keeps open holds one of an eventlet
    API's green threads - Cinder has 100 - until the API drops it after 15 minutes; once they
    are all held, the API answers nobody (seen on the lab: Cinder silent for 3 minutes)."""
    outer = getattr(_made_here, 'conns', None)
    _made_here.conns = made = []
    try:
        yield made
    finally:
        _made_here.conns = outer
        for conn in made:
            conn.close()


def made_here():
    """The list closing_connections() closes in this thread (None outside one): for the
    connections a worker thread makes."""
    return getattr(_made_here, 'conns', None)


def _keep(conn, made):
    if made is not None:
        made.append(conn)
    return conn


def connect(site, timeout=WORK_TIMEOUT, timing=False, read_retries=READ_RETRIES):
    """An authenticated openstack.connection.Connection to `site` (a clouds.yaml entry);
    with `timing`, it records its requests (see discovery.request_counts)."""
    validate_site_names([site])
    try:
        conn = _keep(openstack.connect(cloud=site, api_timeout=timeout, timing=timing),
                     made_here())
        retry_reads(conn.session, read_retries)
        conn.authorize()
    except Exception as exc:
        raise SiteError('site %r: %s' % (site, explain(exc, 'identity'))) from None
    return conn


ADMIN, MEMBER = 'admin', 'member'
ADMIN_ROLE = 'admin'  # Keystone's: what OpenStack's default policies call an admin


def mode(conn):
    """ADMIN when the token of `conn` holds the admin role, else MEMBER: a project's own
    credentials (a customer of a public cloud), seeing only that project and restricted to
    what its members may do. Cached on the connection."""
    found = getattr(conn, 'draas_mode', None)
    if found is None:
        roles = conn.session.auth.get_access(conn.session).role_names or ()
        found = conn.draas_mode = ADMIN if ADMIN_ROLE in roles else MEMBER
    return found


def all_projects(conn):
    """List filters through `conn` for resources of every project an admin's token sees:
    none for a member, whose lists hold its own project (Nova refuses all_projects to it)."""
    return {'all_projects': True} if mode(conn) == ADMIN else {}


def in_every_project(conn, project_id):
    """List filters through `conn` for the resources of project `project_id`: an admin asks
    for that project among all of them; a member's lists hold its own (see all_projects)."""
    return dict(all_projects(conn), project_id=project_id) if mode(conn) == ADMIN else {}


def settings(site):
    """What `site`'s clouds.yaml entry tells draas beyond credentials: its mapping draas:
    (backup_store, replication: {adapter name: settings}), {} without."""
    found = ((_read_clouds_yaml().get('clouds') or {}).get(site) or {}).get('draas') or {}
    if not isinstance(found, dict):
        raise SiteError('clouds.yaml entry %r: "draas" must be a mapping, got %r' % (
            site, found))
    return found


def backup_store(site):
    """A connection to the Swift holding the Cinder backups of `site`: the clouds.yaml entry
    that `site`'s entry names as draas: {backup_store: ENTRY} (None when it names none)."""
    entry = settings(site).get('backup_store')
    return connect(entry) if entry else None


def connect_as_project(conn, project_id, made=None):
    """`conn`'s user scoped to project `project_id`, reads retried as connect() does; closed
    with the list `made` (see made_here) or this thread's."""
    scoped = conn.connect_as_project({'id': project_id})
    retry_reads(scoped.session, READ_RETRIES)
    return _keep(scoped, made if made is not None else made_here())


def retry_reads(session, retries):
    """Make the keystoneauth `session` resend reads `retries` times on a transient failure."""
    send = session.request

    def request(url, method, *args, **kwargs):
        if retries and method.upper() in ('GET', 'HEAD'):
            kwargs['connect_retries'] = max(retries, kwargs.get('connect_retries') or 0)
            kwargs['status_code_retries'] = max(retries,
                                                kwargs.get('status_code_retries') or 0)
            kwargs['retriable_status_codes'] = RETRIED_STATUS
        return send(url, method, *args, **kwargs)
    session.request = request


@contextlib.contextmanager
def calls_to(site, what):
    """Turn OpenStack API failures inside the block into a SiteError naming the site."""
    try:
        yield
    except (sdk_exc.SDKException, ks_exc.ClientException) as exc:
        raise SiteError('site %r: %s' % (site, explain(exc, what))) from None


def explain(exc, service):
    """One line saying why `service` failed, without secrets or a traceback."""
    # openstacksdk wraps keystoneauth's errors: explain the original one.
    cause = exc
    while cause is not None and not isinstance(cause, ks_exc.ClientException):
        cause = cause.__cause__ or cause.__context__
    exc = cause or exc
    if isinstance(exc, (ks_exc.EndpointNotFound, sdk_exc.EndpointNotFound)):
        return '%s: no endpoint in the catalog' % service
    if isinstance(exc, ks_exc.ConnectFailure):
        return '%s: unreachable (%s)' % (service, _url_of(exc) or 'connection refused')
    if isinstance(exc, (ks_exc.ConnectTimeout, ks_exc.RequestTimeout)):
        return '%s: timed out (%s)' % (service, _url_of(exc) or 'no answer')
    if isinstance(exc, ks_exc.Unauthorized):
        return '%s: authentication failed (check the clouds.yaml credentials)' % service
    if isinstance(exc, ks_exc.MissingRequiredOptions):
        return '%s: incomplete clouds.yaml entry (missing %s)' % (
            service, ', '.join(o.dest for o in exc.options))
    if isinstance(exc, (sdk_exc.HttpException, ks_exc.HttpError)):
        code = getattr(exc, 'status_code', None) or getattr(exc, 'http_status', None)
        detail = (getattr(exc, 'details', None) or getattr(exc, 'message', None) or
                  str(exc))
        return '%s: HTTP %s %s' % (service, code, _short(detail))
    return '%s: %s: %s' % (service, type(exc).__name__, _short(exc))


def transient(exc):
    """Whether an API failure may pass by itself (timeout, connection lost, HTTP 5xx):
    worth repeating a read-only call."""
    for cause in (exc, exc.__cause__, exc.__context__):
        if isinstance(cause, (ks_exc.ConnectionError, ks_exc.RequestTimeout)):
            return True
        code = getattr(cause, 'status_code', None) or getattr(cause, 'http_status', None)
        if isinstance(code, int) and code >= 500:
            return True
    return False


def _url_of(exc):
    text = str(exc)
    for token in text.split():
        if token.startswith('http://') or token.startswith('https://'):
            return token.rstrip(':,;')
    return None


def _short(value, limit=200):
    text = ' '.join(str(value).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def check_connection(conn):
    """Probe each service of the site behind `conn`.

    Returns {service_type: {'status': ..., 'seconds': ..., 'detail': ...}} where status is
    'ok' (answered), 'denied' (answered 401/403: up, but this user may not use it), 'missing'
    (not in the catalog), or 'error' (did not answer properly; detail says why).
    """
    catalog = {entry.get('type') for entry in conn.service_catalog or ()}
    probes = dict(CORE_SERVICES, **OPTIONAL_SERVICES)

    def probe(service):
        optional = service in OPTIONAL_SERVICES
        aliases = {'block-storage': {'block-storage', 'volumev3', 'volume'}}.get(
            service, {service})
        if not aliases & catalog:
            return {'status': 'missing', 'optional': optional, 'seconds': 0.0,
                    'detail': 'no endpoint in the catalog'}
        start = time.monotonic()
        try:
            probes[service](conn)
            status, detail = 'ok', ''
        except (sdk_exc.ForbiddenException, ks_exc.Forbidden) as exc:
            status, detail = 'denied', explain(exc, service)
        except Exception as exc:
            status, detail = 'error', explain(exc, service)
        return {'status': status, 'optional': optional, 'detail': detail,
                'seconds': round(time.monotonic() - start, 3)}

    # In parallel: an unreachable service costs its timeout once, not once per service.
    with concurrent.futures.ThreadPoolExecutor(len(probes)) as pool:
        return dict(zip(probes, pool.map(probe, probes)))


def _healthy(service_results):
    for result in service_results.values():
        if result['status'] == 'error':
            return False
        if result['status'] == 'missing' and not result['optional']:
            return False
    return True


def check_site(site, timeout=DEFAULT_TIMEOUT):
    """Report on one site; never raises for an unhealthy site, only describes it."""
    try:
        conn = connect(site, timeout=timeout, read_retries=0)  # report slowness, not hide it
    except SiteError as exc:
        return {'healthy': False, 'problems': [str(exc)], 'services': {}}
    try:
        services = check_connection(conn)
    finally:
        conn.close()
    problems = ['site %r: %s' % (site, r['detail']) for r in services.values()
                if r['status'] == 'error' or (r['status'] == 'missing' and not r['optional'])]
    return {'healthy': _healthy(services), 'problems': problems, 'services': services}


def check_sites(sites, timeout=DEFAULT_TIMEOUT):
    """Check several sites in parallel. Raises SiteError only for bad input (unknown names)."""
    sites = validate_site_names(sites)
    with concurrent.futures.ThreadPoolExecutor(len(sites)) as pool:
        reports = dict(zip(sites, pool.map(lambda s: check_site(s, timeout), sites)))
    return {'healthy': all(r['healthy'] for r in reports.values()),
            'problems': [p for r in reports.values() for p in r['problems']],
            'sites': reports}
