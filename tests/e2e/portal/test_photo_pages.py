"""A resident's photos: sent with the report, stripped of where they were taken, shown on the progress page
only after a worker approved them on the case's page."""
from __future__ import annotations

import io

import requests
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.portal.conftest import axe_violations
from tests.e2e.portal.test_staff_pages import sign_in
from tests.support.processes import wait_until
from tests.unit.intake.test_photos import GPS, jpeg_with_gps


def fill_report(page, title: str) -> None:
    page.goto("/report")
    page.get_by_label("问题标题").fill(title)
    page.get_by_label("详细描述").fill("墙面渗水发霉")
    page.get_by_label("社区").fill("照片里")
    page.get_by_label("您的称呼(不公开)").fill("张三")


def test_a_photo_is_shown_publicly_only_once_a_worker_approved_it(page, portal, tmp_path):
    _, up = portal
    photo = tmp_path / "wall.jpg"
    photo.write_bytes(jpeg_with_gps())
    fill_report(page, "7号楼外墙渗水")
    page.get_by_label("现场照片(选填,最多 3 张)").set_input_files([str(photo)])
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#photos-sent")).to_have_text("已上传 1 张照片,审核后公开显示。")
    code = page.locator("#tracking-code").inner_text()
    page.get_by_role("button", name="查进度").click()
    expect(page.locator("#status")).to_be_visible()
    expect(page.locator("#photos")).to_have_count(0)  # not reviewed yet

    case_id = wait_until(lambda: requests.get(f"{up['intake']}/issues/{code}", timeout=5).json()["case"],
                         message="the report has its case")["case_id"]
    staff_page = page.context.new_page()
    sign_in(staff_page, "community_worker", "李娜", then=f"/staff/cases/{case_id}")
    expect(staff_page.locator("#photo-1-status")).to_have_text("待审核")
    assert staff_page.locator("#photos img").evaluate("i => i.naturalWidth") == 20  # upright: EXIF turned it
    assert axe_violations(staff_page) == []
    staff_page.get_by_role("button", name="通过,公开显示 1").click()
    expect(staff_page.locator("#photo-1-status")).to_have_text("已公开 · 李娜")

    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#photos img")).to_have_count(1)
    assert axe_violations(page) == []
    src = page.locator("#photos img").get_attribute("src")
    served = requests.get(portal[0] + src, timeout=5)
    assert served.headers["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(served.content)).getexif().get_ifd(GPS)


def test_too_many_photos_are_refused_beside_the_field_and_nothing_is_sent(page, portal, tmp_path):
    files = []
    for i in range(4):
        files.append(tmp_path / f"p{i}.jpg")
        files[-1].write_bytes(jpeg_with_gps())
    fill_report(page, "四张照片的反映")
    page.get_by_label("现场照片(选填,最多 3 张)").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#photos-error")).to_have_text("最多上传 3 张照片。")
    expect(page.get_by_label("问题标题")).to_have_value("四张照片的反映")  # nothing typed is lost
    assert axe_violations(page) == []
    issues = requests.get(f"{portal[1]['intake']}/issues", timeout=5).json()["issues"]
    assert "四张照片的反映" not in str(issues)
