"""Checkpoints and the checkpoint store at the recovery site.

Layout of a store, per plan:
    <plan>/lock                          held while a checkpoint of the plan runs
    <plan>/<checkpoint id>/<part>.json   parts, written first
    <plan>/<checkpoint id>/manifest.json written last: the checkpoint exists once it does
A manifest lists every part with its sha256 and size, and is signed (HMAC-SHA256) with a key
only Mistral's executors hold (KEY_FILE): a hash anyone who can write the store can recompute,
a signature not. Readers check the signature, then every part. Checkpoint IDs sort by time
(UTC timestamp first). Two backends: Swift of the target cloud, and a directory.
"""
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import time

from openstack import exceptions as sdk_exceptions

from actions import errors

MANIFEST = 'manifest.json'
# The manifest key: at least 32 bytes, the same on every executor host, readable by Mistral
# only (DRAAS_MANIFEST_KEY_FILE names another file).
KEY_FILE = '/etc/draas/manifest.key'
FORMAT = 1


class StoreError(errors.DraasError):
    """The store cannot be used, or a checkpoint in it is missing or broken."""


class LockedError(StoreError):
    """Another checkpoint of the same plan is running."""


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(ts):
    return ts.strftime('%Y-%m-%dT%H:%M:%SZ')


CHECKPOINT_ID = re.compile(r'^\d{8}T\d{6}Z-[0-9a-f]{6}$')


def new_checkpoint_id():
    return now().strftime('%Y%m%dT%H%M%SZ') + '-' + secrets.token_hex(3)


def checkpoint_time(checkpoint_id):
    """The creation time encoded in a checkpoint ID."""
    return datetime.datetime.strptime(checkpoint_id.split('-')[0], '%Y%m%dT%H%M%SZ').replace(
        tzinfo=datetime.timezone.utc)


