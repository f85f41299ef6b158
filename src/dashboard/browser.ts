import { chromium, type Browser } from 'playwright-core';
import { PeerlabError } from '../errors.js';

/** Headless Chromium with nothing of its own running beside the page: no sync, updates or background fetches. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The system's Chromium (Debian's package; PEERLAB_CHROMIUM names another), driven by playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.PEERLAB_CHROMIUM ?? '/usr/bin/chromium';
  try {
    return await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  } catch (error) {
    const first = String((error as Error).message).split('\n')[0];
    throw new PeerlabError(`cannot start Chromium at ${executablePath}: ${first}`, { hint: 'install Debian’s chromium package, or set PEERLAB_CHROMIUM to a Chromium binary' });
  }
}
