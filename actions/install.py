"""draas-install: put draas' workflows, workbooks and cron triggers into a Mistral.

    draas-install --cloud site-b [--plans plans.yaml]

uploads (creates or updates) every workflow of workflows/ and every workbook of workbooks/
through python-mistralclient, authenticated as the clouds.yaml entry given (Mistral is found
in its Keystone catalog, or at --mistral-url). With --plans (a YAML list of plans, or one
plan) it validates every plan and binds it (the ID of its project on the source, the IDs
of its access.projects at Mistral's Keystone: actions/access.py) first, then saves each plan
at its recovery site (Swift container draas-plans, so workflows accept the reference
"<name>@<site>") and creates or replaces its cron triggers as triggers/<policy>.yaml defines
them. Run it after installing
or upgrading draas and restarting Mistral (which loads draas' Python actions at start).
"""
import argparse
import copy
import glob
import os
import sys

from mistralclient.api import client as mistral_client
from openstack import exceptions as sdk_exceptions
import yaml

from actions import access
from actions import cron
from actions import discovery
from actions import errors
from actions import plan as plan_mod
from actions import sites


def definitions_dir(kind):
    """workflows/, workbooks/ or triggers/ of the source tree, else of the installed data."""
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), kind)
    if os.path.isdir(source):
        return source
    return os.path.join(sys.prefix, 'share', 'draas', kind)


def mistral_for(cloud, mistral_url=None):
    """A python-mistralclient client with the credentials of clouds.yaml entry `cloud`."""
    conn = sites.connect(cloud)
    url = mistral_url or conn.session.get_endpoint(service_type='workflowv2',
                                                   interface='public')
    return mistral_client.client(mistral_url=url, session=conn.session)


def upload(client):
    """Create or update every workflow and workbook, public: the users of every project
    run them (draas checks what each may act on, actions/access.py); returns their names."""
    names = []
    existing = {w.name for w in client.workflows.list()}
    for path in sorted(glob.glob(os.path.join(definitions_dir('workflows'), '*.yaml'))):
        with open(path) as f:
            text = f.read()
        wfs = [k for k in yaml.safe_load(text) if k != 'version']
        (client.workflows.update if set(wfs) & existing else client.workflows.create)(
            text, scope='public')
        names += wfs
    existing = {w.name for w in client.workbooks.list()}
    for path in sorted(glob.glob(os.path.join(definitions_dir('workbooks'), '*.yaml'))):
        with open(path) as f:
            text = f.read()
        name = yaml.safe_load(text)['name']
        (client.workbooks.update if name in existing else client.workbooks.create)(
            text, scope='public')
        names.append(name)
    return names


def trigger_specs(plan):
    """(name, workflow, pattern) of the cron triggers of a validated plan."""
    policy = plan['policy']['name']
    base = policy if policy in plan_mod.POLICIES else 'custom'
    with open(os.path.join(definitions_dir('triggers'), base + '.yaml')) as f:
        spec = yaml.safe_load(f)
    for trig in spec['triggers']:
        pattern = trig['pattern']
        if pattern == 'policy':
            pattern = plan['policy']['schedule']
        yield 'draas.%s.%s' % (plan['name'], trig['name']), trig['workflow'], pattern


def load_plans(path):
    """Validated plans from a YAML file holding one plan or a list of plans."""
    with open(path) as f:
        try:
            docs = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise plan_mod.PlanError(['%s: not valid YAML: %s' % (path, exc)]) from None
    docs = docs if isinstance(docs, list) else [docs]
    plans, errors = [], []
    for i, doc in enumerate(docs):
        try:
            plans.append(plan_mod.validate(doc))
        except plan_mod.PlanError as exc:
            errors += ['%s plan #%d: %s' % (path, i + 1, e) for e in exc.errors]
    names = [p['name'] for p in plans]
    errors += ['%s: plan name %r is used twice' % (path, n)
               for n in sorted({n for n in names if names.count(n) > 1})]
    if errors:
        raise plan_mod.PlanError(errors)
    return plans


def bind(plan, keystone):
    """`plan` as an admin saves it: bound to its project's ID on the source now (refused
    when it was made for another), its access.projects resolved to IDs at Mistral's Keystone
    (`keystone`: a Connection there)."""
    bound = copy.deepcopy(plan)
    with sites.calls_to(plan['source'], 'binding plan %s to its project' % plan['name']):
        project = discovery.source_project(sites.connect(plan['source']), plan)
    bound['scope']['project_id'] = project.id
    ids = []
    for name in plan.get('access', {}).get('projects', ()):
        try:
            found = keystone.identity.find_project(name, ignore_missing=True)
        except sdk_exceptions.DuplicateResource:
            raise access.AccessError('plan %s: access.projects: several projects are named '
                                     '%r at Mistral\'s Keystone: give its ID' % (
                                         plan['name'], name)) from None
        if found is None:
            raise access.AccessError('plan %s: access.projects: no project %r at Mistral\'s '
                                     'Keystone' % (plan['name'], name))
        ids.append(found.id)
    if 'access' in plan:
        bound['access']['projects'] = ids
    return plan_mod.validate(bound)


def install_triggers(client, plans):
    """Create (replacing any of the same name) the cron triggers of `plans`."""
    existing = {t.name for t in client.cron_triggers.list()}
    made = []
    for plan in plans:
        for name, workflow, pattern in trigger_specs(plan):
            if name in existing:
                client.cron_triggers.delete(name)
            client.cron_triggers.create(name, workflow, workflow_input={'plan': plan},
                                        pattern=pattern)
            made.append('%s (%s, %s)' % (name, workflow, pattern))
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(prog='draas-install', description=__doc__.split('\n')[0])
    parser.add_argument('--cloud', required=True,
                        help='clouds.yaml entry to authenticate to Mistral with')
    parser.add_argument('--mistral-url', help='Mistral API URL (default: from the catalog)')
    parser.add_argument('--plans', help='YAML file with the plans to schedule (one plan or '
                                        'a list): saved at their recovery sites, '
                                        'their cron triggers created')
    args = parser.parse_args(argv)
    try:
        plans = load_plans(args.plans) if args.plans else []  # all valid, or nothing done
        if plans:
            keystone = sites.connect(args.cloud)  # Mistral's: where access.projects live
            plans = [bind(plan, keystone) for plan in plans]
        client = mistral_for(args.cloud, args.mistral_url)
        print('uploaded: %s' % ', '.join(upload(client)))
        for plan in plans:
            print('plan saved: %s' % plan_mod.save(plan))
        for made in install_triggers(client, plans):
            print('cron trigger: %s' % made)
        for plan in plans:
            gap = cron.longest_gap_minutes(plan['policy']['schedule'])
            if gap > plan['policy']['rpo_minutes']:
                print('draas-install: warning: plan %s: its schedule %r leaves up to %d '
                      'minutes between checkpoints, its RPO is %d minutes' % (
                          plan['name'], plan['policy']['schedule'], gap,
                          plan['policy']['rpo_minutes']), file=sys.stderr)
    except errors.DraasError as exc:
        print('draas-install: %s' % exc, file=sys.stderr)
        return 1
    return 0
