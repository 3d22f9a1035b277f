#!/usr/bin/env python3
"""make demo: sample upload events through the real upload handler.

The sample images are "uploaded" into a local-folder store (each bucket a
folder under demo-out/store), then every sample event in testdata/events is
run through `imgpipe invoke` exactly as Lambda would run it. At the end: a
table of what was written and a page, demo-out/index.html, built from each
upload's manifest the way a front end would use it: a real <picture> with
srcset and sizes, its placeholder shown until the image loads, and beside
it every variant drawn at its real size with its dimensions and bytes.
Open it with #check at the end of the address and it lists, at the bottom,
what the browser loaded for every image (the browser test reads that).
"""
import html
import json
import os
import shutil
import subprocess
import sys
import urllib.parse

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
                   "thumb=320x320,fit=cover,crop=attention;small=320x320,format=webp+jpeg;"
                   "medium=800x800,format=webp+jpeg;large=1600x1600,format=webp+jpeg,q=75"))
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
                print("   log: %s" % log.get("message"))
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


def url(key):
    """A variant's address on the page: the store is served beside it."""
    return urllib.parse.quote("store/%s/%s" % (DEST, key))


def manifest_of(key):
    """The upload's manifest, at the default IMGPIPE_MANIFEST_KEY."""
    stem = key.rsplit(".", 1)[0]
    try:
        with open(os.path.join(STORE, DEST, "manifest", stem + ".json")) as f:
            return json.load(f)
    except OSError:
        return None


def srcset(value):
    """The manifest's "URL 320w, URL 800w" (URLs relative to the bucket,
    already percent-encoded) as addresses of this page."""
    base = urllib.parse.quote("store/%s/" % DEST)
    return ", ".join(base + c.strip() for c in value.split(","))


def kb(n):
    return "%.1f kB" % (n / 1000.0)


# the hero image takes the page's width up to 600 px: the browser picks
# the variant from srcset by this, and by its pixel density
SIZES = "(max-width: 640px) 100vw, 600px"

CHECK = """<script>
// #check: what the browser loaded for every image, for the browser test
if (location.hash === '#check') addEventListener('load', () => {
  const pre = document.createElement('pre');
  pre.id = 'check';
  pre.textContent = JSON.stringify({dpr: devicePixelRatio, width: innerWidth,
    images: [...document.images].map(i => ({src: i.getAttribute('src'),
      current: i.currentSrc, complete: i.complete, natural: i.naturalWidth,
      hero: !!i.closest('picture')}))});
  document.body.append(pre);
});
</script>"""


def write_sheet(rows, timings):
    """For each upload: a real <picture> built from its manifest, with the
    placeholder as the image's background until it loads, and the
    placeholder alone beside it; the original; then a grid of every
    variant at its real size (scaled down to its cell), with its size,
    kilobytes, and each format's bytes beside the JPEG's of that width."""
    parts = ["<!doctype html><meta charset=utf-8>"
             "<meta name=viewport content='width=device-width'><title>imgpipe demo</title>",
             "<style>body{font:14px system-ui;margin:1em auto;max-width:1200px;padding:0 1em}"
             "figure{margin:0}img{max-width:100%;height:auto;border:1px solid #ccc;display:block}"
             ".top{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}"
             ".hero{flex:1 1 320px;max-width:600px}.ph{flex:0 1 300px;min-width:200px}"
             ".hero img{width:600px;background-size:cover;background-repeat:no-repeat}"
             ".ph div{overflow:hidden}.ph img{width:100%;filter:blur(8px);border:0}"
             ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));"
             "gap:1em;margin:1em 0 2em}"
             "figcaption{color:#555;overflow-wrap:anywhere;margin-top:.3em}"
             ".small{font-size:12px;color:#777}code{font-size:12px}</style>",
             "<h1>imgpipe demo</h1><p>Each upload as a page would show it, from its manifest: "
             "a <code>&lt;picture&gt;</code> whose <code>srcset</code> and <code>sizes</code> let "
             "the browser choose the variant, over the upload's placeholder until it loads "
             "(the placeholder alone beside it). Then the original, and every variant the "
             "handler wrote, with its bytes beside the JPEG of the same width.</p>"]
    for key in UPLOADS:
        m = manifest_of(key)
        if not m:
            continue
        log = timings.get(key, {})
        src = os.path.join("store", SOURCE, key)
        parts.append("<h2>%s</h2>" % html.escape(key))
        if log:
            parts.append("<p class=small>get %.0f ms, decode %.0f ms, resize %.0f ms, encode "
                         "%.0f ms, put %.0f ms; %s in, %s out</p>" % (
                             log["GetMs"], log["DecodeMs"], log["ResizeMs"],
                             log["EncodeMs"], log["PutMs"], kb(log["BytesIn"]),
                             kb(log["BytesOut"])))
        pic, ph = m["picture"], m["placeholder"]
        sources = "".join("<source type='%s' srcset='%s' sizes='%s'>" % (
            s["type"], html.escape(srcset(s["srcset"])), SIZES) for s in pic["sources"])
        img = pic["img"]
        parts.append(
            "<div class=top><figure class=hero><picture>%s<img src='%s' srcset='%s' sizes='%s' "
            "width=%d height=%d alt='' style='background-color:%s;background-image:url(%s)' "
            "onload=\"this.style.background='none'\"></picture>"
            "<figcaption>the page's <code>&lt;picture&gt;</code></figcaption></figure>"
            "<figure class=ph><div style='background:%s'><img src='%s' width=%d height=%d alt=''>"
            "</div><figcaption>placeholder, shown first: %s, ThumbHash <code>%s</code>, "
            "BlurHash <code>%s</code></figcaption></figure></div>" % (
                sources, html.escape(srcset(img["src"] + " 1w").rsplit(" ", 1)[0]),
                html.escape(srcset(img["srcset"])), SIZES, img["width"], img["height"],
                ph["color"], ph["dataUri"], ph["color"], ph["dataUri"], img["width"],
                img["height"], ph["color"], html.escape(ph["thumbhash"]),
                html.escape(ph["blurhash"])))
        source = m["source"]
        jpeg = {v["width"]: v["bytes"] for v in m["variants"] if v["format"] == "jpeg"}
        cells = ["<figure><img src='%s' width=%d height=%d alt='original'><figcaption>"
                 "original %s, %d &times; %d, %s</figcaption></figure>" % (
                     urllib.parse.quote(src), source["width"], source["height"],
                     source["format"], source["width"], source["height"],
                     kb(os.path.getsize(os.path.join(OUT, src))))]
        for v in m["variants"]:
            vs = ""
            if v["format"] != "jpeg" and jpeg.get(v["width"]):
                vs = " (%d %% of the JPEG's %s)" % (round(100.0 * v["bytes"] / jpeg[v["width"]]),
                                                    kb(jpeg[v["width"]]))
            cells.append("<figure><img src='%s' width=%d height=%d alt='%s'>"
                         "<figcaption title='%d bytes'>%s: %s %d &times; %d%s, %s%s"
                         "<br><span class=small>%s</span></figcaption></figure>" % (
                             url(v["key"]), v["width"], v["height"], html.escape(v["name"]),
                             v["bytes"], html.escape(v["name"]), v["format"], v["width"],
                             v["height"],
                             " (cropped)" if v.get("cropped") else "", kb(v["bytes"]), vs,
                             html.escape(v["key"])))
        parts.append("<div class=grid>%s</div>" % "".join(cells))
    parts.append(CHECK)
    with open(os.path.join(OUT, "index.html"), "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
