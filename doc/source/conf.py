# Sphinx configuration of the draas documentation (tox -e docs).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_exts'))

project = 'draas'
copyright = 'the draas authors'
extensions = ['draas_reference']
exclude_patterns = ['_build']
html_theme = 'alabaster'
