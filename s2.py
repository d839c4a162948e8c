import numpy as np, time, statistics
from emd import _core
def mt(f, r=5001):
    for _ in range(200): f()
    ts=[]
    for _ in range(r):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return statistics.median(ts)*1e6
rng=np.random.default_rng(0); i0=np.zeros(1,np.int64)
for k in (2,64):
    a,b=np.sort(rng.normal(size=(1,k))),np.sort(rng.normal(size=(1,k)))
    print(k, "sorted %.2f unsorted %.2f us"%(mt(lambda:_core.wasserstein_1d(a,None,b,None,i0,i0,1.0,True)), mt(lambda:_core.wasserstein_1d(a,None,b,None,i0,i0,1.0,False))),
          "noop-ish np.add %.2f"%mt(lambda: np.add(a,b)))
