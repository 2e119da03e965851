"""A process that renders can train afterwards: triton (torch's compiler, with its own LLVM) and
Mesa's llvmpipe must not clash."""

import subprocess
import sys

CODE = """
from cinestage.render.engine import engine
engine("auto")
import torch
net = torch.nn.Linear(3, 1)
opt = torch.optim.Adam(net.parameters())
net(torch.ones(2, 3)).sum().backward()
opt.step()
print("trained after rendering")
"""


def test_render_then_train_in_one_process():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trained after rendering" in proc.stdout
