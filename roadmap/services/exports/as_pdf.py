"""The PDF export: the printable page (export_files.printable_page) rendered by WeasyPrint, the
only user of it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import weasyprint
from werkzeug.security import safe_join


def pdf_of(html: str, static_folder: str, static_url_path: str) -> bytes:
    """The printable page as an A4 PDF; its stylesheet is read from disk, nothing from the network."""

    class StaticFilesOnly(weasyprint.urls.URLFetcher):
        def fetch(self, url, headers=None):
            path = urlsplit(url).path
            prefix = static_url_path.rstrip("/") + "/"
            file_path = safe_join(static_folder, path[len(prefix) :]) if path.startswith(prefix) else None
            if file_path is None or not Path(file_path).is_file():
                raise ValueError(f"not a static file: {url}")
            content_type = "text/css" if file_path.endswith(".css") else "application/octet-stream"
            return weasyprint.urls.URLFetcherResponse(url, Path(file_path).read_bytes(), {"Content-Type": content_type})

    document = weasyprint.HTML(string=html, base_url="https://roadmap.invalid/", url_fetcher=StaticFilesOnly())
    return document.write_pdf()
