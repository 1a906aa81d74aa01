#!/usr/bin/python3
"""The node's web interface in a real browser (headless Chromium through WebDriver).

Three hearsay-node processes on 127.0.0.1 make an overlay; the browser logs in to the first
node's interface with the link the node records, searches, sees the hit arrive, fetches it,
watches the download reach 100 % and the file's bytes match the holder's, cancels a slow
download, shares a file by upload and removes it, and opens the peers and status pages. A file named like an HTML tag is shown as
text. Any error in the browser's console fails the test. Then the same interface is asked,
without the browser, what an attacker would ask: no token, a wrong token, another Origin, a
foreign Host name, a change without the anti-forgery token.

Environment: HEARSAY_BIN (the binaries), WORK (a scratch folder), SCREENSHOTS (a folder: also
save a 1280x800 screenshot of each page there). Exits 77 (skipped) when no browser or driver
can be found.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

SKIP = 77

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("webui test: python3-selenium is not installed; skipped (apt-get install python3-selenium)")
    sys.exit(SKIP)

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
if not BROWSER or not DRIVER:
    print("webui test: no chromium and chromedriver found; skipped (apt-get install chromium chromium-driver)")
    sys.exit(SKIP)

BIN = os.environ.get("HEARSAY_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
WORK = os.environ.get("WORK") or tempfile.mkdtemp(prefix="hearsay-webui-")
# A folder this test made before is cleared (its nodes' state would be read as the new ones');
# any other folder is left alone.
if os.path.exists(os.path.join(WORK, ".hearsay-webui-test")):
    shutil.rmtree(WORK)
os.makedirs(WORK, exist_ok=True)
open(os.path.join(WORK, ".hearsay-webui-test"), "w").close()
SHOTS = os.environ.get("SCREENSHOTS")
XSS_NAME = "<img src=x onerror=alert(1)>.txt"


def fail(message):
    print("webui test: FAILED: " + message)
    sys.exit(1)


def wait(what, predicate, seconds=20.0, explain=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # a page still loading, a node still starting
            pass
        time.sleep(0.1)
    fail("timed out waiting for " + what + ("; " + explain() if explain else ""))


class Node:
    def __init__(self, index, seed_port):
        self.dir = os.path.join(WORK, "node%d" % index)
        self.shared = os.path.join(self.dir, "shared")
        self.downloads = os.path.join(self.dir, "downloads")
        self.state = os.path.join(self.dir, "state")
        for d in (self.shared, self.downloads):
            os.makedirs(d, exist_ok=True)
        self.index = index
        self.seed_port = seed_port
        self.process = None

    def start(self, extra=()):
        args = [os.path.join(BIN, "hearsay-node"), "--listen", "127.0.0.1:%d" % (self.seed_port + self.index),
                "--seed", "127.0.0.1:%d" % self.seed_port, "--shared", self.shared, "--downloads", self.downloads,
                "--set", "state_dir=" + self.state, "--set", "peers_file=", "--set", "metrics=",
                "--set", "web.listen=127.0.0.1:0", "--set", "overlay.shuffle_period_ms=1000",
                "--network", "webui-test"] + list(extra)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.process = subprocess.Popen(args, stderr=self.log, stdout=self.log)

    def url(self):
        with open(os.path.join(self.state, "web.url")) as f:
            return f.read().strip()

    def login_link(self):
        """The link `hearsay webui-url` prints for this node."""
        out = subprocess.run([os.path.join(BIN, "hearsay"), "--control", os.path.join(self.state, "control.sock"),
                              "webui-url"], capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            fail("hearsay webui-url failed: " + out.stderr)
        return out.stdout.strip()

    def token(self):
        with open(os.path.join(self.state, "web.token")) as f:
            return f.read().strip()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def request(node, method, path, headers=None, body=None, host=None):
    """One HTTP request to a node's interface: (status, headers, body text)."""
    parts = urllib.parse.urlparse(node.url())
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    all_headers = {"Host": host or parts.netloc}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    res = conn.getresponse()
    data = res.read().decode("utf-8", "replace")
    conn.close()
    return res.status, res.getheaders(), data


