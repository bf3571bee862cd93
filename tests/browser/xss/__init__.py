"""The XSS corpus test's parts, by page family; the tests themselves are in tests/browser/test_xss.py."""
