"""The Hugging Face Trainer under a real launcher (``torchrun --nproc_per_node=2``, gloo on
CPU) with the wattprint callback writing the model card and logging to MLflow: all of it
must happen once, on global rank 0, with the whole job's figures. Each rank writes
``OUT_DIR/rank<R>.json``."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _tiny_hf import make_trainer  # noqa: E402

from wattprint.integrations.transformers import WattprintTrainerCallback  # noqa: E402

out = sys.argv[1]
log_to = tuple(sys.argv[2:])
callback = WattprintTrainerCallback(write_model_card=True, ledger=True, log_to=log_to or None)


class Out:  # make_trainer puts the output folder under tmp_path / "out"
    def __truediv__(self, name):
        import pathlib

        return pathlib.Path(out) / name


trainer = make_trainer(Out(), callback, epochs=2, ddp_backend="gloo")
trainer.train()
state = trainer.state
run = callback.run
rank = int(os.environ["RANK"])
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"job": run.job.to_dict(), "energy_j": run.result.energy_j,
               "run_id": run.result.run_id, "tokens": run.result.counters.get("tokens"),
               "is_world_process_zero": state.is_world_process_zero,
               "log_history": state.log_history,
               "job_result": run.job_result.to_dict() if run.job_result else None}, f,
              default=str)
