import { Flags } from '@oclif/core';
import { DEFAULT_MAX_EVENTS } from '../runtime/sim/types.js';
import { PLACEMENTS } from '../run/swarm-placement.js';
import { RUNTIME_CHOICES } from '../runtime/types.js';

/** The flags of a run besides its topology: shared by `peerlab up`, `peerlab run` and `peerlab bench convergence`. */
export const runOptionFlags = {
  seed: Flags.integer({ char: 's', default: 1, description: 'seed of every random choice: topology, weights, algorithm' }),
  weights: Flags.string({ description: "edge weights: unique, uniform:a..b, geo or attr:NAME (default: the file's weight attribute, else unique)" }),
  'allow-disconnected': Flags.boolean({ default: false, description: 'accept a topology with more than one component' }),
  param: Flags.string({ char: 'p', multiple: true, default: [], description: 'an algorithm parameter, name=value (repeatable)' }),
  runtime: Flags.string({
    default: 'docker',
    options: [...RUNTIME_CHOICES],
    description: 'where nodes run: containers, the deterministic simulator, or Docker when reachable else the simulator',
  }),
  links: Flags.string({
    description:
      "per-edge latency, jitter, loss and bandwidth, in Docker and the simulator: geo[:HOP], weight[:SCALE], none, and/or delay=, jitter=, loss=, rate=, queue= (e.g. 'delay=uniform:5..80ms,jitter=2ms,loss=0.5%,rate=10mbit'); default: the file's own delay/latency, jitter, loss/packet_loss, rate attributes",
  }),
  'links-mode': Flags.string({
    default: 'message',
    options: ['message', 'packet', 'auto'],
    description:
      'where Docker applies the links: message (the node agents, any kernel), packet (tc/iptables in each node namespace, as root; refused before anything starts where the kernel cannot), auto (packet when it can apply everything)',
  }),
  delay: Flags.string({
    description: 'shorthand for --links: constant:MS (delay=MSms), uniform:A..B (delay=(A+B)/2 ms, uniform jitter (B-A)/2 ms), exp:MEAN (jitter=exp:MEANms) or weight[:SCALE]; the simulator defaults to exp:1',
  }),
  placement: Flags.string({
    default: 'spread',
    options: [...PLACEMENTS],
    description:
      "swarm and --hosts: which engine or host each node starts on: spread (balanced round-robin), partition (one part of the graph per engine or host, few edges across them) or first (all on the first, as seed 000's agents start on its central server)",
  }),
  hosts: Flags.string({
    description:
      "docker: hosts of their own CPU quota on the one engine; sim: hosts of that declared capacity. NAME=CAPACITY,… in any one unit (e.g. seed 000's MIPS: 'central=5217.93,outpost_pi=132.29'), or a placement input YAML whose hosts (with priority and central) to take; the largest gets --host-cpus CPUs, the others their share; `peerlab migrate --to` moves nodes between them",
  }),
  'host-cpus': Flags.string({ description: 'docker, with --hosts: the CPUs of the largest host (default 1; the others get their share of it)' }),
  'node-memory': Flags.integer({ default: 64, description: 'memory limit per node container, in MiB' }),
  concurrency: Flags.integer({ default: 8, description: 'containers created and started at once' }),
  'etcd-image': Flags.string({ description: 'etcd image to use (built locally from etcd-server when it cannot be pulled)' }),
  'etcd-port': Flags.integer({ default: 0, description: 'host port for etcd on 127.0.0.1 (0: any free port)' }),
  'etcd-endpoints': Flags.string({ description: 'use this external etcd cluster (comma-separated URLs) instead of starting one' }),
  'base-image': Flags.string({ description: 'base image for the node image (default node:20-bookworm-slim, or one built from the host Node.js)' }),
};

