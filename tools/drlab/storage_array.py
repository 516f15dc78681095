"""The lab's replicating storage array: one per site, serving the site's Cinder volumes.

A real array replicates a volume to its peer array at the recovery site continuously; the
lab's does so with the files of the site's NFS export (where the lab's Cinder keeps each
volume as volume-<ID>): every INTERVAL it sends the blocks of each replicated volume that
changed since its last round (64 KiB blocks compared by hash, only the file's data extents
read) to the peer array over HTTP, with the time the round started: the replica then holds
every write made before that time. A round with nothing changed still tells the peer so.
It reads a volume's own file only: a volume with Cinder snapshots keeps new writes in a qcow2
overlay it does not follow (the replication method takes no snapshots).

At the recovery site a replica is a file of the array's own folder. Promoted (a failover),
it moves into that site's NFS export, where Cinder's manage takes it over (the NFS driver
renames it volume-<new ID>); cloned (a drill), a sparse copy goes there instead and the
replica goes on receiving. A volume deleted at the source takes its replica with it (not a
promoted one). Each site's array stops with its site (`tools/lab stop`), so a
stopped source sends nothing more: the replica stays as of the last round.

    python array.py --site site-a --port 7480 --folder DIR --export DIR --host HOST

The adapter draas uses (storage_array_adapter.py) speaks to it: JSON over HTTP.
"""
import argparse
import errno
import hashlib
import http.server
import json
import os
import shutil
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

BLOCK = 64 * 1024
INTERVAL = 0.5  # seconds between rounds: the lag stays about that
BATCH = 32 << 20  # bytes of blocks per request
FRAME = struct.Struct('>QI')  # offset, length; the bytes follow


def data_extents(fd, size):
    """(start, end) of the parts of a sparse file holding data."""
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return
            raise
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        pos = end


