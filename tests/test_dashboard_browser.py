"""``hpo dashboard`` in headless Chromium: a grid, a bayes and a tpe study listed, a study's trials shown."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import make_tiny_dataset
from servers import free_port

from hpo import drivers, paths

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.browser
WAIT_S = 60  # bound on every wait for the server or the page


@pytest.fixture
def studies(tmp_path: Path) -> dict[str, int]:
    """Three cheap RF studies (grid, bayes, tpe) in the default store: name -> number of trials."""
    space = tmp_path / "rf-small.yaml"
    space.write_text(yaml.safe_dump({
        "model": "rf",
        "params": {
            "max_depth": {"type": "int", "low": 2, "high": 4, "values": [2, 4]},
            "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
            "min_samples_leaf": {"type": "int", "low": 1, "high": 20},
        },
        "fixed": {"n_estimators": 5, "min_samples_split": 10, "max_features": 1.0, "bootstrap": True},
    }))  # fmt: skip
    data = make_tiny_dataset(n=400)
    sizes = {"dash-grid": 4, "dash-bayes": 3, "dash-tpe": 5}
    for name, n in sizes.items():
        drivers.run("rf", name.split("-")[1], data, space=space, n_trials=n, jobs=1, study_name=name, grid_levels=1, progress=False)
    return sizes


@pytest.fixture
def dashboard(studies: dict[str, int]) -> Iterator[str]:
    """``hpo dashboard`` on the store, on a free port of 127.0.0.1; yields its address; always stopped."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "hpo", "dashboard", "--storage", paths.default_storage_url(), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                urllib.request.urlopen(f"{address}/api/studies", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        yield address
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """Headless Debian Chromium through its chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)  # fmt: skip
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_lists_the_studies_and_shows_trials(dashboard: str, browser, studies: dict[str, int]) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def body_text(driver) -> str:  # noqa: ANN001
        return driver.find_element(By.TAG_NAME, "body").text

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{dashboard}/dashboard")
    wait.until(lambda d: all(name in body_text(d) for name in studies))  # the single-page app rendered the list

    link = next(a for a in browser.find_elements(By.TAG_NAME, "a") if "dash-tpe" in a.text)
    link.click()
    wait.until(lambda d: "dash-tpe" in body_text(d) and "/studies/" in d.current_url)
    browser.get(f"{browser.current_url.rstrip('/')}/trials")
    n = studies["dash-tpe"]
    wait.until(lambda d: f"{n} Trials" in body_text(d))
    text = body_text(browser)
    assert all(f"Trial {k}" in text for k in range(n)) and "Complete" in text
