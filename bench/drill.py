#!/usr/bin/env python3
"""Reliability drills against a running triage server (not tests: they print figures).

  drill.py stuck  BASE_URL EMAIL PASSWORD   saves under load while a table is locked
  drill.py signin BASE_URL EMAIL PASSWORD   32 simultaneous sign-ins, memory measured

Only the standard library; only 127.0.0.1 is ever addressed. See bench/drills.sh.
"""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


class Client:
    """A browser-like client: cookies, the page's CSRF token, no redirects followed."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(self, method, path, fields=None, timeout=60):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        started = time.monotonic()
        try:
            with self.opener.open(req, timeout=timeout) as r:
                body, status, headers = r.read().decode("utf-8", "replace"), r.status, r.headers
        except urllib.error.HTTPError as e:
            body, status, headers = e.read().decode("utf-8", "replace"), e.code, e.headers
        return status, headers, body, time.monotonic() - started

    def token(self, body):
        m = re.search(r'name="_csrf" value="([^"]+)"', body)
        return m.group(1) if m else ""

    def sign_in(self, email, password):
        _, _, body, _ = self.request("GET", "/login")
        fields = {"_csrf": self.token(body), "email": email, "password": password}
        return self.request("POST", "/login", fields)


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def signin(base, email, password, pid, bursts=3, size=32):
    print(f"server pid {pid}: VmRSS {rss_kib(pid, 'VmRSS') / 1024:.1f} MiB before")
    for burst in range(bursts):
        clients = [Client(base) for _ in range(size)]
        pages = [c.request("GET", "/login") for c in clients]
        results = [None] * size
        barrier = threading.Barrier(size)

        def go(i):
            fields = {"_csrf": clients[i].token(pages[i][2]), "email": email, "password": password}
            barrier.wait()
            results[i] = clients[i].request("POST", "/login", fields)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(size)]
        peak = 0
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kib(pid, "VmRSS"))
            time.sleep(0.01)
        statuses = sorted({r[0] for r in results})
        slowest = max(r[3] for r in results)
        print(
            f"burst {burst + 1}: {size} sign-ins, statuses {statuses}, slowest {slowest:.2f} s, "
            f"VmRSS peak seen {peak / 1024:.1f} MiB, VmRSS after {rss_kib(pid, 'VmRSS') / 1024:.1f} MiB, "
            f"VmHWM {rss_kib(pid, 'VmHWM') / 1024:.1f} MiB"
        )
        time.sleep(1)


def stuck(base, email, password, lock_cmd, workers=8, before=10, lock_secs=40, after=20):
    # Each worker edits its own draft: create a project and start an assessment.
    clients = []
    for w in range(workers):
        c = Client(base)
        status, _, _, _ = c.sign_in(email, password)
        assert status == 303, status
        _, _, body, _ = c.request("GET", "/projects/new")
        _, h, _, _ = c.request(
            "POST", "/projects",
            {"_csrf": c.token(body), "title": f"Drill {w}", "lead_researcher": "Dr. Drill"},
        )
        project = h["Location"].split("?")[0]
        _, _, body, _ = c.request("GET", project)
        _, h, _, _ = c.request("POST", project + "/assessments", {"_csrf": c.token(body)})
        c.case = h["Location"].split("/steps/")[0]
        clients.append(c)
    log = []
    stop = time.monotonic() + before + lock_secs + after
    t0 = time.monotonic()

    def work(c):
        answer = "yes"
        while time.monotonic() < stop:
            status, headers, body, took = c.request("GET", c.case + "/steps/1")
            version = re.search(r'name="_version" value="(\d+)"', body)
            if status == 200 and version:
                answer = "no" if answer == "yes" else "yes"
                status, headers, body, took = c.request(
                    "POST", c.case + "/steps/1",
                    {"_csrf": c.token(body), "_version": version.group(1), "_action": "save",
                     "area": "green_development", "sub_area": "green_grid"},
                )
            log.append((time.monotonic() - t0, status, took,
                        "retry-after" in {k.lower() for k in headers.keys()},
                        "<h1>" in body))

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    time.sleep(before)
    locker = subprocess.Popen(lock_cmd, shell=True)
    locked_at = time.monotonic() - t0
    for t in threads:
        t.join()
    locker.wait()
    print(f"{workers} workers saving a step; table locked from {locked_at:.1f} s for {lock_secs} s")
    window = 5
    for start in range(0, int(before + lock_secs + after), window):
        rows = [r for r in log if start <= r[0] < start + window]
        if not rows:
            continue
        by_status = {}
        for r in rows:
            by_status[r[1]] = by_status.get(r[1], 0) + 1
        slowest = max(r[2] for r in rows)
        pages = all(r[4] for r in rows if r[1] == 503)
        retry = all(r[3] for r in rows if r[1] == 503)
        print(f"{start:3d}-{start + window:3d} s: {json.dumps(by_status, sort_keys=True)} "
              f"slowest {slowest:.2f} s; 503s rendered pages: {pages}, with Retry-After: {retry}")
    blank = [r for r in log if r[1] >= 500 and not r[4]]
    print(f"requests {len(log)}, server errors without a page: {len(blank)}, "
          f"slowest overall {max(r[2] for r in log):.2f} s")


if __name__ == "__main__":
    what, base, email, password = sys.argv[1:5]
    if what == "signin":
        signin(base, email, password, int(os.environ["TRIAGE_PID"]))
    else:
        stuck(base, email, password, os.environ["LOCK_COMMAND"])
