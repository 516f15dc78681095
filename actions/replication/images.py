"""Images servers boot from: copied to the target Glance, verified by hash, skipped when the
plan already has a copy with the same hash there.

Each plan has its own copies (OWNER_PROPERTY names the plan): two plans never share one, so
one plan's retention, or a tenant deleting its image, never takes another plan's copy."""
import concurrent.futures
import hashlib
import os
import tempfile
import threading
import time

from openstack import exceptions as sdk_exceptions

from actions import errors

SOURCE_PROPERTY = 'draas_source_image_id'
OWNER_PROPERTY = 'draas_plan'


class ImageCopyError(errors.DraasError):
    pass


def owner_key(plan_name, store_url):
    """OWNER_PROPERTY of a plan's copies: a plan is its name in its store."""
    return '%s:%s' % (plan_name, hashlib.sha256(store_url.encode()).hexdigest()[:12])


def _find_copy(dst, doc, owner):
    """An active copy `owner` (owner_key) made at the target (in the project of the target's
    entry, with SOURCE_PROPERTY: never another tenant's image, which its owner could delete,
    nor another plan's) with the document's hash and its properties, tags and minimums (a
    copy is the whole image, not only its bytes), or None. Glance filters on os_hash_value; openstacksdk's images()
    drops that filter silently, hence the raw GET (and the hash checked again here)."""
    if not doc.get('hash_value'):
        return None
    url, params = '/images', {'os_hash_value': doc['hash_value'], 'status': 'active'}
    while url:  # every page: identical disks of many servers share one hash
        resp = dst.image.get(url, params=params)
        if resp.status_code != 200:
            raise ImageCopyError('listing images of the target by hash: HTTP %s' % (
                resp.status_code))
        body = resp.json()
        for image in body['images']:
            if (image.get('os_hash_value') == doc['hash_value'] and
                    image['status'] == 'active' and
                    image.get('owner') == dst.current_project_id and
                    SOURCE_PROPERTY in image and image.get(OWNER_PROPERTY) == owner and
                    same_image(image, doc)):
                return dst.image.get_image(image['id'])
        # Glance's next page: "/v2/images?marker=...", its query included
        url, params = (body['next'].split('/v2', 1)[-1], None) if body.get('next') else (
            None, None)
    return None


def same_image(image, doc):
    """Whether `image` (Glance's JSON) has what the copy of document `doc` must have."""
    return (all(str(image.get(k)) == str(v) for k, v in (doc.get('properties') or {}).items())
            and sorted(image.get('tags') or ()) == sorted(doc.get('tags') or ())
            and (image.get('min_disk') or 0) == (doc.get('min_disk') or 0)
            and (image.get('min_ram') or 0) == (doc.get('min_ram') or 0))


STREAMS = 4  # copies at once by default (options.transfer.streams)


class Throttle:
    """At most `rate` bytes a second read from the source by every copy that shares it (a
    checkpoint's: options.transfer.bytes_per_second; None: no limit), in at most `streams`
    copies at once (options.transfer.streams). Mistral runs at the recovery site: what it
    reads from the source is what crosses between the sites."""

    def __init__(self, rate=None, streams=STREAMS, clock=time.monotonic, sleep=time.sleep):
        self.rate, self.streams, self.clock, self.sleep = rate, streams, clock, sleep
        self._lock = threading.Lock()
        self._free_at = None

    def spend(self, size):
        """Wait for the turn of `size` bytes (chunks go one after the other at `rate`)."""
        if not self.rate:
            return
        with self._lock:
            now = self.clock()
            start = max(self._free_at or now, now)
            self._free_at = start + size / self.rate
        self.sleep(max(0.0, start - now))


def copy_image(src, dst, doc, owner, workdir=None, throttle=None):
    """Copy one image (a checkpoint document) for `owner` (owner_key), read from the source
    as fast as `throttle` (a Throttle) lets; returns {target_id, bytes_copied,
    hash_value}."""
    existing = _find_copy(dst, doc, owner)
    if existing is not None:
        return {'target_id': existing.id, 'bytes_copied': 0, 'hash_value': doc['hash_value']}
    algo = doc.get('hash_algo') or 'sha512'
    digest = hashlib.new(algo)
    fd, path = tempfile.mkstemp(prefix='draas-image-', dir=workdir)
    try:
        with os.fdopen(fd, 'wb') as out:
            resp = src.image.download_image(doc['id'], stream=True)
            for chunk in resp.iter_content(chunk_size=1 << 20):
                if throttle is not None:
                    throttle.spend(len(chunk))
                digest.update(chunk)
                out.write(chunk)
        if doc.get('hash_value') and digest.hexdigest() != doc['hash_value']:
            raise ImageCopyError('image %s: downloaded data does not match its %s hash'
                                 % (doc['id'], algo))
        try:
            image = dst.image.create_image(
                name=doc.get('name') or doc['id'], filename=path,
                disk_format=doc.get('disk_format'),
                container_format=doc.get('container_format'),
                min_disk=doc.get('min_disk') or 0, min_ram=doc.get('min_ram') or 0,
                tags=doc.get('tags') or [], visibility='private', wait=True,
                validate_checksum=True, allow_duplicates=True,
                properties=dict(doc.get('properties') or {}, **{SOURCE_PROPERTY: doc['id'],
                                                                OWNER_PROPERTY: owner}))
        except sdk_exceptions.HttpException as exc:
            if exc.status_code not in (400, 403, 409):
                raise
            # e.g. a property Glance's property protections forbid at the recovery site
            raise ImageCopyError(
                'image %r (%s): the recovery site\'s Glance refuses its copy (HTTP %s: %s); '
                'its properties: %s' % (doc.get('name'), doc['id'], exc.status_code,
                                        exc.details or exc.message,
                                        ', '.join(sorted(doc.get('properties') or {})) or
                                        'none')) from None
        return {'target_id': image.id, 'bytes_copied': os.path.getsize(path),
                'hash_value': digest.hexdigest()}
    finally:
        os.unlink(path)


def copy_images(src, dst, docs, owner, throttle=None):
    """Copy every image document, throttle.streams at once; returns {source image ID:
    result of copy_image}."""
    return dict(zip([d['id'] for d in docs], each(
        lambda doc: copy_image(src, dst, doc, owner, throttle=throttle), docs,
        throttle.streams if throttle else STREAMS)))


def each(call, items, streams=STREAMS, gather=None):
    """[call(item) for item in items], `streams` at a time. The first failure raises; with
    `gather` (an exception class), those of that class are all named in one."""
    items = list(items)
    if not items:
        return []
    with concurrent.futures.ThreadPoolExecutor(streams) as pool:
        futures = [pool.submit(call, item) for item in items]
        results, failed = [], []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:
                if gather is None or not isinstance(exc, gather):
                    raise
                failed.append(str(exc))
    if failed:
        raise gather('; '.join(failed))
    return results


def delete_copy(dst, image_id, owner):
    """Delete a copy of `owner`'s; an image of anybody else (a copy made before copies had
    an owner, which another plan may use) is left. Returns whether it is gone."""
    resp = dst.image.get('/images/%s' % image_id)
    if resp.status_code == 404:
        return True
    if resp.status_code != 200:
        raise ImageCopyError('reading image %s of the target: HTTP %s' % (
            image_id, resp.status_code))
    if resp.json().get(OWNER_PROPERTY) != owner:
        return False
    dst.image.delete_image(image_id, ignore_missing=True)
    return True
