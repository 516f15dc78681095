"""Resource kinds: one declarative class per kind of OpenStack resource draas protects.

A kind says how to list its resources on a site with one list call (pages aside), what
becomes of each attribute (restored, kept for information, dropped: Kind), which fields refer
to other kinds (by source ID) and how a copy is found and made. The modules of this package
define the kinds per service; all_kinds() lists them in dependency order (a kind only refers
to kinds before it).
"""
try:
    from openstack.fields import Body  # openstacksdk 4.1 and later
except ImportError:  # pragma: no cover
    from openstack.resource import Body

from actions import sites


class Field:
    """An attribute a restore gives the copy. `arg`: its name in the create call (default
    the same; False: a step of the kind's own sets it, `how` says which); `ref`: the kind
    whose source IDs it holds (mapped through the ID map); `how`: what else the restore does
    with it, for the generated table."""

    def __init__(self, name, arg=None, ref=None, how=''):
        self.name = name
        self.arg = name if arg is None else arg
        self.ref = ref
        self.how = how


def why(reason, *names):
    """{name: reason} for several attributes sharing a reason."""
    return {name: reason for name in names}


def declared(*groups, **reasons):
    """One {name: reason} of several (from why()) and more given by name."""
    out = {}
    for group in groups + (reasons,):
        out.update(group)
    return out


# Reasons shared by many kinds (Kind.keeps / Kind.drops).
ASSIGNED = 'assigned by the target when the copy is made'
STATE = 'a state the target reports, not something a restore sets'
REVISION = 'the source\'s version of the resource (checkpoints compare it)'
ALIAS = 'another name of an attribute kept under its own name'


class Kind:
    """How draas handles one kind of resource. Subclasses set the class attributes.

    Every attribute of the kind's openstacksdk resource (`sdk`) is declared once: restored
    (`restores`, Fields: the copy gets it), kept in checkpoints for information only
    (`keeps`: why not restored) or dropped (`drops`: why not kept). Restored and kept names
    that are not attributes of `sdk` are computed by derived(). doc/source/reference/kinds.rst
    is generated from these declarations.
    """
    name = None          # e.g. 'network'; the key of the kind in checkpoints
    service = None       # the openstacksdk proxy, e.g. 'network'
    sdk = None           # the openstacksdk resource class listed
    restores = ()        # Field, in the order they are set
    keeps = {}           # attribute -> why it is kept for information only
    drops = {}           # attribute -> why a checkpoint does not keep it (secrets included)
    # Why a member's credentials (sites.MEMBER) can neither read nor restore this kind;
    # None: they can.
    admin_only = None

    def allowed(self, mode):
        """Whether credentials of `mode` (sites.ADMIN or MEMBER) protect this kind."""
        return self.admin_only is None or mode == sites.ADMIN

    @property
    def fields(self):
        """Names of the attributes a checkpoint keeps."""
        return [f.name for f in self.restores] + list(self.keeps)

    @property
    def refs(self):
        """field -> kind name: the field holds a source ID or a list of IDs."""
        return {f.name: f.ref for f in self.restores if f.ref}

    def export(self, resource, workload):
        """The checkpoint document of `resource`: its kept fields plus derived ones."""
        doc = {'id': resource.id}
        for field in self.fields:
            if self.sdk is None or hasattr(self.sdk, field):
                doc[field] = _plain(getattr(resource, field, None))
        doc.update(self.derived(resource, workload))
        return doc

    def derived(self, resource, workload):
        """Fields computed from other resources of the workload (override)."""
        return {}

    def args(self, rc, doc, skip=()):
        """Create arguments from the restored fields of `doc` (those with an `arg`, not in
        `skip`, not None): references mapped to their copies, names as restore `rc` gives
        them."""
        out = {}
        for field in self.restores:
            value = doc.get(field.name)
            if not field.arg or field.name in skip or value is None:
                continue
            if field.ref:
                value = ([rc.map(field.ref, v) for v in value] if isinstance(value, list)
                         else rc.map(field.ref, value))
            elif field.name == 'name':
                value = rc.name(value)
            out[field.arg] = value
        return out

    # ---- restore (see actions/restore/context.py for the context `rc`)
    level = None         # the restore level creating this kind (restore.LEVELS)
    # Copies carry the restore's tags, so a re-run finds them without the ID map: it is
    # saved once at the end of the level, not after each copy (one store write each).
    tagged = False

    def in_restore(self, rc):
        """Whether restore `rc` makes this kind (a drill skips some)."""
        return True

    def seen(self, rc, doc):
        """Whether the restored project shows the copy of `doc` (fidelity compares it)."""
        return True

    def restored(self, rc):
        """{source ID: target ID} of this kind already restored by restore `rc.restore_id`
        (found by the tags/metadata every restored resource carries). Override."""
        return {}

    def create_all(self, rc, docs):
        """Make the copies of `docs` in a few requests where the API allows it; returns
        {source ID: target ID} of those made (restore() makes the others)."""
        return {}

    def restore(self, rc, doc, target_id):
        """Make sure `doc` exists on the target; `target_id` is the copy found already (or
        None). Returns the target ID. Override."""
        raise NotImplementedError('%s cannot be restored' % self.name)

    # ---- preflight (actions/restore/checks.py runs it for every kind, making nothing)
    def check(self, rc, found):
        """Check the target for this kind's documents: add to `found` (Findings) what
        stops the restore (each problem says what and how to fix it), warnings, and what
        the restore would do (preview). Override."""

    def needs(self, rc, done):
        """{quota key: amount} the copies of this kind's documents take in the restored
        project, those in `done` ({source ID: target ID}, made already) left out."""
        return {}

    # ---- fidelity (actions/fidelity.py compares each copy with its document)
    def intended(self, rc, field, doc):
        """What restore `rc` gives the copy of `doc` for restored field `field`: the
        document's value, references mapped to their copies, the name the restore gives,
        draas' tags left out; NOT_COMPARED where the plan or the target decides, Either(...)
        where several values are intended. Kinds override it for fields their restore
        changes on purpose."""
        value = doc.get(field.name)
        if field.ref:
            mapping = rc.idmap.get(field.ref, {})
            if isinstance(value, list):
                return sorted(mapping.get(v, v) for v in value)
            return mapping.get(value, value)
        if field.name == 'name':
            return rc.name(value) if value else value
        if field.name == 'tags':
            return own_tags(value)
        return value

    def observed(self, rc, field, copy):
        """The copy's `field` (a document of the restored project) as intended() spells
        it."""
        value = copy.get(field.name)
        if field.ref and isinstance(value, list):
            return sorted(value)
        if field.name == 'tags':
            return own_tags(value)
        return value

    def remove(self, bubble):
        """Delete what a drill made of this kind (`bubble`: actions.drill.Bubble); returns
        how many. Kinds are removed in the reverse of the order they are made."""
        return 0

    def references(self, doc):
        """(kind, source ID) pairs this document refers to."""
        out = []
        for field, kind in self.refs.items():
            value = doc.get(field)
            for ref in value if isinstance(value, list) else [value]:
                if ref:
                    out.append((kind, ref))
        return out


