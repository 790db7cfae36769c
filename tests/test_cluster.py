"""Searches on a cluster: GridSearchCV through joblib's Dask backend on a local cluster
bound to loopback, started and stopped by the test. (Ray's backend is checked by
benchmarks/bench_ray_search.py: a local Ray cluster binds to the machine's address,
not to loopback alone.)"""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skdae import DenoisingAutoencoder

distributed = pytest.importorskip("distributed")


def _worker_threads():
    import torch

    return torch.get_num_threads()


def _search_and_serial_result(X):
    """A small search, and its result run here with one torch thread."""
    search = GridSearchCV(
        DenoisingAutoencoder((16, 4), max_epochs=3, random_state=0),
        {"noise_factor": [0.1, 0.5], "hidden_units": [(16, 4), (8, 4)]},
        cv=2,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker trains: the same sums in the same order
    try:
        serial = clone(search).fit(X)
    finally:
        torch.set_num_threads(threads)
    return search, serial


def test_a_grid_search_on_a_local_dask_cluster_equals_the_serial_one(digits):
    X, _ = digits
    search, serial = _search_and_serial_result(X[:600])
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # loopback only
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as client:
        # Dask sizes each worker's thread pools to threads_per_worker (OMP_NUM_THREADS=1):
        # torch in a worker trains with one thread, so two workers fill two cores, no more.
        assert set(client.run(_worker_threads).values()) == {1}
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            parallel = clone(search).set_params(n_jobs=-1).fit(X[:600])
        # The fits ran on the cluster's workers, not quietly in this process.
        workers = set(client.run(_worker_threads))
        assert len(tasks.data) >= 8 and {task["worker"] for task in tasks.data} == workers
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == serial.best_params_


def test_a_loop_over_a_dask_arrays_blocks_trains_one_model(digits):
    # Larger than memory, the Dask way: each block is computed (read) only when
    # partial_fit takes it, and the model is the one the same loop over numpy
    # chunks trains.
    da = pytest.importorskip("dask.array")
    X, _ = digits
    blocks = da.from_array(X[:600], chunks=(200, X.shape[1]))
    streamed = DenoisingAutoencoder((16, 4), batch_size=32, random_state=0)
    for _epoch in range(2):
        for block in blocks.blocks:
            streamed.partial_fit(block.compute())
    in_memory = DenoisingAutoencoder((16, 4), batch_size=32, random_state=0)
    for _epoch in range(2):
        for start in range(0, 600, 200):
            in_memory.partial_fit(X[start : start + 200])
    assert streamed.n_iter_ == 6
    np.testing.assert_array_equal(streamed.transform(X), in_memory.transform(X))
