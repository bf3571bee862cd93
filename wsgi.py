"""WSGI entry point. Run the real server with `python -m roadmap.server`."""

from roadmap import create_app

app = create_app()