def data_blocks(f):
    """(block number, its bytes) of each block of the open file `f` holding data."""
    size = os.fstat(f.fileno()).st_size
    for b in sorted({b for start, end in data_extents(f.fileno(), size)
                     for b in range(start // BLOCK, (end - 1) // BLOCK + 1)}):
        f.seek(b * BLOCK)
        yield b, f.read(BLOCK)


class Array:
    def __init__(self, site, folder, export, host):
        self.site, self.folder, self.export, self.host = site, folder, export, host
        self.share = '127.0.0.1:' + export  # as the site's Cinder names its NFS share
        self.replicas_dir = os.path.join(folder, 'replicas')
        os.makedirs(self.replicas_dir, exist_ok=True)
        self.lock = threading.Lock()
        self.state_file = os.path.join(folder, 'array.json')
        state = {}
        if os.path.exists(self.state_file):
            with open(self.state_file) as f:
                state = json.load(f)
        # outgoing: {replica ID: {volume_id, peer (URL), state, sent_bytes, error}}
        # incoming: {replica ID: {source, volume_id, state, size, synced_at, contact_at,
        #            received_bytes}}
        self.outgoing, self.incoming = state.get('outgoing', {}), state.get('incoming', {})
        self.seen = {}  # replica ID -> (mtime_ns, size, {block: digest}) of the last round

    def save(self):
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'outgoing': self.outgoing, 'incoming': self.incoming}, f)
        os.replace(tmp, self.state_file)

    # ---- the source side
    def volume_file(self, volume_id):
        return os.path.join(self.export, 'volume-' + volume_id)

    def enable(self, volume_id, peer, seed=None):
        """Replicate a volume to the array at `peer` (idempotent). `seed`: a volume of the
        peer's site holding an older state of this one (the original this volume was failed
        over from): the peer starts its replica from it, and only the blocks that differ
        cross."""
        if not os.path.isfile(self.volume_file(volume_id)):
            raise LookupError('volume %s has no file in %s' % (volume_id, self.export))
        rid = volume_id
        if seed and rid not in self.outgoing:
            digests = self._request(peer + '/replicas/%s/seed' % rid, 'POST', {
                'volume_id': seed, 'source': self.site})['digests']
            self.seen[rid] = (None, None, {int(b): bytes.fromhex(d)
                                           for b, d in digests.items()})
        with self.lock:
            self.outgoing.setdefault(rid, {'volume_id': volume_id, 'sent_bytes': 0})
            self.outgoing[rid].update(peer=peer, state='replicating', error=None)
            self.save()
        return rid

    def disable(self, rid):
        with self.lock:
            self.outgoing.pop(rid, None)
            self.seen.pop(rid, None)
            self.save()

    def rounds(self):
        while True:
            started = time.monotonic()
            for rid in list(self.outgoing):
                try:
                    self.push(rid)
                except Exception as exc:  # the peer down, the volume gone: try again
                    self.outgoing.get(rid, {})['error'] = str(exc)[:300]
            time.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))

    def push(self, rid):
        item = self.outgoing.get(rid)
        if not item:
            return
        synced_at = time.time()  # every write before this is in what is read next
        path = self.volume_file(item['volume_id'])
        try:
            st = os.stat(path)
        except FileNotFoundError:  # the volume was deleted: its replica goes with it
            self._request(item['peer'] + '/replicas/' + rid, 'DELETE')
            self.disable(rid)
            return
        if item['state'] != 'replicating':
            return
        mtime, size, digests = self.seen.get(rid, (None, None, {}))
        frames = []
        if (st.st_mtime_ns, st.st_size) != (mtime, size):
            digests = dict(digests)
            with open(path, 'rb') as f:
                for b, data in data_blocks(f):
                    digest = hashlib.sha256(data).digest()
                    if digests.get(b) != digest:
                        frames.append((b * BLOCK, data))
                        digests[b] = digest
        batches, batch, length = [], [], 0
        for offset, data in frames:
            batch.append(FRAME.pack(offset, len(data)) + data)
            length += len(data)
            if length >= BATCH:
                batches.append(batch)
                batch, length = [], 0
        batches.append(batch)
        for i, batch in enumerate(batches):
            last = i == len(batches) - 1
            body = b''.join(batch)
            request = urllib.request.Request(
                item['peer'] + '/replicas/' + rid, data=body, method='PUT', headers={
                    'X-Source': self.site, 'X-Volume': item['volume_id'],
                    'X-Size': str(st.st_size),
                    # only the last request of a round completes it
                    'X-Synced-At': repr(synced_at) if last else ''})
            try:
                self._request(request)
            except PermissionError:  # the peer promoted the replica: this one is done
                item['state'] = 'promoted at the peer'
                self.save()
                return
            item['sent_bytes'] += len(body)
        item['error'] = None
        self.seen[rid] = (st.st_mtime_ns, st.st_size, digests)

    @staticmethod
    def _request(request, method=None, body=None):
        if method:
            request = urllib.request.Request(
                request, method=method, data=None if body is None else json.dumps(
                    body).encode(), headers={'Content-Type': 'application/json'})
        try:
            return json.loads(urllib.request.urlopen(request, timeout=30).read() or b'{}')
        except urllib.error.HTTPError as exc:
            error = PermissionError if exc.code == 409 else RuntimeError
            raise error('peer: HTTP %s: %s' % (exc.code, exc.read()[:200]))

    # ---- the recovery side
    def replica_file(self, rid):
        return os.path.join(self.replicas_dir, rid)

    def receive(self, rid, headers, body):
        with self.lock:
            item = self.incoming.get(rid)
            if item and item['state'] != 'replicating':
                raise PermissionError('replica %s is %s: it takes no more writes' % (
                    rid, item['state']))
            if item is None:
                item = self.incoming[rid] = {
                    'source': headers['X-Source'], 'volume_id': headers['X-Volume'],
                    'state': 'replicating', 'synced_at': None, 'received_bytes': 0}
            path = self.replica_file(rid)
            with open(path, 'r+b' if os.path.exists(path) else 'w+b') as f:
                f.truncate(int(headers['X-Size']))
                pos = 0
                while pos < len(body):
                    offset, length = FRAME.unpack_from(body, pos)
                    pos += FRAME.size
                    f.seek(offset)
                    f.write(body[pos:pos + length])
                    pos += length
            item['size'] = int(headers['X-Size'])
            item['received_bytes'] += len(body)
            item['contact_at'] = time.time()
            if headers.get('X-Synced-At'):
                item['synced_at'] = float(headers['X-Synced-At'])
            self.save()

    def seed(self, rid, volume_id, source):
        """Start replica `rid` (of the peer `source`'s volume) from this site's volume
        `volume_id`, copied here; returns the digests of its data blocks for the sender.
        The volume's own replication toward that peer stops (its replica there was
        promoted: the direction is reversed)."""
        with self.lock:
            for old, item in list(self.outgoing.items()):
                if item['volume_id'] == volume_id:
                    self.outgoing.pop(old)
                    self.seen.pop(old, None)
            subprocess.run(['cp', '--sparse=always', self.volume_file(volume_id),
                            self.replica_file(rid)], check=True)
            self.incoming[rid] = {'source': source, 'volume_id': rid, 'state': 'replicating',
                                  'synced_at': None, 'received_bytes': 0,
                                  'seeded_from': volume_id}
            self.save()
        with open(self.replica_file(rid), 'rb') as f:
            return {'digests': {b: hashlib.sha256(data).hexdigest()
                                for b, data in data_blocks(f)}}

    def drop(self, rid):
        """Forget a replica whose volume is gone (a promoted one belongs to Cinder now)."""
        with self.lock:
            item = self.incoming.pop(rid, None)
            if item and item['state'] != 'promoted' and os.path.exists(self.replica_file(rid)):
                os.unlink(self.replica_file(rid))
            self.save()

    def describe(self, rid):
        """A replica as the adapter reads it; lag_seconds: how far it trails its volume
        (the source silent: as of when it was last heard from, plus a round)."""
        item = dict(self.incoming[rid])
        now = time.time()
        if item['state'] == 'replicating' and item['synced_at'] is None:
            item['state'] = 'syncing'
        elif (item['state'] == 'replicating' and
              now - item['contact_at'] > max(5 * INTERVAL, 3.0)):
            item['state'] = 'source silent'
        item['lag_seconds'] = (
            round(min(now, item['contact_at'] + INTERVAL) - item['synced_at'], 3)
            if item['synced_at'] is not None else None)
        return item

    def _handed(self, rid, name):
        """What Cinder's manage at this site takes for a file `name` of the export."""
        return dict(self.describe(rid), host=self.host,
                    ref={'source-name': '%s/%s' % (self.share, name)})

    def promote(self, rid):
        with self.lock:
            item = self.incoming.get(rid)
            if item is None:
                raise LookupError('no replica %s at %s' % (rid, self.site))
            name = 'replica-' + rid
            if item['state'] != 'promoted':
                shutil.move(self.replica_file(rid), os.path.join(self.export, name))
                item['state'] = 'promoted'
                item['promoted_at'] = time.time()
                self.save()
            return self._handed(rid, name)

    def clone(self, rid, name):
        with self.lock:
            if rid not in self.incoming or self.incoming[rid]['state'] == 'promoted':
                raise LookupError('no replica %s to clone at %s' % (rid, self.site))
            described = self.describe(rid)  # as of the copy below
            name = 'clone-%s-%s' % (name, rid)
            subprocess.run(['cp', '--sparse=always', self.replica_file(rid),
                            os.path.join(self.export, name)], check=True)
        return dict(self._handed(rid, name), synced_at=described['synced_at'],
                    lag_seconds=described['lag_seconds'])


