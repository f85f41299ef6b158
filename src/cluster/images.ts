/**
 * Images without a registry: one `docker save` of the images on the host's engine, streamed at once into a
 * `docker load` on every other engine (the same bytes, teed), so N engines cost one export.
 */
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { dockerMessage } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';

export async function copyImages(from: Docker, to: readonly Docker[], references: readonly string[]): Promise<{ bytes: number; ms: number }> {
  const began = Date.now();
  if (to.length === 0 || references.length === 0) return { bytes: 0, ms: 0 };
  // GET /images/get?names=…: one tar of them all. dockerode has it; its typings lack it.
  const exporter = from as unknown as { getImages(options: { names: string[] }): Promise<Readable> };
  const source = await exporter.getImages({ names: [...references] });
  let bytes = 0;
  source.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const loads = to.map((engine) => {
    const branch = new PassThrough();
    source.pipe(branch);
    return loadInto(engine, branch);
  });
  const sourceFailed = new Promise<never>((_, reject) => source.once('error', reject));
  try {
    await Promise.race([Promise.all(loads), sourceFailed]);
  } catch (error) {
    source.destroy();
    throw new PeerlabError(`copying ${references.join(', ')} to the cluster's engines failed: ${dockerMessage(error)}`, { hint: 'check disk space under /var/lib/peerlab, then peerlab cluster down and up again', cause: error });
  }
  return { bytes, ms: Date.now() - began };
}

async function loadInto(engine: Docker, tar: Readable): Promise<void> {
  const response = (await engine.loadImage(tar, { quiet: true })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    engine.modem.followProgress(
      response,
      (error) => (error ? reject(error) : resolve()),
      (event: { error?: string }) => {
        if (event.error) reject(new Error(event.error));
      },
    );
  });
}