/** Flags shared by `peerlab up` and `peerlab run`. */
export const deploymentFlags = {
  topology: Flags.string({
    char: 't',
    required: true,
    description: 'a generator spec (ba:n=100,m=2, er:n=50,p=0.1, ring:n=20, ...) or a GraphML, GML, JSON or edge-list file',
  }),
  ...runOptionFlags,
};

/** Flags of running an algorithm to its end: shared by `peerlab run` and `peerlab bench convergence`. */
export const algorithmRunFlags = {
  timeout: Flags.integer({
    default: 300,
    description: 'seconds the algorithm may run before the nodes without a result are reported (in the simulator: virtual seconds, and the real seconds one handler may hold the simulation)',
  }),
  results: Flags.string({ default: 'results', description: 'folder for results/<run-id>/' }),
  'require-check': Flags.boolean({
    default: false,
    description: 'fail a run that nothing checked (no built-in oracle, no `check` export in the algorithm file) instead of reporting it UNCHECKED and exiting 0',
  }),
  until: Flags.string({
    default: 'results',
    options: ['results', 'quiescent'],
    description: 'end the run once every node has a result (messages may still be in flight), or once no message is in flight either',
  }),
  'max-events': Flags.integer({
    default: DEFAULT_MAX_EVENTS,
    min: 1,
    description: "the simulator's event cap, a guard against livelock: a run that reaches it ends and says so",
  }),
};

/** Faults and churn of `peerlab run` (src/faults): checked against the run's graph before anything starts. */
export const faultFlags = {
  fault: Flags.string({
    multiple: true,
    default: [],
    description:
      "a fault, repeatable: [at=T] ACTION SELECTOR [for=D] [every=P] [until=T] [oneway], e.g. 'at=2s kill top-degree:5', 'at=5s partition mincut:2 for=20s', 'at=2s flap edges:1-2 every=500ms for=5s'. Actions: kill, stop, pause, restart, migrate, partition, cut, flap, degrade, drop-messages:P%. Nodes: top-degree:K, top-betweenness:K, random:K|P%, ids:…, region:LAT1,LON1,LAT2,LON2, role:NAME, leader[:NAME]. Edges: mincut:K, bridges, random-edges:P%, heavier-than:W, edges:u-v,…, high-risk:RESULTS_FOLDER",
  }),
  churn: Flags.string({
    description: "nodes joining and leaving during the run, seeded: 'join=0.5/s leave=0.2/s crash=0.1/s [for=60s] [at=T] [attach=ba|uniform] [m=2]' (Poisson; a join is a new node with the next free id attached to m members, leave = stop, crash = kill)",
  }),
};

/** A placement policy applied while `peerlab run` goes (src/placement/live.ts): with --hosts, or on the Swarm's engines. */
export const placementPolicyFlags = {
  policy: Flags.string({
    description:
      "with --hosts, or on the Swarm (its engines are the hosts): a placement policy (equal, prio, self-placement, threshold, or a .ts file) applied every --policy-every to the nodes' loads (measured; in the simulator, their demands as their hosts share them); the nodes it moves migrate (placements.ndjson)",
  }),
  'policy-every': Flags.integer({ description: 'with --policy: seconds between its rounds (default 10)' }),
  hold: Flags.string({ description: "with --policy: node ids held where they are (seed 000's Hold), e.g. 1,2" }),
  'policy-setting': Flags.string({ multiple: true, description: "with --policy: a setting, name=number (repeatable), e.g. limit=0.8 for prio; it overrides the --hosts file's settings" }),
};

/** The Docker and link settings runRequestFrom reads, at their defaults: for the benches that run the simulator without links. */
export const unshapedSimulatorFlags = {
  links: undefined,
  placement: 'spread',
  hosts: undefined,
  'host-cpus': undefined,
  'links-mode': 'message',
  'node-memory': 64,
  concurrency: 8,
  'etcd-image': undefined,
  'etcd-port': 0,
  'etcd-endpoints': undefined,
  'base-image': undefined,
};
