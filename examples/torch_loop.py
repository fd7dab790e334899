"""A plain PyTorch training loop measured with wattprint: phases, counts, the ledger.

    pip install 'wattprint[torch]'
    python examples/torch_loop.py            # about 10 s on a laptop CPU
    python examples/torch_loop.py --quick    # a second or two (used by the tests)

Energy per phase (train / validation), J per sample and per step, and the run recorded in
the ledger (`wattprint runs`, `wattprint show last`).
"""

import argparse

import torch
from torch import nn

import wattprint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    args = parser.parse_args()
    epochs, n_train, n_val = (2, 512, 128) if args.quick else (5, 32768, 4096)
    batch = 64

    torch.manual_seed(0)
    x_train, x_val = torch.randn(n_train, 32), torch.randn(n_val, 32)
    w = torch.randn(32, 1)
    y_train, y_val = x_train @ w, x_val @ w
    model = nn.Sequential(nn.Linear(32, 1024), nn.ReLU(), nn.Linear(1024, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    with wattprint.track("torch-loop", ledger=True, project="examples") as run:
        for _epoch in range(epochs):
            with run.phase("train"):
                model.train()
                for i in range(0, n_train, batch):
                    xb, yb = x_train[i:i + batch], y_train[i:i + batch]
                    loss = nn.functional.mse_loss(model(xb), yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    run.count(samples=len(xb), steps=1)
            with run.phase("validation"), torch.no_grad():
                model.eval()
                val_loss = nn.functional.mse_loss(model(x_val), y_val).item()
                run.count(samples=n_val, steps=1)
        print(f"validation loss {val_loss:.4f}")
    print(run.result.summary())


if __name__ == "__main__":
    main()