class FileStore:
    """A directory (file:///path): for clouds without Swift, and for tests."""

    def __init__(self, root):
        self.root = root
        self.url = 'file://' + root

    def _path(self, key):
        path = os.path.normpath(os.path.join(self.root, key))
        if not path.startswith(os.path.normpath(self.root) + os.sep):
            raise StoreError('key %r leaves the store' % key)
        return path

    def put(self, key, data):
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + '.tmp-' + secrets.token_hex(4)
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def create(self, key, data):
        """Write `key` only if it does not exist; False if it does."""
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        return True

    def get(self, key):
        try:
            with open(self._path(key), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def list(self, prefix):
        base = self._path(prefix) if prefix else self.root
        if not os.path.isdir(base):
            return []
        out = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if '.tmp-' not in name:
                    out.append(os.path.relpath(os.path.join(dirpath, name), self.root))
        return sorted(out)

    def delete(self, key):
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass


class SwiftStore:
    """A container of the target cloud's Swift (the default store), through openstacksdk's
    object-store proxy."""

    def __init__(self, conn, container):
        self.conn = conn
        self.container = container
        self.url = 'swift://' + container
        with self._errors('create container', container):
            conn.object_store.create_container(container)

    @contextlib.contextmanager
    def _errors(self, what, key):
        try:
            yield
        except sdk_exceptions.NotFoundException:
            raise
        except sdk_exceptions.HttpException as exc:
            raise StoreError('cannot %s %s in Swift: HTTP %s' % (
                what, key, exc.status_code)) from None

    def put(self, key, data):
        with self._errors('write', key):
            self.conn.object_store.create_object(
                self.container, key, data=data,
                etag=hashlib.md5(data, usedforsecurity=False).hexdigest())

    def create(self, key, data):
        """Write `key` unless it exists (Swift's If-None-Match); False if it did."""
        try:
            self.conn.object_store.create_object(self.container, key, data=data,
                                                 if_none_match=['*'])
        except sdk_exceptions.HttpException as exc:
            if exc.status_code == 412:
                return False
            raise StoreError('cannot write %s in Swift: HTTP %s' % (
                key, exc.status_code)) from None
        return True

    def get(self, key):
        try:
            with self._errors('read', key):
                return self.conn.object_store.download_object(key, container=self.container)
        except sdk_exceptions.NotFoundException:
            return None

    def list(self, prefix):
        try:
            with self._errors('list', prefix):
                return [o.name for o in self.conn.object_store.objects(self.container,
                                                                       prefix=prefix)]
        except sdk_exceptions.NotFoundException:
            return []

    def delete(self, key):
        # One DELETE: the proxy's delete_object asks with a HEAD first whether the object
        # is a large one (draas never writes large objects).
        resp = self.conn.object_store.delete('/%s/%s' % (self.container, key))
        if resp.status_code not in (204, 404):
            raise StoreError('cannot delete %s in Swift: HTTP %s' % (key, resp.status_code))


def open_store(url, target_conn=None):
    """The store named by a plan's `store` option: swift, swift://CONTAINER, file:///PATH."""
    if url.startswith('file://'):
        return FileStore(url[len('file://'):])
    if url == 'swift' or url.startswith('swift://'):
        container = url[len('swift://'):] if url.startswith('swift://') else 'draas-checkpoints'
        return SwiftStore(target_conn, container)
    raise StoreError('unknown store %r (expected swift, swift://CONTAINER or file:///PATH)'
                     % url)


def signing_key():
    """The manifest key of this executor (KEY_FILE), or StoreError saying how to make it."""
    path = os.environ.get('DRAAS_MANIFEST_KEY_FILE', KEY_FILE)
    try:
        with open(path, 'rb') as f:
            key = f.read().strip()
    except OSError as exc:
        raise StoreError('no manifest key in %s (%s): draas signs checkpoint manifests with a '
                         'key only Mistral\'s executors hold; make one on every executor '
                         'host (README "Installing draas into a Mistral")' % (
                             path, exc.strerror)) from None
    if len(key) < 32:
        raise StoreError('the manifest key in %s is too short: at least 32 bytes' % path)
    return key


def signature(manifest, key):
    """HMAC-SHA256 of a manifest without its signature."""
    body = _dump({k: v for k, v in manifest.items() if k != 'signature'})
    return 'hmac-sha256:' + hmac.new(key, body, hashlib.sha256).hexdigest()


def _dump(obj):
    return json.dumps(obj, sort_keys=True, indent=1, default=str).encode()


class Checkpoints:
    """The checkpoints of one plan in a store."""

    def __init__(self, store, plan_name):
        self.store = store
        self.plan = plan_name

    # ---- lock
    def lock(self, owner, timeout_minutes):
        """Take the plan's lock for `owner`, or raise LockedError naming the holder."""
        key = self.plan + '/lock'
        expires = now() + datetime.timedelta(minutes=timeout_minutes)
        body = _dump({'owner': owner, 'acquired_at': iso(now()), 'expires_at': iso(expires)})
        for _ in range(2):
            if self.store.create(key, body):
                return
            held = self.store.get(key)
            if held is None:
                continue
            info = json.loads(held)
            if info['expires_at'] > iso(now()):
                raise LockedError(
                    'a checkpoint of plan %s is already running (%s, since %s; the lock '
                    'expires at %s)' % (self.plan, info['owner'], info['acquired_at'],
                                        info['expires_at']))
            self.store.delete(key)  # left by a run that died: expired
        raise LockedError('could not take the lock of plan %s' % self.plan)

    def unlock(self, owner):
        key = self.plan + '/lock'
        held = self.store.get(key)
        if held is not None and json.loads(held).get('owner') == owner:
            self.store.delete(key)

    # ---- parts and manifest
    def put_part(self, checkpoint_id, name, obj):
        """Write a part; returns its manifest entry."""
        data = _dump(obj)
        self.store.put('%s/%s/%s.json' % (self.plan, checkpoint_id, name), data)
        return {'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data)}

    def drop_part(self, checkpoint_id, name):
        """Remove a part the manifest does not list (a run's working record)."""
        self.store.delete('%s/%s/%s.json' % (self.plan, checkpoint_id, name))

    def get_part(self, checkpoint_id, name, expected=None):
        data = self.store.get('%s/%s/%s.json' % (self.plan, checkpoint_id, name))
        if data is None:
            raise StoreError('checkpoint %s of plan %s has no part %s' % (
                checkpoint_id, self.plan, name))
        if expected and hashlib.sha256(data).hexdigest() != expected['sha256']:
            raise StoreError('checkpoint %s of plan %s: part %s does not match its sha256 '
                             '(tampered or truncated)' % (checkpoint_id, self.plan, name))
        return json.loads(data)

    def commit(self, checkpoint_id, parts, info):
        """Write the manifest last: from now on the checkpoint exists."""
        manifest = dict(info, format=FORMAT, plan=self.plan, checkpoint_id=checkpoint_id,
                        status='committed', committed_at=iso(now()), parts=parts)
        manifest['signature'] = signature(manifest, signing_key())
        self.store.put('%s/%s/%s' % (self.plan, checkpoint_id, MANIFEST), _dump(manifest))
        return manifest

    def manifest(self, checkpoint_id):
        data = self.store.get('%s/%s/%s' % (self.plan, checkpoint_id, MANIFEST))
        if data is None:
            raise StoreError('no committed checkpoint %s of plan %s in %s' % (
                checkpoint_id, self.plan, self.store.url))
        try:
            manifest = json.loads(data)
        except ValueError:
            raise StoreError('checkpoint %s of plan %s: manifest is not valid JSON' % (
                checkpoint_id, self.plan)) from None
        if not isinstance(manifest, dict) or not hmac.compare_digest(
                str(manifest.get('signature')), signature(manifest, signing_key())):
            raise StoreError('checkpoint %s of plan %s: the manifest\'s signature is %s (it '
                             'was written or changed without the executors\' key)' % (
                                 checkpoint_id, self.plan, 'wrong' if isinstance(
                                     manifest, dict) and manifest.get('signature')
                                 else 'missing'))
        if manifest.get('plan') != self.plan or manifest.get('checkpoint_id') != checkpoint_id:
            raise StoreError('checkpoint %s of plan %s: the manifest belongs to %s/%s' % (
                checkpoint_id, self.plan, manifest.get('plan'), manifest.get('checkpoint_id')))
        return manifest

    def verify(self, checkpoint_id):
        """Check every part against the manifest; returns the manifest or raises StoreError."""
        return self.read(checkpoint_id)[0]

    def read(self, checkpoint_id):
        """(manifest, {part name: content}), each part checked against the manifest (read
        once). A checkpoint missing or damaged is a StoreError that names the newest intact
        checkpoint to use instead."""
        try:
            return self._read(checkpoint_id)
        except StoreError as exc:
            raise StoreError('%s; %s' % (exc, self._instead(checkpoint_id))) from None

    def _read(self, checkpoint_id):
        manifest = self.manifest(checkpoint_id)
        return manifest, {name: self.get_part(checkpoint_id, name, entry)
                          for name, entry in manifest['parts'].items()}

    def _instead(self, bad_id):
        for cid in reversed(self.list()):
            if cid == bad_id:
                continue
            try:
                self._read(cid)
            except StoreError:
                continue
            return 'the newest intact checkpoint is %s: run again with checkpoint_id %s' % (
                cid, cid)
        return 'plan %s has no other intact checkpoint' % self.plan

    def list(self):
        """IDs of committed checkpoints, oldest first."""
        suffix = '/' + MANIFEST
        return sorted(k[len(self.plan) + 1:-len(suffix)] for k in self.store.list(self.plan + '/')
                      if k.endswith(suffix) and k.count('/') == 2)

    def latest(self):
        ids = self.list()
        return ids[-1] if ids else None

    def chosen(self, checkpoint_id=None):
        """`checkpoint_id`, or the latest committed one; StoreError if there is none."""
        if checkpoint_id and not (isinstance(checkpoint_id, str) and
                                  CHECKPOINT_ID.match(checkpoint_id)):
            raise StoreError('checkpoint_id: expected an ID like 20261121T234535Z-10a33b '
                             '(draas.checkpoint.list shows them), got %r' % (checkpoint_id,))
        cid = checkpoint_id or self.latest()
        if cid is None:
            raise StoreError('plan %s has no committed checkpoint in %s' % (
                self.plan, self.store.url))
        return cid

    def delete(self, checkpoint_id):
        """Remove a checkpoint: the manifest first, so it stops existing at once."""
        self.store.delete('%s/%s/%s' % (self.plan, checkpoint_id, MANIFEST))
        for key in self.store.list('%s/%s/' % (self.plan, checkpoint_id)):
            self.store.delete(key)

    def expired(self, retention, keep=()):
        """IDs that a policy's retention removes, oldest first.

        The newest `count` checkpoints are kept; older ones go once they are older than
        `max_age_hours`. Parts without a manifest (runs that died) go after the same age.
        """
        committed = self.list()
        limit = now() - datetime.timedelta(hours=retention['max_age_hours'])
        out = [cid for cid in committed[:-retention['count']]
               if cid not in keep and checkpoint_time(cid) < limit]
        seen = {k.split('/')[1] for k in self.store.list(self.plan + '/') if k.count('/') == 2}
        for cid in sorted(seen - set(committed) - set(keep)):
            try:
                if checkpoint_time(cid) < limit:
                    out.append(cid)
            except ValueError:
                continue
        return out

    # ---- restores of the plan's checkpoints: ID map and state, per restore ID
    def get_restore(self, restore_id, name):
        data = self.store.get('%s/restores/%s/%s.json' % (self.plan, restore_id, name))
        return json.loads(data) if data else None

    def put_restore(self, restore_id, name, obj):
        self.store.put('%s/restores/%s/%s.json' % (self.plan, restore_id, name), _dump(obj))

    def restores(self):
        """IDs of the plan's restores (failovers, drills) with a recorded state."""
        prefix = self.plan + '/restores/'
        return sorted(k[len(prefix):-len('/state.json')] for k in self.store.list(prefix)
                      if k.endswith('/state.json'))

    # ---- data that outlives the checkpoints referring to it
    def pending_deletions(self):
        data = self.store.get(self.plan + '/pending-deletions.json')
        return json.loads(data) if data else []

    def set_pending_deletions(self, items):
        self.store.put(self.plan + '/pending-deletions.json', _dump(items))


def elapsed(start):
    return round(time.monotonic() - start, 3)
