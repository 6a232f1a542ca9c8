#!/usr/bin/env python3
"""layerwise, hadolint and tally side by side on the shared corpus, for the rules they share.

Usage: python3 eval/peers.py [--rerun] [--sample RULE N]

Runs target/release/layerwise, and hadolint and tally from the git-ignored .cache/peers venv
(see eval/README.md), on every corpus file BuildKit accepts, keeps their JSON reports in
.cache/peers-out/ (reused unless --rerun), and prints per rule the files each tool flags and where
they disagree. --sample RULE N prints N disagreements of that rule in a fixed pseudo-random order,
for reading (verdicts go to eval/peers.tsv).
"""

import hashlib
import json
import os
import subprocess
import sys

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

# Our rule -> the peer codes that check the same thing (hadolint's codes; tally reports
# hadolint's checks under `hadolint/<code>`). From the `aliases` of rules/*.md.
SHARED = {
    "LW101": ["DL3059"],
    "LW102": ["DL3009"],
    "LW103": ["DL3019", "DL3042", "DL3032", "DL3040", "DL3036", "DL3060"],
    "LW104": ["DL3015"],
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
    tally = run(
        "tally",
        [os.path.join(BIN, "tally"), "lint", "--no-config", "--slow-checks", "off"]
        + ["--format", "json", "--fail-level", "none"]
        + files,
        rerun,
    )
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
            add("tally", code, entry["file"], v.get("location", {}).get("start", {}).get("line"))
    return found, lines


def union(found, tool, codes):
    out = set()
    for code in codes:
        out |= found[tool].get(code, set())
    return out


def rank(*parts):
    return hashlib.sha256("\t".join(("peers-1",) + parts).encode()).hexdigest()


def main():
    if CORPUS is None:
        sys.exit("the shared corpus is missing (set LAYERWISE_CORPUS)")
    rerun = "--rerun" in sys.argv
    found, lines = flagged(rerun)
    print(
        f"{'rule':<6} {'peer codes':<38} {'layerwise':>9} {'hadolint':>8} {'tally':>6}"
        f" {'lw only':>8} {'hl only':>8} {'tally only':>10}"
    )
    for rule, codes in SHARED.items():
        ours = union(found, "layerwise", [rule])
        hl = union(found, "hadolint", codes)
        ta = union(found, "tally", codes)
        print(
            f"{rule:<6} {','.join(codes):<38} {len(ours):>9} {len(hl):>8} {len(ta):>6}"
            f" {len(ours - hl - ta):>8} {len(hl - ours):>8} {len(ta - ours):>10}"
        )
    if "--sample" in sys.argv:
        i = sys.argv.index("--sample")
        rule, n = sys.argv[i + 1], int(sys.argv[i + 2])
        codes = SHARED[rule]
        ours = union(found, "layerwise", [rule])
        peers = union(found, "hadolint", codes) | union(found, "tally", codes)
        rows = []
        for file in (ours - peers) | (peers - ours):
            who = "layerwise only" if file in ours else "peers only"
            where = {
                tool: sorted(
                    l for c in (codes if tool != "layerwise" else [rule])
                    for l in lines[tool].get((c, file), [])
                )
                for tool in ("layerwise", "hadolint", "tally")
            }
            rows.append((rank(rule, file), file, who, where))
        for _, file, who, where in sorted(rows)[:n]:
            print(f"{file}\t{rule}\t{who}\t{json.dumps(where)}")


if __name__ == "__main__":
    main()
