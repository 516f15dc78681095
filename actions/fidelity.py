"""Fidelity: a restored workload compared with its checkpoint, attribute by attribute.

The restored project is described like a source (discovery) and every field a kind restores
(Kind.restores) is compared with what the kind intends the copy to hold (Kind.intended: the
checkpoint's value, IDs mapped through the ID map, a drill's name suffix, draas' own tags and
volume metadata left out, what the plan maps: MTUs, addresses it does not keep...).
What still differs is listed. Fields kept for information only may differ by declaration
(doc/source/reference/kinds.rst says why) and are not compared.
"""
from openstack import exceptions

from actions import discovery
from actions import errors
from actions import resources
from actions import sites

SKIPPED = {'role_assignment': 'matched by user and role name (no ID of its own)'}


def describe(conn, site, project_id, keep_user_data=False):
    """The workload of project `project_id` on `site` as checkpoint documents by kind."""
    plan = {'scope': {'project': project_id}, 'source': site,
            'options': {'keep_user_data': keep_user_data}}
    return discovery.discover(conn, plan).to_dict()


def _empty(value):
    return value in (None, '', [], {})


def compare(r, described):
    """Compare restore `r` (actions.restore.Restore) with `described` (describe() of its
    project); returns {resources, fields, differences}: differences are lines naming the
    kind, resource, field and both values."""
    kinds = resources.all_kinds()
    by_id = {kind: {d['id']: d for d in docs} for kind, docs in described.items()}
    compared = fields = 0
    differences = []
    for name, kind in kinds.items():
        if name in SKIPPED or not r.makes(kind):
            continue
        for doc in r.docs(name):
            if name == 'network' and r.is_external(doc):
                continue  # mapped to a network of the target, not made
            if not kind.seen(r, doc):
                continue
            target_id = r.idmap.get(name, {}).get(doc['id'])
            what = '%s %s' % (name, doc.get('name') or doc['id'])
            copy = by_id.get(name, {}).get(target_id)
            if copy is None:
                differences.append('%s: not found in the restored project (%s)' % (
                    what, target_id))
                continue
            compared += 1
            for field in kind.restores:
                want = kind.intended(r, field, doc)
                if want is resources.NOT_COMPARED or field.name not in doc:
                    continue
                fields += 1
                have = kind.observed(r, field, copy)
                if isinstance(want, resources.Either) and have in want:
                    continue
                if want != have and not (_empty(want) and _empty(have)):
                    differences.append('%s: %s is %s in the checkpoint, %s restored' % (
                        what, field.name, _short(want), _short(have)))
    return {'resources': compared, 'fields': fields, 'differences': differences}


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def report(r):
    """compare() for restore `r`, or {error} when the restored project cannot be described
    (the fidelity report never fails a restore)."""
    try:
        described = describe(r.admin, r.site, r.project_id,
                             r.plan['options'].get('keep_user_data', False))
    except errors.DraasError as exc:
        return {'error': str(exc)}
    except exceptions.SDKException as exc:
        return {'error': sites.explain(exc, r.site)}
    return compare(r, described)
