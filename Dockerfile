# The peerlab node image: the node agent on Node.js 20. Built by peerlab (`peerlab image build`, or any run)
# with the agent bundle under agent/ in the build context, and tagged peerlab/node:<hash of its inputs>.
# BASE is node:20-bookworm-slim when the engine has it or can pull it, else peerlab/node-base:<version>, made
# FROM scratch out of the host's own Node.js runtime.
ARG BASE=node:20-bookworm-slim
FROM ${BASE}
LABEL peerlab.image=node
COPY agent/ /peerlab/
# V8's code cache of the agent (see src/node/start.ts), made with the ENTRYPOINT's flags: V8 rejects a cache
# made under other flags. It saves each starting node ~16 ms of CPU compiling the agent, and its first messages
# the compiling of the message path, which start.ts rehearses before it writes the cache.
RUN ["node", "--max-semi-space-size=1", "--v8-pool-size=1", "--no-memory-reducer", "--single-threaded-gc", "/peerlab/bin/start.cjs", "--make-code-cache"]
WORKDIR /peerlab
USER 1000:1000
# Idle memory per node is what limits how many nodes fit on a host. Measured on Node 20 with grpc-js and etcd3
# loaded: --max-semi-space-size=1 keeps the young generation at 1 MiB (−5 MiB private memory per process) and
# --v8-pool-size=1 runs one V8 worker thread instead of one per core (−1 MiB, −3 threads). Together ~24.5 →
# ~18.5 MiB. --lite-mode / --jitless would save more but cost 3–5× CPU on the gRPC path, so they are not used.
# CPU is what limits bring-up (hundreds of nodes start at once on a few cores), and an idle node waits there for
# minutes. Measured on 100-node bring-ups (cgroup CPU per node, two runs each): --no-memory-reducer stops the
# full GCs V8 runs after start-up to shrink the heap, halving a waiting node's CPU (45 → 20 ms per 30 s), for
# ~1 MiB more memory per node (11.8 → 12.8); --single-threaded-gc keeps V8's GC off its worker thread, which
# only competes with the other nodes for the same cores. Together 260 → 225 ms per node until all connected.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--v8-pool-size=1", "--no-memory-reducer", "--single-threaded-gc", "/peerlab/bin/start.cjs"]
CMD []