def login_cookie(node):
    status, headers, _ = request(node, "GET", "/login?token=" + node.token())
    if status != 303:
        fail("login with the right token answered %d" % status)
    cookie = dict(headers).get("Set-Cookie", "")
    if "HttpOnly" not in cookie or "SameSite=Strict" not in cookie:
        fail("the session cookie is not HttpOnly and SameSite=Strict: " + cookie)
    return cookie.split(";")[0]


def security_checks(node):
    origin = node.url().rstrip("/")
    status, _, _ = request(node, "GET", "/api/status")
    if status != 401:
        fail("a request without a session answered %d, not 401" % status)
    status, _, _ = request(node, "GET", "/login?token=" + "0" * 64)
    if status != 403:
        fail("a wrong token answered %d, not 403" % status)
    cookie = login_cookie(node)
    status, _, body = request(node, "GET", "/api/status", {"Cookie": cookie})
    if status != 200 or json.loads(body)[0]["event"] != "status":
        fail("a logged-in status request answered %d: %s" % (status, body[:200]))
    # The anti-forgery token is in the page a session gets.
    status, _, page = request(node, "GET", "/", {"Cookie": cookie})
    marker = 'name="csrf" content="'
    csrf = page[page.index(marker) + len(marker):].split('"')[0]
    if len(csrf) != 64:
        fail("no anti-forgery token in the page")
    change = {"Cookie": cookie, "Origin": origin, "X-Hearsay-Token": csrf, "Content-Type": "application/json"}
    status, _, body = request(node, "POST", "/api/rescan", change, "{}")
    if status != 200:
        fail("a proper change answered %d: %s" % (status, body))
    for name, headers in (("no anti-forgery token", dict(change, **{"X-Hearsay-Token": ""})),
                          ("a wrong anti-forgery token", dict(change, **{"X-Hearsay-Token": "f" * 64})),
                          ("another Origin", dict(change, Origin="http://evil.example")),
                          ("no Origin", {k: v for k, v in change.items() if k != "Origin"})):
        status, _, _ = request(node, "POST", "/api/rescan", headers, "{}")
        if status != 403:
            fail("a change with %s answered %d, not 403" % (name, status))
    status, _, _ = request(node, "GET", "/api/status", {"Cookie": cookie}, host="evil.example:%d" % urllib.parse.urlparse(origin).port)
    if status != 421:
        fail("a foreign Host name answered %d, not 421" % status)
    status, _, _ = request(node, "GET", "/api/status", {"Cookie": cookie, "Origin": "http://evil.example"})
    if status != 403:
        fail("a read from another Origin answered %d, not 403" % status)
    status, headers, _ = request(node, "GET", "/", {"Cookie": cookie})
    csp = dict(headers).get("Content-Security-Policy", "")
    if "script-src 'self'" not in csp or "frame-ancestors 'none'" not in csp:
        fail("the page has no strict Content-Security-Policy: " + csp)
    # Live streams are bounded per session: four at once (web_options::streams_per_session),
    # the fifth refused; a place comes back once its client has gone.
    parts = urllib.parse.urlparse(node.url())

    def fill_places(path, check, what):
        # Four streams of `path` take the session's places (check(res) on each), a fifth
        # stream is refused, then the four clients go. A place a client has just left comes
        # back only once the node has found it gone (a second or two), so a refused stream is
        # asked again for up to 10 s.
        streams = []
        for _ in range(4):
            deadline = time.monotonic() + 10
            while True:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", path, headers={"Host": parts.netloc, "Cookie": cookie})
                res = conn.getresponse()
                if res.status != 503 or time.monotonic() > deadline:
                    break
                conn.close()
                time.sleep(0.1)
            check(res)
            streams.append(conn)
        status, _, _ = request(node, "GET", "/api/events", {"Cookie": cookie})
        if status != 503:
            fail("a fifth live stream beside four %s answered %d, not 503" % (what, status))
        for conn in streams:
            conn.close()

    def status_stream(res):
        if res.status != 200 or not res.getheader("Content-Type", "").startswith("text/event-stream"):
            fail("a live stream answered %d %s" % (res.status, res.getheader("Content-Type")))

    def stream_again():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.request("GET", "/api/events", headers={"Host": parts.netloc, "Cookie": cookie})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    fill_places("/api/events", status_stream, "status streams")
    wait("a live stream's place to come back", stream_again, 10)

    # A search stream whose page has gone gives its place back within seconds, not when the
    # node ends the search (here after 10 s at the soonest: query_timeout_ms): while no hit
    # comes, the stream writes a comment line every second, and the write shows the page gone.
    def idle_search(res):
        if res.status != 200:
            fail("a search stream answered %d" % res.status)
        line = res.readline()
        if line.strip() != b":":
            fail("a search stream with no hits sent %r, not a comment line, in its first seconds" % line)
    fill_places("/api/search?words=nothingsharedanywhere&wait_ms=60000", idle_search, "searches")
    closed = time.monotonic()
    wait("a search stream's place to come back", stream_again, 5)
    print("webui test: the place of a search stream whose page has gone came back in %.1f s" % (time.monotonic() - closed))
    print("webui test: no token 401, wrong token 403, missing/wrong anti-forgery token 403, foreign Origin 403, "
          "foreign Host 421, CSP strict, a fifth live stream of a session 503")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def shot(driver, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        # The page itself at 1280x800, whatever the window around it.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def tab(driver, page):
    driver.find_element(By.CSS_SELECTOR, 'nav .tab[data-page="%s"]' % page).click()
    wait(page + " page", lambda: driver.find_element(By.ID, "page-" + page).is_displayed())


def search(driver, words, name):
    """Searches and returns the row of the hit named `name`."""
    tab(driver, "search")
    box = driver.find_element(By.ID, "search-words")
    box.clear()
    box.send_keys(words)
    driver.find_element(By.ID, "search-button").click()

    def row():
        for tr in driver.find_elements(By.CSS_SELECTOR, "#hits tbody tr"):
            if tr.find_element(By.CSS_SELECTOR, "td.name").text == name:
                return tr
        return None
    found = wait("a hit for " + name, row, 20.0, lambda: "the hits: %r, the state: %r" % (
        [tr.text for tr in driver.find_elements(By.CSS_SELECTOR, "#hits tbody tr")],
        driver.find_element(By.ID, "search-state").text + " / " + driver.find_element(By.ID, "error").text))
    return found


def download_row(driver, name):
    for tr in driver.find_elements(By.CSS_SELECTOR, "#downloads tbody tr"):
        if tr.find_element(By.CSS_SELECTOR, "td.name").text == name:
            return tr
    return None


def main():
    seed_port = int(os.environ.get("BASE_PORT", "17900"))
    nodes = [Node(i, seed_port) for i in range(3)]
    # Node 2 holds a file it sends, and node 1 one it sends slowly (limits.upload_bytes_per_s)
    # so that its download can be cancelled while it runs; node 2 also holds a file named like a tag.
    alpha = os.urandom(3 * 1024 * 1024 + 17)
    with open(os.path.join(nodes[2].shared, "report-alpha.bin"), "wb") as f:
        f.write(alpha)
    with open(os.path.join(nodes[1].shared, "archive-beta.bin"), "wb") as f:
        f.write(os.urandom(4 * 1024 * 1024))
    with open(os.path.join(nodes[2].shared, XSS_NAME), "w") as f:
        f.write("not a picture\n")
    driver = None
    try:
        nodes[0].start()
        wait("node 0's web interface", lambda: os.path.exists(os.path.join(nodes[0].state, "web.url")))
        nodes[1].start(["--set", "limits.upload_bytes_per_s=50000"])
        nodes[2].start()
        for n in nodes[1:]:
            wait("node %d's web interface" % n.index, lambda n=n: os.path.exists(os.path.join(n.state, "web.url")))
        cookie = login_cookie(nodes[0])

        def neighbours():
            status, _, body = request(nodes[0], "GET", "/api/status", {"Cookie": cookie})
            return status == 200 and int(json.loads(body)[0]["active"]) >= 2
        wait("node 0 to have both others as neighbours", neighbours, 30)

        security_checks(nodes[0])

        driver = browser()
        link = nodes[0].login_link()
        if link != nodes[0].url() + "login?token=" + nodes[0].token():
            fail("hearsay webui-url printed " + link)
        driver.get(link)
        wait("the page to load", lambda: driver.find_element(By.ID, "search-words"))
        wait("the live status line", lambda: "neighbours" in driver.find_element(By.ID, "node-line").text)

        # Search, fetch, and watch the download to the end.
        row = search(driver, "alpha", "report-alpha.bin")
        shot(driver, "search")
        row.find_element(By.CSS_SELECTOR, "button.fetch").click()
        tab(driver, "downloads")
        done = wait("the download to finish",
                    lambda: (lambda r: r if r is not None and r.get_attribute("data-state") == "done" else None)(
                        download_row(driver, "report-alpha.bin")), 60)
        if "100 %" not in done.text:
            fail("a finished download does not show 100 %: " + done.text)
        with open(os.path.join(nodes[0].downloads, "report-alpha.bin"), "rb") as f:
            got = f.read()
        if hashlib.sha256(got).digest() != hashlib.sha256(alpha).digest():
            fail("the downloaded bytes differ from the holder's")
        print("webui test: searched, fetched and verified %d bytes through the browser" % len(got))

        # A slow download, cancelled while it runs.
        row = search(driver, "beta", "archive-beta.bin")
        row.find_element(By.CSS_SELECTOR, "button.fetch").click()
        tab(driver, "downloads")
        running = wait("the slow download to run",
                       lambda: (lambda r: r if r is not None and r.get_attribute("data-state") == "running" else None)(
                           download_row(driver, "archive-beta.bin")), 30)
        shot(driver, "downloads")
        running.find_element(By.CSS_SELECTOR, "button.cancel").click()
        wait("the download to be cancelled",
             lambda: (lambda r: r is not None and r.get_attribute("data-state") == "cancelled")(
                 download_row(driver, "archive-beta.bin")), 20)
        print("webui test: a running download was cancelled")

        # A file named like an HTML tag is shown as its name, and nothing runs.
        row = search(driver, "onerror", XSS_NAME)
        if driver.find_elements(By.CSS_SELECTOR, "#hits img"):
            fail("a file name became an element of the page")
        try:
            driver.switch_to.alert
            fail("a file name ran a script")
        except NoAlertPresentException:
            pass
        print("webui test: the file named %s is shown as text" % XSS_NAME)

        # Peers and status.
        tab(driver, "peers")
        wait("the active view", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#peers-active tbody tr")) >= 2)
        shot(driver, "peers")
        # Share by upload from the browser, then remove it.
        tab(driver, "shared")
        upload = os.path.join(WORK, "upload me.txt")
        with open(upload, "wb") as f:
            f.write(b"shared from a browser\n" * 1000)
        driver.find_element(By.ID, "share-file").send_keys(upload)
        driver.find_element(By.CSS_SELECTOR, "#share-form button").click()

        def shared_row():
            for tr in driver.find_elements(By.CSS_SELECTOR, "#shared tbody tr"):
                if tr.find_element(By.CSS_SELECTOR, "td.name").text == "upload me.txt":
                    return tr
            return None
        row = wait("the uploaded file in the shared list", shared_row)
        copy = os.path.join(nodes[0].shared, "upload me.txt")
        with open(copy, "rb") as a, open(upload, "rb") as b:
            if a.read() != b.read():
                fail("the shared copy differs from the uploaded file")
        shot(driver, "shared")
        row.find_element(By.CSS_SELECTOR, "button.remove").click()
        wait("the file to leave the shared list", lambda: shared_row() is None and not os.path.exists(copy))
        print("webui test: a file shared by upload (copied byte for byte) and removed")
        tab(driver, "status")
        wait("the status table", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#status tbody tr")) > 10)
        time.sleep(2.5)  # a few samples for the charts
        shot(driver, "status")

        errors = console_errors(driver)
        if errors:
            fail("errors in the browser's console: %s" % errors)
        print("webui test: passed (no console errors)")
    finally:
        if driver is not None:
            driver.quit()
        for n in nodes:
            n.stop()


if __name__ == "__main__":
    main()