def handler(array):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            return self.rfile.read(int(self.headers.get('Content-Length') or 0))

        def _do(self, fn):
            try:
                self._reply(200, fn())
            except LookupError as exc:
                self._reply(404, {'error': str(exc).strip('\'"')})
            except PermissionError as exc:
                self._reply(409, {'error': str(exc)})
            except Exception as exc:
                self._reply(500, {'error': '%s: %s' % (type(exc).__name__, exc)})

        def do_GET(self):
            if self.path == '/replications':
                self._do(lambda: array.outgoing)
            elif self.path == '/replicas':
                self._do(lambda: {r: array.describe(r) for r in list(array.incoming)})
            else:
                self._reply(404, {'error': 'no such path %s' % self.path})

        def do_POST(self):
            parts = self.path.strip('/').split('/')
            body = json.loads(self._body() or b'{}')
            if parts == ['replications']:
                self._do(lambda: {'replica_id': array.enable(
                    body['volume_id'], body['peer'], body.get('seed'))})
            elif parts[0] == 'replicas' and len(parts) == 3 and parts[2] == 'seed':
                self._do(lambda: array.seed(parts[1], body['volume_id'], body['source']))
            elif parts[0] == 'replicas' and len(parts) == 3 and parts[2] == 'promote':
                self._do(lambda: array.promote(parts[1]))
            elif parts[0] == 'replicas' and len(parts) == 3 and parts[2] == 'clone':
                self._do(lambda: array.clone(parts[1], body['name']))
            else:
                self._reply(404, {'error': 'no such path %s' % self.path})

        def do_PUT(self):
            parts = self.path.strip('/').split('/')
            if parts[0] == 'replicas' and len(parts) == 2:
                body = self._body()
                self._do(lambda: array.receive(parts[1], self.headers, body) or {})
            else:
                self._reply(404, {'error': 'no such path %s' % self.path})

        def do_DELETE(self):
            parts = self.path.strip('/').split('/')
            if parts[0] == 'replications' and len(parts) == 2:
                self._do(lambda: array.disable(parts[1]) or {})
            elif parts[0] == 'replicas' and len(parts) == 2:
                self._do(lambda: array.drop(parts[1]) or {})
            else:
                self._reply(404, {'error': 'no such path %s' % self.path})
    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--site', required=True)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--folder', required=True, help='the array\'s state and replicas')
    parser.add_argument('--export', required=True, help='the site\'s NFS export')
    parser.add_argument('--host', required=True, help='the Cinder backend serving it')
    args = parser.parse_args()
    array = Array(args.site, args.folder, args.export, args.host)
    threading.Thread(target=array.rounds, daemon=True).start()
    http.server.ThreadingHTTPServer(('127.0.0.1', args.port), handler(array)).serve_forever()


if __name__ == '__main__':
    main()
