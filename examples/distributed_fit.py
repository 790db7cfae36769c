"""
A data-parallel fit with torchrun (shown, not run)
==================================================

.. note::

   This example is rendered here but not run when the site is built: it
   needs several processes. Run it yourself with the command below.

One model, trained by several processes at once (each on its own CPU cores,
or its own GPU): launch this script with ``torchrun``, which starts ``N``
copies of it and tells each its rank::

    torchrun --nproc_per_node=N distributed_fit.py

Each process joins the process group with
:func:`torch.distributed.init_process_group`, then calls ``fit`` as usual, on
the same data: the processes train one model together (each computes its
share of every batch, the gradients are averaged), and after ``fit`` every
rank holds the same weights. Only rank 0 writes. See
:doc:`/user_guide/scaling`.
"""

import torch.distributed
from sklearn.datasets import load_digits

from skdae import DenoisingAutoencoder

torch.distributed.init_process_group()  # reads the rank and world size torchrun set
rank = torch.distributed.get_rank()

X = load_digits().data / 16.0  # every process passes the same X
dae = DenoisingAutoencoder(random_state=0).fit(X)

if rank == 0:
    print(f"{dae.n_iter_} epochs on {torch.distributed.get_world_size()} processes")
    dae.save("digits_model")

torch.distributed.destroy_process_group()
