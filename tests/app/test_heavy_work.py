"""Heavy work in the pool of worker processes (roadmap/heavy_work.py) and the export files kept
per map revision (services/export_files.py): real worker processes, real files read back."""

from __future__ import annotations

import http.client
import io
import operator
import os
import threading
from datetime import timedelta

import docx
import openpyxl
import pytest
import requests
from conftest import PASSWORD, make_moderator, new_id
from sqlalchemy import func, select

from roadmap import heavy_work, timeutil
from roadmap.extensions import db
from roadmap.models import CachedExport
from roadmap.services import editing
from tests.services.test_alumni import csrf_token


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
    joined = browser.post(
        f"/join/{planned_group.training.join_code}", data={"display_name": "Вера", "group_id": planned_group.id}
    )
    assert joined.status_code == 302
    return browser


def download(browser, group, export: str):
    response = browser.get(f"/maps/{group.roadmap.id}/{export}")
    assert response.status_code == 200, response.status_code
    return response.data


def kept_files(roadmap_id: int) -> list[tuple[str, int]]:
    return db.session.execute(
        select(CachedExport.file_format, CachedExport.revision)
        .where(CachedExport.roadmap_id == roadmap_id)
        .order_by(CachedExport.id)
    ).all()


def test_exports_made_by_the_pool_read_back_with_the_maps_text(member_browser, planned_group):
    pdf = download(member_browser, planned_group, "export.pdf")
    word = docx.Document(io.BytesIO(download(member_browser, planned_group, "export.docx")))
    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, planned_group, "export.xlsx")))

    assert pdf.startswith(b"%PDF-")
    assert "Сквер у библиотеки" in "\n".join(paragraph.text for paragraph in word.paragraphs)
    assert any(
        "Опрос жителей о сквере" in str(cell)
        for row in workbook.worksheets[0].iter_rows(values_only=True)
        for cell in row
    )
    assert {"_pdf_job", "_docx_job", "_xlsx_job"} <= set(heavy_work.counts().by_function)


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

    assert any(
        "Субботник в сквере" in str(cell) for row in workbook.worksheets[0].iter_rows(values_only=True) for cell in row
    )
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


def test_workers_run_at_a_lower_cpu_priority_than_the_server(app):
    assert heavy_work.run(os.nice, 0) == os.nice(0) + heavy_work.WORKER_NICENESS


def test_the_map_at_a_past_revision_is_replayed_by_the_pool(member_browser, planned_group):
    page = member_browser.get(f"/maps/{planned_group.roadmap.id}/history/1")

    assert page.status_code == 200 and "Сквер у библиотеки" in page.get_data(as_text=True)
    assert heavy_work.counts().by_function.get("_map_at_job", 0) >= 1


@pytest.fixture
def live_server(unthrottled_live_server):
    """Without the per-socket event rate: the editor sends its next op as soon as the last is acked."""
    return unthrottled_live_server


def signed_in(live_server) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/sign-in", timeout=10)
    signing_in = browser.post(
        f"{live_server.url}/sign-in",
        timeout=10,
        data={"email": "irina@example.org", "password": PASSWORD, "csrf_token": csrf_token(form.text)},
    )
    assert signing_in.url.endswith("/moderate/"), signing_in.url
    return browser


@pytest.mark.live
def test_an_editor_gets_acks_while_a_pdf_renders(app, planned_group, moderator, marina, live_server, clients):
    browser = signed_in(live_server)
    # The server's first PDF also loads WeasyPrint, which waits on subprocesses (cooperatively under
    # gevent), so the loop would run in between even without the pool: the PDF watched is the second.
    first = browser.get(f"{live_server.url}/maps/{planned_group.roadmap.id}/export.pdf", timeout=120)
    assert first.content.startswith(b"%PDF-"), first.status_code
    for number in range(120):  # long enough that its PDF takes seconds to render
        edit(
            moderator,
            planned_group,
            "step.add",
            step_id=new_id(),
            fields={"title": f"Шаг {number}", "description": "Обойти дворы и собрать подписи жителей. " * 8},
        )
    editor = clients.connect(marina, planned_group.roadmap.id)
    download = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=120)
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)
    download.request("GET", f"/maps/{planned_group.roadmap.id}/export.pdf", headers={"Cookie": cookies})
    acks, answered, answer = [], threading.Event(), {}

    def read_the_pdf():
        response = download.getresponse()  # its headers come once the file is made
        answer["acks_before"] = len(acks)
        answered.set()
        answer["status"], answer["content"] = response.status, response.read()

    reading = threading.Thread(target=read_the_pdf)
    reading.start()
    # The request is sent before the first op. A server that renders on its event loop answers no op
    # from the moment it takes up the request until the file is sent: at most the op in flight then,
    # and one per wait on the network before the rendering (the rate limiter's storage), get through.
    for number in range(5000):
        if answered.is_set():
            break
        ack = editor.send_op("map.set", field="goal", value=f"Цель {number}")
        assert ack["ok"], ack
        acks.append(ack)
    reading.join(120)
    download.close()

    assert answer["status"] == 200 and answer["content"].startswith(b"%PDF-"), answer.get("status")
    assert answer["acks_before"] >= 20, answer["acks_before"]


def test_a_job_runs_on_the_callers_clock_as_it_is_when_the_job_is_sent(app):
    heavy_work.run(operator.add, 1, 1)  # the worker has built its app, with the clock as it was then
    app.config["CLOCK_OFFSET"] = timedelta(days=30)

    worker_now = heavy_work.run(timeutil.utcnow)

    assert abs(worker_now - timeutil.utcnow()) < timedelta(minutes=1)
