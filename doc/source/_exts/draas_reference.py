"""Reference pages generated from the code, so they cannot drift from it.

plan.rst from the plan's JSON schema and the built-in policies (actions/plan.py), actions.rst
from the action classes registered in setup.cfg (their docstrings), workflows.rst from the
descriptions and inputs of workbooks/ and workflows/. A Sphinx extension (written at
builder-inited into doc/source/reference/) and plain functions the unit tests call.
"""
import configparser
import glob
import importlib
import inspect
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _text(text):
    """Plain text as reStructuredText (no markup in descriptions and docstrings)."""
    for char in '\\*`|_':
        text = text.replace(char, '\\' + char)
    return text


def _title(text, mark):
    return '%s\n%s\n' % (text, mark * len(text))


def _fields(schema, path, defaults):
    """(path, schema) of every field under `schema`, depth first."""
    for name, sub in schema.get('properties', {}).items():
        here = '%s.%s' % (path, name) if path else name
        yield here, sub, defaults.get(here)
        for branch in sub.get('oneOf', []):  # e.g. a policy: a name, or an object
            yield from _fields(branch, here, defaults)
        if sub.get('type') == 'object':
            yield from _fields(sub, here, defaults)
        elif sub.get('type') == 'array' and sub.get('items', {}).get('type') == 'object':
            yield from _fields(sub['items'], here + '[]', defaults)


def plan_reference():
    from actions import plan
    defaults = {'options.' + k: v for k, v in plan.DEFAULT_OPTIONS.items()}
    defaults.update({'options.restore.' + k: v for k, v in plan.DEFAULT_RESTORE.items()})
    defaults.update({'options.verify.' + k: v for k, v in plan.DEFAULT_VERIFY.items()})
    out = [_title('Plan and policy reference', '='),
           'Generated from the JSON schema of ``actions/plan.py``: a plan is checked against '
           'it before anything runs, and every error names the field and the form below.\n']
    for path, sub, default in _fields(plan.SCHEMA, '', defaults):
        out.append('``%s``' % path)
        text = sub.get('description', '')
        text = _text(text[:1].upper() + text[1:])
        if default is not None:
            text += ' (default: ``%s``)' % (default,)
        out.append('   %s\n' % text)
    out.append(_title('Built-in policies', '-'))
    for name, policy in plan.POLICIES.items():
        out.append('``%s``' % name)
        out.append('   ' + ', '.join('%s: ``%s``' % (k, v) for k, v in policy.items()) + '\n')
    return '\n'.join(out)


def _entry_points():
    """The actions setup.cfg registers (the tree's truth, installed or not)."""
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, 'setup.cfg'))
    lines = cfg['entry_points']['mistral.actions'].strip().splitlines()
    return dict(line.replace(' ', '').split('=', 1) for line in lines)


def action_reference():
    out = [_title('Action reference', '='),
           'The Mistral actions of draas (entry points ``mistral.actions`` in setup.cfg), '
           'each a thin adapter of ``actions/mistral.py`` over a plain function.\n']
    for name, target in sorted(_entry_points().items()):
        module, cls = target.split(':')
        doc = inspect.cleandoc(getattr(importlib.import_module(module), cls).__doc__ or '')
        out.append(_title(name, '-'))
        lines = doc.splitlines()
        body = [ln for ln in lines if not ln.startswith(':param') and not ln.startswith('  ')]
        params = []
        for ln in lines:
            if ln.startswith(':param '):
                params.append(ln[len(':param '):])
            elif ln.startswith('  ') and params:
                params[-1] += ' ' + ln.strip()
        out.append(_text('\n'.join(body).strip()) + '\n')
        for param in params:
            key, _, text = param.partition(':')
            out.append('``%s``\n   %s\n' % (key.strip(), _text(text.strip())))
    return '\n'.join(out)


def workflow_reference():
    out = [_title('Workflow reference', '='),
           'The workflows draas-install puts into Mistral (``workbooks/``, ``workflows/``), '
           'with their descriptions as Mistral shows them.\n']
    paths = sorted(glob.glob(os.path.join(ROOT, 'workbooks', '*.yaml')) +
                   glob.glob(os.path.join(ROOT, 'workflows', '*.yaml')))
    for path in paths:
        with open(path) as f:
            spec = yaml.safe_load(f)
        if 'workflows' in spec:  # a workbook
            flows = [('%s.%s' % (spec['name'], n), w) for n, w in spec['workflows'].items()]
        else:
            flows = [(n, w) for n, w in spec.items() if isinstance(w, dict)]
        for name, flow in flows:
            out.append(_title(name, '-'))
            out.append('::\n')
            out += ['   ' + ln for ln in (flow.get('description') or '').splitlines()]
            out.append('')
    return '\n'.join(out)


def kinds_reference():
    """Per kind, what becomes of each attribute: from the kinds' declarations."""
    from actions import resources
    out = [_title('Resource kinds and their attributes', '='),
           'Generated from the declarations of ``actions/resources/``: per kind, each '
           'attribute is *restored* (the copy gets it; a failover or drill summary\'s '
           '``fidelity`` compares it with the checkpoint), *kept* in checkpoints for '
           'information only (the copy may differ, for the reason given) or *dropped* (not '
           'in checkpoints, for the reason given). Kinds are listed in the order a restore '
           'makes them.\n']
    for kind in resources.all_kinds().values():
        out.append(_title('%s (level %s)' % (kind.name, kind.level), '-'))
        out.append('.. list-table::\n   :header-rows: 1\n   :widths: 25 12 63\n')
        out.append('   * - attribute\n     - verdict\n     - how, or why not')
        rows = ([(f.name, 'restored', f.how) for f in kind.restores] +
                [(n, 'kept', why) for n, why in kind.keeps.items()] +
                [(n, 'dropped', why) for n, why in sorted(kind.drops.items())])
        for name, verdict, text in rows:
            out.append('   * - ``%s``\n     - %s\n     - %s' % (name, verdict,
                                                                  _text(text) or ''))
        out.append('')
    return '\n'.join(out)


PAGES = {'plan.rst': plan_reference, 'actions.rst': action_reference,
         'workflows.rst': workflow_reference, 'kinds.rst': kinds_reference}


def write_pages(app=None):
    where = os.path.join(ROOT, 'doc', 'source', 'reference')
    os.makedirs(where, exist_ok=True)
    for name, make in PAGES.items():
        with open(os.path.join(where, name), 'w') as f:
            f.write(make())


def setup(app):
    import sys
    sys.path.insert(0, ROOT)
    app.connect('builder-inited', write_pages)
    return {'parallel_read_safe': True}
