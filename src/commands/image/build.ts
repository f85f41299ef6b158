import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { connectDocker } from '../../docker/engine.js';
import { DEFAULT_ETCD_IMAGE, ensureEtcdImage, type EtcdImage } from '../../image/etcd.js';
import { DEFAULT_NODE_BASE, ensureNodeImage, type NodeImage } from '../../image/node.js';
import { buildAgentBundle } from '../../node/bundle.js';

export default class ImageBuild extends PeerlabCommand {
  static override description =
    `Build the etcd image and the node image (the node agent on Node.js 20), offline if need be: when ${DEFAULT_NODE_BASE} and ${DEFAULT_ETCD_IMAGE} cannot be pulled, they are made from the host's Node.js and etcd-server.`;

  static override flags = {
    base: Flags.string({
      aliases: ['base-image'],
      description: `base image for the node image (default ${DEFAULT_NODE_BASE}, or one built from the host Node.js)`,
    }),
    'etcd-image': Flags.string({ description: `etcd image to use (default ${DEFAULT_ETCD_IMAGE}, or one built from the host etcd-server)` }),
    rebuild: Flags.boolean({ default: false, description: 'build even when images of the same inputs exist' }),
  };

  async run(): Promise<{ etcd: EtcdImage & { ms: number }; node: NodeImage & { ms: number } }> {
    const { flags } = await this.parse(ImageBuild);
    const docker = await connectDocker();
    const onLog = (line: string) => this.note(`  ${line}`);

    let began = Date.now();
    this.note('etcd image');
    const etcd = { ...(await ensureEtcdImage({ docker, image: flags['etcd-image'], rebuild: flags.rebuild, onLog })), ms: 0 };
    etcd.ms = Date.now() - began;

    began = Date.now();
    this.note('node image: bundling the agent');
    const agentDir = await buildAgentBundle();
    const node = { ...(await ensureNodeImage({ docker, agentDir, base: flags.base, rebuild: flags.rebuild, onLog })), ms: 0 };
    node.ms = Date.now() - began;

    this.log(`etcd ${etcd.tag}  (${etcd.built ? `built in ${seconds(etcd.ms)}` : etcd.source === 'pulled' ? `pulled in ${seconds(etcd.ms)}` : 'already there'})`);
    this.log(`node ${node.tag}  (${node.built ? `built in ${seconds(node.ms)}` : 'already there'}, on ${node.base})`);
    return { etcd, node };
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
