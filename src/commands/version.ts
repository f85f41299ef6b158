import { PeerlabCommand } from '../cli/base-command.js';
import { peerlabVersion } from '../util/version.js';

export default class Version extends PeerlabCommand {
  static override description = 'Print the peerlab version, git commit and Node.js version.';

  async run(): Promise<{ peerlab: string; commit: string | undefined; node: string }> {
    const info = { peerlab: peerlabVersion.version, commit: peerlabVersion.commit, node: process.version };
    this.log(`peerlab ${info.peerlab}${info.commit ? ` (${info.commit.slice(0, 12)})` : ''} on Node.js ${info.node}`);
    return info;
  }
}
