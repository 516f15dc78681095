"""Unit tests. Checkpoint manifests are signed with a key of the tests' own (a test key, used
nowhere else), as executors sign with theirs."""
import os

os.environ['DRAAS_MANIFEST_KEY_FILE'] = os.path.join(os.path.dirname(__file__), 'manifest.key')
