/** The end of a run on real Docker containers (the scenarios, shared with the Swarm suite, are in scenarios/run-end.ts). */
import { runsEndWhenTheyShould } from './scenarios/run-end.js';

runsEndWhenTheyShould('docker');
