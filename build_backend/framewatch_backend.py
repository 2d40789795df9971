"""setuptools' own PEP 517 backend, minus its information-only notices.

framewatch maps the brief's top-level folders (crawler/, analysis/, dashboards/) into
one ``framewatch`` namespace, so setuptools installs it in editable mode through an
import finder and then prints an "Editable installation" notice on every install.
That notice is of setuptools' ``InformationOnly`` class (no action needed); every
real warning, deprecations included, still reaches the user.
"""

import warnings

from setuptools.build_meta import *  # noqa: F403 - the backend's hooks, unchanged
from setuptools.warnings import InformationOnly

warnings.filterwarnings("ignore", category=InformationOnly)
