#!/usr/bin/python3
"""The chat room example in a real browser: headless Chromium (Debian's
chromium + chromium-driver, driven by Debian's python3-selenium) opens two
pages on one room, sends from one and sees the message in the other; a third
page joining later gets the history. Saves a screenshot for a person to look
at. Usage: chat_room_browser.py CHAT_ROOM_BINARY SCREENSHOT.png"""

import os
import re
import signal
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

binary, screenshot = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="durable-chat-browser-")
server = subprocess.Popen(
    [binary, "--http.port=0", "--durable.data-dir=" + work + "/data"],
    stdout=subprocess.PIPE, text=True)
line = server.stdout.readline()
match = re.search(r"listening on ([\d.]+):(\d+)", line)
if not match:
    server.kill()
    sys.exit("chat_room did not start: " + line)
base = "http://%s:%s" % (match.group(1), match.group(2))

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--window-size=900,700",
             "--user-data-dir=" + work + "/profile"]:
    options.add_argument(flag)
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                           options=options)
failed = None
try:
    def open_page(name):
        if browser.current_url != "data:,":
            browser.switch_to.new_window("tab")
        browser.get(base + "/chat/lobby?name=" + name)
        WebDriverWait(browser, 10).until(
            lambda b: b.find_element(By.ID, "status").text == "connected")
        return browser.current_window_handle

    def say(tab, text):
        browser.switch_to.window(tab)
        box = browser.find_element(By.ID, "text")
        box.send_keys(text)
        browser.find_element(By.ID, "send").click()

    def wait_for(tab, text, css="#log p"):
        browser.switch_to.window(tab)
        WebDriverWait(browser, 10).until(lambda b: any(
            p.text == text for p in b.find_elements(By.CSS_SELECTOR, css)))

    alice = open_page("alice")
    bob = open_page("bob")
    say(alice, "hello from alice")
    wait_for(bob, "alice: hello from alice")
    say(bob, "hi alice, bob here")
    wait_for(alice, "bob: hi alice, bob here")
    # Each message reached each page exactly once.
    for tab in (alice, bob):
        browser.switch_to.window(tab)
        lines = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#log p")]
        assert lines.count("alice: hello from alice") == 1, lines
        assert lines.count("bob: hi alice, bob here") == 1, lines
    carol = open_page("carol")
    wait_for(carol, "alice: hello from alice", "#log p.history")
    wait_for(carol, "bob: hi alice, bob here", "#log p.history")
    browser.switch_to.window(bob)
    browser.save_screenshot(screenshot)
except Exception as e:  # Report, then clean up.
    failed = e
finally:
    browser.quit()
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
if failed:
    sys.exit("chat room browser test failed: %r" % (failed,))
if code != 0:
    sys.exit("chat_room exited with %d" % code)
print("chat room browser test ok; screenshot in " + screenshot)
