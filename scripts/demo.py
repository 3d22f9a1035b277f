#!/usr/bin/env python3
"""make demo: sample upload events through the real upload handler.

The sample images are "uploaded" into a local-folder store (each bucket a
folder under demo-out/store), then every sample event in testdata/events is
run through `imgpipe invoke` exactly as Lambda would run it. At the end: a
table of what was written and an HTML contact sheet, demo-out/index.html,
with each original beside its variants, their sizes and timings.
"""
import html
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
# the tests run the demo on their own build and into a scratch folder
BIN = os.environ.get("IMGPIPE_BIN") or os.path.join(ROOT, BUILD, "imgpipe")
SAMPLES = os.path.join(os.environ.get("IMGPIPE_TESTDATA") or os.path.join(ROOT, BUILD, "testdata"),
                       "samples")
EVENTS = os.path.join(ROOT, "testdata", "events")
OUT = os.environ.get("DEMO_OUT") or os.path.join(ROOT, "demo-out")
STORE = os.path.join(OUT, "store")
SOURCE, DEST = "imgpipe-uploads", "imgpipe-variants"

# which sample file each uploaded key holds
UPLOADS = {
    "photos/landscape.jpg": "landscape.jpg",
    "photos/portrait.jpg": "portrait.jpg",
    "photos/logo.png": "logo.png",
    "photos/my cat (copy).jpg": "landscape.jpg",
    "photos/texture.webp": "nested/deep/texture.webp",
}
# the events the demo delivers, in order, and what each shows
DEMO_EVENTS = [
    ("s3-put.json", "an S3 upload notification"),
    ("s3-put-encoded.json", "a URL-encoded key: my+cat+%28copy%29.jpg"),
    ("s3-put-multi.json", "several uploads in one notification"),
    ("sqs-s3.json", "S3 notifications through SQS, already done"),
    ("eventbridge-created.json", "an EventBridge Object Created event"),
    ("batch-2.0.json", "an S3 Batch Operations task"),
    ("s3-put.json", "the same upload delivered again (at least once)"),
    ("s3-test-event.json", "the test event S3 sends when a trigger is set up"),
    ("not-json.txt", "not an event at all"),
]


def as_s3_sends_it(name):
    """The sample event with each object's real ETag and size, as S3 would
    send them for these uploads (the samples carry placeholders)."""
    import hashlib
    import urllib.parse
    with open(os.path.join(EVENTS, name)) as f:
        text = f.read()
    try:
        event = json.loads(text)
    except ValueError:
        return os.path.join(EVENTS, name)

    def fix(obj):
        if isinstance(obj, dict):
            key = obj.get("key")
            for tag in ("eTag", "etag"):
                if isinstance(key, str) and tag in obj:
                    # S3 notifications encode keys; EventBridge does not
                    plain = urllib.parse.unquote_plus(key) if tag == "eTag" else key
                    path = os.path.join(STORE, SOURCE, plain)
                    if os.path.exists(path):
                        with open(path, "rb") as f:
                            obj[tag] = hashlib.md5(f.read()).hexdigest()
                        obj["size"] = os.path.getsize(path)
            for name in ("body", "Message"):
                # SQS and SNS carry the S3 notification as a JSON string
                if isinstance(obj.get(name), str) and obj[name].startswith("{"):
                    obj[name] = json.dumps(fix(json.loads(obj[name])))
            for v in obj.values():
                fix(v)
        elif isinstance(obj, list):
            for v in obj:
                fix(v)
        return obj
    out = os.path.join(OUT, "events", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(fix(event), f, indent=2)
    return out


def run_event(name):
    env = dict(os.environ,
               IMGPIPE_STORE="dir:" + STORE,
               IMGPIPE_DEST_BUCKET=DEST,
               IMGPIPE_VARIANTS=os.environ.get(
                   "IMGPIPE_VARIANTS",
                   "thumb=320x320,fit=cover,crop=attention;medium=800x800;"
                   "large=1600x1600,format=webp,q=75"))
    p = subprocess.run([BIN, "invoke", as_s3_sends_it(name)],
                       capture_output=True, text=True, env=env)
    logs = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
    others = [l for l in p.stderr.splitlines() if not l.startswith("{")]
    return p.returncode, p.stdout.strip(), logs, others


def main():
    if not os.path.exists(BIN):
        sys.exit("demo: %s is missing; run make first" % BIN)
    shutil.rmtree(OUT, ignore_errors=True)
    for key, sample in UPLOADS.items():
        dst = os.path.join(STORE, SOURCE, key)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(SAMPLES, sample), dst)
    os.makedirs(os.path.join(STORE, DEST), exist_ok=True)

    timings = {}
    for name, what in DEMO_EVENTS:
        code, reply, logs, others = run_event(name)
        print("== %s: %s (exit %d)" % (name, what, code))
        for line in others:
            print("   " + line)
        for log in logs:
            if "key" not in log:
                print("   log: %s" % log.get("msg"))
                continue
            print("   %-28s %-16s %6.0f ms  %s" % (log["key"], log["status"],
                                                 log.get("TotalMs", 0), log["message"]))
            if not log.get("skipped") and log["status"] == "OK":
                timings[log["key"]] = log
        if not logs or code:
            print("   reply: %s" % reply[:200])
        if code not in (0, 1):
            sys.exit("demo: imgpipe invoke failed with exit %d" % code)

    rows = []
    for dirpath, _, files in os.walk(os.path.join(STORE, DEST)):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            rows.append((os.path.relpath(path, os.path.join(STORE, DEST)),
                         os.path.getsize(path)))
    rows.sort()
    print("\nwritten to bucket %s (%s):" % (DEST, os.path.join(STORE, DEST)))
    for key, size in rows:
        print("   %-40s %9d bytes" % (key, size))

    write_sheet(rows, timings)
    print("\ncontact sheet: %s" % os.path.join(OUT, "index.html"))


