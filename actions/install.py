"""draas-install: put draas' workflows and workbooks into a Mistral.

    draas-install --cloud site-b

uploads (creates or updates) every workflow of workflows/ and every workbook of workbooks/
through python-mistralclient, authenticated as the clouds.yaml entry given (Mistral is found
in its Keystone catalog, or at --mistral-url). Run it after installing or upgrading draas and
restarting Mistral (which loads draas' Python actions at start).
"""
import argparse
import glob
import os
import sys

from mistralclient.api import client as mistral_client
import yaml

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
    """Create or update every workflow and workbook; returns the names uploaded."""
    names = []
    existing = {w.name for w in client.workflows.list()}
    for path in sorted(glob.glob(os.path.join(definitions_dir('workflows'), '*.yaml'))):
        with open(path) as f:
            text = f.read()
        wfs = [k for k in yaml.safe_load(text) if k != 'version']
        (client.workflows.update if set(wfs) & existing else client.workflows.create)(text)
        names += wfs
    existing = {w.name for w in client.workbooks.list()}
    for path in sorted(glob.glob(os.path.join(definitions_dir('workbooks'), '*.yaml'))):
        with open(path) as f:
            text = f.read()
        name = yaml.safe_load(text)['name']
        (client.workbooks.update if name in existing else client.workbooks.create)(text)
        names.append(name)
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(prog='draas-install', description=__doc__.split('\n')[0])
    parser.add_argument('--cloud', required=True,
                        help='clouds.yaml entry to authenticate to Mistral with')
    parser.add_argument('--mistral-url', help='Mistral API URL (default: from the catalog)')
    args = parser.parse_args(argv)
    try:
        names = upload(mistral_for(args.cloud, args.mistral_url))
    except sites.SiteError as exc:
        print('draas-install: %s' % exc, file=sys.stderr)
        return 1
    print('uploaded: %s' % ', '.join(names))
    return 0
