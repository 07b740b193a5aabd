"""skae's torch work runs on a bounded number of CPU threads and gives torch its own count back."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import skae
from skae import AutoEncoder


class Recorder(Callback):
    """Records torch's thread count at the end of each training epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def test_set_threads_applies_while_skae_works_and_restores_torchs_count():
    recorder = Recorder()
    before = torch.get_num_threads()
    try:
        skae.set_threads(2)
        AutoEncoder(max_epochs=2, hidden_dims=(4,), latent_dim=2, callbacks=[("threads", recorder)],
                    random_state=0).fit(np.random.RandomState(0).normal(size=(40, 3)))
    finally:
        skae.set_threads(None)
    assert recorder.seen == [2, 2]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_set_threads_refuses_what_is_not_a_positive_count(bad):
    with pytest.raises(ValueError, match="positive int"):
        skae.set_threads(bad)


def _fit_in_fresh_interpreter(env) -> list[int]:
    """Torch's thread counts seen at each epoch of a fit in a new interpreter (torch's default untouched)."""
    code = textwrap.dedent("""
        import numpy as np, torch
        from skorch.callbacks import Callback
        from skae import AutoEncoder
        class Recorder(Callback):
            seen = []
            def on_epoch_end(self, net, **kwargs):
                self.seen.append(torch.get_num_threads())
        AutoEncoder(max_epochs=2, hidden_dims=(4,), latent_dim=2, callbacks=[("r", Recorder())]).fit(
            np.random.RandomState(0).normal(size=(20, 3)))
        print(*Recorder.seen)
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [int(v) for v in out.stdout.split()]


def test_the_automatic_rule_is_half_the_cores_at_most_four_or_omp_num_threads():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    assert _fit_in_fresh_interpreter(env) == [max(1, min(4, (os.cpu_count() or 2) // 2))] * 2
    assert _fit_in_fresh_interpreter({**env, "OMP_NUM_THREADS": "1"}) == [1, 1]
