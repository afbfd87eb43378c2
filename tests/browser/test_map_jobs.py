"""The map page follows a plan answered as a job: a progress bar with its phase and a
Cancel button while it runs, then the plan as if answered inline."""

from __future__ import annotations

from tests.browser.conftest import OpenPage, Service
from tests.browser.test_map_figures import ALEPPO, WINDOW, open_aleppo


def test_a_ranking_runs_as_a_job_with_a_progress_bar_then_shows_the_plan(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    asked: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: asked.append(r.headers) if r.url.endswith("/plans") else None,
    )
    page.select_option("#window", WINDOW)
    page.select_option("#method", "fast")
    page.check("#rank-openings")
    page.click("#make-plan")
    page.wait_for_selector("#plan-job progress", state="attached")  # the bar was shown
    page.locator("#status", has_text="Plan: ").wait_for(timeout=60_000)
    assert asked and asked[0].get("prefer") == "respond-async"
    assert any("/v1/jobs/job_" in url for url in watch.requests)  # it followed the job
    assert page.locator("#plan-job").is_hidden()  # gone once the plan is in
    assert page.locator("#plan-cancel").is_visible() is False
    inline = service.api(
        "POST",
        f"/v1/scenarios/{ALEPPO}/plans",
        {"window": WINDOW, "method": "fast", "rank_openings": True, "profile": "general"},
    ).json()
    summary = page.inner_text(".plan-summary")
    assert f"{inline['evacuated']:,} of {inline['total_population']:,}" in summary
    assert inline["concessions"]["rows"]
    assert watch.page_errors == []