SOURCE_TAG = 'draas-src='
RESTORE_TAG = 'draas-restore='
NOT_COMPARED = object()  # Kind.intended(): the plan or the target decides, not the source


class Findings:
    """What a preflight finds: problems (the restore cannot work), warnings, and the
    preview (readable lines of what the restore would do)."""

    def __init__(self):
        self.problems, self.warnings, self.preview = [], [], []


def missing_zones(rc, service, kind):
    """Problems: availability zones options.restore.availability_zones maps documents of
    `kind` to, which `service` (compute, block_storage) of the target lacks."""
    zones = rc.options['availability_zones']
    wanted = sorted({zones[d['availability_zone']] for d in rc.docs(kind)
                     if d.get('availability_zone') in zones})
    if not wanted:
        return []
    have = {z.name for z in getattr(rc.admin, service).availability_zones()}
    return ['options.restore.availability_zones: %s has no %s availability zone %r for the '
            '%ss mapped to it (it has %s)' % (rc.site, service.replace('_', ' '), zone, kind,
                                              ', '.join(sorted(have)) or 'none')
            for zone in wanted if zone not in have]


class Either(tuple):
    """Kind.intended(): values a restored field may have, each as intended."""

    def __new__(cls, *values):
        return super().__new__(cls, values)


def own_tags(tags):
    """A resource's tags without draas' own."""
    return sorted(t for t in tags or () if not t.startswith((SOURCE_TAG, RESTORE_TAG)))


def reused_name(rc, doc, mapping):
    """Kinds a restore reuses by name (or the plan's `mapping`) and otherwise makes: the
    name intended; a drill uses the target's of that name or makes its own."""
    name = mapping.get(doc['name'], doc['name'])
    return Either(name, rc.name(name)) if rc.drill else name


def restore_tags(rc, doc):
    """Tags of a restored resource: its own (not those an earlier restore gave it), its
    source ID and the restore that made it."""
    return [t for t in doc.get('tags') or () if not t.startswith((SOURCE_TAG, RESTORE_TAG))
            ] + [SOURCE_TAG + doc['id'], RESTORE_TAG + rc.restore_id]


def origin(doc):
    """The ID a resource of a checkpoint was restored from (its source-ID tag), if it
    was restored by draas: after a failover, the resource of the original site."""
    for tag in doc.get('tags') or ():
        if tag.startswith(SOURCE_TAG):
            return tag[len(SOURCE_TAG):]
    return None


def by_source_tag(resources):
    """{source ID: target ID} from resources carrying restore_tags()."""
    out = {}
    for res in resources:
        for tag in res.tags or ():
            if tag.startswith(SOURCE_TAG):
                out[tag[len(SOURCE_TAG):]] = res.id
    return out


def sdk_attributes(sdk):
    """{attribute: the name the API gives it} of an openstacksdk resource class's body."""
    return {name: component.name
            for name, component in sdk._attributes_iterator(components=(Body,))}


def _plain(value):
    """JSON-safe copy of an openstacksdk attribute value."""
    if hasattr(value, 'to_dict'):
        return _plain(value.to_dict(computed=False))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def all_kinds():
    """Every kind, in dependency order."""
    from actions.resources import block_storage
    from actions.resources import compute
    from actions.resources import identity
    from actions.resources import image
    from actions.resources import network
    kinds = (identity.KINDS + compute.FIRST_KINDS + block_storage.FIRST_KINDS + image.KINDS +
             network.KINDS + block_storage.KINDS + compute.KINDS)
    return {k.name: k for k in kinds}
