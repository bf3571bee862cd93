"""A road map out of the app (print page, PDF, DOCX, XLSX, CSV, JSON) and back in as a new group,
from our JSON or from a spreadsheet of steps (templates to fill in are here too)."""

import io
from pathlib import PurePosixPath

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from roadmap.domain import permissions
from roadmap.domain.vocabulary import STEP_STATUSES
from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import export_files, exports, spreadsheets, trainings
from roadmap.views.dashboard_actions import own_training
from roadmap.views.throttles import throttled_export
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("exports", __name__)

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
IMPORT_KINDS = ("xlsx", "csv", "json")
PROBLEMS_SHOWN = 100
NOTICES_SHOWN = 5


class ImportForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120), NoControlCharacters()])
    file = FileField(
        _l("File with the steps (.xlsx, .csv) or a road map (.json)"),
        validators=[
            FileRequired(),
            FileAllowed(IMPORT_KINDS, _l("Choose an .xlsx, .csv or .json file.")),
        ],
    )


def _viewable_roadmap(roadmap_id: int) -> Roadmap:
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None or not permissions.may_view_group_map(current_user, roadmap.group):
        abort(404)
    return roadmap


def _language() -> str:
    return str(get_locale())


def _download(roadmap: Roadmap, extension: str, content: bytes, suffix: str = ""):
    return send_file(
        io.BytesIO(content),
        mimetype=MIMETYPES[extension],
        as_attachment=True,
        download_name=exports.download_name(roadmap, extension, suffix),
    )


@bp.get("/maps/<int:roadmap_id>/print")
@login_required
def print_view(roadmap_id: int):
    """The map as one printable document, with links to the other formats."""
    return export_files.printable_page(_viewable_roadmap(roadmap_id))


@bp.get("/maps/<int:roadmap_id>/export.pdf")
@login_required
@throttled_export
def export_pdf(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    pdf = export_files.kept_or_made(roadmap, "pdf", _language(), lambda: export_files.pdf(roadmap, _language()))
    return _download(roadmap, "pdf", pdf)


@bp.get("/maps/<int:roadmap_id>/poster.pdf")
@login_required
@throttled_export
def export_poster(roadmap_id: int):
    """The map as one A3 landscape page in large type, to hang on the wall."""
    roadmap = _viewable_roadmap(roadmap_id)
    poster = export_files.kept_or_made(
        roadmap,
        "poster",
        _language(),
        lambda: export_files.pdf(roadmap, _language(), template="exports/poster.html"),
    )
    return _download(roadmap, "pdf", poster, suffix=" A3")


@bp.get("/maps/<int:roadmap_id>/export.docx")
@login_required
@throttled_export
def export_docx(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    docx = export_files.kept_or_made(roadmap, "docx", _language(), lambda: export_files.docx(roadmap, _language()))
    return _download(roadmap, "docx", docx)


@bp.get("/maps/<int:roadmap_id>/export.xlsx")
@login_required
@throttled_export
def export_xlsx(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    xlsx = export_files.kept_or_made(roadmap, "xlsx", _language(), lambda: export_files.xlsx(roadmap, _language()))
    return _download(roadmap, "xlsx", xlsx)


@bp.get("/maps/<int:roadmap_id>/export.csv")
@login_required
@throttled_export
def export_csv(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    return _download(roadmap, "csv", exports.csv_of(roadmap, _language()))


@bp.get("/maps/<int:roadmap_id>/export.json")
@login_required
@throttled_export
def export_json(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    return _download(roadmap, "json", exports.json_of(roadmap))


@bp.get("/import/template.<any(csv, xlsx):file_kind>")
@login_required
def import_template(file_kind: str):
    """An empty spreadsheet of steps in the reader's language, ready to fill in and import."""
    file_stem = _("Road map steps")
    make_template = exports.csv_template if file_kind == "csv" else exports.xlsx_template
    return send_file(
        io.BytesIO(make_template(_language())),
        mimetype=MIMETYPES[file_kind],
        as_attachment=True,
        download_name=f"{file_stem}.{file_kind}",
    )


@bp.route("/moderate/trainings/<int:training_id>/import", methods=["GET", "POST"])
@login_required
def import_map(training_id: int):
    """A new group of the training, its map filled from a JSON export or a spreadsheet of steps;
    a file with problems creates nothing."""
    training = own_training(training_id)
    form = ImportForm()
    problems = []
    if form.validate_on_submit():
        upload = form.file.data
        kind = PurePosixPath(upload.filename or "").suffix.lower().lstrip(".")
        checked = export_files.checked_import(kind, upload.read(exports.MAX_IMPORT_BYTES + 1))
        if checked.ok:
            group = trainings.create_group(training, form.name.data, checked.content.theme)
            imported = exports.apply_import(group, current_user._get_current_object(), checked)
            if imported.ok:
                flash(_("Group %(name)s created from the file.", name=group.name), "success")
                for notice in imported.notices[:NOTICES_SHOWN]:
                    flash(describe(notice), "info")
            else:
                flash(
                    _(
                        "Group %(name)s created, but: %(problem)s",
                        name=group.name,
                        problem=describe(imported.problems[0]),
                    ),
                    "error",
                )
            return redirect(url_for("moderate.training", training_id=training.id))
        problems = [describe(problem) for problem in checked.problems]
    return render_template(
        "exports/import.html",
        training=training,
        form=form,
        problems=problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(problems) - PROBLEMS_SHOWN),
        columns=_accepted_columns(),
        statuses=_accepted_statuses(),
    )


def _accepted_columns() -> list[tuple[str, tuple[str, ...]]]:
    """(the column as our export names it, the names an import accepts for it), for the import page."""
    return [
        (_(exports.STEP_LABELS[field]), names)
        for field, names in spreadsheets.COLUMN_NAMES.items()
        if field in exports.STEP_LABELS
    ]


def _accepted_statuses() -> list[tuple[str, tuple[str, ...]]]:
    return [(_(STEP_STATUSES[status]), words) for status, words in spreadsheets.STATUS_WORDS.items()]


def describe(problem: exports.ImportProblem) -> str:
    """One import problem as a line for people, e.g. "Row 4: due_on: not a date (2027-13-01)"."""
    parts = [] if problem.place == "file" else [_(exports.PLACES[problem.place], num=problem.number)]
    if problem.field:
        parts.append(problem.field)
    parts.append(_(problem.message, **problem.params))
    line = ": ".join(parts) + (f" ({problem.value})" if problem.value is not None else "")
    return line[:1].upper() + line[1:]
