"""No secret in the lab's logs: those of Mistral (its engine and executor run draas' actions
and log their inputs and errors) and of every service of both sites. Runs after the suites
that fail over, drill and fail back (stestr runs the files in order), so their logs are in."""
import glob
import os
import re

from tests.functional import base

# A Keystone Fernet token, whoever it belonged to and whenever it expired.
TOKEN = re.compile(rb'gAAAAA[A-Za-z0-9_=-]{60,}')


class TestSecrets(base.FunctionalTestCase):

    def test_no_password_token_or_private_key_in_any_lab_log(self):
        paths = sorted(glob.glob(os.path.join(base.LAB, 'mistral', 'logs', '*')) +
                       glob.glob(os.path.join(base.LAB, 'site-*', 'logs', '*')))
        self.assertTrue(any('mistral-executor' in p for p in paths), paths)
        size, secrets = 0, self.lab_secrets()
        for path in paths:
            with open(path, 'rb') as f:
                data = f.read()
            size += len(data)
            with self.subTest(path=path):
                self.assert_no_secret([data], secrets)
                self.assertIsNone(TOKEN.search(data), path)
        base.measured('secrets: 0 hits in %d lab logs (%.0f MiB)' % (len(paths), size / 2**20))
