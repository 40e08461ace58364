#!/usr/bin/env python3
"""Run `nbdev_proc_nbs` (process the notebooks for the docs site) without Quarto.

nbdev_proc_nbs first checks for Quarto and downloads it when missing; Quarto cannot be
installed on these machines (the docs workflow on GitHub installs it and runs nbdev_docs).
Everything else is nbdev's own code path: refresh _quarto.yml/nbdev.yml, build the module
index, and execute/process every notebook into _proc/.
"""
import nbdev.quarto as q

if __name__ == '__main__':
    q._ensure_quarto = lambda: None
    q.nbdev_proc_nbs.__wrapped__()
