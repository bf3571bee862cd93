"""Benchmarks of the real-time path against a bare Flask-SocketIO floor.

    .venv/bin/python -m bench.run [--quick]

See docs/performance.md for the figures and what they mean.
"""
