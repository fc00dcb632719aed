#!/usr/bin/env python3
"""tests/ops/ci_extract.py: turn one CI example of docs/ci.md into shell
scripts the way its runner would run them, so tests/ops/ci_docs.sh can
execute the documentation.

usage: ci_extract.py DOC NAME OUTDIR

The example is the ```yaml block after `<!-- ci-example: NAME -->`.
Writes OUTDIR/env (the workflow's/job's variables as `export K='v'`) and
  github: OUTDIR/steps/NN.sh for each `run:` step (NN.always when the step
          has `if: always()`); `uses:` steps are listed in OUTDIR/uses.
  gitlab: OUTDIR/main.sh (before_script + script, one shell) and
          OUTDIR/after.sh (after_script, a new shell).
"""
import os
import re
import sys

import yaml


def quote(v):
    return "'" + str(v).replace("'", "'\\''") + "'"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def block(doc, name):
    m = re.search(r"<!-- ci-example: %s -->\s*```yaml\n(.*?)```" %
                  re.escape(name), doc, re.S)
    if m is None:
        sys.exit("ci_extract: no ci-example '%s'" % name)
    return yaml.safe_load(m.group(1))


def env_file(out, env):
    write(os.path.join(out, "env"),
          "".join("export %s=%s\n" % (k, quote(v))
                  for k, v in (env or {}).items()))


def github(y, out):
    jobs = y["jobs"]
    if len(jobs) != 1:
        sys.exit("ci_extract: expected one job")
    job = next(iter(jobs.values()))
    env = dict(y.get("env") or {})
    env.update(job.get("env") or {})
    env_file(out, env)
    os.makedirs(os.path.join(out, "steps"))
    uses = []
    for i, st in enumerate(job["steps"]):
        if "uses" in st:
            uses.append(st["uses"])
            continue
        base = os.path.join(out, "steps", "%02d" % i)
        step_env = "".join("export %s=%s\n" % (k, quote(v))
                           for k, v in (st.get("env") or {}).items())
        write(base + ".sh", step_env + st["run"])
        cond = str(st.get("if", "")).strip()
        if cond not in ("", "always()", "${{ always() }}"):
            sys.exit("ci_extract: step %d: unsupported if: %s" % (i, cond))
        if cond:
            write(base + ".always", "")
    write(os.path.join(out, "uses"), "".join(u + "\n" for u in uses))


def gitlab(y, out):
    if len(y) != 1:
        sys.exit("ci_extract: expected one job")
    job = next(iter(y.values()))
    env_file(out, job.get("variables"))
    lines = lambda key: "".join(
        c + ("\n" if not c.endswith("\n") else "") for c in job.get(key, []))
    write(os.path.join(out, "main.sh"),
          lines("before_script") + lines("script"))
    write(os.path.join(out, "after.sh"), lines("after_script"))


def main():
    doc, name, out = sys.argv[1:4]
    with open(doc) as f:
        y = block(f.read(), name)
    os.makedirs(out, exist_ok=True)
    {"github": github, "gitlab": gitlab}[name](y, out)


if __name__ == "__main__":
    main()
