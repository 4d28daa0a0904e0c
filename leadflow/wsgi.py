"""WSGI entry point served by granian: public posts take a shorter middleware chain (leadflow.lib.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from leadflow.lib.wsgi import with_public_chain

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
application = with_public_chain(get_wsgi_application())
