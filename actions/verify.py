"""Health checks of a restored workload (after a failover or in a drill).

Servers ACTIVE, their ports bound and up, their data volumes attached to them, and the plan's
probes (options.verify.probes: a TCP connect or an HTTP GET, run from the Mistral executor to
the server's floating IP, else its first fixed IP). The checks are repeated until they all pass
or options.verify.timeout_seconds run out; three list calls per round, whatever the size. A
round whose list call times out or gets an HTTP 5xx is repeated like a failed check.
"""
import concurrent.futures
import http.client
import socket

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc

from actions import errors
from actions import sites
from actions import waits

PROBE_TIMEOUT = 3  # seconds per attempt


class VerifyError(errors.DraasError):
    pass


def probe(address, port, protocol='tcp', path='/', timeout=PROBE_TIMEOUT):
    """One attempt; returns None when it passes, else why it did not."""
    try:
        if protocol == 'http':
            conn = http.client.HTTPConnection(address, port, timeout=timeout)
            try:
                conn.request('GET', path or '/')
                status = conn.getresponse().status
            finally:
                conn.close()
            return None if status < 400 else 'HTTP %d' % status
        socket.create_connection((address, port), timeout=timeout).close()
        return None
    except (OSError, http.client.HTTPException) as exc:
        return str(exc) or type(exc).__name__


def address_of(server):
    """The floating IP of a server, else its first fixed IP (None without any)."""
    addresses = [a for net in sorted(server.addresses or {})
                 for a in server.addresses[net]]
    for kind in ('floating', 'fixed'):
        for a in addresses:
            if a.get('OS-EXT-IPS:type', 'fixed') == kind:
                return a['addr']
    return None


def _round(r, probes):
    """One round of every check: (passed lines, problems)."""
    servers = {s.id: s for s in r.conn.compute.servers()}
    ports = {p.id: p for p in r.conn.network.ports(project_id=r.project_id)}
    volumes = {v.id: v for v in r.conn.block_storage.volumes()}
    problems = []
    docs = r.docs('server')
    for doc in docs:
        sid = r.map('server', doc['id'])
        server = servers.get(sid)
        if server is None or server.status != 'ACTIVE':
            problems.append('server %s (%s) is %s' % (
                r.name(doc['name']), sid, server.status if server else 'missing'))
        for source_port in doc.get('port_ids') or ():
            port = ports.get(r.map('port', source_port))
            # Neutron shows a port's binding to admins only: to a member, an ACTIVE port
            # (which ML2 makes ACTIVE once bound) is bound.
            unbound = (None, 'unbound', 'binding_failed') if not r.member else (
                'unbound', 'binding_failed')
            if port is None or port.device_id != sid or port.status != 'ACTIVE' or \
                    port.binding_vif_type in unbound:
                problems.append('port %s of server %s is not bound and up (%s)' % (
                    r.map('port', source_port), r.name(doc['name']),
                    'missing' if port is None else '%s, %s' % (port.status,
                                                               port.binding_vif_type)))
        for source_volume in doc.get('volume_ids') or ():
            volume = volumes.get(r.map('volume', source_volume))
            if volume is None or sid not in {a.get('server_id')
                                             for a in volume.attachments or ()}:
                problems.append('volume %s is not attached to server %s' % (
                    r.map('volume', source_volume), r.name(doc['name'])))
    passed = ['%d servers ACTIVE' % len(docs),
              '%d ports bound and up' % sum(len(d.get('port_ids') or ()) for d in docs),
              '%d volumes attached' % sum(len(d.get('volume_ids') or ()) for d in docs)]
    by_name = {d['name']: r.map('server', d['id']) for d in docs}
    if probes and not problems:
        def one(p):
            address = address_of(servers[by_name[p['server']]])
            why = probe(address, p['port'], p.get('protocol', 'tcp'), p.get('path', '/'))
            return p, address, why
        with concurrent.futures.ThreadPoolExecutor(min(len(probes), 16)) as pool:
            for p, address, why in pool.map(one, probes):
                what = '%s probe of %s (%s) port %d%s' % (
                    p.get('protocol', 'tcp'), p['server'], address, p['port'],
                    p.get('path', '') if p.get('protocol') == 'http' else '')
                if why:
                    problems.append('%s: %s' % (what, why))
                else:
                    passed.append(what + ': ok')
    return passed, problems


def workload(r):
    """Check the workload restored by restore `r` until everything passes; returns the
    passed checks (readable lines), or raises VerifyError naming every failing one."""
    options = r.plan['options']['verify']
    last = []

    def check():
        try:
            passed, problems = _round(r, options['probes'])
        except (sdk_exc.SDKException, ks_exc.ClientException) as exc:
            # A slow or restarting API of a loaded recovery site is not a failed workload.
            if not sites.transient(exc):
                raise
            passed, problems = [], [sites.explain(exc, 'listing the restored resources')]
        last[:] = problems
        return passed if not problems else None
    return waits.until(check, options['timeout_seconds'], 2, lambda: VerifyError(
        'verification of restore %s failed after %d s: %s' % (
            r.restore_id, options['timeout_seconds'], '; '.join(last))))


def probe_problems(r):
    """Preflight: probes naming servers the checkpoint does not have."""
    names = {d['name'] for d in r.docs('server')}
    return ['options.verify.probes: no server %r in checkpoint %s' % (
                p['server'], r.checkpoint_id)
            for p in r.plan['options']['verify']['probes'] if p['server'] not in names]
