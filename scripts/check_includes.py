#!/usr/bin/env python3
"""Checks every #include of the repository's C/C++ sources against cmake/include_rules.txt.

Usage: check_includes.py [REPO_ROOT] | --self-test. Prints one line per violation (file:line: the include,
the folder's rule) and exits 1 if there is any; a source folder without a rule is a violation
too, so that a new folder must say what it may include.
"""
import glob
import os
import re
import sys

SOURCE_EXT = (".h", ".cc", ".c", ".inc", ".S", ".cpp", ".hpp")
SKIP_DIRS = {"build", ".deps", ".venv", ".git", "__pycache__", "node_modules"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# The pseudo-folder of include_rules.txt naming files the build generates (not in the tree),
# which any folder may include by bare name.
GENERATED = "generated"


def load_rules(path):
    rules = {}
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        folder, _, allowed = line.partition(":")
        if not _:
            sys.exit(f"{path}:{n}: expected 'folder: allowed...'")
        words = allowed.split()
        rules[folder.strip()] = (
            {w for w in words if not w.startswith("!")},
            {w[1:] for w in words if w.startswith("!")},
        )
    return rules


def rule_for(rel_dir, rules):
    parts = rel_dir.split("/")
    for i in range(len(parts), 0, -1):
        key = "/".join(parts[:i])
        if key in rules:
            return key, rules[key]
    return None, None


def resolves_locally(root, rel_dir, name, top):
    """The include names a file next to the includer, in an ancestor folder inside the same
    top-level folder, or in such a folder's include/ or arch/*/include/ (Linux's layout: the
    guest kernel's own include paths)."""
    d = rel_dir
    while d == top or d.startswith(top + "/"):
        bases = [d, d + "/include"] + glob.glob(os.path.join(root, d, "arch", "*", "include"))
        for base in bases:
            if os.path.isfile(os.path.join(root, base, name)):
                return True
        d = os.path.dirname(d)
    return False


def check_file(root, rel, rules, tops, errors):
    rel_dir = os.path.dirname(rel)
    top = rel.split("/")[0]
    key, rule = rule_for(rel_dir, rules)
    if rule is None:
        errors.append(f"{rel}: no rule for folder {rel_dir} in cmake/include_rules.txt")
        return
    allowed, forbidden = rule
    with open(os.path.join(root, rel), errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            first = name.split("/")[0]
            if kind == "<":
                if first in forbidden:
                    errors.append(f"{rel}:{n}: #include <{name}>: {key} must not see {first}")
                continue
            target = "include" if first == "probesim" else first if first in tops else None
            if target == top or (target and target in allowed):
                continue
            if target is None and (resolves_locally(root, rel_dir, name, top) or
                                   name in rules.get(GENERATED, ((), ()))[0]):
                continue
            what = f"folder {target}" if target else "a file outside the rules' folders"
            errors.append(f'{rel}:{n}: #include "{name}": {key} may not include {what} '
                          f"(allowed: {' '.join(sorted(allowed)) or 'only itself'})")


def skipped(parent, d):
    """Not source: SKIP_DIRS, hidden folders, and any CMake build tree (build-asan, build-fuzz,
    build-release...: a folder holding a CMakeCache.txt), whose generated files follow no rule."""
    return (d in SKIP_DIRS or d.startswith(".") or
            os.path.isfile(os.path.join(parent, d, "CMakeCache.txt")))


def check_tree(root):
    rules = load_rules(os.path.join(root, "cmake", "include_rules.txt"))
    tops = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))
            and not skipped(root, d)}
    errors, checked = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not skipped(dirpath, d)]
        for fn in filenames:
            if not fn.endswith(SOURCE_EXT):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            if "/" not in rel:
                continue
            checked += 1
            check_file(root, rel, rules, tops, errors)
    return errors, checked


def self_test():
    """The checker on a small tree: every kind of violation is reported, nothing else."""
    import tempfile
    files = {
        "cmake/include_rules.txt": "include: !unicorn\nmmu: include !unicorn\ncli: include\n"
                                   "generated: made.inc\n",
        "include/probesim/api.h": "#include <vector>\n",
        "mmu/mm.h": '#include "probesim/api.h"\n#include "mmu/vma.h"\n#include "local.h"\n',
        "mmu/vma.h": "", "mmu/local.h": "", "mmu/uses_generated.cc": '#include "made.inc"\n',
        "mmu/bad.cc": '#include <unicorn/unicorn.h>\n#include "cli/x.h"\n',
        "cli/x.h": '#include "mmu/mm.h"\n#include "nowhere.h"\n',
        "tools/t.cc": "",
        "build-x/CMakeCache.txt": "", "build-x/gen/made.cc": '#include <unicorn/unicorn.h>\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        errors, _ = check_tree(root)
    expected = ["mmu/bad.cc:1: #include <unicorn", 'mmu/bad.cc:2: #include "cli/x.h"',
                'cli/x.h:1: #include "mmu/mm.h"', 'cli/x.h:2: #include "nowhere.h"',
                "tools/t.cc: no rule"]
    missing = [e for e in expected if not any(x.startswith(e) for x in errors)]
    extra = [x for x in errors if not any(x.startswith(e) for e in expected)]
    for m in missing:
        print(f"self-test: not reported: {m}")
    for x in extra:
        print(f"self-test: reported wrongly: {x}")
    print(f"check_includes self-test: {len(errors)} violations reported")
    return 1 if missing or extra else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    errors, checked = check_tree(root)
    for e in errors:
        print(e)
    print(f"check_includes: {checked} files, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
