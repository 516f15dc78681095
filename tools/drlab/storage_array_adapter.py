"""draas' storage replication adapter for the lab's array (storage_array.py): what a vendor ships.

Registered by the lab as the entry point `lab` of draas.replication; each site's clouds.yaml
entry gives its array's address: draas: {replication: {lab: {url: http://127.0.0.1:PORT}}}.
Volumes replicate when their type asks for it (extra spec replication_enabled '<is> True':
the lab's Cinder driver reports the capability); promote, clone and status ask the recovery
site's array only; reverse asks the recovery site's array to replicate a failed-over volume
back, its replica started from the original volume.
"""
import json
import urllib.error
import urllib.request

from actions.replication import adapters


class LabAdapter(adapters.Adapter):
    name = 'lab'
    capabilities = (adapters.LAG, adapters.CLONE, adapters.REVERSE)

    def _url(self, site):
        url = self.settings.get(site, {}).get('url')
        if not url:
            raise adapters.ReplicationError(
                'the clouds.yaml entry of %s names no array for adapter lab (draas: '
                '{replication: {lab: {url: ...}}})' % site)
        return url.rstrip('/')

    def _call(self, site, method, path, body=None):
        request = urllib.request.Request(
            self._url(site) + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                why = json.loads(exc.read()).get('error')
            except ValueError:
                why = 'HTTP %s' % exc.code
            raise adapters.ReplicationError('the array of %s: %s' % (site, why)) from None
        except OSError as exc:
            raise adapters.ReplicationError('the array of %s does not answer (%s): %s' % (
                site, self._url(site), exc)) from None

    def enable(self, conn, volumes):
        current, gone = self.current(conn, volumes)
        bs = conn.block_storage
        # The type, not the volume's replication_status: Cinder sets that at create time
        # only, and a failed-over volume was managed (failback replicates it back).
        replicated = {t: (bs.find_type(t).extra_specs or {}).get('replication_enabled') ==
                      '<is> True' for t in {v.volume_type for v in current.values()}}
        bad = sorted('%s (type %s)' % (vid, v.volume_type) for vid, v in current.items()
                     if not replicated[v.volume_type])
        if bad + gone:
            raise adapters.ReplicationError(
                'volumes not of a replicated type (replication_enabled "<is> True"): %s' %
                ', '.join(bad + gone))
        peer = self._url(self.target)
        return {vid: self._call(self.source, 'POST', '/replications',
                                {'volume_id': vid, 'peer': peer})
                for vid in sorted(current)}

    def status(self, replicas):
        found = self._call(self.target, 'GET', '/replicas')
        return {vid: found.get(r['replica_id'], {'state': 'missing', 'synced_at': None,
                                                 'lag_seconds': None})
                for vid, r in replicas.items()}

    def promote(self, replica):
        return self._call(self.target, 'POST',
                          '/replicas/%s/promote' % replica['replica_id'])

    def clone(self, replica, name):
        return self._call(self.target, 'POST', '/replicas/%s/clone' % replica['replica_id'],
                          {'name': name})

    def reverse(self, replica, volume_id):
        return self._call(self.target, 'POST', '/replications', {
            'volume_id': volume_id, 'peer': self._url(self.source),
            'seed': replica['replica_id']})