def variant_meta(path):
    """The metadata imgpipe stamped on a variant (the dir store keeps it in
    the user.imgpipe extended attribute, or a sidecar file)."""
    try:
        attrs = json.loads(os.getxattr(path, "user.imgpipe"))
    except OSError:
        rel = os.path.relpath(path, STORE)
        with open(os.path.join(STORE, ".imgpipe-meta", rel)) as f:
            attrs = json.load(f)
    return attrs.get("meta", {})


def write_sheet(rows, timings):
    """Each upload, then every variant at its real size (scaled down only
    when wider than the page), with its width x height and bytes."""
    parts = ["<!doctype html><meta charset=utf-8>"
             "<meta name=viewport content='width=device-width'><title>imgpipe demo</title>",
             "<style>body{font:14px system-ui;margin:2em;max-width:1700px}"
             "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top;max-width:100%}"
             "img{max-width:100%;height:auto;border:1px solid #ccc;display:block}"
             "figcaption{color:#555}.original img{max-width:480px}</style>",
             "<h1>imgpipe demo</h1><p>Each upload, then the variants the handler wrote, "
             "drawn at their real size (scaled down only when wider than the page).</p>"]
    for key in UPLOADS:
        variants = [(k, s) for k, s in rows
                    if k.split("/", 1)[1].rsplit(".", 1)[0] == key.rsplit(".", 1)[0]]
        if not variants:
            continue
        log = timings.get(key, {})
        src = os.path.join("store", SOURCE, key)
        parts.append("<h2>%s</h2>" % html.escape(key))
        if log:
            parts.append("<p>get %.0f ms, decode %.0f ms, resize %.0f ms, encode %.0f ms, "
                         "put %.0f ms; %d bytes in, %d bytes out</p>" % (
                             log["GetMs"], log["DecodeMs"], log["ResizeMs"],
                             log["EncodeMs"], log["PutMs"], log["BytesIn"], log["BytesOut"]))
        size = ("%d &times; %d, " % (log["source_width"], log["source_height"])
                if "source_width" in log else "")
        parts.append("<figure class=original><img src='%s'><figcaption>original, %s%d bytes"
                     "</figcaption></figure><br>" % (
                         html.escape(src), size, os.path.getsize(os.path.join(OUT, src))))
        for k, nbytes in variants:
            path = os.path.join(STORE, DEST, k)
            meta = variant_meta(path)
            w, h = int(meta["imgpipe-width"]), int(meta["imgpipe-height"])
            parts.append("<figure><img src='%s' width=%d height=%d>"
                         "<figcaption>%s: %d &times; %d, %d bytes</figcaption></figure>" % (
                             html.escape(os.path.join("store", DEST, k)), w, h,
                             html.escape(k), w, h, nbytes))
    with open(os.path.join(OUT, "index.html"), "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
