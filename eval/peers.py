#!/usr/bin/env python3
"""layerwise, hadolint and tally side by side on the shared corpus, for the rules they share.

Usage: python3 eval/peers.py [--rerun] [--sample RULE PEER N]

Runs target/release/layerwise, and hadolint and tally from the git-ignored .cache/peers venv
(see eval/README.md), on every corpus file BuildKit accepts, keeps their JSON reports in
.cache/peers-out/ (reused unless --rerun), and prints per rule the files each tool flags and where
they disagree. --sample RULE PEER N prints, for each side, N files where only one of layerwise and
PEER (hadolint or tally) flags the rule, in a fixed pseudo-random order, for reading (verdicts go
to eval/peers.tsv).
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("LAYERWISE_CORPUS") or next(
    (
        d
        for d in (os.path.join(ROOT, "..", "shared", "corpus"), "/work/shared/corpus")
        if os.path.isdir(os.path.join(d, "files"))
    ),
    None,
)
OUT = os.path.join(ROOT, ".cache", "peers-out")
BIN = os.path.join(ROOT, ".cache", "peers", "bin")

# Our rule -> what checks the same thing in each peer. hadolint: the `aliases` of rules/*.md.
# tally 0.45 leaves hadolint's cache-cleanup checks out on purpose (DL3009, DL3019, DL3032, DL3036,
# DL3040, DL3042, DL3060: "use tally/prefer-package-cache-mounts instead"), supersedes DL3059 by
# tally/prefer-run-heredoc (whose "consecutive RUN" findings are the counterpart; its others are
# about chained commands), has no DL3015, and has tally/prefer-multi-stage-build for LW301. Its
# cache-mount findings name the mounts they suggest: /var/lib/apt ones are LW102's counterpart,
# the others (apk, pip, npm, yarn, dnf, Go, NuGet, cargo caches) LW103's.
SHARED = {
    "LW101": {"hadolint": ["DL3059"], "tally": ["prefer-run-heredoc:consecutive RUN"]},
    "LW102": {"hadolint": ["DL3009"], "tally": ["prefer-package-cache-mounts:apt lists"]},
    "LW103": {
        "hadolint": ["DL3019", "DL3042", "DL3032", "DL3040", "DL3036", "DL3060"],
        "tally": ["prefer-package-cache-mounts:other caches"],
    },
    "LW104": {"hadolint": ["DL3015"], "tally": []},
    "LW301": {"hadolint": [], "tally": ["prefer-multi-stage-build"]},
}


def accepted_files():
    with open(os.path.join(CORPUS, "buildkit-status.tsv")) as status:
        rows = [line.rstrip("\n").split("\t") for line in status][1:]
    return [row[0] for row in rows if len(row) > 1 and row[1] == "ok"]


def run(name, argv, rerun):
    path = os.path.join(OUT, name + ".json")
    if rerun or not os.path.exists(path):
        os.makedirs(OUT, exist_ok=True)
        with open(path, "w") as out:
            subprocess.run(argv, cwd=os.path.join(CORPUS, "files"), stdout=out, check=False)
    with open(path) as report:
        return json.load(report)


def run_tally(files, rerun):
    """tally only lints files named like Dockerfiles and stops at the first file it cannot parse:
    each corpus file is linked as `<name>/Dockerfile` in a scratch folder and linted in batches,
    a failing batch file by file."""
    path = os.path.join(OUT, "tally.json")
    if rerun or not os.path.exists(path):
        os.makedirs(OUT, exist_ok=True)
        report = {"files": [], "failed": []}
        with tempfile.TemporaryDirectory() as scratch:
            for name in files:
                os.mkdir(os.path.join(scratch, name))
                os.symlink(
                    os.path.join(CORPUS, "files", name), os.path.join(scratch, name, "Dockerfile")
                )

            def lint(batch):
                argv = [os.path.join(BIN, "tally"), "lint", "--no-config", "--slow-checks", "off"]
                argv += ["--format", "json", "--fail-level", "none"]
                done = subprocess.run(
                    argv + [name + "/Dockerfile" for name in batch],
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                try:
                    return json.loads(done.stdout)["files"]
                except (ValueError, KeyError):
                    return None

            for start in range(0, len(files), 60):
                batch = files[start : start + 60]
                entries = lint(batch)
                if entries is None:
                    entries = []
                    for name in batch:
                        one = lint([name])
                        if one is None:
                            report["failed"].append(name)
                        else:
                            entries += one
                for entry in entries:
                    entry["file"] = entry["file"].split("/")[0]
                report["files"] += entries
        with open(path, "w") as out:
            json.dump(report, out)
    with open(path) as report:
        return json.load(report)


def flagged(rerun):
    """{tool: {code: set(files)}} and {tool: {(code, file): [lines]}}."""
    files = accepted_files()
    ours = run(
        "layerwise",
        [os.path.join(ROOT, "target", "release", "layerwise"), "lint", "--format", "json", "--"]
        + files,
        rerun,
    )["findings"]
    hadolint = run(
        "hadolint", [os.path.join(BIN, "hadolint"), "--no-fail", "-f", "json"] + files, rerun
    )
    tally = run_tally(files, rerun)
    found = {"layerwise": {}, "hadolint": {}, "tally": {}}
    lines = {"layerwise": {}, "hadolint": {}, "tally": {}}

    def add(tool, code, file, line):
        found[tool].setdefault(code, set()).add(file)
        lines[tool].setdefault((code, file), []).append(line)

    for f in ours:
        add("layerwise", f["rule"], f["file"], f["line"])
    for f in hadolint:
        add("hadolint", f["code"], f["file"], f["line"])
    for entry in tally.get("files", []):
        for v in entry.get("violations", []):
            code = v.get("rule", "").split("/")[-1]
            line = v.get("location", {}).get("start", {}).get("line")
            add("tally", code, entry["file"], line)
            if v.get("message", "").startswith("consecutive RUN"):
                add("tally", code + ":consecutive RUN", entry["file"], line)
            mounts = re.findall(r"(/[^\s,()]+) \(id=", v.get("detail") or "")
            if "/var/lib/apt" in mounts:
                add("tally", code + ":apt lists", entry["file"], line)
            if any(not m.startswith(("/var/lib/apt", "/var/cache/apt")) for m in mounts):
                add("tally", code + ":other caches", entry["file"], line)
    return found, lines


def union(found, tool, codes):
    out = set()
    for code in codes:
        out |= found[tool].get(code, set())
    return out


def rank(*parts):
    return hashlib.sha256("\t".join(("peers-1",) + parts).encode()).hexdigest()


def verdicts(found):
    """Counts eval/peers.tsv's verdicts per rule and peer, only on the files that are still a
    disagreement of the same side today (a rule's change can settle one, or make it moot)."""
    counts = {}
    with open(os.path.join(ROOT, "eval", "peers.tsv")) as tsv:
        rows = [r.rstrip("\n").split("\t") for r in tsv if r.strip() and not r.startswith("#")]
    for file, rule, peer, side, right, *_ in rows[1:]:
        ours = union(found, "layerwise", [rule])
        theirs = union(found, peer, SHARED[rule][peer])
        still = file in (ours - theirs if side == "layerwise" else theirs - ours)
        c = counts.setdefault((rule, peer), {"read": 0, "settled": 0, "layerwise": 0, peer: 0, "neither": 0})
        c["read"] += 1
        if still:
            c[right] += 1
        else:
            c["settled"] += 1
    print("verdicts of eval/peers.tsv on disagreements that still stand (right: layerwise / peer / neither)")
    for (rule, peer), c in sorted(counts.items()):
        print(
            f"{rule:<6} {peer:<9} read {c['read']:>3}, no longer a disagreement {c['settled']:>3},"
            f" right: {c['layerwise']} / {c[peer]} / {c['neither']}"
        )


def main():
    if CORPUS is None:
        sys.exit("the shared corpus is missing (set LAYERWISE_CORPUS)")
    rerun = "--rerun" in sys.argv
    found, lines = flagged(rerun)
    print(
        f"{'rule':<6} {'layerwise':>9} {'hadolint':>8} {'tally':>6} {'lw+hl':>6} {'lw+tally':>8}"
        f" {'lw only':>8} {'hl not lw':>9} {'tally not lw':>12}"
    )
    for rule, peers in SHARED.items():
        ours = union(found, "layerwise", [rule])
        hl = union(found, "hadolint", peers["hadolint"])
        ta = union(found, "tally", peers["tally"])

        def count(files, tool):
            return len(files) if peers[tool] else "-"

        print(
            f"{rule:<6} {len(ours):>9} {count(hl, 'hadolint'):>8} {count(ta, 'tally'):>6}"
            f" {count(ours & hl, 'hadolint'):>6} {count(ours & ta, 'tally'):>8}"
            f" {len(ours - hl - ta):>8} {count(hl - ours, 'hadolint'):>9}"
            f" {count(ta - ours, 'tally'):>12}"
        )
    print("files flagged; lw only: by layerwise and by neither peer; - : the peer has no such check")
    verdicts(found)
    if "--sample" in sys.argv:
        i = sys.argv.index("--sample")
        rule, peer, n = sys.argv[i + 1], sys.argv[i + 2], int(sys.argv[i + 3])
        ours = union(found, "layerwise", [rule])
        theirs = union(found, peer, SHARED[rule][peer])
        for who, files in (("layerwise", ours - theirs), (peer, theirs - ours)):
            print(f"flagged by {who} only: {len(files)} files; the first {n} in sampling order")
            for file in sorted(files, key=lambda f: rank(rule, peer, f))[:n]:
                where = {
                    "layerwise": sorted(lines["layerwise"].get((rule, file), [])),
                    peer: sorted(
                        line
                        for code in SHARED[rule][peer]
                        for line in lines[peer].get((code, file), [])
                    ),
                }
                print(f"{file}\t{rule}\t{who}\t{json.dumps(where)}")

if __name__ == "__main__":
    main()
