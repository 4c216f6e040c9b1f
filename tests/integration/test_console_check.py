#!/usr/bin/env python3
"""The build-time check of the console's files (scripts/console_embed.py): web/ passes,
and each kind of file the CSP would break (or that writes HTML from strings) fails the
build with its file and line.

Usage: test_console_check.py PATH/TO/console_embed.py PATH/TO/web    (speaks TAP)
"""
import os
import subprocess
import sys
import tempfile

EMBED, WEB = sys.argv[1], sys.argv[2]
BAD = [
    ("a.html", "<p>x</p>\n<script>alert(1)</script>\n", "inline <script>"),
    ("b.html", "<script type=module>\nimport './x.js'</script>", "inline <script>"),
    ("c.html", "<style>p{color:red}</style>", "inline <style>"),
    ("d.html", '<p style="color:red">x</p>', "style= attribute"),
    ("e.html", '<button onclick="go()">x</button>', "event handler"),
    ("f.html", '<a href="javascript:go()">x</a>', "javascript: URL"),
    ("g.js", "el.innerHTML = name;\n", "innerHTML"),
    ("h.js", "el.outerHTML = x;", "outerHTML"),
    ("i.js", "el.insertAdjacentHTML('beforeend', x);", "insertAdjacentHTML"),
    ("j.js", "document.write(x);", "document.write"),
    ("k.js", "eval(x);", "eval()"),
    ("l.js", "const f = new Function('a', x);", "new Function"),
    ("m.js", "setTimeout('go()', 10);", "a timer with a string"),
    ("n.js", "el.setAttribute('onclick', x);", "setAttribute"),
    ("o.js", "el.setAttribute(\"style\", x);", "setAttribute"),
]


def run(*files, out=None):
    args = [sys.executable, EMBED] + (["--output", out] if out else ["--check"]) + list(files)
    return subprocess.run(args, capture_output=True, text=True)


def main():
    n = 0
    print(f"1..{len(BAD) + 3}")
    web = [os.path.join(WEB, f) for f in sorted(os.listdir(WEB)) if f != "meson.build"]
    r = run(*web)
    n += 1
    print(("ok" if r.returncode == 0 else "not ok") + f" {n} - web/ passes the check")
    if r.returncode:
        print("# " + r.stderr.replace("\n", "\n# "))
    failed = r.returncode != 0
    with tempfile.TemporaryDirectory() as d:
        for name, text, what in BAD:
            p = os.path.join(d, name)
            with open(p, "w") as f:
                f.write(text)
            r = run(p)
            n += 1
            good = r.returncode == 1 and what in r.stderr and name in r.stderr
            failed |= not good
            print(("ok" if good else "not ok") + f" {n} - {name}: {what} fails the build")
            if not good:
                print("# " + r.stderr.replace("\n", "\n# "))
        out = os.path.join(d, "assets.c")
        r = run(os.path.join(d, "g.js"), os.path.join(WEB, "index.html"), out=out)
        n += 1
        good = r.returncode == 1 and not os.path.exists(out)
        failed |= not good
        print(("ok" if good else "not ok") + f" {n} - a failed check writes no assets")
        r = run(os.path.join(WEB, "index.html"), os.path.join(WEB, "index.html"), out=out)
        n += 1
        good = r.returncode == 1 and "two console files" in r.stderr
        failed |= not good
        print(("ok" if good else "not ok") + f" {n} - two files of one name are refused")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
