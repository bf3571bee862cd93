"""Heavy work in the pool of worker processes (roadmap/heavy_work.py) and the export files kept
per map revision (services/export_files.py): real worker processes, real files read back."""
from __future__ import annotations

import io
import operator
import os
import threading

import docx
import openpyxl
import pytest
import requests
from conftest import PASSWORD, make_moderator, new_id
from sqlalchemy import func, select
from test_afterwards import csrf_token

from roadmap import heavy_work
from roadmap.extensions import db
from roadmap.models import CachedExport
from roadmap.services import editing


def edit(actor, group, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=actor)


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


@pytest.fixture
def planned_group(group, moderator):
    edit(moderator, group, "map.set", field="title", value="Сквер у библиотеки")
    edit(moderator, group, "step.add", step_id=new_id(), fields={"title": "Опрос жителей о сквере"})
    return group


@pytest.fixture
def member_browser(app, planned_group):
    browser = app.test_client()
    joined = browser.post(f"/join/{planned_group.training.join_code}",
                          data={"display_name": "Вера", "group_id": planned_group.id})
    assert joined.status_code == 302
    return browser


def download(browser, group, export: str):
    response = browser.get(f"/maps/{group.roadmap.id}/{export}")
    assert response.status_code == 200, response.status_code
    return response.data


def kept_files(roadmap_id: int) -> list[tuple[str, int]]:
    return db.session.execute(select(CachedExport.file_format, CachedExport.revision)
                              .where(CachedExport.roadmap_id == roadmap_id).order_by(CachedExport.id)).all()


def test_exports_made_by_the_pool_read_back_with_the_maps_text(member_browser, planned_group):
    pdf = download(member_browser, planned_group, "export.pdf")
    word = docx.Document(io.BytesIO(download(member_browser, planned_group, "export.docx")))
    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, planned_group, "export.xlsx")))

    assert pdf.startswith(b"%PDF-")
    assert "Сквер у библиотеки" in "\n".join(paragraph.text for paragraph in word.paragraphs)
    assert any("Опрос жителей о сквере" in str(cell) for row in workbook.worksheets[0].iter_rows(values_only=True)
               for cell in row)
    assert {"pdf_of", "_docx_job", "_xlsx_job"} <= set(heavy_work.counts().by_function)


def test_a_second_download_of_an_unchanged_map_is_the_kept_file(member_browser, planned_group):
    first = download(member_browser, planned_group, "export.docx")
    made = heavy_work.counts().by_function.get("_docx_job", 0)

    again = download(member_browser, planned_group, "export.docx")

    assert again == first
    assert heavy_work.counts().by_function.get("_docx_job", 0) == made
    assert kept_files(planned_group.roadmap.id) == [("docx", planned_group.roadmap.revision)]


def test_an_edit_makes_a_new_file_and_drops_the_old_revisions(member_browser, planned_group, moderator):
    download(member_browser, planned_group, "export.xlsx")
    made = heavy_work.counts().by_function.get("_xlsx_job", 0)
    edit(moderator, planned_group, "step.add", step_id=new_id(), fields={"title": "Субботник в сквере"})
    db.session.expire_all()

    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, planned_group, "export.xlsx")))

    assert any("Субботник в сквере" in str(cell) for row in workbook.worksheets[0].iter_rows(values_only=True)
               for cell in row)
    assert heavy_work.counts().by_function.get("_xlsx_job", 0) == made + 1
    assert kept_files(planned_group.roadmap.id) == [("xlsx", planned_group.roadmap.revision)]


def test_a_job_past_its_time_gets_a_clear_page_and_the_pool_serves_the_next(app, member_browser, planned_group):
    app.config["HEAVY_WORK_TIMEOUT_SECONDS"] = 0.001
    stopped = member_browser.get(f"/maps/{planned_group.roadmap.id}/export.pdf")
    app.config["HEAVY_WORK_TIMEOUT_SECONDS"] = 60

    assert stopped.status_code == 503
    assert "Файл не удалось сделать" in stopped.get_data(as_text=True)
    assert "занял слишком много времени" in stopped.get_data(as_text=True)
    assert heavy_work.counts().timed_out >= 1
    assert db.session.scalar(select(func.count()).select_from(CachedExport)) == 0
    assert download(member_browser, planned_group, "export.pdf").startswith(b"%PDF-")


def test_a_worker_that_dies_fails_its_job_only(app):
    crashed_before = heavy_work.counts().crashed

    with pytest.raises(heavy_work.HeavyWorkFailed) as failed:
        heavy_work.run(os._exit, 3)

    assert failed.value.code == "crashed"
    assert heavy_work.counts().crashed == crashed_before + 1
    assert heavy_work.run(operator.add, 2, 3) == 5


def test_an_exception_in_a_job_is_raised_in_the_caller(app):
    with pytest.raises(ZeroDivisionError):
        heavy_work.run(operator.truediv, 1, 0)


def test_the_map_at_a_past_revision_is_replayed_by_the_pool(member_browser, planned_group):
    page = member_browser.get(f"/maps/{planned_group.roadmap.id}/history/1")

    assert page.status_code == 200 and "Сквер у библиотеки" in page.get_data(as_text=True)
    assert heavy_work.counts().by_function.get("_map_at_job", 0) >= 1


@pytest.mark.live
def test_an_editor_gets_acks_while_a_pdf_renders(app, planned_group, moderator, marina, live_server, clients):
    for number in range(120):  # long enough that its PDF takes a good while to render
        edit(moderator, planned_group, "step.add", step_id=new_id(), fields={
            "title": f"Шаг {number}", "description": "Обойти дворы и собрать подписи жителей. " * 8})
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/sign-in", timeout=10)
    signing_in = browser.post(f"{live_server.url}/sign-in", timeout=10, data={
        "email": "irina@example.org", "password": PASSWORD, "csrf_token": csrf_token(form.text)})
    assert signing_in.url.endswith("/moderate/"), signing_in.url
    editor = clients.connect(marina, planned_group.roadmap.id)
    rendered = threading.Event()
    acks_while_rendering = []

    def download_pdf():
        response = browser.get(f"{live_server.url}/maps/{planned_group.roadmap.id}/export.pdf", timeout=120)
        assert response.content.startswith(b"%PDF-"), (response.status_code, response.text[:300])
        rendered.set()

    downloading = threading.Thread(target=download_pdf)
    downloading.start()
    for number in range(50):  # within the socket's burst of events
        ack = editor.send_op("map.set", field="goal", value=f"Цель {number}")
        if rendered.is_set():
            break
        assert ack["ok"], ack
        acks_while_rendering.append(ack)
    downloading.join(120)

    assert rendered.is_set()
    # Each op is sent after the previous ack: on a loop held by the PDF the acks would wait for it.
    assert len(acks_while_rendering) == 50
