"""The CLI's import hook keeps torch / transformers out of the PII scanner without changing findings."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
if sys.argv[1] == "light":
    from synthstruct._light_imports import install
    install()
from synthstruct.pii.scanner import scan_texts
spans = scan_texts(["Call John Smith at 415-555-0132 or write to jane@example.org from Paris."])
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
if sys.argv[1] == "light":
    import torch  # our own code still gets torch
    assert torch.tensor([1]).item() == 1
print(json.dumps({"spans": spans, "heavy": heavy}))
"""


def _run(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True,
                         env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_scanner_skips_torch_and_transformers_with_the_same_findings() -> None:
    light, full = _run("light"), _run("full")
    assert light["heavy"] == []
    assert full["heavy"] == ["torch", "transformers"]  # the control: without the hook presidio pulls both in
    assert light["spans"] == full["spans"] and len(light["spans"][0]) >= 3
