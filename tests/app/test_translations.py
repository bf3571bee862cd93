"""Every interface string has a Russian translation, and the catalogs know every string in the code."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from conftest import PROJECT_ROOT

CATALOG_DIR = PROJECT_ROOT / "roadmap" / "translations"


def read_catalog(path):
    with open(path, "rb") as catalog_file:
        return read_po(catalog_file)


def test_every_russian_message_is_translated_and_none_is_fuzzy():
    catalog = read_catalog(CATALOG_DIR / "ru" / "LC_MESSAGES" / "messages.po")
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (message.fuzzy or not (all(message.string) if isinstance(message.string, tuple) else message.string))
    ]
    assert untranslated == []


def test_the_catalog_holds_every_string_the_code_and_templates_use(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=PROJECT_ROOT,
        check=True,
    )
    in_code = {message.id for message in read_catalog(fresh) if message.id}
    in_russian = {
        message.id for message in read_catalog(CATALOG_DIR / "ru" / "LC_MESSAGES" / "messages.po") if message.id
    }
    assert sorted(map(str, in_code - in_russian)) == [], "run `make messages` and translate the new strings"
