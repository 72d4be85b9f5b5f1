#!/usr/bin/python3
"""Drives the controller's dashboard in headless Chromium (Selenium + chromedriver, Debian packages).

usage: dashboard.py BASE_URL TOKEN SCREENSHOT_DIR PAUSED_PIDS

Signs in with TOKEN, checks the overview shows the running experiment, halts through the halt
button (the confirmation box must be ticked), measures how long until the paused processes
(PAUSED_PIDS, comma separated) run again, and visits the verdicts, the run page and the audit log.
Screenshots go to SCREENSHOT_DIR (and, with CHAOS_DOCS_IMAGES=DIR, the one docs/concepts.md shows to
DIR/dashboard.png). Prints one JSON object; exits 1 on a failed check.
"""
import json, os, shutil, sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base, token, shots, pids = sys.argv[1], sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4].split(",") if p]
os.makedirs(shots, exist_ok=True)
out = {"checks": [], "errors": [], "screenshots": []}

def check(name, ok, detail=""):
    out["checks"].append({"name": name, "ok": bool(ok), "detail": detail})

# CHAOS_DOCS_IMAGES=DIR (scripts/generate-docs.sh --dashboard): the screenshots the docs show are also
# copied there, under the names the docs use. A relative DIR is taken from the repository's root.
docs_images = os.environ.get("CHAOS_DOCS_IMAGES")
if docs_images and not os.path.isabs(docs_images):
    docs_images = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", docs_images)
docs_names = {"02-overview-running": "dashboard.png"}

def shot(name):
    path = os.path.join(shots, name + ".png")
    driver.save_screenshot(path)
    out["screenshots"].append(path)
    if docs_images and name in docs_names:
        os.makedirs(docs_images, exist_ok=True)
        shutil.copyfile(path, os.path.join(docs_images, docs_names[name]))

def stopped(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    except FileNotFoundError:
        return False

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(20)
try:
    driver.get(base + "/")
    check("unauthenticated visit lands on the login page", driver.current_url.endswith("/login"), driver.current_url)
    shot("01-login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.TAG_NAME, "h1")))
    body = driver.find_element(By.TAG_NAME, "body").text
    check("signed in", "signed in as" in body, body[:200])
    running = driver.find_elements(By.CSS_SELECTOR, "table#running tbody tr")
    check("the running experiment is listed with its probes", len(running) >= 1 and "site:" in (running[0].text if running else ""),
          running[0].text if running else body[:500])
    shot("02-overview-running")

    driver.find_element(By.ID, "halt").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "confirm")))
    check("the halt button asks for confirmation", driver.current_url.endswith("/halt"), driver.current_url)
    driver.find_element(By.ID, "reason").send_keys("dashboard test")
    driver.find_element(By.ID, "submit").click()  # not ticked: the browser refuses to submit
    check("without the confirmation box nothing is submitted", driver.current_url.endswith("/halt") and not driver.find_elements(By.ID, "done"))
    shot("03-confirm")
    driver.find_element(By.ID, "confirm").click()
    clicked = time.time()
    driver.find_element(By.ID, "submit").click()
    # The click returns once the form is submitted; the paused replica must run again within a second,
    # whether or not the browser has drawn the answer yet.
    resumed = None
    while time.time() - clicked < 10:
        if not any(stopped(p) for p in pids):
            resumed = time.time()
            break
        time.sleep(0.005)
    done = WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "done")))
    answered = time.time()
    out["haltAnsweredMs"] = round((answered - clicked) * 1000)
    out["haltRevertedMs"] = round((resumed - clicked) * 1000) if resumed else None
    check("the halt page reports it", done.text == "Chaos halted", done.text)
    shot("04-halted")

    driver.get(base + "/")
    check("the overview shows the halt", bool(driver.find_elements(By.ID, "halt-banner")) and "sre-alice" in driver.find_element(By.ID, "halt-banner").text)
    shot("05-overview-halted")

    rows = []
    deadline = time.time() + 30
    while time.time() < deadline:
        driver.get(base + "/runs")
        rows = driver.find_elements(By.CSS_SELECTOR, "table#verdicts tbody tr")
        if rows and "aborted" in rows[0].text:
            break
        time.sleep(0.5)
    check("the stopped run is stored as aborted and listed", bool(rows) and "aborted" in rows[0].text, rows[0].text if rows else "")
    shot("06-verdicts")
    if rows:
        rows[0].find_element(By.TAG_NAME, "a").click()
        check("the run page draws its timeline", bool(driver.find_elements(By.TAG_NAME, "svg")) and "halted" in driver.page_source)
        shot("07-run")

    driver.get(base + "/audit")
    audit = driver.find_element(By.ID, "audit").text
    check("the audit log records who halted", "sre-alice" in audit and "halt" in audit and "dashboard test" in audit, audit)
    shot("08-audit")

    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            out["errors"].append(entry.get("message"))
except Exception as e:
    out["errors"].append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} at {driver.current_url}")
    try:
        shot("99-failure")
        out["page"] = driver.find_element(By.TAG_NAME, "body").text[:2000]
    except Exception:
        pass
finally:
    driver.quit()

out["ok"] = all(c["ok"] for c in out["checks"]) and not out["errors"]
print(json.dumps(out))
sys.exit(0 if out["ok"] else 1)
